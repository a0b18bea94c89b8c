// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * net/http server probes: one SERVER span per request handled by a Go net/http server.
 *
 * Hooked function (Go >= 1.17 register ABI, see go_abi.h):
 *
 *   func (sh serverHandler) ServeHTTP(rw ResponseWriter, req *Request)
 *     sh  (struct{srv *Server})  -> arg 1 (amd64 RAX)
 *     rw  (interface: itab, data) -> args 2, 3 (amd64 RBX, RCX)
 *     req (*Request)             -> arg 4 (amd64 RDI)
 *     current goroutine g        -> amd64 R14
 *
 * HTTP/1.x calls it from conn.serve with rw = *http.response; the bundled HTTP/2 server calls it (through
 * initALPNRequest) with rw = *http.http2responseWriter. Request.Proto alone does not tell the two apart: the HTTP/1
 * server also hands its handler the h2c prior-knowledge preface "PRI * HTTP/2.0" (http1ServerSupportsRequest in
 * net/http/server.go), with rw = *http.response and Proto "HTTP/2.0".
 *
 * The entry program reads the request as it was received (method, path, proto, host, remote address, TLS: a handler
 * may rewrite them, e.g. esbuild's serve mode strips the port from Request.Host), the start time and fresh span ids
 * into an in-flight record per goroutine, together with the address where the response writer will hold the status.
 * The return program, which the host attaches as a plain uprobe at EVERY return instruction of the function (never a
 * uretprobe: Go moves goroutine stacks), adds only the end time and the written status and submits one record
 * (struct nethttp_event, nethttp_event.h).
 */
#include "nethttp_event.h"
#include "go_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Struct field offsets, set by the host before load from DWARF, the binary's type metadata or the bundled offset
 * table (offsets/nethttp-offsets.yaml). Names match the StructField constants in NetHttpProbeSet.
 */
const volatile __u64 off_request_method = 0;      /* net/http.Request.Method      string */
const volatile __u64 off_request_url = 0;         /* net/http.Request.URL         *url.URL */
const volatile __u64 off_request_proto = 0;       /* net/http.Request.Proto       string */
const volatile __u64 off_request_host = 0;        /* net/http.Request.Host        string */
const volatile __u64 off_request_remote_addr = 0; /* net/http.Request.RemoteAddr  string */
const volatile __u64 off_request_tls = 0;         /* net/http.Request.TLS         *tls.ConnectionState */
const volatile __u64 off_url_path = 0;            /* net/url.URL.Path             string */
const volatile __u64 off_response_status = 0;     /* net/http.response.status     int */

/* Not set by the host = unknown. */
#define OFFSET_UNSET ((__u64)-1)

/*
 * Optional, for the status of requests whose Proto is HTTP/2.0 (see status_address): the bundled h2 server's
 * net/http.http2responseWriter.rws (*http2responseWriterState), net/http.http2responseWriterState.req (*Request) and
 * .status (int), and net/http.response.req (*Request) of the HTTP/1 writer. When the host cannot resolve them they
 * keep OFFSET_UNSET and such spans carry status -1 (unknown).
 */
const volatile __u64 off_h2_response_writer_rws = OFFSET_UNSET;
const volatile __u64 off_h2_response_writer_state_req = OFFSET_UNSET;
const volatile __u64 off_h2_response_writer_state_status = OFFSET_UNSET;
const volatile __u64 off_response_req = OFFSET_UNSET;

/* An in-flight request, keyed by goroutine: no Go function can run on two goroutines at once. */
struct inflight_key {
	__u64 goroutine; /* the g pointer (GO_G) */
	__u32 tgid;      /* g pointers are per process; objects may be shared between processes */
	__u32 _pad;
};

/*
 * What the entry program saw: the request as it was received (a handler may rewrite Request fields, e.g. Host),
 * already in record form. Only end_ns and status are filled in at return; ev.hdr is unused (gs_reserve writes the
 * ring record's own header).
 */
struct inflight {
	__u64 status_addr; /* where the response writer keeps the status (an int); 0 = unknown */
	struct nethttp_event ev;
};

_Static_assert(sizeof(struct inflight) == 408, "in-flight value size changed: check the map sizing comment");

/*
 * LRU so that requests whose return is never seen (a handler panic unwinds past every RET) age out instead of
 * filling the map. Sized per traced process (each process loads its own object): 4096 concurrent requests of
 * about 430 bytes each (value + key + LRU node).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct inflight_key);
	__type(value, struct inflight);
} nethttp_inflight SEC(".maps");

/*
 * All-zero in-flight value (.rodata, read-only for programs). The entry program inserts it and then fills the map's
 * own copy in place: at 408 bytes the value does not fit the 512-byte BPF stack next to the key and the helpers'
 * locals, and a shared per-CPU scratch slot could be reused by another task on the same CPU when a fully preemptible
 * kernel preempts the program between building the value and copying it (one span with another request's fields).
 */
static const struct inflight zero_inflight = {};

static __always_inline void fill_random(__u8 *dst, int words)
{
#pragma unroll
	for (int i = 0; i < words; i++) {
		__u32 r = bpf_get_prandom_u32();
		__builtin_memcpy(dst + 4 * i, &r, sizeof(r));
	}
}

static __always_inline struct inflight_key key_of(struct pt_regs *ctx)
{
	struct inflight_key k = {
		.goroutine = GO_G(ctx),
		.tgid = bpf_get_current_pid_tgid() >> 32,
	};
	return k;
}

/* Copies the request's fields into the record as the server received them (before the handler runs). */
static __always_inline void read_request(struct nethttp_event *e, const void *req)
{
	e->method_len = go_read_string(req, off_request_method, e->method, NETHTTP_METHOD_CAP);
	e->proto_len = go_read_string(req, off_request_proto, e->proto, NETHTTP_PROTO_CAP);
	e->host_len = go_read_string(req, off_request_host, e->host, NETHTTP_HOST_CAP);
	e->remote_addr_len = go_read_string(req, off_request_remote_addr, e->remote_addr, NETHTTP_REMOTE_ADDR_CAP);

	__u64 url = 0;
	if (go_read_u64_checked(req, off_request_url, &url) == 0 && url)
		e->path_len = go_read_string((const void *)url, off_url_path, e->path, NETHTTP_PATH_CAP);
	else
		e->path_len = -1;

	__u64 tls = 0;
	if (go_read_u64_checked(req, off_request_tls, &tls) == 0 && tls)
		e->tls = 1;
}

/* Whether the pointer stored at base+off (off not OFFSET_UNSET) equals want. */
static __always_inline int points_to(__u64 base, __u64 off, __u64 want)
{
	__u64 p = 0;
	if (off == OFFSET_UNSET || go_read_u64_checked((const void *)base, off, &p) != 0)
		return 0;
	return p == want;
}

/*
 * The address of the status int of the response writer rw (the data word of the ResponseWriter interface) serving
 * req, or 0 if unknown. Both writers are live until serverHandler.ServeHTTP returns, so the return program reads the
 * status there.
 *
 * HTTP/1.x requests reach serverHandler.ServeHTTP only from the HTTP/1 server (rw = *http.response): no check, one
 * read fewer on the common path. For Proto "HTTP/2.0" the writer is identified by its back pointer to the request,
 * reading only inside the object each candidate type claims: http2responseWriter.rws->req == req (the bundled h2
 * server), else response.req == req (the HTTP/1 server with a "PRI * HTTP/2.0" preface). An *http.response read as an
 * h2 writer yields a word of its *conn, which holds no *Request (Go 1.19: conn.cancelCtx), so it never matches.
 */
static __always_inline __u64 status_address(__u64 rw, __u64 req, const struct nethttp_event *e)
{
	int http2 = e->proto_len >= 6 && e->proto[5] == '2'; /* "HTTP/2.0" */
	if (!http2)
		return rw + off_response_status;
	if (off_h2_response_writer_rws != OFFSET_UNSET && off_h2_response_writer_state_status != OFFSET_UNSET) {
		__u64 state = 0;
		if (go_read_u64_checked((const void *)rw, off_h2_response_writer_rws, &state) == 0 && state &&
		    points_to(state, off_h2_response_writer_state_req, req))
			return state + off_h2_response_writer_state_status;
	}
	if (points_to(rw, off_response_req, req))
		return rw + off_response_status;
	return 0;
}

/* Entry of func (serverHandler) ServeHTTP(rw ResponseWriter, req *Request). */
SEC("uprobe")
int nethttp_server_entry(struct pt_regs *ctx)
{
	__u64 start_ns = bpf_ktime_get_ns();
	struct inflight_key k = key_of(ctx);
	/*
	 * Insert a zeroed value (so no bytes of an earlier request reach user space), then fill the map's copy: the
	 * entry is this goroutine's alone, and its return program cannot run before this one has finished.
	 */
	if (bpf_map_update_elem(&nethttp_inflight, &k, &zero_inflight, BPF_ANY) != 0)
		return 0;
	struct inflight *v = bpf_map_lookup_elem(&nethttp_inflight, &k);
	if (!v)
		return 0; /* evicted in between by a burst of other requests */
	__u64 req = GO_ARG4(ctx);
	v->ev.start_ns = start_ns;
	fill_random(v->ev.trace_id, 4);
	fill_random(v->ev.span_id, 2);
	read_request(&v->ev, (const void *)req);
	v->status_addr = status_address(GO_ARG3(ctx), req, &v->ev);
	return 0;
}

/* Reads the status the handler wrote; see struct nethttp_event.status. */
static __always_inline __s64 read_status(const struct inflight *v)
{
	__u64 status = 0;
	if (!v->status_addr || go_read_u64_checked((const void *)v->status_addr, 0, &status) != 0)
		return -1;
	return (__s64)status;
}

/* Every return instruction of func (serverHandler) ServeHTTP(rw ResponseWriter, req *Request). */
SEC("uprobe")
int nethttp_server_return(struct pt_regs *ctx)
{
	struct inflight_key k = key_of(ctx);
	struct inflight *v = bpf_map_lookup_elem(&nethttp_inflight, &k);
	if (!v)
		return 0;
	__u64 end_ns = bpf_ktime_get_ns();
	__s64 status = read_status(v);

	struct nethttp_event *e = gs_reserve(sizeof(*e), NETHTTP_RECORD_SERVER);
	if (!e) {
		bpf_map_delete_elem(&nethttp_inflight, &k);
		return 0;
	}
	/* Everything after the header, fully written at entry (inserted zeroed), so no stale bytes. */
	_Static_assert(__builtin_offsetof(struct nethttp_event, start_ns) == sizeof(e->hdr), "start_ns follows hdr");
	/* Typed (8-byte aligned) pointers so that clang copies in 8-byte words, not bytes. */
	__builtin_memcpy(&e->start_ns, &v->ev.start_ns, sizeof(*e) - sizeof(e->hdr));
	e->end_ns = end_ns;
	e->status = status;

	gs_submit(e);
	bpf_map_delete_elem(&nethttp_inflight, &k);
	return 0;
}
