package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.StructField;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.FieldSource;
import io.goscope.platform.gobinary.GoBinary;
import io.goscope.testing.GoBuilder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Per-probe degradation: one unresolved probe disables that probe only, unless its failure mode is ERROR. */
class ProbePlannerTest {
  private static final String SERVE = "net/http.serverHandler.ServeHTTP";
  private static Path binary;
  private final ProbePlanner planner = new ProbePlanner(new FieldResolver(List.of(), null));

  @BeforeAll
  static void build() {
    Path src = Path.of("src/test/resources/gobinary/httpserver");
    binary = GoBuilder.build(src, Path.of("target/planner/httpserver"), List.of(), Map.of());
  }

  private static ProbeSetDescriptor.Builder base() {
    return ProbeSetDescriptor.builder("t").bpfObject("t.o")
        .field(StructField.std("net/http.Request", "Method", "off_method"))
        .field(StructField.std("net/http.Request", "NoSuchField", "off_missing"));
  }

  @Test
  void aSetWhoseLibraryIsNotLinkedInIsNotApplicable() {
    ProbeSetDescriptor absent = base().library("google.golang.org/grpc.(*Server).handleStream", "main.noSuchFunction")
        .probe(new FunctionProbe(SERVE, "e", "r", List.of("off_method"), FailureMode.WARN))
        .build();
    ProbeSetDescriptor present = base().library("main.noSuchFunction", SERVE)
        .probe(new FunctionProbe(SERVE, "e", "r", List.of("off_method"), FailureMode.WARN))
        .build();
    try (GoBinary b = GoBinary.open(binary)) {
      ProbePlan plan = planner.plan(b, absent, List.of());
      assertFalse(plan.applies(), plan.failure());
      assertEquals("not applicable: the binary does not link the library (none of "
          + "google.golang.org/grpc.(*Server).handleStream, main.noSuchFunction)", plan.failure());
      assertTrue(plan.functions().stream().allMatch(FunctionPlan::notApplicable));
      assertEquals(0, plan.uprobeCount());
      ProbePlan linked = planner.plan(b, present, List.of());
      assertNull(linked.failure(), "one of the library's symbols is enough");
      assertTrue(linked.functions().get(0).willAttach());
    }
  }

  @Test
  void missingSymbolOrFieldSkipsOnlyThatProbe() {
    ProbeSetDescriptor d = base()
        .probe(new FunctionProbe(SERVE, "e", "r", List.of("off_method"), FailureMode.WARN))
        .probe(new FunctionProbe("main.noSuchFunction", "e2", null, List.of(), FailureMode.WARN))
        .probe(new FunctionProbe(SERVE, "e3", null, List.of("off_missing"), FailureMode.IGNORE))
        .build();
    try (GoBinary b = GoBinary.open(binary)) {
      ProbePlan plan = planner.plan(b, d, List.of());
      assertNull(plan.failure(), "the set still attaches");
      FunctionPlan serve = plan.functions().get(0);
      assertTrue(serve.willAttach(), serve.verdict());
      assertEquals(2, serve.returnFileOffsets().size(), "two RETs in ServeHTTP on go1.19 amd64");
      assertEquals("skipped: symbol main.noSuchFunction not in binary", plan.functions().get(1).verdict());
      assertEquals("skipped: struct fields unresolved: net/http.Request.NoSuchField",
          plan.functions().get(2).verdict());
      assertEquals(Map.of("off_method", 0L, ProbePlanner.GOID_CONSTANT, 152L), plan.constants(),
          "the set's field and the host's goroutine id offset (Go 1.19: runtime.g.goid at 152)");
      assertEquals(FieldSource.DWARF, plan.fields().get(0).source());
      assertEquals(FieldSource.MISSING, plan.fields().get(1).source());
      assertEquals(3, plan.uprobeCount(), "entry + 2 returns of the one attachable probe");
    }
  }

  @Test
  void errorModeFailsTheWholeSet() {
    ProbeSetDescriptor d = base()
        .probe(new FunctionProbe(SERVE, "e", "r", List.of("off_method"), FailureMode.WARN))
        .probe(new FunctionProbe("main.noSuchFunction", "e2", null, List.of(), FailureMode.ERROR))
        .build();
    try (GoBinary b = GoBinary.open(binary)) {
      ProbePlan plan = planner.plan(b, d, List.of());
      assertNotNull(plan.failure());
      assertTrue(plan.failure().contains("main.noSuchFunction"), plan.failure());
    }
  }

  @Test
  void nothingAttachableIsAFailureWithTheReason() {
    ProbeSetDescriptor d = base()
        .probe(new FunctionProbe("main.noSuchFunction", "e", null, List.of(), FailureMode.WARN))
        .build();
    try (GoBinary b = GoBinary.open(binary)) {
      ProbePlan plan = planner.plan(b, d, List.of());
      assertEquals("no probe of set t can attach: main.noSuchFunction skipped: symbol main.noSuchFunction not in binary",
          plan.failure());
    }
  }

  @Test
  void aSetOfOptionalProbesTheBinaryLacksDoesNotApply() {
    ProbeSetDescriptor d = base()
        .probe(FunctionProbe.builder("database/sql.(*DB).noSuchFunction").entry("e")
            .failureMode(FailureMode.IGNORE).build())
        .probe(FunctionProbe.builder("github.com/example/lib.(*Client).Do").entry("e")
            .versions("github.com/example/lib", "v1.0.0", null).failureMode(FailureMode.WARN).build())
        .build();
    try (GoBinary b = GoBinary.open(binary)) {
      ProbePlan plan = planner.plan(b, d, List.of());
      assertEquals("not applicable: the binary has none of the functions of set t", plan.failure());
      assertFalse(plan.applies(), "nothing to warn about");
    }
    ProbeSetDescriptor required = base()
        .probe(FunctionProbe.builder("main.noSuchFunction").entry("e").failureMode(FailureMode.WARN).build())
        .build();
    try (GoBinary b = GoBinary.open(binary)) {
      assertTrue(planner.plan(b, required, List.of()).applies(), "a missing required probe is a failure");
    }
  }
}
