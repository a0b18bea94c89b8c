package io.goscope.e2e.chart;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The pod of the rendered DaemonSet, run on this machine as a kubelet would run it, without a container runtime:
 * volumes materialised under a work directory (ConfigMaps and Secrets in the kubelet's {@code ..data} symlink
 * layout, emptyDirs world-writable, PVCs from directories the test provides, hostPaths of {@code /proc} and
 * {@code /sys} the real ones and every other hostPath under the work directory), init containers run in order, and
 * each container's command, arguments and environment taken from the manifest with container paths mapped to host
 * paths: a mount's path to its volume, anything else into the container's image tree.
 *
 * <p>The security context is applied with {@code setpriv}: the capability bounding set (only the capabilities the
 * chart adds, which for uid 0 is also the permitted and effective set after exec), the user and group, and
 * no_new_privs. Seccomp, AppArmor, read-only mounts and the host's file systems outside the mapped paths are not
 * enforced: there is no mount namespace.
 */
public final class ChartPod {
  private final Rendered rendered;
  private final Path work;
  private final Map<String, DockerfileBuild.Image> images;
  private final Map<String, Path> claims;
  private final Map<String, Map<String, String>> secrets;
  private final String nodeName;
  private final Map<String, Path> volumes = new LinkedHashMap<>();

  private ChartPod(Rendered rendered, Path work, Map<String, DockerfileBuild.Image> images,
      Map<String, Path> claims, Map<String, Map<String, String>> secrets, String nodeName) {
    this.rendered = rendered;
    this.work = work;
    this.images = images;
    this.claims = claims;
    this.secrets = secrets;
    this.nodeName = nodeName;
  }

  /**
   * @param images image reference to its built tree, for every image the pod uses
   * @param claims PVC name to the directory that plays its volume
   * @param secrets Secret name to its data
   */
  public static ChartPod create(Rendered rendered, Path work, Map<String, DockerfileBuild.Image> images,
      Map<String, Path> claims, Map<String, Map<String, String>> secrets, String nodeName) throws IOException {
    ChartPod pod = new ChartPod(rendered, work, Map.copyOf(images), Map.copyOf(claims), Map.copyOf(secrets),
        requireNonNull(nodeName, "nodeName"));
    for (Volume v : rendered.podSpec().getVolumes()) {
      pod.volumes.put(v.getName(), pod.materialize(v));
    }
    return pod;
  }

  /** The host directory playing the volume {@code name}. */
  public Path volume(String name) {
    Path p = volumes.get(name);
    if (p == null) {
      throw new AssertionError("no volume " + name + " in the pod");
    }
    return p;
  }

  /** Where the hostPath {@code path} of the node lives on this machine. */
  public Path hostPath(String path) {
    if (path.equals("/proc") || path.startsWith("/sys/")) {
      return Path.of(path);
    }
    return work.resolve("host").resolve(path.substring(1));
  }

