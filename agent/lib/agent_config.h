// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration of qkd-agent, the gateway daemon (DESIGN.md §4).
 *
 * An INI file (parsed with inih), /etc/qkdkey/agent.conf by default;
 * every key is described in agent/qkd-agent.conf.example and in
 * qkd-agent(8). Validation is strict: an unknown section or key, a key set
 * twice, a value that does not parse or is out of range, a missing
 * required key, a NUL byte or an overlong line all fail the load with one
 * message that names the file, the line, the key and the offending value
 * (non-printable bytes escaped, long values cut short).
 *
 * The configuration holds no secrets: key material comes from /dev/qkdkey
 * at run time and never from this file, and the agent needs no password
 * (the ledger connection is protected by QKD one-time pads and Wegman-Carter
 * tags, MQTT is a local broker). agent_config_dump() may therefore print
 * everything.
 *
 * Plain data: every string is a fixed array inside the struct, nothing to
 * free.
 */
#ifndef QKD_AGENT_CONFIG_H
#define QKD_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AGENT_CONFIG_DEFAULT_PATH	"/etc/qkdkey/agent.conf"

/* Limits of the file itself. */
#define AGENT_CONFIG_FILE_MAX	(1u << 20)	/* bytes */
#define AGENT_CONFIG_LINE_MAX	190		/* bytes, without the newline */

/* String sizes, terminating NUL included. */
#define AGENT_CONFIG_NAME_SIZE	16	/* a qkdkey link name: QKDKEY_NAME_LEN */
#define AGENT_CONFIG_PATH_SIZE	192	/* a file or directory path */
#define AGENT_CONFIG_SOCK_SIZE	108	/* a Unix socket path: sun_path */
#define AGENT_CONFIG_HOST_SIZE	192	/* a host name or address literal */
#define AGENT_CONFIG_ID_SIZE	65	/* an MQTT client id */
#define AGENT_CONFIG_TOPIC_SIZE	192	/* an MQTT topic filter */

struct agent_config {
	/* [link]: the QKD link whose TX stream pads the records. */
	struct {
		char name[AGENT_CONFIG_NAME_SIZE];	/* required */
		char device[AGENT_CONFIG_PATH_SIZE];	/* /dev/qkdkey */
	} link;
	/* [ledger]: the qkd-ledgerd peer (plain TCP; see the man page). */
	struct {
		char host[AGENT_CONFIG_HOST_SIZE];	/* required */
		uint16_t port;				/* 7447 */
		uint32_t connect_timeout_ms;		/* 5 s */
		uint32_t reconnect_min_ms;		/* 500 ms */
		uint32_t reconnect_max_ms;		/* 30 s */
	} ledger;
	/* [spool]: maps to struct spool_opts (spool.h). */
	struct {
		char dir[AGENT_CONFIG_PATH_SIZE];	/* /var/lib/qkdkey/spool */
		uint64_t max_bytes;			/* 64 MiB */
		uint64_t segment_bytes;			/* 4 MiB */
		uint32_t commit_interval_ms;		/* 5 ms */
	} spool;
	/* [mqtt]: subscription on the local broker. */
	struct {
		bool enabled;				/* yes */
		char host[AGENT_CONFIG_HOST_SIZE];	/* localhost */
		uint16_t port;				/* 1883 */
		char client_id[AGENT_CONFIG_ID_SIZE];	/* qkd-agent-<link> */
		char topic[AGENT_CONFIG_TOPIC_SIZE];	/* qkd/telemetry/+ */
		uint8_t qos;				/* 1, the only value */
		uint32_t keepalive_s;			/* 60 s */
	} mqtt;
	/* [socket]: Unix datagram socket for simple local senders. */
	struct {
		bool enabled;				/* yes */
		char path[AGENT_CONFIG_SOCK_SIZE];	/* /run/qkdkey/agent.sock */
		uint32_t mode;				/* 0660 */
	} socket;
	/* [agent] */
	struct {
		uint32_t key_depth;			/* 8 key reads in flight */
		uint32_t max_payload;			/* 65536 bytes */
		/* "" when disabled (stats_socket = none). */
		char stats_socket[AGENT_CONFIG_SOCK_SIZE]; /* /run/qkdkey/stats.sock */
		int log_level;				/* LOG_INFO (syslog.h) */
	} agent;
	/* The file the configuration came from ("" for defaults only). */
	char source[AGENT_CONFIG_PATH_SIZE];
};

/* Fills cfg with the defaults; the required keys stay empty. */
void agent_config_defaults(struct agent_config *cfg);

/*
 * Fills cfg with the defaults, then reads path over them and checks the
 * result. Returns 0, or a negative errno with a one-line message in err
 * (if err is not NULL; always NUL-terminated, cut to errlen):
 *   -ENOENT, -EACCES, ...  the file cannot be opened or read ("PATH: ...")
 *   -EINVAL                bad content ("PATH:LINE: [section] key: ...",
 *                          or "PATH: [section] key: ..." for a required key
 *                          that is missing or keys that contradict)
 *   -EFBIG                 larger than AGENT_CONFIG_FILE_MAX
 *   -ENOMEM
 * On failure cfg holds defaults and part of the file: do not use it.
 */
int agent_config_load(const char *path, struct agent_config *cfg,
		      char *err, size_t errlen);

/*
 * Prints the effective configuration as an INI file that
 * agent_config_load() reads back to the same struct (for --check-config).
 * Returns 0 or -EIO if writing failed.
 */
int agent_config_dump(const struct agent_config *cfg, FILE *out);

/* "error", "warning", "notice", "info", "debug"; NULL for another level. */
const char *agent_config_log_level_name(int level);

#endif /* QKD_AGENT_CONFIG_H */
