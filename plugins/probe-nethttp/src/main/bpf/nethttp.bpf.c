// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * net/http probes: one SERVER span per request served, one CLIENT span per http.Transport round trip, the incoming
 * W3C trace context of both HTTP/1.x and HTTP/2 requests, the ServeMux route, and (opt-in per process) outgoing
 * traceparent headers. Spans share the trace context of goscope_context.h, so a server span, the client calls its
 * handler makes (also from goroutines it spawns) and the spans of other probe sets form one trace.
 *
 * Hooked functions (Go >= 1.17 register ABI, see go_abi.h; results come back in the argument registers):
 *
 *   net/http.serverHandler.ServeHTTP(sh, rw ResponseWriter, req *Request)       entry + every RET: the server span
 *     sh -> P1; rw (itab, data) -> P2, P3; req -> P4. HTTP/1.x calls it from conn.serve with rw = *http.response;
 *     the bundled HTTP/2 server from the handler goroutine with rw = *http.http2responseWriter. Request.Proto alone
 *     does not tell the two apart (an h2c preface "PRI * HTTP/2.0" reaches the HTTP/1 server): see status_address.
 *   net/textproto.readMIMEHeader(r *Reader, ...) (Go 1.19+: a function; older: a method)   entry
 *     r -> P1. The request line has been read; the header bytes wait in r.R's bufio buffer, where the probe looks
 *     for traceparent and tracestate (HTTP/1.x incoming context) for the server span the goroutine starts next.
 *   net/http.(*http2serverConn).processHeaders(sc, f *http2MetaHeadersFrame)   entry + every RET
 *     f -> P2; f.Fields holds the decoded header fields. The handler goroutine it spawns inherits the incoming
 *     context, which is the connection goroutine's active context during the call only.
 *   net/http.(*ServeMux).findHandler(r) (h Handler, patStr string, ...) (Go 1.22+)  every RET: route = P3, P4
 *   net/http.(*ServeMux).handler(host, path) (h Handler, pattern string) (Go < 1.22)  every RET: route = P3, P4
 *   net/http.(*Transport).roundTrip(t, req *Request) (*Response, error)          entry + every RET: the client span
 *     req -> P2; results: *Response -> P1, error (itab, data) -> P2, P3.
 *
 * Propagation (feature "propagation", attached only for processes whose rules enable it; needs bpf_probe_write_user):
 *   net/http.Header.writeSubset(h Header, w io.Writer, ...)   entry + every RET, HTTP/1.x
 *     h -> P1 (the map pointer identifies the request registered at roundTrip), w's data word -> P3: the transport's
 *     *bufio.Writer. The header lines are scanned for the application's own traceparent at return; if there is none,
 *     "Traceparent: ...\r\n" is appended in the buffer, before the request's final blank line.
 *   net/http.(*http2Framer).WriteHeaders(f, p)   entry + every RET, HTTP/2
 *     The request goroutine (cs.doRequest) inherits the client span; after the HEADERS frame went into the
 *     connection's *bufio.Writer, an HPACK literal field (without indexing, so the encoder's table is untouched) is
 *     appended to it and the frame length patched, when the frame ends the header block and is not padded.
 *   vendor/golang.org/x/net/http2/hpack.(*Encoder).WriteField(e, f HeaderField)   entry
 *     f.Name -> P2, P3: an application's own "traceparent" field marks the request as carrying its own.
 *
 * Nothing is written unless every layout check passes; "unsure" is recorded instead.
 */
#include "nethttp_event.h"
#include "goscope_context.h"
#include "goscope_w3c.h"
#include "goscope_sockmsg.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Not set by the host = unknown. */
#define OFFSET_UNSET ((__u64)-1)

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

/* HTTP/2 status (optional, see status_address). */
const volatile __u64 off_h2_response_writer_rws = OFFSET_UNSET;
const volatile __u64 off_h2_response_writer_state_req = OFFSET_UNSET;
const volatile __u64 off_h2_response_writer_state_status = OFFSET_UNSET;
const volatile __u64 off_response_req = OFFSET_UNSET;

/* Incoming context. */
const volatile __u64 off_textproto_reader_r = OFFSET_UNSET; /* net/textproto.Reader.R  *bufio.Reader */
const volatile __u64 off_bufio_reader_buf = OFFSET_UNSET;   /* bufio.Reader.buf        []byte */
const volatile __u64 off_bufio_reader_r = OFFSET_UNSET;     /* bufio.Reader.r          int */
const volatile __u64 off_bufio_reader_w = OFFSET_UNSET;     /* bufio.Reader.w          int */
const volatile __u64 off_h2_meta_fields = OFFSET_UNSET;     /* http2MetaHeadersFrame.Fields []hpack.HeaderField */

/* Client spans. */
const volatile __u64 off_request_header = OFFSET_UNSET;     /* net/http.Request.Header  Header (a map pointer) */
const volatile __u64 off_url_scheme = OFFSET_UNSET;         /* net/url.URL.Scheme       string */
const volatile __u64 off_url_user = OFFSET_UNSET;           /* net/url.URL.User         *Userinfo */
const volatile __u64 off_url_host = OFFSET_UNSET;           /* net/url.URL.Host         string */
const volatile __u64 off_url_raw_query = OFFSET_UNSET;      /* net/url.URL.RawQuery     string */
const volatile __u64 off_response_status_code = OFFSET_UNSET; /* net/http.Response.StatusCode int */
const volatile __u64 off_response_proto = OFFSET_UNSET;     /* net/http.Response.Proto  string */

/* Propagation. */
const volatile __u64 off_bufio_writer_buf = OFFSET_UNSET;   /* bufio.Writer.buf        []byte */
const volatile __u64 off_bufio_writer_n = OFFSET_UNSET;     /* bufio.Writer.n          int */
const volatile __u64 off_h2_framer_w = OFFSET_UNSET;        /* http2Framer.w           io.Writer */
const volatile __u64 off_h2_framer_wbuf = OFFSET_UNSET;     /* http2Framer.wbuf        []byte */

