package io.goscope.platform.rules;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * A shell-style pattern: {@code *} matches any run of characters except {@code /}, {@code ?} one character except
 * {@code /}, and {@code **} any run including {@code /} ({@code /app/**} matches everything below {@code /app};
 * {@code /app/** /server}, without the space, also matches {@code /app/server}). Everything else is literal.
 * The whole string must match.
 */
public final class Glob {
  private final String glob;
  private final Pattern pattern;

  private Glob(String glob) {
    this.glob = glob;
    this.pattern = Pattern.compile(toRegex(glob), Pattern.DOTALL);
  }

  /** Compiles a glob. */
  public static Glob compile(String glob) {
    return new Glob(requireNonNull(glob, "glob"));
  }

  /** Whether the whole of {@code text} matches. */
  public boolean matches(String text) {
    return text != null && pattern.matcher(text).matches();
  }

  static String toRegex(String glob) {
    StringBuilder regex = new StringBuilder(glob.length() + 16);
    StringBuilder literal = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c != '*' && c != '?') {
        literal.append(c);
        continue;
      }
      if (literal.length() > 0) {
        regex.append(Pattern.quote(literal.toString()));
        literal.setLength(0);
      }
      if (c == '?') {
        regex.append("[^/]");
      } else if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
        if (i + 2 < glob.length() && glob.charAt(i + 2) == '/') {
          regex.append("(?:.*/)?");
          i += 2;
        } else {
          regex.append(".*");
          i += 1;
        }
      } else {
        regex.append("[^/]*");
      }
    }
    if (literal.length() > 0) {
      regex.append(Pattern.quote(literal.toString()));
    }
    return regex.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Glob other && other.glob.equals(glob);
  }

  @Override
  public int hashCode() {
    return glob.hashCode();
  }

  @Override
  public String toString() {
    return glob;
  }
}
