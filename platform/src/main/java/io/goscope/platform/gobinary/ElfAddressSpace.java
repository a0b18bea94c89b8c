package io.goscope.platform.gobinary;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * {@link AddressSpace} over an {@link ElfFile}'s PT_LOAD segments. In position-independent binaries pointers in data
 * are stored as R_X86_64_RELATIVE / R_AARCH64_RELATIVE dynamic relocations; their addends (the link-time address)
 * are patched into what {@link #read} returns, so callers see the same pointers as in a non-PIE build.
 */
final class ElfAddressSpace implements AddressSpace {
  /** Largest single read; Go metadata structures are far smaller. */
  static final int MAX_READ = 64 << 20;

  private static final int R_X86_64_RELATIVE = 8;
  private static final int R_AARCH64_RELATIVE = 1027;
  private static final int RELA_SIZE = 24;
  private static final int MAX_RELOCATIONS = 16 << 20;

  private final ElfFile elf;
  private final List<ElfSegment> loads;
  private long[] relocOffsets;
  private long[] relocAddends;

  ElfAddressSpace(ElfFile elf) {
    this.elf = elf;
    this.loads = elf.loadSegments();
  }

  List<ElfSegment> loads() {
    return loads;
  }

  @Override
  public boolean contains(long vaddr, long length) {
    return segmentFor(vaddr, length) != null;
  }

  @Override
  public ByteBuffer read(long vaddr, int length) {
    if (length < 0 || length > MAX_READ) {
      throw elf.error(String.format("read of %d bytes at 0x%x is implausibly large", length, vaddr));
    }
    ElfSegment seg = segmentFor(vaddr, length);
    if (seg == null) {
      throw elf.error(String.format("address range [0x%x, +%d) is not inside one loadable segment", vaddr, length));
    }
    long rel = vaddr - seg.vaddr();
    ensureRelocations();
    int firstReloc = firstRelocAtOrAfter(vaddr - 7);
    boolean patched = firstReloc < relocOffsets.length && relocOffsets[firstReloc] < vaddr + length;
    if (rel + length <= seg.filesz() && !patched) {
      return elf.slice(seg.offset() + rel, length, "segment read");
    }
    ByteBuffer out = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    long fileBytes = Math.max(0, Math.min(length, seg.filesz() - rel));
    if (fileBytes > 0) {
      out.put(elf.slice(seg.offset() + rel, fileBytes, "segment read"));
    }
    for (int i = firstReloc; i < relocOffsets.length && relocOffsets[i] < vaddr + length; i++) {
      long value = relocAddends[i];
      for (int k = 0; k < 8; k++) {
        long at = relocOffsets[i] + k - vaddr;
        if (at >= 0 && at < length) {
          out.put((int) at, (byte) (value >>> (8 * k)));
        }
      }
    }
    out.clear();
    return out;
  }

  /** The little-endian 64-bit word at {@code vaddr}. */
  long readLong(long vaddr) {
    return read(vaddr, 8).getLong(0);
  }

  /** Whether the 8-byte word at {@code vaddr} is the target of a RELATIVE relocation with addend {@code value}. */
  long[] relocationSitesWithAddend(long value, int max) {
    ensureRelocations();
    long[] hits = new long[Math.max(0, max)];
    int n = 0;
    for (int i = 0; i < relocAddends.length && n < hits.length; i++) {
      if (relocAddends[i] == value) {
        hits[n++] = relocOffsets[i];
      }
    }
    return Arrays.copyOf(hits, n);
  }

  ElfSegment segmentFor(long vaddr, long length) {
    for (ElfSegment s : loads) {
      if (s.containsVaddr(vaddr, length)) {
        return s;
      }
    }
    return null;
  }

  private int firstRelocAtOrAfter(long vaddr) {
    int i = Arrays.binarySearch(relocOffsets, vaddr);
    return i >= 0 ? i : -i - 1;
  }

  private void ensureRelocations() {
    if (relocOffsets != null) {
      return;
    }
    int want = elf.machine() == ElfFile.EM_AARCH64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;
    long[] offs = new long[0];
    long[] adds = new long[0];
    int n = 0;
    if (elf.isPie()) {
      for (ElfSection s : elf.sections()) {
        if (s.type() != ElfSection.SHT_RELA || (s.flags() & ElfSection.SHF_ALLOC) == 0) {
          continue;
        }
        ByteBuffer b = elf.sectionData(s);
        int count = b.capacity() / RELA_SIZE;
        if ((long) n + count > MAX_RELOCATIONS) {
          throw elf.error("section " + s.name() + ": implausibly many relocations");
        }
        offs = Arrays.copyOf(offs, n + count);
        adds = Arrays.copyOf(adds, n + count);
        for (int i = 0; i < count; i++) {
          int o = i * RELA_SIZE;
          if ((int) b.getLong(o + 8) == want) {
            offs[n] = b.getLong(o);
            adds[n] = b.getLong(o + 16);
            n++;
          }
        }
      }
    }
    // Sort by offset (the linker usually emits them sorted; keep it cheap when it did).
    long[] o = Arrays.copyOf(offs, n);
    long[] a = Arrays.copyOf(adds, n);
    boolean sorted = true;
    for (int i = 1; i < n && sorted; i++) {
      sorted = o[i - 1] <= o[i];
    }
    if (!sorted) {
      Integer[] idx = new Integer[n];
      for (int i = 0; i < n; i++) {
        idx[i] = i;
      }
      Arrays.sort(idx, (x, y) -> Long.compare(o[x], o[y]));
      long[] o2 = new long[n];
      long[] a2 = new long[n];
      for (int i = 0; i < n; i++) {
        o2[i] = o[idx[i]];
        a2[i] = a[idx[i]];
      }
      relocOffsets = o2;
      relocAddends = a2;
    } else {
      relocOffsets = o;
      relocAddends = a;
    }
  }
}
