// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * grpc-go probes: one SERVER span per RPC served and one CLIENT span per call through grpc.ClientConn, unary calls
 * and whole streams alike, with the gRPC status code; the incoming W3C trace context from the call's metadata; and
 * (opt-in per process) a traceparent in outgoing calls' metadata. Spans share the trace context of
 * goscope_context.h: a call made from a net/http handler (or from a gRPC handler) is that request's child.
 *
 * Hooked functions (Go >= 1.17 register ABI, see go_abi.h; results come back in the argument registers). The same
 * programs serve grpc-go 1.33 to 1.85: where a signature or a layout changed, the program tells the releases apart
 * by which struct fields the binary has (resolved per binary by the host) or by the data itself, never by the module
 * version alone, because binaries built in GOPATH mode (Debian's packages) carry no module versions.
 *
 *   google.golang.org/grpc.(*Server).handleStream(s, t ServerTransport, stream, ...)    entry + every RET
 *     t (itab, data) -> P2, P3; stream -> P4: *transport.Stream (< 1.69), *transport.ServerStream whose first field
 *     is a *Stream (1.69-1.76) or an embedded Stream (>= 1.77). Stream.method is the full method name; which of the
 *     two shapes the binary has is told by the method string itself (it starts with '/'). The server span.
 *   transport.(*http2Server).WriteStatus(t, s, st *status.Status)  (< 1.69)  /  .writeStatus (>= 1.69)   entry
 *     s -> P2 (the stream handleStream got), st -> P3: status.Status{s *spb.Status} -> Code. Runs on the handler's
 *     goroutine, inside handleStream.
 *   transport.(*http2Server).operateHeaders(t, frame, ...)  (< 1.60)  /  (t, ctx, frame, ...)  (>= 1.60)   entry +
 *     every RET. frame -> P2 or P4, told apart by content (its Fields start with a ':' pseudo-header). The handler
 *     goroutine it spawns inherits the incoming traceparent, the reader goroutine's active context during the call.
 *   google.golang.org/grpc.(*ClientConn).Invoke(cc, ctx, method string, args, reply, opts...) error
 *     entry + every RET: method -> P4, P5; error (itab, data) -> P1, P2. A unary call's client span.
 *   google.golang.org/grpc.(*ClientConn).NewStream(cc, ctx, desc, method string, opts...) (ClientStream, error)
 *     entry + every RET: method -> P5, P6; results: stream -> P1, P2, error -> P3, P4. A stream's client span starts
 *     here and ends when the stream finishes.
 *   google.golang.org/grpc.newClientStreamWithParams (>= 1.3x) / newClientStream (older)   every RET
 *     (ClientStream, error): the data word of P1, P2 is the *clientStream the call created.
 *   google.golang.org/grpc.(*clientStream).finish(cs, err error)   entry: cs -> P1, err -> P2, P3. Ends a stream
 *     (called once per stream that was created; later calls find nothing).
 *
 * Propagation (feature "propagation"; needs bpf_probe_write_user):
 *   transport.(*http2Client).createHeaderFields(t, ctx, callHdr) ([]hpack.HeaderField, error)   every RET
 *     On the calling goroutine, inside Invoke/NewStream: the call's header fields (P1, P2, P3). If the application's
 *     metadata already holds a traceparent the call is left alone; otherwise the fields' backing array identifies
 *     the call to the loopy writer goroutine.
 *   transport.(*loopyWriter).writeHeader(l, streamID, endStream, hf []hpack.HeaderField, onWrite)   entry + RET
 *     hf -> P4, P5, P6: the writer goroutine is about to encode that call's fields.
 *   golang.org/x/net/http2.(*Framer).WriteHeaders(f, p)   entry + every RET
 *     f -> P1. After the HEADERS frame went into grpc's bufWriter, an HPACK literal field (without indexing, so the
 *     encoder's table is untouched) is appended to it and the frame length patched, when the frame ends the header
 *     block, is not padded and the buffer holds it whole with room to spare.
 *
 * Nothing is written unless every layout check passes; "unsure" is recorded instead.
 */
#include "grpc_event.h"
#include "goscope_context.h"
#include "goscope_w3c.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Not set by the host = unknown (the field does not exist in this release, or could not be resolved). */
#define OFFSET_UNSET ((__u64)-1)

/*
 * GRPC_VERIFY_OFFSETS (GrpcBpfVerifierTest only): an included file defines GRPC_AT_<constant> for real offsets of one
 * release, so the verifier checks every program with them, and bpf_probe_write_user, which this test's kernel may
 * refuse, is checked as a read of the same bytes (the same bounds on the same buffers). Never set in the shipped
 * object, whose constants the host writes before load.
 */
#ifdef GRPC_VERIFY_OFFSETS
#include GRPC_VERIFY_OFFSETS
#define GRPC_INITIAL(name, value) GRPC_AT_##name
#define bpf_probe_write_user(dst, src, len) bpf_probe_read_user((void *)(src), (len), (dst))
#else
#define GRPC_INITIAL(name, value) (value)
#endif

/*
 * Struct field offsets, set by the host before load from DWARF, the binary's type metadata or the bundled offset
 * table (offsets/grpc-offsets.yaml). Names match the StructField constants in GrpcProbeSet.
 */
const volatile __u64 off_stream_method = GRPC_INITIAL(off_stream_method, OFFSET_UNSET);        /* transport.Stream.method  string */
const volatile __u64 off_server_stream_stream = GRPC_INITIAL(off_server_stream_stream, 0);            /* transport.ServerStream.Stream (>= 1.69) */
const volatile __u64 off_status_s = GRPC_INITIAL(off_status_s, 0);                        /* internal/status.Status.s  *spb.Status */
const volatile __u64 off_error_s = GRPC_INITIAL(off_error_s, OFFSET_UNSET);              /* internal/status.Error.s  *Status (>= 1.3x) */
const volatile __u64 off_error_e = GRPC_INITIAL(off_error_e, OFFSET_UNSET);              /* internal/status.Error.e  *spb.Status (older) */
const volatile __u64 off_spb_status_code = GRPC_INITIAL(off_spb_status_code, OFFSET_UNSET);      /* genproto rpc/status.Status.Code  int32 */
const volatile __u64 off_spb_status_message = GRPC_INITIAL(off_spb_status_message, OFFSET_UNSET);   /* genproto rpc/status.Status.Message  string */
const volatile __u64 off_h2s_remote_addr = GRPC_INITIAL(off_h2s_remote_addr, OFFSET_UNSET);      /* transport.http2Server.remoteAddr  net.Addr (< 1.60) */
const volatile __u64 off_h2s_local_addr = GRPC_INITIAL(off_h2s_local_addr, OFFSET_UNSET);       /* transport.http2Server.localAddr   net.Addr (< 1.60) */
const volatile __u64 off_h2s_peer = GRPC_INITIAL(off_h2s_peer, OFFSET_UNSET);             /* transport.http2Server.peer  peer.Peer (>= 1.60) */
const volatile __u64 off_peer_addr = GRPC_INITIAL(off_peer_addr, OFFSET_UNSET);            /* peer.Peer.Addr       net.Addr */
const volatile __u64 off_peer_local_addr = GRPC_INITIAL(off_peer_local_addr, OFFSET_UNSET);      /* peer.Peer.LocalAddr  net.Addr */
const volatile __u64 off_tcpaddr_ip = GRPC_INITIAL(off_tcpaddr_ip, OFFSET_UNSET);           /* net.TCPAddr.IP    []byte */
const volatile __u64 off_tcpaddr_port = GRPC_INITIAL(off_tcpaddr_port, OFFSET_UNSET);         /* net.TCPAddr.Port  int */
const volatile __u64 off_meta_fields = GRPC_INITIAL(off_meta_fields, OFFSET_UNSET);          /* x/net http2.MetaHeadersFrame.Fields */
const volatile __u64 off_cc_target = GRPC_INITIAL(off_cc_target, OFFSET_UNSET);            /* grpc.ClientConn.target  string */
/* Propagation. */
const volatile __u64 off_framer_w = GRPC_INITIAL(off_framer_w, OFFSET_UNSET);             /* x/net http2.Framer.w     io.Writer */
const volatile __u64 off_framer_wbuf = GRPC_INITIAL(off_framer_wbuf, OFFSET_UNSET);          /* x/net http2.Framer.wbuf  []byte */
const volatile __u64 off_bufwriter_buf = GRPC_INITIAL(off_bufwriter_buf, OFFSET_UNSET);        /* transport.bufWriter.buf  []byte (< 1.8x) */
const volatile __u64 off_bufwriter_buf_handle = GRPC_INITIAL(off_bufwriter_buf_handle, OFFSET_UNSET); /* transport.bufWriter.bufHandle  *[]byte (newer) */
const volatile __u64 off_bufwriter_offset = GRPC_INITIAL(off_bufwriter_offset, OFFSET_UNSET);     /* transport.bufWriter.offset  int */

/* ---------------------------------------------------------------------------------------------------------------
 * Per-call state, keyed by the g pointer and tgid: a function runs on one goroutine, which cannot exit (and its g be
 * reused) before the call returns.
 */
struct call_key {
	__u64 g;
	__u32 tgid;
	__u32 _pad;
};

static __always_inline struct call_key call_key_of(struct pt_regs *ctx)
{
	struct call_key k = {
		.g = GO_G(ctx),
		.tgid = bpf_get_current_pid_tgid() >> 32,
	};
	return k;
}

struct server_call {
	__u64 stream; /* handleStream's stream argument: WriteStatus of the same stream sets the status */
	struct gs_span span;
	struct grpc_server_event ev;
};

struct client_call {
	__u64 cs; /* the *clientStream a stream call created (0: not yet, or unary) */
	struct gs_span span;
	struct grpc_client_event ev;
};

/* By key: a server RPC or a client call in progress on a goroutine. LRU: a call whose return is never seen (a panic
 * unwinds past every RET) ages out. Shared by every object of the set. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct call_key);
	__type(value, struct server_call);
} grpc_server_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct call_key);
	__type(value, struct client_call);
} grpc_client_calls SEC(".maps");

/* Open client streams, by *clientStream (in .g) and tgid, from NewStream's success until finish. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct call_key);
	__type(value, struct client_call);
} grpc_client_streams SEC(".maps");

/* All-zero values (.rodata): entry programs insert one and fill the map's copy in place (no room on the stack). */
static const struct server_call zero_server_call = {};
static const struct client_call zero_client_call = {};

/* ---------------------------------------------------------------------------------------------------------------
 * Shared readers.
 */

#define METHOD_MAX 4096

/* Reads the method string of the Stream at stream into e; returns 1 when it looks like a gRPC method ("/..."). */
static __always_inline int read_method_at(__u64 stream, char *dst, __s64 *len)
{
	if (!stream || off_stream_method == OFFSET_UNSET)
		return 0;
	__s64 n = go_read_string((const void *)stream, off_stream_method, dst, GRPC_METHOD_CAP);
	if (n <= 0 || n > METHOD_MAX || dst[0] != '/')
		return 0;
	*len = n;
	return 1;
}

/* The gRPC status code of a *status.Status (its *spb.Status's Code); -1 when unreadable. A nil proto means OK. */
static __always_inline __s64 status_code(__u64 st)
{
	if (!st || off_spb_status_code == OFFSET_UNSET)
		return -1;
	__u64 spb = 0;
	if (go_read_u64_checked((const void *)st, off_status_s, &spb) != 0)
		return -1;
	if (!spb)
		return 0;
	__s32 code = 0;
	if (bpf_probe_read_user(&code, sizeof(code), (const void *)(spb + off_spb_status_code)) != 0)
		return -1;
	return code;
}

/*
 * The code of what looks like a google.rpc.Status at spb: a code 0..16 and, where its offset is known, a sane
 * Message string; -1 otherwise (the caller read spb from an error that may not be a status error at all).
 */
static __always_inline __s64 spb_code(__u64 spb)
{
	__s32 code = -1;
	if (bpf_probe_read_user(&code, sizeof(code), (const void *)(spb + off_spb_status_code)) != 0 || code < 0 ||
	    code > 16)
		return -1;
	if (off_spb_status_message != OFFSET_UNSET) {
		struct go_string msg = {};
		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)(spb + off_spb_status_message)) != 0 ||
		    msg.len < 0 || msg.len > (1 << 20) || (msg.len > 0 && !msg.ptr))
			return -1;
	}
	return code;
}

