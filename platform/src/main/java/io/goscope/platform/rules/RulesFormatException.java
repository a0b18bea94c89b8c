package io.goscope.platform.rules;

import io.goscope.api.GoscopeException;

/**
 * A rule file that cannot be used: bad YAML, an unknown key, a wrong type, a bad regex. The message starts with
 * {@code file:line:column} (1-based), e.g. {@code checkout.yaml:4:7: unknown key 'exe' in match}.
 */
public final class RulesFormatException extends GoscopeException {
  private static final long serialVersionUID = 1L;

  private final String file;
  private final int line;
  private final int column;

  public RulesFormatException(String file, int line, int column, String problem) {
    this(file, line, column, problem, null);
  }

  public RulesFormatException(String file, int line, int column, String problem, Throwable cause) {
    super(file + ":" + line + ":" + column + ": " + problem, cause);
    this.file = file;
    this.line = line;
    this.column = column;
  }

  /** The file name. */
  public String file() {
    return file;
  }

  /** 1-based line. */
  public int line() {
    return line;
  }

  /** 1-based column. */
  public int column() {
    return column;
  }
}
