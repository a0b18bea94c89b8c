// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The host's runtime probes: goroutines inherit the trace context of the goroutine that spawned them, at any depth,
 * and lose it when they exit. Attached to every instrumented binary whose probe sets use the shared context
 * (goscope_context.h).
 *
 * Hooked Go runtime functions (register ABI, Go >= 1.17):
 *
 *   func newproc1(fn *funcval, callergp *g, callerpc uintptr, parked bool, waitreason waitReason) *g   (Go 1.23+)
 *   func newproc1(fn *funcval, callergp *g, callerpc uintptr) *g                          (Go 1.18 - 1.22)
 *   func newproc1(fn *funcval, argp unsafe.Pointer, narg int32, callergp *g, callerpc uintptr) *g  (Go 1.17)
 *     The new goroutine is returned in the first result register and is not yet runnable when newproc1 returns, so
 *     its context is in place before it runs. From Go 1.21 the new g records its parent's goid (g.parentGoid);
 *     before that the entry program remembers callergp's goid per thread (newproc1 runs on the system stack and does
 *     not block, so the thread identifies the call).
 *
 *   func goexit1()   runs on the exiting goroutine: its context goes.
 *
 * Contexts are keyed by goid, which the runtime never reuses, so a goroutine that reuses an exited one's g struct
 * starts without a context even when goexit1 was not seen.
 */
#include "goscope_context.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define OFFSET_UNSET ((__u64)-1)

/* runtime.g.parentGoid (Go 1.21+); OFFSET_UNSET before. */
const volatile __u64 off_g_parent_goid = OFFSET_UNSET;

/* Go < 1.21: the spawning goroutine's goid per thread, between newproc1's entry and return. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} gs_newproc_parent SEC(".maps");

static __always_inline __u64 read_goid(__u64 g, __u64 off)
{
	__u64 v = 0;
	if (g)
		bpf_probe_read_user(&v, sizeof(v), (const void *)(g + off));
	return v;
}

static __always_inline int remember_parent(struct pt_regs *ctx, __u64 callergp)
{
	if (!gs_process_get(ctx))
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u64 parent = read_goid(callergp, goscope_off_g_goid);
	if (parent)
		bpf_map_update_elem(&gs_newproc_parent, &id, &parent, BPF_ANY);
	return 0;
}

/* Entry of newproc1, Go 1.18 - 1.20: callergp is the second argument. */
SEC("uprobe")
int gs_newproc1_entry_arg2(struct pt_regs *ctx)
{
	return remember_parent(ctx, GO_ARG2(ctx));
}

/* Entry of newproc1, Go 1.17: callergp is the fourth argument. */
SEC("uprobe")
int gs_newproc1_entry_arg4(struct pt_regs *ctx)
{
	return remember_parent(ctx, GO_ARG4(ctx));
}

/* Every return of newproc1: copy the parent goroutine's active context to the new goroutine. */
SEC("uprobe")
int gs_newproc1_return(struct pt_regs *ctx)
{
	if (!gs_process_get(ctx))
		return 0;
	__u64 newg = GO_ARG1(ctx);
	struct gs_goroutine parent = {.tgid = bpf_get_current_pid_tgid() >> 32};
	if (off_g_parent_goid != OFFSET_UNSET) {
		parent.goid = read_goid(newg, off_g_parent_goid);
	} else {
		__u64 id = bpf_get_current_pid_tgid();
		__u64 *p = bpf_map_lookup_elem(&gs_newproc_parent, &id);
		if (!p)
			return 0;
		parent.goid = *p;
		bpf_map_delete_elem(&gs_newproc_parent, &id);
	}
	if (!parent.goid)
		return 0;
	struct gs_span_ctx *c = bpf_map_lookup_elem(&goscope_goroutines, &parent);
	if (!c)
		return 0;
	struct gs_goroutine child = {.tgid = parent.tgid, .goid = read_goid(newg, goscope_off_g_goid)};
	if (!child.goid || child.goid == parent.goid)
		return 0;
	struct gs_span_ctx copy = *c;
	bpf_map_update_elem(&goscope_goroutines, &child, &copy, BPF_ANY);
	return 0;
}

/* Entry of goexit1: the goroutine is done; its context and any parent still waiting for it go. */
SEC("uprobe")
int gs_goexit1_entry(struct pt_regs *ctx)
{
	if (!gs_process_get(ctx))
		return 0;
	struct gs_goroutine g = gs_current_goroutine(ctx);
	if (!g.goid)
		return 0;
	bpf_map_delete_elem(&goscope_goroutines, &g);
	bpf_map_delete_elem(&goscope_incoming, &g);
	return 0;
}
