package io.goscope.platform.discovery;

import io.goscope.api.GoscopeException;

/**
 * A {@code /proc} read that failed for a reason other than the process having exited, typically a permission
 * error. The message names the operation, the pid and the file: {@code read /proc/42/environ: permission denied}.
 */
public final class ProcFsException extends GoscopeException {
  private static final long serialVersionUID = 1L;

  public ProcFsException(String message, Throwable cause) {
    super(message, cause);
  }
}
