package io.goscope.plugins.otlp;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * OTLP request headers read from a file ({@code GOSCOPE_OTLP_HEADERS_FILE}), for credentials kept in a Kubernetes
 * Secret mounted as a volume: the file holds {@code key=value} pairs in the {@code OTEL_EXPORTER_OTLP_HEADERS}
 * format (comma-separated, values URL-encoded), one or more per line; blank lines and lines starting with
 * {@code #} are ignored. The file is read again when it changes (a rotated Secret), checked at most once per export;
 * an unreadable file is logged once and sends no headers from it. These headers add to
 * {@code OTEL_EXPORTER_OTLP_HEADERS} (which a Secret can fill through the environment).
 */
final class HeadersFile implements Supplier<Map<String, String>> {
  /** The configuration key: {@code GOSCOPE_OTLP_HEADERS_FILE}. */
  static final String PROPERTY = "goscope.otlp.headers.file";

  private static final Logger log = Logger.getLogger(HeadersFile.class.getName());

  private final Path path;
  private FileTime lastModified;
  private long lastSize = -1;
  private Map<String, String> headers = Map.of();
  private boolean failureLogged;

  HeadersFile(Path path) {
    this.path = requireNonNull(path, "path");
  }

  @Override
  public synchronized Map<String, String> get() {
    try {
      FileTime modified = Files.getLastModifiedTime(path);
      long size = Files.size(path);
      if (!modified.equals(lastModified) || size != lastSize) {
        headers = parse(Files.readString(path, StandardCharsets.UTF_8));
        lastModified = modified;
        lastSize = size;
        failureLogged = false;
      }
    } catch (IOException | RuntimeException e) {
      if (!failureLogged) {
        failureLogged = true;
        log.log(Level.WARNING, "OTLP headers file unreadable, sending without its headers path=" + path
            + " reason=" + e);
      }
      headers = Map.of();
      lastModified = null;
    }
    return headers;
  }

  static Map<String, String> parse(String content) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : content.split("\\R")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      for (String pair : l.split(",")) {
        if (pair.isBlank()) {
          continue;
        }
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("header without '=': " + pair.strip());
        }
        String key = pair.substring(0, eq).strip();
        String value = URLDecoder.decode(pair.substring(eq + 1).strip(), StandardCharsets.UTF_8);
        out.put(key, value);
      }
    }
    return Map.copyOf(out);
  }
}
