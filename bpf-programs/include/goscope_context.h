/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The trace context every Goscope probe set shares: which span is active on each goroutine of each traced process,
 * and which processes are traced at all. The maps below are owned by the host, which creates each once and hands it
 * to every BPF object before load (as it does the ring buffer), so a gRPC client span started in a handler goroutine
 * finds the net/http server span that the net/http probe set started on that goroutine, and a goroutine spawned by
 * the handler inherits it (the host's runtime probes on runtime.newproc1 copy the context to the new goroutine, and
 * drop it at runtime.goexit1).
 *
 * The API, in the order a probe uses it:
 *
 *   const struct gs_process *p = gs_process_get(ctx); selected by the rules? (NULL: return at once)
 *   gs_span_start(ctx, p, GS_SPAN_CLIENT, NULL, &inflight->span);   at the hooked function's entry
 *   ...
 *   gs_span_end(&inflight->span);                     at its return; then copy inflight->span.trace into the record
 *
 * A span started while another span is active on the goroutine becomes its child (GS_SPAN_SERVER spans take only an
 * incoming, remote parent). Goroutines are identified by their goid (runtime.g.goid), which the runtime never
 * reuses, so a context can never leak into a later goroutine that happens to reuse the same g struct.
 *
 * Java mirrors: struct gs_trace is io.goscope.api.TraceRecord; the host writes struct gs_process.
 */
#ifndef GOSCOPE_CONTEXT_H
#define GOSCOPE_CONTEXT_H

#include "goscope.h"
#include "go_abi.h"





struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct gs_binary);
} goscope_binaries SEC(".maps");


/* Processes the rules selected, by tgid. Probes do nothing for other processes that run an instrumented binary. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct gs_process);
} goscope_processes SEC(".maps");

/*
 * The span active on each goroutine. LRU: a goroutine whose exit was not seen (the host attached after it started)
 * ages out instead of filling the map. Sized by the host (GOSCOPE_CONTEXT_ENTRIES).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct gs_goroutine);
	__type(value, struct gs_span_ctx);
} goscope_goroutines SEC(".maps");

/*
 * A parent that came in with a request and waits for the server span that the same goroutine starts next (HTTP/1:
 * the header bytes are read before the handler runs). Taken by gs_incoming_take.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct gs_goroutine);
	__type(value, struct gs_span_ctx);
} goscope_incoming SEC(".maps");

/*
 * Offset of runtime.g.goid in this binary's Go release; set by the host in every object that uses this header. Left
 * unset (unresolvable layout), goroutines have no id: spans are still recorded, each one a root.
 */
const volatile __u64 goscope_off_g_goid = (__u64)-1;

/* The 32 bits of a uprobe's cookie that belong to the probe set (FunctionProbe.cookie()); 0 before kernel 5.15. */
static __always_inline __u32 gs_cookie(struct pt_regs *ctx)
{
	return (__u32)bpf_get_attach_cookie(ctx);
}

/* Whether the host's entry for a process (NULL: none) selects it for this object's probe set. */
static __always_inline int gs_process_selects(const struct gs_process *p)
{
	__u64 mine = goscope_source < 64 ? 1ULL << goscope_source : 0;
	return p && !(p->flags & GS_PROCESS_DECLINED) && (p->sources & mine);
}

/*
 * The process's entry when the rules selected it, else NULL. A process the host has not decided about yet that runs
 * a binary marked GS_BINARY_SELECT_NEW is selected here, provisionally, and announced to the host.
 */
static __always_inline const struct gs_process *gs_process_get(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	const struct gs_process *p = bpf_map_lookup_elem(&goscope_processes, &tgid);
	if (p)
		return gs_process_selects(p) ? p : NULL;
	__u32 binary = bpf_get_attach_cookie(ctx) >> 32;
	if (!binary)
		return NULL;
	const struct gs_binary *b = bpf_map_lookup_elem(&goscope_binaries, &binary);
	if (!b || !(b->flags & GS_BINARY_SELECT_NEW))
		return NULL;
	struct gs_process fresh = b->process;
	fresh.flags |= GS_PROCESS_PROVISIONAL;
	if (bpf_map_update_elem(&goscope_processes, &tgid, &fresh, BPF_NOEXIST) == 0) {
		struct gs_record_header *h = bpf_ringbuf_reserve(&goscope_events, sizeof(struct gs_process_seen), 0);
		if (h) {
			struct gs_process_seen *seen = (struct gs_process_seen *)h;
			h->source = 0;
			h->type = GS_HOST_PROCESS_SEEN;
			h->pid = tgid;
			seen->binary = binary;
			seen->_pad = 0;
			gs_submit(seen);
		} else {
			__u32 zero = 0;
			__u64 *n = bpf_map_lookup_elem(&goscope_lost, &zero);
			if (n)
				*n += 1;
		}
	}
	p = bpf_map_lookup_elem(&goscope_processes, &tgid);
	return gs_process_selects(p) ? p : NULL;
}

