/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The plain data types of the probe-set kit: the record header every ring-buffer record starts with, the trace fields
 * of span records, and what the host writes for the probes to read. No BPF helpers here, so that a plugin's Java
 * layout test can compile its event header (which includes this one) with the host C compiler.
 *
 * Java mirrors: struct gs_record_header is io.goscope.api.RecordHeader, struct gs_trace io.goscope.api.TraceRecord.
 */
#ifndef GOSCOPE_TYPES_H
#define GOSCOPE_TYPES_H

#include <linux/types.h>

/*
 * Version of the kit's binary contract with the host: the structs and map names of these headers and the rules of
 * io.goscope.api.ProbeSetDescriptor. Raised only by an incompatible change (a struct layout, a shared map, a host
 * constant); additions keep it. The kit artifact (io.goscope:goscope-probe-kit) records it in
 * goscope-probe-kit.properties (abi=...). A probe set can pin the contract it was written for:
 *
 *   #if GOSCOPE_KIT_ABI != 1
 *   #error "written for probe-kit ABI 1"
 *   #endif
 */
#define GOSCOPE_KIT_ABI 1

/* Every record starts with this header (8 bytes). */
struct gs_record_header {
	__u16 source; /* set from goscope_source: which probe set wrote the record */
	__u16 type;   /* probe-set specific record type */
	__u32 pid;    /* tgid in the host pid namespace */
};

/* A span context as it travels between probes: W3C ids and flags. */
struct gs_span_ctx {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 trace_flags; /* W3C trace flags; bit 0 = sampled */
	__u8 origin;      /* GS_ORIGIN_* */
	__u8 _pad[6];
};

/* A span we started in this process. */
#define GS_ORIGIN_LOCAL 1
/* A parent that came in with a request (traceparent): only server spans take it. */
#define GS_ORIGIN_REMOTE 2

#define GS_TRACE_FLAG_SAMPLED 0x01

/* The trace fields of a span record (io.goscope.api.TraceRecord, 40 bytes). */
struct gs_trace {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8]; /* zero for a root span */
	__u8 trace_flags;
	__u8 parent_remote;     /* 1 when the parent came from another process */
	__u8 _pad[6];
};

_Static_assert(sizeof(struct gs_trace) == 40, "gs_trace layout is mirrored by io.goscope.api.TraceRecord");

/* A goroutine of a process. */
struct gs_goroutine {
	__u32 tgid;
	__u32 _pad;
	__u64 goid;
};

/* What the host decided about a traced process (written by the host when the rules select it). */
struct gs_process {
	/* A new trace is sampled when a random u32 is below this; 1 << 32 (or more) keeps every trace. */
	__u64 sample_threshold;
	/* Bit n set: probe set with source id n records for this process (the rules may enable only some sets). */
	__u64 sources;
	__u32 flags; /* GS_PROCESS_* */
	__u32 _pad;
};

/* The rules enabled outgoing trace-context propagation for this process. */
#define GS_PROCESS_PROPAGATE 0x1

/* The process was selected by its binary before the host saw it (see gs_process_get); the host confirms it. */
#define GS_PROCESS_PROVISIONAL 0x2
/* The host decided against the process: probes of an instrumented binary it runs do nothing. */
#define GS_PROCESS_DECLINED 0x4

/*
 * Binaries attached for all their processes, by the id the host puts in the high 32 bits of every uprobe's cookie.
 * When such a binary's processes are all selected alike (a Deployment's pods, a restarted process), the host sets
 * GS_BINARY_SELECT_NEW and the process fields new processes get: a process the host has not seen yet (a pod
 * restarted a millisecond ago, a CLI that exits before the host could read /proc) is then traced from its first
 * probe hit; gs_process_get records it with GS_PROCESS_PROVISIONAL and tells the host (GS_HOST_PROCESS_SEEN).
 */
struct gs_binary {
	struct gs_process process; /* given to the binary's new processes */
	__u32 flags;               /* GS_BINARY_* */
	__u32 _pad;
};
#define GS_BINARY_SELECT_NEW 0x1

/* Host record (source 0) type: a process was selected by its binary's cookie (struct gs_process_seen). */
#define GS_HOST_PROCESS_SEEN 3

struct gs_process_seen {
	struct gs_record_header hdr;
	__u32 binary; /* the binary id from the cookie */
	__u32 _pad;
};

#endif /* GOSCOPE_TYPES_H */
