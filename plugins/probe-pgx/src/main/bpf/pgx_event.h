/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records the pgx v5 probes write into the shared ring buffer. Shared with the Java decoder:
 * io.goscope.plugins.pgx.PgxEventLayout mirrors every offset, PgxEventLayoutTest checks them with the host C
 * compiler. Strings come as their full Go length (-1: unreadable) and their first bytes; a length above the buffer's
 * size means truncation.
 *
 * PGX_RECORD_OP, struct pgx_event: one per (*Conn).Query (also QueryRow) and (*Conn).Exec, pool calls included.
 *     0     8  hdr            struct gs_record_header
 *     8     8  start_ns
 *    16     8  end_ns
 *    24    40  trace          struct gs_trace
 *    64     8  error_type     runtime type address of the returned error's type; 0 none; 1 unreadable
 *    72     8  host_len       ConnConfig.Host
 *    80     8  database_len   ConnConfig.Database
 *    88     8  query_len      the SQL text
 *    96     2  port           ConnConfig.Port (0: unknown)
 *    98     1  op             PGX_OP_*
 *    99     5  _pad
 *   104    64  host
 *   168    64  database
 *   232  1024  query
 *  1256        (size)
 *
 * PGX_RECORD_BATCH, struct pgx_batch_event: one per (*Conn).SendBatch.
 *     0   104  as struct pgx_event up to op (query_len: unused, -1; op PGX_OP_BATCH)
 *   104    64  host
 *   168    64  database
 *   232     8  batch_size     len(Batch.QueuedQueries)
 *   240    32  query_lens[4]  the first four queued queries' lengths (-1: absent or unreadable)
 *   272  1024  queries[4][256]
 *  1296        (size)
 */
#ifndef GOSCOPE_PGX_EVENT_H
#define GOSCOPE_PGX_EVENT_H

#include "goscope_types.h"

#define PGX_RECORD_OP 1
#define PGX_RECORD_BATCH 2

#define PGX_HOST_CAP 64
#define PGX_DATABASE_CAP 64
#define PGX_QUERY_CAP 1024
#define PGX_BATCH_QUERIES 4
#define PGX_BATCH_QUERY_CAP 256

#define PGX_OP_QUERY 1
#define PGX_OP_EXEC 2
#define PGX_OP_BATCH 3

struct pgx_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__u64 error_type;
	__s64 host_len;
	__s64 database_len;
	__s64 query_len;
	__u16 port;
	__u8 op;
	__u8 _pad[5];
	char host[PGX_HOST_CAP];
	char database[PGX_DATABASE_CAP];
	char query[PGX_QUERY_CAP];
};

struct pgx_batch_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__u64 error_type;
	__s64 host_len;
	__s64 database_len;
	__s64 query_len;
	__u16 port;
	__u8 op;
	__u8 _pad[5];
	char host[PGX_HOST_CAP];
	char database[PGX_DATABASE_CAP];
	__s64 batch_size;
	__s64 query_lens[PGX_BATCH_QUERIES];
	char queries[PGX_BATCH_QUERIES][PGX_BATCH_QUERY_CAP];
};

_Static_assert(sizeof(struct pgx_event) == 1256, "pgx_event layout changed: update PgxEventLayout");
_Static_assert(sizeof(struct pgx_batch_event) == 1296, "pgx_batch_event layout changed: update PgxEventLayout");

#endif /* GOSCOPE_PGX_EVENT_H */
