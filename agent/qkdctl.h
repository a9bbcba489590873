// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl: administer qkdkey links over the "qkdkey" generic netlink family
 * and read key through /dev/qkdkey. Shared declarations of the qkdctl*.c
 * files:
 *
 *   qkdctl.c          main: global options, dispatch, usage, error helpers
 *   qkdctl_parse.c    words to numbers: ppm/percentages, sizes, hex, names
 *   qkdctl_nl.c       libmnl helpers: family lookup, requests, extack,
 *                     attribute tables, --dry-run printing
 *   qkdctl_output.c   link attributes: parsing replies, human and JSON output
 *   qkdctl_link.c     link show/add/del/set
 *   qkdctl_key.c      key push/read
 *   qkdctl_monitor.c  monitor
 */
#ifndef QKDCTL_H
#define QKDCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/qkdkey.h>

#define QKDCTL_VERSION	"0.1.0"

/* Exit status. */
#define EXIT_OK		0
#define EXIT_FAILED	1
#define EXIT_USAGE	2

/* KEY_PUSH carries at most this many key bytes per message. */
#define QKDCTL_PUSH_CHUNK	QKDKEY_PUSH_MAX

struct mnl_socket;
struct nlmsghdr;
struct nlattr;

/* Global options (qkdctl.c). */
extern const char *opt_device;
extern bool opt_json;
extern bool opt_dry_run;

/* Errors (qkdctl.c). Each returns the exit status to use. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parsing (qkdctl_parse.c): 0 on success, -1 on a malformed word. */
int parse_u64(const char *s, uint64_t *out);
int parse_ppm(const char *s, uint32_t *out);
int parse_size(const char *s, uint64_t max, uint64_t *out);
int parse_hex(const char *s, uint8_t *out, size_t len);
bool valid_link_name(const char *s);
int parse_dir(const char *s, uint32_t *dir);
const char *dir_name(uint32_t dir);
/* "11%", "2.5%", "0.0001%": exact, trailing zeros dropped. */
const char *fmt_ppm(char buf[16], uint32_t ppm);

/* Netlink (qkdctl_nl.c). */
enum attr_type { AT_NONE, AT_U8, AT_U32, AT_U64, AT_STR, AT_FLAG, AT_NEST, AT_SECRET, AT_BIN };

struct attr_set;
struct attr_desc {
	const char *name;
	enum attr_type type;
	const struct attr_set *nest;
};
struct attr_set {
	const char *prefix;		/* for nested names: "LINK_SIM." */
	const struct attr_desc *attrs;
	unsigned int max;
};
extern const struct attr_set qkdkey_attrs, qkdkey_sim_attrs, qkdkey_counter_attrs;
const char *cmd_name(uint8_t cmd);

struct qnl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	uint32_t version;
	uint32_t mcgrp_monitor;		/* 0: the family has no such group */
	void *rxbuf;
	size_t rxlen;
};

/* Called for every data message of a reply; returns 0 or an exit status. */
typedef int (*qnl_cb)(const struct nlmsghdr *nlh, void *data);

/* Opens a socket and resolves the family; with --dry-run does nothing. */
int qnl_open(struct qnl *nl);
void qnl_close(struct qnl *nl);
/* Starts a request for @cmd in @buf (which holds @size bytes). */
struct nlmsghdr *qnl_msg(struct qnl *nl, void *buf, size_t size, uint8_t cmd, uint16_t flags);
/*
 * Sends @req and reads the reply until its ACK or NLMSG_DONE, calling @cb for
 * each data message. Errors are printed as "qkdctl: WHAT: strerror" plus the
 * kernel's extended ACK. With --dry-run prints @req instead. Returns 0 or 1.
 */
int qnl_talk(struct qnl *nl, struct nlmsghdr *req, qnl_cb cb, void *data,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Prints a request's attributes (--dry-run); key bytes never. */
void qnl_print_request(FILE *out, const struct nlmsghdr *nlh);

/* Link attributes from a reply or notification (qkdctl_output.c). */
struct qlink {
	uint32_t have;			/* 1 << QKDKEY_A_* present */
	uint32_t id, state, qber, threshold, key_rate, pool, watermark;
	uint32_t key_dir, key_len;
	uint64_t epoch, tx_avail, rx_avail, key_epoch, key_offset;
	uint8_t admin_up;
	char name[QKDKEY_NAME_LEN], kind[QKDKEY_NAME_LEN], peer[QKDKEY_NAME_LEN];
	uint32_t counters_have;		/* 1 << QKDKEY_COUNTER_A_* */
	uint64_t counters[QKDKEY_COUNTER_A_MAX + 1];
	uint32_t sim_have;		/* 1 << QKDKEY_SIM_A_* */
	uint32_t sim[QKDKEY_SIM_A_MAX + 1];
};
#define HAVE(l, a)	(((l)->have >> (a)) & 1)

int qlink_parse(const struct nlmsghdr *nlh, struct qlink *l);
const char *state_name(uint32_t state);
/* `link show`: "1: sim0a: <UP,DEFAULT> kind sim peer sim0b epoch 0" + details */
void qlink_print_long(FILE *out, const struct qlink *l);
/* `monitor`: everything but the counters on one line, no newline */
void qlink_print_line(FILE *out, const struct qlink *l);
/* The attributes present as JSON members (no braces). */
struct jw;
void qlink_json_members(struct jw *w, const struct qlink *l);

/* A small JSON writer: compact output, strings escaped. */
struct jw {
	FILE *out;
	int depth;
	bool first[16];
};
void jw_init(struct jw *w, FILE *out);
void jw_open(struct jw *w, const char *key, char brace);	/* '{' or '[' */
void jw_close(struct jw *w, char brace);
void jw_str(struct jw *w, const char *key, const char *val);
void jw_u64(struct jw *w, const char *key, uint64_t val);
void jw_bool(struct jw *w, const char *key, bool val);
void json_string(FILE *out, const char *s);

/* Commands. argv[0] is the first word after the command's name. */
int cmd_link(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

#endif /* QKDCTL_H */
