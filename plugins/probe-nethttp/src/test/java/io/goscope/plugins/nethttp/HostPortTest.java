package io.goscope.plugins.nethttp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class HostPortTest {
  @Test
  void parses() {
    assertEquals(new HostPort("example.com", 8080), HostPort.parse("example.com:8080"));
    assertEquals(new HostPort("example.com", HostPort.NO_PORT), HostPort.parse("example.com"));
    assertEquals(new HostPort("10.0.0.1", 4242), HostPort.parse("10.0.0.1:4242"));
    assertEquals(new HostPort("::1", 1234), HostPort.parse("[::1]:1234"));
    assertEquals(new HostPort("::1", HostPort.NO_PORT), HostPort.parse("[::1]"));
    assertEquals(new HostPort("::1", HostPort.NO_PORT), HostPort.parse("::1"));
    assertEquals(new HostPort("fe80::1%eth0", 80), HostPort.parse("[fe80::1%eth0]:80"));
  }

  @Test
  void badPortsAreDropped() {
    assertEquals(new HostPort("h", HostPort.NO_PORT), HostPort.parse("h:"));
    assertEquals(new HostPort("h", HostPort.NO_PORT), HostPort.parse("h:http"));
    assertEquals(new HostPort("h", HostPort.NO_PORT), HostPort.parse("h:65536"));
    assertEquals(new HostPort("h", HostPort.NO_PORT), HostPort.parse("h:1234567"));
    assertEquals(new HostPort("::1", HostPort.NO_PORT), HostPort.parse("[::1"));
  }
}
