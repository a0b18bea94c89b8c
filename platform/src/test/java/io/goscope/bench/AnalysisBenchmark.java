package io.goscope.bench;

import io.goscope.api.StructField;
import io.goscope.platform.cli.NetHttpProbeSetFixture;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.GoBinary;
import io.goscope.platform.gobinary.GoFunction;
import io.goscope.platform.gobinary.ResolvedField;
import io.goscope.platform.instrument.BinaryAnalyzer;
import io.goscope.platform.instrument.ProbePlanner;
import io.goscope.platform.instrument.ProbeSetRuntime;
import io.goscope.testing.DistinctGoBinaries;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Analysis cost of large Go binaries: cold analysis (open, the nethttp symbol with its return sites, every nethttp
 * field through {@link FieldResolver}), heap retained by it, and the cached re-analysis through
 * {@link BinaryAnalyzer}. Budget: a 50 MB stripped binary in 300 ms and 64 MB of heap; cached in 5 ms.
 *
 * <p>Usage: {@code AnalysisBenchmark [--go <release|GOROOT>] [--generate <dir> <packages> <funcsPerPackage>]
 * [--many <dir> <n>] <binary>...}; run by {@code dist/bench/analysis.sh}. {@code --go go1.27.3} builds with that
 * release (fetched through the module proxy); {@code --many} measures a node of {@code n} different binaries.
 */
public final class AnalysisBenchmark {
  private static final int RUNS = 5;

  private AnalysisBenchmark() {}

