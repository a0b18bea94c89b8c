package io.goscope.plugins.nethttp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.goscope.api.testing.CHeaderLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@link NetHttpEventLayout} in sync with {@code struct nethttp_event}: compiles a tiny C program that
 * includes {@code nethttp_event.h} with the host C compiler and compares {@code offsetof}/{@code sizeof} of every
 * field with the Java constants.
 */
class NetHttpEventLayoutTest {

  /** struct → C field name → {offset, size} as the Java side believes. */
  private static Map<String, Map<String, int[]>> javaLayouts() {
    Map<String, Map<String, int[]>> all = new LinkedHashMap<>();
    Map<String, int[]> s = new LinkedHashMap<>();
    s.put("hdr", new int[] {NetHttpEventLayout.HEADER, NetHttpEventLayout.HEADER_SIZE});
    s.put("start_ns", new int[] {NetHttpEventLayout.Server.START_NS, 8});
    s.put("end_ns", new int[] {NetHttpEventLayout.Server.END_NS, 8});
    s.put("trace", new int[] {NetHttpEventLayout.Server.TRACE, io.goscope.api.TraceRecord.SIZE});
    s.put("status", new int[] {NetHttpEventLayout.Server.STATUS, 8});
    s.put("method_len", new int[] {NetHttpEventLayout.Server.METHOD_LEN, 8});
    s.put("path_len", new int[] {NetHttpEventLayout.Server.PATH_LEN, 8});
    s.put("proto_len", new int[] {NetHttpEventLayout.Server.PROTO_LEN, 8});
    s.put("host_len", new int[] {NetHttpEventLayout.Server.HOST_LEN, 8});
    s.put("remote_addr_len", new int[] {NetHttpEventLayout.Server.REMOTE_ADDR_LEN, 8});
    s.put("route_len", new int[] {NetHttpEventLayout.Server.ROUTE_LEN, 8});
    s.put("tls", new int[] {NetHttpEventLayout.Server.TLS, 1});
    s.put("method", new int[] {NetHttpEventLayout.Server.METHOD, NetHttpEventLayout.Server.METHOD_CAP});
    s.put("path", new int[] {NetHttpEventLayout.Server.PATH, NetHttpEventLayout.Server.PATH_CAP});
    s.put("proto", new int[] {NetHttpEventLayout.Server.PROTO, NetHttpEventLayout.Server.PROTO_CAP});
    s.put("host", new int[] {NetHttpEventLayout.Server.HOST, NetHttpEventLayout.Server.HOST_CAP});
    s.put("remote_addr", new int[] {NetHttpEventLayout.Server.REMOTE_ADDR,
        NetHttpEventLayout.Server.REMOTE_ADDR_CAP});
    s.put("route", new int[] {NetHttpEventLayout.Server.ROUTE, NetHttpEventLayout.Server.ROUTE_CAP});
    s.put("sizeof", new int[] {NetHttpEventLayout.Server.SIZE, 0});
    all.put("nethttp_server_event", s);

    Map<String, int[]> c = new LinkedHashMap<>();
    c.put("start_ns", new int[] {NetHttpEventLayout.Client.START_NS, 8});
    c.put("end_ns", new int[] {NetHttpEventLayout.Client.END_NS, 8});
    c.put("trace", new int[] {NetHttpEventLayout.Client.TRACE, io.goscope.api.TraceRecord.SIZE});
    c.put("status", new int[] {NetHttpEventLayout.Client.STATUS, 8});
    c.put("error_type", new int[] {NetHttpEventLayout.Client.ERROR_TYPE, 8});
    c.put("method_len", new int[] {NetHttpEventLayout.Client.METHOD_LEN, 8});
    c.put("scheme_len", new int[] {NetHttpEventLayout.Client.SCHEME_LEN, 8});
    c.put("host_len", new int[] {NetHttpEventLayout.Client.HOST_LEN, 8});
    c.put("path_len", new int[] {NetHttpEventLayout.Client.PATH_LEN, 8});
    c.put("query_len", new int[] {NetHttpEventLayout.Client.QUERY_LEN, 8});
    c.put("proto_len", new int[] {NetHttpEventLayout.Client.PROTO_LEN, 8});
    c.put("userinfo", new int[] {NetHttpEventLayout.Client.USERINFO, 1});
    c.put("propagation", new int[] {NetHttpEventLayout.Client.PROPAGATION, 1});
    c.put("method", new int[] {NetHttpEventLayout.Client.METHOD, NetHttpEventLayout.Client.METHOD_CAP});
    c.put("scheme", new int[] {NetHttpEventLayout.Client.SCHEME, NetHttpEventLayout.Client.SCHEME_CAP});
    c.put("host", new int[] {NetHttpEventLayout.Client.HOST, NetHttpEventLayout.Client.HOST_CAP});
    c.put("path", new int[] {NetHttpEventLayout.Client.PATH, NetHttpEventLayout.Client.PATH_CAP});
    c.put("query", new int[] {NetHttpEventLayout.Client.QUERY, NetHttpEventLayout.Client.QUERY_CAP});
    c.put("proto", new int[] {NetHttpEventLayout.Client.PROTO, NetHttpEventLayout.Client.PROTO_CAP});
    c.put("sizeof", new int[] {NetHttpEventLayout.Client.SIZE, 0});
    all.put("nethttp_client_event", c);

    Map<String, int[]> t = new LinkedHashMap<>();
    t.put("parent_span_id", new int[] {NetHttpEventLayout.TraceState.PARENT_SPAN_ID, 8});
    t.put("len", new int[] {NetHttpEventLayout.TraceState.LEN, 8});
    t.put("value", new int[] {NetHttpEventLayout.TraceState.VALUE, NetHttpEventLayout.TraceState.VALUE_CAP});
    t.put("sizeof", new int[] {NetHttpEventLayout.TraceState.SIZE, 0});
    all.put("nethttp_tracestate_event", t);

    Map<String, int[]> g = new LinkedHashMap<>();
    g.put("trace_id", new int[] {io.goscope.api.TraceRecord.TRACE_ID, 16});
    g.put("span_id", new int[] {io.goscope.api.TraceRecord.SPAN_ID, 8});
    g.put("parent_span_id", new int[] {io.goscope.api.TraceRecord.PARENT_SPAN_ID, 8});
    g.put("trace_flags", new int[] {io.goscope.api.TraceRecord.TRACE_FLAGS, 1});
    g.put("parent_remote", new int[] {io.goscope.api.TraceRecord.PARENT_REMOTE, 1});
    g.put("sizeof", new int[] {io.goscope.api.TraceRecord.SIZE, 0});
    all.put("gs_trace", g);
    return all;
  }

