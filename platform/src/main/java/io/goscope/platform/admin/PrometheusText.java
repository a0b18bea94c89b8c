package io.goscope.platform.admin;

import io.goscope.platform.admin.SelfMetrics.Family;
import io.goscope.platform.admin.SelfMetrics.Sample;
import io.goscope.platform.admin.SelfMetrics.Type;
import java.util.List;
import java.util.Map;

/**
 * Renders collected {@link SelfMetrics} in the Prometheus text exposition format 0.0.4, or in OpenMetrics 1.0.0
 * when the scraper asks for it ({@code Accept: application/openmetrics-text}). Counters get their {@code _total}
 * suffix; in OpenMetrics the family keeps the base name, info families drop {@code _info}, and the body ends with
 * {@code # EOF}.
 */
public final class PrometheusText {
  public static final String TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
  public static final String OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

  private PrometheusText() {}

  /** Whether an {@code Accept} header asks for OpenMetrics. */
  public static boolean wantsOpenMetrics(String accept) {
    return accept != null && accept.contains("application/openmetrics-text");
  }

  public static String write(List<Family> families, boolean openMetrics) {
    StringBuilder sb = new StringBuilder(4096);
    for (Family f : families) {
      if (f.samples().isEmpty() && f.histograms().isEmpty()) {
        continue;
      }
      String family = familyName(f, openMetrics);
      sb.append("# HELP ").append(family).append(' ');
      escapeHelp(sb, f.help());
      sb.append('\n');
      sb.append("# TYPE ").append(family).append(' ').append(typeName(f.type(), openMetrics)).append('\n');
      switch (f.type()) {
        case COUNTER -> {
          for (Sample s : f.samples()) {
            sample(sb, f.name() + "_total", s.labels(), null, s.value());
          }
        }
        case GAUGE, INFO -> {
          for (Sample s : f.samples()) {
            sample(sb, f.name(), s.labels(), null, s.value());
          }
        }
        case HISTOGRAM -> {
          for (HistogramSnapshot h : f.histograms()) {
            long cumulative = 0;
            for (int i = 0; i < h.counts().length; i++) {
              cumulative += h.counts()[i];
              String le = i < h.bounds().length ? number(h.bounds()[i]) : "+Inf";
              sample(sb, f.name() + "_bucket", Map.of(), le, cumulative);
            }
            sample(sb, f.name() + "_count", Map.of(), null, h.count());
            sample(sb, f.name() + "_sum", Map.of(), null, h.sum());
          }
        }
        default -> throw new IllegalStateException(f.type().toString());
      }
    }
    if (openMetrics) {
      sb.append("# EOF\n");
    }
    return sb.toString();
  }

  private static String familyName(Family f, boolean openMetrics) {
    if (!openMetrics) {
      return f.type() == Type.COUNTER ? f.name() + "_total" : f.name();
    }
    if (f.type() == Type.INFO && f.name().endsWith("_info")) {
      return f.name().substring(0, f.name().length() - "_info".length());
    }
    return f.name();
  }

  private static String typeName(Type t, boolean openMetrics) {
    return switch (t) {
      case COUNTER -> "counter";
      case GAUGE -> "gauge";
      case HISTOGRAM -> "histogram";
      case INFO -> openMetrics ? "info" : "gauge";
    };
  }

  private static void sample(StringBuilder sb, String name, Map<String, String> labels, String le, double value) {
    sb.append(name);
    if (!labels.isEmpty() || le != null) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<String, String> e : labels.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        sb.append(e.getKey()).append("=\"");
        escapeLabel(sb, e.getValue());
        sb.append('"');
      }
      if (le != null) {
        if (!first) {
          sb.append(',');
        }
        sb.append("le=\"").append(le).append('"');
      }
      sb.append('}');
    }
    sb.append(' ').append(number(value)).append('\n');
  }

  static String number(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == Math.rint(v) && Math.abs(v) < 9.007199254740992E15) {
      return Long.toString((long) v);
    }
    return Double.toString(v);
  }

  private static void escapeHelp(StringBuilder sb, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        default -> sb.append(c);
      }
    }
  }

  private static void escapeLabel(StringBuilder sb, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '"' -> sb.append("\\\"");
        default -> sb.append(c);
      }
    }
  }
}