/* The runtime type of an interface's dynamic value from its itab (itab._type at 8); 1 if unreadable, 0 if nil. */
static __always_inline __u64 itab_type(__u64 itab)
{
	if (!itab)
		return 0;
	__u64 type = go_read_u64((const void *)itab, 8);
	return type ? type : 1;
}

/* Reads the net.Addr interface value at base+off into a: its type and, as if it were a *net.TCPAddr, IP and port. */
static __always_inline void read_addr(__u64 base, __u64 off, struct grpc_addr *a)
{
	a->ip_len = -1;
	if (!base || off == OFFSET_UNSET)
		return;
	struct go_iface addr = {};
	if (bpf_probe_read_user(&addr, sizeof(addr), (const void *)(base + off)) != 0 || !addr.tab || !addr.data)
		return;
	a->type_addr = itab_type((__u64)addr.tab);
	if (off_tcpaddr_ip == OFFSET_UNSET || off_tcpaddr_port == OFFSET_UNSET)
		return;
	struct go_slice ip = {};
	if (bpf_probe_read_user(&ip, sizeof(ip), (const char *)addr.data + off_tcpaddr_ip) != 0)
		return;
	a->port = (__s64)go_read_u64(addr.data, off_tcpaddr_port);
	/* A TCPAddr's IP is 4 or 16 bytes of a small allocation and its port 0..65535; anything else (a *net.UnixAddr,
	 * whose Name string would read as a slice) is not taken for one. */
	if (!ip.ptr || (ip.len != 4 && ip.len != 16) || ip.cap < ip.len || ip.cap > 64 || a->port < 0 ||
	    a->port > 65535)
		return;
	if (bpf_probe_read_user(a->ip, ip.len == 16 ? 16 : 4, ip.ptr) == 0)
		a->ip_len = ip.len;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Server spans.
 */

SEC("uprobe")
int grpc_server_entry(struct pt_regs *ctx)
{
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc)
		return 0;
	__u64 start_ns = bpf_ktime_get_ns();
	struct call_key k = call_key_of(ctx);
	if (bpf_map_update_elem(&grpc_server_calls, &k, &zero_server_call, BPF_ANY) != 0)
		return 0;
	struct server_call *c = bpf_map_lookup_elem(&grpc_server_calls, &k);
	if (!c)
		return 0;
	__u64 stream = GO_ARG4(ctx);
	c->stream = stream;
	c->ev.start_ns = start_ns;
	c->ev.status = -1;
	c->ev.method_len = -1;
	/* The method: Stream.method of the argument itself (< 1.69, and the embedded Stream of >= 1.77), else of the
	 * *Stream its first field points to (1.69-1.76). */
	if (!read_method_at(stream + off_server_stream_stream, c->ev.method, &c->ev.method_len)) {
		__u64 inner = 0;
		if (stream && go_read_u64_checked((const void *)stream, off_server_stream_stream, &inner) == 0)
			read_method_at(inner, c->ev.method, &c->ev.method_len);
	}
	/* The transport's addresses, as if it were the *http2Server (the decoder checks the type). */
	__u64 t = GO_ARG3(ctx);
	c->ev.transport_type = itab_type(GO_ARG2(ctx));
	if (off_h2s_peer != OFFSET_UNSET) {
		if (off_peer_addr != OFFSET_UNSET)
			read_addr(t, off_h2s_peer + off_peer_addr, &c->ev.peer);
		else
			c->ev.peer.ip_len = -1;
		if (off_peer_local_addr != OFFSET_UNSET)
			read_addr(t, off_h2s_peer + off_peer_local_addr, &c->ev.local);
		else
			c->ev.local.ip_len = -1;
	} else {
		read_addr(t, off_h2s_remote_addr, &c->ev.peer);
		read_addr(t, off_h2s_local_addr, &c->ev.local);
	}
	/* The parent: the incoming context operateHeaders made active on the goroutine that spawned this one. */
	gs_span_start(ctx, proc, GS_SPAN_SERVER, NULL, &c->span);
	return 0;
}

