package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.sys.BpfFeatures;
import io.goscope.platform.sys.FileSystems;
import io.goscope.testing.BpfAssumptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Privileged: the host's socket programs on real TCP connections of this JVM (the same programs serve Go processes:
 * only the arming differs, done here by hand through goscope_sock_marks as a probe would). Covers insertion into a
 * matching message, messages left alone (wrong head, other thread, connection opened before the process was
 * selected, unselected process), the outcome record, the counters, and sockets that keep working after detach.
 */
class SocketPropagationTest {
  private static final String REQUEST = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  private static final String LINE = "X-Test: 1\r\n";
  private static final int OFFSET = "GET /x HTTP/1.1\r\n".length();

  private HostMaps maps;
  private SocketPropagation sockets;
  private ServerSocket server;
  private final int pid = (int) ProcessHandle.current().pid();

  @BeforeEach
  void setUp() throws IOException {
    BpfAssumptions.assumeBpf();
    BpfFeatures.socketProgramsUnavailableReason().ifPresent(r -> BpfAssumptions.skipOrFail(r));
    Optional<Path> root = FileSystems.firstCgroup2(
        List.of(Path.of("/sys/fs/cgroup"), Path.of("/sys/fs/cgroup/unified")));
    if (root.isEmpty()) {
      BpfAssumptions.skipOrFail("no cgroup v2 hierarchy mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified");
    }
    maps = HostMaps.create(1 << 16, new HostMaps.Sizes(64, 1024, 16));
    sockets = new SocketPropagation(maps, root.get());
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
  }

  @AfterEach
  void tearDown() throws IOException {
    if (server != null) {
      server.close();
    }
    if (sockets != null) {
      sockets.close();
    }
    if (maps != null) {
      maps.close();
    }
  }

  @Test
  void insertsArmedBytesIntoTheMatchingMessageOfAWatchedConnectionOnly() throws Exception {
    try (Socket old = connect()) { // opened before the process was selected: never watched
      Socket oldPeer = server.accept();
      assertEquals(Optional.empty(), sockets.start());
      maps.putProcess(pid, new HostMaps.ProcessSettings(1.0, true, -1L));
      try (Socket watched = connect()) {
        Socket watchedPeer = server.accept();

        arm(0x1111, "GET /x HTTP/1.1\r".getBytes(StandardCharsets.US_ASCII));
        send(old, REQUEST);
        assertEquals(REQUEST, receive(oldPeer, REQUEST.length()), "unwatched connection");

        send(watched, "POST /y HTTP/1.1\r\nHost: a\r\n\r\n"); // another head: left alone, mark kept
        assertEquals("POST /y HTTP/1.1\r\nHost: a\r\n\r\n", receive(watchedPeer, 29));

        Thread other = new Thread(() -> send(watched, REQUEST)); // not the armed thread
        other.start();
        other.join();
        assertEquals(REQUEST, receive(watchedPeer, REQUEST.length()), "unarmed thread");

        send(watched, REQUEST);
        String expected = REQUEST.substring(0, OFFSET) + LINE + REQUEST.substring(OFFSET);
        assertEquals(expected, receive(watchedPeer, expected.length()), "armed thread, matching message");
        assertEquals(1, outcome(0x1111), "outcome recorded under the token");

        send(watched, REQUEST); // the mark is spent
        assertEquals(REQUEST, receive(watchedPeer, REQUEST.length()), "second message");

        SocketPropagation.Stats st = sockets.stats();
        assertEquals(1, st.watched(), "connections watched: " + st);
        assertEquals(1, st.inserted(), st.toString());
        assertTrue(st.mismatched() >= 1, st.toString());

        sockets.close(); // detached while the connection is open: it keeps working, untouched
        arm(0x2222, "GET /x HTTP/1.1\r".getBytes(StandardCharsets.US_ASCII));
        send(watched, REQUEST);
        assertEquals(REQUEST, receive(watchedPeer, REQUEST.length()), "after detach");
        watchedPeer.close();
        oldPeer.close();
      }
    }
  }

