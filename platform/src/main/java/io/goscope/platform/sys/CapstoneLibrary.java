package io.goscope.platform.sys;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.byref.LongLongByReference;
import jnr.ffi.byref.PointerByReference;

/** The subset of capstone 4's C API used by {@link CapstoneX86Decoder}; csh is a size_t handle. */
public interface CapstoneLibrary {
  int CS_ARCH_X86 = 3;
  int CS_MODE_64 = 8;

  int cs_open(int arch, int mode, LongLongByReference handle);

  long cs_disasm(long handle, @In byte[] code, long codeSize, long address, long count, PointerByReference insn);

  void cs_free(Pointer insn, long count);

  int cs_close(LongLongByReference handle);

  int cs_errno(long handle);

  void cs_version(Pointer major, Pointer minor);
}
