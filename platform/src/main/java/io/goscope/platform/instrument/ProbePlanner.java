package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.GoBinary;
import io.goscope.platform.gobinary.GoFunction;
import io.goscope.platform.gobinary.GoVersion;
import io.goscope.platform.gobinary.OffsetTable;
import io.goscope.platform.gobinary.ResolvedField;
import io.goscope.platform.gobinary.ReturnSites;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, from a parsed binary alone, which probes of a probe set can attach: symbols found, return sites
 * decoded, required struct fields resolved. One unresolved probe disables that probe only, unless its failure mode
 * is {@link FailureMode#ERROR}.
 */
public final class ProbePlanner {
  private static final Logger log = LoggerFactory.getLogger(ProbePlanner.class);

  private final FieldResolver fieldResolver;

  public ProbePlanner(FieldResolver fieldResolver) {
    this.fieldResolver = requireNonNull(fieldResolver, "fieldResolver");
  }

  /**
   * Plans {@code descriptor} for {@code binary}. Never throws for a missing symbol or field; those are reasons.
   *
   * @param offsetTables the probe set's bundled offset tables
   */
  public ProbePlan plan(GoBinary binary, ProbeSetDescriptor descriptor, List<OffsetTable> offsetTables) {
    requireNonNull(binary, "binary");
    requireNonNull(descriptor, "descriptor");
    List<ResolvedField> fields = fieldResolver.resolveAll(binary, descriptor.fields(), offsetTables);
    Map<String, ResolvedField> byConstant = new HashMap<>();
    for (ResolvedField resolved : fields) {
      byConstant.put(resolved.field().constant(), resolved);
    }

    List<FunctionPlan> functions = new ArrayList<>();
    String failure = null;
    String abiProblem = abiProblem(binary);
    for (FunctionProbe probe : descriptor.probes()) {
      FunctionPlan plan = planFunction(binary, probe, byConstant);
      if (abiProblem != null) {
        // Still located, so that inspect shows where the function is; only attaching is refused.
        plan = FunctionPlan.skipped(probe, abiProblem, plan.address(), plan.entryFileOffset(),
            plan.returnFileOffsets());
      }
      functions.add(plan);
      if (!plan.willAttach()) {
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
      failure = "no probe of set " + descriptor.id() + " can attach: " + String.join("; ",
          functions.stream().map(f -> f.probe().symbol() + " " + f.verdict()).toList());
    }
    return new ProbePlan(descriptor.id(), fields, functions, failure);
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

  private FunctionPlan planFunction(
      GoBinary binary, FunctionProbe probe, Map<String, ResolvedField> byConstant) {
    Optional<GoFunction> fn;
    try {
      fn = binary.function(probe.symbol());
    } catch (RuntimeException e) {
      return FunctionPlan.skipped(probe, "symbol lookup failed: " + e.getMessage(), 0, -1, List.of());
    }
    if (fn.isEmpty()) {
      return FunctionPlan.skipped(probe, "symbol " + probe.symbol() + " not in binary", 0, -1, List.of());
    }
    GoFunction f = fn.get();
    List<Long> returns;
    try {
      returns = probe.returnProgram() == null ? List.of() : ReturnSites.find(binary, f);
    } catch (RuntimeException e) {
      return FunctionPlan.skipped(probe, "return sites not decodable: " + e.getMessage(), f.entry(),
          f.entryFileOffset(), List.of());
    }
    if (probe.returnProgram() != null && returns.isEmpty()) {
      return FunctionPlan.skipped(probe, "no return instruction found", f.entry(), f.entryFileOffset(), returns);
    }
    List<String> missing = new ArrayList<>();
    for (String constant : probe.requiredConstants()) {
      ResolvedField rf = byConstant.get(constant);
      if (rf == null || rf.offset().isEmpty()) {
        missing.add(rf == null ? constant : rf.field().qualifiedName());
      }
    }
    if (!missing.isEmpty()) {
      return FunctionPlan.skipped(probe, "struct fields unresolved: " + String.join(", ", missing), f.entry(),
          f.entryFileOffset(), returns);
    }
    return new FunctionPlan(probe, null, f.entry(), f.entryFileOffset(), returns);
  }
}
