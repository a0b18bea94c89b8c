package io.goscope.api.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** The Goscope source tree a plugin's tests run in: {@code -Dgoscope.root}, else the nearest parent with the kit. */
public final class GoscopeRoot {
  private GoscopeRoot() {}

  /** The directory holding {@code bpf-programs/include}, from {@code goscope.root} or the working directory up. */
  public static Path find() {
    String prop = System.getProperty("goscope.root");
    Path start = prop != null ? Path.of(prop) : Path.of("").toAbsolutePath();
    for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("bpf-programs/include"))) {
        return p;
      }
    }
    throw new IllegalStateException("cannot find the goscope root (bpf-programs/include) above " + start);
  }
}