/* ---------------------------------------------------------------------------------------------------------------
 * Per-call state. Keyed by the g pointer: a function runs on one goroutine, and the goroutine cannot exit (and its
 * g be reused) before the call returns. g pointers are per process; the tgid disambiguates processes.
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
	__u64 status_addr; /* where the response writer keeps the status (an int); 0 = unknown */
	struct gs_span span;
	struct nethttp_server_event ev;
};

struct client_call {
	__u64 header; /* Request.Header (map pointer) registered for HTTP/1 propagation, or 0 */
	struct gs_span span;
	struct nethttp_client_event ev;
};

/* LRU: a call whose return is never seen (a panic unwinds past every RET) ages out. Shared by every object. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct call_key);
	__type(value, struct server_call);
} nethttp_server_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct call_key);
	__type(value, struct client_call);
} nethttp_client_calls SEC(".maps");

/*
 * All-zero values (.rodata). Entry programs insert one and fill the map's copy in place: the values do not fit the
 * 512-byte BPF stack, and a shared per-CPU scratch slot could be reused by another task on a preemptible kernel.
 */
static const struct server_call zero_server_call = {};
static const struct client_call zero_client_call = {};

/* ---------------------------------------------------------------------------------------------------------------
 * Server spans.
 */

static __always_inline void read_request(struct nethttp_server_event *e, const void *req)
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
	e->route_len = -1;
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
 * The address of the status int of the response writer rw serving req, or 0 if unknown. HTTP/1.x requests reach
 * serverHandler.ServeHTTP only from the HTTP/1 server (rw = *http.response). For Proto "HTTP/2.0" the writer is
 * identified by its back pointer to the request: http2responseWriter.rws->req == req (the bundled h2 server), else
 * response.req == req (the HTTP/1 server with a "PRI * HTTP/2.0" preface).
 */
static __always_inline __u64 status_address(__u64 rw, __u64 req, const struct nethttp_server_event *e)
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

SEC("uprobe")
int nethttp_server_entry(struct pt_regs *ctx)
{
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc)
		return 0;
	__u64 start_ns = bpf_ktime_get_ns();
	struct call_key k = call_key_of(ctx);
	if (bpf_map_update_elem(&nethttp_server_calls, &k, &zero_server_call, BPF_ANY) != 0)
		return 0;
	struct server_call *c = bpf_map_lookup_elem(&nethttp_server_calls, &k);
	if (!c)
		return 0;
	__u64 req = GO_ARG4(ctx);
	c->ev.start_ns = start_ns;
	read_request(&c->ev, (const void *)req);
	c->status_addr = status_address(GO_ARG3(ctx), req, &c->ev);

	/* HTTP/1.x: the parent read from this goroutine's header bytes; HTTP/2: the inherited active remote context. */
	struct gs_goroutine g = gs_current_goroutine(ctx);
	struct gs_span_ctx incoming = {};
	int has_incoming = gs_incoming_take(&g, &incoming) == 0;
	gs_span_start(ctx, proc, GS_SPAN_SERVER, has_incoming ? &incoming : NULL, &c->span);
	return 0;
}

static __always_inline __s64 read_status(const struct server_call *c)
{
	__u64 status = 0;
	if (!c->status_addr || go_read_u64_checked((const void *)c->status_addr, 0, &status) != 0)
		return -1;
	return (__s64)status;
}

SEC("uprobe")
int nethttp_server_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct server_call *c = bpf_map_lookup_elem(&nethttp_server_calls, &k);
	if (!c) {
		gs_count_unmatched();
		return 0;
	}
	__u64 end_ns = bpf_ktime_get_ns();
	gs_span_end(&c->span);
	struct nethttp_server_event *e = gs_reserve(sizeof(*e), NETHTTP_RECORD_SERVER);
	if (!e) {
		bpf_map_delete_elem(&nethttp_server_calls, &k);
		return 0;
	}
	_Static_assert(__builtin_offsetof(struct nethttp_server_event, start_ns) == sizeof(e->hdr), "start follows hdr");
	__builtin_memcpy(&e->start_ns, &c->ev.start_ns, sizeof(*e) - sizeof(e->hdr));
	e->end_ns = end_ns;
	e->status = read_status(c);
	__builtin_memcpy(&e->trace, &c->span.trace, sizeof(e->trace));
	gs_submit(e);
	bpf_map_delete_elem(&nethttp_server_calls, &k);
	return 0;
}

/* Every RET of (*ServeMux).findHandler (Go 1.22+) or (*ServeMux).handler (older): the pattern is in P3, P4. */
SEC("uprobe")
int nethttp_route_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct server_call *c = bpf_map_lookup_elem(&nethttp_server_calls, &k);
	if (!c)
		return 0;
	const char *ptr = (const char *)GO_ARG3(ctx);
	__s64 len = (__s64)GO_ARG4(ctx);
	if (len <= 0 || !ptr)
		return 0; /* no pattern matched (NotFound): keep what an outer mux found */
	__u64 n = (__u64)len;
	barrier_var(n);
	if (n > NETHTTP_ROUTE_CAP)
		n = NETHTTP_ROUTE_CAP;
	if (bpf_probe_read_user(c->ev.route, n, ptr) == 0)
		c->ev.route_len = len;
	return 0;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Incoming trace context.
 */

/* How far into an HTTP/1.x header block the probe looks for traceparent and tracestate. */
#define SCAN_MAX 2048
/* Scratch: the header bytes, with room for a header name and a value read past the last scanned position. */
struct scan_buf {
	char b[SCAN_MAX + 320];
	__s32 traceparent; /* offset of the traceparent value, or -1 */
	__s32 tracestate;  /* offset of the tracestate value, or -1 */
	__s32 n;
	__s32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scan_buf);
} nethttp_scan SEC(".maps");

