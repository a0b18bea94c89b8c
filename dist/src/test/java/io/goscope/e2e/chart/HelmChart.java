package io.goscope.e2e.chart;

import static java.util.Objects.requireNonNull;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.InstallCommand;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The repository's {@code chart/}, linted and rendered by Helm itself (helm-java embeds Helm as a native library and
 * needs neither a helm binary nor a cluster). Values are YAML documents, layered like repeated {@code -f} flags.
 */
public final class HelmChart {
  /** Release name and namespace every rendering uses, as in {@code helm install goscope -n observability}. */
  public static final String RELEASE = "goscope";
  public static final String NAMESPACE = "observability";

  private final Path dir;
  private final Path work;

  private HelmChart(Path dir, Path work) {
    this.dir = dir;
    this.work = work;
  }

  /** The chart of this repository; {@code work} receives the values files. */
  public static HelmChart ofRepository(Path work) {
    Path root = Path.of(System.getProperty("goscope.root", ".."));
    Path chart = root.resolve("chart").toAbsolutePath().normalize();
    if (!Files.isRegularFile(chart.resolve("Chart.yaml"))) {
      throw new IllegalStateException("no chart at " + chart);
    }
    return new HelmChart(chart, requireNonNull(work, "work"));
  }

  public Path dir() {
    return dir;
  }

  /** {@code helm lint --strict} with the default values. */
  public LintResult lint() {
    return new Helm(dir).lint().strict().call();
  }

  /**
   * {@code helm template goscope chart/ -n observability -f <values>...}: every document, parsed into fabric8 model
   * objects. A schema violation or a template {@code fail} throws with Helm's message.
   */
  public Rendered render(String... valuesYaml) {
    TemplateCommand template = new Helm(dir).template().withName(RELEASE).withNamespace(NAMESPACE);
    for (Path values : valuesFiles(valuesYaml)) {
      template = template.withValuesFile(values);
    }
    return Rendered.parse(template.call());
  }

  /** The release notes ({@code NOTES.txt}) of a client-only dry-run install with these values. */
  public String notes(String... valuesYaml) {
    InstallCommand install =
        new Helm(dir).install().withName(RELEASE).withNamespace(NAMESPACE).dryRun().clientOnly();
    for (Path values : valuesFiles(valuesYaml)) {
      install = install.withValuesFile(values);
    }
    String output = install.call().getOutput();
    int notes = output.indexOf("NOTES:");
    if (notes < 0) {
      throw new AssertionError("no NOTES in the install output:\n" + output);
    }
    return output.substring(notes + "NOTES:".length());
  }

  private List<Path> valuesFiles(String... valuesYaml) {
    List<Path> files = new ArrayList<>();
    try {
      Files.createDirectories(work);
      for (String yaml : valuesYaml) {
        Path f = Files.createTempFile(work, "values-", ".yaml");
        Files.writeString(f, yaml, StandardCharsets.UTF_8);
        files.add(f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  /** Parses one manifest document into its fabric8 model type (a generic resource for custom resources). */
  static HasMetadata parseDocument(String yaml) {
    Object o = SERIALIZATION.unmarshal(yaml);
    if (!(o instanceof HasMetadata resource)) {
      throw new AssertionError("not a Kubernetes object: " + o + "\n" + yaml);
    }
    return resource;
  }
}
