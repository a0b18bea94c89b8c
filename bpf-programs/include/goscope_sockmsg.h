/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Socket-level insertion: how a probe set adds bytes to a request the traced process is about to send without
 * writing into the process's memory (which kernel lockdown forbids: bpf_probe_write_user is refused).
 *
 * A uprobe that sees a request about to be written "arms" the thread that will send it: where the bytes go (an
 * offset in the message, or just after its first line), how to recognise the message (its first bytes, and the two
 * bytes before the offset), whether a traceparent already in the message means "leave it alone" (the application's
 * own), and the bytes. The host's socket programs (sock_propagation.bpf.c) do the
 * rest: a sock_ops program puts the TCP connections that selected processes with propagation open into a socket
 * hash, and an sk_msg program, run on each send on those sockets by the sending thread, inserts the bytes
 * (bpf_msg_push_data) when the thread is armed and the message matches, then records the outcome under the arming
 * probe's token (for example the client span id), where the probe reads it when its call returns.
 *
 *   struct gs_sock_mark *m = gs_sock_arm(token);            at the uprobe, on the sending thread
 *   m->offset = ...; m->head_len = ...; copy m->head, m->anchor, m->bytes; m->len = ...; m->armed_ns = now;
 *   ...
 *   int outcome = gs_sock_outcome_take(token);              later, on any thread of the process
 *
 * A message that does not match leaves the mark alone; a newer arming on the same thread replaces it; a mark older
 * than GS_SOCK_MARK_TTL_NS is dropped. Only cleartext TCP can be written this way: a TLS connection's messages are
 * ciphertext and never match. The maps belong to the host (created once, handed to every object before load).
 */
#ifndef GOSCOPE_SOCKMSG_H
#define GOSCOPE_SOCKMSG_H

#include "goscope.h"

#define GS_SOCK_HEAD_MAX 16
#define GS_SOCK_INSERT_MAX 128
#define GS_SOCK_MARK_TTL_NS 1000000000ULL

/* gs_sock_mark.flags */
#define GS_SOCK_AFTER_FIRST_LINE 0x1 /* offset = just after the message's first line (its first '\n') */
#define GS_SOCK_UNLESS_TRACEPARENT 0x2 /* not when the header block (up to its empty line) has a traceparent line,
					* in any letter case: the application's own (W3C trace context) */
#define GS_SOCK_SCAN_MAX 4096        /* bytes of a message searched for its first line and header block */

/* gs_sock_outcomes values */
#define GS_SOCK_INSERTED 1
#define GS_SOCK_SKIPPED 2 /* GS_SOCK_UNLESS_TRACEPARENT: the message had its own */
#define GS_SOCK_UNSURE 3  /* the first line or the header block's end was not within the message: nothing inserted */

/* What a thread is armed to insert into the next message it sends that matches. */
struct gs_sock_mark {
	__u64 armed_ns;  /* bpf_ktime_get_ns() when armed; 0 = unarmed */
	__u64 token;     /* the arming probe's key for the outcome (e.g. a span id) */
	__u32 offset;    /* where in the message the bytes go (>= GS_SOCK_HEAD_MAX), unless GS_SOCK_AFTER_FIRST_LINE */
	__u16 len;       /* bytes to insert, <= GS_SOCK_INSERT_MAX */
	__u8 head_len;   /* how many of head[] the message must start with, 1..GS_SOCK_HEAD_MAX */
	__u8 flags;      /* GS_SOCK_* */
	__u8 head[GS_SOCK_HEAD_MAX];
	__u8 anchor[2];  /* the message's two bytes just before offset (e.g. "\r\n"); unused with AFTER_FIRST_LINE */
	__u8 _pad[6];
	__u8 bytes[GS_SOCK_INSERT_MAX];
};

_Static_assert(sizeof(struct gs_sock_mark) == 176, "gs_sock_mark layout");

/* The outcome key: the arming probe's token in its process. */
struct gs_sock_token {
	__u64 token;
	__u32 tgid;
	__u32 _pad;
};

/* Armed threads, by pid_tgid (the sending thread). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct gs_sock_mark);
} goscope_sock_marks SEC(".maps");

/* What happened to armed messages, by token: GS_SOCK_INSERTED, _SKIPPED or _UNSURE. Taken by the arming probe. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct gs_sock_token);
	__type(value, __u8);
} goscope_sock_outcomes SEC(".maps");

static const struct gs_sock_mark gs_sock_unarmed;

/*
 * Arms the current thread: returns its mark, zeroed but for token, for the caller to fill (armed_ns last), or NULL
 * when the map refused.
 */
static __always_inline struct gs_sock_mark *gs_sock_arm(__u64 token)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&goscope_sock_marks, &id, &gs_sock_unarmed, BPF_ANY) != 0)
		return NULL;
	struct gs_sock_mark *m = bpf_map_lookup_elem(&goscope_sock_marks, &id);
	if (m)
		m->token = token;
	return m;
}

/* Disarms the current thread (its next message must carry nothing). */
static __always_inline void gs_sock_disarm(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&goscope_sock_marks, &id);
}

/* The outcome of the message armed under token in this process (GS_SOCK_*), 0 if none was seen; consumed. */
static __always_inline int gs_sock_outcome_take(__u64 token)
{
	struct gs_sock_token k = {.token = token, .tgid = bpf_get_current_pid_tgid() >> 32};
	__u8 *v = bpf_map_lookup_elem(&goscope_sock_outcomes, &k);
	if (!v)
		return 0;
	int outcome = *v;
	bpf_map_delete_elem(&goscope_sock_outcomes, &k);
	return outcome;
}

#endif /* GOSCOPE_SOCKMSG_H */
