package io.goscope.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.discovery.CgroupPath;
import io.goscope.testing.PodCgroup.QosClass;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodSandboxTest {
  private static final String SERVER = """
      package main

      import (
      \t"flag"
      \t"fmt"
      \t"net/http"
      \t"os"
      )

      func main() {
      \taddr := flag.String("addr", "127.0.0.1:8080", "listen address")
      \tflag.Parse()
      \thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
      \t\thost, _ := os.Hostname()
      \t\texe, _ := os.Readlink("/proc/self/exe")
      \t\tfmt.Fprintf(w, "pid=%d host=%s exe=%s", os.Getpid(), host, exe)
      \t})
      \tif err := http.ListenAndServe(*addr, nil); err != nil {
      \t\tpanic(err)
      \t}
      }
      """;

  @TempDir static Path work;
  static Path image;

  @BeforeAll
  static void buildImage() {
    if (!GoBuilder.goAvailable()) {
      BpfAssumptions.skipOrFail("go toolchain unavailable");
    }
    Path binary = GoBuilder.build(SERVER, work.resolve("sandboxed-server"), List.of(), Map.of("CGO_ENABLED", "0"));
    image = PodSandbox.imageLayer(binary, work.resolve("image"));
  }

  private static PodSandbox start(QosClass qos) throws InterruptedException {
    return PodSandbox.builder().podUid(PodSandbox.randomPodUid()).containerId(PodSandbox.randomContainerId())
        .qosClass(qos).podName("checkout-7d4b9c-x2x9z").imageLayer(image)
        .command("/app/sandboxed-server", "-addr", PodSandbox.ADDRESS).start();
  }

  @Test
  void cgroupPathsHaveTheKubeletSystemdShape() {
    String uid = "0f3c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
    String id = "a".repeat(64);
    assertEquals("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f3c1a2b_3c4d_4e5f_8a9b_0c1d2e3f4a5b"
        + ".slice/cri-containerd-" + id + ".scope", PodCgroup.relativePath(uid, id, QosClass.BEST_EFFORT));
    assertEquals("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f3c1a2b_3c4d_4e5f_8a9b_0c1d2e3f4a5b"
        + ".slice/cri-containerd-" + id + ".scope", PodCgroup.relativePath(uid, id, QosClass.BURSTABLE));
    assertEquals("/kubepods.slice/kubepods-pod0f3c1a2b_3c4d_4e5f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-" + id
        + ".scope", PodCgroup.relativePath(uid, id, QosClass.GUARANTEED));
    for (QosClass q : QosClass.values()) {
      assertEquals(new CgroupPath(id, uid), CgroupPath.parsePath(PodCgroup.relativePath(uid, id, q)), q.name());
    }
    assertThrows(IllegalArgumentException.class, () -> PodCgroup.relativePath(uid, "abc", QosClass.BURSTABLE));
    assertThrows(IllegalArgumentException.class, () -> PodCgroup.relativePath("pod", id, QosClass.BURSTABLE));
  }

  @Test
  void dynamicBinariesAreRejectedBeforeAnythingIsBuilt() throws Exception {
    Path layer = PodSandbox.imageLayer(Path.of("/bin/sh"), work.resolve("dynamic-image"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PodSandbox.builder()
        .podUid(PodSandbox.randomPodUid()).containerId(PodSandbox.randomContainerId()).imageLayer(layer)
        .command("/app/sh").start());
    assertTrue(e.getMessage().contains("CGO_ENABLED=0"), e.getMessage());
  }

  @Test
  void appRunsInItsOwnPidAndMountNamespaceInsideTheOverlayAndTheKubepodsCgroup() throws Exception {
    PodSandbox.assumeSupported();
    try (PodSandbox pod = start(QosClass.BEST_EFFORT)) {
      long pid = pod.hostPid();
      List<Long> nsPids = PodSandbox.nsPids(pid);
      assertEquals(List.of(pid, 1L), nsPids, "NSpid: host pid, then pid 1 in the pod's namespace");

      Path exe = Files.readSymbolicLink(Path.of("/proc/" + pid + "/exe"));
      assertEquals(Path.of("/app/sandboxed-server"), exe, "exe as the host sees it: the container path, as on a node");
      assertTrue(Files.isSameFile(Path.of("/proc/" + pid + "/root/app/sandboxed-server"),
          pod.rootfs().resolve("app/sandboxed-server")));
      String mountinfo = Files.readString(Path.of("/proc/" + pid + "/mountinfo"));
      assertTrue(mountinfo.lines().anyMatch(l -> l.contains(" / / ") && l.contains(" - overlay ")),
          "root is the overlay:\n" + mountinfo);

      String cgroups = Files.readString(Path.of("/proc/" + pid + "/cgroup"));
      String rel = pod.cgroup().relativePath();
      assertTrue(cgroups.lines().anyMatch(l -> l.equals("0::" + rel)), cgroups);
      if (Files.isDirectory(Path.of("/sys/fs/cgroup/pids/kubepods.slice"))) {
        assertTrue(cgroups.lines().anyMatch(l -> l.endsWith(":pids:" + rel)), cgroups);
      }
      assertEquals(new CgroupPath(pod.containerId(), pod.podUid()), CgroupPath.parseFile(cgroups));

      String body = get(pod.port());
      assertEquals("pid=1 host=checkout-7d4b9c-x2x9z exe=/app/sandboxed-server", body,
          "the app sees itself as pid 1 with its exe at the container path");
    }
  }

  @Test
  void movedRootShowsContainerPathsToTheHostAndHostPathsAreMountedAtTheirOwnPath() throws Exception {
    PodSandbox.assumeSupported();
    Path shared = Files.createDirectories(work.resolve("shared-binaries"));
    Path sharedBinary = Files.copy(image.resolve("app/sandboxed-server"), shared.resolve("server"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    java.util.function.Supplier<PodSandbox.Builder> builder = () -> PodSandbox.builder()
        .podUid(PodSandbox.randomPodUid()).containerId(PodSandbox.randomContainerId())
        .podName("checkout-7d4b9c-x2x9z").imageLayer(image).rootEntry(PodSandbox.RootEntry.MOVE_MOUNT)
        .hostPath(shared);
    try (PodSandbox fromImage = builder.get().command("/app/sandboxed-server", "-addr", PodSandbox.ADDRESS).start()) {
      long pid = fromImage.hostPid();
      assertEquals(Path.of("/app/sandboxed-server"), Files.readSymbolicLink(Path.of("/proc/" + pid + "/exe")),
          "the host reads the path inside the container, as on a real node");
      assertTrue(Files.isSameFile(Path.of("/proc/" + pid + "/root/app/sandboxed-server"),
          Path.of("/proc/" + pid + "/exe")));
      assertTrue(Files.isSameFile(fromImage.rootfs().resolve("app/sandboxed-server"),
          Path.of("/proc/" + pid + "/exe")));
      assertEquals("pid=1 host=checkout-7d4b9c-x2x9z exe=/app/sandboxed-server", get(fromImage.port()));
    }
    try (PodSandbox fromHost = builder.get().command(sharedBinary.toString(), "-addr", PodSandbox.ADDRESS).start()) {
      long pid = fromHost.hostPid();
      assertEquals(sharedBinary, Files.readSymbolicLink(Path.of("/proc/" + pid + "/exe")), "same path as the host's");
      assertTrue(Files.isSameFile(sharedBinary, Path.of("/proc/" + pid + "/exe")), "the host's very file");
      assertEquals("pid=1 host=checkout-7d4b9c-x2x9z exe=" + sharedBinary, get(fromHost.port()));
      fromHost.restart();
      assertTrue(Files.isSameFile(sharedBinary, Path.of("/proc/" + fromHost.hostPid() + "/exe")), "after restart");
    }
    assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + shared + " "),
        "the bind mount stayed in the pod's mount namespace");
  }

  @Test
  void restartGivesANewPidInTheSameContainer() throws Exception {
    PodSandbox.assumeSupported();
    try (PodSandbox pod = start(QosClass.BURSTABLE)) {
      long first = pod.hostPid();
      pod.restart();
      long second = pod.hostPid();
      assertNotEquals(first, second);
      assertFalse(Files.exists(Path.of("/proc/" + first + "/exe")) && isLive(first), "old pid gone");
      assertEquals(List.of(second, 1L), PodSandbox.nsPids(second));
      assertTrue(Files.readString(Path.of("/proc/" + second + "/cgroup")).contains(pod.cgroup().relativePath()));
      assertTrue(get(pod.port()).startsWith("pid=1 "));
    }
  }

  @Test
  void closeLeavesNothingBehind() throws Exception {
    PodSandbox.assumeSupported();
    PodSandbox pod = start(QosClass.GUARANTEED);
    PodSandbox sibling = start(QosClass.GUARANTEED);
    long pid = pod.hostPid();
    Path root = pod.rootfs();
    List<Path> cgroupDirs = pod.cgroup().directories();
    assertTrue(cgroupDirs.stream().allMatch(Files::isDirectory));
    pod.close();
    pod.close(); // idempotent
    assertFalse(isLive(pid), "app killed");
    assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + root + " "), "unmounted");
    assertFalse(Files.exists(root.getParent()), "directories deleted");
    for (Path d : cgroupDirs) {
      assertFalse(Files.exists(d), "cgroup removed: " + d);
    }
    assertTrue(sibling.isAlive(), "a sibling sandbox under the same kubepods.slice survives");
    Path shared = sibling.cgroup().directories().get(0).getParent().getParent(); // kubepods.slice
    assertTrue(Files.isDirectory(shared), "shared parent kept while in use");
    sibling.close();
    assertFalse(Files.exists(shared), "shared parent pruned when empty: " + shared);
  }

  private static boolean isLive(long pid) throws Exception {
    Path stat = Path.of("/proc/" + pid + "/stat");
    if (!Files.exists(stat)) {
      return false;
    }
    String s = Files.readString(stat);
    return s.charAt(s.lastIndexOf(')') + 2) != 'Z';
  }

  private static String get(int port) throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
