package io.goscope.e2e;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.StringValue;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * grpc-java as the peer of the traced Go programs: the service {@code goscope.test.Echo}'s unary method, served and
 * called by hand with grpc-api (what grpc-stub's generated code would do), messages being
 * {@code google.protobuf.StringValue} like the Go side's.
 */
final class JavaEcho {
  static final String SERVICE = "goscope.test.Echo";
  static final MethodDescriptor<StringValue, StringValue> UNARY = MethodDescriptor.<StringValue, StringValue>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Unary"))
      .setRequestMarshaller(new Marshaller())
      .setResponseMarshaller(new Marshaller())
      .build();
  static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

  private JavaEcho() {}

  /** A call as the Java server saw it: the request and the traceparent metadata (null when there was none). */
  record Seen(String request, String traceparent) {}

  /** The Java server: "notfound" is answered with NOT_FOUND, anything else with "echo:" and the request. */
  static final class EchoServer implements AutoCloseable {
    private final Server server;
    private final List<Seen> seen = new ArrayList<>();

    EchoServer() throws IOException {
      server = NettyServerBuilder
          .forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), InsecureServerCredentials.create())
          .addService(ServerServiceDefinition.builder(SERVICE).addMethod(UNARY, handler()).build())
          .build()
          .start();
    }

    private ServerCallHandler<StringValue, StringValue> handler() {
      return (call, headers) -> {
        call.request(1);
        return new ServerCall.Listener<StringValue>() {
          @Override
          public void onMessage(StringValue message) {
            synchronized (seen) {
              seen.add(new Seen(message.getValue(), headers.get(TRACEPARENT)));
            }
            if (message.getValue().equals("notfound")) {
              call.close(Status.NOT_FOUND.withDescription("no such thing"), new Metadata());
              return;
            }
            call.sendHeaders(new Metadata());
            call.sendMessage(StringValue.of("echo:" + message.getValue()));
            call.close(Status.OK, new Metadata());
          }
        };
      };
    }

    int port() {
      return server.getPort();
    }

    List<Seen> seen() {
      synchronized (seen) {
        return List.copyOf(seen);
      }
    }

    @Override
    public void close() throws InterruptedException {
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  /** A plaintext channel to 127.0.0.1:port. */
  static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  /** One unary call with the given ASCII metadata; returns the status it ended with. */
  static Status unary(ManagedChannel channel, String request, Map<String, String> metadata) throws Exception {
    ClientCall<StringValue, StringValue> call = channel.newCall(UNARY, CallOptions.DEFAULT
        .withDeadlineAfter(20, TimeUnit.SECONDS));
    Metadata headers = new Metadata();
    metadata.forEach((k, v) -> headers.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
    CompletableFuture<Status> done = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        done.complete(status);
      }
    }, headers);
    call.request(1);
    call.sendMessage(StringValue.of(request));
    call.halfClose();
    return done.get(30, TimeUnit.SECONDS);
  }

  private static final class Marshaller implements MethodDescriptor.Marshaller<StringValue> {
    @Override
    public InputStream stream(StringValue value) {
      return new ByteArrayInputStream(value.toByteArray());
    }

    @Override
    public StringValue parse(InputStream stream) {
      try {
        return StringValue.parseFrom(stream);
      } catch (InvalidProtocolBufferException e) {
        throw Status.INVALID_ARGUMENT.withCause(e).asRuntimeException();
      } catch (IOException e) {
        throw Status.INTERNAL.withCause(e).asRuntimeException();
      }
    }
  }
}
