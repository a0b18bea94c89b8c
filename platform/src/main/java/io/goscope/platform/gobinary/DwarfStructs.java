package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * Struct member offsets from a binary's DWARF ({@code .debug_info}, {@code .debug_abbrev}, {@code .debug_str} and,
 * for DWARF 5, {@code .debug_str_offsets} / {@code .debug_line_str}).
 *
 * <p>Only named {@code DW_TAG_structure_type} entries and their {@code DW_TAG_member} children are read. Go names
 * struct types fully qualified ({@code net/http.Request}). The first query scans the units once and records where
 * each named struct starts (name to entry offset, nothing else); members are decoded per queried struct and cached
 * (at most {@value #MAX_CACHED_STRUCTS} structs). Thread-safe.
 *
 * <p>Every size and offset read from the sections is bounds-checked; a malformed section raises {@link
 * GoBinaryFormatException} naming the file and the section offset.
 */
public final class DwarfStructs {
  /** Upper bound on named structs indexed, so a hostile file cannot make the index grow without limit. */
  static final int MAX_INDEXED_STRUCTS = 2_000_000;

  static final int MAX_CACHED_STRUCTS = 4096;
  private static final int MAX_ATTRS_PER_ABBREV = 512;
  private static final int MAX_DEPTH = 4096;

  private static final int TAG_MEMBER = 0x0d;
  private static final int TAG_STRUCTURE_TYPE = 0x13;
  private static final int AT_SIBLING = 0x01;
  private static final int AT_NAME = 0x03;
  private static final int AT_DATA_MEMBER_LOCATION = 0x38;
  private static final int AT_STR_OFFSETS_BASE = 0x72;
  private static final int FORM_IMPLICIT_CONST = 0x21;
  private static final int FORM_INDIRECT = 0x16;

  private final String file;
  private final ByteBuffer info;
  private final ByteBuffer abbrev;
  private final ByteBuffer str;
  private final ByteBuffer lineStr;
  private final ByteBuffer strOffsets;

  private final Map<Long, Map<Long, Abbrev>> abbrevTables = new HashMap<>();
  private final List<Unit> units = new ArrayList<>();
  /** struct name -> (unit index << 40 | entry offset in .debug_info). */
  private Map<String, Long> index;

  private final Map<String, Map<String, Long>> members =
      new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Map<String, Long>> eldest) {
          return size() > MAX_CACHED_STRUCTS;
        }
      };

  private DwarfStructs(String file, ByteBuffer info, ByteBuffer abbrev, ByteBuffer str, ByteBuffer lineStr,
      ByteBuffer strOffsets) {
    this.file = file;
    this.info = le(info);
    this.abbrev = le(abbrev);
    this.str = str == null ? null : le(str);
    this.lineStr = lineStr == null ? null : le(lineStr);
    this.strOffsets = strOffsets == null ? null : le(strOffsets);
  }

  /**
   * Wraps a binary's DWARF sections, or returns empty when it has no {@code .debug_info}/{@code .debug_abbrev}
   * (a {@code -ldflags=-w} or stripped build). Section data must already be decompressed.
   *
   * @param file the binary's path, for error messages
   * @param sections section name (e.g. {@code .debug_info}) to its decompressed contents
   */
  public static Optional<DwarfStructs> of(String file, Function<String, Optional<ByteBuffer>> sections) {
    requireNonNull(file, "file");
    requireNonNull(sections, "sections");
    Optional<ByteBuffer> info = sections.apply(".debug_info");
    Optional<ByteBuffer> abbrev = sections.apply(".debug_abbrev");
    if (info.isEmpty() || abbrev.isEmpty() || info.get().remaining() == 0) {
      return Optional.empty();
    }
    return Optional.of(new DwarfStructs(file, info.get(), abbrev.get(),
        sections.apply(".debug_str").orElse(null),
        sections.apply(".debug_line_str").orElse(null),
        sections.apply(".debug_str_offsets").orElse(null)));
  }

  /** Upper bound on one decompressed DWARF section. */
  public static final long MAX_SECTION_BYTES = 1L << 30;

  /**
   * Reads the DWARF sections of an ELF file (SHF_COMPRESSED and legacy {@code .zdebug_*} sections are inflated,
   * each bounded by {@link #MAX_SECTION_BYTES}); empty when the binary has no DWARF.
   */
  public static Optional<DwarfStructs> of(ElfFile elf) {
    requireNonNull(elf, "elf");
    return of(elf.path().toString(), name -> elf.section(name)
        .or(() -> elf.section(".z" + name.substring(1)))
        .map(s -> elf.sectionDataDecompressed(s, MAX_SECTION_BYTES)));
  }

  /** Byte offset of {@code field} inside the struct type named {@code structType}, if DWARF describes both. */
  public OptionalLong offset(String structType, String field) {
    requireNonNull(field, "field");
    Long off = fields(structType).get(field);
    return off == null ? OptionalLong.empty() : OptionalLong.of(off);
  }

  /** Whether DWARF describes a struct type with this exact name. */
  public synchronized boolean hasStruct(String structType) {
    requireNonNull(structType, "structType");
    return index().containsKey(structType);
  }

  /** All members of {@code structType} with their offsets, in declaration order; empty if the struct is unknown. */
  public synchronized Map<String, Long> fields(String structType) {
    requireNonNull(structType, "structType");
    Map<String, Long> cached = members.get(structType);
    if (cached != null) {
      return cached;
    }
    Long where = index().get(structType);
    if (where == null) {
      return Map.of();
    }
    Map<String, Long> decoded = Collections.unmodifiableMap(decodeMembers(units.get((int) (where >>> 40)),
        where & ((1L << 40) - 1)));
    members.put(structType, decoded);
    return decoded;
  }

  /** Number of named struct types found (forces the index). */
  public synchronized int structCount() {
    return index().size();
  }

  // ---------------------------------------------------------------------------------------------------------------

  private record Unit(long start, long end, int version, int offsetSize, int addressSize, long abbrevOffset,
                      long dieStart, long strOffsetsBase) {}

  private record Abbrev(long code, int tag, boolean children, int[] attrs, int[] forms, long[] implicit) {}

  private Map<String, Long> index() {
    if (index == null) {
      index = buildIndex();
    }
    return index;
  }

  private Map<String, Long> buildIndex() {
    Map<String, Long> result = new HashMap<>();
    long pos = 0;
    long limit = info.capacity();
    while (pos + 11 <= limit) {
      Unit unit = readUnitHeader(pos);
      units.add(unit);
      if (units.size() >= (1 << 23)) {
        throw format("too many compilation units", pos);
      }
      scanUnit(units.size() - 1, unit, result);
      pos = unit.end();
    }
    return result;
  }

  private Unit readUnitHeader(long start) {
    Cursor c = new Cursor(info, start);
    long length = c.u32();
    int offsetSize = 4;
    if (length == 0xffffffffL) {
      length = c.u64();
      offsetSize = 8;
    } else if (length >= 0xfffffff0L) {
      throw format("reserved unit length 0x" + Long.toHexString(length), start);
    }
    long end = c.pos + length;
    if (length < 2 || end > info.capacity() || end < c.pos) {
      throw format("unit length " + length + " runs past the section (" + info.capacity() + " bytes)", start);
    }
    int version = c.u16();
    int addressSize;
    long abbrevOffset;
    if (version >= 2 && version <= 4) {
      abbrevOffset = c.offset(offsetSize);
      addressSize = c.u8();
    } else if (version == 5) {
      int unitType = c.u8();
      addressSize = c.u8();
      abbrevOffset = c.offset(offsetSize);
      if (unitType == 0x04 || unitType == 0x05) { // skeleton, split_compile: dwo_id
        c.skip(8);
      } else if (unitType == 0x02 || unitType == 0x06) { // type, split_type: signature + type offset
        c.skip(8 + offsetSize);
      }
    } else {
      throw format("unsupported DWARF version " + version, start);
    }
    if (addressSize != 4 && addressSize != 8) {
      throw format("bad address size " + addressSize, start);
    }
    return new Unit(start, end, version, offsetSize, addressSize, abbrevOffset, c.pos,
        version >= 5 ? 8 : 0);
  }

  private void scanUnit(int unitIndex, Unit unit, Map<String, Long> out) {
    Map<Long, Abbrev> abbrevs = abbrevTable(unit.abbrevOffset());
    Cursor c = new Cursor(info, unit.dieStart());
    int depth = 0;
    long strOffsetsBase = unit.strOffsetsBase();
    Unit effective = unit;
    boolean first = true;
    while (c.pos < unit.end()) {
      long dieOffset = c.pos;
      long code = c.uleb();
      if (code == 0) {
        if (depth > 0) {
          depth--;
        }
        continue;
      }
      Abbrev a = abbrevs.get(code);
      if (a == null) {
        throw format("unknown abbreviation code " + code, dieOffset);
      }
      if (first) {
        // The unit DIE may carry DW_AT_str_offsets_base, needed to resolve DW_FORM_strx in DWARF 5.
        first = false;
        long base = findConstant(effective, a, new Cursor(info, c.pos), AT_STR_OFFSETS_BASE);
        if (base >= 0) {
          strOffsetsBase = base;
          effective = new Unit(unit.start(), unit.end(), unit.version(), unit.offsetSize(), unit.addressSize(),
              unit.abbrevOffset(), unit.dieStart(), strOffsetsBase);
          units.set(unitIndex, effective);
        }
      }
      if (a.tag() == TAG_STRUCTURE_TYPE) {
        String name = null;
        for (int i = 0; i < a.attrs().length; i++) {
          int form = a.forms()[i];
          if (form == FORM_INDIRECT) {
            form = (int) c.uleb();
          }
          if (a.attrs()[i] == AT_NAME) {
            name = readString(effective, c, form);
          } else {
            skipForm(effective, c, form);
          }
        }
        if (name != null && !out.containsKey(name)) {
          if (out.size() >= MAX_INDEXED_STRUCTS) {
            throw format("more than " + MAX_INDEXED_STRUCTS + " named struct types", dieOffset);
          }
          out.put(name, ((long) unitIndex << 40) | dieOffset);
        }
      } else {
        long sibling = skipAttributes(effective, a, c);
        if (depth > 0 && sibling > 0 && a.children() && sibling > c.pos && sibling <= unit.end()) {
          c.pos = sibling; // the whole subtree is skipped: depth unchanged
          continue;
        }
      }
      if (a.children()) {
        if (++depth > MAX_DEPTH) {
          throw format("DIE nesting deeper than " + MAX_DEPTH, dieOffset);
        }
      }
    }
  }

  private Map<String, Long> decodeMembers(Unit unit, long dieOffset) {
    Map<Long, Abbrev> abbrevs = abbrevTable(unit.abbrevOffset());
    Cursor c = new Cursor(info, dieOffset);
    Abbrev structAbbrev = abbrevs.get(c.uleb());
    Map<String, Long> result = new LinkedHashMap<>();
    if (structAbbrev == null || !structAbbrev.children()) {
      return result;
    }
    skipAttributes(unit, structAbbrev, c);
    int depth = 1;
    while (depth > 0 && c.pos < unit.end()) {
      long off = c.pos;
      long code = c.uleb();
      if (code == 0) {
        depth--;
        continue;
      }
      Abbrev a = abbrevs.get(code);
      if (a == null) {
        throw format("unknown abbreviation code " + code, off);
      }
      if (depth == 1 && a.tag() == TAG_MEMBER) {
        String name = null;
        long location = -1;
        for (int i = 0; i < a.attrs().length; i++) {
          int form = a.forms()[i];
          if (form == FORM_INDIRECT) {
            form = (int) c.uleb();
          }
          if (a.attrs()[i] == AT_NAME) {
            name = readString(unit, c, form);
          } else if (a.attrs()[i] == AT_DATA_MEMBER_LOCATION) {
            location = readMemberLocation(unit, c, form, a.implicit()[i]);
          } else {
            skipForm(unit, c, form);
          }
        }
        if (name != null && location >= 0) {
          result.putIfAbsent(name, location);
        }
      } else {
        skipAttributes(unit, a, c);
      }
      if (a.children()) {
        depth++;
      }
      if (depth > MAX_DEPTH) {
        throw format("DIE nesting deeper than " + MAX_DEPTH, off);
      }
    }
    return result;
  }

  /** Skips one DIE's attributes; returns the absolute DW_AT_sibling target, or -1. */
  private long skipAttributes(Unit unit, Abbrev a, Cursor c) {
    long sibling = -1;
    for (int i = 0; i < a.attrs().length; i++) {
      int form = a.forms()[i];
      if (form == FORM_INDIRECT) {
        form = (int) c.uleb();
      }
      if (a.attrs()[i] == AT_SIBLING && isUnitRef(form)) {
        sibling = unit.start() + readUnsigned(unit, c, form);
      } else {
        skipForm(unit, c, form);
      }
    }
    return sibling;
  }

  private long findConstant(Unit unit, Abbrev a, Cursor c, int attr) {
    for (int i = 0; i < a.attrs().length; i++) {
      int form = a.forms()[i];
      if (form == FORM_INDIRECT) {
        form = (int) c.uleb();
      }
      if (a.attrs()[i] == attr && (form == 0x17 || isData(form))) {
        return readUnsigned(unit, c, form);
      }
      skipForm(unit, c, form);
    }
    return -1;
  }

  private long readMemberLocation(Unit unit, Cursor c, int form, long implicit) {
    if (form == FORM_IMPLICIT_CONST) {
      return implicit;
    }
    if (form == 0x0d) { // sdata
      return c.sleb();
    }
    if (isData(form)) {
      return readUnsigned(unit, c, form);
    }
    long len;
    switch (form) {
      case 0x0a -> len = c.u8(); // block1
      case 0x03 -> len = c.u16(); // block2
      case 0x04 -> len = c.u32(); // block4
      case 0x09, 0x18 -> len = c.uleb(); // block, exprloc
      default -> {
        skipForm(unit, c, form);
        return -1;
      }
    }
    long end = c.pos + len;
    c.check(len);
    long value = -1;
    if (len > 0) {
      int op = c.u8();
      if (op == 0x23 || op == 0x10) { // DW_OP_plus_uconst, DW_OP_constu
        value = c.uleb();
      }
    }
    c.pos = end;
    return value;
  }

  private static boolean isData(int form) {
    return form == 0x0b || form == 0x05 || form == 0x06 || form == 0x07 || form == 0x0f;
  }

  private static boolean isUnitRef(int form) {
    return form >= 0x11 && form <= 0x15;
  }

  private long readUnsigned(Unit unit, Cursor c, int form) {
    return switch (form) {
      case 0x0b, 0x11 -> c.u8();
      case 0x05, 0x12 -> c.u16();
      case 0x06, 0x13 -> c.u32();
      case 0x07, 0x14 -> c.u64();
      case 0x0f, 0x15 -> c.uleb();
      case 0x17 -> c.offset(unit.offsetSize());
      default -> throw format("form 0x" + Integer.toHexString(form) + " is not a constant", c.pos);
    };
  }

  private String readString(Unit unit, Cursor c, int form) {
    switch (form) {
      case 0x08: // string
        return c.cstring(info);
      case 0x0e: // strp
        return cstringAt(str, ".debug_str", c.offset(unit.offsetSize()));
      case 0x1f: // line_strp
        return cstringAt(lineStr, ".debug_line_str", c.offset(unit.offsetSize()));
      case 0x1a: // strx
        return strx(unit, c.uleb());
      case 0x25:
        return strx(unit, c.u8());
      case 0x26:
        return strx(unit, c.u16());
      case 0x27:
        return strx(unit, c.u16() | ((long) c.u8() << 16));
      case 0x28:
        return strx(unit, c.u32());
      default:
        skipForm(unit, c, form);
        return null;
    }
  }

  private String strx(Unit unit, long index) {
    if (strOffsets == null) {
      throw format("DW_FORM_strx without .debug_str_offsets", 0);
    }
    long at = unit.strOffsetsBase() + index * unit.offsetSize();
    if (index < 0 || at < 0 || at + unit.offsetSize() > strOffsets.capacity()) {
      throw format(".debug_str_offsets index " + index + " out of range", 0);
    }
    long off = unit.offsetSize() == 8 ? strOffsets.getLong((int) at) : Integer.toUnsignedLong(strOffsets.getInt((int) at));
    return cstringAt(str, ".debug_str", off);
  }

  private String cstringAt(ByteBuffer section, String name, long off) {
    if (section == null) {
      throw format("string form refers to missing " + name, 0);
    }
    if (off < 0 || off >= section.capacity()) {
      throw format(name + " offset " + off + " out of range", 0);
    }
    return new Cursor(section, off).cstring(section);
  }

  private void skipForm(Unit unit, Cursor c, int form) {
    switch (form) {
      case 0x19, 0x21 -> { } // flag_present, implicit_const
      case 0x0b, 0x0c, 0x11, 0x25, 0x29 -> c.skip(1);
      case 0x05, 0x12, 0x26, 0x2a -> c.skip(2);
      case 0x27, 0x2b -> c.skip(3);
      case 0x06, 0x13, 0x1c, 0x28, 0x2c -> c.skip(4);
      case 0x07, 0x14, 0x20, 0x24 -> c.skip(8);
      case 0x1e -> c.skip(16);
      case 0x01 -> c.skip(unit.addressSize());
      case 0x0e, 0x17, 0x1d, 0x1f -> c.skip(unit.offsetSize());
      case 0x10 -> c.skip(unit.version() <= 2 ? unit.addressSize() : unit.offsetSize());
      case 0x0d -> c.sleb();
      case 0x0f, 0x15, 0x1a, 0x1b, 0x22, 0x23 -> c.uleb();
      case 0x08 -> c.skipCstring();
      case 0x0a -> c.skip(c.u8());
      case 0x03 -> c.skip(c.u16());
      case 0x04 -> c.skip(c.u32());
      case 0x09, 0x18 -> c.skip(c.uleb());
      case FORM_INDIRECT -> skipForm(unit, c, (int) c.uleb());
      default -> throw format("unknown attribute form 0x" + Integer.toHexString(form), c.pos);
    }
  }

  private Map<Long, Abbrev> abbrevTable(long offset) {
    Map<Long, Abbrev> table = abbrevTables.get(offset);
    if (table != null) {
      return table;
    }
    if (offset < 0 || offset >= abbrev.capacity()) {
      throw new GoBinaryFormatException(file, ".debug_abbrev offset " + offset + " out of range");
    }
    table = new HashMap<>();
    Cursor c = new Cursor(abbrev, offset);
    while (c.pos < abbrev.capacity()) {
      long code = c.uleb();
      if (code == 0) {
        break;
      }
      int tag = (int) c.uleb();
      boolean children = c.u8() != 0;
      List<long[]> specs = new ArrayList<>();
      while (true) {
        int attr = (int) c.uleb();
        int form = (int) c.uleb();
        long implicit = form == FORM_IMPLICIT_CONST ? c.sleb() : 0;
        if (attr == 0 && form == 0) {
          break;
        }
        if (specs.size() >= MAX_ATTRS_PER_ABBREV) {
          throw new GoBinaryFormatException(file, ".debug_abbrev: abbreviation " + code + " has more than "
              + MAX_ATTRS_PER_ABBREV + " attributes");
        }
        specs.add(new long[] {attr, form, implicit});
      }
      int[] attrs = new int[specs.size()];
      int[] forms = new int[specs.size()];
      long[] implicits = new long[specs.size()];
      for (int i = 0; i < attrs.length; i++) {
        attrs[i] = (int) specs.get(i)[0];
        forms[i] = (int) specs.get(i)[1];
        implicits[i] = specs.get(i)[2];
      }
      table.putIfAbsent(code, new Abbrev(code, tag, children, attrs, forms, implicits));
    }
    abbrevTables.put(offset, table);
    return table;
  }

  private GoBinaryFormatException format(String problem, long offset) {
    return new GoBinaryFormatException(file, ".debug_info+0x" + Long.toHexString(offset) + ": " + problem);
  }

  private static ByteBuffer le(ByteBuffer b) {
    return b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A bounds-checked little-endian reader at an absolute position. */
  private final class Cursor {
    private final ByteBuffer buf;
    long pos;

    Cursor(ByteBuffer buf, long pos) {
      this.buf = buf;
      this.pos = pos;
    }

    void check(long n) {
      if (n < 0 || pos < 0 || pos + n > buf.capacity()) {
        throw new GoBinaryFormatException(file, "DWARF read of " + n + " bytes at 0x" + Long.toHexString(pos)
            + " runs past the section end (" + buf.capacity() + " bytes)");
      }
    }

    void skip(long n) {
      check(n);
      pos += n;
    }

    int u8() {
      check(1);
      return buf.get((int) pos++) & 0xff;
    }

    int u16() {
      check(2);
      int v = buf.getShort((int) pos) & 0xffff;
      pos += 2;
      return v;
    }

    long u32() {
      check(4);
      long v = Integer.toUnsignedLong(buf.getInt((int) pos));
      pos += 4;
      return v;
    }

    long u64() {
      check(8);
      long v = buf.getLong((int) pos);
      pos += 8;
      return v;
    }

    long offset(int size) {
      return size == 8 ? u64() : u32();
    }

    long uleb() {
      long result = 0;
      for (int shift = 0; ; shift += 7) {
        int b = u8();
        if (shift < 64) {
          result |= (long) (b & 0x7f) << shift;
        }
        if ((b & 0x80) == 0) {
          return result;
        }
        if (shift > 70) {
          throw new GoBinaryFormatException(file, "LEB128 longer than 10 bytes at 0x" + Long.toHexString(pos));
        }
      }
    }

    long sleb() {
      long result = 0;
      int shift = 0;
      int b;
      do {
        b = u8();
        if (shift < 64) {
          result |= (long) (b & 0x7f) << shift;
        }
        shift += 7;
        if (shift > 77) {
          throw new GoBinaryFormatException(file, "LEB128 longer than 10 bytes at 0x" + Long.toHexString(pos));
        }
      } while ((b & 0x80) != 0);
      if (shift < 64 && (b & 0x40) != 0) {
        result |= -1L << shift;
      }
      return result;
    }

    void skipCstring() {
      while (u8() != 0) {
        // scan to NUL; u8() bounds-checks
      }
    }

    String cstring(ByteBuffer section) {
      long start = pos;
      skipCstring();
      int len = (int) (pos - start - 1);
      byte[] bytes = new byte[len];
      section.get((int) start, bytes);
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }
}
