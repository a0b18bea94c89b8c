package io.goscope.plugins.grpc;

import org.pf4j.Plugin;

/**
 * The pf4j plugin that bundles the grpc-go probe set ({@link GrpcProbeSet}). It holds no state: the host finds the
 * probe set through its {@code @Extension} index and drives everything from the descriptor.
 */
public final class GrpcPlugin extends Plugin {}
