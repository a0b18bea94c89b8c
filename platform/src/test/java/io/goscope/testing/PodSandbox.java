package io.goscope.testing;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.testing.PodCgroup.QosClass;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One container of a Kubernetes pod, stood up on this machine the way a node really looks, without a kubelet:
 *
 * <ul>
 *   <li>an overlayfs root ({@code lowerdir=<image layer>:<base layer>}, a fresh upper and work dir) mounted at
 *       {@code merged/}, the base layer holding a minimal {@code /etc}, {@code /tmp} and a {@code /proc} mount point;
 *   <li>the app in its own mount, PID and UTS namespace (hostname = pod name): {@code unshare -m -p -u -f
 *       --kill-child --mount-proc=merged/proc sh -c 'hostname <pod>; exec chroot merged argv...'}, so
 *       {@code /proc/<hostpid>/exe} resolves inside the overlay and {@code NSpid} shows
 *       two pids; the network namespace is the host's (the app listens on a loopback port);
 *   <li>by default ({@link Builder#rootEntry}), the root entered the way container runtimes do it, with the overlay
 *       moved over {@code /} of the pod's mount namespace, so that the host reads {@code /proc/<hostpid>/exe} as the
 *       path inside the container, and optionally ({@link Builder#hostPath}) host directories bind-mounted into the
 *       container at their own path, as {@code hostPath} volumes;
 *   <li>a cgroup shaped like the kubelet's systemd driver with containerd
 *       ({@code /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/
 *       cri-containerd-<id>.scope}) in the v2 hierarchy and the v1 {@code pids}/{@code cpu} hierarchies, joined by a
 *       wrapper shell before it execs {@code unshare}, so the app is in the cgroup before its first instruction.
 * </ul>
 *
 * <p>{@link #close()} kills every process in the cgroup, unmounts, removes the cgroups and deletes the directories.
 * Sandboxes left by a JVM that died are reaped by the next {@link #start}. Needs root; call {@link #assumeSupported()}
 * first (skips, or fails under {@code CI=true}).
 *
 * <pre>{@code
 * Path image = PodSandbox.imageLayer(goBinary, tmp.resolve("image"));     // image/app/<name>
 * try (PodSandbox pod = PodSandbox.builder()
 *     .podUid(PodSandbox.randomPodUid()).containerId(PodSandbox.randomContainerId())
 *     .qosClass(QosClass.BEST_EFFORT).imageLayer(image)
 *     .command("/app/" + goBinary.getFileName(), "-addr", PodSandbox.ADDRESS)
 *     .start()) {
 *   // pod.hostPid(), pod.port(), pod.cgroup().relativePath()
 * }
 * }</pre>
 */
public final class PodSandbox implements AutoCloseable {
  /** Placeholder in the command replaced by {@code 127.0.0.1:<port>}; when present, start waits for the port. */
  public static final String ADDRESS = "{address}";
  /** Placeholder in the command replaced by the port number; when present, start waits for the port. */
  public static final String PORT = "{port}";

  /** How the app enters the container's root. */
  public enum RootEntry {
    /**
     * {@code chroot <rootfs>} from the pod's mount namespace, whose root is still the host's: the host reads
     * {@code /proc/<hostpid>/exe} as {@code <rootfs>/app/<name>}, and {@code /proc/<hostpid>/root/<that path>}
     * does not exist. Simple, but no container runtime leaves the host's tree under a container.
     */
    CHROOT,
    /**
     * What runc does without {@code pivot_root} ({@code mount --move <rootfs> /}, then {@code chroot .}); the view
     * is the same as after {@code pivot_root}: the host reads {@code /proc/<hostpid>/exe} as the path inside the
     * container ({@code /app/<name>}), and {@code /proc/<hostpid>/root/app/<name>} is the same inode, as on a real
     * node.
     */
    MOVE_MOUNT
  }

  private static final String DIR_PREFIX = "goscope-pod-";
  private static final String OWNER_FILE = "owner";
  private static final String CGROUPS_FILE = "cgroups";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
  private static final Set<PodSandbox> OPEN = ConcurrentHashMap.newKeySet();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static volatile boolean reaped;

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (PodSandbox s : List.copyOf(OPEN)) {
        s.close();
      }
    }, "pod-sandbox-cleanup"));
  }

  private final Builder spec;
  private final Path dir;
  private final Path merged;
  private final PodCgroup cgroup;
  private final int port;
  private final List<String> argv;
  private Process launcher;
  private long hostPid;
  private boolean closed;

  private PodSandbox(Builder spec, Path dir, PodCgroup cgroup, int port) {
    this.spec = spec;
    this.dir = dir;
    this.merged = dir.resolve("merged");
    this.cgroup = cgroup;
    this.port = port;
    List<String> a = new ArrayList<>();
    for (String s : spec.command) {
      a.add(s.replace(ADDRESS, "127.0.0.1:" + port).replace(PORT, Integer.toString(port)));
    }
    this.argv = List.copyOf(a);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Skips the calling test (fails it under {@code CI=true}) unless sandboxes can be built here: root, overlayfs,
   * a cgroup v2 hierarchy, {@code unshare}, {@code chroot}, {@code mount}.
   */
  public static void assumeSupported() {
    Optional<String> why = unsupportedReason();
    why.ifPresent(r -> BpfAssumptions.skipOrFail("pod sandbox unavailable: " + r));
  }

  /** Why sandboxes cannot be built on this machine, or empty. */
  public static Optional<String> unsupportedReason() {
    String uid = System.getProperty("user.name");
    try {
      Object u = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      if (((Number) u).intValue() != 0) {
        return Optional.of("needs root; uid=" + u + " user=" + uid);
      }
      if (!Files.readString(Path.of("/proc/filesystems")).contains("\toverlay\n")) {
        return Optional.of("overlayfs not in /proc/filesystems");
      }
    } catch (IOException | UnsupportedOperationException e) {
      return Optional.of("cannot read /proc: " + e.getMessage());
    }
    try {
      PodCgroup.v2Root();
    } catch (RuntimeException e) {
      return Optional.of(e.getMessage());
    }
    for (String tool : List.of("unshare", "chroot", "mount", "umount")) {
      if (Stream.of("/usr/bin", "/bin", "/usr/sbin", "/sbin").noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
        return Optional.of("tool not found: " + tool);
      }
    }
    return Optional.empty();
  }

  /** A random pod UID (lower-case dashed UUID). */
  public static String randomPodUid() {
    return UUID.randomUUID().toString();
  }

  /** A random 64-hex container id. */
  public static String randomContainerId() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /**
   * Makes an image layer directory {@code layerDir} holding {@code binary} as {@code /app/<file name>} (copied).
   * Layers are read-only lower dirs and may be shared by many sandboxes, as one image is shared by pods on a node.
   */
  public static Path imageLayer(Path binary, Path layerDir) {
    try {
      Path app = Files.createDirectories(layerDir.resolve("app"));
      Path target = app.resolve(binary.getFileName().toString());
      Files.copy(binary, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      return layerDir;
    } catch (IOException e) {
      throw new UncheckedIOException("make image layer " + layerDir + " with " + binary, e);
    }
  }

  /** The app's pid in the host's PID namespace (it is pid 1 in its own). Changes on {@link #restart()}. */
  public synchronized long hostPid() {
    return hostPid;
  }

  /** The loopback port reserved for the app ({@link #ADDRESS}, {@link #PORT}). */
  public int port() {
    return port;
  }

  public String podUid() {
    return spec.podUid;
  }

  public String containerId() {
    return spec.containerId;
  }

  public QosClass qosClass() {
    return spec.qos;
  }

  public PodCgroup cgroup() {
    return cgroup;
  }

  /** The overlay mount point, the container's root as the host sees it. */
  public Path rootfs() {
    return merged;
  }

  /** The app's command after placeholder substitution. */
  public List<String> argv() {
    return argv;
  }

  /** The app's stdout and stderr so far (all runs). */
  public String log() {
    try {
      return Files.readString(dir.resolve("app.log"));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Whether the app process is alive. */
  public synchronized boolean isAlive() {
    return hostPid > 0 && ProcessHandle.of(hostPid).map(ProcessHandle::isAlive).orElse(false)
        && !isZombie(hostPid);
  }

  /**
   * Kills the app (SIGKILL, as a crash or an OOM kill would) and starts the same command again in the same
   * container: same cgroup, same overlay, a new host pid.
   */
  public synchronized void restart() throws InterruptedException {
    requireOpen();
    stopApp();
    launch();
  }

  /** Kills the app (SIGKILL) and waits until it is gone; the container stays until {@link #close()}. */
  public synchronized void kill() throws InterruptedException {
    requireOpen();
    stopApp();
  }

  /** Kills everything, unmounts, removes the cgroups and the directories. Idempotent; never throws. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<String> problems = new ArrayList<>();
    try {
      stopApp();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      problems.add(e.getMessage());
    }
    teardown(dir, cgroup.directories(), problems);
    OPEN.remove(this);
    if (!problems.isEmpty()) {
      System.err.println("pod sandbox cleanup incomplete container=" + spec.containerId + ": " + problems);
    }
  }

  @Override
  public String toString() {
    return "PodSandbox{pod=" + spec.podUid + " container=" + spec.containerId.substring(0, 12) + " hostPid="
        + hostPid + " port=" + port + "}";
  }

  /** The pod's hostname: its name when given, else the short container id. */
  public String hostname() {
    return spec.podName != null ? spec.podName : spec.containerId.substring(0, 12);
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("pod sandbox closed: " + this);
    }
  }

  private void launch() throws InterruptedException {
    StringBuilder script = new StringBuilder();
    for (Path procs : cgroup.procsFiles()) {
      script.append("echo $$ > '").append(procs).append("' && ");
    }
    script.append("exec \"$@\"");
    // In the pod's mount namespace (propagation private, so nothing below reaches the host's): host paths, then root.
    StringBuilder enter = new StringBuilder("hostname \"$0\"");
    for (Path d : spec.hostPaths) {
      String at = quote(merged + d.toString());
      enter.append(" && mkdir -p ").append(at).append(" && mount --bind ").append(quote(d.toString())).append(' ')
          .append(at);
    }
    enter.append(switch (spec.rootEntry) {
      case CHROOT -> " && exec chroot " + quote(merged.toString()) + " \"$@\"";
      case MOVE_MOUNT -> " && cd " + quote(merged.toString()) + " && mount --move . / && exec chroot . \"$@\"";
    });
    List<String> cmd = new ArrayList<>(List.of("sh", "-c", script.toString(), "sh",
        "unshare", "--mount", "--pid", "--uts", "--fork", "--kill-child", "--mount-proc=" + merged.resolve("proc"),
        "sh", "-c", enter.toString(), hostname()));
    cmd.addAll(argv);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("app.log").toFile()));
    pb.environment().clear();
    pb.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    pb.environment().put("HOME", "/");
    pb.environment().put("HOSTNAME", hostname());
    pb.environment().putAll(spec.env);
    try {
      launcher = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("start pod sandbox app " + argv, e);
    }
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    hostPid = 0;
    while (hostPid == 0) {
      hostPid = findApp();
      if (hostPid == 0) {
        if (!launcher.isAlive()) {
          throw new IllegalStateException("pod sandbox app exited with " + launcher.exitValue() + " before it ran: "
              + argv + "\n" + log());
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("pod sandbox app not found in cgroup " + cgroup.relativePath()
              + " after " + START_TIMEOUT + ": " + argv + "\n" + log());
        }
        Thread.sleep(10);
      }
    }
    if (spec.command.stream().anyMatch(s -> s.contains(ADDRESS) || s.contains(PORT))) {
      awaitListening(deadline);
    }
  }

  /** The process in the cgroup that runs in a nested PID namespace with the app's binary as its executable. */
  private long findApp() {
    Path binary = spec.binaryOnHost(merged);
    for (long pid : cgroup.pids()) {
      try {
        // same file by device and inode: the link text differs with the root entry and is not the host's path
        if (Files.isSameFile(Path.of("/proc", Long.toString(pid), "exe"), binary) && nsPids(pid).size() == 2) {
          return pid;
        }
      } catch (IOException e) {
        // gone or not yet exec'd
      }
    }
    return 0;
  }

  /** The {@code NSpid:} line of {@code /proc/<pid>/status}: host pid first, innermost last. */
  public static List<Long> nsPids(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("NSpid:")) {
        List<Long> pids = new ArrayList<>();
        for (String s : line.substring(6).trim().split("\\s+")) {
          pids.add(Long.parseLong(s));
        }
        return pids;
      }
    }
    return List.of();
  }

  private void awaitListening(long deadline) throws InterruptedException {
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        if (!launcher.isAlive()) {
          throw new IllegalStateException("pod sandbox app exited with " + launcher.exitValue()
              + " before listening on " + port + ": " + argv + "\n" + log());
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("pod sandbox app not listening on " + port + " after " + START_TIMEOUT
              + ": " + argv + "\n" + log());
        }
        Thread.sleep(20);
      }
    }
  }

  private void stopApp() throws InterruptedException {
    cgroup.killAll();
    if (launcher != null) {
      launcher.destroyForcibly();
      launcher.waitFor(5, TimeUnit.SECONDS);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while ((!cgroup.pids().isEmpty() || hostPid > 0 && Files.exists(Path.of("/proc", Long.toString(hostPid)))
        && !isZombie(hostPid)) && System.nanoTime() < deadline) {
      cgroup.killAll();
      Thread.sleep(10);
    }
  }

  private static boolean isZombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      int close = stat.lastIndexOf(')');
      return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) == 'Z';
    } catch (IOException e) {
      return false;
    }
  }

  private static void teardown(Path dir, List<Path> cgroupDirs, List<String> problems) {
    Path merged = dir.resolve("merged");
    if (isMounted(merged)) {
      if (run(List.of("umount", merged.toString())) != 0) {
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        if (run(List.of("umount", merged.toString())) != 0 && run(List.of("umount", "-l", merged.toString())) != 0) {
          problems.add("umount " + merged + " failed");
        }
      }
    }
    synchronized (PodCgroup.TREE_LOCK) {
      for (Path d : cgroupDirs) {
        for (int i = 0; i < 250 && Files.exists(d); i++) {
          for (long pid : PodCgroup.pids(d)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
          }
          try {
            Files.delete(d);
          } catch (IOException e) {
            try {
              Thread.sleep(20);
            } catch (InterruptedException ie) {
              Thread.currentThread().interrupt();
              break;
            }
          }
        }
        if (Files.exists(d)) {
          problems.add("rmdir " + d + " failed: pids=" + PodCgroup.pids(d));
          continue;
        }
        Path root = hierarchyRootOf(d);
        for (Path p = d.getParent(); p != null && root != null && p.startsWith(root) && !p.equals(root);
            p = p.getParent()) {
          try {
            Files.delete(p);
          } catch (IOException e) {
            break;
          }
        }
      }
    }
    if (!isMounted(merged)) {
      deleteTree(dir, problems);
    }
  }

  private static Path hierarchyRootOf(Path cgroupDir) {
    String s = cgroupDir.toString();
    int i = s.indexOf("/kubepods.slice");
    return i < 0 ? null : Path.of(s.substring(0, i));
  }

  private static boolean isMounted(Path p) {
    try {
      String target = " " + p.toString() + " ";
      return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().anyMatch(l -> l.contains(target));
    } catch (IOException e) {
      return false;
    }
  }

  private static void deleteTree(Path dir, List<String> problems) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      problems.add("delete " + dir + " failed: " + e.getMessage());
    }
  }

  private static int run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) ? p.exitValue() : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** {@code s} single-quoted for sh. */
  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  /** Tears down sandboxes whose owning JVM has died (a crashed or killed test run). */
  static synchronized void reapStale() {
    if (reaped) {
      return;
    }
    reaped = true;
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    try (Stream<Path> dirs = Files.list(tmp)) {
      for (Path d : dirs.filter(p -> p.getFileName().toString().startsWith(DIR_PREFIX)).toList()) {
        try {
          long owner = Long.parseLong(Files.readString(d.resolve(OWNER_FILE)).trim());
          if (ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
            continue;
          }
          List<Path> cgroups = Files.readAllLines(d.resolve(CGROUPS_FILE)).stream().filter(s -> !s.isBlank())
              .map(Path::of).toList();
          for (Path c : cgroups) {
            Path kill = c.resolve("cgroup.kill");
            if (Files.exists(kill)) {
              Files.writeString(kill, "1");
            }
          }
          List<String> problems = new ArrayList<>();
          teardown(d, cgroups, problems);
          System.err.println("pod sandbox reaped stale " + d + (problems.isEmpty() ? "" : " problems=" + problems));
        } catch (IOException | RuntimeException e) {
          // not ours, or half-written: leave it
        }
      }
    } catch (IOException e) {
      // no tmp listing: nothing to reap
    }
  }

  /** Fails unless {@code binary} is a static ELF (no PT_INTERP): a chroot without libc cannot run anything else. */
  static void requireStatic(Path binary) {
    try (FileChannel ch = FileChannel.open(binary, StandardOpenOption.READ)) {
      long size = ch.size();
      ByteBuffer h = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
      if (size < 64 || ch.read(h, 0) != 64 || h.getInt(0) != 0x464c457f || h.get(4) != 2) {
        throw new IllegalArgumentException("pod sandbox binary " + binary + ": not a 64-bit ELF file");
      }
      long phoff = h.getLong(0x20);
      int phentsize = Short.toUnsignedInt(h.getShort(0x36));
      int phnum = Short.toUnsignedInt(h.getShort(0x38));
      if (phentsize < 56 || phnum > 256 || phoff < 0 || phoff + (long) phnum * phentsize > size) {
        throw new IllegalArgumentException("pod sandbox binary " + binary + ": bad program header table");
      }
      ByteBuffer ph = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < phnum; i++) {
        ph.clear();
        ch.read(ph, phoff + (long) i * phentsize);
        if (ph.getInt(0) == 3) {
          throw new IllegalArgumentException("pod sandbox binary " + binary
              + ": dynamically linked (PT_INTERP); build it with CGO_ENABLED=0");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("read pod sandbox binary " + binary, e);
    }
  }

  /** The pod, the container and the app to run. */
  public static final class Builder {
    private String podUid;
    private String containerId;
    private QosClass qos = QosClass.BEST_EFFORT;
    private Path imageLayer;
    private List<String> command = List.of();
    private final Map<String, String> env = new LinkedHashMap<>();
    private String podName;
    private final List<Path> hostPaths = new ArrayList<>();
    private RootEntry rootEntry = RootEntry.MOVE_MOUNT;

    private Builder() {}

    public Builder podUid(String podUid) {
      this.podUid = requireNonNull(podUid, "podUid");
      return this;
    }

    public Builder containerId(String containerId) {
      this.containerId = requireNonNull(containerId, "containerId");
      return this;
    }

    public Builder qosClass(QosClass qos) {
      this.qos = requireNonNull(qos, "qos");
      return this;
    }

    /** The image's layer (read-only lower dir), e.g. from {@link PodSandbox#imageLayer}. */
    public Builder imageLayer(Path dir) {
      this.imageLayer = requireNonNull(dir, "dir").toAbsolutePath();
      return this;
    }

    /** The app's argv; {@code argv[0]} is a path inside the container. May contain {@link #ADDRESS}/{@link #PORT}. */
    public Builder command(String... argv) {
      return command(List.of(argv));
    }

    public Builder command(List<String> argv) {
      if (argv.isEmpty() || !argv.get(0).startsWith("/")) {
        throw new IllegalArgumentException("command must start with an absolute path in the image: " + argv);
      }
      this.command = List.copyOf(argv);
      return this;
    }

    /** Extra environment of the app (it otherwise gets only PATH, HOME and HOSTNAME). */
    public Builder env(String key, String value) {
      env.put(requireNonNull(key, "key"), requireNonNull(value, "value"));
      return this;
    }

    /** The pod's name, used as the app's HOSTNAME (as Kubernetes does). */
    public Builder podName(String name) {
      this.podName = requireNonNull(name, "name");
      return this;
    }

    /**
     * Bind-mounts the existing host directory {@code dir} (absolute) into the container at the same path, as a
     * {@code hostPath} volume mounted at its own path is (e.g. a node's shared binaries directory). The command may
     * run a binary from it. May be called more than once.
     */
    public Builder hostPath(Path dir) {
      requireNonNull(dir, "dir");
      if (!dir.isAbsolute()) {
        throw new IllegalArgumentException("host path must be absolute: " + dir);
      }
      hostPaths.add(dir.normalize());
      return this;
    }

    /** How the app enters the container's root; {@link RootEntry#MOVE_MOUNT} (as a real runtime does) unless set. */
    public Builder rootEntry(RootEntry entry) {
      this.rootEntry = requireNonNull(entry, "entry");
      return this;
    }

    /**
     * The app's binary as the host reaches it: in a host path when the command runs one from there, else in the
     * overlay ({@code rootfs}) or, before that is mounted, in the image layer ({@code rootfs} null).
     */
    private Path binaryOnHost(@Nullable Path rootfs) {
      Path exe = Path.of(command.get(0)).normalize();
      if (hostPaths.stream().anyMatch(exe::startsWith)) {
        return exe;
      }
      return (rootfs != null ? rootfs : imageLayer).resolve(command.get(0).substring(1));
    }

    /** Builds the root, the cgroup and the namespaces, and starts the app; waits for its port when it has one. */
    public PodSandbox start() throws InterruptedException {
      requireNonNull(podUid, "podUid");
      requireNonNull(containerId, "containerId");
      requireNonNull(imageLayer, "imageLayer");
      if (command.isEmpty()) {
        throw new IllegalStateException("start pod sandbox: no command");
      }
      for (Path d : hostPaths) {
        if (!Files.isDirectory(d)) {
          throw new IllegalArgumentException("start pod sandbox: host path " + d + " is not a directory");
        }
      }
      Path binary = binaryOnHost(null);
      if (!Files.isExecutable(binary)) {
        throw new IllegalArgumentException("start pod sandbox: " + command.get(0) + " is not an executable in image "
            + imageLayer + (hostPaths.isEmpty() ? "" : " or host paths " + hostPaths));
      }
      requireStatic(binary);
      PodCgroup.relativePath(podUid, containerId, qos); // validates ids before touching the system
      reapStale();
      Path dir;
      try {
        dir = Files.createTempDirectory(DIR_PREFIX + containerId.substring(0, 12) + "-");
        Files.writeString(dir.resolve(OWNER_FILE), Long.toString(ProcessHandle.current().pid()));
        Path base = dir.resolve("base");
        for (String d : List.of("etc", "tmp", "proc", "dev", "app")) {
          Files.createDirectories(base.resolve(d));
        }
        String host = podName != null ? podName : containerId.substring(0, 12);
        Files.writeString(base.resolve("etc/hostname"), host + "\n");
        Files.writeString(base.resolve("etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 " + host + "\n");
        Files.writeString(base.resolve("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
        Files.writeString(base.resolve("etc/group"), "root:x:0:\n");
        Files.writeString(base.resolve("etc/resolv.conf"), "nameserver 127.0.0.1\n");
        Files.createDirectories(dir.resolve("upper"));
        Files.createDirectories(dir.resolve("work"));
        Files.createDirectories(dir.resolve("merged"));
      } catch (IOException e) {
        throw new UncheckedIOException("prepare pod sandbox directories for container " + containerId, e);
      }
      List<String> problems = new ArrayList<>();
      String options = "lowerdir=" + imageLayer + ":" + dir.resolve("base") + ",upperdir=" + dir.resolve("upper")
          + ",workdir=" + dir.resolve("work");
      int rc = run(List.of("mount", "-t", "overlay", "overlay", "-o", options, dir.resolve("merged").toString()));
      if (rc != 0) {
        teardown(dir, List.of(), problems);
        throw new IllegalStateException("mount overlay at " + dir.resolve("merged") + " (" + options + "): exit " + rc);
      }
      PodCgroup cgroup;
      try {
        // record the cgroups before creating them so a crash in between still gets them reaped
        List<String> dirs = PodCgroup.hierarchyRoots().stream()
            .map(r -> r.resolve(PodCgroup.relativePath(podUid, containerId, qos).substring(1)).toString()).toList();
        Files.write(dir.resolve(CGROUPS_FILE), dirs);
        cgroup = PodCgroup.create(podUid, containerId, qos);
      } catch (IOException | RuntimeException e) {
        teardown(dir, List.of(), problems);
        throw new IllegalStateException("create cgroup for container " + containerId + ": " + e, e);
      }
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        port = s.getLocalPort();
      } catch (IOException e) {
        throw new UncheckedIOException("reserve a port for container " + containerId, e);
      }
      PodSandbox sandbox = new PodSandbox(this, dir, cgroup, port);
      OPEN.add(sandbox);
      try {
        sandbox.launch();
      } catch (RuntimeException | InterruptedException e) {
        sandbox.close();
        throw e;
      }
      return sandbox;
    }
  }
}
