// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * database/sql probes: one CLIENT span per query, exec, prepare, prepared-statement run, BEGIN, COMMIT and ROLLBACK,
 * whatever the driver, each the child of the span active on its goroutine (goscope_context.h), so the queries of a
 * handler land in its request's trace. The driver is told by the runtime type of the DB's driver.Connector, which
 * the decoder names (TracedProcess.goTypeName); the SQL text is copied as a bounded prefix and sanitized in Java.
 *
 * Hooked functions (Go >= 1.17 register ABI, see go_abi.h; a method's receiver is P1; results come back in P1..):
 *
 *   (*DB).queryDC(db, ctx, txctx context.Context, dc *driverConn, releaseConn func(error), query string,
 *                 args []any) (*Rows, error)              entry + every RET; db P1, query P8, P9; error P2, P3
 *     DB.QueryContext/QueryRowContext, Conn.QueryContext and Tx.QueryContext all end up here (once per attempt).
 *   (*DB).execDC(db, ctx, dc *driverConn, release func(error), query string, args []any) (Result, error)
 *                                                          entry + every RET; db P1, query P6, P7; error P3, P4
 *   (*DB).prepareDC(db, ctx, dc, release, cg stmtConnGrabber, query string) (*Stmt, error)
 *                                                          entry + every RET; db P1, query P8, P9; error P2, P3
 *   (*Stmt).QueryContext(s, ctx, args ...any) (*Rows, error)   entry + every RET; s P1 (Stmt.db, Stmt.query)
 *   (*Stmt).ExecContext(s, ctx, args ...any) (Result, error)   entry + every RET; s P1; error P3, P4
 *   (*DB).beginDC(db, ctx, dc, release, opts *TxOptions) (*Tx, error)   entry + every RET; db P1; error P2, P3
 *   (*Tx).Commit(tx) error                                 entry + every RET; tx P1 (Tx.db); error P1, P2
 *   (*Tx).rollback(tx, discardConn bool) error             entry + every RET; tx P1; error P1, P2
 *     Tx.Rollback calls it, and so does the Tx's watcher goroutine when the Tx's context ends; that one also runs
 *     after every COMMIT and ROLLBACK and returns ErrTxDone at once: a Tx already done (Tx.done) records nothing.
 *
 * The calls above never nest on one goroutine, so the in-flight state is keyed by goroutine.
 */
#include "databasesql_event.h"
#include "goscope_context.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define OFFSET_UNSET ((__u64)-1)

/* Struct field offsets, set by the host before load (names match DatabaseSqlProbeSet's StructField constants). */
const volatile __u64 off_db_connector = OFFSET_UNSET;      /* database/sql.DB.connector        driver.Connector */
const volatile __u64 off_stmt_db = OFFSET_UNSET;           /* database/sql.Stmt.db             *DB */
const volatile __u64 off_stmt_query = OFFSET_UNSET;        /* database/sql.Stmt.query          string */
const volatile __u64 off_tx_db = OFFSET_UNSET;             /* database/sql.Tx.db               *DB */
const volatile __u64 off_tx_done = OFFSET_UNSET;           /* database/sql.Tx.done             atomic.Bool / int32 */
const volatile __u64 off_dsn_connector_driver = OFFSET_UNSET; /* database/sql.dsnConnector.driver driver.Driver */

struct call_key {
	__u64 g;
	__u32 tgid;
	__u32 _pad;
};

struct call {
	struct gs_span span;
	struct dbsql_event ev;
};

/* LRU: a call whose return is never seen (a panic unwinds past every RET) ages out. Shared by every object. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct call_key);
	__type(value, struct call);
} dbsql_calls SEC(".maps");

/* All-zero value (.rodata): inserted, then filled in place (the value does not fit the BPF stack). */
static const struct call zero_call = {};

static __always_inline struct call_key call_key_of(struct pt_regs *ctx)
{
	struct call_key k = {
		.g = GO_G(ctx),
		.tgid = bpf_get_current_pid_tgid() >> 32,
	};
	return k;
}

/* The dynamic type of the interface value stored at base+off (itab->_type at itab+8); 0 if unreadable. */
static __always_inline __u64 iface_type(__u64 base, __u64 off, __u64 *data)
{
	struct go_iface v = {};
	if (!base || off == OFFSET_UNSET || bpf_probe_read_user(&v, sizeof(v), (const void *)(base + off)) != 0 ||
	    !v.tab)
		return 0;
	if (data)
		*data = (__u64)v.data;
	return go_read_u64(v.tab, 8);
}

/* Copies a Go string given as (ptr, len) registers: the full length, or -1 when unreadable. */
static __always_inline __s64 read_string_regs(__u64 ptr, __s64 len, char *dst)
{
	if (len < 0 || (len > 0 && !ptr))
		return -1;
	if (len == 0)
		return 0;
	__u64 n = (__u64)len;
	barrier_var(n);
	if (n > DBSQL_QUERY_CAP)
		n = DBSQL_QUERY_CAP;
	if (bpf_probe_read_user(dst, n, (const void *)ptr) != 0)
		return -1;
	return len;
}

/* Starts the call: NULL when the process is not traced or the map is full. */
static __always_inline struct call *begin(struct pt_regs *ctx, __u8 op, __u64 db)
{
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc)
		return NULL;
	__u64 start_ns = bpf_ktime_get_ns();
	struct call_key k = call_key_of(ctx);
	if (bpf_map_update_elem(&dbsql_calls, &k, &zero_call, BPF_ANY) != 0)
		return NULL;
	struct call *c = bpf_map_lookup_elem(&dbsql_calls, &k);
	if (!c)
		return NULL;
	c->ev.start_ns = start_ns;
	c->ev.op = op;
	c->ev.query_len = -1;
	__u64 connector = 0;
	c->ev.connector_type = iface_type(db, off_db_connector, &connector);
	if (connector && off_dsn_connector_driver != OFFSET_UNSET)
		c->ev.driver_type = iface_type(connector, off_dsn_connector_driver, NULL);
	gs_span_start(ctx, proc, GS_SPAN_CLIENT, NULL, &c->span);
	return c;
}

