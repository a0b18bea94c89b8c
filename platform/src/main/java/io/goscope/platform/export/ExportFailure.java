package io.goscope.platform.export;

import io.goscope.api.Nullable;
import io.opentelemetry.sdk.common.export.GrpcResponse;
import io.opentelemetry.sdk.common.export.HttpResponse;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.reflect.Method;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.Locale;
import javax.net.ssl.SSLException;

/**
 * Names why an export failed, for the {@code reason} label of the failure counters: {@code http_<status>} or
 * {@code grpc_<status>} when the backend answered (after the exporter's own retries), {@code tls},
 * {@code connection_refused}, {@code unknown_host}, {@code timeout}, {@code io}, or {@code exporter} when the
 * exporter reported failure without a cause. A bounded set, so the label cannot explode.
 */
final class ExportFailure {
  static final String TIMEOUT = "timeout";
  static final String EXPORTER = "exporter";

  private ExportFailure() {}

  static String reason(@Nullable Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      Object response = response(t);
      if (response instanceof HttpResponse http) {
        int code = http.getStatusCode();
        return code >= 100 && code < 600 ? "http_" + code : "http_other";
      }
      if (response instanceof GrpcResponse grpc && grpc.getStatusCode() != null) {
        return "grpc_" + grpc.getStatusCode().name().toLowerCase(Locale.ROOT);
      }
      if (t instanceof SSLException) {
        return "tls";
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ConnectException) {
        return "connection_refused";
      }
      if (t instanceof UnknownHostException) {
        return "unknown_host";
      }
      if (t instanceof InterruptedIOException) {
        return TIMEOUT;
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof IOException) {
        return "io";
      }
    }
    return EXPORTER;
  }

  /**
   * The backend's response carried by the SDK's failed-export exception ({@code getResponse()}; the exception type
   * is SDK-internal, the response types are public), or null.
   */
  @Nullable
  private static Object response(Throwable t) {
    try {
      Method m = t.getClass().getMethod("getResponse");
      return m.invoke(t);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }
}
