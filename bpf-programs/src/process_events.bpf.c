// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process life-cycle events for the agent's discovery: one record per exec and per process (thread-group) exit,
 * written to the shared ring buffer with source id 0 (reserved for the host). Tracepoints, not kprobes: the
 * reference kernel has no kprobes.
 */
#include "goscope_context.h"

#define GS_PROCESS_EXEC 1
#define GS_PROCESS_EXIT 2

struct gs_process_event {
	struct gs_record_header hdr;
	__u64 ktime_ns;
};

/* Layout of sched:sched_process_exec (see /sys/kernel/tracing/events/sched/sched_process_exec/format). */
struct sched_process_exec_args {
	__u64 common;          /* common_type, flags, preempt_count, pid */
	__u32 filename_loc;    /* __data_loc char[] filename */
	__s32 pid;
	__s32 old_pid;
};

static __always_inline int emit(__u16 type)
{
	struct gs_process_event *e = gs_reserve(sizeof(*e), type);
	if (!e)
		return 0;
	e->ktime_ns = bpf_ktime_get_ns();
	gs_submit(e);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int gs_process_exec(struct sched_process_exec_args *ctx)
{
	return emit(GS_PROCESS_EXEC);
}

SEC("tracepoint/sched/sched_process_exit")
int gs_process_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	/* Only the thread-group leader's exit ends the process. */
	if ((__u32)id != (__u32)(id >> 32))
		return 0;
	return emit(GS_PROCESS_EXIT);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