SEC("uprobe")
int dbsql_query_entry(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, DBSQL_OP_QUERY, GO_ARG1(ctx));
	if (c)
		c->ev.query_len = read_string_regs(GO_ARG8(ctx), (__s64)GO_ARG9(ctx), c->ev.query);
	return 0;
}

SEC("uprobe")
int dbsql_exec_entry(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, DBSQL_OP_EXEC, GO_ARG1(ctx));
	if (c)
		c->ev.query_len = read_string_regs(GO_ARG6(ctx), (__s64)GO_ARG7(ctx), c->ev.query);
	return 0;
}

SEC("uprobe")
int dbsql_prepare_entry(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, DBSQL_OP_PREPARE, GO_ARG1(ctx));
	if (c)
		c->ev.query_len = read_string_regs(GO_ARG8(ctx), (__s64)GO_ARG9(ctx), c->ev.query);
	return 0;
}

static __always_inline int stmt_entry(struct pt_regs *ctx, __u8 op)
{
	__u64 stmt = GO_ARG1(ctx);
	if (!stmt)
		return 0;
	struct call *c = begin(ctx, op, go_read_u64((const void *)stmt, off_stmt_db));
	if (c)
		c->ev.query_len = go_read_string((const void *)stmt, off_stmt_query, c->ev.query, DBSQL_QUERY_CAP);
	return 0;
}

SEC("uprobe")
int dbsql_stmt_query_entry(struct pt_regs *ctx)
{
	return stmt_entry(ctx, DBSQL_OP_STMT_QUERY);
}

SEC("uprobe")
int dbsql_stmt_exec_entry(struct pt_regs *ctx)
{
	return stmt_entry(ctx, DBSQL_OP_STMT_EXEC);
}

SEC("uprobe")
int dbsql_begin_entry(struct pt_regs *ctx)
{
	begin(ctx, DBSQL_OP_BEGIN, GO_ARG1(ctx));
	return 0;
}

static __always_inline int tx_entry(struct pt_regs *ctx, __u8 op)
{
	__u64 tx = GO_ARG1(ctx);
	if (!tx)
		return 0;
	__u32 done = 0;
	if (bpf_probe_read_user(&done, sizeof(done), (const void *)(tx + off_tx_done)) != 0 || done)
		return 0; /* already committed or rolled back: the watcher goroutine's no-op, or ErrTxDone */
	begin(ctx, op, go_read_u64((const void *)tx, off_tx_db));
	return 0;
}

SEC("uprobe")
int dbsql_commit_entry(struct pt_regs *ctx)
{
	return tx_entry(ctx, DBSQL_OP_COMMIT);
}

SEC("uprobe")
int dbsql_rollback_entry(struct pt_regs *ctx)
{
	return tx_entry(ctx, DBSQL_OP_ROLLBACK);
}

/* Every RET of every hooked function: the returned error's itab is in P1, P2 or P3 depending on the function. */
SEC("uprobe")
int dbsql_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct call *c = bpf_map_lookup_elem(&dbsql_calls, &k);
	if (!c)
		return 0;
	__u64 end_ns = bpf_ktime_get_ns();
	/* All three read up front: a switch over ctx offsets compiles to a modified ctx pointer, which is refused. */
	__u64 p1 = GO_ARG1(ctx), p2 = GO_ARG2(ctx), p3 = GO_ARG3(ctx);
	barrier_var(p1);
	barrier_var(p2);
	barrier_var(p3);
	__u8 op = c->ev.op;
	__u64 err_itab = p2; /* (*Rows | *Stmt | *Tx, error) */
	if (op == DBSQL_OP_EXEC || op == DBSQL_OP_STMT_EXEC)
		err_itab = p3; /* (Result, error) */
	else if (op == DBSQL_OP_COMMIT || op == DBSQL_OP_ROLLBACK)
		err_itab = p1; /* error */
	gs_span_end(&c->span);
	struct dbsql_event *e = gs_reserve(sizeof(*e), DBSQL_RECORD_OP);
	if (!e) {
		bpf_map_delete_elem(&dbsql_calls, &k);
		return 0;
	}
	/* Too big for an inlined memcpy: the kernel copies it (both sides are BPF memory). */
	bpf_probe_read_kernel(&e->start_ns, sizeof(*e) - sizeof(e->hdr), &c->ev.start_ns);
	e->end_ns = end_ns;
	__builtin_memcpy(&e->trace, &c->span.trace, sizeof(e->trace));
	e->error_type = 0;
	if (err_itab) {
		__u64 type = go_read_u64((const void *)err_itab, 8);
		e->error_type = type ? type : 1;
	}
	gs_submit(e);
	bpf_map_delete_elem(&dbsql_calls, &k);
	return 0;
}