/* Whether n (a constant) bytes of a and b are equal; an unrolled loop, since BPF has no memcmp. */
static __always_inline int same_bytes(const void *a, const void *b, int n)
{
	const __u8 *x = a, *y = b;
	int diff = 0;
#pragma unroll
	for (int i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* How much s[0..len) differs from the lowercase name, ignoring letter case (0: equal); for short fixed names. */
static __always_inline __u64 name_diff(const char *s, const char *name, int len)
{
	__u64 diff = 0;
#pragma unroll
	for (int i = 0; i < len; i++)
		diff |= (__u8)(s[i] | 0x20) ^ (__u8)name[i];
	return diff;
}

/* Whether s[0..11] is "traceparent:" in any case. */
static __always_inline int is_traceparent_name(const char *s)
{
	return name_diff(s, "traceparent:", 12) == 0;
}

/*
 * The header scans below test every line start of up to 2 KiB of header bytes. Their loop body has one branch (is
 * this byte a '\n'?) and the name tests are arithmetic on 8- and 4-byte loads (| 0x20 lowercases letters; the ':'
 * already has that bit, and no other byte of a header name turns into one of these letters), with the results kept
 * in memory: so the verifier prunes the paths of each iteration instead of multiplying them, and a scan costs a few
 * instructions per byte at run time.
 */
#define LOWER8 0x2020202020202020ULL
#define TRACEPAR 0x7261706563617274ULL /* "tracepar" little-endian */
#define ENT_COLON 0x3a746e65U          /* "ent:" */
#define TRACESTA 0x6174736563617274ULL /* "tracesta" */
#define TE_COLON 0x3a6574U             /* "te:" */

/* 1 when x is 0, else 0, without a branch. */
static __always_inline __u64 is_zero(__u64 x)
{
	return ((x | -x) >> 63) ^ 1;
}

static __always_inline __u64 traceparent_at(const char *s)
{
	__u64 a = *(const __u64 *)s;
	__u32 b = *(const __u32 *)(s + 8);
	return is_zero(((a | LOWER8) ^ TRACEPAR) | ((b | 0x20202020U) ^ ENT_COLON));
}

static __always_inline __u64 tracestate_at(const char *s)
{
	__u64 a = *(const __u64 *)s;
	__u32 b = *(const __u32 *)(s + 8);
	return is_zero(((a | LOWER8) ^ TRACESTA) | (((b | 0x202020U) & 0xffffffU) ^ TE_COLON));
}

/* *where = hit ? value : *where, without a branch, through memory (volatile: clang must not carry it in a register). */
static __always_inline void select_into(volatile __s32 *where, __u64 hit, __s32 value)
{
	__s32 mask = -(__s32)hit;
	*where = (*where & ~mask) | (value & mask);
}

/*
 * Finds the header lines "traceparent:" and "tracestate:" in sb->b[0..n) (b[0] is the '\n' before the first header
 * line) and stores the offsets of their values in sb (-1: absent).
 */
static __always_inline void scan_header_names(struct scan_buf *sb, __s32 n)
{
	sb->traceparent = -1;
	sb->tracestate = -1;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < SCAN_MAX; i++) {
		if ((__s32)i >= n)
			break;
		if (sb->b[i] != '\n')
			continue;
		const char *line = &sb->b[i + 1];
		select_into(&sb->traceparent, traceparent_at(line), i + 13);
		select_into(&sb->tracestate, tracestate_at(line), i + 12);
	}
}

/* Skips optional whitespace at sb->b[*at]. */
static __always_inline __s32 skip_ows(const struct scan_buf *sb, __s32 at)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (at < 0 || at >= SCAN_MAX)
			return at;
		char c = sb->b[at];
		if (c != ' ' && c != '\t')
			return at;
		at++;
	}
	return at;
}

/* Parses the traceparent value at sb->b[at]: 55 characters, then CR, LF or whitespace. */
static __always_inline int parse_traceparent_at(const struct scan_buf *sb, __s32 at, struct gs_span_ctx *out)
{
	at = skip_ows(sb, at);
	if (at < 0 || at + GS_TRACEPARENT_LEN >= sb->n)
		return -1;
	__u32 a = (__u32)at & (SCAN_MAX - 1);
	char end = sb->b[a + GS_TRACEPARENT_LEN];
	if (end != '\r' && end != '\n' && end != ' ' && end != '\t')
		return -1;
	return gs_parse_traceparent(&sb->b[a], GS_TRACEPARENT_LEN, out);
}

/* Emits the tracestate value at sb->b[at] (up to the line's end) for the span whose parent is parent. */
static __always_inline void emit_tracestate(const struct scan_buf *sb, __s32 at, const struct gs_span_ctx *parent)
{
	at = skip_ows(sb, at);
	if (at < 0 || at >= sb->n)
		return;
	struct nethttp_tracestate_event *e = gs_reserve(sizeof(*e), NETHTTP_RECORD_TRACESTATE);
	if (!e)
		return;
	__builtin_memcpy(e->parent_span_id, parent->span_id, 8);
	__u32 a = (__u32)at & (SCAN_MAX - 1);
	__builtin_memcpy(e->value, &sb->b[a], NETHTTP_TRACESTATE_CAP);
	/* The decoder cuts the value at its line end; len is what the scan had (an upper bound). */
	e->len = sb->n - at;
	gs_submit(e);
}

