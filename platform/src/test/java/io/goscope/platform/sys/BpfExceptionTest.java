package io.goscope.platform.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class BpfExceptionTest {
  @Test
  void messageNamesOperationObjectPidContextAndErrno() {
    BpfException e =
        new BpfException("attach uprobe", "net/http.serverHandler.ServeHTTP", 4242, "offset=0x2049a0", 1, "");
    assertEquals(
        "attach uprobe net/http.serverHandler.ServeHTTP pid=4242 offset=0x2049a0: EPERM (Operation not permitted)",
        e.getMessage());
    assertEquals("attach uprobe", e.op());
    assertEquals("net/http.serverHandler.ServeHTTP", e.object());
    assertEquals(4242, e.pid());
    assertEquals(1, e.errno());
    assertEquals("EPERM", e.errnoName());
  }

  @Test
  void negativeErrnoIsNormalisedAndDetailAppended() {
    BpfException e = new BpfException("load BPF object", "nethttp", null, "", -22, "libbpf said:\nR1 invalid");
    assertEquals(22, e.errno());
    assertNull(e.pid());
    assertEquals("load BPF object nethttp: EINVAL (Invalid argument); libbpf said:\nR1 invalid", e.getMessage());
  }

  @Test
  void withoutErrnoOnlyTheDetailIsShown() {
    BpfException e = new BpfException("set constant", "missing_var", null, "object=t", 0, "no such variable");
    assertEquals("set constant missing_var object=t: no such variable", e.getMessage());
    assertEquals("", e.errnoName());
  }

  @Test
  void unsupportedFeatureIsABpfException() {
    BpfException e = new UnsupportedFeatureException("BPF ring buffer", "needs kernel 5.8");
    assertEquals("use BPF ring buffer: unsupported feature: needs kernel 5.8", e.getMessage());
  }

  @Test
  void errnoNames() {
    assertEquals("ENOENT", Errno.name(2));
    assertEquals("ESRCH", Errno.name(-3));
    assertEquals("EOPNOTSUPP", Errno.name(95));
    assertEquals("ENOTSUPP", Errno.name(524));
    assertEquals("errno=4000", Errno.name(4000));
    assertEquals("No such process", Errno.message(3));
  }
}