  private Path materialize(Volume v) throws IOException {
    if (v.getHostPath() != null) {
      Path p = hostPath(v.getHostPath().getPath());
      if ("DirectoryOrCreate".equals(v.getHostPath().getType()) && !Files.exists(p)) {
        Files.createDirectories(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x")); // as the kubelet: 0755
      }
      return p;
    }
    Path dir = work.resolve("volumes").resolve(v.getName());
    if (v.getEmptyDir() != null) {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
      return dir;
    }
    if (v.getConfigMap() != null) {
      String name = v.getConfigMap().getName();
      ConfigMap cm = rendered.configMap(name).orElseThrow(() -> new AssertionError("ConfigMap " + name
          + " is not rendered by the chart"));
      return atomicWriterLayout(dir, cm.getData() == null ? Map.of() : cm.getData(), 0644);
    }
    if (v.getSecret() != null) {
      Map<String, String> data = secrets.get(v.getSecret().getSecretName());
      if (data == null) {
        throw new AssertionError("Secret " + v.getSecret().getSecretName() + " not provided by the test");
      }
      Map<String, String> files = new LinkedHashMap<>(data);
      if (v.getSecret().getItems() != null && !v.getSecret().getItems().isEmpty()) {
        files.clear();
        for (KeyToPath item : v.getSecret().getItems()) {
          files.put(item.getPath(), data.get(item.getKey()));
        }
      }
      Integer mode = v.getSecret().getDefaultMode();
      return atomicWriterLayout(dir, files, mode == null ? 0644 : mode);
    }
    if (v.getPersistentVolumeClaim() != null) {
      Path claim = claims.get(v.getPersistentVolumeClaim().getClaimName());
      if (claim == null) {
        throw new AssertionError("PVC " + v.getPersistentVolumeClaim().getClaimName() + " not provided by the test");
      }
      return claim;
    }
    throw new AssertionError("volume type not supported by this harness: " + v);
  }

  /** The kubelet's layout: {@code ..<timestamp>/<key>}, {@code ..data -> ..<timestamp>}, {@code <key> -> ..data/<key>}. */
  private static Path atomicWriterLayout(Path dir, Map<String, String> files, int mode) throws IOException {
    Path stamp = Files.createDirectories(dir.resolve("..2026_01_01_00_00_00.000000001"));
    for (Map.Entry<String, String> f : files.entrySet()) {
      Path file = stamp.resolve(f.getKey());
      Files.writeString(file, f.getValue(), StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions(mode)));
    }
    Files.createSymbolicLink(dir.resolve("..data"), stamp.getFileName());
    for (String key : files.keySet()) {
      Files.createSymbolicLink(dir.resolve(key), Path.of("..data").resolve(key));
    }
    return dir;
  }