  /**
   * The mode the net/http probe uses: after the request line, found by the socket program, unless the header block
   * has a traceparent already (in any case) or does not end within the scanned bytes.
   */
  @Test
  void afterTheFirstLineUnlessTheMessageHasItsOwnTraceparent() throws Exception {
    assertEquals(Optional.empty(), sockets.start());
    maps.putProcess(pid, new HostMaps.ProcessSettings(1.0, true, -1L));
    byte[] get = "GET ".getBytes(StandardCharsets.US_ASCII);
    int flags = AFTER_FIRST_LINE | UNLESS_TRACEPARENT;
    try (Socket s = connect(); Socket peer = server.accept()) {
      String request = "GET /a/longer/path?q=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
      arm(0x10, get, flags);
      send(s, request);
      int eol = request.indexOf('\n') + 1;
      String expected = request.substring(0, eol) + LINE + request.substring(eol);
      assertEquals(expected, receive(peer, expected.length()));
      assertEquals(1, outcome(0x10), "inserted");

      String own = "GET /own HTTP/1.1\r\nHost: a\r\nTRACEPARENT: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
          + "\r\n\r\n";
      arm(0x11, get, flags);
      send(s, own);
      assertEquals(own, receive(peer, own.length()), "the application's own traceparent: left alone");
      assertEquals(2, outcome(0x11), "skipped");

      String huge = "GET /big HTTP/1.1\r\nX-Big: " + "x".repeat(5000) + "\r\n\r\n";
      arm(0x12, get, flags);
      send(s, huge);
      assertEquals(huge, receive(peer, huge.length()), "header block longer than the scan: left alone");
      assertEquals(3, outcome(0x12), "unsure");

      String post = "POST /p HTTP/1.1\r\nHost: a\r\n\r\n";
      arm(0x13, get, flags);
      send(s, post);
      assertEquals(post, receive(peer, post.length()), "another method: not this mark's request");
      assertEquals(0, outcome(0x13));
    }
  }

  @Test
  void connectionsOfProcessesWithoutPropagationAreNotWatched() throws Exception {
    assertEquals(Optional.empty(), sockets.start());
    maps.putProcess(pid, new HostMaps.ProcessSettings(1.0, false, -1L));
    try (Socket s = connect(); Socket peer = server.accept()) {
      arm(0x3333, "GET /x HTTP/1.1\r".getBytes(StandardCharsets.US_ASCII));
      send(s, REQUEST);
      assertEquals(REQUEST, receive(peer, REQUEST.length()));
      assertEquals(0, sockets.stats().watched());
    }
  }

  private Socket connect() throws IOException {
    Socket s = new Socket(server.getInetAddress(), server.getLocalPort());
    s.setTcpNoDelay(true);
    return s;
  }

  private static void send(Socket s, String text) {
    try {
      OutputStream out = s.getOutputStream();
      out.write(text.getBytes(StandardCharsets.US_ASCII));
      out.flush();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String receive(Socket s, int n) throws IOException {
    s.setSoTimeout(5000);
    InputStream in = s.getInputStream();
    byte[] b = in.readNBytes(n);
    s.setSoTimeout(200);
    try {
      int extra = in.read();
      if (extra >= 0) {
        return new String(b, StandardCharsets.US_ASCII) + (char) extra + "...(more)";
      }
    } catch (java.net.SocketTimeoutException expected) {
      // nothing more: good
    }
    return new String(b, StandardCharsets.US_ASCII);
  }

  private static final int AFTER_FIRST_LINE = 0x1;
  private static final int UNLESS_TRACEPARENT = 0x2;

  /** Arms the calling thread as a probe would (struct gs_sock_mark, goscope_sockmsg.h), at the fixed offset. */
  private void arm(long token, byte[] head) throws IOException {
    arm(token, head, 0);
  }

  private void arm(long token, byte[] head, int flags) throws IOException {
    ByteBuffer m = ByteBuffer.allocate(176).order(ByteOrder.LITTLE_ENDIAN);
    m.putLong(0, monotonicNanos());
    m.putLong(8, token);
    m.putInt(16, (flags & AFTER_FIRST_LINE) != 0 ? 0 : OFFSET);
    m.putShort(20, (short) LINE.length());
    m.put(22, (byte) head.length);
    m.put(23, (byte) flags);
    m.put(24, head);
    m.put(40, (byte) '\r');
    m.put(41, (byte) '\n');
    m.put(48, LINE.getBytes(StandardCharsets.US_ASCII));
    long key = ((long) pid << 32) | threadId();
    maps.map(HostMaps.SOCK_MARKS).update(le64(key), m.array());
  }

  private int outcome(long token) {
    ByteBuffer k = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    k.putLong(0, token);
    k.putInt(8, pid);
    return maps.map(HostMaps.SOCK_OUTCOMES).lookup(k.array()).map(v -> (int) v[0]).orElse(0);
  }

  private static byte[] le64(long v) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v).array();
  }

  private static long threadId() throws IOException {
    // /proc/thread-self -> "<pid>/task/<tid>"
    String link = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString();
    return Long.parseLong(link.substring(link.lastIndexOf('/') + 1));
  }

  /** CLOCK_MONOTONIC, as bpf_ktime_get_ns reads it (/proc/uptime is too coarse; the first field of timer_list). */
  private static long monotonicNanos() {
    return io.goscope.platform.sys.Clocks.create().monotonicNanos();
  }
}
