// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pgx v5 probes: one CLIENT span per query, exec and batch sent through pgx's native API (pgx.Conn, and pgxpool,
 * whose calls end up in the pooled pgx.Conn), each the child of the span active on its goroutine
 * (goscope_context.h). The SQL text is copied as a bounded prefix and sanitized in Java.
 *
 * Hooked functions (Go register ABI, see go_abi.h; receiver P1):
 *
 *   (*Conn).Query(c, ctx, sql string, args ...any) (Rows, error)    entry + every RET; sql P4, P5; error P3, P4
 *     QueryRow calls Query, so a QueryRow is one span.
 *   (*Conn).Exec(c, ctx, sql string, args ...any) (pgconn.CommandTag, error)   entry + every RET; same registers
 *     pgx's own Begin, Commit and Rollback run "begin", "commit" and "rollback" through Exec: spans of their own.
 *   (*Conn).SendBatch(c, ctx, b *Batch) BatchResults                 entry + every RET; b P4 (no error result)
 *   Conn.config -> ConnConfig (pgconn.Config embedded): Host, Port, Database for server.address/port, db.namespace.
 *
 * pgx's database/sql driver (pgx/v5/stdlib) runs its statements through the same Conn. Those are the database/sql
 * probe set's spans: while a goroutine is inside stdlib's Conn.QueryContext, ExecContext, BeginTx or its Tx's
 * Commit/Rollback (counted per goroutine at their entry and returns), these probes record nothing, so one statement
 * never gives two spans.
 */
#include "pgx_event.h"
#include "goscope_context.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define OFFSET_UNSET ((__u64)-1)

const volatile __u64 off_conn_config = OFFSET_UNSET;        /* pgx.Conn.config                 *ConnConfig */
const volatile __u64 off_conn_config_config = OFFSET_UNSET; /* pgx.ConnConfig.Config           pgconn.Config */
const volatile __u64 off_config_host = OFFSET_UNSET;        /* pgconn.Config.Host              string */
const volatile __u64 off_config_port = OFFSET_UNSET;        /* pgconn.Config.Port              uint16 */
const volatile __u64 off_config_database = OFFSET_UNSET;    /* pgconn.Config.Database          string */
const volatile __u64 off_batch_queued_queries = OFFSET_UNSET; /* pgx.Batch.QueuedQueries       []*QueuedQuery */
const volatile __u64 off_queued_query_sql = OFFSET_UNSET;   /* pgx.QueuedQuery.SQL             string */

struct call_key {
	__u64 g;
	__u32 tgid;
	__u32 _pad;
};

struct batch_part {
	__s64 batch_size;
	__s64 query_lens[PGX_BATCH_QUERIES];
	char queries[PGX_BATCH_QUERIES][PGX_BATCH_QUERY_CAP];
};

struct call {
	struct gs_span span;
	struct pgx_event ev;
	struct batch_part batch;
};

