/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records the net/http probes write into the shared ring buffer.
 *
 * Shared with the Java decoder: io.goscope.plugins.nethttp.NetHttpEventLayout mirrors every offset below, and
 * NetHttpEventLayoutTest compiles this header with the host C compiler and compares offsetof() of every field.
 * Change both together. All integers are little-endian (the host's byte order). A string field comes as its full Go
 * length (-1: unreadable) and its first bytes, up to the buffer's size; a length above the size means truncation.
 *
 * NETHTTP_RECORD_SERVER, struct nethttp_server_event: one per request served.
 *     0     8  hdr              struct gs_record_header {source, type, pid}
 *     8     8  start_ns         bpf_ktime_get_ns() at entry to serverHandler.ServeHTTP
 *    16     8  end_ns           at its return
 *    24    40  trace            struct gs_trace (io.goscope.api.TraceRecord)
 *    64     8  status           raw status of the response writer; 0 = none written (net/http sends 200), -1 unknown
 *    72     8  method_len       Request.Method
 *    80     8  path_len         Request.URL.Path
 *    88     8  proto_len        Request.Proto
 *    96     8  host_len         Request.Host
 *   104     8  remote_addr_len  Request.RemoteAddr
 *   112     8  route_len        the ServeMux pattern that matched (-1: no ServeMux matched on this goroutine)
 *   120     1  tls              1 if Request.TLS != nil
 *   121     7  _pad
 *   128    16  method
 *   144   128  path
 *   272    16  proto
 *   288    64  host
 *   352    64  remote_addr
 *   416    64  route
 *   480        (size)
 *
 * NETHTTP_RECORD_CLIENT, struct nethttp_client_event: one per http.Transport round trip.
 *     0     8  hdr
 *     8     8  start_ns         entry of (*Transport).roundTrip
 *    16     8  end_ns           its return
 *    24    40  trace            struct gs_trace
 *    64     8  status           Response.StatusCode; -1 when there is no response
 *    72     8  error_type       runtime address of the returned error's dynamic type (its itab's type); 0 = no error
 *    80     8  method_len       Request.Method
 *    88     8  scheme_len       Request.URL.Scheme
 *    96     8  host_len         Request.URL.Host
 *   104     8  path_len         Request.URL.Path
 *   112     8  query_len        Request.URL.RawQuery
 *   120     8  proto_len        Response.Proto
 *   128     1  userinfo         1 if Request.URL.User != nil
 *   129     1  propagation      NETHTTP_PROPAGATION_*: what happened to outgoing trace context
 *   130     6  _pad
 *   136    16  method
 *   152    16  scheme
 *   168    64  host
 *   232   128  path
 *   360   128  query
 *   488    16  proto
 *   504        (size)
 *
 * NETHTTP_RECORD_TRACESTATE, struct nethttp_tracestate_event: the tracestate header of a request whose traceparent
 * was valid, written before the server span's record (so the decoder can attach it to the span with that parent).
 *     0     8  hdr
 *     8     8  parent_span_id   the span id of the traceparent it came with
 *    16     8  len              full length of the header value
 *    24   256  value            its first bytes
 *   280        (size)
 */
#ifndef GOSCOPE_NETHTTP_EVENT_H
#define GOSCOPE_NETHTTP_EVENT_H

#include "goscope_types.h"

#define NETHTTP_RECORD_SERVER 1
#define NETHTTP_RECORD_CLIENT 2
#define NETHTTP_RECORD_TRACESTATE 3

#define NETHTTP_METHOD_CAP 16
#define NETHTTP_PATH_CAP 128
#define NETHTTP_PROTO_CAP 16
#define NETHTTP_HOST_CAP 64
#define NETHTTP_REMOTE_ADDR_CAP 64
#define NETHTTP_ROUTE_CAP 64
#define NETHTTP_SCHEME_CAP 16
#define NETHTTP_QUERY_CAP 128
#define NETHTTP_TRACESTATE_CAP 256

/* nethttp_client_event.propagation */
#define NETHTTP_PROPAGATION_NONE 0      /* not enabled for the process, or the request was never written */
#define NETHTTP_PROPAGATION_INJECTED 1  /* Goscope wrote traceparent into the request */
#define NETHTTP_PROPAGATION_OWN 2       /* the application sent its own traceparent: left alone */
#define NETHTTP_PROPAGATION_UNSURE 3    /* the request's layout could not be verified: nothing written */
#define NETHTTP_PROPAGATION_UNAVAILABLE 4 /* only socket-level insertion is possible and the request is TLS */
#define NETHTTP_PROPAGATION_MISSED 5    /* armed for socket-level insertion, but no watched send matched */
#define NETHTTP_PROPAGATION_ARMED 6     /* (in flight only) the sending thread is armed: see goscope_sockmsg.h */

struct nethttp_server_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__s64 status;
	__s64 method_len;
	__s64 path_len;
	__s64 proto_len;
	__s64 host_len;
	__s64 remote_addr_len;
	__s64 route_len;
	__u8 tls;
	__u8 _pad[7];
	char method[NETHTTP_METHOD_CAP];
	char path[NETHTTP_PATH_CAP];
	char proto[NETHTTP_PROTO_CAP];
	char host[NETHTTP_HOST_CAP];
	char remote_addr[NETHTTP_REMOTE_ADDR_CAP];
	char route[NETHTTP_ROUTE_CAP];
};

struct nethttp_client_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__s64 status;
	__u64 error_type;
	__s64 method_len;
	__s64 scheme_len;
	__s64 host_len;
	__s64 path_len;
	__s64 query_len;
	__s64 proto_len;
	__u8 userinfo;
	__u8 propagation;
	__u8 _pad[6];
	char method[NETHTTP_METHOD_CAP];
	char scheme[NETHTTP_SCHEME_CAP];
	char host[NETHTTP_HOST_CAP];
	char path[NETHTTP_PATH_CAP];
	char query[NETHTTP_QUERY_CAP];
	char proto[NETHTTP_PROTO_CAP];
};

struct nethttp_tracestate_event {
	struct gs_record_header hdr;
	__u8 parent_span_id[8];
	__s64 len;
	char value[NETHTTP_TRACESTATE_CAP];
};

_Static_assert(sizeof(struct nethttp_server_event) == 480, "server event layout changed: update NetHttpEventLayout");
_Static_assert(sizeof(struct nethttp_client_event) == 504, "client event layout changed: update NetHttpEventLayout");
_Static_assert(sizeof(struct nethttp_tracestate_event) == 280, "tracestate layout changed: update NetHttpEventLayout");

#endif /* GOSCOPE_NETHTTP_EVENT_H */