/*
 * Returns that found no call in flight, per source id, in processes the rules selected: calls already running when
 * the process was selected or its binary attached, or (the loss this exists for) calls whose in-flight entry was
 * evicted from a full LRU map because more calls were in flight at once than it holds. Owned by the host like
 * goscope_lost; read by the host as goscope_calls_unmatched_total.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_MAX_SOURCES);
	__type(key, __u32);
	__type(value, __u64);
} goscope_unmatched SEC(".maps");

/*
 * Counts a return whose call has no in-flight entry. Call it from a return probe whose entry probe records every call
 * of a selected process; a process the rules did not select (its probes fire too when its binary is attached for all
 * its processes) is not counted.
 */
static __always_inline void gs_count_unmatched(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!gs_process_selects(bpf_map_lookup_elem(&goscope_processes, &tgid)))
		return;
	__u32 source = goscope_source;
	__u64 *n = bpf_map_lookup_elem(&goscope_unmatched, &source);
	if (n)
		*n += 1;
}

/* The goroutine the probe runs on (the g in GO_G, its goid read at goscope_off_g_goid); goid 0 if unreadable. */
static __always_inline struct gs_goroutine gs_current_goroutine(struct pt_regs *ctx)
{
	struct gs_goroutine g = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
	};
	__u64 gp = GO_G(ctx);
	if (gp && goscope_off_g_goid != (__u64)-1)
		bpf_probe_read_user(&g.goid, sizeof(g.goid), (const void *)(gp + goscope_off_g_goid));
	return g;
}

static __always_inline void gs_random_bytes(__u8 *dst, int words)
{
#pragma unroll
	for (int i = 0; i < words; i++) {
		__u32 r = bpf_get_prandom_u32();
		__builtin_memcpy(dst + 4 * i, &r, sizeof(r));
	}
}

/* Fresh random bytes, never all zero (an all-zero W3C id is invalid). */
static __always_inline void gs_random_id(__u8 *dst, int words)
{
	gs_random_bytes(dst, words);
	__u64 any = 0;
#pragma unroll
	for (int i = 0; i < words * 4; i++)
		any |= dst[i];
	if (!any)
		dst[0] = 1;
}

/* Whether a context's ids are valid W3C ids (neither all zero). */
static __always_inline int gs_ctx_valid(const struct gs_span_ctx *c)
{
	__u64 t = 0, s = 0;
#pragma unroll
	for (int i = 0; i < 16; i++)
		t |= c->trace_id[i];
#pragma unroll
	for (int i = 0; i < 8; i++)
		s |= c->span_id[i];
	return t != 0 && s != 0;
}

/* The span a probe keeps between its entry and return programs. */
struct gs_span {
	struct gs_trace trace;         /* this span's ids, as they go into the record */
	struct gs_span_ctx saved;      /* the goroutine's active context when this span started */
	struct gs_goroutine goroutine; /* where the span runs */
	__u8 has_saved;
	__u8 _pad[7];
};

/* Kinds of span for gs_span_start: they differ in which parent they accept. */
#define GS_SPAN_SERVER 1   /* only a remote parent: passed in, or active on the goroutine with GS_ORIGIN_REMOTE */
#define GS_SPAN_CLIENT 2   /* the goroutine's active context, local or remote */
#define GS_SPAN_INTERNAL 3 /* as CLIENT */

/*
 * Starts a span on the current goroutine: picks its parent (see the kinds above), gives it ids (a new trace id and
 * sampling decision when it has no parent; the parent's trace id and flags otherwise), remembers the goroutine's
 * active context and makes the new span the active one, so spans started on this goroutine (or goroutines it spawns)
 * before gs_span_end become its children.
 *
 * remote: a parent that came in with the request (may be NULL); used when valid, whatever the kind.
 */
