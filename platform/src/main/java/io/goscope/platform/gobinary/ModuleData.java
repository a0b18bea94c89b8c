package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The linker-written {@code runtime.firstmoduledata}: where the text, the type data ({@code types}..{@code etypes})
 * and the type links are.
 *
 * <p>Found without a list of layouts. The candidates are the {@code runtime.firstmoduledata} symbol, the
 * {@code .go.module} section (Go 1.26+) and every word of writable data that points to the pclntab (the first word
 * of every moduledata since Go 1.2: {@code pcHeader} from 1.16, the {@code pclntable} slice before). In a window of
 * {@value #WINDOW} bytes from there, each field is found by what it must hold, wherever the release put it:
 *
 * <ol>
 *   <li>{@code ftab}: a slice {ptr, len, cap} pointing at the pclntab's function table with len = cap = nfunc + 1;
 *   <li>{@code minpc, maxpc}: adjacent words in an executable segment, exactly the function table's span apart (and
 *       {@code minpc} = the first entry where entries are absolute);
 *   <li>{@code text, etext}: another adjacent pair in the executable segment (inside {@code .text} when there are
 *       section headers) around [minpc, maxpc), with {@code text} = the pclntab header's textStart when it has one,
 *       else {@code minpc} minus the first entry offset;
 *   <li>{@code types, etypes}: a range in a non-executable segment, within three words of each other, and either
 *       <ul>
 *         <li>a {@code typelinks} slice of int32 offsets (inside {@code .typelink} when there is one) that all fall
 *             in [0, etypes - types) and lead to valid type descriptors (sampled), with an {@code itablinks} slice
 *             (inside {@code .itablink} when there is one) of valid itabs (Go ≤ 1.26); or
 *         <li>a {@code typedesclen} word near {@code types} at which the walk of type descriptors from
 *             {@code types + 8} ends exactly, and an {@code itaboffset, itabsize} pair at which the walk of itabs
 *             ends exactly (Go 1.27: the linker dropped both slices).
 *       </ul>
 * </ol>
 *
 * <p>The text part is what function lookup needs (Go 1.26+ pclntabs carry no text base); the type part is what type
 * metadata needs. A module data whose text part holds but whose type part does not is still returned
 * ({@link #typesResolved()} false, {@link #typesProblem()} says why), so functions resolve and struct offsets fall
 * back to DWARF and tables. When no candidate holds the text part, {@link ModuleDataNotFoundException} lists what
 * each check found. {@link #checks()} and {@link #fields()} record the evidence, for {@code goscope inspect}.
 */
public final class ModuleData {
  private static final Logger LOG = LoggerFactory.getLogger(ModuleData.class);
  /** Bytes read from each candidate: the 64-bit moduledata of Go 1.16-1.27 is 560-600 bytes. */
  static final int WINDOW = 1024;
  private static final int MAX_TYPELINKS = 1 << 21;
  private static final int MAX_ITABS = 1 << 20;
  private static final int MAX_SCAN_CANDIDATES = 64;
  private static final int TYPE_SAMPLES = 16;
  private static final int MAX_PAIR_DISTANCE = 3;
  private static final int MAX_LEN_DISTANCE = 4;
  /**
   * Type descriptors all typedesclen walks of one candidate may visit together: a real binary needs one or two walks
   * of its typelink descriptors (tens of thousands); a hostile file must not make discovery walk forever.
   */
  static final int WALK_BUDGET = 4 << 20;

  /** A field that discovery placed: its name, its byte offset in the moduledata and the value read there. */
  public record Field(String name, int offset, long value) {
    @Override
    public String toString() {
      return String.format("%s@+%d=0x%x", name, offset, value);
    }
  }

  /** One invariant: what it requires, whether it held, and what was found. */
  public record Check(String invariant, boolean held, String found) {
    public Check {
      requireNonNull(invariant, "invariant");
      requireNonNull(found, "found");
    }

    @Override
    public String toString() {
      return (held ? "ok " : "FAILED ") + invariant + ": " + found;
    }
  }

  private final String file;
  private final long address;
  private final String how;
  private final List<Field> fields;
  private final List<Check> checks;
  private final long minpc;
  private final long maxpc;
  private final long text;
  private final long etext;
  private final TypeData typeData;
  private final String typesProblem;

  /** The type part: the range, the typelink descriptors (as offsets from types) and the itab addresses. */
  private record TypeData(long types, long etypes, long typelinksAddress, int[] typelinks, long[] itabs) {}

  private ModuleData(String file, long address, String how, List<Field> fields, List<Check> checks, long minpc,
      long maxpc, long text, long etext, TypeData typeData, String typesProblem) {
    this.file = file;
    this.address = address;
    this.how = how;
    this.fields = List.copyOf(fields);
    this.checks = List.copyOf(checks);
    this.minpc = minpc;
    this.maxpc = maxpc;
    this.text = text;
    this.etext = etext;
    this.typeData = typeData;
    this.typesProblem = typesProblem;
  }

  /**
   * Finds and reads the first module data.
   *
   * @param version the binary's Go version when known (from build info), else null; only a hint for the size of
   *     map type descriptors in the Go 1.27 walk, which is re-learned from the data when wrong
   * @throws ModuleDataNotFoundException if no candidate holds the pclntab pointer, ftab and text range
   */
  public static ModuleData locate(ElfFile elf, Pclntab pclntab, GoVersion version) {
    return locate(elf, pclntab, version, true);
  }

  static ModuleData locate(ElfFile elf, Pclntab pclntab, GoVersion version, boolean useSymbol) {
    requireNonNull(elf, "elf");
    requireNonNull(pclntab, "pclntab");
    ElfAddressSpace space = elf.elfAddressSpace();
    int mapBase = mapBaseFor(version);
    Search search = new Search(elf, space, pclntab, mapBase);
    // The named places first; the scan of writable data (up to 256 MB) only when they do not qualify.
    Optional<ElfSymbol> sym = useSymbol ? elf.symbol("runtime.firstmoduledata") : Optional.empty();
    if (sym.isPresent() && search.tryAt(sym.get().value(), "symbol runtime.firstmoduledata")) {
      return search.result();
    }
    Optional<ElfSection> sec = elf.section(".go.module");
    if (sec.isPresent() && search.tryAt(sec.get().addr(), "section .go.module")) {
      return search.result();
    }
    long target = pclntab.vaddr();
    int scanned = 0;
    for (ElfSegment seg : space.loads()) {
      if (!seg.writable() || seg.filesz() < 8) {
        continue;
      }
      ByteBuffer b = elf.scanView(seg, "data segment");
      int limit = b.capacity() - 8;
      for (int off = 0; off <= limit && scanned < MAX_SCAN_CANDIDATES; off += 8) {
        if (b.getLong(off) == target) {
          scanned++;
          if (search.tryAt(seg.vaddr() + off, "scan for pclntab pointer")) {
            return search.result();
          }
        }
      }
    }
    for (long site : space.relocationSitesWithAddend(target, MAX_SCAN_CANDIDATES)) {
      if (search.tryAt(site, "scan for pclntab pointer")) {
        return search.result();
      }
    }
    if (search.textOnly != null) {
      LOG.debug("moduledata found without type data address=0x{} via={} problem={}",
          Long.toHexString(search.textOnly.address()), search.textOnly.foundBy(), search.textOnly.typesProblem());
      return search.textOnly;
    }
    throw new ModuleDataNotFoundException(elf.path().toString(), describe(search.tried.size(), target,
        search.failed), search.failed);
  }

  /** The candidates tried so far: the first that resolves completely wins, else the first with a text part. */
  private static final class Search {
    private final ElfFile elf;
    private final ElfAddressSpace space;
    private final Pclntab pclntab;
    private final int mapBase;
    private final java.util.Set<Long> tried = new java.util.HashSet<>();
    private final List<ModuleDataNotFoundException.Candidate> failed = new ArrayList<>();
    private ModuleData complete;
    private ModuleData textOnly;

    Search(ElfFile elf, ElfAddressSpace space, Pclntab pclntab, int mapBase) {
      this.elf = elf;
      this.space = space;
      this.pclntab = pclntab;
      this.mapBase = mapBase;
    }

    /** Tries the candidate at {@code addr}; true when it resolved completely. */
    boolean tryAt(long addr, String how) {
      if (!tried.add(addr)) {
        return false;
      }
      Discovery d = new Discovery(elf, space, pclntab, addr, how, mapBase);
      ModuleData md = d.run();
      if (md == null) {
        failed.add(new ModuleDataNotFoundException.Candidate(addr, how, d.checks));
        LOG.debug("moduledata candidate rejected address=0x{} via={} checks={}", Long.toHexString(addr), how,
            d.checks);
        return false;
      }
      if (md.typesResolved()) {
        LOG.debug("moduledata found address=0x{} via={} fields={}", Long.toHexString(addr), how, md.fields());
        complete = md;
        return true;
      }
      if (textOnly == null) {
        textOnly = md;
      }
      return false;
    }

    ModuleData result() {
      return complete;
    }
  }

  private static String describe(int n, long target, List<ModuleDataNotFoundException.Candidate> failed) {
    StringBuilder sb = new StringBuilder(String.format("moduledata not found (%d candidate(s) for the pclntab at"
        + " 0x%x", n, target));
    for (ModuleDataNotFoundException.Candidate c : failed) {
      Check f = c.failed();
      sb.append(String.format("; at 0x%x (%s) %s", c.address(), c.foundBy(), f == null ? "?" : "failed "
          + f.invariant() + ": " + f.found()));
    }
    return sb.append(')').toString();
  }

  /** The size of map type descriptors the binary's Go is known to write (1.27: 136, 1.24-1.26: 112, older: 88). */
  static int mapBaseFor(GoVersion v) {
    if (v == null || v.atLeast(1, 27)) {
      return 136;
    }
    return v.atLeast(1, 24) ? 112 : 88;
  }

  /** The search over one candidate's window, recording every check. */
  private static final class Discovery {
    private final ElfFile elf;
    private final ElfAddressSpace space;
    private final Pclntab pclntab;
    private final long address;
    private final String how;
    private final int mapBase;
    private final List<Check> checks = new ArrayList<>();
    private final List<Field> fields = new ArrayList<>();
    private long[] w;
    private boolean[] used;
    private int walkBudget = WALK_BUDGET;

    Discovery(ElfFile elf, ElfAddressSpace space, Pclntab pclntab, long address, String how, int mapBase) {
      this.elf = elf;
      this.space = space;
      this.pclntab = pclntab;
      this.address = address;
      this.how = how;
      this.mapBase = mapBase;
    }

    ModuleData run() {
      int len = WINDOW;
      while (len >= 64 && !space.contains(address, len)) {
        len -= 64;
      }
      if (len < 64) {
        fail("window", String.format("fewer than 64 readable bytes at 0x%x", address));
        return null;
      }
      ByteBuffer raw = space.read(address, len).order(ByteOrder.LITTLE_ENDIAN);
      w = new long[len / 8];
      raw.asLongBuffer().get(w);
      used = new boolean[w.length];
      if (w[0] != pclntab.vaddr()) {
        fail("pclntab pointer at +0", String.format("0x%x, the pclntab is at 0x%x", w[0], pclntab.vaddr()));
        return null;
      }
      take(pclntab.magic() == Pclntab.MAGIC_12 ? "pclntable" : "pcHeader", 0);
      ok("pclntab pointer at +0", String.format("0x%x", w[0]));
      if (!findFtab()) {
        return null;
      }
      long[] pcRange = findPcRange();
      long[] textRange = findText(pcRange);
      if (textRange == null) {
        return null;
      }
      long mp = pcRange == null ? textRange[0] : pcRange[0];
      long xp = pcRange == null ? textRange[1] : pcRange[1];
      String problem = null;
      TypeData td = findTypesWithSlices();
      if (td == null) {
        // Not the slice form: its failed check stays only if the walk form fails too.
        Check sliceForm = checks.remove(checks.size() - 1);
        td = findTypesWithLengths();
        if (td == null) {
          checks.add(checks.size() - 1, sliceForm);
          problem = sliceForm + "; " + checks.get(checks.size() - 1);
        }
      }
      return new ModuleData(elf.path().toString(), address, how, fields, checks, mp, xp, textRange[0], textRange[1],
          td, problem);
    }

    private boolean findFtab() {
      long want = pclntab.ftabAddress();
      long n = pclntab.functionCount() + 1L;
      for (int i = 1; i + 2 < w.length; i++) {
        if (!used[i] && w[i] == want && w[i + 1] == n && w[i + 2] == n) {
          take("ftab", i);
          used[i + 1] = used[i + 2] = true;
          ok("ftab slice: function table, len = cap = nfunc+1", String.format("+%d {0x%x, %d, %d}", i * 8, want,
              n, n));
          return true;
        }
      }
      List<String> seen = new ArrayList<>();
      for (int i = 1; i + 2 < w.length && seen.size() < 6; i++) {
        if (w[i] == want || (w[i + 1] == w[i + 2] && w[i + 1] > 0 && w[i + 1] <= Pclntab.MAX_FUNCS && w[i] != 0
            && space.contains(w[i], 1))) {
          seen.add(String.format("+%d {0x%x, %d, %d}", i * 8, w[i], w[i + 1], w[i + 2]));
        }
      }
      fail("ftab slice: function table, len = cap = nfunc+1", String.format("no slice {0x%x, %d, %d}; slices"
          + " seen: %s", want, n, n, seen.isEmpty() ? "none" : String.join(", ", seen)));
      return false;
    }

    /** {minpc, maxpc}, or null (recorded) when no pair spans the function table exactly. */
    private long[] findPcRange() {
      int nfunc = pclntab.functionCount();
      long first = pclntab.storedEntry(0);
      long span = pclntab.storedEntry(nfunc) - first;
      String what = "minpc, maxpc: adjacent, in an executable segment, " + span + " bytes apart";
      for (int i = 1; i + 1 < w.length; i++) {
        if (used[i] || used[i + 1] || w[i + 1] - w[i] != span || !inExecutable(w[i], span)) {
          continue;
        }
        if (pclntab.absoluteEntries() && w[i] != first) {
          continue;
        }
        take("minpc", i);
        take("maxpc", i + 1);
        ok(what, String.format("+%d [0x%x, 0x%x)", i * 8, w[i], w[i + 1]));
        return new long[] {w[i], w[i + 1]};
      }
      checks.add(new Check(what, false, "no such pair (text base below is then unverified)"));
      return null;
    }

    /** {text, etext}, or null (recorded) when no pair qualifies. */
    private long[] findText(long[] pc) {
      long header = pclntab.headerTextStart();
      boolean relative = !pclntab.absoluteEntries();
      long firstOffset = pclntab.storedEntry(0);
      long lastOffset = pclntab.storedEntry(pclntab.functionCount());
      Optional<ElfSection> textSec = elf.section(".text");
      StringBuilder want = new StringBuilder("text, etext: adjacent, in the executable segment");
      textSec.ifPresent(s -> want.append(String.format(" and in .text [0x%x, 0x%x)", s.addr(),
          s.addr() + s.size())));
      if (pc != null) {
        want.append(String.format(", around [0x%x, 0x%x)", pc[0], pc[1]));
      }
      if (header != 0) {
        want.append(String.format(", text = header textStart 0x%x", header));
      } else if (relative && pc != null) {
        want.append(String.format(", text = minpc - 0x%x", firstOffset));
      }
      List<String> seen = new ArrayList<>();
      // Second pass: the minpc, maxpc words themselves, for a layout whose text pair is gone and whose functions
      // span the whole text (Go 1.19 writes text = minpc, etext = maxpc).
      for (int pass = 0; pass < 2; pass++) {
        long[] found = findTextPair(pc, pass == 1, header, relative, firstOffset, lastOffset, textSec, seen, want);
        if (found != null) {
          return found;
        }
      }
      fail(want.toString(), seen.isEmpty() ? "no pair of words in an executable segment"
          : "pairs in an executable segment: " + String.join(", ", seen));
      return null;
    }

    private long[] findTextPair(long[] pc, boolean reusePc, long header, boolean relative, long firstOffset,
        long lastOffset, Optional<ElfSection> textSec, List<String> seen, StringBuilder want) {
      int pcAt = offsetOf("minpc") / 8;
      for (int i = 1; i + 1 < w.length; i++) {
        long t = w[i];
        long e = w[i + 1];
        boolean isPc = pc != null && i == pcAt;
        if (isPc != reusePc || (!isPc && (used[i] || used[i + 1])) || t == 0 || e < t || !inExecutable(t, e - t)) {
          continue;
        }
        if (seen.size() < 6 && !isPc) {
          seen.add(String.format("+%d [0x%x, 0x%x)", i * 8, t, e));
        }
        if (textSec.isPresent() && (t < textSec.get().addr() || e > textSec.get().addr() + textSec.get().size())) {
          continue;
        }
        if (pc != null && (t > pc[0] || e < pc[1])) {
          continue;
        }
        if (header != 0 && t != header) {
          continue;
        }
        if (relative && header == 0 && pc != null && t != pc[0] - firstOffset) {
          continue;
        }
        if (relative && e - t < lastOffset) {
          continue;
        }
        if (!relative && (t > firstOffset || e < lastOffset)) {
          continue; // absolute entries (before Go 1.18): the text covers every function
        }
        take("text", i);
        take("etext", i + 1);
        ok(want.toString(), String.format("+%d [0x%x, 0x%x)%s", i * 8, t, e,
            isPc ? " (the minpc, maxpc words: no other pair)"
                : pc == null && relative && header == 0 ? " (unverified: no minpc)" : ""));
        return new long[] {t, e};
      }
      return null;
    }

    private int offsetOf(String name) {
      for (Field f : fields) {
        if (f.name().equals(name)) {
          return f.offset();
        }
      }
      return -1;
    }

    /** Go ≤ 1.26: types, etypes and the typelinks/itablinks slices. Null (recorded) if none qualifies. */
    private TypeData findTypesWithSlices() {
      String what = "types, etypes with a typelinks slice of valid type descriptors";
      Optional<ElfSection> typelinkSec = elf.section(".typelink");
      List<String> seen = new ArrayList<>();
      for (int m = 1; m + 2 < w.length; m++) {
        long ptr = w[m];
        long n = w[m + 1];
        if (used[m] || used[m + 1] || n != w[m + 2] || n <= 0 || n > MAX_TYPELINKS || !inData(ptr, n * 4)) {
          continue;
        }
        if (typelinkSec.isPresent() && !inside(typelinkSec.get(), ptr, n * 4)) {
          continue;
        }
        if (seen.size() < 4) {
          seen.add(String.format("+%d {0x%x, %d}", m * 8, ptr, n));
        }
        for (int k = 1; k < w.length; k++) {
          for (int d = 1; d <= MAX_PAIR_DISTANCE && k + d < w.length; d++) {
            long t = w[k];
            long e = w[k + d];
            if (k == m || k + d == m || used[k] || used[k + d] || e <= t || !inData(t, e - t)) {
              continue;
            }
            TypeDescriptors td = new TypeDescriptors(space, t, e);
            if (!sampledTypelinksValid(td, t, ptr, (int) n)) {
              continue;
            }
            int[] offs = new int[(int) n];
            space.read(ptr, (int) n * 4).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(offs);
            if (!allInside(offs, e - t)) {
              continue;
            }
            take("types", k);
            take("etypes", k + d);
            take("typelinks", m);
            used[m + 1] = used[m + 2] = true;
            ok(what, String.format("types +%d, etypes +%d [0x%x, 0x%x), typelinks +%d {0x%x, %d}%s", k * 8,
                (k + d) * 8, t, e, m * 8, ptr, n, typelinkSec.isPresent() ? " in .typelink" : ""));
            long[] itabs = findItablinks(td);
            return new TypeData(t, e, ptr, offs, itabs);
          }
        }
      }
      checks.add(new Check(what, false, seen.isEmpty() ? "no int32 slice (len = cap) in read-only data"
          + typelinkSec.map(s -> " inside .typelink").orElse("")
          : "slices whose entries do not lead to type descriptors from any (types, etypes): "
          + String.join(", ", seen)));
      return null;
    }

    /** Reads {@value #TYPE_SAMPLES} evenly spaced entries (and the last) one by one: cheap on a wrong candidate. */
    private boolean sampledTypelinksValid(TypeDescriptors td, long types, long ptr, int n) {
      int step = Math.max(1, n / TYPE_SAMPLES);
      for (int i = 0; i < n; i += step) {
        if (!validLink(td, types, ptr, i)) {
          return false;
        }
      }
      return validLink(td, types, ptr, n - 1);
    }

    private boolean validLink(TypeDescriptors td, long types, long ptr, int i) {
      int off = space.read(ptr + 4L * i, 4).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
      return off >= 0 && td.valid(types + off);
    }

    private static boolean allInside(int[] offs, long span) {
      for (int o : offs) {
        if (o < 0 || o + (long) TypeDescriptors.HEADER > span) {
          return false;
        }
      }
      return true;
    }

    private long[] findItablinks(TypeDescriptors td) {
      String what = "itablinks slice of valid itabs";
      Optional<ElfSection> sec = elf.section(".itablink");
      for (int q = 1; q + 2 < w.length; q++) {
        long ptr = w[q];
        long n = w[q + 1];
        if (used[q] || used[q + 1] || n != w[q + 2] || n <= 0 || n > MAX_ITABS || !inData(ptr, n * 8)) {
          continue;
        }
        if (sec.isPresent() && !inside(sec.get(), ptr, n * 8)) {
          continue;
        }
        int step = (int) Math.max(1, n / TYPE_SAMPLES);
        boolean good = true;
        for (long i = 0; i < n && good; i += step) {
          good = td.itabProblem(readWord(ptr + 8 * i)) == null;
        }
        if (!good || td.itabProblem(readWord(ptr + 8 * (n - 1))) != null) {
          continue;
        }
        long[] itabs = new long[(int) n];
        space.read(ptr, (int) n * 8).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(itabs);
        take("itablinks", q);
        used[q + 1] = used[q + 2] = true;
        ok(what, String.format("+%d {0x%x, %d}%s", q * 8, ptr, n, sec.isPresent() ? " in .itablink" : ""));
        return itabs;
      }
      checks.add(new Check(what, false, "none (types behind interfaces only may be missed)"));
      return new long[0];
    }

    private long readWord(long addr) {
      return space.read(addr, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    /** Go 1.27: types, typedesclen, etypes and itaboffset, itabsize, proven by exact walks. */
    private TypeData findTypesWithLengths() {
      String what = "types, etypes with a typedesclen at which the walk of type descriptors, sorted by type string,"
          + " ends exactly";
      List<String> seen = new ArrayList<>();
      for (int k = 1; k < w.length; k++) {
        for (int d = 1; d <= MAX_PAIR_DISTANCE && k + d < w.length; d++) {
          long t = w[k];
          long e = w[k + d];
          if (used[k] || used[k + d] || e <= t || !inData(t, e - t)) {
            continue;
          }
          TypeDescriptors td = new TypeDescriptors(space, t, e);
          if (!td.valid(t + 8)) {
            continue;
          }
          // Every word near types at which the walk ends exactly with descriptors sorted by type string: a
          // shorter length would give a sorted prefix, a longer one runs into the size-sorted other types, so the
          // largest is typedesclen.
          int best = -1;
          TypeDescriptors.Walk bestWalk = null;
          for (int dist = 1; dist <= MAX_LEN_DISTANCE; dist++) {
            for (int l : new int[] {k + dist, k - dist}) {
              if (l <= 0 || l >= w.length || used[l] || l == k + d) {
                continue;
              }
              long len = w[l];
              if (len <= 8 || len > e - t || (best >= 0 && len <= w[best])) {
                continue;
              }
              if (walkBudget <= 0) {
                String exhausted = "walk budget of " + WALK_BUDGET + " descriptors exhausted";
                if (!seen.contains(exhausted)) {
                  seen.add(exhausted);
                }
                break;
              }
              TypeDescriptors.Walk walk = td.walkTypelinks(len, mapBase, Math.min(MAX_TYPELINKS, walkBudget));
              walkBudget -= walk.addresses().length + 1;
              int unsorted = walk.ok() ? td.firstUnsorted(walk.addresses()) : -1;
              if (!walk.ok() || unsorted >= 0) {
                if (seen.size() < 4) {
                  seen.add(String.format("types +%d [0x%x, 0x%x) typedesclen? +%d=0x%x: %s", k * 8, t, e, l * 8,
                      len, walk.ok() ? "descriptor " + unsorted + " out of type-string order" : walk.failure()));
                }
                continue;
              }
              best = l;
              bestWalk = walk;
            }
          }
          if (bestWalk == null) {
            continue;
          }
          long len = w[best];
          take("types", k);
          take("typedesclen", best);
          take("etypes", k + d);
          ok(what, String.format("types +%d, typedesclen +%d, etypes +%d [0x%x, 0x%x): %d descriptors sorted by"
              + " type string%s", k * 8, best * 8, (k + d) * 8, t, e, bestWalk.addresses().length,
              bestWalk.learned().isEmpty() ? "" : ", kind sizes learned " + learned(bestWalk)));
          int[] offs = new int[bestWalk.addresses().length];
          for (int i = 0; i < offs.length; i++) {
            offs[i] = (int) (bestWalk.addresses()[i] - t);
          }
          return new TypeData(t, e, 0, offs, findItabRange(td, t, e, len));
        }
      }
      checks.add(new Check(what, false, seen.isEmpty()
          ? "no (types, etypes) range in read-only data starting with a type descriptor at types+8"
          : String.join("; ", seen)));
      return null;
    }

    private static String learned(TypeDescriptors.Walk walk) {
      List<String> out = new ArrayList<>();
      walk.learned().forEach((k, s) -> out.add(TypeDescriptors.kindName(k) + "=" + s));
      return String.join(",", out);
    }

    private long[] findItabRange(TypeDescriptors td, long t, long e, long typedesclen) {
      String what = "itaboffset, itabsize: adjacent, at which the itab walk ends exactly";
      for (int o = 1; o + 1 < w.length; o++) {
        long off = w[o];
        long size = w[o + 1];
        if (used[o] || used[o + 1] || off < typedesclen || size <= 0 || off + size > e - t || (off & 7) != 0) {
          continue;
        }
        TypeDescriptors.Itabs itabs = td.walkItabs(off, size, MAX_ITABS);
        if (!itabs.ok()) {
          continue;
        }
        take("itaboffset", o);
        take("itabsize", o + 1);
        ok(what, String.format("+%d, +%d: %d itabs in [types+0x%x, types+0x%x)", o * 8, (o + 1) * 8,
            itabs.addresses().length, off, off + size));
        return itabs.addresses();
      }
      checks.add(new Check(what, false, "none (types behind interfaces only may be missed)"));
      return new long[0];
    }

    private boolean inExecutable(long addr, long len) {
      ElfSegment s = space.segmentFor(addr, len);
      return s != null && s.executable();
    }

    private boolean inData(long addr, long len) {
      ElfSegment s = space.segmentFor(addr, len);
      return addr != 0 && s != null && !s.executable();
    }

    private static boolean inside(ElfSection s, long addr, long len) {
      return addr >= s.addr() && addr + len <= s.addr() + s.size();
    }

    private void take(String name, int i) {
      used[i] = true;
      fields.add(new Field(name, i * 8, w[i]));
    }

    private void ok(String invariant, String found) {
      checks.add(new Check(invariant, true, found));
    }

    private void fail(String invariant, String found) {
      checks.add(new Check(invariant, false, found));
    }
  }

  /** Link-time address of the moduledata. */
  public long address() {
    return address;
  }

  /** How it was found (symbol, section or scan), for provenance. */
  public String foundBy() {
    return how;
  }

  /** The fields placed by discovery, in the order found; their offsets are this binary's layout. */
  public List<Field> fields() {
    return fields;
  }

  /** Offset of the named field in this binary's moduledata, or -1 when discovery did not place it. */
  public int offsetOf(String field) {
    for (Field f : fields) {
      if (f.name().equals(field)) {
        return f.offset();
      }
    }
    return -1;
  }

  /** Every invariant checked, in order, with what was found. */
  public List<Check> checks() {
    return checks;
  }

  /** Whether the type part (types range, type links, itabs) was found; if not, {@link #typesProblem()} says why. */
  public boolean typesResolved() {
    return typeData != null;
  }

  /** The failed check of the type part, or null when it resolved. */
  public String typesProblem() {
    return typesProblem;
  }

  public long text() {
    return text;
  }

  /** Same as {@link #text()}: the base that Go ≥ 1.18 function entry offsets are relative to. */
  public long textStart() {
    return text;
  }

  public long etext() {
    return etext;
  }

  public long minpc() {
    return minpc;
  }

  public long maxpc() {
    return maxpc;
  }

  /** Start of the runtime type data; typelinks and type offsets are relative to it. */
  public long types() {
    return types0().types();
  }

  public long etypes() {
    return types0().etypes();
  }

  /** Address of the {@code typelinks} array (Go ≤ 1.26), or 0 when the type links were walked (Go 1.27+). */
  public long typelinksAddress() {
    return types0().typelinksAddress();
  }

  public int typelinksCount() {
    return types0().typelinks().length;
  }

  /** The type links: offsets from {@link #types()} of each typelink descriptor, from the slice or the walk. */
  public int[] typelinks() {
    return types0().typelinks().clone();
  }

  /** Addresses of the itab descriptors, from {@code itablinks} or the itab walk; empty when neither was found. */
  public long[] itablinks() {
    return types0().itabs().clone();
  }

  private TypeData types0() {
    if (typeData == null) {
      throw new GoBinaryFormatException(file, String.format("moduledata at 0x%x: type data not resolved: %s",
          address, typesProblem));
    }
    return typeData;
  }

  @Override
  public String toString() {
    return String.format("ModuleData[0x%x, text=0x%x..0x%x, %s, via %s, fields %s]", address, text, etext,
        typeData == null ? "types unresolved" : String.format("types=0x%x..0x%x, typelinks=%d", typeData.types(),
            typeData.etypes(), typeData.typelinks().length), how, fields);
  }
}
