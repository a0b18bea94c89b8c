/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record the database/sql probes write into the shared ring buffer: one per query, exec, prepare, prepared
 * statement run, BEGIN, COMMIT and ROLLBACK.
 *
 * Shared with the Java decoder: io.goscope.plugins.databasesql.DatabaseSqlEventLayout mirrors every offset below,
 * and DatabaseSqlEventLayoutTest compiles this header with the host C compiler and compares offsetof() of every
 * field. All integers are little-endian. The query comes as its full Go length (-1: none or unreadable) and its first
 * DBSQL_QUERY_CAP bytes; a length above the cap means the text was truncated.
 *
 * DBSQL_RECORD_OP, struct dbsql_event:
 *     0     8  hdr              struct gs_record_header {source, type, pid}
 *     8     8  start_ns         bpf_ktime_get_ns() at the hooked function's entry
 *    16     8  end_ns           at its return
 *    24    40  trace            struct gs_trace (io.goscope.api.TraceRecord)
 *    64     8  connector_type   runtime type address of the DB's driver.Connector (the driver's, or
 *                               database/sql.dsnConnector for drivers without a connector); 0 = unreadable
 *    72     8  driver_type      for a dsnConnector: runtime type address of its driver.Driver; else 0
 *    80     8  error_type       runtime type address of the returned error's dynamic type; 0 = no error,
 *                               1 = an error whose type could not be read
 *    88     8  query_len        full length of the SQL text; -1 = none (BEGIN, COMMIT, ROLLBACK) or unreadable
 *    96     1  op               DBSQL_OP_*
 *    97     7  _pad
 *   104  1024  query            the first bytes of the SQL text
 *  1128        (size)
 */
#ifndef GOSCOPE_DATABASESQL_EVENT_H
#define GOSCOPE_DATABASESQL_EVENT_H

#include "goscope_types.h"

#define DBSQL_RECORD_OP 1

#define DBSQL_QUERY_CAP 1024

/* dbsql_event.op: which database/sql function the span covers. */
#define DBSQL_OP_QUERY 1      /* (*DB).queryDC: DB, Conn and Tx Query/QueryRow */
#define DBSQL_OP_EXEC 2       /* (*DB).execDC: DB, Conn and Tx Exec */
#define DBSQL_OP_PREPARE 3    /* (*DB).prepareDC: DB, Conn and Tx Prepare */
#define DBSQL_OP_STMT_QUERY 4 /* (*Stmt).QueryContext: a prepared statement's Query/QueryRow */
#define DBSQL_OP_STMT_EXEC 5  /* (*Stmt).ExecContext: a prepared statement's Exec */
#define DBSQL_OP_BEGIN 6      /* (*DB).beginDC: DB and Conn BeginTx/Begin */
#define DBSQL_OP_COMMIT 7     /* (*Tx).Commit */
#define DBSQL_OP_ROLLBACK 8   /* (*Tx).rollback: Tx.Rollback, and a Tx whose context ended */

struct dbsql_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__u64 connector_type;
	__u64 driver_type;
	__u64 error_type;
	__s64 query_len;
	__u8 op;
	__u8 _pad[7];
	char query[DBSQL_QUERY_CAP];
};

_Static_assert(sizeof(struct dbsql_event) == 1128, "dbsql_event layout changed: update DatabaseSqlEventLayout");

#endif /* GOSCOPE_DATABASESQL_EVENT_H */
