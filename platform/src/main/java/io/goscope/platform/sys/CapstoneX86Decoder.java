package io.goscope.platform.sys;

import io.goscope.platform.gobinary.InstructionDecoder;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.byref.LongLongByReference;
import jnr.ffi.byref.PointerByReference;

/**
 * x86-64 return-instruction finder backed by capstone 4 ({@code libcapstone.so.4}) through jnr-ffi. Decodes
 * instruction by instruction so bytes 0xC3 inside other instructions (immediates, ModRM) are not counted; INT3
 * padding decodes as int3. If capstone stops at an undecodable byte, decoding resumes one byte later.
 *
 * <p>One capstone handle per instance, used under the instance lock. {@link #shared()} gives a process-wide one.
 */
public final class CapstoneX86Decoder implements InstructionDecoder, AutoCloseable {
  /** X86_INS_RET in capstone 4 (x86.h). The layout and ids differ in capstone 5. */
  static final int X86_INS_RET = 147;

  /** sizeof(cs_insn) in capstone 4 on x86-64. */
  static final int INSN_SIZE = 240;

  private static final int OFF_ID = 0;
  private static final int OFF_SIZE = 16;
  private static final int MAX_CODE = 16 << 20;

  private static volatile CapstoneLibrary lib;
  private static CapstoneX86Decoder shared;

  private final LongLongByReference handle;
  private boolean closed;

  private CapstoneX86Decoder(LongLongByReference handle) {
    this.handle = handle;
  }

  /** Opens a new decoder. */
  public static CapstoneX86Decoder open() {
    CapstoneLibrary l = library();
    LongLongByReference h = new LongLongByReference();
    int err = l.cs_open(CapstoneLibrary.CS_ARCH_X86, CapstoneLibrary.CS_MODE_64, h);
    if (err != 0) {
      throw new CapstoneException("cs_open(x86, 64): capstone error " + err);
    }
    return new CapstoneX86Decoder(h);
  }

  /** A process-wide decoder, opened on first use. */
  public static synchronized CapstoneX86Decoder shared() {
    if (shared == null) {
      shared = open();
    }
    return shared;
  }

  /** Whether libcapstone.so.4 can be loaded on this machine. */
  public static boolean available() {
    try {
      library();
      return true;
    } catch (CapstoneException e) {
      return false;
    }
  }

  private static CapstoneLibrary library() {
    CapstoneLibrary l = lib;
    if (l == null) {
      synchronized (CapstoneX86Decoder.class) {
        if (lib == null) {
          try {
            lib = LibraryLoader.create(CapstoneLibrary.class).failImmediately().load("libcapstone.so.4");
          } catch (LinkageError | RuntimeException e) {
            try {
              lib = LibraryLoader.create(CapstoneLibrary.class).failImmediately().load("capstone");
            } catch (LinkageError | RuntimeException e2) {
              throw new CapstoneException("load libcapstone.so.4: " + e.getMessage()
                  + " (install libcapstone4)", e);
            }
          }
        }
        l = lib;
      }
    }
    return l;
  }

  @Override
  public synchronized List<Long> returnOffsets(ByteBuffer code, long vaddr) {
    if (closed) {
      throw new IllegalStateException("capstone decoder closed");
    }
    int n = code.capacity();
    if (n > MAX_CODE) {
      throw new CapstoneException(String.format("disassemble 0x%x: %d bytes is implausibly large", vaddr, n));
    }
    byte[] bytes = new byte[n];
    code.get(0, bytes);
    CapstoneLibrary l = library();
    List<Long> out = new ArrayList<>();
    int pos = 0;
    while (pos < n) {
      byte[] rest = pos == 0 ? bytes : java.util.Arrays.copyOfRange(bytes, pos, n);
      PointerByReference insnRef = new PointerByReference();
      long count = l.cs_disasm(handle.longValue(), rest, rest.length, vaddr + pos, 0, insnRef);
      if (count <= 0) {
        pos++; // undecodable byte: skip it
        continue;
      }
      Pointer insns = insnRef.getValue();
      try {
        long off = pos;
        for (long i = 0; i < count; i++) {
          long base = i * INSN_SIZE;
          int id = insns.getInt(base + OFF_ID);
          int size = insns.getShort(base + OFF_SIZE) & 0xffff;
          if (id == X86_INS_RET) {
            out.add(off);
          }
          off += size;
        }
        pos = (int) off;
      } finally {
        l.cs_free(insns, count);
      }
      if (pos < n) {
        pos++; // capstone stopped on an undecodable byte
      }
    }
    return out;
  }

  @Override
  public synchronized void close() {
    if (!closed && this != shared) {
      closed = true;
      library().cs_close(handle);
    }
  }
}
