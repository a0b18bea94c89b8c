package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.FunctionProbe;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PropagationSupportTest {
  @Test
  void memoryWritesWinAndTheSocketProgramsStayUnloaded() {
    PropagationSupport s = PropagationSupport.decide(Optional.empty(), Optional.empty());
    assertEquals(Set.of(FunctionProbe.PROPAGATION), s.features());
    assertTrue(s.unavailable().containsKey(FunctionProbe.SOCKET_PROPAGATION), "never both for one process");
    assertTrue(s.available());
  }

  @Test
  void underLockdownCleartextHttp1GoesThroughTheSocketAndTheRestSaysUnavailable() {
    PropagationSupport s = PropagationSupport.decide(Optional.of("kernel lockdown=integrity"), Optional.empty());
    assertEquals(Set.of(FunctionProbe.SOCKET_PROPAGATION), s.features());
    assertEquals("kernel lockdown=integrity", s.unavailable().get(FunctionProbe.PROPAGATION));
    assertTrue(s.summary().contains("propagation unavailable for HTTP/2, gRPC and TLS: kernel lockdown=integrity"),
        s.summary());
  }

  @Test
  void withNeitherItIsUnavailableWithBothReasons() {
    PropagationSupport s =
        PropagationSupport.decide(Optional.of("kernel lockdown=integrity"), Optional.of("no cgroup v2 hierarchy"));
    assertFalse(s.available());
    assertEquals(Set.of(), s.features());
    assertEquals("propagation unavailable: kernel lockdown=integrity; socket-level insertion: no cgroup v2 hierarchy",
        s.summary());
    assertEquals(2, s.unavailable().size());
  }
}
