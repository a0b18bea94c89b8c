package io.goscope.plugins.nethttp;

import org.pf4j.Plugin;

/**
 * The pf4j plugin that bundles the net/http probe set ({@link NetHttpProbeSet}). It holds no state: the host finds
 * the probe set through its {@code @Extension} index and drives everything from the descriptor.
 */
public final class NetHttpPlugin extends Plugin {}
