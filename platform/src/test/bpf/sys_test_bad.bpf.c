// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test object the verifier rejects: reads far outside the uprobe's pt_regs context. */
#include "goscope.h"

SEC("uprobe")
int test_bad(struct pt_regs *ctx)
{
	return *(volatile __u64 *)((char *)ctx + 4000);
}

char LICENSE[] SEC("license") = "GPL";
