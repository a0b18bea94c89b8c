package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

import com.kenai.jffi.MemoryIO;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a BPF ring buffer map by mapping it into this process and walking its records, with no syscall and no
 * wake-up per record. Call {@link #drain} from one thread at a time (a timer, say); records written with
 * BPF_RB_NO_WAKEUP are picked up by the next drain.
 *
 * <p>Layout (kernel/bpf/ringbuf.c): the consumer position page (read-write) at offset 0; the producer position page
 * and the data (read-only) from offset one page. The kernel lays the data out twice in a row so that a record that
 * wraps is contiguous (libbpf maps both copies); this reader copies every record out anyway, so it maps the data
 * once and copies a wrapping record in two pieces. Both copies would count twice in the agent's RSS (the kernel maps
 * every page at mmap time): 16 MB for the default 8 MB ring instead of 8. Each record has an 8-byte header: u32
 * length with BUSY (bit 31) and DISCARD (bit 30) flags, then u32 page offset; records are 8-byte aligned, so a
 * header never wraps.
 */
public final class RingBufferReader implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RingBufferReader.class);

  static final int BUSY_BIT = 1 << 31;
  static final int DISCARD_BIT = 1 << 30;
  static final int HEADER_SIZE = 8;

  private static final VarHandle LONG =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
  private static final VarHandle INT =
      MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

  /** Receives one record. */
  @FunctionalInterface
  public interface RecordHandler {
    /**
     * Handles one record. {@code record} is a little-endian buffer positioned at the record's first byte (its
     * {@code RecordHeader}) with the record's length remaining. It is reused for the next record: it is valid only
     * during this call; copy what you keep.
     */
    void onRecord(ByteBuffer record);
  }

  private final String name;
  private final int pageSize;
  private final long mask;
  private final long consumerAddr;
  private final long producerAddr;
  private final long producerLength;
  private final ByteBuffer consumerPage;
  private final ByteBuffer producerPage;
  private final ByteBuffer data;
  private ByteBuffer scratch;
  private long consumerPos;
  private long recordsRead;
  private long handlerErrors;
  private long recordsWrapped;
  private boolean closed;

  /** Maps the ring buffer; the map must stay open while this reader is used. */
  public RingBufferReader(BpfMap ring) {
    requireNonNull(ring, "ring");
    this.name = ring.name();
    if (ring.type() != Libbpf.BPF_MAP_TYPE_RINGBUF) {
      throw new BpfException("map ring buffer", name, null, "", 0, "not a ring buffer (type=" + ring.type() + ")");
    }
    int size = ring.maxEntries();
    if (size <= 0 || Integer.bitCount(size) != 1 || size > (1 << 29)) {
      throw new BpfException("map ring buffer", name, null, "", 0, "unsupported ring size " + size);
    }
    int fd = ring.fd();
    this.pageSize = Libc.pageSize();
    this.mask = size - 1L;
    long cons = Libc.mmap(pageSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
    if (cons == Libc.MAP_FAILED) {
      throw new BpfException("mmap ring buffer consumer page", name, Libc.lastErrno());
    }
    long prodLen = pageSize + (long) size;
    long prod = Libc.mmap(prodLen, Libc.PROT_READ, Libc.MAP_SHARED, fd, pageSize);
    if (prod == Libc.MAP_FAILED) {
      int errno = Libc.lastErrno();
      Libc.munmap(cons, pageSize);
      throw new BpfException("mmap ring buffer data", name, errno);
    }
    this.consumerAddr = cons;
    this.producerAddr = prod;
    this.producerLength = prodLen;
    MemoryIO io = MemoryIO.getInstance();
    this.consumerPage = io.newDirectByteBuffer(cons, pageSize).order(ByteOrder.nativeOrder());
    this.producerPage = io.newDirectByteBuffer(prod, pageSize).order(ByteOrder.nativeOrder());
    // Read-only view: the pages are mapped PROT_READ, a write through the buffer would crash the JVM.
    this.data =
        io.newDirectByteBuffer(prod + pageSize, size).order(ByteOrder.nativeOrder()).asReadOnlyBuffer()
            .order(ByteOrder.nativeOrder());
    this.scratch = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
    this.consumerPos = (long) LONG.getAcquire(consumerPage, 0);
    LOG.debug("mapped ring buffer map={} size={}", name, size);
  }

  /**
   * Hands every committed record to {@code handler} and frees its space. Stops at the first record still being
   * written. A handler exception is counted ({@link #handlerErrors()}) and the drain goes on.
   *
   * @return the number of records handed to the handler (discarded records are skipped, not counted)
   */
  public synchronized int drain(RecordHandler handler) {
    requireNonNull(handler, "handler");
    if (closed) {
      throw new IllegalStateException("ring buffer reader " + name + " is closed");
    }
    int n = 0;
    long cons = consumerPos;
    long prod = (long) LONG.getAcquire(producerPage, 0);
    while (cons < prod) {
      int offset = (int) (cons & mask);
      int header = (int) INT.getAcquire(data, offset);
      if ((header & BUSY_BIT) != 0) {
        break;
      }
      int len = header & ~(BUSY_BIT | DISCARD_BIT);
      if (len > mask + 1 - HEADER_SIZE) {
        throw new BpfException(
            "read ring buffer", name, null, "", 0, "record length " + len + " exceeds the ring at pos=" + cons);
      }
      if ((header & DISCARD_BIT) == 0) {
        deliver(handler, offset + HEADER_SIZE, len);
        n++;
      }
      cons += (len + HEADER_SIZE + 7) & ~7L;
      LONG.setRelease(consumerPage, 0, cons);
      if (cons >= prod) {
        prod = (long) LONG.getAcquire(producerPage, 0);
      }
    }
    consumerPos = cons;
    recordsRead += n;
    return n;
  }

  private void deliver(RecordHandler handler, int offset, int len) {
    ByteBuffer s = scratch;
    if (s.capacity() < len) {
      s = scratch = ByteBuffer.allocate(Integer.highestOneBit(len) << 1).order(ByteOrder.LITTLE_ENDIAN);
    }
    s.clear();
    int start = (int) (offset & mask); // the header may end exactly at the end of the data
    int first = (int) Math.min(len, mask + 1 - start);
    s.put(0, data, start, first);
    if (first < len) { // the record wraps: its tail is at the start of the data
      s.put(first, data, 0, len - first);
      recordsWrapped++;
    }
    s.limit(len);
    try {
      handler.onRecord(s);
    } catch (RuntimeException | Error e) {
      if (e instanceof VirtualMachineError) {
        throw e;
      }
      if (handlerErrors++ == 0) {
        LOG.warn("ring buffer record handler failed map={} (further failures are only counted)", name, e);
      }
    }
  }

  /** Records handed to handlers so far. */
  public synchronized long recordsRead() {
    return recordsRead;
  }

  /** Records that wrapped around the end of the ring and were copied in two pieces. */
  synchronized long recordsWrapped() {
    return recordsWrapped;
  }

  /** Handler calls that threw. */
  public synchronized long handlerErrors() {
    return handlerErrors;
  }

  /** Unmaps the ring buffer. Idempotent; the map itself stays open. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    Libc.munmap(producerAddr, producerLength);
    Libc.munmap(consumerAddr, pageSize);
  }
}
