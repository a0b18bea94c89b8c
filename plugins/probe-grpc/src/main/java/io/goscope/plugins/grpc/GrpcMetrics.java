package io.goscope.plugins.grpc;

import io.goscope.api.HistogramInstrument;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import java.util.List;

/**
 * The metrics of gRPC calls, following the OpenTelemetry RPC metric conventions ({@value GrpcEventDecoder#SCHEMA_URL}).
 *
 * <p>Both histograms carry {@code rpc.system.name}, {@code rpc.method} (or {@code _OTHER}),
 * {@code rpc.response.status_code} when known and {@code error.type} for calls that failed. The client's also carries
 * {@code server.address} and {@code server.port} (from the channel's target: a configuration value, so of low
 * cardinality); on the server's they are opt-in in the conventions and left out, as are peer addresses on both.
 */
public final class GrpcMetrics {
  /** Bucket boundaries the conventions advise for both durations, in seconds. */
  public static final List<Double> DURATION_BOUNDARIES =
      List.of(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0);

  /** {@code rpc.server.call.duration}: from the stream's arrival at the server to its handler's return. */
  public static final HistogramInstrument SERVER_DURATION = new HistogramInstrument(
      "rpc.server.call.duration", "s", "Measures the duration of an incoming Remote Procedure Call (RPC).",
      DURATION_BOUNDARIES, GrpcEventDecoder.SCOPE, GrpcEventDecoder.SCHEMA_URL);

  /** {@code rpc.client.call.duration}: a call through {@code grpc.ClientConn}, or a whole stream. */
  public static final HistogramInstrument CLIENT_DURATION = new HistogramInstrument(
      "rpc.client.call.duration", "s", "Measures the duration of an outgoing Remote Procedure Call (RPC).",
      DURATION_BOUNDARIES, GrpcEventDecoder.SCOPE, GrpcEventDecoder.SCHEMA_URL);

  private GrpcMetrics() {}

  static Attributes serverDurationAttributes(Attributes span) {
    AttributesBuilder b = Attributes.builder();
    copy(span, GrpcEventDecoder.RPC_SYSTEM_NAME, b);
    copy(span, GrpcEventDecoder.RPC_METHOD, b);
    copy(span, GrpcEventDecoder.RPC_RESPONSE_STATUS_CODE, b);
    copy(span, GrpcEventDecoder.ERROR_TYPE, b);
    return b.build();
  }

  static Attributes clientDurationAttributes(Attributes span) {
    AttributesBuilder b = Attributes.builder();
    copy(span, GrpcEventDecoder.RPC_SYSTEM_NAME, b);
    copy(span, GrpcEventDecoder.RPC_METHOD, b);
    copy(span, GrpcEventDecoder.RPC_RESPONSE_STATUS_CODE, b);
    copy(span, GrpcEventDecoder.ERROR_TYPE, b);
    copy(span, GrpcEventDecoder.SERVER_ADDRESS, b);
    copy(span, GrpcEventDecoder.SERVER_PORT, b);
    return b.build();
  }

  private static <T> void copy(Attributes from, AttributeKey<T> key, AttributesBuilder to) {
    T value = from.get(key);
    if (value != null) {
      to.put(key, value);
    }
  }
}
