package io.goscope.api;

import java.nio.ByteBuffer;

/**
 * Turns one ring-buffer record into telemetry. Pure: no kernel access, no I/O, no blocking, so that it can be
 * tested on byte fixtures and called on the ring-buffer reader thread.
 */
@FunctionalInterface
public interface RecordDecoder {

  /**
   * Decodes one record.
   *
   * @param record the whole record, header included, little-endian, positioned at its start; valid only during the
   *     call (the host reuses the buffer)
   * @param header the already parsed header
   * @param sink where to put what the record describes
   * @throws RecordFormatException if the record is malformed; the host counts it and drops the record
   */
  void decode(ByteBuffer record, RecordHeader header, TelemetrySink sink);
}
