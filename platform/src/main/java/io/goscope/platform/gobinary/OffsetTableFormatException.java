package io.goscope.platform.gobinary;

import io.goscope.api.GoscopeException;

/**
 * An offset table (bundled or watched YAML) that cannot be used. The message names the source and line, e.g.
 * {@code /etc/goscope/offsets/grpc.yaml:12: versions[0].offset: expected a non-negative integer, got "abc"}.
 */
public final class OffsetTableFormatException extends GoscopeException {
  private static final long serialVersionUID = 1L;

  private final String source;
  private final int line;

  public OffsetTableFormatException(String source, int line, String problem) {
    super(source + ":" + line + ": " + problem);
    this.source = source;
    this.line = line;
  }

  public OffsetTableFormatException(String source, int line, String problem, Throwable cause) {
    super(source + ":" + line + ": " + problem, cause);
    this.source = source;
    this.line = line;
  }

  /** The file or resource name. */
  public String source() {
    return source;
  }

  /** 1-based line of the offending node (0 when unknown). */
  public int line() {
    return line;
  }
}