/* Entry of net/textproto.readMIMEHeader(r *Reader, ...): P1 = r. */
SEC("uprobe")
int nethttp_read_headers(struct pt_regs *ctx)
{
	if (!gs_process_get(ctx))
		return 0;
	struct gs_goroutine g = gs_current_goroutine(ctx);
	gs_incoming_put(&g, NULL); /* whatever a previous request on this goroutine carried is gone */
	if (off_textproto_reader_r == OFFSET_UNSET || off_bufio_reader_buf == OFFSET_UNSET ||
	    off_bufio_reader_r == OFFSET_UNSET || off_bufio_reader_w == OFFSET_UNSET)
		return 0;
	__u64 br = go_read_u64((const void *)GO_ARG1(ctx), off_textproto_reader_r);
	if (!br)
		return 0;
	struct go_slice buf = {};
	if (bpf_probe_read_user(&buf, sizeof(buf), (const void *)(br + off_bufio_reader_buf)) != 0 || !buf.ptr)
		return 0;
	__s64 r = (__s64)go_read_u64((const void *)br, off_bufio_reader_r);
	__s64 w = (__s64)go_read_u64((const void *)br, off_bufio_reader_w);
	if (r < 1 || w <= r || w > buf.len)
		return 0; /* r >= 1: the request line's '\n' is at r-1 and starts the scan */
	__u32 zero = 0;
	struct scan_buf *sb = bpf_map_lookup_elem(&nethttp_scan, &zero);
	if (!sb)
		return 0;
	__u64 n = (__u64)(w - r + 1);
	barrier_var(n);
	if (n > SCAN_MAX)
		n = SCAN_MAX;
	if (bpf_probe_read_user(sb->b, n, (const char *)buf.ptr + r - 1) != 0)
		return 0;
	sb->n = (__s32)n;
	scan_header_names(sb, sb->n);
	if (sb->traceparent < 0)
		return 0;
	struct gs_span_ctx remote = {};
	if (parse_traceparent_at(sb, sb->traceparent, &remote) != 0)
		return 0; /* malformed: ignored, the server span starts a trace of its own */
	gs_incoming_put(&g, &remote);
	if (sb->tracestate >= 0)
		emit_tracestate(sb, sb->tracestate, &remote);
	return 0;
}

/* The incoming context of an HTTP/2 request: the decoded fields of f (P2). */
SEC("uprobe")
int nethttp_h2_headers_entry(struct pt_regs *ctx)
{
	if (!gs_process_get(ctx))
		return 0;
	struct gs_goroutine g = gs_current_goroutine(ctx);
	gs_context_set_remote(&g, NULL);
	if (off_h2_meta_fields == OFFSET_UNSET)
		return 0;
	struct go_slice fields = {};
	if (bpf_probe_read_user(&fields, sizeof(fields), (const void *)(GO_ARG2(ctx) + off_h2_meta_fields)) != 0 ||
	    !fields.ptr || fields.len <= 0)
		return 0;
	__s32 traceparent, tracestate;
	gs_hpack_find(fields.ptr, fields.len, &traceparent, &tracestate);
	struct gs_span_ctx remote = {};
	if (gs_hpack_traceparent(fields.ptr, traceparent, &remote) != 0)
		return 0; /* absent or malformed: ignored, the server span starts a trace of its own */
	gs_context_set_remote(&g, &remote);
	if (tracestate < 0)
		return 0;
	struct nethttp_tracestate_event *e = gs_reserve(sizeof(*e), NETHTTP_RECORD_TRACESTATE);
	if (!e)
		return 0;
	__builtin_memcpy(e->parent_span_id, remote.span_id, 8);
	e->len = gs_hpack_value(fields.ptr, tracestate, e->value, NETHTTP_TRACESTATE_CAP);
	gs_submit(e);
	return 0;
}

SEC("uprobe")
int nethttp_h2_headers_return(struct pt_regs *ctx)
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

/*
 * HTTP/1 propagation: the client span waiting for its request's header lines, by the request's Header map pointer
 * (the transport writes the request on another goroutine, persistConn.writeLoop, which must not go by its own
 * inherited context: it lives as long as the connection).
 */
struct header_key {
	__u64 header;
	__u32 tgid;
	__u32 _pad;
};

struct pending_h1 {
	struct gs_span_ctx ctx;
	__u8 outcome; /* NETHTTP_PROPAGATION_* */
	__u8 tls;     /* an https URL: bytes on the socket are ciphertext */
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct header_key);
	__type(value, struct pending_h1);
} nethttp_pending_h1 SEC(".maps");

/* HTTP/2 propagation: client spans that may still write their HEADERS frame, by span id. */
struct span_key {
	__u8 span_id[8];
	__u32 tgid;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct span_key);
	__type(value, __u8); /* NETHTTP_PROPAGATION_* so far */
} nethttp_pending_h2 SEC(".maps");

static __always_inline struct span_key span_key_of(const __u8 *span_id, __u32 tgid)
{
	struct span_key k = {.tgid = tgid};
	__builtin_memcpy(k.span_id, span_id, 8);
	return k;
}

static __always_inline void read_client_request(struct client_call *c, const void *req)
{
	struct nethttp_client_event *e = &c->ev;
	e->method_len = go_read_string(req, off_request_method, e->method, NETHTTP_METHOD_CAP);
	e->scheme_len = e->host_len = e->path_len = e->query_len = -1;
	__u64 url = 0;
	if (go_read_u64_checked(req, off_request_url, &url) != 0 || !url)
		return;
	const void *u = (const void *)url;
	if (off_url_scheme != OFFSET_UNSET)
		e->scheme_len = go_read_string(u, off_url_scheme, e->scheme, NETHTTP_SCHEME_CAP);
	if (off_url_host != OFFSET_UNSET)
		e->host_len = go_read_string(u, off_url_host, e->host, NETHTTP_HOST_CAP);
	e->path_len = go_read_string(u, off_url_path, e->path, NETHTTP_PATH_CAP);
	if (off_url_raw_query != OFFSET_UNSET)
		e->query_len = go_read_string(u, off_url_raw_query, e->query, NETHTTP_QUERY_CAP);
	if (off_url_user != OFFSET_UNSET)
		e->userinfo = go_read_u64(u, off_url_user) != 0;
}

