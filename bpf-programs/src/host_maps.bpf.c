// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The maps the host shares with every probe object (goscope.h, goscope_context.h): loading this object creates them
 * once, sized by the host; the host keeps their fds and hands them to each object it loads (bpf_map__reuse_fd). It
 * has no programs of its own.
 */
#include "goscope_context.h"
#include "goscope_sockmsg.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
