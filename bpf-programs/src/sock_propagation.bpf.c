// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The host's socket programs for trace-context propagation where the kernel refuses writes into process memory
 * (lockdown): see goscope_sockmsg.h for how probes arm a thread.
 *
 *   gs_sock_ops   (cgroup sock_ops, attached to the cgroup v2 root with BPF_F_ALLOW_MULTI semantics via a link)
 *     TCP_CONNECT_CB runs in the connect() call, on the connecting thread: a connection opened by a selected process
 *     whose rules enable propagation becomes a candidate (by socket cookie). ACTIVE_ESTABLISHED_CB (often in softirq,
 *     where the current task means nothing) moves a candidate into gs_sockets. No other socket is touched: the
 *     program does one hash lookup for them.
 *   gs_sock_msg   (sk_msg verdict of gs_sockets)
 *     Runs on every send on those sockets, on the sending thread. When the thread is armed and the message starts
 *     with the armed head and has the anchor right before the armed offset, the armed bytes are inserted there. The
 *     message always passes: a verdict never drops application data.
 *
 * Connections a process opened before it was selected are not in gs_sockets: their requests go without context
 * (the arming probe sees "missed").
 */
#include "goscope_context.h"
#include "goscope_sockmsg.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} gs_sockets SEC(".maps");

/* Connections of propagating processes between connect() and the established callback, by socket cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u32);
} gs_sock_candidates SEC(".maps");

/* Counters (per CPU, summed by the host): GS_SOCK_STAT_*. */
#define GS_SOCK_STAT_WATCHED 0   /* connections put into gs_sockets */
#define GS_SOCK_STAT_WATCH_FAILED 1
#define GS_SOCK_STAT_INSERTED 2  /* armed bytes inserted */
#define GS_SOCK_STAT_MISMATCH 3  /* an armed thread sent a message that did not match (left alone) */
#define GS_SOCK_STAT_EXPIRED 4   /* marks dropped as too old */
#define GS_SOCK_STAT_FAILED 5    /* pull/push refused: nothing inserted */
#define GS_SOCK_STATS 6

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_SOCK_STATS);
	__type(key, __u32);
	__type(value, __u64);
} gs_sock_stats SEC(".maps");

/* The spent mark, copied out of goscope_sock_marks before it is deleted there. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_sock_mark);
} gs_sock_scratch SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *n = bpf_map_lookup_elem(&gs_sock_stats, &stat);
	if (n)
		*n += 1;
}

SEC("sockops")
int gs_sock_ops(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;
	if (op == BPF_SOCK_OPS_TCP_CONNECT_CB) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		const struct gs_process *p = bpf_map_lookup_elem(&goscope_processes, &tgid);
		if (!p || !(p->flags & GS_PROCESS_PROPAGATE) || (p->flags & GS_PROCESS_DECLINED))
			return 1;
		__u64 cookie = bpf_get_socket_cookie(skops);
		bpf_map_update_elem(&gs_sock_candidates, &cookie, &tgid, BPF_ANY);
	} else if (op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		__u64 cookie = bpf_get_socket_cookie(skops);
		if (!bpf_map_lookup_elem(&gs_sock_candidates, &cookie))
			return 1;
		bpf_map_delete_elem(&gs_sock_candidates, &cookie);
		if (bpf_sock_hash_update(skops, &gs_sockets, &cookie, BPF_NOEXIST) == 0)
			count(GS_SOCK_STAT_WATCHED);
		else
			count(GS_SOCK_STAT_WATCH_FAILED);
	}
	return 1;
}

/* Whether the message's first head_len bytes are the armed head (pulls them in). */
static __always_inline int head_matches(struct sk_msg_md *msg, const struct gs_sock_mark *m)
{
	__u32 n = m->head_len;
	if (n == 0 || n > GS_SOCK_HEAD_MAX)
		return 0;
	if (bpf_msg_pull_data(msg, 0, GS_SOCK_HEAD_MAX, 0) != 0)
		return 0;
	__u8 *d = msg->data;
	__u8 *end = msg->data_end;
	if (d + GS_SOCK_HEAD_MAX > end)
		return 0;
	__u64 a = 0, b = 0, c = 0, e = 0;
	__builtin_memcpy(&a, d, 8);
	__builtin_memcpy(&b, d + 8, 8);
	__builtin_memcpy(&c, m->head, 8);
	__builtin_memcpy(&e, m->head + 8, 8);
	/* Compare the first n bytes: mask off the rest (little-endian: byte i is bits 8i..8i+7). */
	__u64 mask_a = n >= 8 ? ~0ULL : ((1ULL << (n * 8)) - 1);
	__u64 mask_b = n >= 16 ? ~0ULL : n <= 8 ? 0 : ((1ULL << ((n - 8) * 8)) - 1);
	return ((a ^ c) & mask_a) == 0 && ((b ^ e) & mask_b) == 0;
}

