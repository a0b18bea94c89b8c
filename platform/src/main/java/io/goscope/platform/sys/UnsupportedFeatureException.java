package io.goscope.platform.sys;

/**
 * A BPF feature this kernel, libbpf or process lacks: not root and no CAP_BPF, libbpf.so.1 missing, no BPF ring
 * buffer (needs kernel 5.8), no BPF cookie (needs kernel 5.15). The message says what is missing and why.
 */
public final class UnsupportedFeatureException extends BpfException {
  private static final long serialVersionUID = 1L;

  UnsupportedFeatureException(String feature, String reason) {
    super("use", feature, null, "", 0, "unsupported feature: " + reason);
  }

  UnsupportedFeatureException(String feature, int errno, String reason) {
    super("use", feature, null, "", errno, "unsupported feature: " + reason);
  }
}