SEC("uprobe")
int grpc_server_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct server_call *c = bpf_map_lookup_elem(&grpc_server_calls, &k);
	if (!c) {
		gs_count_unmatched();
		return 0;
	}
	__u64 end_ns = bpf_ktime_get_ns();
	gs_span_end(&c->span);
	struct grpc_server_event *e = gs_reserve(sizeof(*e), GRPC_RECORD_SERVER);
	if (!e) {
		bpf_map_delete_elem(&grpc_server_calls, &k);
		return 0;
	}
	_Static_assert(__builtin_offsetof(struct grpc_server_event, start_ns) == sizeof(e->hdr), "start follows hdr");
	__builtin_memcpy(&e->start_ns, &c->ev.start_ns, sizeof(*e) - sizeof(e->hdr));
	e->end_ns = end_ns;
	__builtin_memcpy(&e->trace, &c->span.trace, sizeof(e->trace));
	gs_submit(e);
	bpf_map_delete_elem(&grpc_server_calls, &k);
	return 0;
}

/* Entry of (*http2Server).WriteStatus / writeStatus(s, st): P2 = s, P3 = st. */
SEC("uprobe")
int grpc_server_status(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct server_call *c = bpf_map_lookup_elem(&grpc_server_calls, &k);
	if (!c || c->stream != GO_ARG2(ctx))
		return 0;
	__s64 code = status_code(GO_ARG3(ctx));
	if (code >= 0)
		c->ev.status = code;
	return 0;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Incoming trace context: the decoded header fields of the HEADERS frame that opens a stream.
 */

/* Whether frame's Fields look like a request's decoded header block: a sane slice starting with a pseudo-header. */
static __always_inline int header_fields(__u64 frame, struct go_slice *fields)
{
	if (!frame || bpf_probe_read_user(fields, sizeof(*fields), (const void *)(frame + off_meta_fields)) != 0)
		return 0;
	if (!fields->ptr || fields->len <= 0 || fields->len > fields->cap || fields->len > 1024)
		return 0;
	struct go_string name = {};
	char first = 0;
	if (bpf_probe_read_user(&name, sizeof(name), fields->ptr) != 0 || name.len <= 0 || !name.ptr ||
	    bpf_probe_read_user(&first, 1, name.ptr) != 0)
		return 0;
	return first == ':';
}

SEC("uprobe")
int grpc_headers_entry(struct pt_regs *ctx)
{
	if (!gs_process_get(ctx))
		return 0;
	struct gs_goroutine g = gs_current_goroutine(ctx);
	gs_context_set_remote(&g, NULL);
	if (off_meta_fields == OFFSET_UNSET)
		return 0;
	struct go_slice fields = {};
	if (!header_fields(GO_ARG2(ctx), &fields) && !header_fields(GO_ARG4(ctx), &fields))
		return 0;
	__s32 traceparent, tracestate;
	gs_hpack_find(fields.ptr, fields.len, &traceparent, &tracestate);
	struct gs_span_ctx remote = {};
	if (gs_hpack_traceparent(fields.ptr, traceparent, &remote) != 0)
		return 0; /* absent or malformed: ignored, the server span starts a trace of its own */
	gs_context_set_remote(&g, &remote);
	if (tracestate < 0)
		return 0;
	struct grpc_tracestate_event *e = gs_reserve(sizeof(*e), GRPC_RECORD_TRACESTATE);
	if (!e)
		return 0;
	__builtin_memcpy(e->parent_span_id, remote.span_id, 8);
	e->len = gs_hpack_value(fields.ptr, tracestate, e->value, GRPC_TRACESTATE_CAP);
	gs_submit(e);
	return 0;
}

SEC("uprobe")
int grpc_headers_return(struct pt_regs *ctx)
{
	if (!gs_process_get(ctx))
		return 0;
	struct gs_goroutine g = gs_current_goroutine(ctx);
	gs_context_set_remote(&g, NULL);
	return 0;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Client spans.
 */

/* What a client span's propagation came to, by span id: written by the propagation programs, read at the end. */
struct span_key {
	__u8 span_id[8];
	__u32 tgid;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct span_key);
	__type(value, __u8); /* GRPC_PROPAGATION_* */
} grpc_propagation SEC(".maps");

static __always_inline struct span_key span_key_of(const __u8 *span_id, __u32 tgid)
{
	struct span_key k = {.tgid = tgid};
	__builtin_memcpy(k.span_id, span_id, 8);
	return k;
}

static __always_inline int client_start(struct pt_regs *ctx, const char *method, __s64 method_len, __u8 stream)
{
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc)
		return 0;
	__u64 start_ns = bpf_ktime_get_ns();
	struct call_key k = call_key_of(ctx);
	if (bpf_map_update_elem(&grpc_client_calls, &k, &zero_client_call, BPF_ANY) != 0)
		return 0;
	struct client_call *c = bpf_map_lookup_elem(&grpc_client_calls, &k);
	if (!c)
		return 0;
	c->ev.start_ns = start_ns;
	c->ev.stream = stream;
	c->ev.method_len = -1;
	if (method && method_len > 0) {
		__u64 n = (__u64)method_len;
		barrier_var(n);
		if (n > GRPC_METHOD_CAP)
			n = GRPC_METHOD_CAP;
		if (bpf_probe_read_user(c->ev.method, n, method) == 0)
			c->ev.method_len = method_len;
	}
	c->ev.target_len = -1;
	if (off_cc_target != OFFSET_UNSET)
		c->ev.target_len = go_read_string((const void *)GO_ARG1(ctx), off_cc_target, c->ev.target,
						  GRPC_TARGET_CAP);
	gs_span_start(ctx, proc, GS_SPAN_CLIENT, NULL, &c->span);
	return 0;
}

