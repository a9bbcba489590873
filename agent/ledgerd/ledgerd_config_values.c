// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd configuration: the values only qkd-ledgerd has, built on the
 * parsers it shares with qkd-agent (cfg_value.h). See ledgerd_config_int.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <string.h>

#include "cfg_value.h"
#include "ledgerd_config_int.h"

const char *ld_cfg_parse_listen(const char *v, struct ledgerd_config *cfg,
				char *why, size_t whylen)
{
	char addr[LEDGERD_ADDR_SIZE];
	struct in6_addr a6;
	struct in_addr a4;
	const char *port = NULL, *r;
	uint64_t p = cfg->listen_port;
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
		r = cfg_parse_uint(port, 1, 65535, &p, why, whylen);
		if (r)
			return r;
	}
	cfg_set_str(cfg->listen_addr, sizeof(cfg->listen_addr), addr);
	cfg->listen_port = (uint16_t)p;
	return NULL;
}

const char *ld_cfg_parse_link(const char *v, char *dst, char *why,
			      size_t whylen)
{
	const char *r = cfg_check_name(v, LEDGERD_LINK_SIZE - 1, "a link name",
				       why, whylen);

	if (!r)
		cfg_set_str(dst, LEDGERD_LINK_SIZE, v);
	return r;
}
