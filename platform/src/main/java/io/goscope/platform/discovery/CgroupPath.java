package io.goscope.platform.discovery;

import io.goscope.api.Nullable;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The container id and Kubernetes pod UID encoded in a process's cgroup path ({@code /proc/<pid>/cgroup}).
 *
 * <p>Understands cgroup v1 lines ({@code id:controllers:path}) and the v2 line ({@code 0::path}) as written by
 * containerd, CRI-O and Docker with the cgroupfs and systemd drivers, including nested layouts such as kind's
 * {@code /kubelet.slice/kubelet-kubepods.slice/...} or {@code /docker/<node>/kubelet/kubepods/...}. The innermost
 * (last) container id on a path wins. Pod UIDs written by the systemd driver use {@code _} instead of {@code -};
 * they are normalised to the dashed form.
 *
 * @param containerId 64-hex container id, or null outside a recognised container
 * @param podUid pod UID (dashed, lower case; static pods have a 32-hex hash), or null
 */
public record CgroupPath(@Nullable String containerId, @Nullable String podUid) {

  /** Neither a container nor a pod. */
  public static final CgroupPath NONE = new CgroupPath(null, null);

  /** Upper bound on lines examined, against hostile or huge input. */
  private static final int MAX_LINES = 256;

  private static final Pattern RUNTIME_SCOPE = Pattern.compile(
      "(?:cri-containerd|containerd|crio|cri-o|docker|libpod)-([0-9a-f]{64})(?:\\.scope)?");
  private static final Pattern RUNTIME_PREFIX = Pattern.compile(
      "(?:cri-containerd|containerd|crio|cri-o|docker|libpod):([0-9a-f]{64})");
  private static final Pattern BARE_ID = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern POD = Pattern.compile(
      "(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})"
          + "(?:\\.slice)?");

  /** True when a container id was found. */
  public boolean inContainer() {
    return containerId != null;
  }

  /**
   * Parses the content of a {@code /proc/<pid>/cgroup} file. Lines that carry a container id are preferred; the
   * v2 line and the v1 lines are all examined. Never throws on malformed input: unknown shapes give {@link #NONE}.
   */
  public static CgroupPath parseFile(String content) {
    CgroupPath best = NONE;
    int lines = 0;
    for (String line : content.split("\n")) {
      if (++lines > MAX_LINES) {
        break;
      }
      int first = line.indexOf(':');
      int second = first < 0 ? -1 : line.indexOf(':', first + 1);
      if (second < 0) {
        continue;
      }
      CgroupPath candidate = parsePath(line.substring(second + 1).trim());
      if (candidate.containerId != null && candidate.podUid != null) {
        return candidate;
      }
      if (best.containerId == null && candidate.containerId != null
          || best.containerId == null && best.podUid == null && candidate.podUid != null) {
        best = candidate;
      }
    }
    return best;
  }

  /** Parses one cgroup path such as {@code /kubepods/besteffort/pod<uid>/<id>}. */
  public static CgroupPath parsePath(String path) {
    String[] segments = path.split("/");
    String containerId = null;
    String podUid = null;
    for (int i = segments.length - 1; i >= 0; i--) {
      String segment = segments[i].toLowerCase(Locale.ROOT);
      if (segment.isEmpty()) {
        continue;
      }
      int colon = segment.indexOf(':');
      if (colon > 0 && containerId == null && podUid == null) {
        // systemd driver on cgroup v1 via containerd: <pod slice>:cri-containerd:<id>
        String id = containerIdOf(segment.substring(segment.lastIndexOf(':') + 1));
        if (id != null) {
          containerId = id;
          segment = segment.substring(0, colon);
        }
      }
      if (containerId == null && podUid == null) {
        containerId = containerIdOf(segment);
        if (containerId != null) {
          continue;
        }
      }
      if (podUid == null) {
        Matcher pod = POD.matcher(segment);
        if (pod.find() && pod.end() == segment.length()) {
          podUid = pod.group(1).replace('_', '-');
          break;
        }
      }
    }
    return containerId == null && podUid == null ? NONE : new CgroupPath(containerId, podUid);
  }

  @Nullable
  private static String containerIdOf(String segment) {
    if (segment.startsWith("crio-conmon-")) {
      return null; // CRI-O's monitor process, not the container
    }
    Matcher m = RUNTIME_SCOPE.matcher(segment);
    if (m.matches()) {
      return m.group(1);
    }
    m = RUNTIME_PREFIX.matcher(segment);
    if (m.matches()) {
      return m.group(1);
    }
    return BARE_ID.matcher(segment).matches() ? segment : null;
  }
}
