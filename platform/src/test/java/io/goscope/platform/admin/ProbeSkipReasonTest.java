package io.goscope.platform.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ProbeSkipReasonTest {
  @Test
  void failuresMapToABoundedSetOfReasons() {
    assertEquals(List.of("nethttp", "symbol_missing"),
        ProbeSkipReason.classify("nethttp: symbol net/http.serverHandler.ServeHTTP not found"));
    assertEquals(List.of("nethttp", "field_unresolved"),
        ProbeSkipReason.classify("nethttp: field net/http.Request.ctx unresolved"));
    assertEquals(List.of("nethttp", "permission"),
        ProbeSkipReason.classify("nethttp net/http.foo: attach uprobe pid=1 offset=0x10: EPERM"));
    assertEquals(List.of("grpc", "attach_failed"), ProbeSkipReason.classify("grpc x: attach uprobe: ENOENT"));
    assertEquals(List.of("grpc", "other"), ProbeSkipReason.classify("grpc: something odd"));
  }
}
