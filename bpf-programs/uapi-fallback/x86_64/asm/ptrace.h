/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Used only when this build host has no x86_64 uapi headers (an arm64 build box without linux-libc-dev:amd64): the
 * one definition Goscope's BPF programs need from arch/x86/include/uapi/asm/ptrace.h, the x86-64 struct pt_regs that
 * is the uprobe context. It is user ABI and does not change.
 */
#ifndef GOSCOPE_FALLBACK_X86_64_ASM_PTRACE_H
#define GOSCOPE_FALLBACK_X86_64_ASM_PTRACE_H

struct pt_regs {
	unsigned long r15;
	unsigned long r14;
	unsigned long r13;
	unsigned long r12;
	unsigned long rbp;
	unsigned long rbx;
	unsigned long r11;
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long rax;
	unsigned long rcx;
	unsigned long rdx;
	unsigned long rsi;
	unsigned long rdi;
	unsigned long orig_rax;
	unsigned long rip;
	unsigned long cs;
	unsigned long eflags;
	unsigned long rsp;
	unsigned long ss;
};

#endif
