package io.goscope.plugins.grpc;

/**
 * {@code server.address} and {@code server.port} of a gRPC client call from its channel's target string, the way the
 * gRPC conventions ask: the host and port of a {@code dns} (or grpc-go's default {@code passthrough}) target or of a
 * plain {@code host:port}; the path of a {@code unix} target; any other target (a list of addresses, a resolver of
 * its own) as a whole, without a port.
 *
 * @param port the port, or 0 when the target names none
 */
record ServerAddress(String address, int port) {

  static ServerAddress ofTarget(String target) {
    String t = target.strip();
    String lower = t.toLowerCase(java.util.Locale.ROOT);
    if (lower.startsWith("unix://")) {
      return new ServerAddress(t.substring("unix://".length()), 0);
    }
    if (lower.startsWith("unix:")) {
      return new ServerAddress(t.substring("unix:".length()), 0);
    }
    String endpoint;
    int scheme = t.indexOf(':');
    if (lower.startsWith("dns:") || lower.startsWith("passthrough:")) {
      String rest = t.substring(scheme + 1);
      if (rest.startsWith("//")) {
        int slash = rest.indexOf('/', 2); // dns://authority/host:port
        if (slash < 0) {
          return new ServerAddress(t, 0);
        }
        rest = rest.substring(slash + 1);
      }
      endpoint = rest;
    } else if (t.contains("://") || (scheme > 0 && isScheme(t.substring(0, scheme)) && !hostPort(t))) {
      return new ServerAddress(t, 0); // another resolver's target (zk://..., ipv4:a,b, xds:///...)
    } else {
      endpoint = t;
    }
    return parseHostPort(endpoint, t);
  }

  private static boolean isScheme(String s) {
    return !s.isEmpty() && s.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '+' || c == '-' || c == '.')
        && Character.isLetter(s.charAt(0));
  }

  /** Whether t is a plain {@code host:port} (the part after the last colon is a port number). */
  private static boolean hostPort(String t) {
    int colon = t.lastIndexOf(':');
    return colon > 0 && colon < t.length() - 1 && t.substring(colon + 1).chars().allMatch(Character::isDigit)
        && !t.substring(0, colon).contains(",");
  }

  private static ServerAddress parseHostPort(String endpoint, String whole) {
    if (endpoint.isEmpty() || endpoint.contains(",") || endpoint.contains("/")) {
      return new ServerAddress(whole, 0);
    }
    if (endpoint.startsWith("[")) {
      int close = endpoint.indexOf(']');
      if (close < 0) {
        return new ServerAddress(whole, 0);
      }
      String host = endpoint.substring(1, close);
      String rest = endpoint.substring(close + 1);
      return new ServerAddress(host, rest.startsWith(":") ? port(rest.substring(1)) : 0);
    }
    int colon = endpoint.lastIndexOf(':');
    if (colon < 0) {
      return new ServerAddress(endpoint, 0);
    }
    if (endpoint.indexOf(':') != colon) {
      return new ServerAddress(endpoint, 0); // a bare IPv6 address
    }
    int port = port(endpoint.substring(colon + 1));
    return new ServerAddress(endpoint.substring(0, colon), port);
  }

  private static int port(String s) {
    try {
      int p = Integer.parseInt(s);
      return p > 0 && p <= 65535 ? p : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
