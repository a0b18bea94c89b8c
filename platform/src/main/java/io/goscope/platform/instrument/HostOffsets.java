package io.goscope.platform.instrument;

import io.goscope.platform.gobinary.OffsetTable;
import java.util.List;

/**
 * The platform's bundled offset table for the Go runtime fields the host itself needs ({@code runtime.g.goid},
 * {@code runtime.g.parentGoid}): {@code offsets/runtime-offsets.yaml}, generated from real builds like the probe
 * sets' tables. Used when a binary's DWARF and type metadata do not answer.
 */
final class HostOffsets {
  static final String RESOURCE = "offsets/runtime-offsets.yaml";

  private static final class Holder {
    static final List<OffsetTable> TABLES =
        List.of(OffsetTable.loadResource(HostOffsets.class.getClassLoader(), RESOURCE));
  }

  private HostOffsets() {}

  static List<OffsetTable> tables() {
    return Holder.TABLES;
  }
}
