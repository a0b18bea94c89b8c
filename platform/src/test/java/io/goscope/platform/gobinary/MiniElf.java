package io.goscope.platform.gobinary;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Test-only ELF64 reader (sections with SHF_COMPRESSED / .zdebug, PT_LOAD address space, Go 1.19 moduledata),
 * independent of the production ElfFile so the field sources can be checked against a second implementation.
 */
final class MiniElf {
  record Section(String name, int type, long flags, long addr, long offset, long size) {}

  private record Load(long vaddr, long offset, long filesz, long memsz) {}

  final Path path;
  final ByteBuffer file;
  final Map<String, Section> sections = new LinkedHashMap<>();
  private final List<Load> loads = new ArrayList<>();

  MiniElf(Path path) throws IOException {
    this.path = path;
    this.file = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    long shoff = file.getLong(0x28);
    int shentsize = file.getShort(0x3a) & 0xffff;
    int shnum = file.getShort(0x3c) & 0xffff;
    int shstrndx = file.getShort(0x3e) & 0xffff;
    long phoff = file.getLong(0x20);
    int phentsize = file.getShort(0x36) & 0xffff;
    int phnum = file.getShort(0x38) & 0xffff;
    for (int i = 0; i < phnum; i++) {
      int p = (int) (phoff + (long) i * phentsize);
      if (file.getInt(p) == 1) {
        loads.add(new Load(file.getLong(p + 16), file.getLong(p + 8), file.getLong(p + 32), file.getLong(p + 40)));
      }
    }
    long strOff = file.getLong((int) (shoff + (long) shstrndx * shentsize) + 0x18);
    for (int i = 0; i < shnum; i++) {
      int s = (int) (shoff + (long) i * shentsize);
      String name = cstring((int) (strOff + Integer.toUnsignedLong(file.getInt(s))));
      sections.put(name, new Section(name, file.getInt(s + 4), file.getLong(s + 8), file.getLong(s + 0x10),
          file.getLong(s + 0x18), file.getLong(s + 0x20)));
    }
  }

  private String cstring(int at) {
    int end = at;
    while (file.get(end) != 0) {
      end++;
    }
    byte[] b = new byte[end - at];
    file.get(at, b);
    return new String(b, StandardCharsets.US_ASCII);
  }

  boolean compressed(String name) {
    Section s = sections.get(name);
    if (s == null) {
      s = sections.get(".z" + name.substring(1));
      return s != null;
    }
    return (s.flags() & 0x800) != 0;
  }

  Optional<ByteBuffer> section(String name) {
    Section s = sections.get(name);
    boolean zdebug = false;
    if (s == null && name.startsWith(".debug_")) {
      s = sections.get(".z" + name.substring(1));
      zdebug = true;
    }
    if (s == null || s.type() == 8) {
      return Optional.empty();
    }
    ByteBuffer raw = file.slice((int) s.offset(), (int) s.size()).order(ByteOrder.LITTLE_ENDIAN);
    try {
      if ((s.flags() & 0x800) != 0) {
        raw.position(24);
        return Optional.of(inflate(raw.slice()));
      }
      if (zdebug) {
        raw.position(12);
        return Optional.of(inflate(raw.slice()));
      }
    } catch (DataFormatException e) {
      throw new IllegalStateException(e);
    }
    return Optional.of(raw);
  }

  private static ByteBuffer inflate(ByteBuffer in) throws DataFormatException {
    Inflater inf = new Inflater();
    inf.setInput(in);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] chunk = new byte[1 << 16];
    while (!inf.finished()) {
      int n = inf.inflate(chunk);
      if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
        break;
      }
      out.write(chunk, 0, n);
    }
    inf.end();
    return ByteBuffer.wrap(out.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
  }

  AddressSpace addressSpace() {
    return new AddressSpace() {
      @Override
      public ByteBuffer read(long vaddr, int length) {
        for (Load l : loads) {
          if (vaddr >= l.vaddr() && vaddr + length <= l.vaddr() + l.memsz()) {
            ByteBuffer out = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            long inFile = Math.max(0, Math.min(length, l.vaddr() + l.filesz() - vaddr));
            if (inFile > 0) {
              out.put(file.slice((int) (l.offset() + vaddr - l.vaddr()), (int) inFile));
            }
            return out.position(0);
          }
        }
        throw new GoBinaryFormatException(path.toString(), "address 0x" + Long.toHexString(vaddr) + " not mapped");
      }

      @Override
      public boolean contains(long vaddr, long length) {
        for (Load l : loads) {
          if (vaddr >= l.vaddr() && vaddr + length <= l.vaddr() + l.memsz() && length >= 0) {
            return true;
          }
        }
        return false;
      }
    };
  }

  /** Go 1.19 runtime.firstmoduledata fields needed by TypeMetadata: types, etypes, typelinks, itab type roots. */
  record Module(long types, long etypes, int[] typelinks, long[] itabTypes) {}

  Module module119() {
    Section pcln = sections.containsKey(".gopclntab") ? sections.get(".gopclntab")
        : sections.get(".data.rel.ro.gopclntab");
    AddressSpace mem = addressSpace();
    for (String name : List.of(".noptrdata", ".data")) {
      Section s = sections.get(name);
      for (long a = s.addr(); a + 8 <= s.addr() + s.size(); a += 8) {
        if (mem.read(a, 8).getLong() == pcln.addr()) {
          ByteBuffer md = mem.read(a, 384);
          long types = md.getLong(280);
          long etypes = md.getLong(288);
          long tlPtr = md.getLong(336);
          int tlLen = (int) md.getLong(344);
          ByteBuffer tl = mem.read(tlPtr, tlLen * 4);
          int[] typelinks = new int[tlLen];
          for (int i = 0; i < tlLen; i++) {
            typelinks[i] = tl.getInt(i * 4);
          }
          long itPtr = md.getLong(360);
          int itLen = (int) md.getLong(368);
          long[] itabTypes = new long[itLen];
          for (int i = 0; i < itLen; i++) {
            long itab = mem.read(itPtr + 8L * i, 8).getLong();
            itabTypes[i] = mem.read(itab + 8, 8).getLong();
          }
          return new Module(types, etypes, typelinks, itabTypes);
        }
      }
    }
    throw new IllegalStateException("no moduledata in " + path);
  }
}
