package io.goscope.e2e.chart;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * A plugin built outside the Maven reactor, the way a third party builds one: {@code javac} against the
 * distribution's {@code lib/} jars only, pf4j's annotation processor for the extension index, and a jar with the
 * pf4j manifest. The source is {@code dist/src/test/external-plugin/exporter-jsonl} (plugin id
 * {@value #ID}, exporter name {@code jsonl}).
 */
public final class ExternalPlugin {
  /** The plugin id in its manifest. */
  public static final String ID = "example-exporter-jsonl";

  private ExternalPlugin() {}

  /** Compiles and packages the plugin against {@code goscopeLib} (a distribution's lib/); returns the jar. */
  public static Path build(Path goscopeLib, Path work) throws IOException {
    Path project = DistributionImage.repositoryRoot().resolve("dist/src/test/external-plugin/exporter-jsonl");
    Path classes = Files.createDirectories(work.resolve("classes"));
    List<String> sources;
    try (Stream<Path> s = Files.walk(project.resolve("src"))) {
      sources = s.filter(p -> p.toString().endsWith(".java")).map(Path::toString).sorted().toList();
    }
    List<String> lib;
    try (Stream<Path> s = Files.list(goscopeLib)) {
      lib = s.filter(p -> p.toString().endsWith(".jar")).map(Path::toString).sorted().toList();
    }
    String pf4j = lib.stream().filter(j -> Path.of(j).getFileName().toString().startsWith("pf4j-")).findFirst()
        .orElseThrow(() -> new AssertionError("no pf4j jar in " + goscopeLib));
    List<String> args = new ArrayList<>(List.of("--release", "17", "-d", classes.toString(),
        "-cp", String.join(":", lib), "-processorpath", pf4j));
    args.addAll(sources);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    StringWriter diagnostics = new StringWriter();
    OutputStream err = new OutputStream() {
      @Override
      public void write(int b) {
        diagnostics.write(b);
      }
    };
    int rc = javac.run(null, null, err, args.toArray(String[]::new));
    if (rc != 0) {
      throw new AssertionError("javac failed for the external plugin:\n" + diagnostics);
    }
    if (!Files.isRegularFile(classes.resolve("META-INF/extensions.idx"))) {
      throw new AssertionError("pf4j's annotation processor wrote no META-INF/extensions.idx");
    }
    Path jar = work.resolve(ID + "-1.0.0.jar");
    Manifest manifest;
    try (InputStream in = Files.newInputStream(project.resolve("MANIFEST.MF"))) {
      manifest = new Manifest(in);
    }
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest);
        Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(f).toString()));
        Files.copy(f, out);
        out.closeEntry();
      }
    }
    return jar;
  }
}
