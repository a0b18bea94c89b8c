package io.goscope.platform.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CgroupPathTest {
  private static final String ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  private static final String ID2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  private static final String UID = "1234abcd-5678-90ab-cdef-1234567890ab";
  private static final String UID_ = UID.replace('-', '_');

  static Stream<Arguments> paths() {
    return Stream.of(
        // containerd, systemd driver, burstable
        Arguments.of("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_
            + ".slice/cri-containerd-" + ID + ".scope", ID, UID),
        // containerd, systemd driver, besteffort
        Arguments.of("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UID_
            + ".slice/cri-containerd-" + ID + ".scope", ID, UID),
        // guaranteed QoS: no qos level
        Arguments.of("/kubepods.slice/kubepods-pod" + UID_ + ".slice/cri-containerd-" + ID + ".scope", ID, UID),
        // cgroupfs driver (containerd or CRI-O)
        Arguments.of("/kubepods/besteffort/pod" + UID + "/" + ID, ID, UID),
        Arguments.of("/kubepods/burstable/pod" + UID + "/" + ID, ID, UID),
        Arguments.of("/kubepods/pod" + UID + "/" + ID, ID, UID),
        // CRI-O systemd driver
        Arguments.of("/kubepods.slice/kubepods-pod" + UID_ + ".slice/crio-" + ID + ".scope", ID, UID),
        Arguments.of("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_
            + ".slice/crio-" + ID + ".scope", ID, UID),
        // CRI-O cgroupfs with prefix
        Arguments.of("/kubepods/besteffort/pod" + UID + "/crio-" + ID, ID, UID),
        // CRI-O's conmon is not the container
        Arguments.of("/kubepods.slice/kubepods-pod" + UID_ + ".slice/crio-conmon-" + ID + ".scope", null, UID),
        // dockershim
        Arguments.of("/kubepods/pod" + UID + "/docker-" + ID + ".scope", ID, UID),
        Arguments.of("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UID_
            + ".slice/docker-" + ID + ".scope", ID, UID),
        // plain docker
        Arguments.of("/system.slice/docker-" + ID + ".scope", ID, null),
        Arguments.of("/docker/" + ID, ID, null),
        // podman
        Arguments.of("/machine.slice/libpod-" + ID + ".scope", ID, null),
        Arguments.of("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + ID
            + ".scope/container", ID, null),
        // kind (systemd in a node container)
        Arguments.of("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
            + "kubelet-kubepods-besteffort-pod" + UID_ + ".slice/cri-containerd-" + ID + ".scope", ID, UID),
        Arguments.of("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + UID_
            + ".slice/cri-containerd-" + ID + ".scope", ID, UID),
        // kind on cgroupfs docker host: innermost id wins
        Arguments.of("/docker/" + ID2 + "/kubelet/kubepods/besteffort/pod" + UID + "/" + ID, ID, UID),
        Arguments.of("/docker/" + ID2 + "/system.slice/containerd.service", ID2, null),
        // containerd systemd cgroup on v1: slice:runtime:id
        Arguments.of("/system.slice/containerd.service/kubepods-burstable-pod" + UID_
            + ".slice:cri-containerd:" + ID, ID, UID),
        // nested cgroup below the container scope
        Arguments.of("/kubepods.slice/kubepods-pod" + UID_ + ".slice/cri-containerd-" + ID + ".scope/init.scope",
            ID, UID),
        // static pod: uid is a 32-hex config hash
        Arguments.of("/kubepods/burstable/pod0123456789abcdef0123456789abcdef/" + ID, ID,
            "0123456789abcdef0123456789abcdef"),
        // upper case is normalised
        Arguments.of("/kubepods/pod" + UID.toUpperCase() + "/" + ID.toUpperCase(), ID, UID),
        // pod level only
        Arguments.of("/kubepods/burstable/pod" + UID, null, UID),
        // not in a container
        Arguments.of("/", null, null),
        Arguments.of("/user.slice/user-0.slice/session-3.scope", null, null),
        Arguments.of("/system.slice/containerd.service", null, null),
        Arguments.of("/system.slice/docker-" + ID.substring(1) + ".scope", null, null),
        Arguments.of("", null, null),
        Arguments.of("/podcast/" + ID.substring(2), null, null));
  }

  @ParameterizedTest
  @MethodSource("paths")
  void parsesPath(String path, String containerId, String podUid) {
    assertEquals(new CgroupPath(containerId, podUid), CgroupPath.parsePath(path), path);
  }

  @Test
  void v2File() {
    String file = "0::/kubepods.slice/kubepods-pod" + UID_ + ".slice/cri-containerd-" + ID + ".scope\n";
    assertEquals(new CgroupPath(ID, UID), CgroupPath.parseFile(file));
  }

  @Test
  void hybridFilePrefersLineWithContainer() {
    String file = String.join("\n",
        "12:cpuset:/",
        "11:devices:/kubepods/burstable/pod" + UID,
        "10:memory:/kubepods/burstable/pod" + UID + "/" + ID,
        "1:name=systemd:/kubepods/burstable/pod" + UID + "/" + ID,
        "0::/",
        "");
    assertEquals(new CgroupPath(ID, UID), CgroupPath.parseFile(file));
  }

  @Test
  void hostProcessFile() {
    String file = "12:cpuset:/\n1:name=systemd:/init.scope\n0::/init.scope\n";
    assertEquals(CgroupPath.NONE, CgroupPath.parseFile(file));
  }

  @Test
  void podOnlyFileKeepsPod() {
    assertEquals(new CgroupPath(null, UID), CgroupPath.parseFile("3:pids:/\n2:memory:/kubepods/pod" + UID + "\n"));
  }

  @Test
  void malformedLinesAreIgnored() {
    assertEquals(CgroupPath.NONE, CgroupPath.parseFile("garbage\n:\n::\n\n1:x\n"));
  }
}
