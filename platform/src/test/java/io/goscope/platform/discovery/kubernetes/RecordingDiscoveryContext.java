package io.goscope.platform.discovery.kubernetes;

import io.goscope.api.DiscoveryContext;
import io.goscope.api.Nullable;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/** A {@link DiscoveryContext} for tests that counts {@code metadataChanged} calls. */
final class RecordingDiscoveryContext implements DiscoveryContext {
  private final @Nullable String nodeName;
  private final ConfigProperties config;
  final AtomicInteger metadataChanged = new AtomicInteger();

  RecordingDiscoveryContext(@Nullable String nodeName, Map<String, String> config) {
    this.nodeName = nodeName;
    this.config = DefaultConfigProperties.createFromMap(config);
  }

  @Override
  public ConfigProperties config() {
    return config;
  }

  @Override
  public @Nullable String nodeName() {
    return nodeName;
  }

  @Override
  public void processStarted(int pid) {}

  @Override
  public void processExited(int pid) {}

  @Override
  public void metadataChanged() {
    metadataChanged.incrementAndGet();
  }

  /** Polls {@code condition} every 20 ms until it holds or {@code timeout} passes; returns its last value. */
  static boolean await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(20);
    }
    return condition.getAsBoolean();
  }
}
