package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import jnr.ffi.Pointer;

/**
 * A BPF map: either one of a {@link BpfObject}'s maps (valid while the object is open, its fd owned by libbpf) or
 * a map this process created and owns, such as the shared ring buffer from {@link #createRingBuffer}. Closing an
 * owned map closes its fd; closing an object's map does nothing. Keys and values are raw bytes in the kernel's
 * layout (little-endian on x86-64 and arm64).
 */
public final class BpfMap implements AutoCloseable {
  private static final long BPF_ANY = 0;

  private final String name;
  // Object map: the libbpf handle and its owner. Owned map: null, and the fields below hold its definition.
  private final @Nullable BpfObject owner;
  private final @Nullable Pointer handle;
  private final int ownedFd;
  private final int ownedType;
  private final int ownedKeySize;
  private final int ownedValueSize;
  private final int ownedMaxEntries;
  private final AtomicBoolean closed = new AtomicBoolean();

  private BpfMap(
      String name,
      @Nullable BpfObject owner,
      @Nullable Pointer handle,
      int fd,
      int type,
      int keySize,
      int valueSize,
      int maxEntries) {
    this.name = name;
    this.owner = owner;
    this.handle = handle;
    this.ownedFd = fd;
    this.ownedType = type;
    this.ownedKeySize = keySize;
    this.ownedValueSize = valueSize;
    this.ownedMaxEntries = maxEntries;
  }

  static BpfMap ofObject(String name, BpfObject owner, Pointer handle) {
    return new BpfMap(name, owner, handle, -1, 0, 0, 0, 0);
  }

  /**
   * Creates a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF) owned by the caller.
   *
   * @param name map name; truncated to the kernel's 15 characters, characters outside {@code [A-Za-z0-9_.]}
   *     replaced by {@code _}
   * @param sizeBytes data size: a power of two and a multiple of the page size
   */
  public static BpfMap createRingBuffer(String name, int sizeBytes) {
    requireNonNull(name, "name");
    int page = Libc.pageSize();
    if (sizeBytes <= 0 || Integer.bitCount(sizeBytes) != 1 || sizeBytes % page != 0) {
      throw new IllegalArgumentException(
          "ring buffer size must be a power of two multiple of the page size " + page + ": " + sizeBytes);
    }
    if (sizeBytes > (1 << 29)) {
      throw new IllegalArgumentException("ring buffer size above 512 MiB: " + sizeBytes);
    }
    String kernelName = kernelName(name);
    Libbpf.Native lib = Libbpf.lib();
    int fd;
    try (Libbpf.Capture log = Libbpf.capture()) {
      fd = lib.bpf_map_create(Libbpf.BPF_MAP_TYPE_RINGBUF, kernelName, 0, 0, sizeBytes, null);
      if (fd < 0) {
        throw new BpfException(
            "create ring buffer", name, null, "size=" + sizeBytes, -fd, log.detail(2000));
      }
    }
    return new BpfMap(name, null, null, fd, Libbpf.BPF_MAP_TYPE_RINGBUF, 0, 0, sizeBytes);
  }

  /**
   * A map of this process's own that refers to the same kernel map as {@code map} (its fd duplicated), so that the
   * kernel map outlives the object it came from: the host keeps the maps one object created and hands them to the
   * objects it loads later ({@link BpfObject#reuseMap}).
   */
  public static BpfMap adopt(BpfMap map) {
    requireNonNull(map, "map");
    int fd = Libc.lib().fcntl(map.fd(), Libc.F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      throw new BpfException("adopt map", map.name(), Libc.lastErrno());
    }
    return new BpfMap(map.name(), null, null, fd, map.type(), map.keySize(), map.valueSize(), map.maxEntries());
  }

  /**
   * Removes a key (BPF_MAP_DELETE_ELEM).
   *
   * @return false when the key was absent
   */
  public boolean delete(byte[] key) {
    requireNonNull(key, "key");
    checkSize("key", key.length, keySize());
    int rc = Libbpf.lib().bpf_map_delete_elem(fd(), key);
    if (rc == -Errno.ENOENT) {
      return false;
    }
    if (rc < 0) {
      throw new BpfException("delete from map", name, -rc);
    }
    return true;
  }

  /**
   * Removes every key (BPF_MAP_GET_NEXT_KEY from the start, then delete, until empty). For a socket map this takes
   * each socket out at once, with the programs the map gave it, instead of when the map is freed later.
   *
   * @return how many keys were deleted
   */
  public int clear() {
    byte[] key = new byte[keySize()];
    int deleted = 0;
    for (int guard = 0; guard < 1 << 24; guard++) {
      int rc = Libbpf.lib().bpf_map_get_next_key(fd(), null, key);
      if (rc == -Errno.ENOENT) {
        return deleted;
      }
      if (rc < 0) {
        throw new BpfException("iterate map", name, -rc);
      }
      if (delete(key)) {
        deleted++;
      }
    }
    return deleted;
  }

