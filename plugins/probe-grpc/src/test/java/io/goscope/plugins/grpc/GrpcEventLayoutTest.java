package io.goscope.plugins.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.goscope.api.testing.CHeaderLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@link GrpcEventLayout} in sync with the structs of {@code grpc_event.h}: compiles a tiny C program that
 * includes {@code grpc_event.h} with the host C compiler and compares {@code offsetof}/{@code sizeof} of every
 * field with the Java constants.
 */
class GrpcEventLayoutTest {

  /** struct → C field name → {offset, size} as the Java side believes. */
  private static Map<String, Map<String, int[]>> javaLayouts() {
    Map<String, Map<String, int[]>> all = new LinkedHashMap<>();
    Map<String, int[]> a = new LinkedHashMap<>();
    a.put("type_addr", new int[] {GrpcEventLayout.Addr.TYPE_ADDR, 8});
    a.put("port", new int[] {GrpcEventLayout.Addr.PORT, 8});
    a.put("ip_len", new int[] {GrpcEventLayout.Addr.IP_LEN, 8});
    a.put("ip", new int[] {GrpcEventLayout.Addr.IP, GrpcEventLayout.Addr.IP_CAP});
    a.put("sizeof", new int[] {GrpcEventLayout.Addr.SIZE, 0});
    all.put("grpc_addr", a);

    Map<String, int[]> s = new LinkedHashMap<>();
    s.put("hdr", new int[] {GrpcEventLayout.HEADER, GrpcEventLayout.HEADER_SIZE});
    s.put("start_ns", new int[] {GrpcEventLayout.Server.START_NS, 8});
    s.put("end_ns", new int[] {GrpcEventLayout.Server.END_NS, 8});
    s.put("trace", new int[] {GrpcEventLayout.Server.TRACE, io.goscope.api.TraceRecord.SIZE});
    s.put("status", new int[] {GrpcEventLayout.Server.STATUS, 8});
    s.put("transport_type", new int[] {GrpcEventLayout.Server.TRANSPORT_TYPE, 8});
    s.put("method_len", new int[] {GrpcEventLayout.Server.METHOD_LEN, 8});
    s.put("peer", new int[] {GrpcEventLayout.Server.PEER, GrpcEventLayout.Addr.SIZE});
    s.put("local", new int[] {GrpcEventLayout.Server.LOCAL, GrpcEventLayout.Addr.SIZE});
    s.put("method", new int[] {GrpcEventLayout.Server.METHOD, GrpcEventLayout.Server.METHOD_CAP});
    s.put("sizeof", new int[] {GrpcEventLayout.Server.SIZE, 0});
    all.put("grpc_server_event", s);

    Map<String, int[]> c = new LinkedHashMap<>();
    c.put("start_ns", new int[] {GrpcEventLayout.Client.START_NS, 8});
    c.put("end_ns", new int[] {GrpcEventLayout.Client.END_NS, 8});
    c.put("trace", new int[] {GrpcEventLayout.Client.TRACE, io.goscope.api.TraceRecord.SIZE});
    c.put("error_type", new int[] {GrpcEventLayout.Client.ERROR_TYPE, 8});
    c.put("error_code", new int[] {GrpcEventLayout.Client.ERROR_CODE, 8});
    c.put("error_text_len", new int[] {GrpcEventLayout.Client.ERROR_TEXT_LEN, 8});
    c.put("method_len", new int[] {GrpcEventLayout.Client.METHOD_LEN, 8});
    c.put("target_len", new int[] {GrpcEventLayout.Client.TARGET_LEN, 8});
    c.put("stream", new int[] {GrpcEventLayout.Client.STREAM, 1});
    c.put("propagation", new int[] {GrpcEventLayout.Client.PROPAGATION, 1});
    c.put("error_text", new int[] {GrpcEventLayout.Client.ERROR_TEXT, GrpcEventLayout.Client.ERROR_TEXT_CAP});
    c.put("method", new int[] {GrpcEventLayout.Client.METHOD, GrpcEventLayout.Client.METHOD_CAP});
    c.put("target", new int[] {GrpcEventLayout.Client.TARGET, GrpcEventLayout.Client.TARGET_CAP});
    c.put("sizeof", new int[] {GrpcEventLayout.Client.SIZE, 0});
    all.put("grpc_client_event", c);

    Map<String, int[]> t = new LinkedHashMap<>();
    t.put("parent_span_id", new int[] {GrpcEventLayout.TraceState.PARENT_SPAN_ID, 8});
    t.put("len", new int[] {GrpcEventLayout.TraceState.LEN, 8});
    t.put("value", new int[] {GrpcEventLayout.TraceState.VALUE, GrpcEventLayout.TraceState.VALUE_CAP});
    t.put("sizeof", new int[] {GrpcEventLayout.TraceState.SIZE, 0});
    all.put("grpc_tracestate_event", t);
    return all;
  }

  /** The record types and constants the header defines. */
  private static Map<String, Integer> javaConstants() {
    return Map.of(
        "GRPC_RECORD_SERVER", GrpcEventLayout.Server.TYPE,
        "GRPC_RECORD_CLIENT", GrpcEventLayout.Client.TYPE,
        "GRPC_RECORD_TRACESTATE", GrpcEventLayout.TraceState.TYPE,
        "GRPC_PROPAGATION_NONE", GrpcEventLayout.Client.PROPAGATION_NONE,
        "GRPC_PROPAGATION_INJECTED", GrpcEventLayout.Client.PROPAGATION_INJECTED,
        "GRPC_PROPAGATION_OWN", GrpcEventLayout.Client.PROPAGATION_OWN,
        "GRPC_PROPAGATION_UNSURE", GrpcEventLayout.Client.PROPAGATION_UNSURE);
  }

  @Test
  void cStructsMatchJavaLayouts() throws Exception {
    List<String> fields = new ArrayList<>();
    javaLayouts().forEach((struct, f) -> f.keySet().forEach(field -> fields.add(struct + "." + field)));
    Map<String, long[]> fromC =
        CHeaderLayout.measure("grpc_event.h", fields, new ArrayList<>(javaConstants().keySet()));
    javaLayouts().forEach((struct, f) -> f.forEach((field, expected) -> {
      long[] actual = fromC.get(struct + "." + field);
      assertEquals(expected[0], actual[0], "offsetof/sizeof " + struct + "." + field);
      assertEquals(expected[1], actual[1], "sizeof(" + struct + "." + field + ")");
    }));
    javaConstants().forEach((k, v) -> assertEquals((long) v, fromC.get(k)[0], k));
  }
}
