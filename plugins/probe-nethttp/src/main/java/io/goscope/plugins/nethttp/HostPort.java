package io.goscope.plugins.nethttp;

/**
 * A host and optional port split from a Go {@code Request.Host} or {@code Request.RemoteAddr} value:
 * {@code example.com}, {@code example.com:8080}, {@code 10.0.0.1:4242}, {@code [::1]:4242}, {@code [::1]}. IPv6
 * brackets are removed. A bare IPv6 literal without brackets ({@code ::1}) is taken as a host without port.
 *
 * @param host the host, never null, possibly empty
 * @param port the port, or {@link #NO_PORT}
 */
record HostPort(String host, int port) {
  static final int NO_PORT = -1;

  static HostPort parse(String value) {
    if (value.startsWith("[")) {
      int close = value.indexOf(']');
      if (close < 0) {
        return new HostPort(value.substring(1), NO_PORT); // truncated inside the brackets
      }
      String host = value.substring(1, close);
      String rest = value.substring(close + 1);
      return new HostPort(host, rest.startsWith(":") ? parsePort(rest.substring(1)) : NO_PORT);
    }
    int colon = value.lastIndexOf(':');
    if (colon < 0 || value.indexOf(':') != colon) {
      return new HostPort(value, NO_PORT);
    }
    return new HostPort(value.substring(0, colon), parsePort(value.substring(colon + 1)));
  }

  private static int parsePort(String s) {
    if (s.isEmpty() || s.length() > 5) {
      return NO_PORT;
    }
    int port = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return NO_PORT;
      }
      port = port * 10 + (c - '0');
    }
    return port <= 65535 ? port : NO_PORT;
  }

  boolean hasPort() {
    return port != NO_PORT;
  }
}
