package io.goscope.platform.discovery.kubernetes;

import io.goscope.api.Nullable;

/**
 * The parts of a container image reference that {@code service.version} derivation needs, split the way the
 * distribution reference grammar does: {@code name[:tag][@digest]}, where a {@code :} before the last {@code /}
 * belongs to a registry host and port, not to a tag.
 *
 * @param name repository name including any registry host
 * @param tag tag, or null
 * @param digest digest such as {@code sha256:...}, or null
 */
record ImageReference(String name, @Nullable String tag, @Nullable String digest) {

  /** Splits {@code reference}; never fails, an odd reference just yields no tag or digest. */
  static ImageReference parse(String reference) {
    String rest = reference.trim();
    String digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = emptyToNull(rest.substring(at + 1));
      rest = rest.substring(0, at);
    }
    String tag = null;
    int colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = emptyToNull(rest.substring(colon + 1));
      rest = rest.substring(0, colon);
    }
    return new ImageReference(rest, tag, digest);
  }

  /**
   * The version semantic conventions derive from an image: {@code <tag>@<digest>}, else {@code <digest>}, else
   * {@code <tag>}, else null.
   */
  @Nullable
  String serviceVersion() {
    if (tag != null && digest != null) {
      return tag + "@" + digest;
    }
    return digest != null ? digest : tag;
  }

  @Nullable
  private static String emptyToNull(String s) {
    return s.isEmpty() ? null : s;
  }
}
