package io.goscope.platform.gobinary;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Go runtime type descriptors ({@code internal/abi.Type} and the kind-specific parts, 64-bit) read straight from a
 * binary's image, for module data discovery: whether an address holds a plausible descriptor, and the two
 * sequential walks with which Go 1.27 replaced the {@code typelinks} and {@code itablinks} slices
 * ({@code runtime.moduleTypelinks}: descriptors from {@code types+8} to {@code types+typedesclen}, each
 * {@code DescriptorSize()} long, pointer-aligned; {@code runtime.addModuleItabs}: itabs from
 * {@code types+itaboffset}, each {@code ITab.Size()} long).
 *
 * <p>A walk must end exactly at the length the linker wrote: that is the invariant that proves the descriptor sizes
 * right. When a descriptor is followed by something that is not a descriptor, the size of that descriptor's kind is
 * re-learned from the data (the smallest kind size after which a valid descriptor, or the end, follows), so that a
 * release that grows one kind's struct, as Go 1.24 and 1.27 grew {@code MapType}, still walks.
 */
final class TypeDescriptors {
  static final int HEADER = 48;
  static final int KIND_INTERFACE = 20;
  private static final int KIND_MAX = 26;
  private static final int UNCOMMON = 16;
  private static final int METHOD = 16;
  private static final int ITAB = 32;
  /** Kinds whose size may be re-learned during one walk. */
  private static final int MAX_LEARNED = 4;
  private static final int MAX_BASE = 512;
  private static final long MAX_COUNT = 1 << 20;

  private final AddressSpace mem;
  private final long types;
  private final long etypes;

  TypeDescriptors(AddressSpace mem, long types, long etypes) {
    this.mem = mem;
    this.types = types;
    this.etypes = etypes;
  }

  /** Base size of each kind's descriptor (the {@code abi.*Type} struct) in Go 1.27, by kind number. */
  static int[] baseSizes(int mapBase) {
    int[] b = new int[KIND_MAX + 1];
    Arrays.fill(b, HEADER); // bool .. complex128, string, unsafe.Pointer
    b[17] = HEADER + 24; // array: elem, slice, len
    b[18] = HEADER + 16; // chan: elem, dir
    b[19] = HEADER + 8; // func: inCount, outCount (padded)
    b[20] = HEADER + 32; // interface: pkgPath, methods slice
    b[21] = mapBase; // map: grew in Go 1.24 (swiss maps) and 1.27
    b[22] = HEADER + 8; // pointer: elem
    b[23] = HEADER + 8; // slice: elem
    b[25] = HEADER + 32; // struct: pkgPath, fields slice
    return b;
  }

  /** {@code MapType} sizes of the releases known: Go 1.27 (136), 1.24-1.26 (112), before (88). */
  static final int[] KNOWN_MAP_SIZES = {136, 112, 88};

  /** Whether {@code a} holds a plausible type descriptor inside {@code [types, etypes)}. */
  boolean valid(long a) {
    if ((a & 7) != 0 || a < types || a + HEADER > etypes || !mem.contains(a, HEADER)) {
      return false;
    }
    ByteBuffer h = read(a, HEADER);
    long size = h.getLong(0);
    long ptrdata = h.getLong(8);
    int tflag = h.get(20) & 0xff;
    int align = h.get(21) & 0xff;
    int fieldAlign = h.get(22) & 0xff;
    int kind = h.get(23) & 0x1f;
    long str = h.getInt(40);
    long ptrToThis = h.getInt(44);
    long span = etypes - types;
    return size >= 0 && size < (1L << 40) && ptrdata >= 0 && ptrdata <= size && tflag < 64
        && powerOfTwo(align) && powerOfTwo(fieldAlign) && kind >= 1 && kind <= KIND_MAX
        && str > 0 && str < span && ptrToThis >= 0 && ptrToThis < span;
  }

  private static boolean powerOfTwo(int v) {
    return v > 0 && v <= 64 && (v & (v - 1)) == 0;
  }

  int kind(long a) {
    return read(a, HEADER).get(23) & 0x1f;
  }

