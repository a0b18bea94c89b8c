package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The stack-bound checks Go compiles, byte for byte as {@code go tool objdump} printed them for Go 1.26 (small,
 * medium and huge frames on amd64 and arm64) and Go 1.16 (stack ABI), and code that only looks like them.
 */
class EntrySitesTest {

  private static int amd64(String hex) {
    return EntrySites.afterStackCheck(ElfFile.EM_X86_64, ByteBuffer.wrap(HexFormat.of().parseHex(hex)));
  }

  private static int arm64(String... words) {
    ByteBuffer b = ByteBuffer.allocate(4 * words.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (String w : words) {
      b.putInt((int) Long.parseLong(w, 16));
    }
    return EntrySites.afterStackCheck(ElfFile.EM_AARCH64, b.flip());
  }

  @Test
  void amd64SmallFrame() {
    // CMPQ SP, 0x10(R14); JBE; PUSHQ BP
    assertEquals(6, amd64("493b6610" + "763c" + "55" + "4889e5"));
  }

  @Test
  void amd64MediumFrames() {
    // LEAQ -0x10(SP), R12; CMPQ R12, 0x10(R14); JBE rel32 (grpc's (*ClientConn).Invoke)
    assertEquals(15, amd64("4c8d6424f0" + "4d3b6610" + "0f862c020000" + "55"));
    // LEAQ 0xffffff10(SP), R12 (disp32)
    assertEquals(18, amd64("4c8da42410ffffff" + "4d3b6610" + "0f86f5000000" + "55"));
  }

  @Test
  void amd64HugeFrame() {
    // MOVQ SP, R12; SUBQ $0x3e50, R12; JB; CMPQ R12, 0x10(R14); JBE
    assertEquals(26, amd64("4989e4" + "4981ec503e0000" + "0f826f010000" + "4d3b6610" + "0f8665010000" + "55"));
  }

  @Test
  void amd64StackAbi() {
    // MOVQ FS:-8, CX; CMPQ SP, 0x10(CX); JBE (Go 1.16 and older)
    assertEquals(15, amd64("64488b0c25f8ffffff" + "483b6110" + "7650" + "4883ec18"));
    // MOVQ FS:-8, CX; LEAQ -0x58(SP), AX; CMPQ AX, 0x10(CX); JBE
    assertEquals(24, amd64("64488b0c25f8ffffff" + "488d4424a8" + "483b4110" + "0f8601000000"));
  }

  @Test
  void amd64WithoutCheckKeepsTheFirstByte() {
    assertEquals(0, amd64("31c0" + "4885db" + "c3")); // a leaf: xor eax, eax; test rbx, rbx; ret
    assertEquals(0, amd64("90e8")); // runtime.goexit
    assertEquals(0, amd64("493b6610")); // truncated before the branch
    assertEquals(0, amd64("493b6610" + "76f0")); // a backward branch is no morestack call
    assertEquals(0, amd64("493b6618" + "763c")); // [r14+0x18] is not the stack guard
    assertEquals(0, amd64("493b6610" + "7f3c")); // jg is not the check's branch
    assertEquals(0, amd64("")); // nothing
  }

  @Test
  void arm64Frames() {
    // MOVD 16(R28), R16; CMP R16, RSP; BLS 16(PC)
    assertEquals(12, arm64("f9400b90", "eb3063ff", "54000209", "f81c0ffe"));
    // MOVD 16(R28), R16; SUB $256, RSP, R17; CMP R16, R17; BLS 55(PC)
    assertEquals(16, arm64("f9400b90", "d10403f1", "eb10023f", "540006e9", "d10603f4"));
    // MOVD 16(R28), R16; MOVD $15952, R27; SUBS R27, RSP, R17; BCC; CMP R16, R17; BLS 87(PC)
    assertEquals(24, arm64("f9400b90", "d287ca1b", "eb3b63f1", "54000b23", "eb10023f", "54000ae9", "d287da1b"));
  }

  @Test
  void arm64WithoutCheckKeepsTheFirstByte() {
    assertEquals(0, arm64("d65f03c0")); // ret
    assertEquals(0, arm64("f9400b90", "eb3063ff", "54fffe09")); // backward b.ls
    assertEquals(0, arm64("f9400f90", "eb3063ff", "54000209")); // [x28, #24] is not the stack guard
  }

  @Test
  void otherMachinesKeepTheFirstByte() {
    assertEquals(0, EntrySites.afterStackCheck(40 /* EM_ARM */, ByteBuffer.wrap(HexFormat.of().parseHex(
        "493b6610763c"))));
  }
}
