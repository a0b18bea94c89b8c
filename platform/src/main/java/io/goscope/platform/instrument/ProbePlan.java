package io.goscope.platform.instrument;

import io.goscope.api.FailureMode;
import io.goscope.api.Nullable;
import io.goscope.platform.gobinary.ResolvedField;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * What one probe set will do in one binary: resolved fields and per-function decisions. Pure data, computed by
 * {@link ProbePlanner} without touching the kernel; the {@code inspect} command prints it and the
 * {@link Instrumentor} executes it.
 *
 * @param probeSetId the probe set
 * @param fields every declared field with its offset and where the offset came from
 * @param functions every declared function probe with its decision
 * @param failure why the whole set will not attach (a probe with {@link FailureMode#ERROR} failed, or nothing is
 *     attachable), or null
 */
public record ProbePlan(
    String probeSetId, List<ResolvedField> fields, Map<String, Long> versionedConstants, List<FunctionPlan> functions,
    @Nullable String failure) {
  public ProbePlan {
    fields = List.copyOf(fields);
    versionedConstants = Map.copyOf(versionedConstants);
    functions = List.copyOf(functions);
  }

  public boolean attachable() {
    return failure == null;
  }

  /**
   * Whether the set applies to the binary at all: false when it does not attach only because the binary does not
   * link the library it hooks (none of {@link io.goscope.api.ProbeSetDescriptor#librarySymbols()}, every probe
   * optional and absent, or written for versions of a module the binary does not have). Such a set is not a failure worth a warning; {@code inspect} still shows why.
   */
  public boolean applies() {
    return failure == null || !failure.startsWith(FunctionPlan.NOT_APPLICABLE);
  }

  /**
   * The resolved constants (BPF global name → value): the offsets of the fields that were found (when several fields
   * name one constant, the first one found) and the versioned constants that apply to this binary.
   */
  public Map<String, Long> constants() {
    Map<String, Long> values = new TreeMap<>();
    for (ResolvedField f : fields) {
      OptionalLong off = f.offset();
      if (off.isPresent()) {
        values.putIfAbsent(f.field().constant(), off.getAsLong());
      }
    }
    values.putAll(versionedConstants);
    return values;
  }

  /** The probe set's functions that will attach. */
  public List<FunctionPlan> attaching() {
    return functions.stream().filter(FunctionPlan::willAttach).toList();
  }

  /** Number of uprobes the plan places (entries plus return sites). */
  public int uprobeCount() {
    int n = 0;
    for (FunctionPlan f : functions) {
      if (f.willAttach()) {
        n += (f.probe().entryProgram() != null ? 1 : 0)
            + (f.probe().returnProgram() != null ? f.returnFileOffsets().size() : 0);
      }
    }
    return n;
  }
}
