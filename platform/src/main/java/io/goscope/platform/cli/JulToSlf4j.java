package io.goscope.platform.cli;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes java.util.logging (which the OTel SDK and exporters use) into SLF4J as one line per record: the message
 * and the cause's text, no stack trace. An OTLP backend that is down then costs a few throttled log lines, not pages
 * of traces on stderr.
 */
final class JulToSlf4j extends Handler {
  private JulToSlf4j() {}

  static void install() {
    java.util.logging.Logger root = LogManager.getLogManager().getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    root.addHandler(new JulToSlf4j());
    root.setLevel(Level.INFO);
  }

  @Override
  public void publish(LogRecord r) {
    if (r == null || !isLoggable(r)) {
      return;
    }
    Logger log = LoggerFactory.getLogger(r.getLoggerName() == null ? "jul" : r.getLoggerName());
    String msg = r.getMessage();
    if (r.getParameters() != null && msg != null) {
      try {
        msg = java.text.MessageFormat.format(msg, r.getParameters());
      } catch (IllegalArgumentException ignored) {
        // keep the raw message
      }
    }
    if (r.getThrown() != null) {
      msg = msg + " cause=" + r.getThrown();
    }
    int level = r.getLevel().intValue();
    if (level >= Level.SEVERE.intValue()) {
      log.warn("{}", msg);
    } else if (level >= Level.WARNING.intValue()) {
      log.warn("{}", msg);
    } else if (level >= Level.INFO.intValue()) {
      log.info("{}", msg);
    } else {
      log.debug("{}", msg);
    }
  }

  @Override
  public void flush() {}

  @Override
  public void close() {}
}
