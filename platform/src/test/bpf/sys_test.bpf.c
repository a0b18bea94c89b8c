// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test object for io.goscope.platform.sys: a uprobe that writes one record per call of the Go function
 * `func main.work(i int) int` (platform/src/test/go/sysprobe), and a sched_process_exec tracepoint.
 */
#include "goscope.h"
#include "go_abi.h"

#define TEST_RECORD_CALL 1
#define TEST_RECORD_EXEC 2

/* Copied into every record: checks BpfObject.setConstant. */
const volatile __u64 test_constant = 0;
/* A 1-byte constant: checks sizes other than 8. */
const volatile __u8 test_small_constant = 0;

struct test_call_record {
	struct gs_record_header h;
	__u64 arg;      /* i, the Go function's first argument */
	__u64 cookie;   /* bpf_get_attach_cookie */
	__u64 constant; /* test_constant */
	__u8 small;     /* test_small_constant */
	__u8 pad[7];
};

SEC("uprobe")
int test_uprobe(struct pt_regs *ctx)
{
	struct test_call_record *r = gs_reserve(sizeof(*r), TEST_RECORD_CALL);
	if (!r)
		return 0;
	r->arg = GO_ARG1(ctx);
	r->cookie = bpf_get_attach_cookie(ctx);
	r->constant = test_constant;
	r->small = test_small_constant;
	__builtin_memset(r->pad, 0, sizeof(r->pad));
	gs_submit(r);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int test_exec(void *ctx)
{
	struct gs_record_header *r = gs_reserve(sizeof(*r), TEST_RECORD_EXEC);
	if (r)
		gs_submit(r);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