/*
 * Fills the record of the client span of c (span key sk), ended now with the error (itab, data), and returns it
 * reserved: the caller submits it, or discards it when another probe ended the same call first. NULL when the ring
 * buffer is full (counted).
 */
static __always_inline struct grpc_client_event *client_record(struct client_call *c, const struct span_key *sk,
							       __u64 err_itab, __u64 err_data)
{
	__u64 end_ns = bpf_ktime_get_ns();
	__u8 propagation = GRPC_PROPAGATION_NONE;
	__u8 *outcome = bpf_map_lookup_elem(&grpc_propagation, sk);
	if (outcome)
		propagation = *outcome; /* forgotten by client_done when the record is submitted */
	struct grpc_client_event *e = gs_reserve(sizeof(*e), GRPC_RECORD_CLIENT);
	if (!e)
		return NULL;
	__builtin_memcpy(&e->start_ns, &c->ev.start_ns, sizeof(*e) - sizeof(e->hdr));
	e->end_ns = end_ns;
	__builtin_memcpy(&e->trace, &c->span.trace, sizeof(e->trace));
	e->propagation = propagation;
	e->error_type = itab_type(err_itab);
	e->error_code = -1;
	e->error_text_len = -1;
	if (err_itab && err_data) {
		/* The error read both ways: a *status.Error ({s *Status}, or {e *spb.Status} in older releases), and an
		 * *errors.errorString {s string}; the decoder (and the checks in spb_code) tell which it was. */
		struct go_string first = {};
		if (bpf_probe_read_user(&first, sizeof(first), (const void *)err_data) == 0) {
			if (off_spb_status_code != OFFSET_UNSET) {
				__u64 spb = 0;
				if (off_error_s != OFFSET_UNSET) {
					__u64 st = go_read_u64((const void *)err_data, off_error_s);
					if (st)
						spb = go_read_u64((const void *)st, off_status_s);
				} else if (off_error_e != OFFSET_UNSET) {
					spb = go_read_u64((const void *)err_data, off_error_e);
				}
				if (spb)
					e->error_code = spb_code(spb);
			}
			if (first.ptr && first.len >= 0 && first.len <= 4096) {
				__u64 n = (__u64)first.len;
				barrier_var(n);
				if (n > GRPC_ERROR_TEXT_CAP)
					n = GRPC_ERROR_TEXT_CAP;
				if (bpf_probe_read_user(e->error_text, n, first.ptr) == 0)
					e->error_text_len = first.len;
			}
		}
	}
	return e;
}