static __always_inline void gs_span_start(struct pt_regs *ctx, const struct gs_process *proc, int kind,
					  const struct gs_span_ctx *remote, struct gs_span *span)
{
	span->goroutine = gs_current_goroutine(ctx);
	const struct gs_span_ctx *active = NULL;
	if (span->goroutine.goid)
		active = bpf_map_lookup_elem(&goscope_goroutines, &span->goroutine);

	const struct gs_span_ctx *parent = NULL;
	if (remote && gs_ctx_valid(remote))
		parent = remote;
	else if (active && (kind != GS_SPAN_SERVER || active->origin == GS_ORIGIN_REMOTE))
		parent = active;

	if (parent) {
		__builtin_memcpy(span->trace.trace_id, parent->trace_id, 16);
		__builtin_memcpy(span->trace.parent_span_id, parent->span_id, 8);
		span->trace.trace_flags = parent->trace_flags;
		span->trace.parent_remote = parent->origin == GS_ORIGIN_REMOTE;
	} else {
		gs_random_id(span->trace.trace_id, 4);
		__builtin_memset(span->trace.parent_span_id, 0, 8);
		__u64 r = bpf_get_prandom_u32();
		span->trace.trace_flags = r < proc->sample_threshold ? GS_TRACE_FLAG_SAMPLED : 0;
		span->trace.parent_remote = 0;
	}
	gs_random_id(span->trace.span_id, 2);

	if (active) {
		span->saved = *active;
		span->has_saved = 1;
	} else {
		span->has_saved = 0;
	}
	if (!span->goroutine.goid)
		return;
	struct gs_span_ctx self = {
		.trace_flags = span->trace.trace_flags,
		.origin = GS_ORIGIN_LOCAL,
	};
	__builtin_memcpy(self.trace_id, span->trace.trace_id, 16);
	__builtin_memcpy(self.span_id, span->trace.span_id, 8);
	bpf_map_update_elem(&goscope_goroutines, &span->goroutine, &self, BPF_ANY);
}

/*
 * Ends a span: the goroutine's active context goes back to what it was when the span started, if that was a span of
 * this process; an incoming (remote) context is dropped with the server span that consumed it.
 */
static __always_inline void gs_span_end(const struct gs_span *span)
{
	if (!span->goroutine.goid)
		return;
	if (span->has_saved && span->saved.origin == GS_ORIGIN_LOCAL)
		bpf_map_update_elem(&goscope_goroutines, &span->goroutine, &span->saved, BPF_ANY);
	else
		bpf_map_delete_elem(&goscope_goroutines, &span->goroutine);
}

/* The current goroutine's active context, or NULL. Valid until the next map update of this goroutine. */
static __always_inline struct gs_span_ctx *gs_context_active(const struct gs_goroutine *g)
{
	if (!g->goid)
		return NULL;
	return bpf_map_lookup_elem(&goscope_goroutines, g);
}

/*
 * Makes an incoming parent the goroutine's active context, so that goroutines it spawns now inherit it (the HTTP/2
 * server spawns each handler's goroutine from the connection's goroutine); NULL clears it.
 */
static __always_inline void gs_context_set_remote(const struct gs_goroutine *g, const struct gs_span_ctx *remote)
{
	if (!g->goid)
		return;
	if (remote)
		bpf_map_update_elem(&goscope_goroutines, g, remote, BPF_ANY);
	else
		bpf_map_delete_elem(&goscope_goroutines, g);
}

/* Keeps an incoming parent for the next server span of goroutine g; NULL forgets a previous one. */
static __always_inline void gs_incoming_put(const struct gs_goroutine *g, const struct gs_span_ctx *remote)
{
	if (!g->goid)
		return;
	if (remote)
		bpf_map_update_elem(&goscope_incoming, g, remote, BPF_ANY);
	else
		bpf_map_delete_elem(&goscope_incoming, g);
}

/* Takes (reads and forgets) the incoming parent kept for goroutine g; returns 0 when there was one. */
static __always_inline int gs_incoming_take(const struct gs_goroutine *g, struct gs_span_ctx *out)
{
	if (!g->goid)
		return -1;
	struct gs_span_ctx *c = bpf_map_lookup_elem(&goscope_incoming, g);
	if (!c)
		return -1;
	*out = *c;
	bpf_map_delete_elem(&goscope_incoming, g);
	return 0;
}

#endif /* GOSCOPE_CONTEXT_H */
