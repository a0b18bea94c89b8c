package io.goscope.testing;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A container's cgroup in the shape the kubelet's systemd driver and containerd give it, e.g.
 * {@code kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_with_underscores>.slice/
 * cri-containerd-<id>.scope}, created in the cgroup v2 hierarchy and in the v1 {@code pids} and {@code cpu}
 * hierarchies when they are mounted (hybrid layout). The v1 {@code memory} hierarchy is never touched.
 */
public final class PodCgroup {
  private static final Pattern CONTAINER_ID = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern POD_UID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  /** v1 controllers that get the same path; harmless to join, unlike memory. */
  private static final List<String> V1_CONTROLLERS = List.of("pids", "cpu");
  /** Serialises creating and pruning the shared parent slices between sandboxes of one JVM. */
  static final Object TREE_LOCK = new Object();

  /** The pod's Kubernetes QoS class, which names the middle slice. */
  public enum QosClass {
    GUARANTEED,
    BURSTABLE,
    BEST_EFFORT;

    String sliceWord() {
      return this == BEST_EFFORT ? "besteffort" : name().toLowerCase(Locale.ROOT);
    }
  }

  private final String relativePath;
  private final List<Path> directories;

  private PodCgroup(String relativePath, List<Path> directories) {
    this.relativePath = relativePath;
    this.directories = List.copyOf(directories);
  }

  /** The path relative to a hierarchy root, as {@code /proc/<pid>/cgroup} shows it, e.g. {@code /kubepods.slice/...}. */
  public static String relativePath(String podUid, String containerId, QosClass qos) {
    requireNonNull(qos, "qos");
    if (!POD_UID.matcher(requireNonNull(podUid, "podUid")).matches()) {
      throw new IllegalArgumentException("pod uid must be a lower-case dashed UUID: " + podUid);
    }
    if (!CONTAINER_ID.matcher(requireNonNull(containerId, "containerId")).matches()) {
      throw new IllegalArgumentException("container id must be 64 lower-case hex digits: " + containerId);
    }
    String uid = podUid.replace('-', '_');
    String pod = qos == QosClass.GUARANTEED
        ? "/kubepods-pod" + uid + ".slice"
        : "/kubepods-" + qos.sliceWord() + ".slice/kubepods-" + qos.sliceWord() + "-pod" + uid + ".slice";
    return "/kubepods.slice" + pod + "/cri-containerd-" + containerId + ".scope";
  }

  /** Creates the cgroup in every hierarchy it belongs to. */
  static PodCgroup create(String podUid, String containerId, QosClass qos) {
    String rel = relativePath(podUid, containerId, qos);
    List<Path> dirs = new ArrayList<>();
    for (Path root : hierarchyRoots()) {
      dirs.add(root.resolve(rel.substring(1)));
    }
    synchronized (TREE_LOCK) {
      for (Path d : dirs) {
        try {
          Files.createDirectories(d);
        } catch (IOException e) {
          throw new UncheckedIOException("create cgroup " + d, e);
        }
      }
    }
    return new PodCgroup(rel, dirs);
  }

  /** The v2 root first, then the v1 roots that exist, e.g. {@code /sys/fs/cgroup/unified}, {@code .../pids}. */
  static List<Path> hierarchyRoots() {
    List<Path> roots = new ArrayList<>();
    roots.add(v2Root());
    for (String c : V1_CONTROLLERS) {
      Path p = Path.of("/sys/fs/cgroup", c);
      if (Files.isRegularFile(p.resolve("tasks"))) {
        roots.add(p);
      }
    }
    return roots;
  }

  /** The cgroup v2 mount: {@code /sys/fs/cgroup/unified} on a hybrid host, {@code /sys/fs/cgroup} on a v2 host. */
  static Path v2Root() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] parts = line.split(" - ", 2);
        if (parts.length == 2 && parts[1].startsWith("cgroup2 ")) {
          String mountPoint = parts[0].split(" ")[4];
          if (mountPoint.startsWith("/sys/fs/cgroup")) {
            return Path.of(mountPoint);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("read /proc/self/mountinfo", e);
    }
    throw new IllegalStateException("find cgroup v2 mount: none under /sys/fs/cgroup");
  }

  /** {@code /kubepods.slice/.../cri-containerd-<id>.scope}. */
  public String relativePath() {
    return relativePath;
  }

  /** One directory per hierarchy, v2 first. */
  public List<Path> directories() {
    return directories;
  }

  /** The {@code cgroup.procs} files a process writes its pid into to join the cgroup everywhere. */
  List<Path> procsFiles() {
    return directories.stream().map(d -> d.resolve("cgroup.procs")).toList();
  }

  /** Pids in the v2 cgroup. */
  List<Long> pids() {
    return pids(directories.get(0));
  }

  static List<Long> pids(Path dir) {
    try {
      return Files.readAllLines(dir.resolve("cgroup.procs")).stream().filter(s -> !s.isBlank())
          .map(s -> Long.parseLong(s.trim())).toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /** SIGKILLs every process in the cgroup ({@code cgroup.kill}, else one by one). */
  void killAll() {
    Path kill = directories.get(0).resolve("cgroup.kill");
    if (Files.exists(kill)) {
      try {
        Files.writeString(kill, "1", StandardCharsets.US_ASCII);
        return;
      } catch (IOException e) {
        // fall through to per-pid kill
      }
    }
    for (Long pid : pids()) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  /**
   * Removes the scope and every parent slice left empty, in each hierarchy. Waits up to {@code timeoutMillis} for
   * killed processes to leave.
   *
   * @return directories that could not be removed (empty on success)
   */
  List<Path> remove(long timeoutMillis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    List<Path> left = new ArrayList<>();
    synchronized (TREE_LOCK) {
      for (Path d : directories) {
        Path root = rootOf(d);
        while (Files.exists(d)) {
          try {
            Files.delete(d);
          } catch (IOException e) {
            if (System.currentTimeMillis() > deadline) {
              left.add(d);
              break;
            }
            Thread.sleep(20);
          }
        }
        // prune empty parents up to the hierarchy root, never the root itself
        for (Path p = d.getParent(); p != null && !p.equals(root) && p.startsWith(root); p = p.getParent()) {
          try {
            Files.delete(p);
          } catch (IOException e) {
            break; // busy: another sandbox's cgroup lives below
          }
        }
      }
    }
    return left;
  }

  private Path rootOf(Path dir) {
    String rel = relativePath.substring(1);
    String s = dir.toString();
    return Path.of(s.substring(0, s.length() - rel.length() - 1));
  }
}
