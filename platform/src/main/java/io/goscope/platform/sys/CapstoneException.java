package io.goscope.platform.sys;

import io.goscope.api.GoscopeException;

/** Capstone could not be loaded or failed to disassemble; the message names the operation and the cause. */
public final class CapstoneException extends GoscopeException {
  private static final long serialVersionUID = 1L;

  public CapstoneException(String message) {
    super(message);
  }

  public CapstoneException(String message, Throwable cause) {
    super(message, cause);
  }
}