  /** The record types the header defines. */
  private static Map<String, Integer> javaConstants() {
    return Map.of(
        "NETHTTP_RECORD_SERVER", NetHttpEventLayout.Server.TYPE,
        "NETHTTP_RECORD_CLIENT", NetHttpEventLayout.Client.TYPE,
        "NETHTTP_RECORD_TRACESTATE", NetHttpEventLayout.TraceState.TYPE,
        "NETHTTP_PROPAGATION_INJECTED", NetHttpEventLayout.Client.PROPAGATION_INJECTED,
        "NETHTTP_PROPAGATION_OWN", NetHttpEventLayout.Client.PROPAGATION_OWN,
        "NETHTTP_PROPAGATION_UNSURE", NetHttpEventLayout.Client.PROPAGATION_UNSURE);
  }

  @Test
  void cStructsMatchJavaLayouts() throws Exception {
    List<String> fields = new ArrayList<>();
    javaLayouts().forEach((struct, f) -> f.keySet().forEach(field -> fields.add(struct + "." + field)));
    Map<String, long[]> fromC =
        CHeaderLayout.measure("nethttp_event.h", fields, new ArrayList<>(javaConstants().keySet()));
    javaLayouts().forEach((struct, f) -> f.forEach((field, expected) -> {
      long[] actual = fromC.get(struct + "." + field);
      assertEquals(expected[0], actual[0], "offsetof/sizeof " + struct + "." + field);
      assertEquals(expected[1], actual[1], "sizeof(" + struct + "." + field + ")");
    }));
    javaConstants().forEach((k, v) -> assertEquals((long) v, fromC.get(k)[0], k));
  }
}
