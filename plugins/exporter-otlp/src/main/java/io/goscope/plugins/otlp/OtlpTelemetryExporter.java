package io.goscope.plugins.otlp;

import static java.util.Objects.requireNonNull;

import io.goscope.api.GoscopeException;
import io.goscope.api.Nullable;
import io.goscope.api.TelemetryExporter;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.metrics.ConfigurableMetricExporterProvider;
import io.opentelemetry.sdk.autoconfigure.spi.traces.ConfigurableSpanExporterProvider;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Function;
import org.pf4j.Extension;

/**
 * The {@code otlp} span and metric exporter. Delegates to the OpenTelemetry SDK's own {@code otlp}
 * {@link ConfigurableSpanExporterProvider} and {@link ConfigurableMetricExporterProvider} (from
 * {@code opentelemetry-exporter-otlp}, found with {@link ServiceLoader} in the class loader that holds the SDK), so
 * every standard variable works exactly as in an SDK-instrumented application:
 * {@code OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]ENDPOINT}, {@code _PROTOCOL}, {@code _HEADERS}, {@code _TIMEOUT},
 * {@code _COMPRESSION}, {@code _CERTIFICATE}, client keys. Retries with exponential backoff on 429/502/503/504 (gRPC:
 * {@code UNAVAILABLE} and the other retryable status codes, not e.g. {@code INVALID_ARGUMENT}) and connection failures
 * are the SDK's default (bounded by {@code _TIMEOUT}); {@code otel.java.exporter.otlp.retry.disabled=true} turns them
 * off. {@code OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE} defaults to {@code cumulative}, which is what the
 * host aggregates. The OkHttp sender honours {@code Retry-After} on 429 and 503. TLS: {@code _CERTIFICATE} (the
 * backend's CA, PEM), {@code _CLIENT_KEY} and {@code _CLIENT_CERTIFICATE} (mTLS, PEM, PKCS#8 key).
 *
 * <p>One addition outside the specification: {@code GOSCOPE_OTLP_HEADERS_FILE} names a file of headers (e.g. an
 * API key from a mounted Kubernetes Secret), re-read when it changes; see {@link HeadersFile}.
 *
 * <p>One deliberate difference from the Java SDK: the default protocol is the specification's {@code http/protobuf}
 * (port 4318), as in OpenTelemetry Go and most other SDKs, not Java's historical {@code grpc}; set
 * {@code OTEL_EXPORTER_OTLP_PROTOCOL=grpc} for gRPC. Both use the OkHttp sender, the only one on the class path.
 */
@Extension
public final class OtlpTelemetryExporter implements TelemetryExporter {
  /** The configuration name, as in {@code OTEL_TRACES_EXPORTER=otlp}. */
  public static final String NAME = "otlp";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public SpanExporter createSpanExporter(ConfigProperties config) {
    requireNonNull(config, "config");
    SpanExporter exporter = sdkProvider(ConfigurableSpanExporterProvider.class,
        ConfigurableSpanExporterProvider::getName, "span").createExporter(SpecDefaultProtocol.wrap(config));
    HeadersFile headers = headersFile(config);
    if (headers == null) {
      return exporter;
    }
    SpanExporter withHeaders;
    if (exporter instanceof OtlpHttpSpanExporter http) {
      withHeaders = http.toBuilder().setHeaders(headers).build();
    } else if (exporter instanceof OtlpGrpcSpanExporter grpc) {
      withHeaders = grpc.toBuilder().setHeaders(headers).build();
    } else {
      throw new GoscopeException("otlp span exporter: cannot add headers from " + HeadersFile.PROPERTY + " to "
          + exporter.getClass().getName());
    }
    exporter.shutdown();
    return withHeaders;
  }

  @Override
  public MetricExporter createMetricExporter(ConfigProperties config) {
    requireNonNull(config, "config");
    MetricExporter exporter = sdkProvider(ConfigurableMetricExporterProvider.class,
        ConfigurableMetricExporterProvider::getName, "metric")
        .createExporter(SpecDefaultProtocol.wrap(config, SpecDefaultProtocol.METRICS_PROTOCOL));
    HeadersFile headers = headersFile(config);
    if (headers == null) {
      return exporter;
    }
    MetricExporter withHeaders;
    if (exporter instanceof OtlpHttpMetricExporter http) {
      withHeaders = http.toBuilder().setHeaders(headers).build();
    } else if (exporter instanceof OtlpGrpcMetricExporter grpc) {
      withHeaders = grpc.toBuilder().setHeaders(headers).build();
    } else {
      throw new GoscopeException("otlp metric exporter: cannot add headers from " + HeadersFile.PROPERTY + " to "
          + exporter.getClass().getName());
    }
    exporter.shutdown();
    return withHeaders;
  }

  /** The headers file of {@code GOSCOPE_OTLP_HEADERS_FILE}, or null when not set. */
  @Nullable
  private static HeadersFile headersFile(ConfigProperties config) {
    String file = config.getString(HeadersFile.PROPERTY);
    return file == null || file.isBlank() ? null : new HeadersFile(Path.of(file));
  }

  /**
   * The SDK's provider named {@link #NAME}. Looked up in the SDK's class loader, not the plugin's: the provider and
   * its senders live on the host class path. The two provider interfaces share no supertype, hence {@code name}.
   */
  private static <P> P sdkProvider(Class<P> type, Function<P, String> name, String signal) {
    List<String> seen = new ArrayList<>();
    for (P provider : ServiceLoader.load(type, type.getClassLoader())) {
      String providerName = name.apply(provider);
      seen.add(providerName);
      if (NAME.equals(providerName)) {
        return provider;
      }
    }
    throw new GoscopeException("create otlp " + signal + " exporter: no " + type.getSimpleName() + " named '" + NAME
        + "' on the host class path (is opentelemetry-exporter-otlp missing?); found " + seen);
  }
}
