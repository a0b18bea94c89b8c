package io.goscope.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Parses a Prometheus exposition with a real parser: the Prometheus Python client's (Debian's
 * python3-prometheus-client, installed by the Makefile), its text-format parser or its strict OpenMetrics parser. No
 * Java parser exists on Maven Central (the Java client only writes the formats). A parse error fails the test with
 * the parser's message.
 */
public final class PrometheusParser {
  private static final String SCRIPT = String.join("\n",
      "import sys",
      "from prometheus_client.parser import text_string_to_metric_families as text",
      "from prometheus_client.openmetrics.parser import text_string_to_metric_families as om",
      "body = sys.stdin.read()",
      "families = om(body) if sys.argv[1] == 'openmetrics' else text(body)",
      "for f in families:",
      "    print('family\\t%s\\t%s' % (f.name, f.type))",
      "    for s in f.samples:",
      "        labels = ','.join('%s=%s' % (k, s.labels[k]) for k in sorted(s.labels))",
      "        print('sample\\t%s{%s}\\t%r' % (s.name, labels, float(s.value)))",
      "");

  /** What was parsed: family name to type, and {@code name{k=v,...}} (labels sorted) to value. */
  public record Parsed(Map<String, String> families, Map<String, Double> samples) {
    /** The value of a sample, e.g. {@code goscope_spans_dropped_total{reason=queue_full}}; fails when absent. */
    public double value(String key) {
      Double v = samples.get(key);
      if (v == null) {
        throw new AssertionError("no sample " + key + " in " + samples.keySet());
      }
      return v;
    }
  }

  /** Debian's Python, which the python3-prometheus-client package installs into (not a pyenv on the PATH). */
  private static final String PYTHON = "/usr/bin/python3";

  private PrometheusParser() {}

  /** Parses the text format 0.0.4. */
  public static Parsed text(String body) {
    return parse(body, "text");
  }

  /** Parses OpenMetrics 1.0 strictly (e.g. a missing {@code # EOF} fails). */
  public static Parsed openMetrics(String body) {
    return parse(body, "openmetrics");
  }

  private static Parsed parse(String body, String format) {
    try {
      Process p = new ProcessBuilder(PYTHON, "-c", SCRIPT, format).start();
      try (OutputStream in = p.getOutputStream()) {
        in.write(body.getBytes(StandardCharsets.UTF_8));
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError(format + " exposition rejected by the Prometheus parser:\n" + err + "\nbody:\n"
            + body);
      }
      Map<String, String> families = new LinkedHashMap<>();
      Map<String, Double> samples = new LinkedHashMap<>();
      for (String line : out.split("\n")) {
        String[] f = line.split("\t");
        if (f[0].equals("family")) {
          families.put(f[1], f[2]);
        } else if (f[0].equals("sample")) {
          samples.put(f[1], Double.parseDouble(f[2].replace("inf", "Infinity").replace("nan", "NaN")));
        }
      }
      return new Parsed(families, samples);
    } catch (IOException e) {
      BpfAssumptions.skipOrFail("python3 with prometheus_client unavailable (apt-get install "
          + "python3-prometheus-client): " + e.getMessage());
      throw new AssertionError("unreachable");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
