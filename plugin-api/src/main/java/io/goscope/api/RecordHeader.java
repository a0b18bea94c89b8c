package io.goscope.api;

import java.nio.ByteBuffer;

/**
 * The common header at the start of every ring-buffer record, {@code struct gs_record_header} in
 * {@code bpf-programs/include/goscope.h}: {@code __u16 source; __u16 type; __u32 pid;} (8 bytes, little-endian).
 *
 * @param source id the host assigned to the probe set that wrote the record
 * @param type record type, defined by that probe set
 * @param pid thread-group id of the traced process, in the host's pid namespace
 */
public record RecordHeader(int source, int type, int pid) {
  /** Size of the header in bytes. */
  public static final int SIZE = 8;

  /** Reads the header at the buffer's current position without moving it. */
  public static RecordHeader peek(ByteBuffer record) {
    if (record.remaining() < SIZE) {
      throw new RecordFormatException("record of " + record.remaining() + " bytes is shorter than its header");
    }
    int p = record.position();
    return new RecordHeader(
        Short.toUnsignedInt(record.getShort(p)),
        Short.toUnsignedInt(record.getShort(p + 2)),
        record.getInt(p + 4));
  }
}
