package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A BPF ELF object opened with libbpf: set its {@code const volatile} constants and swap in shared maps, then
 * {@link #load()} it and attach its programs. Links and maps it hands out are separate handles; links stay attached
 * after the object is closed, until they are closed themselves.
 *
 * <p>Not thread-safe, except {@link #close()}, which is idempotent.
 */
public final class BpfObject implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BpfObject.class);
  private static final int LOG_TAIL_CHARS = 3000;

  /** sizeof(struct bpf_uprobe_opts) in libbpf 1.1 on 64-bit targets. */
  static final int UPROBE_OPTS_SIZE = 40;

  /** offsetofend(struct bpf_object_open_opts, object_name): the prefix of the options we fill. */
  static final int OPEN_OPTS_SIZE = 16;

  private final String name;
  private final AtomicReference<Pointer> obj;
  // libbpf reads the ELF image in place until load: keep the native copy reachable for the object's life.
  private final Pointer elfImage;
  private final Map<String, BpfMap> maps = new HashMap<>();
  private boolean loaded;

  private BpfObject(String name, Pointer obj, Pointer elfImage) {
    this.name = name;
    this.obj = new AtomicReference<>(obj);
    this.elfImage = elfImage;
  }

  /**
   * Opens a BPF object from its ELF bytes (bpf_object__open_mem).
   *
   * @param name the object's name in logs and errors, also libbpf's object_name (prefix of its internal maps)
   */
  public static BpfObject open(String name, byte[] elfBytes) {
    requireNonNull(name, "name");
    requireNonNull(elfBytes, "elfBytes");
    if (elfBytes.length == 0) {
      throw new BpfException("open BPF object", name, null, "", 0, "empty ELF image");
    }
    Libbpf.Native lib = Libbpf.lib();
    jnr.ffi.Runtime rt = Libc.runtime();
    Pointer image = Memory.allocateDirect(rt, elfBytes.length);
    image.put(0, elfBytes, 0, elfBytes.length);
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    Pointer nameC = Memory.allocateDirect(rt, nameBytes.length + 1, true);
    nameC.put(0, nameBytes, 0, nameBytes.length);
    Pointer opts = Memory.allocateDirect(rt, OPEN_OPTS_SIZE, true);
    opts.putLong(0, OPEN_OPTS_SIZE);
    opts.putPointer(8, nameC);
    try (Libbpf.Capture log = Libbpf.capture()) {
      Pointer obj = lib.bpf_object__open_mem(image, elfBytes.length, opts);
      if (obj == null) {
        throw new BpfException(
            "open BPF object", name, null, "", Libbpf.lastErrno(), log.detail(LOG_TAIL_CHARS));
      }
      LOG.debug("opened BPF object name={} bytes={}", name, elfBytes.length);
      return new BpfObject(name, obj, image);
    }
  }

  public String name() {
    return name;
  }

  public boolean isLoaded() {
    return loaded;
  }

  Pointer checkOpen() {
    Pointer p = obj.get();
    if (p == null) {
      throw new IllegalStateException("BPF object " + name + " is closed");
    }
    return p;
  }

  private void checkNotLoaded(String op) {
    if (loaded) {
      throw new IllegalStateException(op + ": BPF object " + name + " is already loaded");
    }
  }

  /** Names of the object's programs, in ELF order. */
  public Set<String> programNames() {
    Pointer o = checkOpen();
    Libbpf.Native lib = Libbpf.lib();
    Set<String> names = new LinkedHashSet<>();
    for (Pointer p = lib.bpf_object__next_program(o, null);
        p != null && names.size() < 100_000;
        p = lib.bpf_object__next_program(o, p)) {
      names.add(lib.bpf_program__name(p));
    }
    return Collections.unmodifiableSet(names);
  }

  /**
   * Names of the object's maps as the BPF source declares them (libbpf's internal maps for globals, whose names hold
   * a '.', are left out).
   */
  public Set<String> mapNames() {
    Pointer o = checkOpen();
    Libbpf.Native lib = Libbpf.lib();
    Set<String> names = new LinkedHashSet<>();
    for (Pointer m = lib.bpf_object__next_map(o, null);
        m != null && names.size() < 100_000;
        m = lib.bpf_object__next_map(o, m)) {
      String n = lib.bpf_map__name(m);
      if (n != null && n.indexOf('.') < 0) {
        names.add(n);
      }
    }
    return Collections.unmodifiableSet(names);
  }

  /** Names of every {@code const volatile} global in the object's .rodata. */
  public Set<String> constantNames() {
    Set<String> names = new LinkedHashSet<>();
    forEachConstant((name, v) -> names.add(name));
    return Collections.unmodifiableSet(names);
  }

  /** Sets a map's max_entries before {@link #load()} (e.g. the host's sizing of a shared map). */
  public void setMaxEntries(String mapName, int maxEntries) {
    requireNonNull(mapName, "mapName");
    Pointer o = checkOpen();
    checkNotLoaded("size map " + mapName);
    Pointer m = Libbpf.lib().bpf_object__find_map_by_name(o, mapName);
    if (m == null) {
      throw new BpfException("size map", mapName, null, "object=" + name, Errno.ENOENT, "no such map");
    }
    int rc = Libbpf.lib().bpf_map__set_max_entries(m, maxEntries);
    if (rc < 0) {
      throw new BpfException("size map", mapName, null, "object=" + name + " entries=" + maxEntries, -rc, "");
    }
  }

  /**
   * Whether {@code program} is loaded with the object (libbpf's autoload, true by default). Programs the kernel
   * would refuse (a helper that kernel lockdown forbids) are switched off before {@link #load()}.
   */
  public void setAutoload(String program, boolean autoload) {
    requireNonNull(program, "program");
    Pointer o = checkOpen();
    checkNotLoaded("autoload " + program);
    Pointer p = Libbpf.lib().bpf_object__find_program_by_name(o, program);
    if (p == null) {
      throw new BpfException("autoload", program, null, "object=" + name, Errno.ENOENT,
          "no BPF program of that name (programs: " + programNames() + ")");
    }
    int rc = Libbpf.lib().bpf_program__set_autoload(p, autoload ? 1 : 0);
    if (rc < 0) {
      throw new BpfException("autoload", program, null, "object=" + name, -rc, "");
    }
  }

  /** Whether the object has a {@code const volatile} global of that name in .rodata. */
  public boolean hasConstant(String constant) {
    requireNonNull(constant, "constant");
    return findConstant(constant) != null;
  }

  /**
   * Sets a {@code const volatile} global in .rodata before {@link #load()}. The value is truncated to the
   * variable's size (1, 2, 4 or 8 bytes), little-endian.
   *
   * @throws BpfException naming the constant when the object has no such variable or it has another size
   */
  public void setConstant(String constant, long value) {
    requireNonNull(constant, "constant");
    checkOpen();
    checkNotLoaded("set constant " + constant);
    RodataVar v = findConstant(constant);
    if (v == null) {
      throw new BpfException(
          "set constant", constant, null, "object=" + name, 0,
          "no const volatile variable of that name in the object's .rodata");
    }
    if (v.offset < 0 || v.offset + (long) v.size > v.sectionSize) {
      throw new BpfException(
          "set constant", constant, null, "object=" + name, 0,
          "variable at offset " + v.offset + " size " + v.size + " lies outside .rodata of " + v.sectionSize);
    }
    switch (v.size) {
      case 1 -> v.data.putByte(v.offset, (byte) value);
      case 2 -> v.data.putShort(v.offset, (short) value);
      case 4 -> v.data.putInt(v.offset, (int) value);
      case 8 -> v.data.putLong(v.offset, value);
      default -> throw new BpfException(
          "set constant", constant, null, "object=" + name, 0,
          "unsupported variable size " + v.size + " (supported: 1, 2, 4, 8)");
    }
    LOG.debug("set constant object={} name={} value={} size={}", name, constant, value, v.size);
  }

  private record RodataVar(Pointer data, long sectionSize, int offset, int size) {}

  private RodataVar findConstant(String constant) {
    RodataVar[] found = new RodataVar[1];
    forEachConstant((n, v) -> {
      if (found[0] == null && constant.equals(n)) {
        found[0] = v;
      }
    });
    return found[0];
  }

  private void forEachConstant(java.util.function.BiConsumer<String, RodataVar> action) {
    Pointer o = checkOpen();
    Libbpf.Native lib = Libbpf.lib();
    Pointer map = lib.bpf_object__find_map_by_name(o, ".rodata");
    Pointer btf = lib.bpf_object__btf(o);
    if (map == null || btf == null) {
      return;
    }
    Pointer sizeOut = Memory.allocateDirect(Libc.runtime(), 8, true);
    Pointer data = lib.bpf_map__initial_value(map, sizeOut);
    long sectionSize = sizeOut.getLong(0);
    if (data == null) {
      return;
    }
    int sec = lib.btf__find_by_name_kind(btf, ".rodata", Libbpf.BTF_KIND_DATASEC);
    if (sec <= 0) {
      return;
    }
    Pointer t = lib.btf__type_by_id(btf, sec);
    if (t == null) {
      return;
    }
    // struct btf_type { u32 name_off; u32 info; u32 size; } followed by vlen struct btf_var_secinfo
    // { u32 type; u32 offset; u32 size; }.
    int vlen = t.getInt(4) & 0xffff;
    for (int i = 0; i < vlen; i++) {
      long at = 12 + 12L * i;
      int varType = t.getInt(at);
      Pointer var = lib.btf__type_by_id(btf, varType);
      if (var == null || ((var.getInt(4) >>> 24) & 0x1f) != Libbpf.BTF_KIND_VAR) {
        continue;
      }
      String varName = lib.btf__name_by_offset(btf, var.getInt(0));
      if (varName != null) {
        action.accept(varName, new RodataVar(data, sectionSize, t.getInt(at + 4), t.getInt(at + 8)));
      }
    }
  }

  /** Makes the object use an existing map (the shared ring buffer, say) instead of creating its own. */
  public void reuseMap(String mapName, BpfMap map) {
    requireNonNull(mapName, "mapName");
    requireNonNull(map, "map");
    Pointer o = checkOpen();
    checkNotLoaded("reuse map " + mapName);
    Libbpf.Native lib = Libbpf.lib();
    Pointer m = lib.bpf_object__find_map_by_name(o, mapName);
    if (m == null) {
      throw new BpfException("reuse map", mapName, null, "object=" + name, Errno.ENOENT, "no such map");
    }
    try (Libbpf.Capture log = Libbpf.capture()) {
      int rc = lib.bpf_map__reuse_fd(m, map.fd());
      if (rc < 0) {
        throw new BpfException(
            "reuse map", mapName, null, "object=" + name + " with=" + map.name(), -rc, log.detail(LOG_TAIL_CHARS));
      }
    }
  }

  /**
   * Loads the object's maps and programs into the kernel (bpf_object__load). A verifier rejection throws a
   * {@link BpfException} that ends with the tail of the verifier log.
   */
  public void load() {
    Pointer o = checkOpen();
    checkNotLoaded("load");
    try (Libbpf.Capture log = Libbpf.capture()) {
      int rc = Libbpf.lib().bpf_object__load(o);
      if (rc < 0) {
        throw new BpfException("load BPF object", name, null, "", -rc, log.detail(LOG_TAIL_CHARS));
      }
    }
    loaded = true;
    LOG.debug("loaded BPF object name={} programs={}", name, programNames());
  }

  private Pointer program(String program, String op, Integer pid, String context) {
    Pointer p = Libbpf.lib().bpf_object__find_program_by_name(checkOpen(), program);
    if (p == null) {
      throw new BpfException(
          op, program, pid, context, Errno.ENOENT,
          "no BPF program of that name in object " + name + " (programs: " + programNames() + ")");
    }
    if (!loaded) {
      throw new IllegalStateException(op + " " + program + ": BPF object " + name + " is not loaded");
    }
    return p;
  }

  /**
   * Attaches a uprobe program to an instruction of a binary (bpf_program__attach_uprobe_opts; never a
   * uretprobe).
   *
   * @param program the BPF program's name
   * @param pid the process to trace, or -1 for every process running the binary
   * @param binaryPath the binary as the agent sees it (a path on the host, or /proc/PID/exe)
   * @param fileOffset the instruction's offset in the file
   * @param cookie value for bpf_get_attach_cookie
   */
  public UprobeLink attachUprobe(String program, int pid, String binaryPath, long fileOffset, long cookie) {
    requireNonNull(program, "program");
    requireNonNull(binaryPath, "binaryPath");
    String context = "path=" + binaryPath + " offset=0x" + Long.toHexString(fileOffset);
    Integer pidOrNull = pid >= 0 ? pid : null;
    Pointer prog = program(program, "attach uprobe", pidOrNull, context);
    Pointer opts = Memory.allocateDirect(Libc.runtime(), UPROBE_OPTS_SIZE, true);
    byte[] bytes = uprobeOpts(cookie);
    opts.put(0, bytes, 0, bytes.length);
    try (Libbpf.Capture log = Libbpf.capture()) {
      Pointer link = Libbpf.lib().bpf_program__attach_uprobe_opts(prog, pid, binaryPath, fileOffset, opts);
      if (link == null) {
        throw new BpfException(
            "attach uprobe", program, pidOrNull, context, Libbpf.lastErrno(), log.detail(LOG_TAIL_CHARS));
      }
      UprobeLink l = new UprobeLink(program, pid, binaryPath, fileOffset, cookie, new NativeLink(link));
      LOG.debug("attached program={} {} cookie={}", program, l.target(), cookie);
      return l;
    }
  }

  /**
   * The bytes of {@code struct bpf_uprobe_opts} (libbpf 1.1, 64-bit): sz@0 = 40, ref_ctr_offset@8 = 0,
   * bpf_cookie@16, retprobe@24 = false, func_name@32 = NULL.
   */
  static byte[] uprobeOpts(long cookie) {
    ByteBuffer b = ByteBuffer.allocate(UPROBE_OPTS_SIZE).order(ByteOrder.nativeOrder());
    b.putLong(0, UPROBE_OPTS_SIZE);
    b.putLong(8, 0);
    b.putLong(16, cookie);
    b.put(24, (byte) 0);
    b.putLong(32, 0);
    return b.array();
  }

  /** Size of {@code struct bpf_test_run_opts} in libbpf 1.1 (last field batch_size). */
  static final int TEST_RUN_OPTS_SIZE = 80;

  /**
   * Runs a loaded program once with {@code BPF_PROG_TEST_RUN} and {@code ctx} as its context (for
   * {@code SEC("syscall")} programs: no attachment, no event needed), for tests and benchmarks that drive BPF code
   * directly.
   *
   * @return the program's return value
   */
  public int testRun(String program, byte[] ctx) {
    requireNonNull(program, "program");
    requireNonNull(ctx, "ctx");
    Pointer prog = program(program, "test run", null, "");
    int fd = Libbpf.lib().bpf_program__fd(prog);
    Pointer ctxIn = Memory.allocateDirect(Libc.runtime(), Math.max(1, ctx.length), true);
    ctxIn.put(0, ctx, 0, ctx.length);
    Pointer opts = Memory.allocateDirect(Libc.runtime(), TEST_RUN_OPTS_SIZE, true);
    // sz@0, ctx_in@32, ctx_size_in@48, retval@56 (out)
    opts.putLong(0, TEST_RUN_OPTS_SIZE);
    opts.putAddress(32, ctxIn.address());
    opts.putInt(48, ctx.length);
    try (Libbpf.Capture log = Libbpf.capture()) {
      int rc = Libbpf.lib().bpf_prog_test_run_opts(fd, opts);
      if (rc != 0) {
        throw new BpfException("test run", program, null, "", Libbpf.lastErrno(), log.detail(LOG_TAIL_CHARS));
      }
      return opts.getInt(56);
    } finally {
      // opts holds ctxIn's address only as a number: keep the memory alive until the kernel has read it.
      java.lang.ref.Reference.reachabilityFence(ctxIn);
      java.lang.ref.Reference.reachabilityFence(opts);
    }
  }

  /** Attaches a tracepoint program, e.g. {@code attachTracepoint("on_exec", "sched", "sched_process_exec")}. */
  public BpfLink attachTracepoint(String program, String category, String tracepoint) {
    requireNonNull(program, "program");
    requireNonNull(category, "category");
    requireNonNull(tracepoint, "tracepoint");
    String context = "tracepoint=" + category + ":" + tracepoint;
    Pointer prog = program(program, "attach tracepoint", null, context);
    String tracefsProblem = Tracefs.ensureMounted();
    try (Libbpf.Capture log = Libbpf.capture()) {
      Pointer link = Libbpf.lib().bpf_program__attach_tracepoint(prog, category, tracepoint);
      if (link == null) {
        int errno = Libbpf.lastErrno();
        String detail = log.detail(LOG_TAIL_CHARS);
        if (!tracefsProblem.isEmpty()) {
          detail = tracefsProblem + (detail.isEmpty() ? "" : "; " + detail);
        }
        throw new BpfException("attach tracepoint", program, null, context, errno, detail);
      }
      TracepointLink l = new TracepointLink(program, category, tracepoint, new NativeLink(link));
      LOG.debug("attached program={} {}", program, l.target());
      return l;
    }
  }

  /**
   * Attaches a cgroup program (sock_ops, say) to a cgroup v2 directory through a {@code bpf_link}, which leaves
   * other programs attached there alone and goes away with this process.
   *
   * @param cgroupDir a directory of the cgroup v2 hierarchy, e.g. its root
   */
  public BpfLink attachCgroup(String program, java.nio.file.Path cgroupDir) {
    requireNonNull(program, "program");
    requireNonNull(cgroupDir, "cgroupDir");
    String context = "cgroup=" + cgroupDir;
    Pointer prog = program(program, "attach cgroup program", null, context);
    int fd = Libc.lib().open(cgroupDir.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
    if (fd < 0) {
      throw new BpfException("open cgroup", program, null, context, Libc.lastErrno(), "cannot open the directory");
    }
    try (Libbpf.Capture log = Libbpf.capture()) {
      Pointer link = Libbpf.lib().bpf_program__attach_cgroup(prog, fd);
      if (link == null) {
        throw new BpfException(
            "attach cgroup program", program, null, context, Libbpf.lastErrno(), log.detail(LOG_TAIL_CHARS));
      }
      CgroupLink l = new CgroupLink(program, cgroupDir.toString(), new NativeLink(link));
      LOG.debug("attached program={} {}", program, l.target());
      return l;
    } finally {
      Libc.lib().close(fd);
    }
  }

  /**
   * Attaches a program to one of this object's socket maps with its expected attach type (an sk_msg program becomes
   * the map's msg verdict). Close the link before this object.
   */
  public BpfLink attachToMap(String program, String mapName) {
    requireNonNull(program, "program");
    requireNonNull(mapName, "mapName");
    String context = "map=" + mapName;
    Pointer prog = program(program, "attach to map", null, context);
    int type = Libbpf.lib().bpf_program__expected_attach_type(prog);
    int progFd = Libbpf.lib().bpf_program__fd(prog);
    int mapFd = map(mapName).fd();
    int rc = Libbpf.lib().bpf_prog_attach(progFd, mapFd, type, 0);
    if (rc != 0) {
      throw new BpfException("attach to map", program, null, context + " attach_type=" + type,
          rc < 0 ? -rc : Libbpf.lastErrno(), "bpf_prog_attach refused");
    }
    SockMapLink l = new SockMapLink(program, mapName, progFd, mapFd, type);
    LOG.debug("attached program={} {}", program, l.target());
    return l;
  }

  /**
   * One of the object's maps, valid while the object is open. Its fd exists after {@link #load()} (or after
   * {@link #reuseMap}).
   */
  public BpfMap map(String mapName) {
    requireNonNull(mapName, "mapName");
    Pointer o = checkOpen();
    BpfMap m = maps.get(mapName);
    if (m != null) {
      return m;
    }
    Pointer handle = Libbpf.lib().bpf_object__find_map_by_name(o, mapName);
    if (handle == null) {
      throw new BpfException("find map", mapName, null, "object=" + name, Errno.ENOENT, "no such map");
    }
    m = BpfMap.ofObject(mapName, this, handle);
    maps.put(mapName, m);
    return m;
  }

  /** Closes the object (bpf_object__close): its programs and own maps go away. Idempotent. */
  @Override
  public void close() {
    Pointer p = obj.getAndSet(null);
    if (p != null) {
      Libbpf.lib().bpf_object__close(p);
      LOG.debug("closed BPF object name={}", name);
    }
  }

  @Override
  public String toString() {
    return "BpfObject{" + name + (loaded ? ", loaded" : "") + (obj.get() == null ? ", closed" : "") + "}";
  }

  // Referenced so the native ELF copy stays reachable as long as this object.
  @SuppressWarnings("unused")
  private Pointer elfImage() {
    return elfImage;
  }
}
