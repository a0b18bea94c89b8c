package io.goscope.platform.discovery;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Builds a fake {@code /proc} tree in a directory, for tests. */
final class FakeProc {
  final Path root;

  FakeProc(Path root) {
    this.root = root;
  }

  /** Adds a process whose exe link points at {@code exe}; returns its directory. */
  Path addProcess(int pid, int tgid, List<Integer> nspids, String comm, long start, Path exe, List<String> argv,
      Map<String, String> env, String cgroup) {
    try {
      Path dir = Files.createDirectories(root.resolve(Integer.toString(pid)));
      StringBuilder nspid = new StringBuilder();
      for (int n : nspids) {
        nspid.append('\t').append(n);
      }
      write(dir.resolve("status"), "Name:\t" + comm + "\nTgid:\t" + tgid + "\nPid:\t" + pid + "\nNSpid:" + nspid
          + "\nUid:\t0\t0\t0\t0\n");
      writeStat(pid, comm, start);
      StringBuilder args = new StringBuilder();
      argv.forEach(a -> args.append(a).append('\0'));
      write(dir.resolve("cmdline"), args.toString());
      StringBuilder environ = new StringBuilder();
      env.forEach((k, v) -> environ.append(k).append('=').append(v).append('\0'));
      write(dir.resolve("environ"), environ.toString());
      write(dir.resolve("cgroup"), cgroup);
      if (exe != null) {
        Files.createSymbolicLink(dir.resolve("exe"), exe);
      }
      Files.createDirectories(dir.resolve("root"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void writeStat(int pid, String comm, long start) {
    StringBuilder stat = new StringBuilder(pid + " (" + comm + ") S 1 " + pid + " " + pid);
    for (int field = 7; field <= 21; field++) {
      stat.append(' ').append(field == 20 ? 1 : 0);
    }
    stat.append(' ').append(start);
    for (int field = 23; field <= 52; field++) {
      stat.append(" 0");
    }
    write(root.resolve(Integer.toString(pid)).resolve("stat"), stat + "\n");
  }

  static void write(Path file, String content) {
    try {
      Files.writeString(file, content, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
