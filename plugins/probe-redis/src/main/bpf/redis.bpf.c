// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * go-redis v9 probes: one CLIENT span per command and per pipeline or transaction, each the child of the span active
 * on its goroutine (goscope_context.h). Only the command names and argument counts leave the process's memory:
 * db.query.text is built from them with every argument redacted.
 *
 * Hooked functions (Go register ABI, see go_abi.h; receiver P1):
 *
 *   (*baseClient).processStartingAt(c, ctx, cmd Cmder, startAttempt int, start time.Time) error   (v9.2x)
 *   (*baseClient).process(c, ctx, cmd Cmder) error   (older v9, where it is not inlined)
 *       entry + every RET; cmd (itab, data) P4, P5: data points at the command, which starts with baseCmd
 *       {ctx, args []any, ...}; args[0] is the name. Error P1, P2.
 *   (*baseClient).processPipeline(c, ctx, cmds []Cmder) error     entry + every RET; cmds P4, P5 (ptr, len)
 *   (*baseClient).processTxPipeline(c, ctx, cmds []Cmder) error   the same, for MULTI/EXEC
 *   baseClient.opt -> Options.Addr, Options.DB: server.address/port and db.namespace.
 *
 * A call made while another is in flight on the goroutine (a connection's initialisation pipeline inside a command)
 * is counted, not recorded, so the outer call's return still finds its own state.
 */
#include "redis_event.h"
#include "goscope_context.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define OFFSET_UNSET ((__u64)-1)

const volatile __u64 off_base_client_opt = OFFSET_UNSET; /* go-redis/v9.baseClient.opt   *Options */
const volatile __u64 off_options_addr = OFFSET_UNSET;    /* go-redis/v9.Options.Addr     string */
const volatile __u64 off_options_db = OFFSET_UNSET;      /* go-redis/v9.Options.DB       int */
const volatile __u64 off_base_cmd_args = OFFSET_UNSET;   /* go-redis/v9.baseCmd.args     []interface{} */

struct call_key {
	__u64 g;
	__u32 tgid;
	__u32 _pad;
};

struct call {
	struct gs_span span;
	__u64 goid;   /* the goroutine that started it: a stale entry of an exited goroutine's reused g is replaced */
	__u32 nested; /* calls in flight inside this one */
	__u32 _pad;
	struct redis_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct call_key);
	__type(value, struct call);
} redis_calls SEC(".maps");

static const struct call zero_call = {};

static __always_inline struct call_key call_key_of(struct pt_regs *ctx)
{
	struct call_key k = {
		.g = GO_G(ctx),
		.tgid = bpf_get_current_pid_tgid() >> 32,
	};
	return k;
}

/* The name and argument count of the command whose baseCmd starts at cmd. */
static __always_inline void read_command(struct redis_event *e, __u64 cmd, int i)
{
	e->arg_counts[i] = -1;
	e->name_lens[i] = -1;
	struct go_slice args = {};
	if (!cmd || off_base_cmd_args == OFFSET_UNSET ||
	    bpf_probe_read_user(&args, sizeof(args), (const void *)(cmd + off_base_cmd_args)) != 0 || args.len < 0)
		return;
	e->arg_counts[i] = args.len;
	if (args.len < 1 || !args.ptr)
		return;
	struct go_iface name = {};
	if (bpf_probe_read_user(&name, sizeof(name), args.ptr) != 0 || !name.data)
		return;
	/* an interface holding a string: data points at the string header */
	e->name_lens[i] = go_read_string(name.data, 0, e->names[i], REDIS_NAME_CAP);
}

