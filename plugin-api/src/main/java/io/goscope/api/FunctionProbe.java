package io.goscope.api;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One Go function a probe set hooks.
 *
 * <p>The entry program is attached as a uprobe at the function's entry. The return program is attached as a uprobe
 * at <em>every</em> return instruction of the function, never as a uretprobe: Go moves goroutine stacks, and a
 * uretprobe's rewritten return address crashes the runtime.
 *
 * @param symbol Go symbol name, e.g. {@code net/http.serverHandler.ServeHTTP}
 * @param entryProgram BPF program (function name in the object) for the entry, or null
 * @param returnProgram BPF program for every return site, or null
 * @param requiredConstants the {@link StructField#constant()} names this probe cannot work without
 * @param failureMode what to do when the symbol or a required field cannot be resolved
 */
public record FunctionProbe(
    String symbol,
    @Nullable String entryProgram,
    @Nullable String returnProgram,
    List<String> requiredConstants,
    FailureMode failureMode) {
  public FunctionProbe {
    requireNonNull(symbol, "symbol");
    requireNonNull(failureMode, "failureMode");
    requiredConstants = List.copyOf(requiredConstants);
    if (entryProgram == null && returnProgram == null) {
      throw new IllegalArgumentException("probe " + symbol + " has neither an entry nor a return program");
    }
  }
}
