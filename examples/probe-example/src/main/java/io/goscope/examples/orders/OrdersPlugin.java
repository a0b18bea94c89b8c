package io.goscope.examples.orders;

import org.pf4j.Plugin;

/**
 * The pf4j plugin that bundles the example probe set ({@link OrdersProbeSet}). It holds no state: the host finds the
 * probe set through its {@code @Extension} index and drives everything from the descriptor.
 */
public final class OrdersPlugin extends Plugin {}
