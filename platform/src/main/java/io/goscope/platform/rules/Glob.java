package io.goscope.platform.rules;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * A shell-style pattern: {@code *} matches any run of characters except {@code /}, {@code ?} one character except
 * {@code /}, and {@code **} any run including {@code /} ({@code /app/**} matches everything below {@code /app};
 * {@code /app/** /server}, without the space, also matches {@code /app/server}). {@code [abc]}, {@code [a-z0-9]}
 * and {@code [!abc]} (or {@code [^abc]}) match one character of (or not of) a class, never {@code /}; a {@code ]}
 * right after the opening bracket (or its negation) is a member. A backslash makes the next character literal.
 * A {@code [} with no closing bracket is literal. Everything else is literal. The whole string must match.
 */
public final class Glob {
  private final String glob;
  private final Pattern pattern;

  private Glob(String glob) {
    this.glob = glob;
    this.pattern = Pattern.compile(toRegex(glob), Pattern.DOTALL);
  }

  /**
   * Compiles a glob.
   *
   * @throws IllegalArgumentException naming the glob when a character class is malformed (a reversed range such as
   *     {@code [z-a]}) or the glob ends in a lone backslash
   */
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
      if (c == '\\') {
        if (i + 1 == glob.length()) {
          throw new IllegalArgumentException("glob '" + glob + "' ends in a lone backslash");
        }
        literal.append(glob.charAt(++i));
        continue;
      }
      int classEnd = c == '[' ? classEnd(glob, i) : -1;
      if (c != '*' && c != '?' && classEnd < 0) {
        literal.append(c);
        continue;
      }
      if (literal.length() > 0) {
        regex.append(Pattern.quote(literal.toString()));
        literal.setLength(0);
      }
      if (c == '[') {
        regex.append(characterClass(glob, i + 1, classEnd));
        i = classEnd;
      } else if (c == '?') {
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

  /** Index of the {@code ]} closing the class opened at {@code open}, or -1 when there is none. */
  private static int classEnd(String glob, int open) {
    int i = open + 1;
    if (i < glob.length() && (glob.charAt(i) == '!' || glob.charAt(i) == '^')) {
      i++;
    }
    if (i < glob.length() && glob.charAt(i) == ']') {
      i++; // a leading ']' is a member
    }
    for (; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == ']') {
        return i;
      }
    }
    return -1;
  }

  /** The regex for the class body {@code glob[from, to)}; every member is escaped, and '/' is never matched. */
  private static String characterClass(String glob, int from, int to) {
    boolean negated = from < to && (glob.charAt(from) == '!' || glob.charAt(from) == '^');
    int i = negated ? from + 1 : from;
    StringBuilder members = new StringBuilder();
    while (i < to) {
      char lo = glob.charAt(i) == '\\' ? glob.charAt(++i) : glob.charAt(i);
      i++;
      if (i + 1 < to && glob.charAt(i) == '-') {
        char hi = glob.charAt(i + 1) == '\\' ? glob.charAt(i + 2) : glob.charAt(i + 1);
        i += glob.charAt(i + 1) == '\\' ? 3 : 2;
        if (hi < lo) {
          throw new IllegalArgumentException("glob '" + glob + "' has a reversed range " + lo + "-" + hi);
        }
        members.append(escapeInClass(lo)).append('-').append(escapeInClass(hi));
      } else {
        members.append(escapeInClass(lo));
      }
    }
    return negated ? "[^/" + members + "]" : "(?:(?!/)[" + members + "])";
  }

  private static String escapeInClass(char c) {
    return Character.isLetterOrDigit(c) ? String.valueOf(c) : String.format("\\x{%x}", (int) c);
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
