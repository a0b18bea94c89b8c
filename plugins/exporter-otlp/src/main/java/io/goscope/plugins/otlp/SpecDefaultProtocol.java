package io.goscope.plugins.otlp;

import io.opentelemetry.common.ComponentLoader;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The agent's configuration with the specification's default OTLP protocol, {@code http/protobuf}, instead of the
 * Java SDK's historical {@code grpc}: when neither the signal's key ({@code otel.exporter.otlp.traces.protocol} or
 * {@code otel.exporter.otlp.metrics.protocol}) nor {@code otel.exporter.otlp.protocol} is set, the latter reads as
 * {@code http/protobuf}. Everything else is passed through unchanged.
 */
final class SpecDefaultProtocol implements ConfigProperties {
  static final String PROTOCOL = "otel.exporter.otlp.protocol";
  static final String TRACES_PROTOCOL = "otel.exporter.otlp.traces.protocol";
  static final String METRICS_PROTOCOL = "otel.exporter.otlp.metrics.protocol";
  static final String DEFAULT_PROTOCOL = "http/protobuf";

  private final ConfigProperties delegate;

  private SpecDefaultProtocol(ConfigProperties delegate) {
    this.delegate = delegate;
  }

  static ConfigProperties wrap(ConfigProperties config) {
    return wrap(config, TRACES_PROTOCOL);
  }

  /** @param signalProtocol the signal's own protocol key, e.g. {@link #METRICS_PROTOCOL} */
  static ConfigProperties wrap(ConfigProperties config, String signalProtocol) {
    if (config.getString(PROTOCOL) != null || config.getString(signalProtocol) != null) {
      return config;
    }
    return new SpecDefaultProtocol(config);
  }

  @Override
  public String getString(String name) {
    String value = delegate.getString(name);
    return value == null && PROTOCOL.equals(name) ? DEFAULT_PROTOCOL : value;
  }

  @Override
  public Boolean getBoolean(String name) {
    return delegate.getBoolean(name);
  }

  @Override
  public Integer getInt(String name) {
    return delegate.getInt(name);
  }

  @Override
  public Long getLong(String name) {
    return delegate.getLong(name);
  }

  @Override
  public Double getDouble(String name) {
    return delegate.getDouble(name);
  }

  @Override
  public Duration getDuration(String name) {
    return delegate.getDuration(name);
  }

  @Override
  public List<String> getList(String name) {
    return delegate.getList(name);
  }

  @Override
  public Map<String, String> getMap(String name) {
    return delegate.getMap(name);
  }

  @Override
  public ComponentLoader getComponentLoader() {
    return delegate.getComponentLoader();
  }
}