  private static String permissions(int mode) {
    StringBuilder sb = new StringBuilder();
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      sb.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
    }
    return sb.toString();
  }

  /** Runs every init container to completion, in order, as the kubelet does before the containers start. */
  public void runInitContainers() throws IOException, InterruptedException {
    List<Container> init = rendered.podSpec().getInitContainers();
    for (Container c : init == null ? List.<Container>of() : init) {
      ProcessBuilder pb = new ProcessBuilder(commandLine(c)).redirectErrorStream(true);
      pb.environment().clear();
      pb.environment().putAll(environment(c, Map.of()));
      Process p = pb.start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new AssertionError("init container " + c.getName() + " failed: " + commandLine(c) + "\n" + out);
      }
    }
  }

  /** The container {@code name}'s command line: security prefix, then entrypoint/command and args, mapped. */
  public List<String> commandLine(Container c) {
    DockerfileBuild.Image image = image(c);
    List<String> argv = new ArrayList<>();
    boolean overridden = c.getCommand() != null && !c.getCommand().isEmpty();
    argv.addAll(overridden ? c.getCommand() : image.entrypoint());
    if (c.getArgs() != null && !c.getArgs().isEmpty()) {
      argv.addAll(c.getArgs());
    } else if (!overridden) {
      argv.addAll(image.cmd());
    }
    if (argv.isEmpty()) {
      throw new AssertionError("container " + c.getName() + " has no command");
    }
    List<String> mapped = new ArrayList<>(securityPrefix(c.getSecurityContext()));
    for (String a : argv) {
      mapped.add(a.startsWith("/") ? map(c, a) : a);
    }
    return mapped;
  }

  /** The environment of container {@code c}: the image's, then the manifest's, paths mapped. */
  public Map<String, String> environment(Container c, Map<String, String> harness) {
    DockerfileBuild.Image image = image(c);
    Map<String, String> env = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : image.env().entrySet()) {
      env.put(e.getKey(), e.getKey().equals("PATH") ? mapPathList(c, e.getValue()) : e.getValue());
    }
    env.put("HOSTNAME", nodeName + "-goscope-pod");
    for (EnvVar v : c.getEnv() == null ? List.<EnvVar>of() : c.getEnv()) {
      String value;
      if (v.getValueFrom() == null) {
        value = v.getValue() == null ? "" : v.getValue();
        value = value.startsWith("/") ? map(c, value) : value;
      } else if (v.getValueFrom().getFieldRef() != null) {
        String field = v.getValueFrom().getFieldRef().getFieldPath();
        value = switch (field) {
          case "spec.nodeName" -> nodeName;
          case "metadata.namespace" -> HelmChart.NAMESPACE;
          default -> throw new AssertionError("fieldRef not supported by this harness: " + field);
        };
      } else if (v.getValueFrom().getSecretKeyRef() != null) {
        var ref = v.getValueFrom().getSecretKeyRef();
        Map<String, String> data = secrets.get(ref.getName());
        if (data == null || !data.containsKey(ref.getKey())) {
          throw new AssertionError("Secret key " + ref.getName() + "/" + ref.getKey() + " not provided by the test");
        }
        value = data.get(ref.getKey());
      } else {
        throw new AssertionError("valueFrom not supported by this harness: " + v);
      }
      env.put(v.getName(), value);
    }
    env.putAll(harness);
    return env;
  }

  private String mapPathList(Container c, String path) {
    List<String> out = new ArrayList<>();
    for (String dir : path.split(":")) {
      Path mapped = Path.of(map(c, dir));
      if (Files.isDirectory(mapped)) {
        out.add(mapped.toString());
      }
    }
    out.add(System.getenv("PATH")); // the base image's commands: this host has the same packages
    return String.join(":", out);
  }

  /** A container path as a host path: through the longest mount that contains it, else inside the image. */
  public String map(Container c, String containerPath) {
    VolumeMount best = null;
    for (VolumeMount m : c.getVolumeMounts() == null ? List.<VolumeMount>of() : c.getVolumeMounts()) {
      String mp = m.getMountPath().replaceAll("/+$", "");
      if ((containerPath.equals(mp) || containerPath.startsWith(mp + "/"))
          && (best == null || mp.length() > best.getMountPath().replaceAll("/+$", "").length())) {
        best = m;
      }
    }
    if (best == null) {
      return image(c).resolve(containerPath).toString();
    }
    Path base = volume(best.getName());
    if (best.getSubPath() != null && !best.getSubPath().isEmpty()) {
      base = base.resolve(best.getSubPath());
    }
    String rest = containerPath.substring(best.getMountPath().replaceAll("/+$", "").length());
    String mapped = base + rest;
    return containerPath.endsWith("/") && !mapped.endsWith("/") ? mapped + "/" : mapped;
  }

  private DockerfileBuild.Image image(Container c) {
    DockerfileBuild.Image image = images.get(c.getImage());
    if (image == null) {
      throw new AssertionError("image " + c.getImage() + " of container " + c.getName() + " not provided");
    }
    return image;
  }

  /** {@code setpriv} options for the container's security context (empty when privileged). */
  static List<String> securityPrefix(SecurityContext sc) {
    if (sc == null || Boolean.TRUE.equals(sc.getPrivileged())) {
      return List.of();
    }
    List<String> prefix = new ArrayList<>(List.of("setpriv"));
    List<String> drop = sc.getCapabilities() == null || sc.getCapabilities().getDrop() == null
        ? List.of() : sc.getCapabilities().getDrop();
    List<String> add = sc.getCapabilities() == null || sc.getCapabilities().getAdd() == null
        ? List.of() : sc.getCapabilities().getAdd();
    if (!drop.equals(List.of("ALL"))) {
      throw new AssertionError("only drop: [ALL] is modelled here: " + drop);
    }
    StringBuilder bounding = new StringBuilder("-all");
    for (String cap : add) {
      bounding.append(",+").append(cap.toLowerCase(Locale.ROOT));
    }
    prefix.add("--bounding-set=" + bounding);
    prefix.add("--inh-caps=-all");
    long uid = sc.getRunAsUser() == null ? 0 : sc.getRunAsUser();
    if (uid != 0) {
      long gid = sc.getRunAsGroup() == null ? uid : sc.getRunAsGroup();
      prefix.addAll(List.of("--reuid=" + uid, "--regid=" + gid, "--clear-groups"));
    }
    if (Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
      prefix.add("--no-new-privs");
    }
    prefix.add("--");
    return prefix;
  }

  /** Removes the work directory's volumes (not the PVC directories the test owns). */
  public void delete() {
    try {
      Path v = work.resolve("volumes");
      if (Files.exists(v)) {
        try (var walk = Files.walk(v)) {
          for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