  /** {@code DescriptorSize()} of the descriptor at {@code a} with the given kind base sizes; -1 if unreadable. */
  long descriptorSize(long a, int[] base) {
    ByteBuffer h = read(a, HEADER);
    int kind = h.get(23) & 0x1f;
    int tflag = h.get(20) & 0xff;
    long size = base[kind];
    long methods = 0;
    if ((tflag & 1) != 0) {
      if (!mem.contains(a + size, UNCOMMON)) {
        return -1;
      }
      methods = read(a + size, UNCOMMON).getShort(4) & 0xffff;
      size += UNCOMMON;
    }
    long add = 0;
    switch (kind) {
      case 19 -> {
        if (!mem.contains(a + HEADER, 4)) {
          return -1;
        }
        ByteBuffer f = read(a + HEADER, 4);
        add = ((f.getShort(0) & 0xffff) + (f.getShort(2) & 0x7fff)) * 8L;
      }
      case 20, 25 -> {
        if (!mem.contains(a + 64, 8)) {
          return -1;
        }
        long n = read(a + 64, 8).getLong(0);
        if (n < 0 || n > MAX_COUNT) {
          return -1;
        }
        add = n * (kind == 20 ? 8 : 24);
      }
      default -> { }
    }
    return size + add + methods * METHOD;
  }

  /** The result of a walk: the descriptor addresses, or why it failed, and any kind sizes learned on the way. */
  record Walk(long[] addresses, String failure, Map<Integer, Integer> learned) {
    boolean ok() {
      return failure == null;
    }
  }

  /**
   * Walks the typelink descriptors from {@code types + 8} to {@code types + typedesclen} as the Go 1.27 runtime
   * does; ok only when the last descriptor ends exactly at the given length.
   */
  Walk walkTypelinks(long typedesclen, int mapBase, int maxDescriptors) {
    long end = types + typedesclen;
    if (typedesclen < 8 || end > etypes) {
      return new Walk(new long[0], "typedesclen " + typedesclen + " outside the type data", Map.of());
    }
    int[] base = baseSizes(mapBase);
    Map<Integer, Integer> learned = new LinkedHashMap<>();
    long[] out = new long[64];
    int n = 0;
    long pos = types + 8;
    long prev = -1;
    while (pos < end) {
      pos = (pos + 7) & ~7L;
      if (pos >= end) {
        break;
      }
      if (!valid(pos)) {
        long repaired = prev < 0 ? -1 : relearn(prev, end, base, learned);
        if (repaired < 0) {
          return new Walk(Arrays.copyOf(out, n), String.format("no type descriptor at types+0x%x (after %d"
              + " descriptors%s)", pos - types, n, prev < 0 ? "" : String.format(", the last a %s at types+0x%x",
              kindName(kind(prev)), prev - types)), learned);
        }
        pos = repaired;
        if (pos >= end) {
          break;
        }
      }
      if (n == out.length) {
        if (n >= maxDescriptors) {
          return new Walk(Arrays.copyOf(out, n), "more than " + maxDescriptors + " descriptors", learned);
        }
        out = Arrays.copyOf(out, Math.min(maxDescriptors, n * 2));
      }
      out[n++] = pos;
      long size = descriptorSize(pos, base);
      if (size < HEADER) {
        return new Walk(Arrays.copyOf(out, n), String.format("unreadable descriptor at types+0x%x", pos - types),
            learned);
      }
      prev = pos;
      pos += size;
    }
    if (pos != end) {
      return new Walk(Arrays.copyOf(out, n), String.format("descriptors end at types+0x%x, not at typedesclen 0x%x",
          pos - types, typedesclen), learned);
    }
    return new Walk(Arrays.copyOf(out, n), null, learned);
  }

  /**
   * Re-learns the base size of the kind of the descriptor at {@code prev}, which was not followed by a descriptor:
   * the known map sizes first, then every pointer-aligned size up to {@value #MAX_BASE}. Returns where the next
   * descriptor starts, or -1.
   */
  private long relearn(long prev, long end, int[] base, Map<Integer, Integer> learned) {
    int kind = kind(prev);
    if (learned.containsKey(kind) || learned.size() >= MAX_LEARNED) {
      return -1;
    }
    int[] tryFirst = kind == 21 ? KNOWN_MAP_SIZES : new int[0];
    int original = base[kind];
    for (int pass = 0; pass < 2; pass++) {
      int[] sizes = pass == 0 ? tryFirst : null;
      int count = pass == 0 ? sizes.length : (MAX_BASE - HEADER) / 8 + 1;
      for (int i = 0; i < count; i++) {
        int s = pass == 0 ? sizes[i] : HEADER + 8 * i;
        if (s == original) {
          continue;
        }
        base[kind] = s;
        long size = descriptorSize(prev, base);
        if (size >= HEADER) {
          long next = (prev + size + 7) & ~7L;
          if (next == end || (next < end && valid(next))) {
            learned.put(kind, s);
            return next;
          }
        }
      }
    }
    base[kind] = original;
    return -1;
  }

