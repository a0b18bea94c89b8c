package io.goscope.platform.gobinary;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Go toolchain or module version, compared numerically: {@code go1.19.8}, {@code 1.21}, {@code v1.33.3}.
 * Pre-release suffixes ({@code go1.22rc1}, {@code v1.2.3-0.2023...}) are kept in {@link #raw()} but ignored when
 * comparing.
 */
public record GoVersion(int major, int minor, int patch, String raw) implements Comparable<GoVersion> {
  private static final Pattern VERSION = Pattern.compile("^(?:go|v)?(\\d+)(?:\\.(\\d+))?(?:\\.(\\d+))?.*$");

  /** Parses a version, returning null when it has no leading number or a component does not fit an int. */
  public static GoVersion parse(String s) {
    if (s == null) {
      return null;
    }
    Matcher m = VERSION.matcher(s.trim());
    if (!m.matches()) {
      return null;
    }
    try {
      return new GoVersion(
          Integer.parseInt(m.group(1)),
          m.group(2) == null ? 0 : Integer.parseInt(m.group(2)),
          m.group(3) == null ? 0 : Integer.parseInt(m.group(3)),
          s.trim());
    } catch (NumberFormatException e) {
      return null; // e.g. "1.99999999999": read from untrusted tables and binaries
    }
  }

  public static GoVersion of(int major, int minor, int patch) {
    return new GoVersion(major, minor, patch, major + "." + minor + "." + patch);
  }

  /** True when this version is at least {@code major.minor}. */
  public boolean atLeast(int major, int minor) {
    return this.major > major || (this.major == major && this.minor >= minor);
  }

  @Override
  public int compareTo(GoVersion o) {
    int c = Integer.compare(major, o.major);
    if (c == 0) {
      c = Integer.compare(minor, o.minor);
    }
    if (c == 0) {
      c = Integer.compare(patch, o.patch);
    }
    return c;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GoVersion v && v.major == major && v.minor == minor && v.patch == patch;
  }

  @Override
  public int hashCode() {
    return (major * 1000 + minor) * 1000 + patch;
  }

  @Override
  public String toString() {
    return raw;
  }
}
