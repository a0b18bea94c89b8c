package io.goscope.api;

import java.io.IOException;
import java.io.InputStream;
import org.pf4j.ExtensionPoint;

/**
 * A set of uprobes for one Go library (net/http, database/sql, grpc-go, ...), bundled with its BPF object, its
 * offset table and the decoder that turns its ring-buffer records into telemetry.
 *
 * <p>Implementations are stateless and thread-safe; the host may instrument many processes with one instance.
 */
public interface ProbeSet extends ExtensionPoint {

  /** The declarative description; must return an equal value on every call. */
  ProbeSetDescriptor descriptor();

  /** The decoder for this set's records. Called once per set; the decoder must be thread-safe. */
  RecordDecoder decoder();

  /**
   * Opens a resource bundled with the plugin (BPF object, offset table). The default reads it from the plugin's
   * own class loader.
   *
   * @throws IOException if the resource is missing or unreadable
   */
  default InputStream openResource(String name) throws IOException {
    InputStream in = getClass().getClassLoader().getResourceAsStream(name);
    if (in == null) {
      throw new IOException("probe set " + descriptor().id() + ": resource not found: " + name);
    }
    return in;
  }
}
