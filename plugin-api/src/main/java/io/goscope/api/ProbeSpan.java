package io.goscope.api;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceId;

/**
 * A finished span decoded from a probe record. Times are kernel monotonic timestamps ({@code bpf_ktime_get_ns});
 * the host converts them to wall-clock time.
 */
public final class ProbeSpan {
  private final String name;
  private final SpanKind kind;
  private final String scope;
  private final long startKtimeNanos;
  private final long endKtimeNanos;
  private final String traceId;
  private final String spanId;
  private final String parentSpanId;
  private final Attributes attributes;
  private final StatusCode status;
  private final String statusDescription;
  private final boolean sampled;
  private final boolean parentRemote;
  private final String traceState;
  private final String schemaUrl;

  private ProbeSpan(Builder b) {
    this.name = requireNonNull(b.name, "name");
    this.kind = b.kind;
    this.scope = b.scope;
    this.startKtimeNanos = b.startKtimeNanos;
    this.endKtimeNanos = Math.max(b.startKtimeNanos, b.endKtimeNanos);
    this.traceId = TraceId.isValid(b.traceId) ? b.traceId : TraceId.getInvalid();
    this.spanId = SpanId.isValid(b.spanId) ? b.spanId : SpanId.getInvalid();
    this.parentSpanId = SpanId.isValid(b.parentSpanId) ? b.parentSpanId : SpanId.getInvalid();
    this.attributes = b.attributes;
    this.status = b.status;
    this.statusDescription = b.statusDescription;
    this.sampled = b.sampled;
    this.parentRemote = b.parentRemote && SpanId.isValid(parentSpanId);
    this.traceState = b.traceState;
    this.schemaUrl = b.schemaUrl;
  }

  /**
   * Starts a span.
   *
   * @param name span name, following the semantic conventions of the instrumented library
   * @param scope instrumentation scope name, e.g. {@code io.goscope.nethttp}
   */
  public static Builder builder(String name, String scope) {
    return new Builder(name, scope);
  }

  public String name() {
    return name;
  }

  public SpanKind kind() {
    return kind;
  }

  /** Instrumentation scope name. */
  public String scope() {
    return scope;
  }

  public long startKtimeNanos() {
    return startKtimeNanos;
  }

  public long endKtimeNanos() {
    return endKtimeNanos;
  }

  /** 32 lowercase hex digits; the invalid id when the probe supplied none (the host then generates one). */
  public String traceId() {
    return traceId;
  }

  /** 16 lowercase hex digits; the invalid id when the probe supplied none (the host then generates one). */
  public String spanId() {
    return spanId;
  }

  /** 16 lowercase hex digits, or the invalid id for a root span. */
  public String parentSpanId() {
    return parentSpanId;
  }

  public Attributes attributes() {
    return attributes;
  }

  public StatusCode status() {
    return status;
  }

  public String statusDescription() {
    return statusDescription;
  }

  /**
   * Whether the trace is sampled (W3C trace flag 01). Unsampled spans still feed metrics; the host does not export
   * them and counts them as sampled out, not as lost.
   */
  public boolean sampled() {
    return sampled;
  }

  /** Whether the parent span lives in another process (it came in with the request, e.g. a traceparent header). */
  public boolean parentRemote() {
    return parentRemote;
  }

  /** The W3C {@code tracestate} that came in with the parent, or empty. */
  public String traceState() {
    return traceState;
  }

  /**
   * The schema URL of the semantic conventions the span follows (e.g.
   * {@code https://opentelemetry.io/schemas/1.44.0}), carried by its instrumentation scope; empty when none.
   */
  public String schemaUrl() {
    return schemaUrl;
  }

  @Override
  public String toString() {
    return "ProbeSpan{" + name + " " + kind + " " + traceId + "/" + spanId + "<-" + parentSpanId + " "
        + (endKtimeNanos - startKtimeNanos) + "ns " + attributes + "}";
  }

  /** Builder for {@link ProbeSpan}. */
  public static final class Builder {
    private final String name;
    private final String scope;
    private SpanKind kind = SpanKind.INTERNAL;
    private long startKtimeNanos;
    private long endKtimeNanos;
    private String traceId = TraceId.getInvalid();
    private String spanId = SpanId.getInvalid();
    private String parentSpanId = SpanId.getInvalid();
    private Attributes attributes = Attributes.empty();
    private StatusCode status = StatusCode.UNSET;
    private String statusDescription = "";
    private boolean sampled = true;
    private boolean parentRemote;
    private String traceState = "";
    private String schemaUrl = "";

    private Builder(String name, String scope) {
      this.name = requireNonNull(name, "name");
      this.scope = requireNonNull(scope, "scope");
    }

    public Builder kind(SpanKind kind) {
      this.kind = requireNonNull(kind, "kind");
      return this;
    }

    public Builder timestamps(long startKtimeNanos, long endKtimeNanos) {
      this.startKtimeNanos = startKtimeNanos;
      this.endKtimeNanos = endKtimeNanos;
      return this;
    }

    public Builder traceId(String traceId) {
      this.traceId = requireNonNull(traceId, "traceId");
      return this;
    }

    public Builder spanId(String spanId) {
      this.spanId = requireNonNull(spanId, "spanId");
      return this;
    }

    public Builder parentSpanId(String parentSpanId) {
      this.parentSpanId = requireNonNull(parentSpanId, "parentSpanId");
      return this;
    }

    public Builder attributes(Attributes attributes) {
      this.attributes = requireNonNull(attributes, "attributes");
      return this;
    }

    public Builder status(StatusCode status, String description) {
      this.status = requireNonNull(status, "status");
      this.statusDescription = requireNonNull(description, "description");
      return this;
    }

    /** W3C sampled flag; true by default. */
    public Builder sampled(boolean sampled) {
      this.sampled = sampled;
      return this;
    }

    /** Whether the parent came from another process. */
    public Builder parentRemote(boolean parentRemote) {
      this.parentRemote = parentRemote;
      return this;
    }

    /** The W3C tracestate header value that came with a remote parent. */
    public Builder traceState(String traceState) {
      this.traceState = requireNonNull(traceState, "traceState");
      return this;
    }

    /** The schema URL of the semantic conventions the span follows; empty (the default) for none. */
    public Builder schemaUrl(String schemaUrl) {
      this.schemaUrl = requireNonNull(schemaUrl, "schemaUrl");
      return this;
    }

    public ProbeSpan build() {
      return new ProbeSpan(this);
    }
  }
}
