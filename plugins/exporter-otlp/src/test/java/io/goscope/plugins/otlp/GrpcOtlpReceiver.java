package io.goscope.plugins.otlp;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.goscope.testing.ReceivedTelemetry;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * An OTLP/gRPC receiver for tests: a real grpc-java server (Netty, plaintext HTTP/2) on loopback serving
 * {@code opentelemetry.proto.collector.trace.v1.TraceService/Export} and
 * {@code opentelemetry.proto.collector.metrics.v1.MetricsService/Export}. The services are registered by hand with
 * protobuf marshallers over the {@code opentelemetry-proto} messages, so there is no generated stub; gRPC framing,
 * compression ({@code grpc-encoding: gzip}), status and trailers are grpc-java's own. Accepted exports are decoded
 * into a {@link ReceivedTelemetry}, the same spans and histogram points the OTLP/HTTP
 * {@link io.goscope.testing.OtlpReceiver} gives. Every call is recorded with its method, metadata and the status it
 * was answered with; {@link #failNextCalls} answers calls with an error status (a collector that is overloaded or
 * restarting).
 *
 * <pre>{@code
 * try (GrpcOtlpReceiver receiver = GrpcOtlpReceiver.start()) {
 *   // OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint(), OTEL_EXPORTER_OTLP_PROTOCOL = grpc
 *   List<ReceivedSpan> spans = receiver.awaitSpans(3, Duration.ofSeconds(10));
 * }
 * }</pre>
 */
final class GrpcOtlpReceiver implements AutoCloseable {
  static final String TRACE_EXPORT = "opentelemetry.proto.collector.trace.v1.TraceService/Export";
  static final String METRICS_EXPORT = "opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

  private final AtomicInteger requests = new AtomicInteger();
  private final ReceivedTelemetry received = new ReceivedTelemetry(requests::get);
  private final List<Call> calls = new ArrayList<>();
  private final List<Status> failNext = new ArrayList<>();
  private final Server server;

