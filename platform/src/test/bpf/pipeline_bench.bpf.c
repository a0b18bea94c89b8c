// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark object for the host's pipeline (io.goscope.bench.PipelineBenchmark): writes synthetic records into the
 * shared ring buffer from BPF, as probes do, but without a traced process. One BPF_PROG_TEST_RUN of `fill` writes
 * `count` copies of the 480-byte template in its context (a net/http server record), each with a fresh span id,
 * submitted without waking the consumer. Records that do not fit are counted in goscope_dropped.
 */
#include "goscope.h"

#define BENCH_RECORD_SIZE 480 /* sizeof(struct nethttp_server_event) */

struct bench_ctx {
	__u32 count;
	__u32 pad;
	__u8 record[BENCH_RECORD_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_ctx);
} bench_template SEC(".maps");

static long write_one(__u32 index, void *data)
{
	__u32 key = 0;
	struct bench_ctx *t = bpf_map_lookup_elem(&bench_template, &key);
	if (!t)
		return 1;
	__u8 *r = bpf_ringbuf_reserve(&goscope_events, BENCH_RECORD_SIZE, 0);
	if (!r) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&goscope_lost, &zero);
		if (n)
			*n += 1;
		return 0;
	}
	__builtin_memcpy(r, t->record, BENCH_RECORD_SIZE);
	__u64 id = ((__u64)bpf_get_prandom_u32() << 32) | (index + 1);
	__builtin_memcpy(r + 40, &id, sizeof(id)); /* span_id */
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("syscall")
int fill(struct bench_ctx *ctx)
{
	__u32 zero = 0;
	struct bench_ctx *t = bpf_map_lookup_elem(&bench_template, &zero);
	if (!t)
		return -1;
	__builtin_memcpy(t->record, ctx->record, BENCH_RECORD_SIZE);
	bpf_loop(ctx->count, write_one, NULL, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
