package io.goscope.platform.gobinary.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.goscope.platform.gobinary.GoBinaryFormatException;
import io.goscope.platform.gobinary.OffsetTableFormatException;

/**
 * Jazzer fuzz tests over the parsers (see {@link FuzzTargets} for what each input means). In {@code mvn test} they
 * run in regression mode: the committed seeds under {@code ParserFuzzTestInputs/<method>/} and any crash files
 * placed there. With {@code JAZZER_FUZZ=1} one method at a time is fuzzed for {@code maxDuration}; see
 * {@code dist/bench/fuzz-long.sh}. A finding is any exception other than the parser's typed one, a timeout or an
 * out-of-memory.
 */
class ParserFuzzTest {

  @FuzzTest(maxDuration = "10m")
  void elfRaw(byte[] input) {
    try {
      FuzzTargets.elfRaw(input);
    } catch (GoBinaryFormatException expected) {
      // rejected: fine
    }
  }

  @FuzzTest(maxDuration = "10m")
  void elfPatched(byte[] input) {
    try {
      FuzzTargets.elfPatched(input);
    } catch (GoBinaryFormatException expected) {
      // rejected: fine
    }
  }

  @FuzzTest(maxDuration = "10m")
  void pclntab(byte[] input) {
    try {
      FuzzTargets.pclntab(input);
    } catch (GoBinaryFormatException expected) {
      // rejected: fine
    }
  }

  @FuzzTest(maxDuration = "10m")
  void buildInfo(byte[] input) {
    try {
      FuzzTargets.buildInfo(input);
    } catch (GoBinaryFormatException expected) {
      // rejected: fine
    }
  }

  @FuzzTest(maxDuration = "10m")
  void dwarf(byte[] input) {
    try {
      FuzzTargets.dwarf(input);
    } catch (GoBinaryFormatException expected) {
      // rejected: fine
    }
  }

  @FuzzTest(maxDuration = "10m")
  void typeMetadata(byte[] input) {
    try {
      FuzzTargets.typeMetadata(input);
    } catch (GoBinaryFormatException expected) {
      // rejected: fine
    }
  }

  @FuzzTest(maxDuration = "10m")
  void offsetTable(byte[] input) {
    try {
      FuzzTargets.offsetTable(input);
    } catch (OffsetTableFormatException expected) {
      // rejected: fine
    }
  }

  @FuzzTest(maxDuration = "10m")
  void wholeBinary(byte[] input) {
    try {
      FuzzTargets.wholeBinary(input);
    } catch (GoBinaryFormatException expected) {
      // rejected: fine
    }
  }
}
