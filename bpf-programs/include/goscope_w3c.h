/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) in BPF: parsing an incoming traceparent value into a
 * struct gs_span_ctx and writing one for an outgoing request. Both work on fixed-size buffers with unrolled loops, so
 * the verifier sees constant bounds.
 *
 *   traceparent = version "-" trace-id "-" parent-id "-" trace-flags
 *                 2 hex      32 hex        16 hex         2 hex        (55 characters for version 00)
 *
 * Lowercase hex only, as the specification requires; version ff, an all-zero trace id or an all-zero parent id make
 * the whole header invalid, and an invalid header is ignored (the server span starts a new trace), never trusted.
 */
#ifndef GOSCOPE_W3C_H
#define GOSCOPE_W3C_H

#include "goscope_context.h"

#define GS_TRACEPARENT_LEN 55

/* Value of a lowercase hex digit, or -1. */
static __always_inline int gs_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes 2*n lowercase hex digits into n bytes; returns 0, or -1 on a non-hex digit. n is a constant. */
static __always_inline int gs_hex_decode(const char *src, __u8 *dst, int n)
{
	int bad = 0;
#pragma unroll
	for (int i = 0; i < n; i++) {
		int hi = gs_hex_value(src[2 * i]);
		int lo = gs_hex_value(src[2 * i + 1]);
		bad |= (hi | lo) < 0;
		dst[i] = (__u8)((hi << 4) | (lo & 0xf));
	}
	return bad ? -1 : 0;
}

/*
 * Parses a traceparent value. s holds the value's first 55 characters; len is the value's full length (after
 * optional whitespace was trimmed by the caller). Version 00 must be exactly 55 characters; a later version may be
 * longer if character 55 is '-' (the specification's rule for future versions). On success fills out with origin
 * GS_ORIGIN_REMOTE and returns 0; returns -1 for anything malformed.
 */
static __always_inline int gs_parse_traceparent(const char *s, __u64 len, struct gs_span_ctx *out)
{
	if (len < GS_TRACEPARENT_LEN)
		return -1;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -1;
	__u8 version = 0;
	if (gs_hex_decode(s, &version, 1) != 0 || version == 0xff)
		return -1;
	if (version == 0 && len != GS_TRACEPARENT_LEN)
		return -1;
	if (gs_hex_decode(s + 3, out->trace_id, 16) != 0)
		return -1;
	if (gs_hex_decode(s + 36, out->span_id, 8) != 0)
		return -1;
	if (gs_hex_decode(s + 53, &out->trace_flags, 1) != 0)
		return -1;
	if (!gs_ctx_valid(out))
		return -1;
	out->trace_flags &= GS_TRACE_FLAG_SAMPLED; /* only the flags this version defines */
	out->origin = GS_ORIGIN_REMOTE;
	__builtin_memset(out->_pad, 0, sizeof(out->_pad));
	return 0;
}

static __always_inline char gs_hex_digit(__u8 v)
{
	return v < 10 ? '0' + v : 'a' + (v - 10);
}

/*
 * Writes the 55-character traceparent of span (trace_id, span_id) with flags into dst. Real loops, not unrolled ones:
 * unrolled, clang keeps every digit live at once and spills past the 512-byte stack in larger programs.
 */
static __always_inline void gs_format_traceparent(char *dst, const __u8 *trace_id, const __u8 *span_id, __u8 flags)
{
	dst[0] = '0';
	dst[1] = '0';
	dst[2] = '-';
#pragma clang loop unroll(disable)
	for (int i = 0; i < 16; i++) {
		__u8 b = trace_id[i];
		dst[3 + 2 * i] = gs_hex_digit(b >> 4);
		dst[4 + 2 * i] = gs_hex_digit(b & 0xf);
	}
	dst[35] = '-';
#pragma clang loop unroll(disable)
	for (int i = 0; i < 8; i++) {
		__u8 b = span_id[i];
		dst[36 + 2 * i] = gs_hex_digit(b >> 4);
		dst[37 + 2 * i] = gs_hex_digit(b & 0xf);
	}
	dst[52] = '-';
	dst[53] = '0';
	dst[54] = (flags & GS_TRACE_FLAG_SAMPLED) ? '1' : '0';
}

#endif /* GOSCOPE_W3C_H */