/* Entry of (*Transport).roundTrip(req): P2 = req. */
SEC("uprobe")
int nethttp_client_entry(struct pt_regs *ctx)
{
	const struct gs_process *proc = gs_process_get(ctx);
	if (!proc)
		return 0;
	__u64 start_ns = bpf_ktime_get_ns();
	struct call_key k = call_key_of(ctx);
	if (bpf_map_update_elem(&nethttp_client_calls, &k, &zero_client_call, BPF_ANY) != 0)
		return 0;
	struct client_call *c = bpf_map_lookup_elem(&nethttp_client_calls, &k);
	if (!c)
		return 0;
	const void *req = (const void *)GO_ARG2(ctx);
	c->ev.start_ns = start_ns;
	read_client_request(c, req);
	gs_span_start(ctx, proc, GS_SPAN_CLIENT, NULL, &c->span);
	if (!(proc->flags & GS_PROCESS_PROPAGATE))
		return 0;

	struct span_key sk = span_key_of(c->span.trace.span_id, k.tgid);
	__u8 pending = NETHTTP_PROPAGATION_NONE;
	bpf_map_update_elem(&nethttp_pending_h2, &sk, &pending, BPF_ANY);
	if (off_request_header == OFFSET_UNSET)
		return 0;
	__u64 header = go_read_u64(req, off_request_header);
	if (!header)
		return 0;
	struct header_key hk = {.header = header, .tgid = k.tgid};
	struct pending_h1 p = {.ctx = {.trace_flags = c->span.trace.trace_flags, .origin = GS_ORIGIN_LOCAL}};
	p.tls = c->ev.scheme_len == 5 && c->ev.scheme[0] == 'h' && c->ev.scheme[4] == 's';
	__builtin_memcpy(p.ctx.trace_id, c->span.trace.trace_id, 16);
	__builtin_memcpy(p.ctx.span_id, c->span.trace.span_id, 8);
	bpf_map_update_elem(&nethttp_pending_h1, &hk, &p, BPF_ANY);
	c->header = header;
	return 0;
}

/* Every RET of (*Transport).roundTrip: (*Response, error) in P1 and P2, P3. */
SEC("uprobe")
int nethttp_client_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct client_call *c = bpf_map_lookup_elem(&nethttp_client_calls, &k);
	if (!c) {
		gs_count_unmatched();
		return 0;
	}
	__u64 end_ns = bpf_ktime_get_ns();
	__u64 resp = GO_ARG1(ctx);
	__u64 err_itab = GO_ARG2(ctx);
	gs_span_end(&c->span);

	__u8 propagation = NETHTTP_PROPAGATION_NONE;
	struct span_key sk = span_key_of(c->span.trace.span_id, k.tgid);
	__u8 *h2 = bpf_map_lookup_elem(&nethttp_pending_h2, &sk);
	if (h2) {
		propagation = *h2;
		bpf_map_delete_elem(&nethttp_pending_h2, &sk);
	}
	if (c->header) {
		struct header_key hk = {.header = c->header, .tgid = k.tgid};
		struct pending_h1 *p = bpf_map_lookup_elem(&nethttp_pending_h1, &hk);
		if (p) {
			if (p->outcome == NETHTTP_PROPAGATION_ARMED) {
				__u64 token = 0;
				__builtin_memcpy(&token, c->span.trace.span_id, 8);
				int sent = gs_sock_outcome_take(token);
				propagation = sent == GS_SOCK_INSERTED  ? NETHTTP_PROPAGATION_INJECTED
					      : sent == GS_SOCK_SKIPPED ? NETHTTP_PROPAGATION_OWN
					      : sent == GS_SOCK_UNSURE  ? NETHTTP_PROPAGATION_UNSURE
									: NETHTTP_PROPAGATION_MISSED;
			} else if (p->outcome != NETHTTP_PROPAGATION_NONE) {
				propagation = p->outcome;
			}
			bpf_map_delete_elem(&nethttp_pending_h1, &hk);
		}
	}

	struct nethttp_client_event *e = gs_reserve(sizeof(*e), NETHTTP_RECORD_CLIENT);
	if (!e) {
		bpf_map_delete_elem(&nethttp_client_calls, &k);
		return 0;
	}
	__builtin_memcpy(&e->start_ns, &c->ev.start_ns, sizeof(*e) - sizeof(e->hdr));
	e->end_ns = end_ns;
	__builtin_memcpy(&e->trace, &c->span.trace, sizeof(e->trace));
	e->propagation = propagation;
	e->status = -1;
	e->proto_len = -1;
	if (resp && off_response_status_code != OFFSET_UNSET)
		e->status = (__s64)go_read_u64((const void *)resp, off_response_status_code);
	if (resp && off_response_proto != OFFSET_UNSET)
		e->proto_len = go_read_string((const void *)resp, off_response_proto, e->proto, NETHTTP_PROTO_CAP);
	e->error_type = 0;
	if (err_itab) {
		/* itab {inter *interfacetype; _type *_type; ...}: the dynamic type; 1 if unreadable (still an error). */
		__u64 type = go_read_u64((const void *)err_itab, 8);
		e->error_type = type ? type : 1;
	}
	gs_submit(e);
	bpf_map_delete_elem(&nethttp_client_calls, &k);
	return 0;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Outgoing propagation, HTTP/1.x: Header.writeSubset writes the header lines into the transport's bufio.Writer.
 */

#define H1_LINE_LEN (13 + GS_TRACEPARENT_LEN + 2) /* "Traceparent: " value "\r\n" */
#define H1_SCAN_MAX 2048

struct h1_write {
	struct header_key hk;
	__u64 bw;          /* *bufio.Writer */
	__u64 buf;         /* its buffer when writeSubset started */
	__s64 n;           /* bytes buffered when writeSubset started */
	char head[16];     /* the buffer's first bytes then: a flush in between overwrites them */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct call_key);
	__type(value, struct h1_write);
} nethttp_h1_writes SEC(".maps");

struct bufio_writer {
	struct go_slice buf;
	__s64 n;
};

