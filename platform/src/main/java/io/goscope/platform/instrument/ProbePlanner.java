package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.Nullable;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.StructField;
import io.goscope.api.VersionedConstant;
import io.goscope.platform.gobinary.EntrySites;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.GoBinary;
import io.goscope.platform.gobinary.GoFunction;
import io.goscope.platform.gobinary.GoVersion;
import io.goscope.platform.gobinary.OffsetTable;
import io.goscope.platform.gobinary.ResolvedField;
import io.goscope.platform.gobinary.ReturnSites;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, from a parsed binary alone, which probes of a probe set can attach: the probe applies to the binary's
 * version of its module, one of its symbols is found, its return sites are decoded, the struct fields and versioned
 * constants it requires resolve. One unresolved probe disables that probe only, unless its failure mode is
 * {@link FailureMode#ERROR}; a probe written for other versions is left out silently.
 *
 * <p>Besides the set's own fields the planner resolves the host's fields ({@link #HOST_FIELDS}: the goroutine id
 * offset every object of the probe-set kit needs), so that each plan carries every constant its object declares.
 */
public final class ProbePlanner {
  private static final Logger log = LoggerFactory.getLogger(ProbePlanner.class);

  /** The {@code const volatile} global of goscope_context.h that receives the goroutine id's offset. */
  public static final String GOID_CONSTANT = "goscope_off_g_goid";

  /** Fields the host resolves for every probe set: {@code runtime.g.goid} (goscope_context.h). */
  public static final List<StructField> HOST_FIELDS = List.of(StructField.std("runtime.g", "goid", GOID_CONSTANT));

  private final FieldResolver fieldResolver;
  private final List<OffsetTable> hostTables;

  /** A planner that resolves host fields with the platform's bundled runtime offset table. */
  public ProbePlanner(FieldResolver fieldResolver) {
    this(fieldResolver, HostOffsets.tables());
  }

  ProbePlanner(FieldResolver fieldResolver, List<OffsetTable> hostTables) {
    this.fieldResolver = requireNonNull(fieldResolver, "fieldResolver");
    this.hostTables = List.copyOf(hostTables);
  }

  /**
   * Plans {@code descriptor} for {@code binary}. Never throws for a missing symbol or field; those are reasons.
   *
   * @param offsetTables the probe set's bundled offset tables
   */
  public ProbePlan plan(GoBinary binary, ProbeSetDescriptor descriptor, List<OffsetTable> offsetTables) {
    requireNonNull(binary, "binary");
    requireNonNull(descriptor, "descriptor");
    String absent = libraryAbsent(binary, descriptor);
    if (absent != null) {
      log.debug("probe set not applicable binary={} set={} reason={}", binary.path(), descriptor.id(), absent);
      return new ProbePlan(descriptor.id(), List.of(), Map.of(), descriptor.probes().stream()
          .map(p -> FunctionPlan.skipped(p, p.symbol(), absent, 0, -1, List.of())).toList(), absent);
    }
    FieldResolver.BinaryView view = FieldResolver.BinaryView.of(binary);
    List<ResolvedField> fields = new ArrayList<>(fieldResolver.resolveAll(view, descriptor.fields(), offsetTables));
    List<OffsetTable> tables = new ArrayList<>(offsetTables);
    tables.addAll(hostTables);
    fields.addAll(fieldResolver.resolveAll(view, HOST_FIELDS, tables));
    Set<String> resolved = new HashSet<>();
    Map<String, String> unresolvedNames = new LinkedHashMap<>();
    for (ResolvedField f : fields) {
      if (f.offset().isPresent()) {
        resolved.add(f.field().constant());
      } else {
        unresolvedNames.putIfAbsent(f.field().constant(), f.field().qualifiedName());
      }
    }
    Map<String, Long> versioned = new LinkedHashMap<>();
    for (VersionedConstant c : descriptor.versionedConstants()) {
      Optional<Long> value = valueFor(c, view);
      if (value.isPresent()) {
        versioned.put(c.constant(), value.get());
        resolved.add(c.constant());
      } else {
        unresolvedNames.putIfAbsent(c.constant(), c.constant() + " (" + c.module() + " "
            + view.versionOf(c.module()).map(GoVersion::toString).orElse("version unknown") + ")");
      }
    }

    List<FunctionPlan> functions = new ArrayList<>();
    String failure = null;
    String abiProblem = abiProblem(binary);
    for (FunctionProbe probe : descriptor.probes()) {
      FunctionPlan plan = planFunction(binary, view, probe, resolved, unresolvedNames);
      if (abiProblem != null && !plan.notApplicable()) {
        // Still located, so that inspect shows where the function is; only attaching is refused.
        plan = FunctionPlan.skipped(probe, plan.symbol(), abiProblem, plan.address(), plan.entryFileOffset(),
            plan.returnFileOffsets());
      }
      functions.add(plan);
      if (!plan.willAttach() && !plan.notApplicable()) {
        String msg = "probe set " + descriptor.id() + " probe " + probe.symbol() + " " + plan.verdict();
        switch (probe.failureMode()) {
          case IGNORE -> log.debug("probe skipped binary={} set={} symbol={} reason={}", binary.path(),
              descriptor.id(), probe.symbol(), plan.skipReason());
          case WARN -> log.warn("probe skipped binary={} set={} symbol={} reason={}", binary.path(),
              descriptor.id(), probe.symbol(), plan.skipReason());
          case ERROR -> {
            log.error("probe set disabled binary={} set={} symbol={} reason={}", binary.path(),
                descriptor.id(), probe.symbol(), plan.skipReason());
            if (failure == null) {
              failure = msg;
            }
          }
        }
      }
    }
    if (failure == null && functions.stream().noneMatch(FunctionPlan::willAttach)) {
      if (functions.stream().allMatch(f -> f.notApplicable() || f.symbolMissing()
          && f.probe().failureMode() == FailureMode.IGNORE)) {
        // A library the binary does not link (or another version of it): nothing failed, the set does not apply.
        failure = FunctionPlan.NOT_APPLICABLE + "the binary has none of the functions of set " + descriptor.id();
      } else {
        failure = "no probe of set " + descriptor.id() + " can attach: " + String.join("; ",
            functions.stream().filter(f -> !f.notApplicable()).map(f -> f.symbol() + " " + f.verdict()).toList());
      }
    }
    return new ProbePlan(descriptor.id(), fields, versioned, functions, failure);
  }

  /** Why the set does not apply to the binary (it links none of the set's library symbols), or null when it does. */
  @Nullable
  static String libraryAbsent(GoBinary binary, ProbeSetDescriptor descriptor) {
    List<String> symbols = descriptor.librarySymbols();
    if (symbols.isEmpty()) {
      return null;
    }
    for (String s : symbols) {
      try {
        if (binary.function(s).isPresent()) {
          return null;
        }
      } catch (RuntimeException e) {
        return null; // unreadable symbols: let the probes say why
      }
    }
    return FunctionPlan.NOT_APPLICABLE + "the binary does not link the library (none of " + String.join(", ", symbols)
        + ")";
  }

  /** The value of a versioned constant for the binary's version of its module, or empty below its first step. */
  static Optional<Long> valueFor(VersionedConstant c, FieldResolver.BinaryView view) {
    Optional<GoVersion> version = view.versionOf(c.module());
    if (version.isEmpty()) {
      return Optional.empty();
    }
    Long value = null;
    GoVersion best = null;
    for (VersionedConstant.Step step : c.steps()) {
      GoVersion from = GoVersion.parse(step.version());
      if (from == null) {
        throw new IllegalArgumentException("versioned constant " + c.constant() + ": bad version " + step.version());
      }
      if (from.compareTo(version.get()) <= 0 && (best == null || from.compareTo(best) >= 0)) {
        best = from;
        value = step.value();
      }
    }
    return Optional.ofNullable(value);
  }

  /**
   * Probes read arguments from registers (Go's internal register ABI, Go 1.17+ on amd64, 1.18+ on arm64); older
   * binaries pass them on the stack, where the programs would read garbage.
   */
  private static String abiProblem(GoBinary binary) {
    GoVersion v = binary.goVersion();
    boolean arm64 = binary.elf().machine() == 183;
    if (!v.atLeast(1, arm64 ? 18 : 17)) {
      return "built with " + v + ", which passes arguments on the stack; probes need the register ABI (Go "
          + (arm64 ? "1.18" : "1.17") + "+)";
    }
    return null;
  }

  /** Why the probe is not for this binary's version of its module, or null when it applies. */
  @Nullable
  static String versionMismatch(FunctionProbe probe, FieldResolver.BinaryView view) {
    if (probe.module() == null) {
      return null;
    }
    Optional<GoVersion> version = view.versionOf(probe.module());
    String range = probe.module() + " [" + (probe.fromVersion() == null ? "" : probe.fromVersion()) + ", "
        + (probe.toVersion() == null ? "" : probe.toVersion()) + ")";
    if (version.isEmpty()) {
      return FunctionPlan.NOT_APPLICABLE + "for " + range + "; the binary's version is unknown";
    }
    GoVersion from = probe.fromVersion() == null ? null : GoVersion.parse(probe.fromVersion());
    GoVersion to = probe.toVersion() == null ? null : GoVersion.parse(probe.toVersion());
    if ((from != null && version.get().compareTo(from) < 0) || (to != null && version.get().compareTo(to) >= 0)) {
      return FunctionPlan.NOT_APPLICABLE + "for " + range + "; the binary has " + version.get();
    }
    return null;
  }

  private FunctionPlan planFunction(GoBinary binary, FieldResolver.BinaryView view, FunctionProbe probe,
      Set<String> resolved, Map<String, String> unresolvedNames) {
    String mismatch = versionMismatch(probe, view);
    if (mismatch != null) {
      return FunctionPlan.skipped(probe, probe.symbol(), mismatch, 0, -1, List.of());
    }
    Optional<GoFunction> fn = Optional.empty();
    String symbol = probe.symbol();
    try {
      for (String candidate : probe.symbols()) {
        fn = binary.function(candidate);
        if (fn.isPresent()) {
          symbol = candidate;
          break;
        }
      }
    } catch (RuntimeException e) {
      return FunctionPlan.skipped(probe, symbol, "symbol lookup failed: " + e.getMessage(), 0, -1, List.of());
    }
    if (fn.isEmpty()) {
      return FunctionPlan.skipped(probe, symbol, FunctionPlan.SYMBOL_MISSING + String.join(" / ", probe.symbols())
          + " not in binary", 0, -1, List.of());
    }
    GoFunction f = fn.get();
    List<Long> returns;
    try {
      returns = probe.returnProgram() == null ? List.of() : ReturnSites.find(binary, f);
    } catch (RuntimeException e) {
      return FunctionPlan.skipped(probe, symbol, "return sites not decodable: " + e.getMessage(), f.entry(),
          f.entryFileOffset(), List.of());
    }
    if (probe.returnProgram() != null && returns.isEmpty()) {
      return FunctionPlan.skipped(probe, symbol, "no return instruction found", f.entry(), f.entryFileOffset(),
          returns);
    }
    List<String> missing = new ArrayList<>();
    for (String constant : probe.requiredConstants()) {
      if (!resolved.contains(constant)) {
        missing.add(unresolvedNames.getOrDefault(constant, constant + " (not declared by the probe set)"));
      }
    }
    if (!missing.isEmpty()) {
      return FunctionPlan.skipped(probe, symbol, "struct fields unresolved: " + String.join(", ", missing), f.entry(),
          f.entryFileOffset(), returns);
    }
    long entrySite;
    try {
      entrySite = probe.entryProgram() == null ? f.entryFileOffset() : EntrySites.find(binary.elf(), f);
    } catch (RuntimeException e) {
      return FunctionPlan.skipped(probe, symbol, "entry not decodable: " + e.getMessage(), f.entry(),
          f.entryFileOffset(), returns);
    }
    return new FunctionPlan(probe, symbol, null, f.entry(), f.entryFileOffset(), entrySite, returns);
  }
}
