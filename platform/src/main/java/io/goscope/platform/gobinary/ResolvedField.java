package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import io.goscope.api.StructField;
import java.util.OptionalLong;

/**
 * The outcome of resolving one {@link StructField} for one binary: the offset (empty when {@link FieldSource#MISSING})
 * and its provenance.
 *
 * @param detail human-readable provenance, e.g. {@code dwarf}, {@code typelinks go1.19.8},
 *     {@code nethttp-offsets.yaml:12 (dwarf go1.19.8)}, or why it is missing
 */
public record ResolvedField(StructField field, OptionalLong offset, FieldSource source, String detail) {
  public ResolvedField {
    requireNonNull(field, "field");
    requireNonNull(offset, "offset");
    requireNonNull(source, "source");
    requireNonNull(detail, "detail");
    if (offset.isPresent() == (source == FieldSource.MISSING)) {
      throw new IllegalArgumentException("offset must be present exactly when source is not MISSING: " + source);
    }
  }

  /** Whether an offset was found. */
  public boolean found() {
    return offset.isPresent();
  }

  /** For logs and the inspection command: {@code net/http.Request.Method=0 (DWARF: dwarf)}. */
  @Override
  public String toString() {
    return field.qualifiedName() + "=" + (offset.isPresent() ? offset.getAsLong() : "?") + " (" + source + ": "
        + detail + ")";
  }
}