static __always_inline int read_bufio_writer(__u64 bw, struct bufio_writer *out)
{
	if (!bw || off_bufio_writer_buf == OFFSET_UNSET || off_bufio_writer_n == OFFSET_UNSET)
		return -1;
	if (bpf_probe_read_user(&out->buf, sizeof(out->buf), (const void *)(bw + off_bufio_writer_buf)) != 0)
		return -1;
	if (bpf_probe_read_user(&out->n, sizeof(out->n), (const void *)(bw + off_bufio_writer_n)) != 0)
		return -1;
	/* The invariants of a bufio.Writer: 0 <= n <= len(buf) <= cap(buf), a buffer of sane size. */
	if (!out->buf.ptr || out->n < 0 || out->n > out->buf.len || out->buf.len > out->buf.cap ||
	    out->buf.len > (1 << 24))
		return -1;
	return 0;
}

/* Entry of Header.writeSubset: a request registered at roundTrip starts writing its header lines; remembers where. */
SEC("uprobe")
int nethttp_inject_h1_entry(struct pt_regs *ctx)
{
	struct header_key hk = {.header = GO_ARG1(ctx), .tgid = bpf_get_current_pid_tgid() >> 32};
	if (!hk.header)
		return 0;
	struct pending_h1 *p = bpf_map_lookup_elem(&nethttp_pending_h1, &hk);
	if (!p || p->outcome != NETHTTP_PROPAGATION_NONE)
		return 0;
	struct h1_write wr = {.hk = hk, .bw = GO_ARG3(ctx)};
	struct bufio_writer w = {};
	char crlf[2] = {};
	/* The request line and the headers before this call end with CRLF right where the header lines will go. */
	if (read_bufio_writer(wr.bw, &w) != 0 || w.n < 16 ||
	    bpf_probe_read_user(crlf, 2, (const char *)w.buf.ptr + w.n - 2) != 0 || crlf[0] != '\r' || crlf[1] != '\n' ||
	    bpf_probe_read_user(wr.head, sizeof(wr.head), w.buf.ptr) != 0) {
		p->outcome = NETHTTP_PROPAGATION_UNSURE;
		return 0;
	}
	wr.buf = (__u64)w.buf.ptr;
	wr.n = w.n;
	struct call_key k = call_key_of(ctx);
	bpf_map_update_elem(&nethttp_h1_writes, &k, &wr, BPF_ANY);
	return 0;
}

/* Whether "traceparent:" starts a line in sb->b[0..n) (b[0] is the CRLF's '\n' before the first line). */
static __always_inline void scan_own_traceparent(struct scan_buf *sb, __s32 n)
{
	sb->traceparent = -1;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < H1_SCAN_MAX; i++) {
		if ((__s32)i >= n)
			break;
		if (sb->b[i] != '\n')
			continue;
		select_into(&sb->traceparent, traceparent_at(&sb->b[i + 1]), i);
	}
}

/*
 * The header lines the writeSubset call in wr wrote, scanned for the application's own traceparent: 0 and the
 * buffered writer in *w when they are all in the buffer and none is a traceparent, else the outcome to record.
 */
static __always_inline __u8 check_h1(const struct h1_write *wr, struct bufio_writer *w, struct scan_buf **sbp)
{
	char head[16] = {};
	if (read_bufio_writer(wr->bw, w) != 0 || (__u64)w->buf.ptr != wr->buf || w->n < wr->n ||
	    w->n - wr->n > H1_SCAN_MAX - 1 || bpf_probe_read_user(head, sizeof(head), w->buf.ptr) != 0 ||
	    !same_bytes(head, wr->head, sizeof(head)))
		return NETHTTP_PROPAGATION_UNSURE; /* flushed or replaced meanwhile: the header bytes are not all here */
	__u32 zero = 0;
	struct scan_buf *sb = bpf_map_lookup_elem(&nethttp_scan, &zero);
	if (!sb)
		return NETHTTP_PROPAGATION_UNSURE;
	/* From the '\n' before the first header line written by this call to the end of the buffer. */
	__u64 n = (__u64)(w->n - wr->n + 1);
	barrier_var(n);
	if (n > H1_SCAN_MAX)
		n = H1_SCAN_MAX;
	if (bpf_probe_read_user(sb->b, n, (const char *)w->buf.ptr + wr->n - 1) != 0)
		return NETHTTP_PROPAGATION_UNSURE;
	sb->n = (__s32)n;
	scan_own_traceparent(sb, sb->n);
	if (sb->traceparent >= 0)
		return NETHTTP_PROPAGATION_OWN;
	*sbp = sb;
	return 0;
}

/* Decides and writes, for the writeSubset call in wr that just returned; returns the NETHTTP_PROPAGATION_ outcome. */
static __always_inline __u8 inject_h1(const struct h1_write *wr, const struct gs_span_ctx *span)
{
	struct bufio_writer w = {};
	struct scan_buf *sb = NULL;
	__u8 checked = check_h1(wr, &w, &sb);
	if (checked != 0 || !sb)
		return checked ? checked : NETHTTP_PROPAGATION_UNSURE;
	if (w.n + H1_LINE_LEN > w.buf.len)
		return NETHTTP_PROPAGATION_UNSURE; /* no room without a flush */
	/* The line is built in the scratch buffer's spare tail, not on the stack. */
	char *line = &sb->b[SCAN_MAX];
	__builtin_memcpy(line, "Traceparent: ", 13);
	gs_format_traceparent(line + 13, span->trace_id, span->span_id, span->trace_flags);
	line[H1_LINE_LEN - 2] = '\r';
	line[H1_LINE_LEN - 1] = '\n';
	if (bpf_probe_write_user((char *)w.buf.ptr + w.n, line, H1_LINE_LEN) != 0)
		return NETHTTP_PROPAGATION_UNSURE;
	__s64 n2 = w.n + H1_LINE_LEN;
	if (bpf_probe_write_user((void *)(wr->bw + off_bufio_writer_n), &n2, sizeof(n2)) != 0)
		return NETHTTP_PROPAGATION_UNSURE; /* the bytes past n are never sent */
	return NETHTTP_PROPAGATION_INJECTED;
}

