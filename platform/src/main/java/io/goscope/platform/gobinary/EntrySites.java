package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Where a Go function's entry uprobe goes: past its stack-bound check, not on its first byte.
 *
 * <p>A Go function that may grow its stack starts by comparing the stack pointer with {@code g.stackguard0} and, when
 * the stack is too small, jumps to a block at its end that calls {@code runtime.morestack}, which copies the stack
 * and then <em>runs the function again from its first byte</em>. A probe on the first byte therefore fires twice for
 * one call whenever that call grows the stack (the first deep call on a fresh goroutine, or any call after the
 * garbage collector shrank the stack): an entry program that starts a span starts two, the second the child of the
 * first, and the first never ends. Past the check, the code runs once per call. The argument registers, the stack
 * pointer and the g register are untouched by the check (it uses only scratch registers and flags), so an entry
 * program reads the same values there.
 *
 * <p>The checks recognised are the ones the Go compiler emits ({@code cmd/internal/obj/x86} and {@code arm64}
 * {@code stacksplit}), for small, medium and huge frames, register and stack ABI. A function without a check
 * ({@code NOSPLIT}, or a prologue not recognised) keeps its first byte.
 */
public final class EntrySites {
  /** At most this many instructions before the check's final branch. */
  private static final int MAX_PROLOGUE_INSNS = 7;

  private EntrySites() {}

  /** The file offset where {@code fn}'s entry uprobe goes. */
  public static long find(ElfFile elf, GoFunction fn) {
    requireNonNull(elf, "elf");
    requireNonNull(fn, "fn");
    long size = Math.min(fn.end() - fn.entry(), 64);
    if (size <= 0) {
      return fn.entryFileOffset();
    }
    ByteBuffer head = elf.slice(fn.entryFileOffset(), size, "function " + fn.name());
    return fn.entryFileOffset() + afterStackCheck(elf.machine(), head);
  }

  /**
   * The length of the stack-bound check at the start of {@code code} (the offset of the first instruction past its
   * conditional branch to morestack), or 0 when the code does not start with one.
   */
  public static int afterStackCheck(int machine, ByteBuffer code) {
    ByteBuffer b = code.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    return switch (machine) {
      case ElfFile.EM_X86_64 -> amd64(b);
      case ElfFile.EM_AARCH64 -> arm64(b);
      default -> 0;
    };
  }

  /*
   * amd64, as Go emits it (g in R14 with the register ABI, loaded into RCX from TLS with the stack ABI):
   *   small:  CMPQ SP, 16(g); JLS morestack
   *   medium: LEAQ -d(SP), R12|AX; CMPQ R12|AX, 16(g); JLS morestack
   *   huge:   MOVQ SP, R12; SUBQ $d, R12; JCS morestack; CMPQ R12, 16(g); JLS morestack
   * preceded, with the stack ABI, by MOVQ FS:-8, CX.
   */
  private static int amd64(ByteBuffer b) {
    int pos = 0;
    for (int n = 0; n < MAX_PROLOGUE_INSNS; n++) {
      int len;
      if ((len = tlsLoad(b, pos)) > 0 || (len = leaFromSp(b, pos)) > 0 || (len = movSpToR12(b, pos)) > 0
          || (len = subImmR12(b, pos)) > 0 || (len = forwardJump(b, pos, 0x72, 0x82)) > 0) {
        pos += len;
        continue;
      }
      len = cmpStackGuard(b, pos);
      if (len == 0) {
        return 0;
      }
      pos += len;
      int jls = forwardJump(b, pos, 0x76, 0x86);
      return jls == 0 ? 0 : pos + jls;
    }
    return 0;
  }

  /** {@code mov rcx, fs:[-8]} (64 48 8b 0c 25 f8 ff ff ff). */
  private static int tlsLoad(ByteBuffer b, int p) {
    return matches(b, p, 0x64, 0x48, 0x8b, 0x0c, 0x25, 0xf8, 0xff, 0xff, 0xff) ? 9 : 0;
  }

