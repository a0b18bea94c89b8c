package io.goscope.bench;

import io.goscope.api.TelemetrySink;
import io.goscope.platform.export.KernelClock;
import io.goscope.platform.export.MetricPipeline;
import io.goscope.platform.export.TelemetryPipeline;
import io.goscope.platform.instrument.ProbeSetRuntime;
import io.goscope.platform.instrument.RecordDispatcher;
import io.goscope.platform.sys.BpfMap;
import io.goscope.platform.sys.BpfObject;
import io.goscope.platform.sys.RingBufferReader;
import io.goscope.plugins.nethttp.NetHttpProbeSet;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One-off measurement, not a test: the host's pipeline on synthetic records through the real ring buffer. A BPF
 * program (platform/src/test/bpf/pipeline_bench.bpf.c, run with BPF_PROG_TEST_RUN by a filler thread on another
 * core) writes net/http server records into a real BPF ring buffer at a paced rate; the agent's own parts read it
 * every 10 ms ({@link RingBufferReader}), decode ({@link RecordDispatcher} + the net/http decoder), record the
 * request-duration histogram ({@link MetricPipeline}) and export spans over OTLP/HTTP ({@link TelemetryPipeline} +
 * the SDK's OkHttp exporter) to a counting receiver in another process. The JVM is pinned to one core by the
 * script, the filler thread is moved to another. Reports, per offered rate, whether it was sustained with zero loss
 * (nothing dropped by the kernel or the queue, nothing failed, everything received), then heap and RSS.
 *
 * <p>Phase 1 measures decoding alone: a full ring drained into a counting sink.
 *
 * <p>Usage (root): {@code dist/bench/pipeline.sh [seconds per rate] [rates...]}
 */
final class PipelineBenchmark {
  private static final int PID = 4242;
  private static final int RECORD = 480; // sizeof(struct nethttp_server_event)

  private PipelineBenchmark() {}

  public static void main(String[] args) throws Exception {
    String receiver = args[0];
    int seconds = Integer.parseInt(args[1]);
    int fillerCpu = Integer.parseInt(args[2]);
    List<Integer> rates = java.util.Arrays.stream(args).skip(3).map(Integer::parseInt).toList();
    byte[] object = bpfObject();
    ProbeSetRuntime nethttp = ProbeSetRuntime.load(1, new NetHttpProbeSet());
    byte[] template = template();

    decodeOnly(object, nethttp, template);

    System.out.println("rate/s   sustained  decoded/s  exported/s  received  ringDrops  queueDrops  failed  "
        + "maxQueue  heapMB  rssMB");
    System.out.println("(warm-up at the first rate, not reported)");
    run(object, nethttp, template, receiver, rates.get(0), Math.min(seconds, 5), fillerCpu, false);
    for (int rate : rates) {
      boolean ok = run(object, nethttp, template, receiver, rate, seconds, fillerCpu, true);
      if (!ok && rate > rates.get(0)) {
        break; // higher rates will not do better
      }
    }
  }

  /** Fills a 256 MiB ring with the drain stopped, then times one drain that decodes every record. */
  private static void decodeOnly(byte[] object, ProbeSetRuntime nethttp, byte[] template) throws Exception {
    try (BpfMap ring = BpfMap.createRingBuffer("goscope_events", 256 << 20);
        BpfObject o = BpfObject.open("pipeline_bench", object)) {
      o.reuseMap("goscope_events", ring);
      o.load();
      try (RingBufferReader reader = new RingBufferReader(ring)) {
        RecordDispatcher dispatcher = new RecordDispatcher(List.of(nethttp));
        AtomicLong spans = new AtomicLong();
        AtomicLong measurements = new AtomicLong();
        dispatcher.register(PID, new TelemetrySink() {
          @Override
          public void span(io.goscope.api.ProbeSpan span) {
            spans.incrementAndGet();
          }

          @Override
          public void histogram(io.goscope.api.HistogramInstrument i, double v, Attributes a) {
            measurements.incrementAndGet();
          }
        });
        for (int round = 0; round < 5; round++) {
          o.testRun("fill", ctx(template, 600_000));
          long t0 = System.nanoTime();
          int n = reader.drain(dispatcher::onRecord);
          double s = (System.nanoTime() - t0) / 1e9;
          System.out.printf("decode only, round %d: %d records in %.0f ms = %.2f M records/s (spans %d, "
              + "malformed %d)%n", round, n, s * 1e3, n / s / 1e6, spans.get(), dispatcher.malformed());
        }
      }
    }
  }

  private static boolean run(byte[] object, ProbeSetRuntime nethttp, byte[] template, String receiver, int rate,
      int seconds, int fillerCpu, boolean report) throws Exception {
    long receivedBefore = count(receiver);
    try (BpfMap ring = BpfMap.createRingBuffer("goscope_events", 8 << 20);
        BpfObject o = BpfObject.open("pipeline_bench", object)) {
      o.reuseMap("goscope_events", ring);
      o.load();
      RingBufferReader reader = new RingBufferReader(ring);
      RecordDispatcher dispatcher = new RecordDispatcher(List.of(nethttp));
      TelemetryPipeline spans = TelemetryPipeline.builder().clock(KernelClock.system())
          .maxExportBatchSize(Integer.getInteger("bench.batch", TelemetryPipeline.DEFAULT_MAX_EXPORT_BATCH_SIZE))
          .addExporter(OtlpHttpSpanExporter.builder().setEndpoint(receiver + "/v1/traces")
              .setCompression(System.getProperty("bench.compression", "none")).build()).build();
      MetricPipeline metrics = MetricPipeline.builder().exportInterval(Duration.ofSeconds(10))
          .addExporter(OtlpHttpMetricExporter.builder().setEndpoint(receiver + "/v1/metrics").build()).build();
      Resource resource = Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "bench",
          AttributeKey.longKey("process.pid"), (long) PID));
      dispatcher.register(PID, metrics.sinkFor(resource, spans.sinkFor(resource)));
      ScheduledExecutorService drain = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "goscope-ringbuf"));
      drain.scheduleWithFixedDelay(() -> reader.drain(dispatcher::onRecord), 10, 10, TimeUnit.MILLISECONDS);

      // The filler: every 10 ms, rate/100 records; on its own core.
      AtomicLong produced = new AtomicLong();
      int perTick = Math.max(1, rate / 100);
      int[] maxQueue = {0};
      Thread filler = new Thread(() -> {
        byte[] ctx = ctx(template, perTick);
        long next = System.nanoTime();
        long end = next + TimeUnit.SECONDS.toNanos(seconds);
        while (next < end) {
          o.testRun("fill", ctx);
          produced.addAndGet(perTick);
          maxQueue[0] = Math.max(maxQueue[0], spans.queuedSpans());
          next += 10_000_000;
          long wait = next - System.nanoTime();
          if (wait > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(wait);
          }
        }
      }, "bench-fill");
      filler.start();
      pin("bench-fill", fillerCpu);
      filler.join();
      // Let the pipeline finish what it has (a sustained rate leaves little behind).
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while ((spans.queuedSpans() > 0 || dispatcher.dispatched() < produced.get())
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      double lag = (System.nanoTime() - (deadline - TimeUnit.SECONDS.toNanos(10))) / 1e9;
      spans.forceFlush().join(10, TimeUnit.SECONDS);
      Thread.sleep(200);
      long received = count(receiver) - receivedBefore;
      long ringDrops = o.map("goscope_lost").sumPerCpuU64(0);
      System.gc();
      long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      long rss = rssBytes();
      boolean sustained = ringDrops == 0 && spans.droppedSpans() == 0 && spans.failedSpans() == 0
          && received == produced.get() && lag < 1.0;
      if (report) System.out.printf("%7d  %-9s  %9.0f  %10.0f  %8d  %9d  %10d  %6d  %8d  %6.1f  %5.1f   (drained %.2f s after "
              + "the last record)%n", rate, sustained ? "yes" : "NO", dispatcher.dispatched() / (double) seconds,
          spans.exportedSpans() / (double) seconds, received, ringDrops, spans.droppedSpans(), spans.failedSpans(),
          maxQueue[0], heap / 1048576.0, rss / 1048576.0, lag);
      drain.shutdownNow();
      drain.awaitTermination(5, TimeUnit.SECONDS);
      reader.close();
      spans.shutdown().join(10, TimeUnit.SECONDS);
      metrics.shutdown().join(10, TimeUnit.SECONDS);
      return sustained;
    }
  }

  /** Moves the thread named {@code name} to {@code cpu} (taskset on its tid). */
  private static void pin(String name, int cpu) throws IOException, InterruptedException {
    try (var tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path t : tasks.toList()) {
        if (Files.readString(t.resolve("comm")).strip().equals(name)) {
          new ProcessBuilder("taskset", "-pc", Integer.toString(cpu), t.getFileName().toString())
              .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        }
      }
    }
  }

  private static long rssBytes() throws IOException {
    for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (l.startsWith("VmRSS:")) {
        return Long.parseLong(l.replaceAll("\\D", "")) * 1024;
      }
    }
    return -1;
  }

  private static long count(String receiver) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(receiver + "/count"))
        .build(), HttpResponse.BodyHandlers.ofString());
    return Long.parseLong(r.body().strip());
  }

  /** The fill program's context: u32 count, u32 pad, the record. */
  private static byte[] ctx(byte[] template, int count) {
    ByteBuffer b = ByteBuffer.allocate(8 + RECORD).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, count);
    b.put(8, template);
    return b.array();
  }

  /** A net/http server record (struct nethttp_server_event): GET /hello/{name} answered 200 in 1 ms, a root span. */
  private static byte[] template() {
    ByteBuffer b = ByteBuffer.allocate(RECORD).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) 1).putShort(2, (short) 1).putInt(4, PID);
    long now = io.goscope.platform.sys.Clocks.create().monotonicNanos();
    b.putLong(8, now - 1_000_000).putLong(16, now);
    for (int i = 0; i < 16; i++) { // struct gs_trace at 24: trace id, span id (the BPF filler varies it), parent 0
      b.put(24 + i, (byte) (0x11 * (i + 1)));
    }
    b.put(56, (byte) 1); // trace flags: sampled
    b.putLong(64, 200);
    put(b, 72, 128, "GET");
    put(b, 80, 144, "/hello/bench");
    put(b, 88, 272, "HTTP/1.1");
    put(b, 96, 288, "127.0.0.1:8080");
    put(b, 104, 352, "127.0.0.1:50000");
    put(b, 112, 416, "/hello/{name}");
    b.put(120, (byte) 0);
    return b.array();
  }

  private static void put(ByteBuffer b, int lenOffset, int offset, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
    b.putLong(lenOffset, bytes.length);
    b.put(offset, bytes);
  }

  private static byte[] bpfObject() throws IOException, InterruptedException {
    Path root = Path.of(System.getProperty("goscope.root", "."));
    Path out = Files.createTempFile("pipeline_bench", ".o");
    Process p = new ProcessBuilder("bash", root.resolve("bpf-programs/build-bpf.sh").toString(),
        root.resolve("platform/src/test/bpf/pipeline_bench.bpf.c").toString(), out.toString())
        .redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException("build pipeline_bench.bpf.c failed:\n" + log);
    }
    return Files.readAllBytes(out);
  }
}
