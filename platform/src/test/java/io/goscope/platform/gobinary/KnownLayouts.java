package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;

/**
 * The 64-bit moduledata layouts of past Go releases, from {@code runtime/symtab.go} of each: what invariant-based
 * discovery ({@link ModuleData}) must find on real binaries, without being told. Go 1.16 put a {@code *pcHeader}
 * first; 1.18 added {@code rodata} and {@code gofunc} after {@code etypes}; 1.20 added {@code covctrs, ecovctrs}
 * before {@code end}; 1.26 added {@code epclntab} after {@code gofunc}; 1.27 dropped the {@code typelinks} and
 * {@code itablinks} slices for {@code typedesclen} (after {@code types}) and {@code itaboffset, itabsize} (after
 * {@code etypes}).
 */
final class KnownLayouts {
  static final Map<String, Integer> GO_1_16 = Map.of("pcHeader", 0, "ftab", 128, "minpc", 160, "text", 176,
      "etext", 184, "types", 280, "etypes", 288, "typelinks", 320, "itablinks", 344);
  static final Map<String, Integer> GO_1_18 = Map.of("pcHeader", 0, "ftab", 128, "minpc", 160, "text", 176,
      "etext", 184, "types", 280, "etypes", 288, "typelinks", 336, "itablinks", 360);
  static final Map<String, Integer> GO_1_20 = Map.of("pcHeader", 0, "ftab", 128, "minpc", 160, "text", 176,
      "etext", 184, "types", 296, "etypes", 304, "typelinks", 352, "itablinks", 376);
  static final Map<String, Integer> GO_1_26 = Map.of("pcHeader", 0, "ftab", 128, "minpc", 160, "text", 176,
      "etext", 184, "types", 296, "etypes", 304, "typelinks", 360, "itablinks", 384);
  static final Map<String, Integer> GO_1_27 = Map.of("pcHeader", 0, "ftab", 128, "minpc", 160, "text", 176,
      "etext", 184, "types", 296, "typedesclen", 304, "etypes", 312, "itaboffset", 320, "itabsize", 328);

  private KnownLayouts() {}

  /** The layout of the release {@code v} (64-bit, Go 1.16 and later). */
  static Map<String, Integer> of(GoVersion v) {
    if (v.atLeast(1, 27)) {
      return GO_1_27;
    } else if (v.atLeast(1, 26)) {
      return GO_1_26;
    } else if (v.atLeast(1, 20)) {
      return GO_1_20;
    } else if (v.atLeast(1, 18)) {
      return GO_1_18;
    }
    return GO_1_16;
  }

  /** Every field of {@code layout} was placed by discovery at that offset. */
  static void assertPlaced(Map<String, Integer> layout, ModuleData md) {
    layout.forEach((field, offset) ->
        assertEquals(offset.intValue(), md.offsetOf(field), field + " in " + md.fields() + "\n" + md.checks()));
  }
}
