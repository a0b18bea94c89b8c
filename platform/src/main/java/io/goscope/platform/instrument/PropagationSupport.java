package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.FunctionProbe;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a rule's {@code propagation: true} can do on this host, decided once at start from two facts: whether BPF
 * may write into traced processes ({@code bpf_probe_write_user}; kernel lockdown refuses it) and whether the kernel
 * runs the socket programs of socket-level insertion.
 *
 * <ul>
 *   <li>Memory writes: the {@value FunctionProbe#PROPAGATION} probes (HTTP/1.x, HTTP/2, TLS alike).
 *   <li>Else socket programs: the {@value FunctionProbe#SOCKET_PROPAGATION} probes, cleartext HTTP/1.x only;
 *       HTTP/2 and TLS requests go without context and say so ("unavailable").
 *   <li>Else none: "propagation unavailable" with both reasons.
 * </ul>
 * Never both kinds for one process: that could write a request's header twice.
 *
 * @param features what a rule that enables propagation attaches
 * @param unavailable feature → why its programs are not loaded on this host
 * @param summary one line for the log and {@code goscope inspect}
 */
public record PropagationSupport(Set<String> features, Map<String, String> unavailable, String summary) {
  public PropagationSupport {
    features = Set.copyOf(features);
    unavailable = Map.copyOf(unavailable);
    requireNonNull(summary, "summary");
  }

  /**
   * @param memoryWriteUnavailable why BPF cannot write into processes, or empty
   * @param socketUnavailable why the socket programs cannot run, or empty
   */
  public static PropagationSupport decide(Optional<String> memoryWriteUnavailable,
      Optional<String> socketUnavailable) {
    Map<String, String> unavailable = new LinkedHashMap<>();
    if (memoryWriteUnavailable.isEmpty()) {
      unavailable.put(FunctionProbe.SOCKET_PROPAGATION, "not needed: memory writes are available");
      return new PropagationSupport(Set.of(FunctionProbe.PROPAGATION), unavailable,
          "available where a rule enables it (HTTP/1.x, HTTP/2 and TLS, written into the request)");
    }
    unavailable.put(FunctionProbe.PROPAGATION, memoryWriteUnavailable.get());
    if (socketUnavailable.isEmpty()) {
      return new PropagationSupport(Set.of(FunctionProbe.SOCKET_PROPAGATION), unavailable,
          "HTTP/1.x over cleartext TCP only, inserted into the request as it leaves through the socket; "
              + "propagation unavailable for HTTP/2, gRPC and TLS: " + memoryWriteUnavailable.get());
    }
    unavailable.put(FunctionProbe.SOCKET_PROPAGATION, socketUnavailable.get());
    return new PropagationSupport(Set.of(), unavailable, "propagation unavailable: " + memoryWriteUnavailable.get()
        + "; socket-level insertion: " + socketUnavailable.get());
  }

  /** Whether requests of some kind can carry context. */
  public boolean available() {
    return !features.isEmpty();
  }
}
