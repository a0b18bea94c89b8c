package io.goscope.platform.sys;

import java.util.ArrayDeque;
import java.util.Deque;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.Delegate;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.u_int64_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libbpf 1.1 ({@code libbpf.so.1}) through jnr-ffi. Loaded once, on first use; libbpf's print callback is routed to
 * SLF4J (logger {@code io.goscope.platform.sys.libbpf}). Messages printed while an operation runs inside a
 * {@link Capture} are kept at DEBUG and collected, so the operation can put them (the verifier log's tail, say)
 * into its {@link BpfException}; elsewhere libbpf warnings that report an error are logged at WARN, other
 * warnings at DEBUG.
 */
final class Libbpf {
  static final String LIBRARY = "libbpf.so.1";

  static final int LIBBPF_WARN = 0;
  static final int LIBBPF_INFO = 1;

  static final int BPF_MAP_TYPE_PERCPU_ARRAY = 6;
  static final int BPF_MAP_TYPE_PERCPU_HASH = 5;
  static final int BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
  static final int BPF_MAP_TYPE_RINGBUF = 27;
  static final int BPF_PROG_TYPE_KPROBE = 2;
  static final int BPF_PROG_TYPE_SOCK_OPS = 13;
  static final int BPF_PROG_TYPE_SK_MSG = 16;
  static final int BPF_MAP_TYPE_SOCKHASH = 18;
  static final int BPF_FUNC_PROBE_WRITE_USER = 36;
  static final int BTF_KIND_VAR = 14;
  static final int BTF_KIND_DATASEC = 15;

  private static final Logger LIBBPF_LOG = LoggerFactory.getLogger("io.goscope.platform.sys.libbpf");
  private static final int CAPTURE_LIMIT = 64 * 1024;
  private static final ThreadLocal<Capture> CAPTURE = new ThreadLocal<>();

  /** jnr-ffi binding; public only so the generated implementation can see it (the enclosing class is not). */
  public interface Native {
    Pointer bpf_object__open_mem(Pointer objBuf, @size_t long objBufSize, Pointer opts);

    int bpf_object__load(Pointer obj);

    void bpf_object__close(Pointer obj);

    Pointer bpf_object__find_program_by_name(Pointer obj, String name);

    Pointer bpf_object__find_map_by_name(Pointer obj, String name);

    Pointer bpf_object__next_program(Pointer obj, Pointer prev);

    Pointer bpf_object__next_map(Pointer obj, Pointer prev);

    String bpf_map__name(Pointer map);

    int bpf_map__set_max_entries(Pointer map, int maxEntries);

    /** {@code bool autoload} passed as an int (0/1): the C ABI reads the low byte of the register. */
    int bpf_program__set_autoload(Pointer prog, int autoload);

    int libbpf_probe_bpf_helper(int progType, int helperId, Pointer opts);

    Pointer bpf_object__btf(Pointer obj);

    String bpf_program__name(Pointer prog);

    int bpf_program__fd(Pointer prog);

    int bpf_prog_test_run_opts(int progFd, Pointer opts);

    Pointer bpf_program__attach_uprobe_opts(
        Pointer prog, int pid, String binaryPath, @size_t long funcOffset, Pointer opts);

    Pointer bpf_program__attach_tracepoint(Pointer prog, String category, String name);

    Pointer bpf_program__attach_cgroup(Pointer prog, int cgroupFd);


    int bpf_program__expected_attach_type(Pointer prog);

    int bpf_prog_attach(int progFd, int attachableFd, int type, int flags);

    int bpf_prog_detach2(int progFd, int attachableFd, int type);

    int libbpf_probe_bpf_prog_type(int progType, Pointer opts);

    int bpf_link__destroy(Pointer link);

    int bpf_map__fd(Pointer map);

    int bpf_map__reuse_fd(Pointer map, int fd);

    Pointer bpf_map__initial_value(Pointer map, Pointer psize);

    int bpf_map__type(Pointer map);

    int bpf_map__key_size(Pointer map);

    int bpf_map__value_size(Pointer map);

    int bpf_map__max_entries(Pointer map);

    int btf__find_by_name_kind(Pointer btf, String name, int kind);

    Pointer btf__type_by_id(Pointer btf, int id);

    String btf__name_by_offset(Pointer btf, int offset);

    int bpf_map_create(
        int mapType, String name, int keySize, int valueSize, int maxEntries, Pointer opts);

    int bpf_map_lookup_elem(int fd, @In byte[] key, @Out byte[] value);

    int bpf_map_update_elem(int fd, @In byte[] key, @In byte[] value, @u_int64_t long flags);

    int bpf_map_delete_elem(int fd, @In byte[] key);

    int bpf_map_get_next_key(int fd, @In byte[] key, @Out byte[] nextKey);

    int libbpf_num_possible_cpus();

    int libbpf_probe_bpf_map_type(int mapType, Pointer opts);

    Pointer libbpf_set_print(PrintFn fn);
  }

  /** libbpf_print_fn_t: {@code int (*)(enum libbpf_print_level, const char *fmt, va_list args)}. */
  public interface PrintFn {
    @Delegate
    int print(int level, Pointer format, Pointer args);
  }

  private static final class Holder {
    static final Native LIB;
    static final Throwable FAILURE;
    // libbpf keeps only the raw function pointer: this strong reference keeps the callback alive.
    static final PrintFn PRINT = Libbpf::print;

    static {
      Native lib = null;
      Throwable failure = null;
      try {
        lib = LibraryLoader.create(Native.class).failImmediately().load(LIBRARY);
        lib.libbpf_set_print(PRINT);
      } catch (Throwable t) {
        failure = t;
      }
      LIB = lib;
      FAILURE = failure;
    }
  }

  private Libbpf() {}

  /** The loaded library; throws {@link UnsupportedFeatureException} when libbpf.so.1 cannot be loaded. */
  static Native lib() {
    if (Holder.LIB == null) {
      throw new UnsupportedFeatureException(
          LIBRARY, "cannot load " + LIBRARY + " (install libbpf1 >= 1.1): " + Holder.FAILURE);
    }
    return Holder.LIB;
  }

  /** Why libbpf.so.1 could not be loaded, or null when it loaded. */
  static String loadFailure() {
    return Holder.LIB == null ? String.valueOf(Holder.FAILURE) : null;
  }

  /** errno left by the last libbpf call on this thread. */
  static int lastErrno() {
    return Libc.lastErrno();
  }

  /** Starts collecting libbpf's messages on this thread until the returned capture is closed. */
  static Capture capture() {
    Capture c = new Capture(CAPTURE.get());
    CAPTURE.set(c);
    return c;
  }

  /** libbpf messages printed on one thread during one operation, bounded to the last 64 KiB. */
  static final class Capture implements AutoCloseable {
    private final Capture outer;
    private final Deque<String> lines = new ArrayDeque<>();
    private int chars;

    private Capture(Capture outer) {
      this.outer = outer;
    }

    void add(String message) {
      lines.addLast(message);
      chars += message.length();
      while (chars > CAPTURE_LIMIT && lines.size() > 1) {
        chars -= lines.removeFirst().length();
      }
    }

    /** The last {@code maxChars} characters of what libbpf printed, or empty. */
    String tail(int maxChars) {
      String all = String.join("", lines);
      return all.length() <= maxChars ? all : "..." + all.substring(all.length() - maxChars);
    }

    /** The tail prefixed for an exception message, or empty when libbpf said nothing. */
    String detail(int maxChars) {
      String t = tail(maxChars).strip();
      return t.isEmpty() ? "" : "libbpf said:\n" + t;
    }

    @Override
    public void close() {
      if (outer == null) {
        CAPTURE.remove();
      } else {
        CAPTURE.set(outer);
      }
    }
  }

  private static int print(int level, Pointer format, Pointer args) {
    try {
      String message = format(format, args);
      Capture capture = CAPTURE.get();
      if (capture != null) {
        capture.add(message);
        LIBBPF_LOG.debug("{}", message.stripTrailing());
      } else if (level == LIBBPF_WARN && isError(message)) {
        LIBBPF_LOG.warn("{}", message.stripTrailing());
      } else if (level <= LIBBPF_INFO) {
        LIBBPF_LOG.debug("{}", message.stripTrailing());
      } else {
        LIBBPF_LOG.trace("{}", message.stripTrailing());
      }
    } catch (Throwable t) {
      // Never let an exception unwind into libbpf's C frames.
      LIBBPF_LOG.debug("cannot format libbpf message", t);
    }
    return 0;
  }

  static boolean isError(String message) {
    if (message.contains("PROG LOAD LOG")) {
      return false;
    }
    String m = message.toLowerCase(java.util.Locale.ROOT);
    return m.contains("fail") || m.contains("error") || m.contains("invalid");
  }

  /** Formats a printf format and va_list with vsnprintf, sizing the buffer from a va_copy'd first pass. */
  private static String format(Pointer format, Pointer args) {
    jnr.ffi.Runtime rt = Libc.runtime();
    Libc.Native libc = Libc.lib();
    // va_copy: va_list is a 24-byte struct (x86-64, passed as pointer) or 32-byte struct (arm64, passed by
    // reference because it is larger than 16 bytes); copying its bytes is what va_copy does on both.
    Pointer copy = Memory.allocateDirect(rt, 32);
    byte[] raw = new byte[32];
    args.get(0, raw, 0, 32);
    copy.put(0, raw, 0, 32);
    Pointer small = Memory.allocateDirect(rt, 1024);
    int n = libc.vsnprintf(small, 1024, format, copy);
    if (n < 0) {
      return "";
    }
    if (n < 1024) {
      return small.getString(0, n, java.nio.charset.StandardCharsets.UTF_8);
    }
    int size = Math.min(n + 1, 16 * 1024 * 1024);
    Pointer big = Memory.allocateDirect(rt, size);
    libc.vsnprintf(big, size, format, args);
    return big.getString(0, size - 1, java.nio.charset.StandardCharsets.UTF_8);
  }
}
