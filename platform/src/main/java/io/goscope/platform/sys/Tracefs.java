package io.goscope.platform.sys;

import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libbpf resolves tracepoint ids through tracefs ({@code /sys/kernel/tracing} or
 * {@code /sys/kernel/debug/tracing}); on hosts where nothing mounted it, mount it once before attaching.
 */
final class Tracefs {
  private static final Logger LOG = LoggerFactory.getLogger(Tracefs.class);
  static final Path TRACING = Path.of("/sys/kernel/tracing");
  private static final Path DEBUG_TRACING = Path.of("/sys/kernel/debug/tracing");

  private static boolean checked;
  private static String problem = "";

  private Tracefs() {}

  /** Makes sure tracefs is reachable; returns a hint for error messages when it is not, else empty. */
  static synchronized String ensureMounted() {
    if (checked) {
      return problem;
    }
    checked = true;
    if (Files.isDirectory(TRACING.resolve("events")) || Files.isDirectory(DEBUG_TRACING.resolve("events"))) {
      return problem;
    }
    if (!Files.isDirectory(TRACING)) {
      problem = "tracefs is not mounted and " + TRACING + " does not exist";
      return problem;
    }
    int rc = Libc.lib().mount("tracefs", TRACING.toString(), "tracefs", 0, null);
    if (rc != 0) {
      int errno = Libc.lastErrno();
      problem = "tracefs is not mounted at " + TRACING + " and mounting it failed: " + Errno.name(errno);
      LOG.info("cannot mount tracefs path={} errno={}", TRACING, Errno.name(errno));
    } else {
      LOG.info("mounted tracefs path={} (needed to attach tracepoints)", TRACING);
    }
    return problem;
  }
}
