package io.goscope.platform.export;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.common.InstrumentationLibraryInfo;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.data.StatusData;
import java.util.List;

/** An ended span built from a probe record: the immutable {@link SpanData} handed to exporters. */
final class ProbeSpanData implements SpanData {
  private final String name;
  private final SpanKind kind;
  private final SpanContext spanContext;
  private final SpanContext parentSpanContext;
  private final StatusData status;
  private final long startEpochNanos;
  private final long endEpochNanos;
  private final Attributes attributes;
  private final InstrumentationScopeInfo scope;
  private final Resource resource;

  ProbeSpanData(
      String name,
      SpanKind kind,
      SpanContext spanContext,
      SpanContext parentSpanContext,
      StatusData status,
      long startEpochNanos,
      long endEpochNanos,
      Attributes attributes,
      InstrumentationScopeInfo scope,
      Resource resource) {
    this.name = name;
    this.kind = kind;
    this.spanContext = spanContext;
    this.parentSpanContext = parentSpanContext;
    this.status = status;
    this.startEpochNanos = startEpochNanos;
    this.endEpochNanos = endEpochNanos;
    this.attributes = attributes;
    this.scope = scope;
    this.resource = resource;
  }

  @Override
  public String getName() {
    return name;
  }

  @Override
  public SpanKind getKind() {
    return kind;
  }

  @Override
  public SpanContext getSpanContext() {
    return spanContext;
  }

  @Override
  public SpanContext getParentSpanContext() {
    return parentSpanContext;
  }

  @Override
  public StatusData getStatus() {
    return status;
  }

  @Override
  public long getStartEpochNanos() {
    return startEpochNanos;
  }

  @Override
  public Attributes getAttributes() {
    return attributes;
  }

  @Override
  public List<EventData> getEvents() {
    return List.of();
  }

  @Override
  public List<LinkData> getLinks() {
    return List.of();
  }

  @Override
  public long getEndEpochNanos() {
    return endEpochNanos;
  }

  @Override
  public boolean hasEnded() {
    return true;
  }

  @Override
  public int getTotalRecordedEvents() {
    return 0;
  }

  @Override
  public int getTotalRecordedLinks() {
    return 0;
  }

  @Override
  public int getTotalAttributeCount() {
    return attributes.size();
  }

  @Override
  @Deprecated
  public InstrumentationLibraryInfo getInstrumentationLibraryInfo() {
    return InstrumentationLibraryInfo.create(scope.getName(), scope.getVersion(), scope.getSchemaUrl());
  }

  @Override
  public InstrumentationScopeInfo getInstrumentationScopeInfo() {
    return scope;
  }

  @Override
  public Resource getResource() {
    return resource;
  }

  @Override
  public String toString() {
    return "ProbeSpanData{name=" + name + ", kind=" + kind + ", traceId=" + spanContext.getTraceId() + ", spanId="
        + spanContext.getSpanId() + ", parentSpanId=" + parentSpanContext.getSpanId() + ", start=" + startEpochNanos
        + ", end=" + endEpochNanos + ", status=" + status + ", attributes=" + attributes + ", resource="
        + resource.getAttributes() + "}";
  }
}
