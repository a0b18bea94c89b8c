package io.goscope.api;

import static java.util.Objects.requireNonNull;

/**
 * A Go struct field whose byte offset a probe set needs, and the BPF constant that receives it.
 *
 * <p>The host resolves the offset per binary (DWARF, the binary's runtime type metadata, the probe set's bundled
 * offset table, then watched offset bundles) and writes it into the {@code const volatile} global named
 * {@link #constant()} before the BPF object is loaded. Offset tables are keyed by module, struct and field:
 * {@link OffsetTableFormat}.
 *
 * @param module Go module that defines the type: {@code "std"} for the standard library, otherwise a module path
 *     such as {@code google.golang.org/grpc}; it selects which version ranges of the offset table apply
 * @param structType fully-qualified type name as the Go toolchain spells it, e.g. {@code net/http.Request}
 * @param field field name, e.g. {@code Method}
 * @param constant name of the {@code const volatile __u64} global in the BPF object, e.g. {@code off_request_method}
 */
public record StructField(String module, String structType, String field, String constant) {
  public StructField {
    requireNonNull(module, "module");
    requireNonNull(structType, "structType");
    requireNonNull(field, "field");
    requireNonNull(constant, "constant");
  }

  /** A field of a standard-library type. */
  public static StructField std(String structType, String field, String constant) {
    return new StructField("std", structType, field, constant);
  }

  /** {@code structType.field}, for logs. */
  public String qualifiedName() {
    return structType + "." + field;
  }
}