/* Submits a client span's record (may be NULL) and forgets what its propagation (by span key) came to. */
static __always_inline void client_done(const struct span_key *sk, struct grpc_client_event *e)
{
	bpf_map_delete_elem(&grpc_propagation, sk);
	if (e)
		gs_submit(e);
}

/* Emits the client span of c, ended now with the error (itab, data). */
static __always_inline void client_emit(struct client_call *c, __u32 tgid, __u64 err_itab, __u64 err_data)
{
	struct span_key sk = span_key_of(c->span.trace.span_id, tgid);
	client_done(&sk, client_record(c, &sk, err_itab, err_data));
}

/* Entry of (*ClientConn).Invoke(cc, ctx, method, ...): method in P4, P5. */
SEC("uprobe")
int grpc_invoke_entry(struct pt_regs *ctx)
{
	return client_start(ctx, (const char *)GO_ARG4(ctx), (__s64)GO_ARG5(ctx), 0);
}

/* Every RET of Invoke: error in P1, P2. */
SEC("uprobe")
int grpc_invoke_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct client_call *c = bpf_map_lookup_elem(&grpc_client_calls, &k);
	if (!c || c->ev.stream)
		return 0;
	gs_span_end(&c->span);
	client_emit(c, k.tgid, GO_ARG1(ctx), GO_ARG2(ctx));
	bpf_map_delete_elem(&grpc_client_calls, &k);
	return 0;
}