/* LRU: a call whose return is never seen ages out. 2048 calls in flight per node (2.4 KB each, preallocated). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct call_key);
	__type(value, struct call);
} pgx_calls SEC(".maps");

/* Per goroutine: how deep it is inside pgx's database/sql driver (its statements are database/sql spans). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct call_key);
	__type(value, __u32);
} pgx_stdlib_depth SEC(".maps");

static const struct call zero_call = {};

static __always_inline struct call_key call_key_of(struct pt_regs *ctx)
{
	struct call_key k = {
		.g = GO_G(ctx),
		.tgid = bpf_get_current_pid_tgid() >> 32,
	};
	return k;
}

SEC("uprobe")
int pgx_stdlib_entry(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	__u32 *d = bpf_map_lookup_elem(&pgx_stdlib_depth, &k);
	if (d) {
		*d += 1;
		return 0;
	}
	__u32 one = 1;
	bpf_map_update_elem(&pgx_stdlib_depth, &k, &one, BPF_ANY);
	return 0;
}

SEC("uprobe")
int pgx_stdlib_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	__u32 *d = bpf_map_lookup_elem(&pgx_stdlib_depth, &k);
	if (!d)
		return 0;
	if (*d > 1)
		*d -= 1;
	else
		bpf_map_delete_elem(&pgx_stdlib_depth, &k);
	return 0;
}

static __always_inline struct call *begin(struct pt_regs *ctx, __u8 op)
{
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc)
		return NULL;
	struct call_key k = call_key_of(ctx);
	if (bpf_map_lookup_elem(&pgx_stdlib_depth, &k))
		return NULL;
	__u64 start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&pgx_calls, &k, &zero_call, BPF_ANY) != 0)
		return NULL;
	struct call *c = bpf_map_lookup_elem(&pgx_calls, &k);
	if (!c)
		return NULL;
	c->ev.start_ns = start_ns;
	c->ev.op = op;
	c->ev.query_len = -1;
	c->ev.host_len = -1;
	c->ev.database_len = -1;
	__u64 conn = GO_ARG1(ctx);
	__u64 cfg = 0;
	if (conn && off_conn_config != OFFSET_UNSET && go_read_u64_checked((const void *)conn, off_conn_config, &cfg) == 0 &&
	    cfg && off_conn_config_config != OFFSET_UNSET) {
		const void *pc = (const void *)(cfg + off_conn_config_config);
		if (off_config_host != OFFSET_UNSET)
			c->ev.host_len = go_read_string(pc, off_config_host, c->ev.host, PGX_HOST_CAP);
		if (off_config_database != OFFSET_UNSET)
			c->ev.database_len = go_read_string(pc, off_config_database, c->ev.database, PGX_DATABASE_CAP);
		if (off_config_port != OFFSET_UNSET)
			bpf_probe_read_user(&c->ev.port, sizeof(c->ev.port), (const char *)pc + off_config_port);
	}
	gs_span_start(ctx, proc, GS_SPAN_CLIENT, NULL, &c->span);
	return c;
}

static __always_inline void read_sql(struct pt_regs *ctx, struct call *c)
{
	__u64 ptr = GO_ARG4(ctx);
	__s64 len = (__s64)GO_ARG5(ctx);
	if (len < 0 || (len > 0 && !ptr))
		return;
	c->ev.query_len = len;
	if (len == 0)
		return;
	__u64 n = (__u64)len;
	barrier_var(n);
	if (n > PGX_QUERY_CAP)
		n = PGX_QUERY_CAP;
	if (bpf_probe_read_user(c->ev.query, n, (const void *)ptr) != 0)
		c->ev.query_len = -1;
}

SEC("uprobe")
int pgx_query_entry(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, PGX_OP_QUERY);
	if (c)
		read_sql(ctx, c);
	return 0;
}

SEC("uprobe")
int pgx_exec_entry(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, PGX_OP_EXEC);
	if (c)
		read_sql(ctx, c);
	return 0;
}

SEC("uprobe")
int pgx_batch_entry(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, PGX_OP_BATCH);
	if (!c)
		return 0;
	__u64 b = GO_ARG4(ctx);
	struct go_slice q = {};
	if (!b || off_batch_queued_queries == OFFSET_UNSET ||
	    bpf_probe_read_user(&q, sizeof(q), (const void *)(b + off_batch_queued_queries)) != 0 || q.len < 0) {
		c->batch.batch_size = -1;
		return 0;
	}
	c->batch.batch_size = q.len;
#pragma unroll
	for (int i = 0; i < PGX_BATCH_QUERIES; i++) {
		c->batch.query_lens[i] = -1;
		if (i >= q.len || off_queued_query_sql == OFFSET_UNSET)
			continue;
		__u64 qq = go_read_u64(q.ptr, i * 8);
		if (qq)
			c->batch.query_lens[i] = go_read_string((const void *)qq, off_queued_query_sql, c->batch.queries[i],
							       PGX_BATCH_QUERY_CAP);
	}
	return 0;
}

/* Every RET of Query, Exec (error in P3, P4) and SendBatch (no error). */
SEC("uprobe")
int pgx_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct call *c = bpf_map_lookup_elem(&pgx_calls, &k);
	if (!c)
		return 0;
	__u64 end_ns = bpf_ktime_get_ns();
	__u64 err_itab = GO_ARG3(ctx);
	gs_span_end(&c->span);
	c->ev.end_ns = end_ns;
	__builtin_memcpy(&c->ev.trace, &c->span.trace, sizeof(c->ev.trace));
	c->ev.error_type = 0;
	if (c->ev.op != PGX_OP_BATCH && err_itab) {
		__u64 type = go_read_u64((const void *)err_itab, 8);
		c->ev.error_type = type ? type : 1;
	}
	if (c->ev.op == PGX_OP_BATCH) {
		struct pgx_batch_event *e = gs_reserve(sizeof(*e), PGX_RECORD_BATCH);
		if (e) {
			bpf_probe_read_kernel(&e->start_ns, __builtin_offsetof(struct pgx_batch_event, batch_size) -
							    sizeof(e->hdr), &c->ev.start_ns);
			bpf_probe_read_kernel(&e->batch_size, sizeof(c->batch), &c->batch);
			gs_submit(e);
		}
	} else {
		struct pgx_event *e = gs_reserve(sizeof(*e), PGX_RECORD_OP);
		if (e) {
			bpf_probe_read_kernel(&e->start_ns, sizeof(*e) - sizeof(e->hdr), &c->ev.start_ns);
			gs_submit(e);
		}
	}
	bpf_map_delete_elem(&pgx_calls, &k);
	return 0;
}
