// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl: command-line words to numbers. Every parser takes the whole word
 * or fails: no sign, no whitespace, no trailing garbage, no silent overflow.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "qkdctl.h"

static int digit_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Digits in @base from *@s while they last; at least one. */
static int parse_digits(const char **s, unsigned int base, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	int d;

	while ((d = digit_val(*p)) >= 0 && (unsigned int)d < base) {
		if (v > (UINT64_MAX - (unsigned int)d) / base)
			return -1;
		v = v * base + (unsigned int)d;
		p++;
	}
	if (p == *s)
		return -1;
	*s = p;
	*out = v;
	return 0;
}

/* Decimal, or hexadecimal with 0x. A leading 0 is not octal. */
int parse_u64(const char *s, uint64_t *out)
{
	unsigned int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (parse_digits(&s, base, out))
		return -1;
	return *s ? -1 : 0;
}

/* "11%", "2.5%", "0.0001%" (exact to 1 ppm) or a plain ppm integer. */
int parse_ppm(const char *s, uint32_t *out)
{
	size_t len = strlen(s);
	uint64_t v = 0, whole = 0, frac = 0;
	const char *p = s;
	int scale = 10000;

	if (!len)
		return -1;
	if (s[len - 1] != '%') {
		if (parse_digits(&p, 10, &v) || *p || v > QKDKEY_QBER_PPM_MAX)
			return -1;
		*out = (uint32_t)v;
		return 0;
	}
	if (isdigit((unsigned char)*p) && parse_digits(&p, 10, &whole))
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * (uint64_t)scale;
			} else if (*p != '0') {
				return -1;	/* finer than 1 ppm */
			}
		}
	} else if (p == s) {
		return -1;
	}
	if (p != s + len - 1 || whole > 100)
		return -1;
	v = whole * 10000 + frac;
	if (v > QKDKEY_QBER_PPM_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Bytes: decimal with an optional K/M/G (or KiB/MiB/GiB) suffix, or 0x hex. */
int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	static const struct { const char *suffix; unsigned int shift; } units[] = {
		{ "", 0 }, { "k", 10 }, { "kib", 10 }, { "m", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gib", 30 },
	};
	const char *p = s;
	uint64_t v;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (parse_u64(s, &v) || v > max)
			return -1;
		*out = v;
		return 0;
	}
	if (parse_digits(&p, 10, &v))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].suffix))
			continue;
		if (v > (max >> units[i].shift))
			return -1;
		*out = v << units[i].shift;
		return 0;
	}
	return -1;
}

/* Exactly 2 * @len hex digits. */
int parse_hex(const char *s, uint8_t *out, size_t len)
{
	if (strlen(s) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = digit_val(s[2 * i]), lo = digit_val(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* The kernel's rule: 1..15 characters of [A-Za-z0-9_.-]. */
bool valid_link_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= QKDKEY_NAME_LEN)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") == n;
}

int parse_dir(const char *s, uint32_t *dir)
{
	if (!strcmp(s, "tx"))
		*dir = QKDKEY_DIR_TX;
	else if (!strcmp(s, "rx"))
		*dir = QKDKEY_DIR_RX;
	else
		return -1;
	return 0;
}

const char *dir_name(uint32_t dir)
{
	return dir == QKDKEY_DIR_TX ? "tx" : dir == QKDKEY_DIR_RX ? "rx" : "?";
}

const char *fmt_ppm(char buf[16], uint32_t ppm)
{
	int n = snprintf(buf, 16, "%u", ppm / 10000);

	if (ppm % 10000) {
		n += snprintf(buf + n, 16 - (size_t)n, ".%04u", ppm % 10000);
		while (buf[n - 1] == '0')
			n--;
	}
	buf[n++] = '%';
	buf[n] = '\0';
	return buf;
}
