/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by every Goscope BPF object: the record header, the shared ring buffer, loss counting and
 * debug printing. The Java side mirrors struct gs_record_header in io.goscope.api.RecordHeader.
 */
#ifndef GOSCOPE_H
#define GOSCOPE_H

#include "goscope_types.h"
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>


/*
 * The shared ring buffer. Each object declares it; the host swaps in its own map (bpf_map__reuse_fd) before
 * load, so every probe of every process writes into one buffer. max_entries here only has to be valid.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 64);
} goscope_events SEC(".maps");

/*
 * Records that could not be reserved because the ring buffer was full, per CPU and per source id (the key). Owned
 * by the host like the ring buffer (one map for every object, so the counts survive detaches); read by the host.
 */
#define GS_MAX_SOURCES 256
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_MAX_SOURCES);
	__type(key, __u32);
	__type(value, __u64);
} goscope_lost SEC(".maps");

/* Host-assigned id of the probe set that owns this object. */
const volatile __u16 goscope_source = 0;

#ifdef BPF_DEBUG
#define gs_debug(fmt, ...) bpf_printk(fmt, ##__VA_ARGS__)
#else
#define gs_debug(fmt, ...) do { } while (0)
#endif

/* Reserves a record of `size` bytes and fills its header; counts and returns NULL when the buffer is full. */
static __always_inline void *gs_reserve(__u32 size, __u16 type)
{
	struct gs_record_header *h = bpf_ringbuf_reserve(&goscope_events, size, 0);
	if (!h) {
		__u32 source = goscope_source;
		__u64 *n = bpf_map_lookup_elem(&goscope_lost, &source);
		if (n)
			*n += 1;
		return NULL;
	}
	h->source = goscope_source;
	h->type = type;
	h->pid = bpf_get_current_pid_tgid() >> 32;
	return h;
}

/*
 * Submits without waking the consumer: the host drains the buffer on a timer. Waking per event cost about a
 * third of a traced server's throughput on the reference VM.
 */
static __always_inline void gs_submit(void *record)
{
	bpf_ringbuf_submit(record, BPF_RB_NO_WAKEUP);
}

#endif /* GOSCOPE_H */