SEC("uprobe")
int nethttp_inject_h1_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct h1_write *wr = bpf_map_lookup_elem(&nethttp_h1_writes, &k);
	if (!wr)
		return 0;
	struct pending_h1 *p = bpf_map_lookup_elem(&nethttp_pending_h1, &wr->hk);
	if (p && p->outcome == NETHTTP_PROPAGATION_NONE) {
		struct gs_span_ctx span = p->ctx;
		__u8 outcome = inject_h1(wr, &span);
		p = bpf_map_lookup_elem(&nethttp_pending_h1, &wr->hk);
		if (p)
			p->outcome = outcome;
	}
	bpf_map_delete_elem(&nethttp_h1_writes, &k);
	return 0;
}

/*
 * HTTP/1.x propagation where the kernel refuses memory writes (feature "socket-propagation"), two uprobe hits per
 * request, both on the transport's writeLoop goroutine:
 *   (*Request).write entry: the mark ("Traceparent: ...\r\n" to insert just after the request line of a message
 *     that starts with "<METHOD> ", unless its header block already has a traceparent, the application's own) is
 *     prepared for this goroutine. A request this process did not register at roundTrip clears the goroutine's.
 *   persistConnWriter.Write entry: the buffered request is about to be written to the connection: the goroutine's
 *     mark moves to the thread that is about to make the write system call (goscope_sockmsg.h). Arming the thread
 *     only here, a few calls before the system call, keeps the goroutine from moving to another thread in between
 *     (which a loaded machine does often enough between Request.write and the flush).
 * A retried request (written again on a new connection) is prepared again.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct call_key);
	__type(value, struct gs_sock_mark);
} nethttp_h1_prepared SEC(".maps");

static const struct gs_sock_mark unarmed_mark;

SEC("uprobe")
int nethttp_arm_request(struct pt_regs *ctx)
{
	const void *req = (const void *)GO_ARG1(ctx);
	struct call_key k = call_key_of(ctx);
	struct header_key hk = {.tgid = k.tgid};
	if (!req || off_request_header == OFFSET_UNSET || go_read_u64_checked(req, off_request_header, &hk.header) != 0 ||
	    !hk.header) {
		bpf_map_delete_elem(&nethttp_h1_prepared, &k);
		return 0;
	}
	struct pending_h1 *p = bpf_map_lookup_elem(&nethttp_pending_h1, &hk);
	if (!p || (p->outcome != NETHTTP_PROPAGATION_NONE && p->outcome != NETHTTP_PROPAGATION_ARMED)) {
		bpf_map_delete_elem(&nethttp_h1_prepared, &k);
		return 0;
	}
	if (p->tls) {
		p->outcome = NETHTTP_PROPAGATION_UNAVAILABLE;
		bpf_map_delete_elem(&nethttp_h1_prepared, &k);
		return 0;
	}
	char method[GS_SOCK_HEAD_MAX] = {};
	__s64 n = go_read_string(req, off_request_method, method, GS_SOCK_HEAD_MAX - 1);
	if (n < 0 || n > GS_SOCK_HEAD_MAX - 1) {
		p->outcome = NETHTTP_PROPAGATION_UNSURE;
		bpf_map_delete_elem(&nethttp_h1_prepared, &k);
		return 0;
	}
	if (n == 0) { /* Go sends "" as GET */
		__builtin_memcpy(method, "GET", 3);
		n = 3;
	}
	if (bpf_map_update_elem(&nethttp_h1_prepared, &k, &unarmed_mark, BPF_ANY) != 0) {
		p->outcome = NETHTTP_PROPAGATION_UNSURE;
		return 0;
	}
	struct gs_sock_mark *m = bpf_map_lookup_elem(&nethttp_h1_prepared, &k);
	if (!m)
		return 0;
	__builtin_memcpy(&m->token, p->ctx.span_id, 8);
	__builtin_memcpy(m->head, method, GS_SOCK_HEAD_MAX);
	if (n < GS_SOCK_HEAD_MAX)
		m->head[n & (GS_SOCK_HEAD_MAX - 1)] = ' ';
	m->head_len = n + 1;
	m->flags = GS_SOCK_AFTER_FIRST_LINE | GS_SOCK_UNLESS_TRACEPARENT;
	m->len = H1_LINE_LEN;
	__builtin_memcpy(m->bytes, "Traceparent: ", 13);
	gs_format_traceparent((char *)m->bytes + 13, p->ctx.trace_id, p->ctx.span_id, p->ctx.trace_flags);
	m->bytes[H1_LINE_LEN - 2] = '\r';
	m->bytes[H1_LINE_LEN - 1] = '\n';
	p->outcome = NETHTTP_PROPAGATION_ARMED;
	return 0;
}

/* Entry of persistConnWriter.Write: this goroutine's prepared mark goes to the thread about to write. */
SEC("uprobe")
int nethttp_arm_flush(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct gs_sock_mark *prepared = bpf_map_lookup_elem(&nethttp_h1_prepared, &k);
	if (!prepared)
		return 0;
	struct gs_sock_mark *m = gs_sock_arm(prepared->token);
	if (m) {
		__builtin_memcpy(m, prepared, sizeof(*m));
		m->armed_ns = bpf_ktime_get_ns();
	}
	bpf_map_delete_elem(&nethttp_h1_prepared, &k);
	return 0;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Outgoing propagation, HTTP/2: append an HPACK field to the HEADERS frame the request goroutine just buffered.
 */

/* Literal header field without indexing, new name (RFC 7541 6.2.2): 0x00, name, value; no Huffman coding. */
#define H2_FIELD_LEN (1 + 1 + 11 + 1 + GS_TRACEPARENT_LEN)
#define H2_FRAME_HEADER 9
#define H2_FRAME_HEADERS 0x1
#define H2_FLAG_END_HEADERS 0x4
#define H2_FLAG_PADDED 0x8
/* The smallest SETTINGS_MAX_FRAME_SIZE a peer may announce: a frame this size is always acceptable. */
#define H2_MIN_MAX_FRAME_SIZE 16384

struct h2_write {
	__u64 framer;
	struct span_key sk;
	struct gs_span_ctx span;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct call_key);
	__type(value, struct h2_write);
} nethttp_h2_writes SEC(".maps");

