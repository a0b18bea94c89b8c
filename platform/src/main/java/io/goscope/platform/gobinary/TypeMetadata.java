package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Struct field offsets from the Go runtime's own type descriptors, which every Go binary keeps (they survive
 * {@code -ldflags='-s -w'} and PIE), reached through the module's {@code typelinks} and any extra roots (e.g. the
 * types behind {@code itablinks}).
 *
 * <p>Layout (64-bit, identical from Go 1.14 through the {@code internal/abi} types of 1.21+): a 48-byte header
 * ({@code size}, {@code ptrdata}, {@code hash u32}, {@code tflag u8 @20}, {@code align}, {@code fieldAlign},
 * {@code kind u8 @23}, {@code equal}, {@code gcdata}, {@code str nameOff @40}, {@code ptrToThis typeOff @44}),
 * then the kind-specific part, then the uncommon type when {@code tflag & 1}. Struct fields are {name ptr, type ptr,
 * offset} (24 bytes); before Go 1.19 the third word is {@code offset << 1 | embedded}. Names are a flag byte, a
 * length (uvarint from Go 1.17, big-endian u16 before) and the bytes.
 *
 * <p>Struct names in the metadata carry the package name only ({@code http.Request}); they are matched to the
 * toolchain spelling {@code net/http.Request} through the package path of the uncommon type (or the struct's own
 * {@code pkgPath}). Field offsets must ascend inside the struct's size, else {@link #fields} throws rather than
 * return a guess. The first query walks the type graph from the roots once (pointer elems, struct field types,
 * slice/array/map/chan elems, func parameters, interface and method signatures, {@code ptrToThis}), bounded by
 * {@value #MAX_VISITED} types, and records named struct types only. Thread-safe.
 */
public final class TypeMetadata {
  static final int MAX_VISITED = 1_000_000;
  private static final int MAX_FIELDS = 1 << 16;
  private static final int MAX_METHODS = 1 << 16;
  private static final int MAX_NAME = 1 << 16;

  private static final int HEADER = 48;
  private static final int TFLAG_UNCOMMON = 1;
  private static final int TFLAG_EXTRA_STAR = 1 << 1;
  private static final int TFLAG_NAMED = 1 << 2;

  static final int KIND_ARRAY = 17;
  static final int KIND_CHAN = 18;
  static final int KIND_FUNC = 19;
  static final int KIND_INTERFACE = 20;
  static final int KIND_MAP = 21;
  static final int KIND_PTR = 22;
  static final int KIND_SLICE = 23;
  static final int KIND_STRUCT = 25;

  private final AddressSpace mem;
  private final long typesStart;
  private final long typesEnd;
  private final int[] typelinks;
  private final long[] extraRoots;
  private final GoVersion version;

  /** {@code pkgPath.Name} -> struct type descriptor address. */
  private Map<String, Long> structs;
  private int visited;

  /**
   * @param mem the binary's address space (link-time addresses)
   * @param typesStart {@code moduledata.types}: base of every nameOff/typeOff
   * @param typesEnd {@code moduledata.etypes}
   * @param typelinks {@code moduledata.typelinks}: offsets from {@code typesStart}
   * @param version the Go toolchain that built the binary (selects name and field encodings)
   */
  public TypeMetadata(AddressSpace mem, long typesStart, long typesEnd, int[] typelinks, GoVersion version) {
    this(mem, typesStart, typesEnd, typelinks, new long[0], version);
  }

  /**
   * Like {@link #TypeMetadata(AddressSpace, long, long, int[], GoVersion)} with extra root type descriptors given by
   * absolute address (for instance {@code itab._type} of every {@code moduledata.itablinks} entry, which reaches
   * types such as {@code net/http.response} that only ever appear behind an interface).
   */
  public TypeMetadata(AddressSpace mem, long typesStart, long typesEnd, int[] typelinks, long[] extraRoots,
      GoVersion version) {
    this.mem = requireNonNull(mem, "mem");
    this.typelinks = requireNonNull(typelinks, "typelinks").clone();
    this.extraRoots = requireNonNull(extraRoots, "extraRoots").clone();
    this.version = requireNonNull(version, "version");
    if (typesEnd <= typesStart) {
      throw new IllegalArgumentException("empty type data [0x" + Long.toHexString(typesStart) + ", 0x"
          + Long.toHexString(typesEnd) + ")");
    }
    this.typesStart = typesStart;
    this.typesEnd = typesEnd;
  }

  /**
   * The type metadata of a Go binary: its first module's {@code types}, {@code typelinks}, and the concrete types of
   * its {@code itablinks} as extra roots.
   *
   * @throws GoBinaryFormatException if the module data cannot be located
   */
  public static TypeMetadata of(GoBinary binary) {
    requireNonNull(binary, "binary");
    ModuleData md = binary.moduleData();
    AddressSpace mem = binary.addressSpace();
    long[] itabs = md.itablinks();
    long[] roots = new long[itabs.length];
    int n = 0;
    for (long itab : itabs) {
      if (mem.contains(itab + 8, 8)) {
        roots[n++] = mem.read(itab + 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(0); // itab._type
      }
    }
    return new TypeMetadata(mem, md.types(), md.etypes(), md.typelinks(), Arrays.copyOf(roots, n),
        binary.goVersion());
  }

  /**
   * The name of the type whose descriptor is at {@code typeAddress} as Go's {@code reflect.Type.String()} gives it
   * ({@code *net.OpError}, {@code context.deadlineExceededError}), or null when it is not a readable type descriptor
   * of this binary.
   */
  public synchronized String typeName(long typeAddress) {
    if (typeAddress < typesStart || typeAddress + HEADER > typesEnd || (typeAddress & 7) != 0) {
      return null;
    }
    try {
      ByteBuffer h = read(typeAddress, HEADER);
      int nameOff = h.getInt(40);
      String name = nameOff > 0 ? nameAt(typesStart + nameOff) : null;
      if (name == null || name.isEmpty()) {
        return null;
      }
      return (h.get(20) & TFLAG_EXTRA_STAR) != 0 && name.startsWith("*") ? name.substring(1) : name;
    } catch (GoBinaryFormatException | IndexOutOfBoundsException e) {
      return null;
    }
  }

  /**
   * The concrete types the binary converts to the interface named {@code interfaceName} (e.g. {@code error}) where
   * the compiler knew both, from its {@code itablinks}: type descriptor address (link-time) to type name. At most
   * {@code max} entries.
   */
  public synchronized Map<Long, String> implementations(long[] itabs, String interfaceName, int max) {
    Map<Long, String> out = new java.util.LinkedHashMap<>();
    for (long itab : itabs) {
      if (out.size() >= max) {
        break;
      }
      try {
        if (!mem.contains(itab, 16)) {
          continue;
        }
        ByteBuffer b = read(itab, 16);
        long inter = b.getLong(0);
        long type = b.getLong(8);
        if (interfaceName.equals(typeName(inter))) {
          String name = typeName(type);
          if (name != null) {
            out.put(type, name);
          }
        }
      } catch (GoBinaryFormatException | IndexOutOfBoundsException e) {
        // an unreadable itab: skipped
      }
    }
    return out;
  }

  /** Offset of {@code field} in the struct named {@code structType} ({@code net/http.Request}), if reachable. */
  public OptionalLong offset(String structType, String field) {
    requireNonNull(field, "field");
    Long off = fields(structType).get(field);
    return off == null ? OptionalLong.empty() : OptionalLong.of(off);
  }

  /**
   * Fields of {@code structType} with offsets in declaration order, or an empty map if it was not reached.
   *
   * @throws GoBinaryFormatException if the offsets read do not ascend inside the struct's size
   */
  public synchronized Map<String, Long> fields(String structType) {
    requireNonNull(structType, "structType");
    Long addr = structs().get(structType);
    if (addr == null) {
      return Map.of();
    }
    Map<String, Long> out = new LinkedHashMap<>();
    ByteBuffer st = read(addr, HEADER + 32);
    long fieldsPtr = st.getLong(56);
    long count = st.getLong(64);
    if (count < 0 || count > MAX_FIELDS || !mem.contains(fieldsPtr, count * 24)) {
      return Map.of();
    }
    ByteBuffer fs = read(fieldsPtr, (int) (count * 24));
    boolean offsetAnon = !version.atLeast(1, 19);
    long size = st.getLong(0);
    long prev = 0;
    for (int i = 0; i < count; i++) {
      String name = nameAt(fs.getLong(i * 24));
      long word = fs.getLong(i * 24 + 16);
      long off = offsetAnon ? word >>> 1 : word;
      // Go lays fields out in declaration order inside the struct's size: anything else means this release's
      // descriptors are not what this reader expects, and a guessed offset must not reach a probe.
      if (off < prev || off > size) {
        throw new GoBinaryFormatException(structType, String.format("type metadata: field %d (%s) at offset %d"
            + " after %d in a struct of %d bytes: descriptor layout not understood", i, name, off, prev, size));
      }
      prev = off;
      if (name != null) {
        out.putIfAbsent(name, off);
      }
    }
    return Collections.unmodifiableMap(out);
  }

  /** Address of the descriptor of {@code structType}, or 0 if it was not reached (forces the walk). */
  synchronized long descriptorAddress(String structType) {
    Long a = structs().get(structType);
    return a == null ? 0 : a;
  }

  /** Number of named struct types reached from the roots (forces the walk). */
  public synchronized int structCount() {
    return structs().size();
  }

  /** Number of type descriptors the walk visited (forces the walk). */
  public synchronized int visitedTypes() {
    structs();
    return visited;
  }

  // ---------------------------------------------------------------------------------------------------------------

  private Map<String, Long> structs() {
    if (structs == null) {
      structs = walk();
    }
    return structs;
  }

  private Map<String, Long> walk() {
    Map<String, Long> found = new HashMap<>();
    Set<Long> seen = new HashSet<>();
    ArrayDeque<Long> queue = new ArrayDeque<>();
    for (int off : typelinks) {
      enqueue(typesStart + off, seen, queue);
    }
    for (long root : extraRoots) {
      enqueue(root, seen, queue);
    }
    while (!queue.isEmpty()) {
      long t = queue.poll();
      try {
        visit(t, found, seen, queue);
      } catch (GoBinaryFormatException | IndexOutOfBoundsException e) {
        // A descriptor we cannot read is skipped; others stay usable.
      }
    }
    visited = seen.size();
    return found;
  }

  private void enqueue(long t, Set<Long> seen, ArrayDeque<Long> queue) {
    if (t < typesStart || t + HEADER > typesEnd || (t & 7) != 0 || seen.size() >= MAX_VISITED) {
      return;
    }
    if (seen.add(t)) {
      queue.add(t);
    }
  }

  private void enqueueOff(int typeOff, Set<Long> seen, ArrayDeque<Long> queue) {
    if (typeOff > 0) {
      enqueue(typesStart + Integer.toUnsignedLong(typeOff), seen, queue);
    }
  }

  private void visit(long t, Map<String, Long> found, Set<Long> seen, ArrayDeque<Long> queue) {
    ByteBuffer h = mem.contains(t, HEADER + 40) ? read(t, HEADER + 40) : read(t, HEADER + 8);
    int tflag = h.get(20) & 0xff;
    int kind = h.get(23) & 0x1f;
    enqueueOff(h.getInt(44), seen, queue); // ptrToThis
    int kindSize = HEADER;
    switch (kind) {
      case KIND_PTR, KIND_SLICE -> {
        enqueue(h.getLong(48), seen, queue);
        kindSize = HEADER + 8;
      }
      case KIND_CHAN -> {
        enqueue(h.getLong(48), seen, queue);
        kindSize = HEADER + 16;
      }
      case KIND_ARRAY -> {
        enqueue(h.getLong(48), seen, queue);
        kindSize = HEADER + 24;
      }
      case KIND_MAP -> {
        enqueue(h.getLong(48), seen, queue);
        enqueue(h.getLong(56), seen, queue);
        kindSize = HEADER + 40; // only used for the uncommon part, which maps never need here
      }
      case KIND_STRUCT -> {
        kindSize = HEADER + 32;
        long fieldsPtr = h.getLong(56);
        long count = h.getLong(64);
        if (count > 0 && count <= MAX_FIELDS && mem.contains(fieldsPtr, count * 24)) {
          ByteBuffer fs = read(fieldsPtr, (int) (count * 24));
          for (int i = 0; i < count; i++) {
            enqueue(fs.getLong(i * 24 + 8), seen, queue);
          }
        }
        if ((tflag & TFLAG_NAMED) != 0) {
          String key = qualifiedName(t, h, tflag, kindSize);
          if (key != null) {
            found.putIfAbsent(key, t);
          }
        }
      }
      case KIND_FUNC -> {
        kindSize = HEADER + 8;
        int in = h.getShort(48) & 0xffff;
        int out = h.getShort(50) & 0x7fff;
        long params = t + kindSize + ((tflag & TFLAG_UNCOMMON) != 0 ? 16 : 0);
        int n = in + out;
        if (n > 0 && mem.contains(params, n * 8L)) {
          ByteBuffer ps = read(params, n * 8);
          for (int i = 0; i < n; i++) {
            enqueue(ps.getLong(i * 8), seen, queue);
          }
        }
      }
      case KIND_INTERFACE -> {
        kindSize = HEADER + 32;
        long methods = h.getLong(56);
        long count = h.getLong(64);
        if (count > 0 && count <= MAX_METHODS && mem.contains(methods, count * 8)) {
          ByteBuffer ms = read(methods, (int) (count * 8));
          for (int i = 0; i < count; i++) {
            enqueueOff(ms.getInt(i * 8 + 4), seen, queue);
          }
        }
      }
      default -> { }
    }
    if ((tflag & TFLAG_UNCOMMON) != 0 && kind != KIND_MAP) {
      ByteBuffer u = read(t + kindSize, 16);
      int mcount = u.getShort(4) & 0xffff;
      long moff = Integer.toUnsignedLong(u.getInt(8));
      long methods = t + kindSize + moff;
      if (mcount > 0 && mem.contains(methods, mcount * 16L)) {
        ByteBuffer ms = read(methods, mcount * 16);
        for (int i = 0; i < mcount; i++) {
          enqueueOff(ms.getInt(i * 16 + 4), seen, queue);
        }
      }
    }
  }

  /** {@code pkgPath.Name} for a named struct, from its name and the uncommon type's (or the struct's) pkgPath. */
  private String qualifiedName(long t, ByteBuffer h, int tflag, int kindSize) {
    int nameOff = h.getInt(40);
    String name = nameOff > 0 ? nameAt(typesStart + nameOff) : null;
    if (name == null || name.isEmpty()) {
      return null;
    }
    if ((tflag & TFLAG_EXTRA_STAR) != 0 && name.startsWith("*")) {
      name = name.substring(1);
    }
    String pkgPath = null;
    if ((tflag & TFLAG_UNCOMMON) != 0) {
      int pkgOff = read(t + kindSize, 4).getInt(0);
      if (pkgOff > 0) {
        pkgPath = nameAt(typesStart + pkgOff);
      }
    }
    if (pkgPath == null || pkgPath.isEmpty()) {
      pkgPath = nameAt(h.getLong(48));
    }
    int dot = name.indexOf('.');
    int bracket = name.indexOf('[');
    if (dot < 0 || (bracket >= 0 && bracket < dot)) {
      return null;
    }
    String local = name.substring(dot + 1);
    if (pkgPath == null || pkgPath.isEmpty()) {
      pkgPath = name.substring(0, dot);
    }
    return pkgPath + "." + local;
  }

  /** Decodes a runtime {@code name} at an absolute address; null when unreadable. */
  private String nameAt(long addr) {
    if (addr == 0 || !mem.contains(addr, 3)) {
      return null;
    }
    ByteBuffer b = read(addr, (int) Math.min(12, rangeLeft(addr)));
    int len;
    int dataStart;
    if (version.atLeast(1, 17)) {
      len = 0;
      int i = 0;
      for (; ; i++) {
        if (1 + i >= b.limit() || i >= 4) {
          return null;
        }
        int x = b.get(1 + i) & 0xff;
        len |= (x & 0x7f) << (7 * i);
        if ((x & 0x80) == 0) {
          break;
        }
      }
      dataStart = 2 + i;
    } else {
      len = ((b.get(1) & 0xff) << 8) | (b.get(2) & 0xff);
      dataStart = 3;
    }
    if (len == 0) {
      return "";
    }
    if (len > MAX_NAME || !mem.contains(addr + dataStart, len)) {
      return null;
    }
    byte[] bytes = new byte[len];
    read(addr + dataStart, len).get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private long rangeLeft(long addr) {
    long n = 12;
    while (n > 3 && !mem.contains(addr, n)) {
      n--;
    }
    return n;
  }

  private ByteBuffer read(long addr, int len) {
    return mem.read(addr, len).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public String toString() {
    return "TypeMetadata[types=0x" + Long.toHexString(typesStart) + ", typelinks=" + typelinks.length + ", go="
        + version + "]";
  }
}
