/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Used only when this build host has no aarch64 uapi headers (an amd64 Debian box without linux-libc-dev:arm64):
 * the one definition Goscope's BPF programs need from arch/arm64/include/uapi/asm/ptrace.h. The uprobe context of
 * an arm64 kernel, struct pt_regs, begins with this layout; it is user ABI and does not change.
 */
#ifndef GOSCOPE_FALLBACK_ARM64_ASM_PTRACE_H
#define GOSCOPE_FALLBACK_ARM64_ASM_PTRACE_H

#include <linux/types.h>

struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};

#endif
