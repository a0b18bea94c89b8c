package io.goscope.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Drives a Go server at a fixed request rate (open loop, asynchronous requests), each request to a unique path
 * {@code /hello/<prefix>-<n>}, so that each span can be matched to its request.
 */
final class LoadGenerator {
  /** What was sent: the paths, and how many were answered 200. */
  record Result(List<String> paths, long ok, long failed, double seconds) {
    double perSecond() {
      return paths.size() / seconds;
    }
  }

  private LoadGenerator() {}

  static Result run(int port, String prefix, int perSecond, Duration duration) throws InterruptedException {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    List<String> paths = new ArrayList<>();
    List<CompletableFuture<?>> pending = new ArrayList<>();
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long intervalNanos = 1_000_000_000L / perSecond;
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    long next = start;
    for (int n = 0; next < end; n++, next += intervalNanos) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      String path = "/hello/" + prefix + "-" + n;
      paths.add(path);
      pending.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.discarding())
          .whenComplete((r, e) -> {
            if (e == null && r.statusCode() == 200) {
              ok.incrementAndGet();
            } else {
              failed.incrementAndGet();
            }
          }));
      if (pending.size() > 4096) {
        pending.removeIf(CompletableFuture::isDone);
      }
    }
    for (CompletableFuture<?> f : pending) {
      try {
        f.get(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        // counted as failed by whenComplete
      }
    }
    return new Result(List.copyOf(paths), ok.get(), failed.get(), (System.nanoTime() - start) / 1e9);
  }
}