/* Entry of (*ClientConn).NewStream(cc, ctx, desc, method, ...): method in P5, P6. */
SEC("uprobe")
int grpc_new_stream_entry(struct pt_regs *ctx)
{
	return client_start(ctx, (const char *)GO_ARG5(ctx), (__s64)GO_ARG6(ctx), 1);
}

/* Every RET of newClientStreamWithParams / newClientStream: the *clientStream is the data word of P1, P2. */
SEC("uprobe")
int grpc_client_stream_created(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct client_call *c = bpf_map_lookup_elem(&grpc_client_calls, &k);
	if (!c || !c->ev.stream || c->cs || GO_ARG3(ctx) || !GO_ARG2(ctx))
		return 0;
	c->cs = GO_ARG2(ctx);
	struct call_key sk = {.g = c->cs, .tgid = k.tgid};
	bpf_map_update_elem(&grpc_client_streams, &sk, c, BPF_ANY);
	return 0;
}

/* Every RET of NewStream: (ClientStream, error) in P1, P2 and P3, P4. A failed stream ends here. */
SEC("uprobe")
int grpc_new_stream_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct client_call *c = bpf_map_lookup_elem(&grpc_client_calls, &k);
	if (!c || !c->ev.stream)
		return 0;
	gs_span_end(&c->span);
	if (GO_ARG3(ctx)) {
		client_emit(c, k.tgid, GO_ARG3(ctx), GO_ARG4(ctx));
		if (c->cs) {
			struct call_key sk = {.g = c->cs, .tgid = k.tgid};
			bpf_map_delete_elem(&grpc_client_streams, &sk);
		}
	}
	bpf_map_delete_elem(&grpc_client_calls, &k);
	return 0;
}

/*
 * Entry of (*clientStream).finish(cs, err): cs in P1, err in P2, P3. finish may run on two goroutines at once (the
 * caller's RecvMsg and the goroutine that watches the context's cancellation); only the first takes effect in Go (it
 * checks cs.finished under cs.mu), and here only the probe whose delete removes the stream's entry emits the span.
 */
SEC("uprobe")
int grpc_client_stream_finish(struct pt_regs *ctx)
{
	struct call_key sk = {.g = GO_ARG1(ctx), .tgid = bpf_get_current_pid_tgid() >> 32};
	struct client_call *c = bpf_map_lookup_elem(&grpc_client_streams, &sk);
	if (!c)
		return 0;
	/* c is not read after the delete: a deleted LRU element may be reused at once. */
	struct span_key pk = span_key_of(c->span.trace.span_id, sk.tgid);
	struct grpc_client_event *e = client_record(c, &pk, GO_ARG2(ctx), GO_ARG3(ctx));
	if (bpf_map_delete_elem(&grpc_client_streams, &sk) == 0)
		client_done(&pk, e); /* e NULL: ring buffer full (counted as lost), the call ends all the same */
	else if (e)
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
	return 0;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Outgoing propagation: append "traceparent" to the HEADERS frame of a call, written by the loopy writer goroutine.
 */

/* A call's header fields, by their backing array, waiting for the loopy writer. */
struct fields_key {
	__u64 ptr;
	__u32 tgid;
	__u32 _pad;
};

struct pending_call {
	struct gs_span_ctx span;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct fields_key);
	__type(value, struct pending_call);
} grpc_pending_fields SEC(".maps");

