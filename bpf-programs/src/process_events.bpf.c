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

struct bpf_map;

static long purge_goroutine(struct bpf_map *map, const struct gs_goroutine *key, void *value, __u32 *tgid)
{
	if (key->tgid == *tgid)
		bpf_map_delete_elem(map, key);
	return 0;
}

/*
 * As gs_process_exit, and a traced process's trace contexts go with it: goroutines whose span never ended (the
 * process was killed mid-request) must not become the parents of a later process that gets the same pid. Needs
 * bpf_for_each_map_elem (kernel 5.13); the host loads gs_process_exit instead where the kernel refuses this one.
 */
SEC("tracepoint/sched/sched_process_exit")
int gs_process_exit_purge(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if ((__u32)id != tgid)
		return 0;
	if (bpf_map_lookup_elem(&goscope_processes, &tgid)) {
		bpf_for_each_map_elem(&goscope_goroutines, purge_goroutine, &tgid, 0);
		bpf_for_each_map_elem(&goscope_incoming, purge_goroutine, &tgid, 0);
	}
	return emit(GS_PROCESS_EXIT);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
