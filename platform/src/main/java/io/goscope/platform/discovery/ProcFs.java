package io.goscope.platform.discovery;

import static java.util.Objects.requireNonNull;

import io.goscope.api.ProcessInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads processes from a {@code /proc} tree: the host's ({@code /host/proc} when the agent runs in a container), the
 * agent's own {@code /proc}, or a fake tree in tests.
 *
 * <p>Every read tolerates the process vanishing: a process that exits between listing and reading gives
 * {@link Optional#empty()}, never an exception. Other failures (permission denied, I/O errors) raise
 * {@link ProcFsException} naming the pid and the file. Reads are bounded ({@link #MAX_CMDLINE_BYTES},
 * {@link #MAX_ENVIRON_BYTES}, {@link #MAX_SMALL_FILE_BYTES}). Thread-safe and stateless.
 */
public final class ProcFs {
  /** The variable naming the host's proc mount inside the agent's container. */
  public static final String HOST_PROC_ENV = "HOST_PROC";
  /** Where the host's /proc is mounted by default (the DaemonSet's hostPath). */
  public static final Path DEFAULT_HOST_PROC = Path.of("/host/proc");
  /** At most this much of {@code environ} is read; a truncated last entry is dropped. */
  public static final int MAX_ENVIRON_BYTES = 128 * 1024;
  /** At most this much of {@code cmdline} is read. */
  public static final int MAX_CMDLINE_BYTES = 128 * 1024;
  /** Bound for {@code status}, {@code stat} and {@code cgroup}. */
  public static final int MAX_SMALL_FILE_BYTES = 64 * 1024;

  private static final Logger log = LoggerFactory.getLogger(ProcFs.class);
  /** Reads of a process that keeps exec'ing before {@link #snapshot(int)} gives up on it. */
  static final int SNAPSHOT_ATTEMPTS = 3;
  /** Index of stat field 22 (starttime) among the fields after the comm's closing parenthesis (field 3 first). */
  private static final int STARTTIME_INDEX = 22 - 3;

  private final Path root;

  public ProcFs(Path root) {
    this.root = requireNonNull(root, "root");
  }

  /**
   * The proc root to use: {@code $HOST_PROC} (default {@code /host/proc}) when that directory exists, else
   * {@code /proc}.
   */
  public static Path defaultRoot(Map<String, String> env) {
    requireNonNull(env, "env");
    String configured = env.get(HOST_PROC_ENV);
    Path candidate = configured == null || configured.isBlank() ? DEFAULT_HOST_PROC : Path.of(configured);
    if (Files.isDirectory(candidate)) {
      return candidate;
    }
    if (configured != null && !configured.isBlank()) {
      log.warn("proc root does not exist, using /proc path={} env={}", candidate, HOST_PROC_ENV);
    }
    return Path.of("/proc");
  }

  /** The proc root this instance reads. */
  public Path root() {
    return root;
  }

  /** The directory of one process, {@code <root>/<pid>}. */
  public Path processDir(int pid) {
    return root.resolve(Integer.toString(pid));
  }

  /**
   * The pids of all processes (thread-group leaders: only the numeric directories of the root are listed, threads
   * live under {@code <pid>/task}), ascending.
   */
  public List<Integer> listPids() {
    List<Integer> pids = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (isPid(name)) {
          pids.add(Integer.parseInt(name));
        }
      }
    } catch (IOException e) {
      throw new ProcFsException("list processes " + root + ": " + describe(e), e);
    }
    Collections.sort(pids);
    return pids;
  }

  /** Parsed {@code status} lines Goscope uses. */
  public record Status(int tgid, List<Integer> namespacePids) {
    public Status {
      namespacePids = List.copyOf(namespacePids);
    }
  }

  /**
   * {@code Tgid} and {@code NSpid} from {@code status}. On kernels without NSpid (before 4.1) the list holds only
   * the pid.
   */
  public Optional<Status> status(int pid) {
    return readText(pid, "status", MAX_SMALL_FILE_BYTES).map(text -> parseStatus(pid, text));
  }

  static Status parseStatus(int pid, String text) {
    int tgid = pid;
    List<Integer> nspids = List.of(pid);
    for (String line : text.split("\n")) {
      if (line.startsWith("Tgid:")) {
        tgid = parseIntOr(line.substring(5).trim(), pid);
      } else if (line.startsWith("NSpid:")) {
        List<Integer> parsed = new ArrayList<>();
        for (String field : line.substring(6).trim().split("\\s+")) {
          if (isPid(field)) {
            parsed.add(Integer.parseInt(field));
          }
        }
        if (!parsed.isEmpty()) {
          nspids = parsed;
        }
      }
    }
    return new Status(tgid, nspids);
  }

  /** argv, from the NUL-separated {@code cmdline}. Empty list for kernel threads and zombies. */
  public Optional<List<String>> cmdline(int pid) {
    return readBytes(pid, "cmdline", MAX_CMDLINE_BYTES).map(bytes -> splitNul(bytes, false));
  }

  /** The initial environment from {@code environ}, bounded to {@link #MAX_ENVIRON_BYTES}; first entry wins. */
  public Optional<Map<String, String>> environ(int pid) {
    return readBytes(pid, "environ", MAX_ENVIRON_BYTES).map(bytes -> {
      List<String> entries = splitNul(bytes, bytes.length >= MAX_ENVIRON_BYTES);
      Map<String, String> env = new LinkedHashMap<>();
      for (String entry : entries) {
        int eq = entry.indexOf('=');
        if (eq > 0) {
          env.putIfAbsent(entry.substring(0, eq), entry.substring(eq + 1));
        }
      }
      return env;
    });
  }

  /**
   * The target of the {@code exe} link: the executable's path in the process's mount namespace, possibly ending in
   * {@code " (deleted)"}. Empty for kernel threads, zombies and vanished processes.
   */
  public Optional<String> exeTarget(int pid) {
    Path link = processDir(pid).resolve("exe");
    try {
      return Optional.of(Files.readSymbolicLink(link).toString());
    } catch (IOException e) {
      return vanishedOrThrow(pid, "readlink", link, e);
    }
  }

  /** Device, inode and mtime of the executable, read through {@code <pid>/exe} (follows the link). */
  public Optional<ExecutableKey> executableKey(int pid) {
    Path link = processDir(pid).resolve("exe");
    try {
      Map<String, Object> attrs = Files.readAttributes(link, "unix:dev,ino,lastModifiedTime");
      FileTime mtime = (FileTime) attrs.get("lastModifiedTime");
      return Optional.of(new ExecutableKey(
          ((Number) attrs.get("dev")).longValue(),
          ((Number) attrs.get("ino")).longValue(),
          mtime.to(TimeUnit.NANOSECONDS)));
    } catch (IOException e) {
      return vanishedOrThrow(pid, "stat", link, e);
    }
  }

  /**
   * Where the process's executable is mapped: the start of its mapping at file offset 0 in {@code maps}, which is
   * the load bias of a position-independent Go binary (linked at address 0). Empty when unreadable.
   */
  public Optional<Long> loadBias(int pid) {
    Optional<String> exe = exeTarget(pid);
    if (exe.isEmpty()) {
      return Optional.empty();
    }
    String path = exe.get();
    return readText(pid, "maps", 4 << 20).flatMap(text -> parseLoadBias(text, path));
  }

  static Optional<Long> parseLoadBias(String maps, String exePath) {
    for (String line : maps.split("\n")) {
      // 55d0c8a00000-55d0c8c4f000 r--p 00000000 fd:01 1234  /app/server
      String[] f = line.trim().split("\\s+", 6);
      if (f.length == 6 && f[5].equals(exePath) && f[2].equals("00000000")) {
        int dash = f[0].indexOf('-');
        try {
          return Optional.of(Long.parseUnsignedLong(f[0].substring(0, dash), 16));
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }

  /** Start time in clock ticks after boot, field 22 of {@code stat}. */
  public Optional<Long> startTime(int pid) {
    return readText(pid, "stat", MAX_SMALL_FILE_BYTES).map(text -> parseStartTime(pid, text));
  }

  /**
   * Whether the process is still running: its {@code stat} exists and its state is neither zombie nor dead. Used
   * to tell "the process exited during attach" from a real failure. Never throws.
   */
  public boolean isAlive(int pid) {
    try {
      Optional<String> stat = readText(pid, "stat", MAX_SMALL_FILE_BYTES);
      if (stat.isEmpty()) {
        return false;
      }
      String text = stat.get();
      int close = text.lastIndexOf(')');
      if (close < 0 || close + 2 >= text.length()) {
        return false;
      }
      char state = text.charAt(close + 2);
      return state != 'Z' && state != 'X' && state != 'x';
    } catch (RuntimeException e) {
      return false;
    }
  }

  static long parseStartTime(int pid, String stat) {
    // comm (field 2) may contain spaces and ')': fields after it start after the LAST ')'.
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      throw new ProcFsException("parse /proc/" + pid + "/stat: no ')' after comm", null);
    }
    String[] fields = stat.substring(close + 1).trim().split("\\s+");
    if (fields.length <= STARTTIME_INDEX) {
      throw new ProcFsException(
          "parse /proc/" + pid + "/stat: " + (fields.length + 2) + " fields, need 22", null);
    }
    try {
      return Long.parseLong(fields[STARTTIME_INDEX]);
    } catch (NumberFormatException e) {
      throw new ProcFsException("parse /proc/" + pid + "/stat: bad starttime '" + fields[STARTTIME_INDEX] + "'", e);
    }
  }

  /** The raw {@code cgroup} file. */
  public Optional<String> cgroup(int pid) {
    return readText(pid, "cgroup", MAX_SMALL_FILE_BYTES);
  }

  /**
   * The process as plugins see it. Empty when the process vanished, is a thread (pid is not its tgid), or has no
   * executable (kernel threads, zombies).
   */
  public Optional<ProcessInfo> process(int pid) {
    Optional<Status> status = status(pid);
    if (status.isEmpty() || status.get().tgid() != pid) {
      return Optional.empty();
    }
    Optional<Long> start = startTime(pid);
    Optional<String> exe = exeTarget(pid);
    Optional<List<String>> cmdline = cmdline(pid);
    Optional<Map<String, String>> environ = environ(pid);
    Optional<String> cgroup = cgroup(pid);
    if (start.isEmpty() || exe.isEmpty() || cmdline.isEmpty() || environ.isEmpty() || cgroup.isEmpty()) {
      return Optional.empty();
    }
    CgroupPath container = CgroupPath.parseFile(cgroup.get());
    return Optional.of(new ProcessInfo(pid, status.get().namespacePids(), exe.get(), cmdline.get(), environ.get(),
        start.get(), container.containerId(), container.podUid()));
  }

  /**
   * The process with its executable's identity and host-reachable paths. Empty under the same conditions as
   * {@link #process(int)}, and when the pid was reused by another process while reading (start time changed).
   */
  public Optional<ProcessSnapshot> snapshot(int pid) {
    return snapshot(pid, () -> { });
  }

  /**
   * As {@link #snapshot(int)}; {@code betweenReads} runs after the process's files are read and before its
   * executable is identified again (tests put an exec there).
   *
   * <p>The executable is identified before and after the other files are read. A process that exec'd meanwhile (a
   * launcher such as Java's jspawnhelper, or runc, becoming the application) would otherwise give the path and command
   * line of one program and the inode of the next: it is read again, up to {@value #SNAPSHOT_ATTEMPTS} times, and
   * is empty if it keeps changing (its exec event brings it back).
   */
  Optional<ProcessSnapshot> snapshot(int pid, Runnable betweenReads) {
    for (int attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
      Optional<ExecutableKey> before = executableKey(pid);
      if (before.isEmpty()) {
        return Optional.empty();
      }
      Optional<ProcessInfo> info = process(pid);
      if (info.isEmpty()) {
        return Optional.empty();
      }
      betweenReads.run();
      Optional<ExecutableKey> key = executableKey(pid);
      Optional<Long> startAgain = startTime(pid);
      if (key.isEmpty() || startAgain.isEmpty() || startAgain.get() != info.get().startTimeTicks()) {
        return Optional.empty();
      }
      if (key.get().equals(before.get())) {
        return Optional.of(snapshotOf(pid, info.get(), key.get()));
      }
      log.debug("process exec'd while read pid={} attempt={}", pid, attempt + 1);
    }
    return Optional.empty();
  }

  private ProcessSnapshot snapshotOf(int pid, ProcessInfo info, ExecutableKey key) {
    String path = info.executablePath();
    boolean deleted = !path.equals(info.executable());
    Path dir = processDir(pid);
    Path viaRoot = dir.resolve("root").resolve(path.startsWith("/") ? path.substring(1) : path);
    return new ProcessSnapshot(info, key, viaRoot, dir.resolve("exe"), deleted);
  }

  private Optional<String> readText(int pid, String file, int limit) {
    return readBytes(pid, file, limit).map(bytes -> new String(bytes, StandardCharsets.UTF_8));
  }

  private Optional<byte[]> readBytes(int pid, String file, int limit) {
    Path path = processDir(pid).resolve(file);
    try (InputStream in = Files.newInputStream(path)) {
      return Optional.of(in.readNBytes(limit));
    } catch (IOException e) {
      return vanishedOrThrow(pid, "read", path, e);
    }
  }

  private <T> Optional<T> vanishedOrThrow(int pid, String operation, Path path, IOException e) {
    if (e instanceof NoSuchFileException
        || String.valueOf(e.getMessage()).contains("No such process")
        || !Files.exists(processDir(pid))) {
      log.debug("process vanished pid={} file={} op={}", pid, path, operation);
      return Optional.empty();
    }
    throw new ProcFsException(operation + " " + path + " pid=" + pid + ": " + describe(e), e);
  }

  private static String describe(IOException e) {
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    return e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  private static List<String> splitNul(byte[] bytes, boolean dropTruncatedLast) {
    List<String> parts = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        parts.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    if (start < bytes.length && !dropTruncatedLast) {
      parts.add(new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8));
    }
    return parts;
  }

  private static boolean isPid(String s) {
    if (s.isEmpty() || s.length() > 10) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return Long.parseLong(s) <= Integer.MAX_VALUE;
  }

  private static int parseIntOr(String s, int fallback) {
    return isPid(s) ? Integer.parseInt(s) : fallback;
  }
}
