/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go's internal register ABI (Go >= 1.17 on amd64, 1.18 on arm64) and Go runtime value layouts.
 *   amd64: integer args in RAX, RBX, RCX, RDI, RSI, R8, R9, R10, R11; the current goroutine (g) in R14.
 *   arm64: integer args in R0..R15; g in R28.
 * An interface value occupies two registers (itab/type, data); a string two (ptr, len).
 * build-bpf.sh compiles every object once per architecture (-D__TARGET_ARCH_x86 / -D__TARGET_ARCH_arm64).
 */
#ifndef GOSCOPE_GO_ABI_H
#define GOSCOPE_GO_ABI_H

#include <linux/ptrace.h>

#if defined(__TARGET_ARCH_x86)
#define GO_ARG1(r) ((r)->rax)
#define GO_ARG2(r) ((r)->rbx)
#define GO_ARG3(r) ((r)->rcx)
#define GO_ARG4(r) ((r)->rdi)
#define GO_ARG5(r) ((r)->rsi)
#define GO_ARG6(r) ((r)->r8)
#define GO_ARG7(r) ((r)->r9)
#define GO_ARG8(r) ((r)->r10)
#define GO_ARG9(r) ((r)->r11)
#define GO_G(r) ((r)->r14)
#elif defined(__TARGET_ARCH_arm64)
/*
 * arm64 has no x86-style struct pt_regs for user space: the uprobe context is the kernel's struct pt_regs, which
 * begins with the uapi struct user_pt_regs {regs[31], sp, pc, pstate} of <asm/ptrace.h> (read the way libbpf's
 * bpf_tracing.h does for arm64). Programs keep declaring `struct pt_regs *ctx`, an incomplete type here.
 */
#define GO_ARM64_REGS(r) ((const volatile struct user_pt_regs *)(r))
#define GO_ARG1(r) (GO_ARM64_REGS(r)->regs[0])
#define GO_ARG2(r) (GO_ARM64_REGS(r)->regs[1])
#define GO_ARG3(r) (GO_ARM64_REGS(r)->regs[2])
#define GO_ARG4(r) (GO_ARM64_REGS(r)->regs[3])
#define GO_ARG5(r) (GO_ARM64_REGS(r)->regs[4])
#define GO_ARG6(r) (GO_ARM64_REGS(r)->regs[5])
#define GO_ARG7(r) (GO_ARM64_REGS(r)->regs[6])
#define GO_ARG8(r) (GO_ARM64_REGS(r)->regs[7])
#define GO_ARG9(r) (GO_ARM64_REGS(r)->regs[8])
#define GO_G(r) (GO_ARM64_REGS(r)->regs[28])
#else
#error "define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif

/* A Go string header. */
struct go_string {
	const char *ptr;
	__s64 len;
};

/* A Go slice header. */
struct go_slice {
	const void *ptr;
	__s64 len;
	__s64 cap;
};

/* A Go interface value (non-empty: itab; empty: type). */
struct go_iface {
	const void *tab;
	const void *data;
};

/* Hides a value's provenance from the compiler so that a following bound check is emitted as written. */
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

/*
 * Copies the Go string stored at base+off into dst (cap bytes, a compile-time constant) and returns the string's
 * full Go length, which may exceed what was copied (the caller sees truncation), or -1 if the string header or its
 * bytes could not be read. dst is not NUL-terminated and its tail beyond the copied bytes is left untouched.
 *
 * Verifier notes: the copy length is clamped with a 64-bit compare placed after a compiler barrier, so the verifier
 * sees n in [0, cap] on the register actually passed to bpf_probe_read_user (which accepts a zero size).
 */
static __always_inline __s64 go_read_string(const void *base, __u64 off, char *dst, __u32 cap)
{
	struct go_string s = {};
	if (bpf_probe_read_user(&s, sizeof(s), (const char *)base + off) != 0)
		return -1;
	if (s.len < 0)
		return -1;
	if (s.len == 0)
		return 0;
	if (!s.ptr)
		return -1;
	__u64 n = (__u64)s.len;
	barrier_var(n);
	if (n > cap)
		n = cap;
	if (bpf_probe_read_user(dst, n, s.ptr) != 0)
		return -1;
	return s.len;
}

/* Reads a pointer-sized value at base+off into *out; returns 0, or a negative error if unreadable. */
static __always_inline long go_read_u64_checked(const void *base, __u64 off, __u64 *out)
{
	return bpf_probe_read_user(out, sizeof(*out), (const char *)base + off);
}

/* Reads a pointer-sized value at base+off; 0 when unreadable. */
static __always_inline __u64 go_read_u64(const void *base, __u64 off)
{
	__u64 v = 0;
	bpf_probe_read_user(&v, sizeof(v), (const char *)base + off);
	return v;
}

#endif /* GOSCOPE_GO_ABI_H */
