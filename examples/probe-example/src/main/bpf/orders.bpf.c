// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The example probe set: one INTERNAL span per call of the orders app's processOrder, child of the span active on
 * the calling goroutine (there, the net/http SERVER span of the request the handler serves).
 *
 * Hooked function (Go >= 1.17 register ABI, see the kit's go_abi.h):
 *
 *   main.processOrder(id int, source *url.URL) int        entry + every RET
 *     id -> P1; source -> P2. The result comes back in P1 (not read).
 *
 * Built with the probe-set kit only (io.goscope:goscope-probe-kit): its build-bpf.sh compiles this file once per
 * architecture with the kit's include/ on the include path.
 */
#include "orders_event.h"
#include "goscope_context.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The value a constant keeps when the host cannot resolve it. */
#define OFFSET_UNSET ((__u64)-1)

/*
 * Set by the host before load (the StructField of OrdersProbeSet with this constant name): from the binary's DWARF,
 * its Go type metadata, or offsets/orders-offsets.yaml. Optional: left unset, spans carry no order.query.
 */
const volatile __u64 off_url_raw_query = OFFSET_UNSET; /* net/url.URL.RawQuery  string */

/*
 * A call in flight, keyed by goroutine (the g pointer, which stays the goroutine's until the call returns) and
 * process. LRU: a call whose return is never seen (a panic unwinds past every RET) ages out. The host creates the
 * map once for the probe set and shares it between all its objects.
 */
struct call_key {
	__u64 g;
	__u32 tgid;
	__u32 _pad;
};

struct order_call {
	struct gs_span span;           /* kept from entry to return: the context API's state */
	struct orders_order_event ev;  /* filled at entry, copied into the ring buffer at return */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct call_key);
	__type(value, struct order_call);
} orders_calls SEC(".maps");

/* All zero (.rodata): entry inserts it and fills the map's copy in place, off the 512-byte BPF stack. */
static const struct order_call zero_call = {};

static __always_inline struct call_key call_key_of(struct pt_regs *ctx)
{
	struct call_key k = {
		.g = GO_G(ctx),
		.tgid = bpf_get_current_pid_tgid() >> 32,
	};
	return k;
}

SEC("uprobe")
int orders_process_entry(struct pt_regs *ctx)
{
	/* Only processes the rules selected, with this probe set enabled. */
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc)
		return 0;
	__u64 start_ns = bpf_ktime_get_ns();
	struct call_key k = call_key_of(ctx);
	if (bpf_map_update_elem(&orders_calls, &k, &zero_call, BPF_ANY) != 0)
		return 0;
	struct order_call *c = bpf_map_lookup_elem(&orders_calls, &k);
	if (!c)
		return 0;
	c->ev.start_ns = start_ns;
	c->ev.order_id = (__s64)GO_ARG1(ctx);
	c->ev.cookie = gs_cookie(ctx);
	const void *source = (const void *)GO_ARG2(ctx);
	if (source && off_url_raw_query != OFFSET_UNSET)
		c->ev.query_len = go_read_string(source, off_url_raw_query, c->ev.query, ORDERS_QUERY_CAP);
	else
		c->ev.query_len = -1;
	/* The child of the goroutine's active span (the request's server span); active itself until the return. */
	gs_span_start(ctx, proc, GS_SPAN_INTERNAL, NULL, &c->span);
	return 0;
}

SEC("uprobe")
int orders_process_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct order_call *c = bpf_map_lookup_elem(&orders_calls, &k);
	if (!c)
		return 0;
	__u64 end_ns = bpf_ktime_get_ns();
	gs_span_end(&c->span);
	struct orders_order_event *e = gs_reserve(sizeof(*e), ORDERS_RECORD_ORDER);
	if (e) {
		__builtin_memcpy(&e->start_ns, &c->ev.start_ns, sizeof(*e) - sizeof(e->hdr));
		e->end_ns = end_ns;
		__builtin_memcpy(&e->trace, &c->span.trace, sizeof(e->trace));
		gs_submit(e);
	}
	bpf_map_delete_elem(&orders_calls, &k);
	return 0;
}
