package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import io.goscope.platform.sys.CapstoneX86Decoder;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The file offsets of every return instruction of a Go function, where a uprobe replaces a uretprobe (which Go's
 * stack copying breaks). Decodes from entry to end (the next function's entry, so INT3 padding is included and
 * decodes harmlessly): {@link Arm64Returns} for arm64, capstone ({@link CapstoneX86Decoder}) for x86-64.
 */
public final class ReturnSites {
  private static final long MAX_FUNCTION_BYTES = 4 << 20;

  private ReturnSites() {}

  /** The return sites of {@code fn} in {@code binary}, using the decoder for the binary's machine. */
  public static List<Long> find(GoBinary binary, GoFunction fn) {
    requireNonNull(binary, "binary");
    return find(binary.elf(), fn, decoderFor(binary.elf()));
  }

  /** The return sites of {@code fn} in {@code elf} with an explicit decoder. */
  public static List<Long> find(ElfFile elf, GoFunction fn, InstructionDecoder decoder) {
    requireNonNull(elf, "elf");
    requireNonNull(fn, "fn");
    requireNonNull(decoder, "decoder");
    long size = fn.end() - fn.entry();
    if (size <= 0 || size > MAX_FUNCTION_BYTES) {
      throw elf.error("function " + fn.name() + ": implausible size " + size);
    }
    long fileOff = elf.fileOffsetForVaddr(fn.entry());
    if (elf.fileOffsetForVaddr(fn.end() - 1) != fileOff + size - 1) {
      throw elf.error("function " + fn.name() + " spans loadable segments");
    }
    ByteBuffer code = elf.slice(fileOff, size, "function " + fn.name());
    List<Long> out = new ArrayList<>();
    for (long rel : decoder.returnOffsets(code, fn.entry())) {
      out.add(fileOff + rel);
    }
    return out;
  }

  /** The decoder for the ELF's machine. */
  public static InstructionDecoder decoderFor(ElfFile elf) {
    return switch (elf.machine()) {
      case ElfFile.EM_AARCH64 -> new Arm64Returns();
      case ElfFile.EM_X86_64 -> CapstoneX86Decoder.shared();
      default -> throw elf.error("return sites: unsupported machine " + elf.machine());
    };
  }
}