  private GrpcOtlpReceiver(int port) throws IOException {
    server = NettyServerBuilder
        .forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), InsecureServerCredentials.create())
        .directExecutor() // the handlers only decode and store: no need for a thread pool
        .addService(ServerServiceDefinition.builder("opentelemetry.proto.collector.trace.v1.TraceService")
            .addMethod(unary(TRACE_EXPORT, ExportTraceServiceRequest.parser(), ExportTraceServiceResponse.parser()),
                this.<ExportTraceServiceRequest, ExportTraceServiceResponse>handler(received::add,
                    ExportTraceServiceResponse.getDefaultInstance()))
            .build())
        .addService(ServerServiceDefinition.builder("opentelemetry.proto.collector.metrics.v1.MetricsService")
            .addMethod(unary(METRICS_EXPORT, ExportMetricsServiceRequest.parser(),
                    ExportMetricsServiceResponse.parser()),
                this.<ExportMetricsServiceRequest, ExportMetricsServiceResponse>handler(received::add,
                    ExportMetricsServiceResponse.getDefaultInstance()))
            .build())
        .build()
        .start();
  }

  /** Starts a receiver on {@code 127.0.0.1} and an ephemeral port. */
  static GrpcOtlpReceiver start() throws IOException {
    return new GrpcOtlpReceiver(0);
  }

  /** Starts a receiver on {@code 127.0.0.1} and {@code port} (e.g. where a receiver that was down comes back). */
  static GrpcOtlpReceiver start(int port) throws IOException {
    return new GrpcOtlpReceiver(port);
  }

  int port() {
    return server.getPort();
  }

  /** For {@code OTEL_EXPORTER_OTLP_ENDPOINT} with protocol {@code grpc}, e.g. {@code http://127.0.0.1:43123}. */
  String endpoint() {
    return "http://127.0.0.1:" + port();
  }

  /** Answers the next {@code n} calls (of either service) with {@code status} instead of accepting them. */
  void failNextCalls(int n, Status status) {
    requireNonNull(status, "status");
    if (status.isOk()) {
      throw new IllegalArgumentException("not an error status: " + status);
    }
    synchronized (failNext) {
      for (int i = 0; i < n; i++) {
        failNext.add(status);
      }
    }
  }

  /** Calls started, answered or not. */
  int requests() {
    return requests.get();
  }

  /** The calls answered so far, in order. */
  List<Call> calls() {
    synchronized (calls) {
      return List.copyOf(calls);
    }
  }

  List<ReceivedSpan> spans() {
    return received.spans();
  }

  List<ReceivedSpan> awaitSpans(int n, Duration timeout) throws InterruptedException {
    return received.awaitSpans(n, timeout);
  }

  List<ReceivedHistogramPoint> histogramPoints() {
    return received.histogramPoints();
  }

  List<ReceivedHistogramPoint> awaitHistogramPoints(Predicate<List<ReceivedHistogramPoint>> condition,
      Duration timeout) throws InterruptedException {
    return received.awaitHistogramPoints(condition, timeout);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }

  private static <T extends Message, R extends Message> MethodDescriptor<T, R> unary(String fullMethodName,
      Parser<T> requestParser, Parser<R> responseParser) {
    return MethodDescriptor.<T, R>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(fullMethodName)
        .setRequestMarshaller(new ProtobufMarshaller<>(requestParser))
        .setResponseMarshaller(new ProtobufMarshaller<>(responseParser))
        .build();
  }

  /**
   * Unary handling by hand (what grpc-stub's {@code ServerCalls.asyncUnaryCall} does): one request message, then
   * either the configured error status, with no message (a "trailers-only" response, as real servers send errors),
   * or the decoded export is stored and {@code response} sent with status OK.
   */
  private <T extends Message, R extends Message> ServerCallHandler<T, R> handler(Consumer<T> store, R response) {
    return (call, headers) -> {
      requests.incrementAndGet();
      call.request(2); // a second message, or none, is a protocol error reported below
      return new ServerCall.Listener<>() {
        private final List<T> messages = new ArrayList<>(1);

        @Override
        public void onMessage(T message) {
          messages.add(message);
        }

        @Override
        public void onHalfClose() {
          Status status = messages.size() == 1 ? nextStatus()
              : Status.INTERNAL.withDescription("unary call with " + messages.size() + " request messages");
          if (status.isOk()) {
            store.accept(messages.get(0));
          }
          addCall(new Call(call.getMethodDescriptor().getFullMethodName(), metadata(headers), status.getCode()));
          if (status.isOk()) {
            call.sendHeaders(new Metadata());
            call.sendMessage(response);
          }
          call.close(status, new Metadata());
        }
      };
    };
  }

  private Status nextStatus() {
    synchronized (failNext) {
      return failNext.isEmpty() ? Status.OK : failNext.remove(0);
    }
  }

  private void addCall(Call call) {
    synchronized (calls) {
      calls.add(call);
    }
  }

  private static Map<String, List<String>> metadata(Metadata headers) {
    Map<String, List<String>> map = new LinkedHashMap<>();
    for (String key : headers.keys()) {
      if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
        continue;
      }
      Iterable<String> values = headers.getAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
      List<String> list = new ArrayList<>();
      if (values != null) {
        values.forEach(list::add);
      }
      map.put(key, List.copyOf(list));
    }
    return Map.copyOf(map);
  }

  /**
   * One answered call.
   *
   * @param method e.g. {@link #TRACE_EXPORT}
   * @param metadata the request's ASCII metadata as the server sees it, lower-case keys: {@code content-type},
   *     {@code grpc-encoding}, {@code user-agent}, the {@code OTEL_EXPORTER_OTLP_HEADERS}, ...; binary
   *     ({@code -bin}) entries are left out
   * @param status what the receiver answered
   */
  record Call(String method, Map<String, List<String>> metadata, Status.Code status) {}

  /** One protobuf message type on the wire, both ways (what grpc-protobuf's {@code ProtoUtils.marshaller} does). */
  private static final class ProtobufMarshaller<T extends Message> implements MethodDescriptor.Marshaller<T> {
    private final Parser<T> parser;

    ProtobufMarshaller(Parser<T> parser) {
      this.parser = parser;
    }

    @Override
    public InputStream stream(T value) {
      return new ByteArrayInputStream(value.toByteArray());
    }

    @Override
    public T parse(InputStream stream) {
      try {
        return parser.parseFrom(stream);
      } catch (InvalidProtocolBufferException e) {
        throw Status.INVALID_ARGUMENT.withDescription("bad protobuf: " + e.getMessage()).withCause(e)
            .asRuntimeException();
      }
    }
  }
}
