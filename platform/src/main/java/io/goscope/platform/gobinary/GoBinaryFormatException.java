package io.goscope.platform.gobinary;

import io.goscope.api.GoscopeException;

/**
 * A binary that cannot be parsed: truncated, corrupt, foreign (not ELF, 32-bit, another architecture) or hostile.
 * The message names the file and what was wrong, e.g. {@code /app/server: .gopclntab: bad magic 0x12345678}.
 * Subclasses carry structured detail for one kind of failure ({@link ModuleDataNotFoundException}).
 */
public class GoBinaryFormatException extends GoscopeException {
  private static final long serialVersionUID = 1L;

  public GoBinaryFormatException(String file, String problem) {
    super(file + ": " + problem);
  }

  public GoBinaryFormatException(String file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
  }
}
