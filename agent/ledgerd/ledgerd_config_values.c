// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd configuration: value parsers. See ledgerd_config_int.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ledgerd_config_int.h"

const char *ld_cfg_parse_u32(const char *v, uint32_t lo, uint32_t hi,
			     uint32_t *out)
{
	static char why[64];
	uint64_t n = 0;

	if (!*v)
		return "empty value";
	for (const char *s = v; *s; s++) {
		if (*s < '0' || *s > '9')
			return "not a decimal integer";
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return "number too large";
	}
	if (n < lo || n > hi) {
		snprintf(why, sizeof(why), "out of range %u..%u", lo, hi);
		return why;
	}
	*out = (uint32_t)n;
	return NULL;
}

bool ld_cfg_set_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

const char *ld_cfg_parse_size(const char *v, uint32_t lo, uint32_t hi,
			      uint32_t *out)
{
	static const struct { const char *sfx; uint32_t shift; } units[] = {
		{ "", 0 }, { "K", 10 }, { "M", 20 }, { "G", 30 },
		{ "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 },
	};
	static char why[80];
	const char *s = v;
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return "not a size (bytes, or with a suffix K, M or G)";
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return "number too large";
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].sfx))
			continue;
		/* n < 2^32, shift <= 30: no overflow in 64 bits */
		n <<= units[i].shift;
		if (n < lo || n > hi) {
			snprintf(why, sizeof(why), "out of range %u..%u bytes", lo, hi);
			return why;
		}
		*out = (uint32_t)n;
		return NULL;
	}
	return "unknown size suffix (use K, M or G)";
}

const char *ld_cfg_parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return NULL;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return NULL;
	}
	return "not a boolean (use yes or no)";
}

const char *ld_cfg_parse_path(const char *v, char *dst, size_t size)
{
	if (v[0] != '/')
		return "not an absolute path";
	if (!ld_cfg_set_str(dst, size, v))
		return "path too long";
	return NULL;
}

/* "ADDR:PORT", "[V6ADDR]:PORT" or "ADDR" (numeric literals only). */
const char *ld_cfg_parse_listen(const char *v, struct ledgerd_config *cfg)
{
	char addr[LEDGERD_ADDR_SIZE];
	struct in6_addr a6;
	struct in_addr a4;
	const char *port = NULL, *r;
	uint32_t p = cfg->listen_port;
	size_t n;

	if (v[0] == '[') {
		const char *e = strchr(v, ']');

		if (!e || (e[1] && e[1] != ':'))
			return "bad [IPv6]:PORT";
		n = (size_t)(e - v - 1);
		port = e[1] ? e + 2 : NULL;
		v++;
	} else {
		const char *colon = strrchr(v, ':');

		if (colon && strchr(v, ':') != colon)
			return "an IPv6 address needs brackets: [ADDR]:PORT";
		n = colon ? (size_t)(colon - v) : strlen(v);
		port = colon ? colon + 1 : NULL;
	}
	if (n == 0 || n >= sizeof(addr))
		return "bad address";
	memcpy(addr, v, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, &a4) != 1 && inet_pton(AF_INET6, addr, &a6) != 1)
		return "not a numeric IPv4 or IPv6 address";
	if (port) {
		r = ld_cfg_parse_u32(port, 1, 65535, &p);
		if (r)
			return r;
	}
	ld_cfg_set_str(cfg->listen_addr, sizeof(cfg->listen_addr), addr);
	cfg->listen_port = (uint16_t)p;
	return NULL;
}

bool ld_cfg_name_ok(const char *v, size_t max)
{
	size_t n = strlen(v);

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

const char *ld_cfg_parse_link(const char *v, char *dst)
{
	if (!ld_cfg_name_ok(v, LEDGERD_LINK_SIZE - 1))
		return "not a link name (1-15 of A-Z a-z 0-9 _ . -)";
	ld_cfg_set_str(dst, LEDGERD_LINK_SIZE, v);
	return NULL;
}

