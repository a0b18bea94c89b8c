package io.goscope.api;

/** A ring-buffer record that a {@link RecordDecoder} cannot decode: too short, or an unknown record type. */
public final class RecordFormatException extends GoscopeException {
  private static final long serialVersionUID = 1L;

  public RecordFormatException(String message) {
    super(message);
  }
}