static __always_inline struct call *begin(struct pt_regs *ctx, __u8 kind)
{
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc)
		return NULL;
	struct call_key k = call_key_of(ctx);
	struct gs_goroutine g = gs_current_goroutine(ctx);
	struct call *c = bpf_map_lookup_elem(&redis_calls, &k);
	if (c && c->goid == g.goid) {
		c->nested += 1;
		return NULL;
	}
	__u64 start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&redis_calls, &k, &zero_call, BPF_ANY) != 0)
		return NULL;
	c = bpf_map_lookup_elem(&redis_calls, &k);
	if (!c)
		return NULL;
	c->goid = g.goid;
	c->ev.start_ns = start_ns;
	c->ev.kind = kind;
	c->ev.db = -1;
	c->ev.addr_len = -1;
	__u64 opt = 0;
	__u64 client = GO_ARG1(ctx);
	if (client && off_base_client_opt != OFFSET_UNSET &&
	    go_read_u64_checked((const void *)client, off_base_client_opt, &opt) == 0 && opt) {
		if (off_options_addr != OFFSET_UNSET)
			c->ev.addr_len = go_read_string((const void *)opt, off_options_addr, c->ev.addr, REDIS_ADDR_CAP);
		if (off_options_db != OFFSET_UNSET)
			go_read_u64_checked((const void *)opt, off_options_db, (__u64 *)&c->ev.db);
	}
	gs_span_start(ctx, proc, GS_SPAN_CLIENT, NULL, &c->span);
	return c;
}

SEC("uprobe")
int redis_command_entry(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, REDIS_KIND_COMMAND);
	if (!c)
		return 0;
	c->ev.cmd_count = 1;
	read_command(&c->ev, GO_ARG5(ctx), 0);
	return 0;
}

static __always_inline int pipeline_entry(struct pt_regs *ctx, __u8 kind)
{
	struct call *c = begin(ctx, kind);
	if (!c)
		return 0;
	__u64 cmds = GO_ARG4(ctx);
	__s64 n = (__s64)GO_ARG5(ctx);
	c->ev.cmd_count = n;
#pragma unroll
	for (int i = 0; i < REDIS_MAX_CMDS; i++) {
		if (i >= n || !cmds) {
			c->ev.arg_counts[i] = -1;
			c->ev.name_lens[i] = -1;
			continue;
		}
		/* []Cmder: interface values (itab, data) */
		read_command(&c->ev, go_read_u64((const void *)cmds, i * 16 + 8), i);
	}
	return 0;
}

SEC("uprobe")
int redis_pipeline_entry(struct pt_regs *ctx)
{
	return pipeline_entry(ctx, REDIS_KIND_PIPELINE);
}

SEC("uprobe")
int redis_tx_pipeline_entry(struct pt_regs *ctx)
{
	return pipeline_entry(ctx, REDIS_KIND_TRANSACTION);
}

/* go-redis's Nil reply error: proto.RedisError("redis: nil"), a string type, so the data word points at a string. */
static __always_inline int is_nil_reply(__u64 data)
{
	struct go_string s = {};
	char b[10] = {};
	if (!data || bpf_probe_read_user(&s, sizeof(s), (const void *)data) != 0 || s.len != 10 || !s.ptr ||
	    bpf_probe_read_user(b, sizeof(b), s.ptr) != 0)
		return 0;
	return b[0] == 'r' && b[1] == 'e' && b[2] == 'd' && b[3] == 'i' && b[4] == 's' && b[5] == ':' &&
	       b[6] == ' ' && b[7] == 'n' && b[8] == 'i' && b[9] == 'l';
}

/* Every RET of the hooked functions: error (itab, data) in P1, P2. */
SEC("uprobe")
int redis_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct call *c = bpf_map_lookup_elem(&redis_calls, &k);
	if (!c)
		return 0;
	if (c->nested) {
		c->nested -= 1;
		return 0;
	}
	__u64 end_ns = bpf_ktime_get_ns();
	__u64 err_itab = GO_ARG1(ctx);
	__u64 err_data = GO_ARG2(ctx);
	gs_span_end(&c->span);
	c->ev.end_ns = end_ns;
	__builtin_memcpy(&c->ev.trace, &c->span.trace, sizeof(c->ev.trace));
	c->ev.error_type = 0;
	if (err_itab) {
		__u64 type = go_read_u64((const void *)err_itab, 8);
		c->ev.error_type = type ? type : 1;
		c->ev.nil_reply = is_nil_reply(err_data);
	}
	struct redis_event *e = gs_reserve(sizeof(*e), REDIS_RECORD_OP);
	if (e) {
		bpf_probe_read_kernel(&e->start_ns, sizeof(*e) - sizeof(e->hdr), &c->ev.start_ns);
		gs_submit(e);
	}
	bpf_map_delete_elem(&redis_calls, &k);
	return 0;
}
