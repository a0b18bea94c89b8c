/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records the grpc-go probes write into the shared ring buffer.
 *
 * Shared with the Java decoder: io.goscope.plugins.grpc.GrpcEventLayout mirrors every offset below, and
 * GrpcEventLayoutTest compiles this header with the host C compiler and compares offsetof() of every field. Change
 * both together. Integers are little-endian. A string comes as its full Go length (-1: unreadable) and its first
 * bytes, up to the buffer's size.
 *
 * struct grpc_addr: a net.Addr interface value as the probe found it (the decoder trusts it only when type_addr is
 * the runtime type *net.TCPAddr).
 *     0     8  type_addr        runtime address of the interface's dynamic type (itab->_type); 0 = nil / unread
 *     8     8  port             TCPAddr.Port
 *    16     8  ip_len           len(TCPAddr.IP): 4 or 16 for an address; anything else is not one
 *    24    16  ip               its bytes
 *    40        (size)
 *
 * GRPC_RECORD_SERVER, struct grpc_server_event: one per RPC served (unary or a whole stream).
 *     0     8  hdr              struct gs_record_header {source, type, pid}
 *     8     8  start_ns         entry of grpc.(*Server).handleStream
 *    16     8  end_ns           its return
 *    24    40  trace            struct gs_trace (io.goscope.api.TraceRecord)
 *    64     8  status           the gRPC status code the server wrote (0..16); -1 when none was seen
 *    72     8  transport_type   runtime type of the ServerTransport (*transport.http2Server for the addresses)
 *    80     8  method_len       Stream.method ("/package.Service/Method")
 *    88    40  peer             struct grpc_addr: the connection's remote address
 *   128    40  local            struct grpc_addr: its local address
 *   168   128  method
 *   296        (size)
 *
 * GRPC_RECORD_CLIENT, struct grpc_client_event: one per call through grpc.ClientConn (Invoke, or a whole stream).
 *     0     8  hdr
 *     8     8  start_ns         entry of (*ClientConn).Invoke / (*ClientConn).NewStream
 *    16     8  end_ns           Invoke's return; for a stream, (*clientStream).finish (or NewStream's failed return)
 *    24    40  trace            struct gs_trace
 *    64     8  error_type       runtime type of the call's error (0 = none): *status.Error carries a code
 *    72     8  error_code       the code read as if the error were a *status.Error (s *spb.Status -> Code); -1 unread
 *    80     8  error_text_len   the error read as if it were an *errors.errorString (io.EOF ends a stream well)
 *    88     8  method_len       the method argument
 *    96     8  target_len       ClientConn.target
 *   104     1  stream           1 for NewStream, 0 for Invoke
 *   105     1  propagation      GRPC_PROPAGATION_*: what happened to outgoing trace context
 *   106     6  _pad
 *   112    16  error_text
 *   128   128  method
 *   256    64  target
 *   320        (size)
 *
 * GRPC_RECORD_TRACESTATE, struct grpc_tracestate_event: the tracestate metadata of a call whose traceparent was
 * valid, written before the server span's record.
 *     0     8  hdr
 *     8     8  parent_span_id   the span id of the traceparent it came with
 *    16     8  len              full length of the value
 *    24   256  value            its first bytes
 *   280        (size)
 */
#ifndef GOSCOPE_GRPC_EVENT_H
#define GOSCOPE_GRPC_EVENT_H

#include "goscope_types.h"

#define GRPC_RECORD_SERVER 1
#define GRPC_RECORD_CLIENT 2
#define GRPC_RECORD_TRACESTATE 3

#define GRPC_METHOD_CAP 128
#define GRPC_TARGET_CAP 64
#define GRPC_ERROR_TEXT_CAP 16
#define GRPC_TRACESTATE_CAP 256

/* grpc_client_event.propagation */
#define GRPC_PROPAGATION_NONE 0     /* not enabled for the process, or the headers were never written */
#define GRPC_PROPAGATION_INJECTED 1 /* Goscope wrote traceparent into the call's HEADERS frame */
#define GRPC_PROPAGATION_OWN 2      /* the call's metadata carried its own traceparent: left alone */
#define GRPC_PROPAGATION_UNSURE 3   /* the frame's layout could not be verified: nothing written */

struct grpc_addr {
	__u64 type_addr;
	__s64 port;
	__s64 ip_len;
	__u8 ip[16];
};

struct grpc_server_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__s64 status;
	__u64 transport_type;
	__s64 method_len;
	struct grpc_addr peer;
	struct grpc_addr local;
	char method[GRPC_METHOD_CAP];
};

struct grpc_client_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__u64 error_type;
	__s64 error_code;
	__s64 error_text_len;
	__s64 method_len;
	__s64 target_len;
	__u8 stream;
	__u8 propagation;
	__u8 _pad[6];
	char error_text[GRPC_ERROR_TEXT_CAP];
	char method[GRPC_METHOD_CAP];
	char target[GRPC_TARGET_CAP];
};

struct grpc_tracestate_event {
	struct gs_record_header hdr;
	__u8 parent_span_id[8];
	__s64 len;
	char value[GRPC_TRACESTATE_CAP];
};

_Static_assert(sizeof(struct grpc_addr) == 40, "address layout changed: update GrpcEventLayout");
_Static_assert(sizeof(struct grpc_server_event) == 296, "server event layout changed: update GrpcEventLayout");
_Static_assert(sizeof(struct grpc_client_event) == 320, "client event layout changed: update GrpcEventLayout");
_Static_assert(sizeof(struct grpc_tracestate_event) == 280, "tracestate layout changed: update GrpcEventLayout");

#endif /* GOSCOPE_GRPC_EVENT_H */