static __always_inline int anchor_matches(struct sk_msg_md *msg, const struct gs_sock_mark *m, __u32 offset)
{
	if (bpf_msg_pull_data(msg, offset - 2, offset, 0) != 0)
		return 0;
	__u8 *d = msg->data;
	__u8 *end = msg->data_end;
	if (d + 2 > end)
		return 0;
	return d[0] == m->anchor[0] && d[1] == m->anchor[1];
}

SEC("sk_msg")
int gs_sock_msg(struct sk_msg_md *msg)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gs_sock_mark *m = bpf_map_lookup_elem(&goscope_sock_marks, &id);
	if (!m || !m->armed_ns)
		return SK_PASS;
	if (bpf_ktime_get_ns() - m->armed_ns > GS_SOCK_MARK_TTL_NS) {
		bpf_map_delete_elem(&goscope_sock_marks, &id);
		count(GS_SOCK_STAT_EXPIRED);
		return SK_PASS;
	}
	__u32 offset = m->offset;
	__u32 len = m->len;
	if (offset < GS_SOCK_HEAD_MAX || offset > msg->size || len == 0 || len > GS_SOCK_INSERT_MAX ||
	    !head_matches(msg, m) || !anchor_matches(msg, m, offset)) {
		count(GS_SOCK_STAT_MISMATCH);
		return SK_PASS;
	}
	/* From here on the mark is spent, whatever happens: a message is never given the bytes twice. */
	__u32 zero = 0;
	struct gs_sock_mark *spent = bpf_map_lookup_elem(&gs_sock_scratch, &zero);
	if (!spent)
		return SK_PASS;
	__builtin_memcpy(spent, m, sizeof(*spent));
	bpf_map_delete_elem(&goscope_sock_marks, &id);
	struct gs_sock_token k = {.token = spent->token, .tgid = id >> 32};
	if (bpf_msg_push_data(msg, offset, len, 0) != 0) {
		count(GS_SOCK_STAT_FAILED);
		return SK_PASS;
	}
	if (bpf_msg_pull_data(msg, offset, offset + len, 0) != 0) {
		/* The gap exists but cannot be reached: fill nothing, take it out again. */
		bpf_msg_pop_data(msg, offset, len, 0);
		count(GS_SOCK_STAT_FAILED);
		return SK_PASS;
	}
	__u8 *d = msg->data;
	__u8 *end = msg->data_end;
	/* Only len bytes: the pulled range may reach past the gap into the message's own data. */
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < GS_SOCK_INSERT_MAX; i++) {
		if (i >= len || d + i + 1 > end)
			break;
		d[i] = spent->bytes[i];
	}
	__u8 inserted = 1;
	bpf_map_update_elem(&goscope_sock_outcomes, &k, &inserted, BPF_ANY);
	count(GS_SOCK_STAT_INSERTED);
	return SK_PASS;
}
