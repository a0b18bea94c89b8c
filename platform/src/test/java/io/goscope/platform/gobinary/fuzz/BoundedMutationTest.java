package io.goscope.platform.gobinary.fuzz;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A bounded mutation run inside the normal suite (no JAZZER_FUZZ needed): for each target, a fixed-seed stream of
 * mutation programs (bit flips, boundary values in 16/32/64-bit fields, splices, truncation) over real Go binaries
 * and YAML. Checks that only the typed exception escapes, that no input takes longer than
 * {@value #PER_INPUT_SECONDS} s, that the heap does not grow by more than {@value #MAX_HEAP_GROWTH_MB} MB and that
 * the target finishes in {@value #TARGET_SECONDS} s. Inputs that break the contract are written to
 * {@code target/fuzz-findings/<target>/} for replay through {@link ParserFuzzTest}.
 *
 * <p>Iterations per target: {@code -Dgoscope.fuzz.iterations} (default {@value #DEFAULT_ITERATIONS}), scaled by the
 * target's share (30 % for the two targets that walk the whole type graph per input).
 */
class BoundedMutationTest {
  static final int DEFAULT_ITERATIONS = 2000;
  // A hang is a loop without end; 5 s leaves room for the slowest accepted inputs (~0.2 s warm, 0.85 s cold) on a
  // 2-core machine busy with other builds, where one took 2.3 s.
  static final int PER_INPUT_SECONDS = 5;
  static final int MAX_HEAP_GROWTH_MB = 256;
  static final int TARGET_SECONDS = 60;

  static Stream<FuzzTargets.Target> targets() {
    return FuzzTargets.ALL.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("targets")
  void onlyTypedErrorsNoHangBoundedHeap(FuzzTargets.Target target) throws IOException {
    int iterations = Integer.getInteger("goscope.fuzz.iterations", DEFAULT_ITERATIONS) * target.share() / 100;
    Random rnd = new Random(0x5eed ^ target.name().hashCode());
    runOnce(target, new byte[0]); // warm up: builds seeds, loads capstone, JIT
    long heapBefore = usedHeapAfterGc();
    long t0 = System.nanoTime();
    List<String> findings = new ArrayList<>();
    int rejected = 0;
    for (int i = 0; i < iterations && findings.size() < 5; i++) {
      byte[] program = program(target, rnd);
      String outcome;
      try {
        outcome = assertTimeoutPreemptively(Duration.ofSeconds(PER_INPUT_SECONDS), () -> runOnce(target, program),
            () -> target.name() + " input " + HexFormat.of().formatHex(program) + " took over "
                + PER_INPUT_SECONDS + " s");
      } catch (AssertionError e) {
        outcome = "HANG " + e.getMessage();
      }
      if (outcome == null) {
        continue;
      }
      if (outcome.equals("rejected")) {
        rejected++;
        continue;
      }
      findings.add(outcome);
      save(target, program);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    long growthMb = (usedHeapAfterGc() - heapBefore) >> 20;
    System.out.printf("fuzz %s: %d inputs, %d rejected, %d findings, %.1f s, heap growth %d MB%n", target.name(),
        iterations, rejected, findings.size(), seconds, growthMb);
    if (!findings.isEmpty()) {
      fail(target.name() + ": " + findings.size() + " input(s) broke the contract:\n" + String.join("\n", findings));
    }
    assertTrue(growthMb < MAX_HEAP_GROWTH_MB, "heap grew by " + growthMb + " MB");
    assertTrue(seconds < TARGET_SECONDS, target.name() + " took " + seconds + " s");
  }

  /** Seed/region selectors first, then a random edit program; YAML targets get mutated table text. */
  static byte[] program(FuzzTargets.Target target, Random rnd) {
    if (target.name().equals("offsetTable")) {
      return YamlMutations.mutate(rnd);
    }
    if (target.name().equals("elfRaw")) {
      return RawElfInputs.random(rnd);
    }
    byte[] edits = Mutation.randomProgram(rnd);
    byte[] out = new byte[edits.length + 2];
    out[0] = (byte) rnd.nextInt();
    out[1] = (byte) rnd.nextInt();
    System.arraycopy(edits, 0, out, 2, edits.length);
    return out;
  }

  /** Null when accepted, "rejected" for the typed exception, else a description of the finding. */
  static String runOnce(FuzzTargets.Target target, byte[] program) {
    try {
      target.body().accept(program);
      return null;
    } catch (RuntimeException e) {
      if (target.rejection().isInstance(e)) {
        return "rejected";
      }
      return describe(target, program, e);
    } catch (StackOverflowError | OutOfMemoryError | InternalError e) {
      return describe(target, program, e);
    }
  }

  private static String describe(FuzzTargets.Target target, byte[] program, Throwable e) {
    StackTraceElement[] st = e.getStackTrace();
    StringBuilder where = new StringBuilder();
    for (int i = 0; i < Math.min(6, st.length); i++) {
      where.append("\n      at ").append(st[i]);
    }
    String msg = String.valueOf(e);
    String hex = HexFormat.of().formatHex(program);
    return "  " + target.name() + " " + (msg.length() > 600 ? msg.substring(0, 600) + "..." : msg) + where
        + "\n    input " + (hex.length() > 400 ? hex.substring(0, 400) + "... (saved in target/fuzz-findings)" : hex);
  }

  private static void save(FuzzTargets.Target target, byte[] program) throws IOException {
    Path dir = Files.createDirectories(Path.of("target/fuzz-findings", target.name()));
    Files.write(dir.resolve(Integer.toHexString(java.util.Arrays.hashCode(program)) + ".bin"), program);
  }

  static long usedHeapAfterGc() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return rt.totalMemory() - rt.freeMemory();
  }
}
