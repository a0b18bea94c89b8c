package io.goscope.platform.instrument;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordFormatException;
import io.goscope.api.StructField;

/**
 * The host's own probe set, {@code bpf-programs/src/goroutines.bpf.c}: goroutines inherit the active span of the
 * goroutine that spawned them ({@code runtime.newproc1}) and lose it when they exit ({@code runtime.goexit1}). The
 * agent attaches it to every binary it instruments with a probe set of the kit's shared context; it writes no
 * records.
 */
public final class GoroutineProbeSet implements ProbeSet {
  /** Probe set id; reserved for the host. */
  public static final String ID = "goroutines";

  static final String NEWPROC1 = "runtime.newproc1";
  static final String GOEXIT1 = "runtime.goexit1";

  private static final ProbeSetDescriptor DESCRIPTOR = ProbeSetDescriptor.builder(ID)
      .description("goroutine trace-context inheritance (host)")
      .bpfObject("bpf/goroutines.bpf.o")
      .offsetTable(HostOffsets.RESOURCE)
      // Go 1.21+: the new g records its parent's goid; a return probe is all it takes.
      .probe(FunctionProbe.builder(NEWPROC1).ret("gs_newproc1_return").requires(ProbePlanner.GOID_CONSTANT)
          .failureMode(FailureMode.WARN).build())
      // Before: the entry remembers callergp's goid per thread (its argument position moved in Go 1.18).
      .probe(FunctionProbe.builder(NEWPROC1).entry("gs_newproc1_entry_arg4").requires(ProbePlanner.GOID_CONSTANT)
          .versions("std", "1.17", "1.18").failureMode(FailureMode.WARN).build())
      .probe(FunctionProbe.builder(NEWPROC1).entry("gs_newproc1_entry_arg2").requires(ProbePlanner.GOID_CONSTANT)
          .versions("std", "1.18", "1.21").failureMode(FailureMode.WARN).build())
      .probe(FunctionProbe.builder(GOEXIT1).entry("gs_goexit1_entry").requires(ProbePlanner.GOID_CONSTANT)
          .failureMode(FailureMode.WARN).build())
      .field(StructField.std("runtime.g", "parentGoid", "off_g_parent_goid"))
      .build();

  private static final RecordDecoder DECODER = (record, header, sink) -> {
    throw new RecordFormatException("the goroutines probe set writes no records (type " + header.type() + ")");
  };

  @Override
  public ProbeSetDescriptor descriptor() {
    return DESCRIPTOR;
  }

  @Override
  public RecordDecoder decoder() {
    return DECODER;
  }
}