/* The writer goroutine's header write in progress: which span, and the framer once WriteHeaders is entered. */
struct h2_write {
	struct gs_span_ctx span;
	__u64 framer;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct call_key);
	__type(value, struct h2_write);
} grpc_h2_writes SEC(".maps");

static __always_inline void set_outcome(const __u8 *span_id, __u32 tgid, __u8 outcome)
{
	struct span_key sk = span_key_of(span_id, tgid);
	bpf_map_update_elem(&grpc_propagation, &sk, &outcome, BPF_ANY);
}

/* Every RET of (*http2Client).createHeaderFields: ([]hpack.HeaderField, error) in P1, P2, P3 and P4, P5. */
SEC("uprobe")
int grpc_inject_fields(struct pt_regs *ctx)
{
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc || !(proc->flags & GS_PROCESS_PROPAGATE) || GO_ARG4(ctx))
		return 0;
	struct call_key k = call_key_of(ctx);
	struct client_call *c = bpf_map_lookup_elem(&grpc_client_calls, &k);
	if (!c)
		return 0; /* not inside a call this probe set started (e.g. a transparent retry later): left alone */
	struct gs_span_ctx span = {.trace_flags = c->span.trace.trace_flags, .origin = GS_ORIGIN_LOCAL};
	__builtin_memcpy(span.trace_id, c->span.trace.trace_id, 16);
	__builtin_memcpy(span.span_id, c->span.trace.span_id, 8);
	const void *fields = (const void *)GO_ARG1(ctx);
	__s64 len = (__s64)GO_ARG2(ctx);
	if (!fields || len <= 0)
		return 0;
	__s32 traceparent, tracestate;
	gs_hpack_find(fields, len, &traceparent, &tracestate);
	if (traceparent >= 0) {
		set_outcome(span.span_id, k.tgid, GRPC_PROPAGATION_OWN);
		return 0;
	}
	set_outcome(span.span_id, k.tgid, GRPC_PROPAGATION_NONE);
	struct fields_key fk = {.ptr = (__u64)fields, .tgid = k.tgid};
	struct pending_call p = {.span = span};
	bpf_map_update_elem(&grpc_pending_fields, &fk, &p, BPF_ANY);
	return 0;
}

/* Entry of (*loopyWriter).writeHeader(l, streamID, endStream, hf, onWrite): hf's array in P4. */
SEC("uprobe")
int grpc_inject_write_header(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	bpf_map_delete_elem(&grpc_h2_writes, &k); /* nothing of an earlier write may linger on this goroutine */
	struct fields_key fk = {.ptr = GO_ARG4(ctx), .tgid = k.tgid};
	struct pending_call *p = bpf_map_lookup_elem(&grpc_pending_fields, &fk);
	if (!p)
		return 0;
	struct h2_write w = {.span = p->span};
	bpf_map_delete_elem(&grpc_pending_fields, &fk);
	bpf_map_update_elem(&grpc_h2_writes, &k, &w, BPF_ANY);
	return 0;
}

/* Every RET of writeHeader: the write is over, whatever happened. */
SEC("uprobe")
int grpc_inject_write_header_done(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	bpf_map_delete_elem(&grpc_h2_writes, &k);
	return 0;
}

/* Entry of http2.(*Framer).WriteHeaders(f, p): f = P1. */
SEC("uprobe")
int grpc_inject_frame_entry(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct h2_write *w = bpf_map_lookup_elem(&grpc_h2_writes, &k);
	if (w && !w->framer)
		w->framer = GO_ARG1(ctx);
	return 0;
}

/* Literal header field without indexing, new name (RFC 7541 6.2.2): 0x00, name, value; no Huffman coding. */
#define H2_FIELD_LEN (1 + 1 + 11 + 1 + GS_TRACEPARENT_LEN)
#define H2_FRAME_HEADER 9
#define H2_FRAME_HEADERS 0x1
#define H2_FLAG_END_HEADERS 0x4
#define H2_FLAG_PADDED 0x8
/* The smallest SETTINGS_MAX_FRAME_SIZE a peer may announce: a frame this size is always acceptable. */
#define H2_MIN_MAX_FRAME_SIZE 16384