  /** The map's memory as the kernel accounts it ({@code memlock} in /proc/self/fdinfo of its fd), or -1. */
  public long kernelMemoryBytes() {
    try {
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/fdinfo/" + fd()))) {
        if (line.startsWith("memlock:")) {
          return Long.parseLong(line.substring("memlock:".length()).strip());
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  static String kernelName(String name) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < name.length() && sb.length() < 15; i++) {
      char c = name.charAt(i);
      sb.append(Character.isLetterOrDigit(c) && c < 128 || c == '_' || c == '.' ? c : '_');
    }
    return sb.toString();
  }

  public String name() {
    return name;
  }

  /** The kernel's map type number (BPF_MAP_TYPE_*). */
  public int type() {
    return handle != null ? Libbpf.lib().bpf_map__type(handle) : ownedType;
  }

  public int keySize() {
    return handle != null ? Libbpf.lib().bpf_map__key_size(handle) : ownedKeySize;
  }

  public int valueSize() {
    return handle != null ? Libbpf.lib().bpf_map__value_size(handle) : ownedValueSize;
  }

  /** max_entries; for a ring buffer, its data size in bytes. */
  public int maxEntries() {
    return handle != null ? Libbpf.lib().bpf_map__max_entries(handle) : ownedMaxEntries;
  }

  /** The map's fd; throws when the map (or its object) is closed or not yet loaded. */
  int fd() {
    if (closed.get()) {
      throw new IllegalStateException("map " + name + " is closed");
    }
    if (handle == null) {
      return ownedFd;
    }
    owner.checkOpen();
    int fd = Libbpf.lib().bpf_map__fd(handle);
    if (fd < 0) {
      throw new BpfException("use map", name, null, "", 0, "map has no fd: object not loaded yet");
    }
    return fd;
  }

  @Nullable
  Pointer handle() {
    return handle;
  }

  private boolean isPerCpu() {
    int t = type();
    return t == Libbpf.BPF_MAP_TYPE_PERCPU_ARRAY
        || t == Libbpf.BPF_MAP_TYPE_PERCPU_HASH
        || t == Libbpf.BPF_MAP_TYPE_LRU_PERCPU_HASH;
  }

  private int lookupValueSize() {
    int v = valueSize();
    return isPerCpu() ? ((v + 7) & ~7) * possibleCpus() : v;
  }

  static int possibleCpus() {
    int n = Libbpf.lib().libbpf_num_possible_cpus();
    if (n <= 0) {
      throw new BpfException("count possible cpus", "/sys/devices/system/cpu/possible", -n);
    }
    return n;
  }

  /**
   * Looks up a key. For per-CPU maps the value holds one slot per possible CPU, each rounded up to 8 bytes.
   *
   * @return the value, or empty when the key is absent
   */
  public Optional<byte[]> lookup(byte[] key) {
    requireNonNull(key, "key");
    checkSize("key", key.length, keySize());
    byte[] value = new byte[lookupValueSize()];
    int rc = Libbpf.lib().bpf_map_lookup_elem(fd(), key, value);
    if (rc == -Errno.ENOENT) {
      return Optional.empty();
    }
    if (rc < 0) {
      throw new BpfException("lookup in map", name, -rc);
    }
    return Optional.of(value);
  }

  /** Creates or replaces a key's value (BPF_ANY). For per-CPU maps pass one slot per possible CPU. */
  public void update(byte[] key, byte[] value) {
    requireNonNull(key, "key");
    requireNonNull(value, "value");
    checkSize("key", key.length, keySize());
    checkSize("value", value.length, lookupValueSize());
    int rc = Libbpf.lib().bpf_map_update_elem(fd(), key, value, BPF_ANY);
    if (rc < 0) {
      throw new BpfException("update map", name, -rc);
    }
  }

  /**
   * Sums a per-CPU array's u64 counters at {@code key} over all CPUs (the drop counter {@code goscope_lost},
   * say). Returns 0 when the key is absent.
   */
  public long sumPerCpuU64(int key) {
    if (type() != Libbpf.BPF_MAP_TYPE_PERCPU_ARRAY || valueSize() != 8) {
      throw new BpfException(
          "sum per-cpu counters", name, null, "", 0,
          "not a per-CPU array of u64 (type=" + type() + " value_size=" + valueSize() + ")");
    }
    byte[] k = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(key).array();
    Optional<byte[]> v = lookup(k);
    if (v.isEmpty()) {
      return 0;
    }
    ByteBuffer b = ByteBuffer.wrap(v.get()).order(ByteOrder.LITTLE_ENDIAN);
    long sum = 0;
    while (b.remaining() >= 8) {
      sum += b.getLong();
    }
    return sum;
  }

  private void checkSize(String what, int actual, int expected) {
    if (actual != expected) {
      throw new IllegalArgumentException(
          "map " + name + ": " + what + " is " + actual + " bytes, expected " + expected);
    }
  }

  /** Closes the fd when this process created the map; no-op for an object's map. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true) && handle == null && ownedFd >= 0) {
      Libc.lib().close(ownedFd);
    }
  }

  @Override
  public String toString() {
    return "BpfMap{" + name + (handle == null ? ", owned fd=" + ownedFd : "") + "}";
  }
}