  /** {@code lea r12|rax, [rsp+disp8|disp32]}. */
  private static int leaFromSp(ByteBuffer b, int p) {
    if (!has(b, p, 4) || (u8(b, p) != 0x4c && u8(b, p) != 0x48) || u8(b, p + 1) != 0x8d || u8(b, p + 3) != 0x24) {
      return 0;
    }
    int modrm = u8(b, p + 2);
    int reg = (modrm >> 3) & 0x07;
    boolean dest = u8(b, p) == 0x4c ? reg == 0x04 /* r12 */ : reg == 0x00 /* rax */;
    if (!dest || (modrm & 0x07) != 0x04) {
      return 0; // r/m 100: a SIB byte follows, and 0x24 there is [rsp]
    }
    return switch (modrm >> 6) {
      case 1 -> has(b, p, 5) ? 5 : 0;
      case 2 -> has(b, p, 8) ? 8 : 0;
      default -> 0;
    };
  }

  /** {@code mov r12, rsp} (49 89 e4 or 4c 8b e4). */
  private static int movSpToR12(ByteBuffer b, int p) {
    return matches(b, p, 0x49, 0x89, 0xe4) || matches(b, p, 0x4c, 0x8b, 0xe4) ? 3 : 0;
  }

  /** {@code sub r12, imm8|imm32} (49 83 ec ib, 49 81 ec id). */
  private static int subImmR12(ByteBuffer b, int p) {
    if (matches(b, p, 0x49, 0x83, 0xec) && has(b, p, 4)) {
      return 4;
    }
    return matches(b, p, 0x49, 0x81, 0xec) && has(b, p, 7) ? 7 : 0;
  }

  /**
   * {@code cmp reg, [g+16]}: REX.W (with .R and .B as the registers need) 3b, ModRM mod 01 with r/m r14 (REX.B) or
   * rcx (no REX.B), disp8 16.
   */
  private static int cmpStackGuard(ByteBuffer b, int p) {
    if (!has(b, p, 4) || (u8(b, p) & 0xf8) != 0x48 || u8(b, p + 1) != 0x3b || u8(b, p + 3) != 0x10) {
      return 0;
    }
    int rex = u8(b, p);
    int modrm = u8(b, p + 2);
    if ((modrm >> 6) != 1) {
      return 0;
    }
    boolean rexB = (rex & 0x01) != 0;
    int rm = modrm & 0x07;
    boolean g = rexB ? rm == 0x06 /* r14 */ : rm == 0x01 /* rcx */;
    return g ? 4 : 0;
  }

  /** A forward conditional jump with the given short (rel8) or near (0f xx rel32) opcode; its length, else 0. */
  private static int forwardJump(ByteBuffer b, int p, int shortOp, int nearOp) {
    if (has(b, p, 2) && u8(b, p) == shortOp) {
      return b.get(p + 1) > 0 ? 2 : 0;
    }
    if (has(b, p, 6) && u8(b, p) == 0x0f && u8(b, p + 1) == nearOp) {
      return b.getInt(p + 2) > 0 ? 6 : 0;
    }
    return 0;
  }

  /*
   * arm64: MOVD 16(g), Rn (ldr xn, [x28, #16]); up to a few instructions computing the bound (SUB, MOVD $, SUBS, BCC
   * for huge frames); CMP; BLS morestack (b.ls, forward).
   */
  private static int arm64(ByteBuffer b) {
    if (!has(b, 0, 4) || (b.getInt(0) & 0xffffffe0) != 0xf9400b80) {
      return 0;
    }
    for (int n = 1; n < MAX_PROLOGUE_INSNS && has(b, 4 * n, 4); n++) {
      int insn = b.getInt(4 * n);
      if ((insn & 0xff00001f) == 0x54000009) { // b.ls
        int imm19 = (insn << 8) >> 13; // sign-extended bits 23:5
        return imm19 > 0 ? 4 * (n + 1) : 0;
      }
    }
    return 0;
  }

  private static boolean matches(ByteBuffer b, int p, int... bytes) {
    if (!has(b, p, bytes.length)) {
      return false;
    }
    for (int i = 0; i < bytes.length; i++) {
      if (u8(b, p + i) != bytes[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean has(ByteBuffer b, int p, int n) {
    return p >= 0 && p + n <= b.limit();
  }

  private static int u8(ByteBuffer b, int p) {
    return b.get(p) & 0xff;
  }
}
