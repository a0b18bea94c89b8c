package io.goscope.platform.gobinary;

/** Where a struct field offset came from, in the order {@link FieldResolver} tries them. */
public enum FieldSource {
  /** The binary's own DWARF ({@code .debug_info}). */
  DWARF,
  /** The Go runtime type descriptors in the binary (survive {@code -s -w}). */
  TYPE_METADATA,
  /** An offset table bundled with the probe plugin (or the agent). */
  TABLE,
  /** An offset bundle file from the watched directory. */
  BUNDLE,
  /** No source knew the field. */
  MISSING
}