/* grpc's bufWriter: the buffer (a slice, or a pointer to one in newer releases) and the bytes buffered in it. */
static __always_inline int read_buf_writer(__u64 bw, struct go_slice *buf, __s64 *offset)
{
	if (!bw || off_bufwriter_offset == OFFSET_UNSET)
		return -1;
	if (off_bufwriter_buf_handle != OFFSET_UNSET) {
		__u64 handle = 0;
		if (go_read_u64_checked((const void *)bw, off_bufwriter_buf_handle, &handle) != 0 || !handle ||
		    bpf_probe_read_user(buf, sizeof(*buf), (const void *)handle) != 0)
			return -1;
	} else if (off_bufwriter_buf != OFFSET_UNSET) {
		if (bpf_probe_read_user(buf, sizeof(*buf), (const void *)(bw + off_bufwriter_buf)) != 0)
			return -1;
	} else {
		return -1;
	}
	if (bpf_probe_read_user(offset, sizeof(*offset), (const void *)(bw + off_bufwriter_offset)) != 0)
		return -1;
	/* The invariants of a bufWriter: 0 <= offset <= len(buf) <= cap(buf), a buffer of sane size. */
	if (!buf->ptr || *offset < 0 || *offset > buf->len || buf->len > buf->cap || buf->len > (1 << 24))
		return -1;
	return 0;
}

static __always_inline __u8 inject(const struct h2_write *wr)
{
	if (off_framer_w == OFFSET_UNSET || off_framer_wbuf == OFFSET_UNSET)
		return GRPC_PROPAGATION_UNSURE;
	/* The frame the framer built (f.wbuf) and the transport's buffered writer it went to (f.w's data word). */
	struct go_slice wbuf = {}, buf = {};
	__s64 offset = 0;
	__u64 bw = go_read_u64((const void *)wr->framer, off_framer_w + 8);
	__u8 frame[H2_FRAME_HEADER] = {}, buffered[H2_FRAME_HEADER] = {};
	if (bpf_probe_read_user(&wbuf, sizeof(wbuf), (const void *)(wr->framer + off_framer_wbuf)) != 0 ||
	    !wbuf.ptr || wbuf.len < H2_FRAME_HEADER || read_buf_writer(bw, &buf, &offset) != 0 || offset < wbuf.len ||
	    bpf_probe_read_user(frame, sizeof(frame), wbuf.ptr) != 0 ||
	    bpf_probe_read_user(buffered, sizeof(buffered), (const char *)buf.ptr + offset - wbuf.len) != 0)
		return GRPC_PROPAGATION_UNSURE; /* not (all) in the buffer: written through, or flushed meanwhile */
	__u64 diff = 0;
#pragma unroll
	for (int i = 0; i < H2_FRAME_HEADER; i++)
		diff |= frame[i] ^ buffered[i];
	if (diff)
		return GRPC_PROPAGATION_UNSURE;
	__u32 length = ((__u32)frame[0] << 16) | ((__u32)frame[1] << 8) | frame[2];
	if (frame[3] != H2_FRAME_HEADERS || !(frame[4] & H2_FLAG_END_HEADERS) || (frame[4] & H2_FLAG_PADDED) ||
	    length != wbuf.len - H2_FRAME_HEADER || length + H2_FIELD_LEN > H2_MIN_MAX_FRAME_SIZE ||
	    offset + H2_FIELD_LEN >= buf.len)
		return GRPC_PROPAGATION_UNSURE; /* continued in another frame, padded, or no room before a flush */
	char field[H2_FIELD_LEN];
	field[0] = 0x00;
	field[1] = 11;
	__builtin_memcpy(field + 2, "traceparent", 11);
	field[13] = GS_TRACEPARENT_LEN;
	gs_format_traceparent(field + 14, wr->span.trace_id, wr->span.span_id, wr->span.trace_flags);
	length += H2_FIELD_LEN;
	__u8 patched[3] = {length >> 16, length >> 8, length};
	if (bpf_probe_write_user((char *)buf.ptr + offset, field, H2_FIELD_LEN) != 0 ||
	    bpf_probe_write_user((char *)buf.ptr + offset - wbuf.len, patched, 3) != 0)
		return GRPC_PROPAGATION_UNSURE;
	__s64 offset2 = offset + H2_FIELD_LEN;
	if (bpf_probe_write_user((void *)(bw + off_bufwriter_offset), &offset2, sizeof(offset2)) != 0) {
		/* The length is patched but the offset is not: undo the length so the frame stays as grpc wrote it. */
		bpf_probe_write_user((char *)buf.ptr + offset - wbuf.len, frame, 3);
		return GRPC_PROPAGATION_UNSURE;
	}
	return GRPC_PROPAGATION_INJECTED;
}

/* Every RET of http2.(*Framer).WriteHeaders: the HEADERS frame is in the bufWriter (or went through it). */
SEC("uprobe")
int grpc_inject_frame_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct h2_write *wp = bpf_map_lookup_elem(&grpc_h2_writes, &k);
	if (!wp || !wp->framer)
		return 0;
	struct h2_write wr = *wp;
	bpf_map_delete_elem(&grpc_h2_writes, &k);
	set_outcome(wr.span.span_id, k.tgid, inject(&wr));
	return 0;
}