  /**
   * Whether the descriptors' type strings ascend (non-strictly, bytewise, without the extra leading '*' that
   * {@code TFlagExtraStar} marks) from the second one on: the linker sorts the typelink descriptors by type string
   * (after {@code type:*}), and the non-typelink ones that follow them by size. -1 when sorted, else the index of
   * the first descriptor out of order.
   */
  int firstUnsorted(long[] addresses) {
    byte[] prev = null;
    for (int i = 1; i < addresses.length; i++) {
      byte[] s = typeString(addresses[i]);
      if (s == null) {
        return i;
      }
      if (prev != null && Arrays.compareUnsigned(prev, s) > 0) {
        return i;
      }
      prev = s;
    }
    return -1;
  }

  /** The type string of the descriptor at {@code a} (uvarint-length names, Go 1.17+), or null if unreadable. */
  private byte[] typeString(long a) {
    ByteBuffer h = read(a, HEADER);
    boolean extraStar = (h.get(20) & 2) != 0;
    long name = types + h.getInt(40);
    if (!mem.contains(name, 2)) {
      return null;
    }
    int len = 0;
    int i = 0;
    for (; i < 4; i++) {
      if (!mem.contains(name + 1 + i, 1)) {
        return null;
      }
      int x = read(name + 1 + i, 1).get(0) & 0xff;
      len |= (x & 0x7f) << (7 * i);
      if ((x & 0x80) == 0) {
        break;
      }
    }
    long data = name + 2 + i;
    if (i == 4 || len > (1 << 16) || !mem.contains(data, len)) {
      return null;
    }
    byte[] out = new byte[len];
    read(data, len).get(out);
    return extraStar && len > 0 && out[0] == '*' ? Arrays.copyOfRange(out, 1, len) : out;
  }

  /** The result of an itab walk: itab addresses, or why it failed. */
  record Itabs(long[] addresses, String failure) {
    boolean ok() {
      return failure == null;
    }
  }

  /**
   * Walks the itabs in {@code [types + offset, types + offset + size)} as {@code runtime.addModuleItabs} does: each
   * {@code {inter, type, hash, fun[...]}} is 32 bytes plus 8 per interface method beyond the first (32 when
   * {@code fun[0] == 0}).
   */
  Itabs walkItabs(long offset, long size, int maxItabs) {
    long p = types + offset;
    long end = p + size;
    if (offset < 0 || size < 0 || end > etypes) {
      return new Itabs(new long[0], "itab range outside the type data");
    }
    long[] out = new long[16];
    int n = 0;
    while (p < end) {
      String bad = itabProblem(p);
      if (bad != null) {
        return new Itabs(Arrays.copyOf(out, n), String.format("itab %d at types+0x%x: %s", n, p - types, bad));
      }
      if (n == out.length) {
        if (n >= maxItabs) {
          return new Itabs(Arrays.copyOf(out, n), "more than " + maxItabs + " itabs");
        }
        out = Arrays.copyOf(out, Math.min(maxItabs, n * 2));
      }
      out[n++] = p;
      p += itabSize(p);
    }
    if (p != end) {
      return new Itabs(Arrays.copyOf(out, n), String.format("itabs end at types+0x%x, not at 0x%x", p - types,
          end - types));
    }
    return new Itabs(Arrays.copyOf(out, n), null);
  }

  /** Null if {@code p} holds a plausible itab (interface type, concrete type), else what is wrong. */
  String itabProblem(long p) {
    if ((p & 7) != 0 || !mem.contains(p, ITAB)) {
      return "unreadable";
    }
    ByteBuffer b = read(p, ITAB);
    long inter = b.getLong(0);
    long type = b.getLong(8);
    if (!valid(inter) || kind(inter) != KIND_INTERFACE) {
      return String.format("inter 0x%x is not an interface type descriptor", inter);
    }
    if (!valid(type)) {
      return String.format("type 0x%x is not a type descriptor", type);
    }
    long methods = read(inter + 64, 8).getLong(0);
    if (methods < 0 || methods > MAX_COUNT || (methods == 0 && b.getLong(24) != 0)) {
      return "interface with " + methods + " methods";
    }
    return null;
  }

  private long itabSize(long p) {
    ByteBuffer b = read(p, ITAB);
    if (b.getLong(24) == 0) {
      return ITAB;
    }
    long methods = read(b.getLong(0) + 64, 8).getLong(0);
    return ITAB + (methods - 1) * 8;
  }

  static String kindName(int kind) {
    return switch (kind) {
      case 17 -> "array";
      case 18 -> "chan";
      case 19 -> "func";
      case 20 -> "interface";
      case 21 -> "map";
      case 22 -> "pointer";
      case 23 -> "slice";
      case 24 -> "string";
      case 25 -> "struct";
      case 26 -> "unsafe.Pointer";
      default -> "kind " + kind;
    };
  }

  private ByteBuffer read(long a, int len) {
    return mem.read(a, len).order(ByteOrder.LITTLE_ENDIAN);
  }
}
