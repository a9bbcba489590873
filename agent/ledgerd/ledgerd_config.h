// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration of qkd-ledgerd, the ledger daemon (DESIGN.md §5,
 * qkd-ledgerd(8)): an INI file read with inih, /etc/qkdkey/qkd-ledgerd.conf
 * by default. Every key is described in agent/qkd-ledgerd.conf.example.
 *
 *   [ledger]          listen, db, key, device, auto_register, sth_every,
 *                     sth_ms, ack_every, ack_ms, key_window, log_level
 *   [gateway NAME]    link (our local link to that gateway, required),
 *                     peer_link (the link name the gateway's HELLO carries;
 *                     default: the same as link)
 *
 * Parsing is strict: an unknown section or key, a key or section given
 * twice, a value that does not parse or is out of range, two gateways on
 * the same link or peer link all fail with one message "PATH:LINE: ...".
 * The file holds no secrets (the signing key lives in its own file).
 */
#ifndef QKD_LEDGERD_CONFIG_H
#define QKD_LEDGERD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LEDGERD_CONFIG_DEFAULT_PATH	"/etc/qkdkey/qkd-ledgerd.conf"
#define LEDGERD_DEFAULT_PORT		7447	/* qkd-agent's [ledger] port */

#define LEDGERD_GW_MAX		32	/* [gateway] sections */
#define LEDGERD_LINE_MAX	190	/* bytes per line */
#define LEDGERD_PATH_SIZE	192
#define LEDGERD_LINK_SIZE	16	/* QKDKEY_NAME_LEN */
#define LEDGERD_GWNAME_SIZE	65	/* LEDGER_NAME_MAX + 1 */
#define LEDGERD_ADDR_SIZE	64

/* [ledger] key_window: how far past the RX key delivered so far a frame's
 * key range may end (bytes). The default covers the delivery skew of two
 * ends of a link many times over; the bounds keep it a size, not "any". */
#define LEDGERD_KEY_WINDOW_DEFAULT	(4u << 20)
#define LEDGERD_KEY_WINDOW_MIN		4096u		/* QKDKEY_POOL_MIN */
#define LEDGERD_KEY_WINDOW_MAX		(1u << 30)

struct ledgerd_gw_config {
	char name[LEDGERD_GWNAME_SIZE];		/* [A-Za-z0-9._-]{1,64} */
	char link[LEDGERD_LINK_SIZE];		/* local link, required */
	char peer_link[LEDGERD_LINK_SIZE];	/* name in the HELLO */
	unsigned int line;			/* of the section header */
};

struct ledgerd_config {
	char listen_addr[LEDGERD_ADDR_SIZE];	/* numeric IPv4/IPv6 literal */
	uint16_t listen_port;
	char db[LEDGERD_PATH_SIZE];
	char key[LEDGERD_PATH_SIZE];
	char device[LEDGERD_PATH_SIZE];
	bool auto_register;
	uint32_t sth_every;	/* entries between signed tree heads */
	uint32_t sth_ms;	/* ... or ms with new entries */
	uint32_t ack_every;	/* group commit: at most this many frames */
	uint32_t ack_ms;	/* ... or this many ms after the first staged */
	uint32_t key_window;	/* bytes past the delivered RX stream */
	int log_level;		/* syslog.h LOG_* */
	unsigned int ngw;
	struct ledgerd_gw_config gw[LEDGERD_GW_MAX];
	char source[LEDGERD_PATH_SIZE];
};

void ledgerd_config_defaults(struct ledgerd_config *cfg);

/*
 * Defaults, then the file over them, then the checks that need the whole
 * file (at least one gateway). 0, or -errno with one line in err:
 * -EINVAL bad content, -ENOENT/-EACCES/... the file, -EFBIG too large.
 */
int ledgerd_config_load(const char *path, struct ledgerd_config *cfg,
			char *err, size_t errlen);

/* The effective configuration as an INI file that loads back the same. */
int ledgerd_config_dump(const struct ledgerd_config *cfg, FILE *out);

const char *ledgerd_log_level_name(int level);

#endif /* QKD_LEDGERD_CONFIG_H */
