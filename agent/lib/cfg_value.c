// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration value parsers shared by qkd-agent and qkd-ledgerd. See
 * cfg_value.h.
 *
 * Numbers are read into 64 bits whatever the field they end up in, and
 * checked against the key's range before anything is stored, so that a
 * value too large for a 32-bit field is reported as out of range rather
 * than wrapped.
 */
#include <stdio.h>
#include <string.h>

#include "cfg_value.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Leading decimal digits of *p into *out; advances *p. nan: the message
 * for a value that does not start with a digit.
 */
static const char *parse_digits(const char **p, uint64_t *out,
				const char *nan)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!*s)
		return "empty value";
	if (*s == '-')
		return "negative values are not allowed";
	if (*s < '0' || *s > '9')
		return nan;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return "number too large (overflows 64 bits)";
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return NULL;
}

static const char *fmt_uint(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/*
 * n into *out if it is in [lo, hi]; else the range, its ends written the
 * way the key's values are ("4K..1G", "100ms..5min"), so that the message
 * shows a value the user can copy.
 */
static const char *store_in_range(uint64_t n, uint64_t lo, uint64_t hi,
				  const char *(*fmt)(char *, size_t, uint64_t),
				  const char *unit, uint64_t *out, char *why,
				  size_t whylen)
{
	char a[32], b[32];

	if (n < lo || n > hi) {
		snprintf(why, whylen, "out of range %s..%s%s",
			 fmt(a, sizeof(a), lo), fmt(b, sizeof(b), hi), unit);
		return why;
	}
	*out = n;
	return NULL;
}

const char *cfg_parse_uint(const char *v, uint64_t lo, uint64_t hi,
			   uint64_t *out, char *why, size_t whylen)
{
	uint64_t n;
	const char *r = parse_digits(&v, &n, "not a number");

	if (r)
		return r;
	if (*v)
		return "not a decimal integer";
	return store_in_range(n, lo, hi, fmt_uint, "", out, why, whylen);
}

const char *cfg_parse_size(const char *v, uint64_t lo, uint64_t hi,
			   uint64_t *out, char *why, size_t whylen)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} sfx[] = {
		{ "", 1 }, { "K", CFG_KIB }, { "M", CFG_MIB }, { "G", CFG_GIB },
		{ "KiB", CFG_KIB }, { "MiB", CFG_MIB }, { "GiB", CFG_GIB },
	};
	char q[CFG_QUOTE_SIZE];
	uint64_t n;
	const char *r = parse_digits(&v, &n,
			"not a size (bytes, or with a suffix K, M or G)");

	if (r)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		if (strcmp(v, sfx[i].suffix))
			continue;
		if (n > UINT64_MAX / sfx[i].mult)
			return "size too large (overflows 64 bits)";
		return store_in_range(n * sfx[i].mult, lo, hi, cfg_fmt_size,
				      " (bytes)", out, why, whylen);
	}
	snprintf(why, whylen, "unknown size suffix %s (use K, M or G)",
		 cfg_quote(q, v));
	return why;
}

const char *cfg_parse_duration(const char *v, uint64_t unit_ms,
			       uint64_t lo_ms, uint64_t hi_ms, uint64_t *out_ms,
			       char *why, size_t whylen)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", CFG_MS_PER_S }, { "min", CFG_MS_PER_MIN },
		{ "m", CFG_MS_PER_MIN }, { "h", CFG_MS_PER_H },
	};
	char q[CFG_QUOTE_SIZE];
	uint64_t n, mult = 0;
	const char *r = parse_digits(&v, &n, "not a number");

	if (r)
		return r;
	if (!*v) {
		mult = unit_ms;
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (!strcmp(v, units[i].suffix))
				mult = units[i].ms;
	}
	if (!mult) {
		snprintf(why, whylen, "unknown time unit %s (use ms, s, min or h)",
			 cfg_quote(q, v));
		return why;
	}
	if (n > UINT64_MAX / mult)
		return "duration too large (overflows 64 bits)";
	return store_in_range(n * mult, lo_ms, hi_ms, cfg_fmt_duration, "",
			      out_ms, why, whylen);
}

const char *cfg_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return NULL;
		}
		if (!strcmp(v, no[i])) {
			*out = false;
			return NULL;
		}
	}
	return "not a boolean (use yes or no)";
}

const char *cfg_check_path(const char *v, size_t size, char *why,
			   size_t whylen)
{
	if (v[0] != '/')
		return "not an absolute path";
	if (strlen(v) >= size) {
		snprintf(why, whylen, "path longer than %zu bytes", size - 1);
		return why;
	}
	return NULL;
}

bool cfg_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

bool cfg_name_ok(const char *v, size_t max)
{
	size_t n = strlen(v);

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!cfg_name_char(v[i]))
			return false;
	return true;
}

const char *cfg_check_name(const char *v, size_t max, const char *what,
			   char *why, size_t whylen)
{
	size_t n = strlen(v);

	if (!n) {
		snprintf(why, whylen, "%s may not be empty", what);
		return why;
	}
	/* The characters first: "my link" is wrong whatever its length. */
	for (size_t i = 0; i < n; i++) {
		if (!cfg_name_char(v[i])) {
			snprintf(why, whylen, "%s may hold only A-Z a-z 0-9 _ . -",
				 what);
			return why;
		}
	}
	if (n > max) {
		snprintf(why, whylen, "%s longer than %zu characters", what, max);
		return why;
	}
	return NULL;
}

bool cfg_set_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

const char *cfg_quote_n(char out[CFG_QUOTE_SIZE], const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == CFG_QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch > 0x7e) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

const char *cfg_quote(char out[CFG_QUOTE_SIZE], const char *s)
{
	return cfg_quote_n(out, s, strlen(s));
}

const char *cfg_fmt_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes && bytes % CFG_GIB == 0)
		snprintf(buf, len, "%lluG", (unsigned long long)(bytes / CFG_GIB));
	else if (bytes && bytes % CFG_MIB == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(bytes / CFG_MIB));
	else if (bytes && bytes % CFG_KIB == 0)
		snprintf(buf, len, "%lluK", (unsigned long long)(bytes / CFG_KIB));
	else
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}

const char *cfg_fmt_duration(char *buf, size_t len, uint64_t ms)
{
	if (ms && ms % CFG_MS_PER_H == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / CFG_MS_PER_H));
	else if (ms && ms % CFG_MS_PER_MIN == 0)
		snprintf(buf, len, "%llumin",
			 (unsigned long long)(ms / CFG_MS_PER_MIN));
	else if (ms && ms % CFG_MS_PER_S == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / CFG_MS_PER_S));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}
