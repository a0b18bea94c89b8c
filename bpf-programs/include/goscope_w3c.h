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

/*
 * Decoded HTTP/2 header fields: a Go []hpack.HeaderField (golang.org/x/net/http2/hpack, vendored in the standard
 * library), {Name, Value string; Sensitive bool}, 40 bytes each, unchanged since hpack's first release. HTTP/2
 * servers (net/http's and grpc-go's) hand them over decoded in MetaHeadersFrame.Fields.
 */
#define GS_HPACK_FIELD_SIZE 40
#define GS_HPACK_FIELD_VALUE 16
/* How many fields are searched (pseudo-headers and a request's usual headers come well before this). */
#define GS_HPACK_MAX_FIELDS 32

/*
 * Finds "traceparent" and "tracestate" among the first GS_HPACK_MAX_FIELDS of fields (ptr, len): their indexes go to
 * *traceparent and *tracestate (-1: absent). Names are compared exactly: HTTP/2 header names are lowercase.
 */
static __always_inline void gs_hpack_find(const void *fields, __s64 len, __s32 *traceparent, __s32 *tracestate)
{
	*traceparent = -1;
	*tracestate = -1;
	for (int i = 0; i < GS_HPACK_MAX_FIELDS; i++) {
		if (i >= len)
			break;
		struct {
			const char *ptr;
			__s64 len;
		} name = {};
		if (bpf_probe_read_user(&name, sizeof(name), (const char *)fields + i * GS_HPACK_FIELD_SIZE) != 0)
			break;
		char text[11] = {};
		if (name.len == 11) {
			if (bpf_probe_read_user(text, 11, name.ptr) == 0 && text[0] == 't' && text[1] == 'r' &&
			    text[2] == 'a' && text[3] == 'c' && text[4] == 'e' && text[5] == 'p' && text[6] == 'a' &&
			    text[7] == 'r' && text[8] == 'e' && text[9] == 'n' && text[10] == 't')
				*traceparent = i;
		} else if (name.len == 10) {
			if (bpf_probe_read_user(text, 10, name.ptr) == 0 && text[0] == 't' && text[1] == 'r' &&
			    text[2] == 'a' && text[3] == 'c' && text[4] == 'e' && text[5] == 's' && text[6] == 't' &&
			    text[7] == 'a' && text[8] == 't' && text[9] == 'e')
				*tracestate = i;
		}
	}
}

/* Parses the traceparent value of field index i of fields into out; returns 0 when it is valid. */
static __always_inline int gs_hpack_traceparent(const void *fields, __s32 i, struct gs_span_ctx *out)
{
	if (i < 0)
		return -1;
	__u32 at = (__u32)i & (GS_HPACK_MAX_FIELDS - 1);
	struct {
		const char *ptr;
		__s64 len;
	} value = {};
	if (bpf_probe_read_user(&value, sizeof(value),
				(const char *)fields + at * GS_HPACK_FIELD_SIZE + GS_HPACK_FIELD_VALUE) != 0 ||
	    value.len != GS_TRACEPARENT_LEN)
		return -1;
	char text[GS_TRACEPARENT_LEN + 1] = {};
	if (bpf_probe_read_user(text, GS_TRACEPARENT_LEN, value.ptr) != 0)
		return -1;
	return gs_parse_traceparent(text, GS_TRACEPARENT_LEN, out);
}

/*
 * The value of field index i of fields (ptr, len), for a tracestate: copies up to cap bytes into dst and returns its
 * full length, or -1.
 */
static __always_inline __s64 gs_hpack_value(const void *fields, __s32 i, char *dst, __u32 cap)
{
	if (i < 0)
		return -1;
	__u32 at = (__u32)i & (GS_HPACK_MAX_FIELDS - 1);
	struct {
		const char *ptr;
		__s64 len;
	} value = {};
	if (bpf_probe_read_user(&value, sizeof(value),
				(const char *)fields + at * GS_HPACK_FIELD_SIZE + GS_HPACK_FIELD_VALUE) != 0 ||
	    value.len <= 0)
		return -1;
	__u64 n = (__u64)value.len;
	barrier_var(n);
	if (n > cap)
		n = cap;
	if (bpf_probe_read_user(dst, n, value.ptr) != 0)
		return -1;
	return value.len;
}

#endif /* GOSCOPE_W3C_H */
