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
 *     with the armed head, the mark is spent on it: the armed bytes go in at the armed offset (checked against the
 *     anchor) or just after the first line, unless the header block already has a traceparent (the
 *     application's own) or cannot be seen whole; the outcome is recorded for the arming probe. The
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
#define GS_SOCK_STAT_SKIPPED 6   /* the message already had the header: nothing inserted */
#define GS_SOCK_STAT_UNSURE 7    /* first line or header block not within the message: nothing inserted */
#define GS_SOCK_STATS 8

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_SOCK_STATS);
	__type(key, __u32);
	__type(value, __u64);
} gs_sock_stats SEC(".maps");

/* The spent mark, copied out of goscope_sock_marks before it is deleted there, and the message's first bytes. */
struct sock_scratch {
	struct gs_sock_mark mark;
	__u8 b[GS_SOCK_SCAN_MAX + 32]; /* + room for 16-byte loads at any position below GS_SOCK_SCAN_MAX */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sock_scratch);
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
	if (n == 0 || n > GS_SOCK_HEAD_MAX || msg->size < GS_SOCK_HEAD_MAX)
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

#define LOWER8 0x2020202020202020ULL
#define TRACEPAR 0x7261706563617274ULL /* "tracepar" little-endian */
#define ENT_COLON 0x3a746e65U          /* "ent:" */

/* 1 when x is 0, else 0, without a branch. */
static __always_inline __u64 is_zero(__u64 x)
{
	return ((x | -x) >> 63) ^ 1;
}

/* Whether s starts with "traceparent:" in any letter case. */
static __always_inline __u64 traceparent_at(const __u8 *s)
{
	__u64 a = *(const __u64 *)s;
	__u32 b = *(const __u32 *)(s + 8);
	return is_zero(((a | LOWER8) ^ TRACEPAR) | ((b | 0x20202020U) ^ ENT_COLON));
}

/* What the scans below share with their bpf_loop callbacks (on the stack, as bpf_loop wants). */
struct scan_state {
	struct sock_scratch *sc;
	__u32 copied;
	__s32 first; /* offset just after the first line's '\n', or -1 */
	__s32 blank; /* offset of the '\n' before the empty line ending the header block, or -1 */
	__s32 named; /* offset of the '\n' before a traceparent line of the block, or -1 */
};

static long find_first_line(__u64 i, void *ctx)
{
	struct scan_state *st = ctx;
	if (i >= st->copied || i >= GS_SOCK_SCAN_MAX)
		return 1;
	if (st->sc->b[i & (GS_SOCK_SCAN_MAX - 1)] != '\n')
		return 0;
	st->first = i + 1;
	return 1;
}

static long find_header_lines(__u64 i, void *ctx)
{
	struct scan_state *st = ctx;
	if (i + 2 >= st->copied || i >= GS_SOCK_SCAN_MAX)
		return 1;
	const __u8 *b = st->sc->b;
	__u32 at = i & (GS_SOCK_SCAN_MAX - 1);
	if (b[at] != '\n')
		return 0;
	if (b[at + 1] == '\r' && b[at + 2] == '\n') {
		st->blank = at;
		return 1;
	}
	if (st->named < 0 && traceparent_at(&b[at + 1]))
		st->named = at;
	return 0;
}

/*
 * GS_SOCK_AFTER_FIRST_LINE: copies the message's first bytes into sc->b and finds where its first line ends and,
 * with GS_SOCK_UNLESS_TRACEPARENT, whether its header block has a traceparent. Returns the offset after the first
 * line, or -GS_SOCK_SKIPPED / -GS_SOCK_UNSURE. The scans run under bpf_loop (kernel 5.17): the verifier checks each
 * callback once instead of walking thousands of iterations, and they stop at the first answer.
 */
static __always_inline int scan_message(struct sk_msg_md *msg, struct sock_scratch *sc)
{
	__u32 n = msg->size;
	if (n > GS_SOCK_SCAN_MAX)
		n = GS_SOCK_SCAN_MAX;
	if (n < GS_SOCK_HEAD_MAX || bpf_msg_pull_data(msg, 0, n, 0) != 0)
		return -GS_SOCK_UNSURE;
	__u8 *d = msg->data;
	__u8 *end = msg->data_end;
	if (d + n > end)
		return -GS_SOCK_UNSURE;
	/* The pulled range is linear kernel memory: one copy. */
	if (bpf_probe_read_kernel(sc->b, n & (GS_SOCK_SCAN_MAX * 2 - 1), d) != 0)
		return -GS_SOCK_UNSURE;
	struct scan_state st = {.sc = sc, .copied = n, .first = -1, .blank = -1, .named = -1};
	bpf_loop(512, find_first_line, &st, 0);
	if (st.first <= 0)
		return -GS_SOCK_UNSURE;
	if (!(sc->mark.flags & GS_SOCK_UNLESS_TRACEPARENT))
		return st.first;
	bpf_loop(GS_SOCK_SCAN_MAX, find_header_lines, &st, 0);
	if (st.blank < 0)
		return -GS_SOCK_UNSURE; /* the header block does not end within what was scanned */
	return st.named >= 0 ? -GS_SOCK_SKIPPED : st.first;
}

static __always_inline void record(__u64 token, __u32 tgid, __u8 outcome)
{
	struct gs_sock_token k = {.token = token, .tgid = tgid};
	bpf_map_update_elem(&goscope_sock_outcomes, &k, &outcome, BPF_ANY);
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
	if (!head_matches(msg, m)) {
		count(GS_SOCK_STAT_MISMATCH); /* another message of this thread: the mark waits for its own */
		return SK_PASS;
	}
	__u32 zero = 0;
	struct sock_scratch *sc = bpf_map_lookup_elem(&gs_sock_scratch, &zero);
	if (!sc)
		return SK_PASS;
	__builtin_memcpy(&sc->mark, m, sizeof(sc->mark));
	/* From here on the mark is spent, whatever happens: a request is never given the bytes twice. */
	bpf_map_delete_elem(&goscope_sock_marks, &id);
	__u32 tgid = id >> 32;
	__u32 len = sc->mark.len;
	__u32 offset = sc->mark.offset;
	if (len == 0 || len > GS_SOCK_INSERT_MAX) {
		count(GS_SOCK_STAT_FAILED);
		return SK_PASS;
	}
	if (sc->mark.flags & GS_SOCK_AFTER_FIRST_LINE) {
		int at = scan_message(msg, sc);
		if (at < 0) {
			record(sc->mark.token, tgid, (__u8)-at);
			count(at == -GS_SOCK_SKIPPED ? GS_SOCK_STAT_SKIPPED : GS_SOCK_STAT_UNSURE);
			return SK_PASS;
		}
		offset = at;
	} else if (offset < GS_SOCK_HEAD_MAX || offset > msg->size || !anchor_matches(msg, &sc->mark, offset)) {
		record(sc->mark.token, tgid, GS_SOCK_UNSURE);
		count(GS_SOCK_STAT_UNSURE);
		return SK_PASS;
	}
	if (bpf_msg_push_data(msg, offset, len, 0) != 0) {
		count(GS_SOCK_STAT_FAILED);
		return SK_PASS;
	}
	if (bpf_msg_pull_data(msg, offset, offset + len, 0) != 0) {
		/* The gap exists but cannot be reached: take it out again. */
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
		d[i] = sc->mark.bytes[i];
	}
	record(sc->mark.token, tgid, GS_SOCK_INSERTED);
	count(GS_SOCK_STAT_INSERTED);
	return SK_PASS;
}
