package io.goscope.platform.logging;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * Writes one line per event to {@link LogSettings#output()}: text
 * ({@code 2026-11-29T16:25:26.123Z INFO [thread] logger - message}) or a JSON object with {@code time},
 * {@code level}, {@code logger}, {@code thread}, {@code message} and, for an exception, {@code error} and
 * {@code stack}.
 */
final class GoscopeLogger extends LegacyAbstractLogger {
  private static final long serialVersionUID = 1L;

  GoscopeLogger(String name) {
    this.name = name;
  }

  @Override
  public boolean isTraceEnabled() {
    return LogSettings.enabled(Level.TRACE);
  }

  @Override
  public boolean isDebugEnabled() {
    return LogSettings.enabled(Level.DEBUG);
  }

  @Override
  public boolean isInfoEnabled() {
    return LogSettings.enabled(Level.INFO);
  }

  @Override
  public boolean isWarnEnabled() {
    return LogSettings.enabled(Level.WARN);
  }

  @Override
  public boolean isErrorEnabled() {
    return LogSettings.enabled(Level.ERROR);
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  protected void handleNormalizedLoggingCall(Level level, Marker marker, String messagePattern, Object[] arguments,
      Throwable throwable) {
    String message = MessageFormatter.basicArrayFormat(messagePattern, arguments);
    String line = LogSettings.format() == LogSettings.Format.JSON
        ? json(Instant.now(), level, name, Thread.currentThread().getName(), message, throwable)
        : text(Instant.now(), level, name, Thread.currentThread().getName(), message, throwable);
    LogSettings.output().print(line);
  }

  static String text(Instant time, Level level, String logger, String thread, String message, Throwable t) {
    StringBuilder sb = new StringBuilder(160);
    sb.append(time).append(' ').append(level).append(" [").append(thread).append("] ").append(logger)
        .append(" - ").append(message).append('\n');
    if (t != null) {
      sb.append(stackTrace(t));
    }
    return sb.toString();
  }

  static String json(Instant time, Level level, String logger, String thread, String message, Throwable t) {
    StringBuilder sb = new StringBuilder(200);
    sb.append("{\"time\":\"").append(time).append("\",\"level\":\"").append(level).append("\",\"logger\":");
    quote(sb, logger);
    sb.append(",\"thread\":");
    quote(sb, thread);
    sb.append(",\"message\":");
    quote(sb, message);
    if (t != null) {
      sb.append(",\"error\":");
      quote(sb, t.toString());
      sb.append(",\"stack\":");
      quote(sb, stackTrace(t));
    }
    sb.append("}\n");
    return sb.toString();
  }

  private static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    return w.toString();
  }

  static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
