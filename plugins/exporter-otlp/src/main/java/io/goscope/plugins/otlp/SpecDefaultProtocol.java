package io.goscope.plugins.otlp;

import io.opentelemetry.common.ComponentLoader;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The agent's configuration with Goscope's two OTLP defaults: the specification's default protocol,
 * {@code http/protobuf}, instead of the Java SDK's historical {@code grpc} (when neither the signal's key, e.g.
 * {@code otel.exporter.otlp.traces.protocol}, nor {@code otel.exporter.otlp.protocol} is set), and {@code gzip}
 * compression, as the OpenTelemetry Collector's OTLP exporters default to (when neither
 * {@code otel.exporter.otlp.<signal>.compression} nor {@code otel.exporter.otlp.compression} is set; {@code none}
 * turns it off). gzip matters beyond bandwidth: the SDK's OkHttp sender does not set {@code TCP_NODELAY}, and an
 * uncompressed batch's last partial segment waits for the backend's delayed ACK (about 30 ms per request on
 * loopback, capping export near 16 k spans/s; see BENCHMARKS.md). Everything else is passed through unchanged.
 */
final class SpecDefaultProtocol implements ConfigProperties {
  static final String PROTOCOL = "otel.exporter.otlp.protocol";
  static final String TRACES_PROTOCOL = "otel.exporter.otlp.traces.protocol";
  static final String METRICS_PROTOCOL = "otel.exporter.otlp.metrics.protocol";
  static final String DEFAULT_PROTOCOL = "http/protobuf";
  static final String COMPRESSION = "otel.exporter.otlp.compression";
  static final String TRACES_COMPRESSION = "otel.exporter.otlp.traces.compression";
  static final String METRICS_COMPRESSION = "otel.exporter.otlp.metrics.compression";
  static final String DEFAULT_COMPRESSION = "gzip";

  private final ConfigProperties delegate;
  private final boolean defaultProtocol;
  private final boolean defaultCompression;

  private SpecDefaultProtocol(ConfigProperties delegate, boolean defaultProtocol, boolean defaultCompression) {
    this.delegate = delegate;
    this.defaultProtocol = defaultProtocol;
    this.defaultCompression = defaultCompression;
  }

  static ConfigProperties wrap(ConfigProperties config) {
    return wrap(config, TRACES_PROTOCOL);
  }

  /** @param signalProtocol the signal's own protocol key, e.g. {@link #METRICS_PROTOCOL} */
  static ConfigProperties wrap(ConfigProperties config, String signalProtocol) {
    String signalCompression = signalProtocol.equals(METRICS_PROTOCOL) ? METRICS_COMPRESSION : TRACES_COMPRESSION;
    boolean protocol = config.getString(PROTOCOL) == null && config.getString(signalProtocol) == null;
    boolean compression = config.getString(COMPRESSION) == null && config.getString(signalCompression) == null;
    return protocol || compression ? new SpecDefaultProtocol(config, protocol, compression) : config;
  }

  @Override
  public String getString(String name) {
    String value = delegate.getString(name);
    if (value != null) {
      return value;
    }
    if (defaultProtocol && PROTOCOL.equals(name)) {
      return DEFAULT_PROTOCOL;
    }
    return defaultCompression && COMPRESSION.equals(name) ? DEFAULT_COMPRESSION : null;
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
