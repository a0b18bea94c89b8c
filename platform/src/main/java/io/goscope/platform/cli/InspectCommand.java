package io.goscope.platform.cli;

import io.goscope.api.ProbeSet;
import io.goscope.platform.agent.AgentConfig;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.GoBinary;
import io.goscope.platform.gobinary.GoBinaryFormatException;
import io.goscope.platform.gobinary.GoBuildInfo;
import io.goscope.platform.gobinary.ModuleData;
import io.goscope.platform.gobinary.ModuleDataNotFoundException;
import io.goscope.platform.gobinary.OffsetBundleDirectory;
import io.goscope.platform.instrument.ProbeSetRuntime;
import io.goscope.platform.gobinary.ResolvedField;
import io.goscope.platform.instrument.FunctionPlan;
import io.goscope.platform.instrument.ProbePlan;
import io.goscope.platform.instrument.ProbePlanner;
import io.goscope.platform.plugin.PluginHost;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code goscope inspect <path|pid> [--json]}: what each probe set would attach in a binary, and why not. Pure
 * analysis; touches no kernel object, so it runs without privileges on any file.
 */
final class InspectCommand {
  private InspectCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    boolean json = false;
    String target = null;
    for (String a : args) {
      if (a.equals("--json")) {
        json = true;
      } else if (target == null) {
        target = a;
      } else {
        err.println("goscope inspect: unexpected argument " + a);
        return 2;
      }
    }
    if (target == null) {
      err.println("usage: goscope inspect <path|pid> [--json]");
      return 2;
    }
    AgentConfig config = AgentConfig.fromEnvironment();
    Path path = target.matches("\\d+") ? config.hostProc().resolve(target).resolve("exe") : Path.of(target);
    if (!Files.exists(path)) {
      err.println("goscope inspect: " + path + ": no such file or process");
      return 1;
    }
    Map<String, Object> report;
    try (PluginHost plugins = PluginHost.start(config.pluginsDir(), Set.copyOf(config.pluginsEnabled()),
            Set.copyOf(config.pluginsDisabled()));
        GoBinary binary = GoBinary.open(path)) {
      OffsetBundleDirectory bundles = config.offsetsDir() == null ? null
          : OffsetBundleDirectory.scanOnce(config.offsetsDir());
      FieldResolver resolver = new FieldResolver(List.of(), bundles);
      report = report(binary, plugins.probeSets(), new ProbePlanner(resolver));
      if (bundles != null) {
        bundles.close();
      }
    }
    if (json) {
      out.println(JsonWriter.write(report));
    } else {
      printText(report, out);
    }
    return 0;
  }

  static Map<String, Object> report(GoBinary binary, List<ProbeSet> sets, ProbePlanner planner) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("path", binary.path().toString());
    r.put("goVersion", String.valueOf(binary.goVersion()));
    r.put("buildId", binary.buildId().orElse(null));
    r.put("stripped", binary.stripped());
    r.put("pie", binary.isPie());
    Optional<GoBuildInfo> info = binary.buildInfo();
    r.put("mainModule", info.flatMap(GoBuildInfo::mainModule).map(m -> m.path() + " " + m.version()).orElse(null));
    Map<String, String> modules = new LinkedHashMap<>();
    info.ifPresent(i -> i.dependencies().forEach(m -> modules.put(m.path(),
        m.replacement() == null ? m.version() : m.version() + " => " + m.replacement().path() + " "
            + m.replacement().version())));
    r.put("modules", modules);
    r.put("moduleData", moduleData(binary));
    List<Object> probeSets = new ArrayList<>();
    List<ProbeSet> all = new ArrayList<>(sets);
    all.add(new io.goscope.platform.instrument.GoroutineProbeSet());
    io.goscope.platform.instrument.PropagationSupport propagation = propagationSupport();
    for (ProbeSet set : all) {
      List<io.goscope.platform.gobinary.OffsetTable> tables;
      try {
        tables = ProbeSetRuntime.offsetTablesOf(set);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("probe set " + set.descriptor().id() + ": " + e.getMessage(), e);
      }
      ProbePlan plan = planner.plan(binary, set.descriptor(), tables);
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("id", plan.probeSetId());
      p.put("verdict", plan.attachable() ? "will attach" : "skipped: " + plan.failure());
      List<Object> fns = new ArrayList<>();
      for (FunctionPlan f : plan.functions()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("symbol", f.symbol());
        m.put("feature", f.probe().feature());
        m.put("found", f.entryFileOffset() >= 0);
        m.put("address", f.address() == 0 ? null : hex(f.address()));
        m.put("fileOffset", f.entryFileOffset() < 0 ? null : hex(f.entryFileOffset()));
        m.put("entrySite", f.entrySite() < 0 || f.probe().entryProgram() == null ? null : hex(f.entrySite()));
        m.put("returnSites", f.returnFileOffsets().size());
        m.put("verdict", f.verdict());
        fns.add(m);
      }
      p.put("functions", fns);
      Set<String> kinds = set.descriptor().probes().stream().map(io.goscope.api.FunctionProbe::feature)
          .filter(f -> io.goscope.api.FunctionProbe.PROPAGATION.equals(f)
              || io.goscope.api.FunctionProbe.SOCKET_PROPAGATION.equals(f))
          .collect(java.util.stream.Collectors.toSet());
      if (!kinds.isEmpty()) {
        boolean usable = kinds.stream().anyMatch(propagation.features()::contains);
        p.put("propagation", usable ? propagation.summary()
            : "propagation unavailable: " + kinds.stream().map(k -> propagation.unavailable().get(k))
                .filter(java.util.Objects::nonNull).findFirst().orElse("this probe set has no probes for it here"));
      }
      p.put("versionedConstants", plan.versionedConstants());
      List<Object> fields = new ArrayList<>();
      for (ResolvedField f : plan.fields()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("field", f.field().qualifiedName());
        m.put("offset", f.offset().isPresent() ? f.offset().getAsLong() : null);
        m.put("source", f.source().name());
        m.put("detail", f.detail());
        fields.add(m);
      }
      p.put("fields", fields);
      probeSets.add(p);
    }
    r.put("probeSets", probeSets);
    return r;
  }

  /**
   * Where the module data is and the evidence: each field discovery placed (its offset is this binary's layout) and
   * each invariant checked; when none qualified, every candidate with the invariant that failed and what was found.
   */
  static Map<String, Object> moduleData(GoBinary binary) {
    Map<String, Object> m = new LinkedHashMap<>();
    try {
      ModuleData md = binary.moduleData();
      m.put("found", true);
      m.put("address", hex(md.address()));
      m.put("foundBy", md.foundBy());
      m.put("typesResolved", md.typesResolved());
      Map<String, Object> layout = new LinkedHashMap<>();
      md.fields().forEach(f -> layout.put(f.name(), f.offset()));
      m.put("layout", layout);
      m.put("checks", checks(md.checks()));
    } catch (ModuleDataNotFoundException e) {
      m.put("found", false);
      m.put("error", e.getMessage());
      List<Object> candidates = new ArrayList<>();
      for (ModuleDataNotFoundException.Candidate c : e.candidates()) {
        Map<String, Object> cm = new LinkedHashMap<>();
        cm.put("address", hex(c.address()));
        cm.put("foundBy", c.foundBy());
        cm.put("checks", checks(c.checks()));
        candidates.add(cm);
      }
      m.put("candidates", candidates);
    } catch (GoBinaryFormatException e) {
      m.put("found", false);
      m.put("error", e.getMessage());
    }
    return m;
  }

  private static List<Object> checks(List<ModuleData.Check> checks) {
    List<Object> out = new ArrayList<>();
    for (ModuleData.Check c : checks) {
      Map<String, Object> cm = new LinkedHashMap<>();
      cm.put("invariant", c.invariant());
      cm.put("held", c.held());
      cm.put("found", c.found());
      out.add(cm);
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static void printModuleData(Map<String, Object> m, PrintStream out) {
    if (Boolean.TRUE.equals(m.get("found"))) {
      StringBuilder layout = new StringBuilder();
      ((Map<String, Object>) m.get("layout")).forEach((k, v) -> layout.append(' ').append(k).append('+').append(v));
      out.println("moduledata: " + m.get("address") + " (" + m.get("foundBy") + "), layout" + layout);
      for (Object o : (List<Object>) m.get("checks")) {
        Map<String, Object> c = (Map<String, Object>) o;
        if (!Boolean.TRUE.equals(c.get("held"))) {
          out.println("  FAILED " + c.get("invariant") + ": " + c.get("found"));
        }
      }
      return;
    }
    out.println("moduledata: NOT FOUND: " + m.get("error"));
    for (Object o : (List<Object>) m.getOrDefault("candidates", List.of())) {
      Map<String, Object> cand = (Map<String, Object>) o;
      out.println("  candidate " + cand.get("address") + " (" + cand.get("foundBy") + "):");
      for (Object co : (List<Object>) cand.get("checks")) {
        Map<String, Object> c = (Map<String, Object>) co;
        out.println("    " + (Boolean.TRUE.equals(c.get("held")) ? "ok     " : "FAILED ") + c.get("invariant") + ": "
            + c.get("found"));
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static void printText(Map<String, Object> r, PrintStream out) {
    out.println("binary:     " + r.get("path"));
    out.println("go version: " + r.get("goVersion"));
    out.println("build id:   " + orNone(r.get("buildId")));
    out.println("stripped:   " + r.get("stripped") + "    pie: " + r.get("pie"));
    out.println("main module: " + orNone(r.get("mainModule")));
    Map<String, String> mods = (Map<String, String>) r.get("modules");
    if (mods != null && !mods.isEmpty()) {
      out.println("modules:");
      mods.forEach((k, v) -> out.println("  " + k + " " + v));
    }
    printModuleData((Map<String, Object>) r.get("moduleData"), out);
    for (Object o : (List<Object>) r.get("probeSets")) {
      Map<String, Object> p = (Map<String, Object>) o;
      out.println();
      out.println("probe set " + p.get("id") + ": " + p.get("verdict"));
      if (p.get("propagation") != null) {
        out.println("  outgoing trace context: " + p.get("propagation"));
      }
      for (Object fo : (List<Object>) p.get("functions")) {
        Map<String, Object> f = (Map<String, Object>) fo;
        out.printf("  %s%s%n    found=%s address=%s offset=%s returns=%s -> %s%n", f.get("symbol"),
            f.get("feature") == null ? "" : " [" + f.get("feature") + "]", f.get("found"),
            f.get("address"), f.get("fileOffset"), f.get("returnSites"), f.get("verdict"));
      }
      out.println("  fields:");
      for (Object fo : (List<Object>) p.get("fields")) {
        Map<String, Object> f = (Map<String, Object>) fo;
        out.printf("    %-42s %6s  %s%n", f.get("field"), f.get("offset") == null ? "-" : f.get("offset"),
            f.get("source"));
      }
    }
  }

  /** Absent values (no build ID, no module info: some release pipelines strip both) print as "none". */
  private static Object orNone(Object v) {
    return v == null ? "none" : v;
  }

  private static String hex(long v) {
    return "0x" + Long.toHexString(v);
  }

  /** What propagation can do on this host, decided as the agent decides it (without attaching anything). */
  static io.goscope.platform.instrument.PropagationSupport propagationSupport() {
    Optional<String> sockets = io.goscope.platform.sys.BpfFeatures.socketProgramsUnavailableReason();
    if (sockets.isEmpty()) {
      List<java.nio.file.Path> roots = io.goscope.platform.agent.AgentConfig.fromEnvironment().cgroupRootCandidates();
      if (io.goscope.platform.sys.FileSystems.firstCgroup2(roots).isEmpty()) {
        sockets = Optional.of("no cgroup v2 hierarchy at " + roots);
      }
    }
    return io.goscope.platform.instrument.PropagationSupport.decide(
        io.goscope.platform.sys.BpfFeatures.memoryWriteUnavailableReason(), sockets);
  }
}
