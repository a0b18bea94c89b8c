/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record the go-redis v9 probes write: one per command and one per pipeline (or MULTI/EXEC transaction).
 * Shared with the Java decoder: io.goscope.plugins.redis.RedisEventLayout mirrors every offset, RedisEventLayoutTest
 * checks them with the host C compiler. Only command names and argument counts are copied, never an argument.
 *
 * REDIS_RECORD_OP, struct redis_event:
 *     0     8  hdr            struct gs_record_header
 *     8     8  start_ns
 *    16     8  end_ns
 *    24    40  trace          struct gs_trace
 *    64     8  error_type     runtime type address of the returned error's type; 0 none; 1 unreadable
 *    72     8  db             Options.DB (-1: unknown)
 *    80     8  addr_len       Options.Addr ("host:port")
 *    88     8  cmd_count      commands in the pipeline (1 for a single command); -1 unreadable
 *    96    64  arg_counts[8]  each of the first eight commands' number of arguments, name included (-1: unreadable)
 *   160    64  name_lens[8]   each one's name length (-1: unreadable)
 *   224     1  kind           REDIS_KIND_*
 *   225     1  nil_reply      1 when the error is go-redis's Nil ("redis: nil": a missing key, not a failure)
 *   226     6  _pad
 *   232    64  addr
 *   296   256  names[8][32]   the command names (args[0]) as sent, e.g. "get"
 *   552        (size)
 */
#ifndef GOSCOPE_REDIS_EVENT_H
#define GOSCOPE_REDIS_EVENT_H

#include "goscope_types.h"

#define REDIS_RECORD_OP 1

#define REDIS_ADDR_CAP 64
#define REDIS_MAX_CMDS 8
#define REDIS_NAME_CAP 32

#define REDIS_KIND_COMMAND 1
#define REDIS_KIND_PIPELINE 2
#define REDIS_KIND_TRANSACTION 3

struct redis_event {
	struct gs_record_header hdr;
	__u64 start_ns;
	__u64 end_ns;
	struct gs_trace trace;
	__u64 error_type;
	__s64 db;
	__s64 addr_len;
	__s64 cmd_count;
	__s64 arg_counts[REDIS_MAX_CMDS];
	__s64 name_lens[REDIS_MAX_CMDS];
	__u8 kind;
	__u8 nil_reply;
	__u8 _pad[6];
	char addr[REDIS_ADDR_CAP];
	char names[REDIS_MAX_CMDS][REDIS_NAME_CAP];
};

_Static_assert(sizeof(struct redis_event) == 552, "redis_event layout changed: update RedisEventLayout");

#endif /* GOSCOPE_REDIS_EVENT_H */
