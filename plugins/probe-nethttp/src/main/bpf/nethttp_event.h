/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record the net/http server probes write into the shared ring buffer, one per served request.
 *
 * Shared with the Java decoder: io.goscope.plugins.nethttp.NetHttpEventLayout mirrors every offset below, and
 * NetHttpEventLayoutTest compiles this header with the host C compiler and compares offsetof() of every field.
 * Change both together. All integers are little-endian (the host's byte order).
 *
 * Offset  Size  Field
 *      0     8  hdr              struct gs_record_header {source, type = NETHTTP_RECORD_SERVER, pid}
 *      8     8  start_ns         bpf_ktime_get_ns() at entry to serverHandler.ServeHTTP
 *     16     8  end_ns           bpf_ktime_get_ns() at the return instruction
 *     24    16  trace_id         random W3C trace id (all zero would be invalid; the decoder passes it through)
 *     40     8  span_id          random span id of this server span
 *     48     8  parent_span_id   parent span id; zero (root span) until traceparent propagation exists
 *     56     8  status           raw status of the response writer (http.response.status, or
 *                                http2responseWriterState.status for HTTP/2); 0 = handler wrote no header (net/http
 *                                sends 200), -1 = unknown (writer not readable or, for Proto HTTP/2.0, not identified)
 *     64     8  method_len       full Go length of Request.Method; -1 if unreadable
 *     72     8  path_len         full Go length of Request.URL.Path; -1 if unreadable (or URL nil)
 *     80     8  proto_len        full Go length of Request.Proto; -1 if unreadable
 *     88     8  host_len         full Go length of Request.Host; -1 if unreadable
 *     96     8  remote_addr_len  full Go length of Request.RemoteAddr; -1 if unreadable
 *    104     1  tls              1 if Request.TLS != nil, else 0
 *    105     7  _pad             zero
 *    112    16  method           first min(method_len, 16) bytes of Request.Method, not NUL-terminated
 *    128   128  path             first min(path_len, 128) bytes of Request.URL.Path
 *    256    16  proto            first min(proto_len, 16) bytes of Request.Proto, e.g. "HTTP/1.1"
 *    272    64  host             first min(host_len, 64) bytes of Request.Host, e.g. "example.com:8080"
 *    336    64  remote_addr      first min(remote_addr_len, 64) bytes of Request.RemoteAddr, e.g. "[::1]:4242"
 *    400        (total size)
 *
 * A length larger than its buffer means the string was truncated; the decoder uses the copied prefix as-is.
 * Buffer sizes are powers of two so the BPF side can bound copies cheaply.
 */
#ifndef GOSCOPE_NETHTTP_EVENT_H
#define GOSCOPE_NETHTTP_EVENT_H

#include "goscope.h"

/* gs_record_header.type of the one record this probe set writes. */
#define NETHTTP_RECORD_SERVER 1

#define NETHTTP_METHOD_CAP 16
#define NETHTTP_PATH_CAP 128
#define NETHTTP_PROTO_CAP 16
#define NETHTTP_HOST_CAP 64
#define NETHTTP_REMOTE_ADDR_CAP 64

struct nethttp_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	__s64 status;
	__s64 method_len;
	__s64 path_len;
	__s64 proto_len;
	__s64 host_len;
	__s64 remote_addr_len;
	__u8 tls;
	__u8 _pad[7];
	char method[NETHTTP_METHOD_CAP];
	char path[NETHTTP_PATH_CAP];
	char proto[NETHTTP_PROTO_CAP];
	char host[NETHTTP_HOST_CAP];
	char remote_addr[NETHTTP_REMOTE_ADDR_CAP];
};

_Static_assert(sizeof(struct nethttp_event) == 400, "nethttp_event layout changed: update NetHttpEventLayout");

#endif /* GOSCOPE_NETHTTP_EVENT_H */
