package io.goscope.platform.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProcessInfo;
import io.goscope.platform.discovery.ExecutableKey;
import io.goscope.platform.discovery.ProcessSnapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The attach path is verified by device and inode, preferring the shared binaries directory. */
class AttachTargetTest {
  @TempDir Path tmp;

  private static ExecutableKey keyOf(Path p) throws Exception {
    return new ExecutableKey(((Number) Files.getAttribute(p, "unix:dev")).longValue(),
        ((Number) Files.getAttribute(p, "unix:ino")).longValue(), 0);
  }

  private static ProcessSnapshot snapshot(String exe, ExecutableKey key, Path viaRoot, Path link, boolean deleted) {
    ProcessInfo info = new ProcessInfo(42, List.of(42), exe, List.of(exe), Map.of(), 1, null, null);
    return new ProcessSnapshot(info, key, viaRoot, link, deleted);
  }

  @Test
  void prefersTheSharedBinariesDirectoryWhenTheInodeMatches() throws Exception {
    Path shared = Files.createDirectories(tmp.resolve("apm-binaries"));
    Path bin = Files.writeString(shared.resolve("app"), "x");
    Path link = tmp.resolve("exe-link");
    ProcessLifecycle.Target t =
        AttachTarget.locate(snapshot(bin.toString(), keyOf(bin), bin, link, false), shared, true);
    assertEquals(bin, t.attachPath());
    assertEquals(link, t.readPath());
    assertTrue(t.reason().startsWith("shared binaries directory"), t.reason());
    assertTrue(t.perBinary(), "one file for every process: attached once for all");
    assertTrue(t.lingerMillis() > 0, "platform-managed: may outlive its last process");
  }

  @Test
  void usesTheProcessRootWhenItReachesTheSameInode() throws Exception {
    Path root = Files.writeString(tmp.resolve("via-root"), "x");
    ProcessLifecycle.Target t = AttachTarget.locate(
        snapshot("/app/server", keyOf(root), root, tmp.resolve("exe"), false), tmp.resolve("apm"), true);
    assertEquals(root, t.attachPath());
    assertEquals("process root, inode verified", t.reason());
    assertTrue(t.perBinary(), "a file on a host file system (not overlay) is the same inode for every process");
    assertEquals(0, t.lingerMillis());
  }

  @Test
  void fallsBackToTheExeLinkOnAnotherInodeOrADeletedBinary() throws Exception {
    Path root = Files.writeString(tmp.resolve("via-root"), "x");
    Path other = Files.writeString(tmp.resolve("other"), "y");
    Path link = tmp.resolve("exe");
    ProcessLifecycle.Target t =
        AttachTarget.locate(snapshot("/app/server", keyOf(other), root, link, false), tmp, true);
    assertEquals(link, t.attachPath());
    assertTrue(t.reason().contains("no other path with the same inode"), t.reason());
    assertFalse(t.perBinary());
    ProcessLifecycle.Target d =
        AttachTarget.locate(snapshot("/app/server", keyOf(root), root, link, true), tmp, true);
    assertEquals(link, d.attachPath());
    assertTrue(d.reason().contains("deleted"), d.reason());
    assertFalse(d.perBinary());
  }
}
