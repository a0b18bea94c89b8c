// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Feature probe: can this kernel attach uprobe programs through uprobe-multi links (BPF_TRACE_UPROBE_MULTI, kernel
 * 6.6)? The host loads this program for that attach type and links it to a scratch file, then closes everything.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("uprobe")
int gs_feature_uprobe_multi(struct pt_regs *ctx)
{
	return (int)bpf_get_attach_cookie(ctx) & 0;
}
