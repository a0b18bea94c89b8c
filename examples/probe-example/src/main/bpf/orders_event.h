/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record the example probe writes into the shared ring buffer: one per main.processOrder call.
 *
 * Shared with the Java decoder: io.goscope.examples.orders.OrderEventDecoder mirrors every offset below, and the
 * _Static_asserts at the end stop the BPF build when a field moves. Change both together. All integers are
 * little-endian (the host's byte order).
 *
 * ORDERS_RECORD_ORDER, struct orders_order_event:
 *     0     8  hdr        struct gs_record_header {source, type, pid} (the kit's goscope_types.h)
 *     8     8  start_ns   bpf_ktime_get_ns() at entry to main.processOrder
 *    16     8  end_ns     at its return
 *    24    40  trace      struct gs_trace (io.goscope.api.TraceRecord): ids of this span and of its parent
 *    64     8  order_id   the first argument, id int
 *    72     8  query_len  full length of source.RawQuery; -1: unreadable or its offset unknown
 *    80     4  cookie     the low 32 bits of the uprobe's BPF cookie (FunctionProbe.cookie())
 *    84     4  _pad
 *    88    64  query      the first bytes of source.RawQuery (query_len > 64: truncated)
 *   152        (size)
 */
#ifndef ORDERS_EVENT_H
#define ORDERS_EVENT_H

#include "goscope_types.h"

#if GOSCOPE_KIT_ABI != 1
#error "written for the probe-kit ABI 1 (GOSCOPE_KIT_ABI)"
#endif

#define ORDERS_RECORD_ORDER 1

#define ORDERS_QUERY_CAP 64

struct orders_order_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__s64 order_id;
	__s64 query_len;
	__u32 cookie;
	__u32 _pad;
	char query[ORDERS_QUERY_CAP];
};

_Static_assert(__builtin_offsetof(struct orders_order_event, start_ns) == 8, "OrderEventDecoder.START_NS");
_Static_assert(__builtin_offsetof(struct orders_order_event, end_ns) == 16, "OrderEventDecoder.END_NS");
_Static_assert(__builtin_offsetof(struct orders_order_event, trace) == 24, "OrderEventDecoder.TRACE");
_Static_assert(__builtin_offsetof(struct orders_order_event, order_id) == 64, "OrderEventDecoder.ORDER_ID");
_Static_assert(__builtin_offsetof(struct orders_order_event, query_len) == 72, "OrderEventDecoder.QUERY_LEN");
_Static_assert(__builtin_offsetof(struct orders_order_event, cookie) == 80, "OrderEventDecoder.COOKIE");
_Static_assert(__builtin_offsetof(struct orders_order_event, query) == 88, "OrderEventDecoder.QUERY");
_Static_assert(sizeof(struct orders_order_event) == 152, "OrderEventDecoder.SIZE");

#endif /* ORDERS_EVENT_H */