  public static void main(String[] args) throws Exception {
    List<Path> binaries = new ArrayList<>();
    GoToolchain toolchain = GoToolchain.installed();
    int many = 0;
    Path manyDir = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--go")) {
        String go = args[i + 1];
        toolchain = go.startsWith("go1.") ? GoToolchain.modules().orElseThrow(() ->
            new IllegalStateException("no Go for module builds to fetch " + go)).withToolchain(go)
            : GoToolchain.at(Path.of(go));
        i += 1;
      } else if (args[i].equals("--generate")) {
        binaries.add(generate(toolchain, Path.of(args[i + 1]), Integer.parseInt(args[i + 2]),
            Integer.parseInt(args[i + 3])));
        i += 3;
      } else if (args[i].equals("--many")) {
        manyDir = Path.of(args[i + 1]);
        many = Integer.parseInt(args[i + 2]);
        i += 2;
      } else {
        binaries.add(Path.of(args[i]));
      }
    }
    System.out.printf("%-40s %8s %9s %10s %10s %9s %8s %8s%n", "binary", "MB", "stripped", "first ms",
        "median ms", "heap MB", "cached ms", "fields");
    for (Path bin : binaries) {
      measure(bin);
    }
    if (many > 0) {
      measureMany(DistinctGoBinaries.build(toolchain, manyDir, many));
    }
  }

  /**
   * A node with {@code binaries.size()} different Go services, 3 pods each (one from a copy of the image at another
   * path), reconciled 4 times, through one {@link BinaryAnalyzer}: parses, cache hits, time of the first round and
   * of the later rounds, and heap the analyzer retains.
   */
  static void measureMany(List<Path> binaries) throws IOException {
    Path copies = Files.createTempDirectory("goscope-many");
    List<Path> copy = new ArrayList<>();
    for (Path b : binaries) {
      copy.add(Files.copy(b, copies.resolve(b.getFileName()), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES));
    }
    long base = usedAfterGc();
    BinaryAnalyzer analyzer = new BinaryAnalyzer(new ProbePlanner(new FieldResolver(List.of(), null)),
        List.of(ProbeSetRuntime.load(1, new NetHttpProbeSetFixture())), BinaryAnalyzer.DEFAULT_CAPACITY);
    long[] roundNs = new long[4];
    long total = 0;
    for (int round = 0; round < roundNs.length; round++) {
      long s = System.nanoTime();
      for (int i = 0; i < binaries.size(); i++) {
        for (int pod = 0; pod < 3; pod++) {
          Path exe = pod == 2 ? copy.get(i) : binaries.get(i);
          analyzer.analyze(exe, key(exe));
          total += Files.size(exe) / 3;
        }
      }
      roundNs[round] = System.nanoTime() - s;
    }
    long heap = usedAfterGc() - base;
    System.out.printf("%n%d different binaries (%.1f MB in all) x 3 pods x 4 reconciles: %d parses, %d cache hits;"
        + " first round %.1f ms (%.1f ms per binary), later rounds %.2f ms each; analyzer retains %.1f MB%n",
        binaries.size(), total / 4 / 1e6, analyzer.misses(), analyzer.hits(), roundNs[0] / 1e6,
        roundNs[0] / 1e6 / binaries.size(), (roundNs[1] + roundNs[2] + roundNs[3]) / 3e6, heap / 1048576.0);
    if (analyzer.misses() != binaries.size()) {
      throw new IllegalStateException("expected one parse per binary, got " + analyzer.misses());
    }
  }

  static BinaryAnalyzer.FileKey key(Path p) throws IOException {
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
    return new BinaryAnalyzer.FileKey(((Number) Files.getAttribute(p, "unix:dev")).longValue(),
        ((Number) Files.getAttribute(p, "unix:ino")).longValue(), a.lastModifiedTime().toMillis() * 1_000_000);
  }

  /** One cold analysis: what the agent does the first time it meets a binary. */
  static Object[] analyse(Path bin, FieldResolver resolver) {
    GoBinary b = GoBinary.open(bin);
    GoFunction f = b.functionWithReturns(NetHttpProbeSetFixture.SERVE_HTTP)
        .orElseThrow(() -> new IllegalStateException(bin + ": no " + NetHttpProbeSetFixture.SERVE_HTTP));
    List<ResolvedField> fields = resolver.resolveAll(b, NetHttpProbeSetFixture.allFields(), List.of());
    return new Object[] {b, f, fields};
  }

  static void measure(Path bin) throws IOException {
    long size = Files.size(bin);
    boolean stripped;
    try (GoBinary b = GoBinary.open(bin)) {
      stripped = b.stripped();
    }
    long base = usedAfterGc();
    long t0 = System.nanoTime();
    Object[] first = analyse(bin, new FieldResolver(List.of(), null));
    long firstNs = System.nanoTime() - t0;
    long heap = usedAfterGc() - base;
    @SuppressWarnings("unchecked")
    List<ResolvedField> fields = (List<ResolvedField>) first[2];
    long found = fields.stream().filter(ResolvedField::found).count();
    ((GoBinary) first[0]).close();
    first = null;

    long[] runs = new long[RUNS];
    for (int i = 0; i < RUNS; i++) {
      long s = System.nanoTime();
      Object[] r = analyse(bin, new FieldResolver(List.of(), null));
      runs[i] = System.nanoTime() - s;
      ((GoBinary) r[0]).close();
    }
    Arrays.sort(runs);

    ProbeSetRuntime runtime = ProbeSetRuntime.load(1, new NetHttpProbeSetFixture());
    long cachedNs;
    {
      BinaryAnalyzer analyzer = new BinaryAnalyzer(new ProbePlanner(new FieldResolver(List.of(), null)),
          List.of(runtime), BinaryAnalyzer.DEFAULT_CAPACITY);
      BinaryAnalyzer.FileKey key = key(bin);
      analyzer.analyze(bin, key);
      long s = System.nanoTime();
      BinaryAnalyzer.Analysis again = analyzer.analyze(bin, key);
      cachedNs = System.nanoTime() - s;
      if (!again.plans().values().iterator().next().attachable()) {
        System.out.println("  note: nethttp plan not attachable: " + again.plans().values().iterator().next());
      }
    }
    System.out.printf("%-40s %8.1f %9s %10.1f %10.1f %9.1f %9.3f %5d/%d%n", name(bin), size / 1e6, stripped,
        firstNs / 1e6, runs[RUNS / 2] / 1e6, heap / 1048576.0, cachedNs / 1e6, found, fields.size());
    for (ResolvedField f : fields) {
      StructField sf = f.field();
      System.out.printf("    %-48s %6s %s%n", sf.qualifiedName(), f.offset().isPresent() ? f.offset().getAsLong()
          : "-", f.source());
    }
  }

  private static String name(Path p) {
    String s = p.toString();
    return s.length() <= 40 ? s : "..." + s.substring(s.length() - 37);
  }

  static long usedAfterGc() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 4; i++) {
      System.gc();
    }
    return rt.totalMemory() - rt.freeMemory();
  }

  /**
   * Writes a net/http server plus {@code packages} generated packages of {@code funcs} functions and struct types
   * each (all reachable from main, so the linker keeps them), and builds it stripped ({@code -s -w}).
   */
  static Path generate(GoToolchain toolchain, Path dir, int packages, int funcs) throws IOException {
    Path gopath = dir.toAbsolutePath();
    Path src = gopath.resolve("src/bigapp");
    StringBuilder main = new StringBuilder("package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n\t\"os\"\n");
    for (int p = 0; p < packages; p++) {
      main.append("\tp").append(p).append(" \"bigapp/p").append(p).append("\"\n");
    }
    main.append(")\n\nfunc main() {\n\tsum := 0\n");
    for (int p = 0; p < packages; p++) {
      main.append("\tsum += p").append(p).append(".Entry(len(os.Args))\n");
    }
    main.append("\tfmt.Println(sum)\n\tif len(os.Args) > 5 {\n\t\thttp.ListenAndServe(\":0\", nil)\n\t}\n}\n");
    Files.createDirectories(src);
    Files.writeString(src.resolve("main.go"), main);
    for (int p = 0; p < packages; p++) {
      Path pd = Files.createDirectories(src.resolve("p" + p));
      StringBuilder s = new StringBuilder("package p" + p + "\n\nimport \"fmt\"\n\n");
      s.append("type Shape interface { Area(k int) int }\n\n");
      for (int f = 0; f < funcs; f++) {
        s.append("type T").append(f).append(" struct {\n\tA int\n\tB string\n\tC []byte\n\tD map[string]int\n\tE *T")
            .append(f).append("\n}\n\n");
        s.append("func (t *T").append(f).append(") Area(k int) int {\n\tif t == nil {\n\t\treturn k\n\t}\n")
            .append("\tswitch k % 7 {\n\tcase 0:\n\t\treturn t.A + len(t.B)\n\tcase 1:\n\t\treturn len(t.C) * 3\n")
            .append("\tcase 2:\n\t\treturn t.D[t.B] + ").append(f).append("\n\tcase 3:\n\t\treturn len(fmt.Sprint(k, t.B))\n")
            .append("\tdefault:\n\t\treturn t.E.Area(k - 1) + ").append(f).append("\n\t}\n}\n\n");
        s.append("func F").append(f).append("(k int) int {\n\tt := &T").append(f)
            .append("{A: k, B: \"x").append(f).append("\", D: map[string]int{}}\n\tvar s Shape = t\n\treturn s.Area(k)");
        if (f > 0) {
          s.append(" + F").append(f - 1).append("(k-1)");
        }
        s.append("\n}\n\n");
      }
      s.append("func Entry(k int) int {\n\treturn F").append(funcs - 1).append("(k)\n}\n");
      Files.writeString(pd.resolve("gen.go"), s);
    }
    Path out = gopath.resolve("bigapp-" + packages + "x" + funcs + "-" + toolchain.version() + "-sw");
    return GoBuilder.build(toolchain, src, out, List.of("-ldflags=-s -w"), Map.of("GOPATH", gopath.toString()));
  }
}
