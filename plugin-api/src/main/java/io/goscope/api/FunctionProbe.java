package io.goscope.api;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One Go function a probe set hooks.
 *
 * <p>The entry program is attached as a uprobe at the function's entry. The return program is attached as a uprobe
 * at <em>every</em> return instruction of the function, never as a uretprobe: Go moves goroutine stacks, and a
 * uretprobe's rewritten return address crashes the runtime.
 *
 * <p>A probe may name alternative symbols (the same function under the name of another Go release; the first one
 * the binary has is used), apply only to a version range of a Go module (for example the standard library before Go
 * 1.21), and belong to an optional feature that the rules switch on per process (for example {@value #PROPAGATION},
 * which writes into the traced process's memory and is never attached unless a rule asks for it).
 */
public final class FunctionProbe {
  /**
   * The feature of probes that write W3C trace context into outgoing requests. It needs the kernel's
   * {@code bpf_probe_write_user}, which kernel lockdown and a missing CAP_SYS_ADMIN forbid; the host then does not
   * load these programs and says "propagation unavailable".
   */
  public static final String PROPAGATION = "propagation";

  /**
   * The feature of probes that propagate trace context without writing into the process: they arm the sending
   * thread (the kit's {@code goscope_sockmsg.h}) and the host's socket programs insert the bytes into the message
   * on its way out. Cleartext TCP only. The host attaches these instead of the {@value #PROPAGATION} probes where
   * the kernel refuses memory writes (lockdown), and never both for one process.
   */
  public static final String SOCKET_PROPAGATION = "socket-propagation";

  private final List<String> symbols;
  @Nullable private final String entryProgram;
  @Nullable private final String returnProgram;
  private final List<String> requiredConstants;
  private final FailureMode failureMode;
  private final long cookie;
  @Nullable private final String module;
  @Nullable private final String fromVersion;
  @Nullable private final String toVersion;
  @Nullable private final String feature;

  /**
   * A probe on one symbol, for every version, always attached.
   *
   * @param symbol Go symbol name, e.g. {@code net/http.serverHandler.ServeHTTP}
   * @param entryProgram BPF program (function name in the object) for the entry, or null
   * @param returnProgram BPF program for every return site, or null
   * @param requiredConstants the {@link StructField#constant()} (or {@link VersionedConstant#constant()}) names
   *     this probe cannot work without
   * @param failureMode what to do when the symbol or a required constant cannot be resolved
   */
  public FunctionProbe(String symbol, @Nullable String entryProgram, @Nullable String returnProgram,
      List<String> requiredConstants, FailureMode failureMode) {
    this(builder(symbol).entry(entryProgram).ret(returnProgram).requires(requiredConstants)
        .failureMode(failureMode));
  }

  private FunctionProbe(Builder b) {
    if (b.symbols.isEmpty()) {
      throw new IllegalArgumentException("probe without a symbol");
    }
    this.symbols = List.copyOf(b.symbols);
    this.entryProgram = b.entryProgram;
    this.returnProgram = b.returnProgram;
    this.requiredConstants = List.copyOf(b.requiredConstants);
    this.failureMode = requireNonNull(b.failureMode, "failureMode");
    this.cookie = b.cookie;
    this.module = b.module;
    this.fromVersion = b.fromVersion;
    this.toVersion = b.toVersion;
    this.feature = b.feature;
    if (entryProgram == null && returnProgram == null) {
      throw new IllegalArgumentException("probe " + symbol() + " has neither an entry nor a return program");
    }
  }

  /** Starts a probe on {@code symbol}. */
  public static Builder builder(String symbol) {
    return new Builder(symbol);
  }

  /** The first (preferred) symbol name. */
  public String symbol() {
    return symbols.get(0);
  }

  /** Every name the function is looked up by, in order of preference. */
  public List<String> symbols() {
    return symbols;
  }

  @Nullable
  public String entryProgram() {
    return entryProgram;
  }

  @Nullable
  public String returnProgram() {
    return returnProgram;
  }

  public List<String> requiredConstants() {
    return requiredConstants;
  }

  public FailureMode failureMode() {
    return failureMode;
  }

  /** Value the programs of this probe read with {@code bpf_get_attach_cookie} (kernel 5.15+); 0 by default. */
  public long cookie() {
    return cookie;
  }

  /**
   * The module whose version {@link #fromVersion()} and {@link #toVersion()} bound ({@code std} for the Go
   * toolchain), or null when the probe applies to every version.
   */
  @Nullable
  public String module() {
    return module;
  }

  /** Lowest version (inclusive, e.g. {@code 1.21}) the probe applies to, or null for no lower bound. */
  @Nullable
  public String fromVersion() {
    return fromVersion;
  }

  /** First version (exclusive) the probe no longer applies to, or null for no upper bound. */
  @Nullable
  public String toVersion() {
    return toVersion;
  }

  /** The optional feature this probe belongs to (e.g. {@link #PROPAGATION}), or null when it always applies. */
  @Nullable
  public String feature() {
    return feature;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof FunctionProbe p)) {
      return false;
    }
    return symbols.equals(p.symbols) && Objects.equals(entryProgram, p.entryProgram)
        && Objects.equals(returnProgram, p.returnProgram) && requiredConstants.equals(p.requiredConstants)
        && failureMode == p.failureMode && cookie == p.cookie && Objects.equals(module, p.module)
        && Objects.equals(fromVersion, p.fromVersion) && Objects.equals(toVersion, p.toVersion)
        && Objects.equals(feature, p.feature);
  }

  @Override
  public int hashCode() {
    return Objects.hash(symbols, entryProgram, returnProgram, requiredConstants, failureMode, cookie, module,
        fromVersion, toVersion, feature);
  }

  @Override
  public String toString() {
    return "FunctionProbe{" + String.join("|", symbols)
        + (entryProgram != null ? " entry=" + entryProgram : "")
        + (returnProgram != null ? " return=" + returnProgram : "")
        + (module != null ? " " + module + "[" + fromVersion + "," + toVersion + ")" : "")
        + (feature != null ? " feature=" + feature : "") + "}";
  }

  /** Builder for {@link FunctionProbe}. */
  public static final class Builder {
    private final List<String> symbols = new ArrayList<>();
    @Nullable private String entryProgram;
    @Nullable private String returnProgram;
    private final List<String> requiredConstants = new ArrayList<>();
    private FailureMode failureMode = FailureMode.WARN;
    private long cookie;
    @Nullable private String module;
    @Nullable private String fromVersion;
    @Nullable private String toVersion;
    @Nullable private String feature;

    private Builder(String symbol) {
      symbols.add(requireNonNull(symbol, "symbol"));
    }

    /** Another name of the same function (another Go release's), tried after the ones given before. */
    public Builder orSymbol(String symbol) {
      symbols.add(requireNonNull(symbol, "symbol"));
      return this;
    }

    /** The program attached at the function's entry. */
    public Builder entry(@Nullable String program) {
      this.entryProgram = program;
      return this;
    }

    /** The program attached at every return instruction. */
    public Builder ret(@Nullable String program) {
      this.returnProgram = program;
      return this;
    }

    /** Constants (field offsets, versioned values) without which the probe is skipped. */
    public Builder requires(List<String> constants) {
      requiredConstants.addAll(requireNonNull(constants, "constants"));
      return this;
    }

    /** {@link #requires(List)} for a few names. */
    public Builder requires(String... constants) {
      return requires(List.of(constants));
    }

    public Builder failureMode(FailureMode mode) {
      this.failureMode = requireNonNull(mode, "mode");
      return this;
    }

    public Builder cookie(long cookie) {
      this.cookie = cookie;
      return this;
    }

    /**
     * Restricts the probe to versions {@code [from, to)} of {@code module} ({@code std} for the Go toolchain;
     * versions like {@code 1.21} or {@code v1.60.0}; a null bound is open).
     */
    public Builder versions(String module, @Nullable String from, @Nullable String to) {
      this.module = requireNonNull(module, "module");
      this.fromVersion = from;
      this.toVersion = to;
      return this;
    }

    /** Makes the probe part of an optional feature, attached only for processes whose rules enable it. */
    public Builder feature(String feature) {
      this.feature = requireNonNull(feature, "feature");
      return this;
    }

    public FunctionProbe build() {
      return new FunctionProbe(this);
    }
  }
}
