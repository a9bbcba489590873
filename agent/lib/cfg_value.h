// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration values shared by qkd-agent (agent_config.c) and qkd-ledgerd
 * (ledgerd_config.c): one parser per kind of value, so that a spelling
 * accepted by one daemon means the same in the other.
 *
 * A value arrives as inih hands it over, surrounding blanks stripped; the
 * parsers accept no blanks of their own. Each returns NULL, or why the
 * value is bad: a static string or one formatted into why[whylen]
 * (CFG_WHY_SIZE holds every message). Nothing is stored on error.
 */
#ifndef QKD_CFG_VALUE_H
#define QKD_CFG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_KIB		1024ull
#define CFG_MIB		(1024ull * CFG_KIB)
#define CFG_GIB		(1024ull * CFG_MIB)

#define CFG_MS_PER_S	1000ull
#define CFG_MS_PER_MIN	(60ull * CFG_MS_PER_S)
#define CFG_MS_PER_H	(60ull * CFG_MS_PER_MIN)

#define CFG_WHY_SIZE	160

/*
 * A decimal integer in [lo, hi]. No sign, no base prefix; leading zeros
 * are fine.
 */
const char *cfg_parse_uint(const char *v, uint64_t lo, uint64_t hi,
			   uint64_t *out, char *why, size_t whylen);

/*
 * Bytes in [lo, hi], with an optional suffix K, M, G or KiB, MiB, GiB:
 * powers of 1024 either way. Suffixes are case-sensitive ("m" is not M).
 */
const char *cfg_parse_size(const char *v, uint64_t lo, uint64_t hi,
			   uint64_t *out, char *why, size_t whylen);

/*
 * Milliseconds in [lo_ms, hi_ms]: a number with an optional unit ms, s,
 * min (or m) or h; a bare number counts in units of unit_ms (at least 1):
 * the unit the key's name or documentation gives.
 */
const char *cfg_parse_duration(const char *v, uint64_t unit_ms,
			       uint64_t lo_ms, uint64_t hi_ms, uint64_t *out_ms,
			       char *why, size_t whylen);

/* yes/no, true/false, on/off, 1/0; lower case only. */
const char *cfg_parse_bool(const char *v, bool *out);

/*
 * An absolute path that fits a field of size bytes (NUL included). Only
 * checked: the caller copies it (cfg_set_str) once all its checks pass.
 */
const char *cfg_check_path(const char *v, size_t size, char *why,
			   size_t whylen);

/* [A-Za-z0-9_.-]: link names, gateway names, client ids. */
bool cfg_name_char(char ch);
/* 1 to max name characters. */
bool cfg_name_ok(const char *v, size_t max);
/* The same, with the reason: what is the subject, "a link name". */
const char *cfg_check_name(const char *v, size_t max, const char *what,
			   char *why, size_t whylen);

/* Copies src into dst[size]; false (dst untouched) if it does not fit. */
bool cfg_set_str(char *dst, size_t size, const char *src);

/*
 * A user-supplied string fit for a one-line message: at most
 * CFG_QUOTE_MAX bytes of it in double quotes, '"' and '\' and bytes outside
 * 0x20..0x7e escaped, "..." when cut. cfg_quote_n: n bytes of s, which may
 * hold NULs.
 */
#define CFG_QUOTE_MAX	48
#define CFG_QUOTE_SIZE	(4 * CFG_QUOTE_MAX + 8)

const char *cfg_quote_n(char out[CFG_QUOTE_SIZE], const char *s, size_t n);
const char *cfg_quote(char out[CFG_QUOTE_SIZE], const char *s);

/*
 * In the largest unit that divides the value exactly, so that the text
 * reads back to the same value: sizes "64K", "1G", "65537"; durations
 * "500ms", "5s", "2min", "1h".
 */
const char *cfg_fmt_size(char *buf, size_t len, uint64_t bytes);
const char *cfg_fmt_duration(char *buf, size_t len, uint64_t ms);

#endif /* QKD_CFG_VALUE_H */
