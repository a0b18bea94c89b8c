// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Feature probe, loaded once by the host and never attached: can uprobe programs write into a traced process's
 * memory (bpf_probe_write_user)? Kernel lockdown (integrity or confidentiality) and a missing CAP_SYS_ADMIN make the
 * verifier refuse this program; libbpf's generic helper probe cannot tell, as the verifier then says "cannot use
 * helper" rather than "unknown func".
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("uprobe")
int gs_feature_write_user(struct pt_regs *ctx)
{
	char byte = 0;
	bpf_probe_write_user((void *)0, &byte, 1);
	return 0;
}
