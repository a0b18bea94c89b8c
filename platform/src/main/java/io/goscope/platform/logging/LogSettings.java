package io.goscope.platform.logging;

import io.goscope.api.Nullable;
import java.io.PrintStream;
import java.util.Locale;
import org.slf4j.event.Level;

/**
 * Where and how Goscope logs: always to standard error (standard output is for reports), as text or as JSON lines
 * ({@code GOSCOPE_LOG_FORMAT=json}), at {@code GOSCOPE_LOG_LEVEL} (default {@code info}; the CLI lowers it to
 * {@code warn} for {@code inspect} and {@code doctor} unless {@code -v}). Read once from the environment and system
 * properties ({@code goscope.log.format}, {@code goscope.log.level}); the CLI may change the level before work
 * starts.
 */
public final class LogSettings {
  /** Output formats. */
  public enum Format { TEXT, JSON }

  private static volatile int threshold = parseLevel(setting("goscope.log.level", "GOSCOPE_LOG_LEVEL"), Level.INFO)
      .toInt();
  private static volatile boolean off = "off".equalsIgnoreCase(setting("goscope.log.level", "GOSCOPE_LOG_LEVEL"));
  private static volatile Format format = parseFormat(setting("goscope.log.format", "GOSCOPE_LOG_FORMAT"));
  private static volatile PrintStream out = System.err;

  private LogSettings() {}

  /** Whether the level was set explicitly ({@code GOSCOPE_LOG_LEVEL}), which the CLI's defaults must not override. */
  public static boolean levelConfigured() {
    return setting("goscope.log.level", "GOSCOPE_LOG_LEVEL") != null;
  }

  /** Sets the threshold: events below it are not written. */
  public static void setLevel(Level level) {
    threshold = level.toInt();
    off = false;
  }

  public static void setFormat(Format f) {
    format = f;
  }

  /** Redirects the output (tests). */
  public static void setOutput(PrintStream stream) {
    out = stream;
  }

  static boolean enabled(Level level) {
    return !off && level.toInt() >= threshold;
  }

  static Format format() {
    return format;
  }

  static PrintStream output() {
    return out;
  }

  /** {@code trace}, {@code debug}, {@code info}, {@code warn} or {@code error}; else {@code fallback}. */
  public static Level parseLevel(@Nullable String value, Level fallback) {
    if (value == null || value.isBlank()) {
      return fallback;
    }
    return switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "trace" -> Level.TRACE;
      case "debug" -> Level.DEBUG;
      case "info" -> Level.INFO;
      case "warn", "warning" -> Level.WARN;
      case "error", "off" -> Level.ERROR;
      default -> fallback;
    };
  }

  static Format parseFormat(@Nullable String value) {
    return value != null && value.strip().equalsIgnoreCase("json") ? Format.JSON : Format.TEXT;
  }

  @Nullable
  private static String setting(String property, String env) {
    String v = System.getProperty(property);
    return v != null ? v : System.getenv(env);
  }
}
