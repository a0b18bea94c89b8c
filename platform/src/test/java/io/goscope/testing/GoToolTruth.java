package io.goscope.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ground truth from the Go toolchain and binutils, to check our own parsers against: symbol addresses from
 * {@code go tool nm}, RET instructions from {@code go tool objdump}, PT_LOAD segments from {@code readelf -lW}.
 */
public final class GoToolTruth {
  private static final Pattern RET_LINE =
      Pattern.compile("^\\s*\\S+\\t+0x([0-9a-f]+)\\t+[0-9a-f]+\\t+RET\\b.*$", Pattern.MULTILINE);
  private static final Pattern INSN_LINE =
      Pattern.compile("^\\s*\\S+\\t+0x([0-9a-f]+)\\t+[0-9a-f]+\\t+(\\S+).*$", Pattern.MULTILINE);
  private static final Pattern NM_LINE = Pattern.compile("^\\s*([0-9a-f]+) [Tt] (\\S+)$", Pattern.MULTILINE);
  private static final Pattern LOAD = Pattern.compile(
      "^\\s*LOAD\\s+0x([0-9a-f]+)\\s+0x([0-9a-f]+)\\s+0x[0-9a-f]+\\s+0x([0-9a-f]+)\\s+0x[0-9a-f]+", Pattern.MULTILINE);

  private GoToolTruth() {}

  /** Text symbols and their addresses ({@code go tool nm} of the installed toolchain). */
  public static Map<String, Long> nm(Path bin) {
    return nm(GoToolchain.installed(), bin);
  }

  /**
   * Text symbols and their addresses ({@code go tool nm} of {@code toolchain}: a Go tool reads the binaries of its
   * own release and older ones, not newer ones).
   */
  public static Map<String, Long> nm(GoToolchain toolchain, Path bin) {
    Map<String, Long> out = new HashMap<>();
    Matcher m = NM_LINE.matcher(GoBuilder.run(toolchain.command("tool", "nm", bin.toString()),
        toolchain.environment()));
    while (m.find()) {
      out.putIfAbsent(m.group(2), Long.parseLong(m.group(1), 16));
    }
    return out;
  }

  /** Addresses of the RET instructions of function {@code fn} ({@code go tool objdump}). */
  public static List<Long> objdumpRets(Path bin, String fn) {
    return objdumpRets(GoToolchain.installed(), bin, fn);
  }

  /** Addresses of the RET instructions of function {@code fn} ({@code go tool objdump} of {@code toolchain}). */
  public static List<Long> objdumpRets(GoToolchain toolchain, Path bin, String fn) {
    String text = GoBuilder.run(toolchain.command("tool", "objdump", "-s", "^" + Pattern.quote(fn) + "$",
        bin.toString()), toolchain.environment());
    List<Long> out = new ArrayList<>();
    Matcher m = RET_LINE.matcher(text);
    while (m.find()) {
      out.add(Long.parseLong(m.group(1), 16));
    }
    return out;
  }

  /**
   * The address of the first instruction after the stack-bound check of {@code fn}: past its first {@code JBE}
   * (amd64) or {@code BLS} (arm64) among its first eight instructions, as {@code go tool objdump} of
   * {@code toolchain} prints them; the function's entry when there is none.
   */
  public static long objdumpAfterStackCheck(GoToolchain toolchain, Path bin, String fn) {
    String text = GoBuilder.run(toolchain.command("tool", "objdump", "-s", "^" + Pattern.quote(fn) + "$",
        bin.toString()), toolchain.environment());
    Matcher m = INSN_LINE.matcher(text);
    List<Long> addresses = new ArrayList<>();
    List<String> ops = new ArrayList<>();
    while (m.find() && addresses.size() < 9) {
      addresses.add(Long.parseLong(m.group(1), 16));
      ops.add(m.group(2));
    }
    if (addresses.isEmpty()) {
      throw new AssertionError("go tool objdump printed no instruction of " + fn);
    }
    for (int i = 0; i + 1 < addresses.size(); i++) {
      if (ops.get(i).equals("JBE") || ops.get(i).equals("BLS")) {
        return addresses.get(i + 1);
      }
    }
    return addresses.get(0);
  }

  /** PT_LOAD segments as {offset, vaddr, filesz} ({@code readelf -lW}). */
  public static List<long[]> loads(Path bin) {
    List<long[]> out = new ArrayList<>();
    Matcher m = LOAD.matcher(GoBuilder.run(List.of("readelf", "-lW", bin.toString())));
    while (m.find()) {
      out.add(new long[] {Long.parseLong(m.group(1), 16), Long.parseLong(m.group(2), 16),
          Long.parseLong(m.group(3), 16)});
    }
    return out;
  }

  /** The file offset of {@code vaddr} under the given PT_LOAD segments. */
  public static long fileOffset(List<long[]> loads, long vaddr) {
    for (long[] l : loads) {
      if (vaddr >= l[1] && vaddr < l[1] + l[2]) {
        return vaddr - l[1] + l[0];
      }
    }
    throw new AssertionError("no LOAD for " + Long.toHexString(vaddr));
  }
}