/* The client span whose request this goroutine writes (inherited from roundTrip), if it still waits to propagate. */
static __always_inline __u8 *pending_h2_of(struct pt_regs *ctx, struct gs_span_ctx *span, struct span_key *sk)
{
	struct gs_goroutine g = gs_current_goroutine(ctx);
	struct gs_span_ctx *active = gs_context_active(&g);
	if (!active || active->origin != GS_ORIGIN_LOCAL)
		return NULL;
	*span = *active;
	*sk = span_key_of(span->span_id, g.tgid);
	return bpf_map_lookup_elem(&nethttp_pending_h2, sk);
}

/* Entry of hpack.(*Encoder).WriteField(e, f HeaderField): f.Name in P2, P3. */
SEC("uprobe")
int nethttp_inject_h2_field(struct pt_regs *ctx)
{
	if (GO_ARG3(ctx) != 11)
		return 0;
	char name[12] = {};
	if (bpf_probe_read_user(name, 11, (const void *)GO_ARG2(ctx)) != 0)
		return 0;
	name[11] = ':';
	if (!is_traceparent_name(name))
		return 0;
	struct gs_span_ctx span = {};
	struct span_key sk = {};
	__u8 *state = pending_h2_of(ctx, &span, &sk);
	if (state && *state == NETHTTP_PROPAGATION_NONE)
		*state = NETHTTP_PROPAGATION_OWN;
	return 0;
}

/* Entry of (*http2Framer).WriteHeaders(f, p): f = P1. */
SEC("uprobe")
int nethttp_inject_h2_entry(struct pt_regs *ctx)
{
	struct h2_write wr = {.framer = GO_ARG1(ctx)};
	__u8 *state = pending_h2_of(ctx, &wr.span, &wr.sk);
	if (!state || *state != NETHTTP_PROPAGATION_NONE)
		return 0;
	struct call_key k = call_key_of(ctx);
	bpf_map_update_elem(&nethttp_h2_writes, &k, &wr, BPF_ANY);
	return 0;
}

SEC("uprobe")
int nethttp_inject_h2_return(struct pt_regs *ctx)
{
	struct call_key k = call_key_of(ctx);
	struct h2_write *wrp = bpf_map_lookup_elem(&nethttp_h2_writes, &k);
	if (!wrp)
		return 0;
	struct h2_write wr = *wrp;
	bpf_map_delete_elem(&nethttp_h2_writes, &k);
	__u8 *state = bpf_map_lookup_elem(&nethttp_pending_h2, &wr.sk);
	if (!state || *state != NETHTTP_PROPAGATION_NONE)
		return 0;
	if (off_h2_framer_w == OFFSET_UNSET || off_h2_framer_wbuf == OFFSET_UNSET) {
		*state = NETHTTP_PROPAGATION_UNSURE;
		return 0;
	}
	/* The frame the framer built (f.wbuf) and the connection's buffered writer it went to (f.w's data word). */
	struct go_slice wbuf = {};
	__u64 bw = go_read_u64((const void *)wr.framer, off_h2_framer_w + 8);
	struct bufio_writer w = {};
	__u8 frame[H2_FRAME_HEADER] = {}, buffered[H2_FRAME_HEADER] = {};
	if (bpf_probe_read_user(&wbuf, sizeof(wbuf), (const void *)(wr.framer + off_h2_framer_wbuf)) != 0 ||
	    !wbuf.ptr || wbuf.len < H2_FRAME_HEADER || read_bufio_writer(bw, &w) != 0 || w.n < wbuf.len ||
	    bpf_probe_read_user(frame, sizeof(frame), wbuf.ptr) != 0 ||
	    bpf_probe_read_user(buffered, sizeof(buffered), (const char *)w.buf.ptr + w.n - wbuf.len) != 0 ||
	    !same_bytes(frame, buffered, sizeof(frame))) {
		*state = NETHTTP_PROPAGATION_UNSURE; /* not (all) in the buffer: written through, or not a bufio.Writer */
		return 0;
	}
	__u32 length = ((__u32)frame[0] << 16) | ((__u32)frame[1] << 8) | frame[2];
	if (frame[3] != H2_FRAME_HEADERS || !(frame[4] & H2_FLAG_END_HEADERS) || (frame[4] & H2_FLAG_PADDED) ||
	    length != wbuf.len - H2_FRAME_HEADER || length + H2_FIELD_LEN > H2_MIN_MAX_FRAME_SIZE ||
	    w.n + H2_FIELD_LEN > w.buf.len) {
		*state = NETHTTP_PROPAGATION_UNSURE;
		return 0;
	}
	char field[H2_FIELD_LEN];
	field[0] = 0x00;
	field[1] = 11;
	__builtin_memcpy(field + 2, "traceparent", 11);
	field[13] = GS_TRACEPARENT_LEN;
	gs_format_traceparent(field + 14, wr.span.trace_id, wr.span.span_id, wr.span.trace_flags);
	length += H2_FIELD_LEN;
	__u8 patched[3] = {length >> 16, length >> 8, length};
	if (bpf_probe_write_user((char *)w.buf.ptr + w.n, field, H2_FIELD_LEN) != 0 ||
	    bpf_probe_write_user((char *)w.buf.ptr + w.n - wbuf.len, patched, 3) != 0) {
		*state = NETHTTP_PROPAGATION_UNSURE;
		return 0;
	}
	__s64 n2 = w.n + H2_FIELD_LEN;
	if (bpf_probe_write_user((void *)(bw + off_bufio_writer_n), &n2, sizeof(n2)) != 0) {
		/* The length is patched but n is not: undo the length so the frame stays as the application wrote it. */
		bpf_probe_write_user((char *)w.buf.ptr + w.n - wbuf.len, frame, 3);
		*state = NETHTTP_PROPAGATION_UNSURE;
		return 0;
	}
	*state = NETHTTP_PROPAGATION_INJECTED;
	return 0;
}
