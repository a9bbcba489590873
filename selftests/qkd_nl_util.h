// SPDX-License-Identifier: GPL-2.0
/*
 * libmnl helpers for the qkdkey generic netlink selftests: resolve the
 * family and its "monitor" group, build requests, run them and collect the
 * ACK with its extended-ACK attributes, parse link messages and
 * notifications. Everything returns 0 or -errno and never asserts, so it
 * can be used from helper threads; the tests assert on the results.
 */
#ifndef QKD_NL_UTIL_H
#define QKD_NL_UTIL_H

#include <stdint.h>
#include <stddef.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/qkdkey.h>

#define QNL_BUF		(64 * 1024)

struct qnl {
	struct mnl_socket *nl;
	uint16_t family;
	uint32_t mon_grp;	/* multicast group id of "monitor" */
	uint32_t portid;
	uint32_t seq;
	/* received datagram, and the next message in it (monitor sockets) */
	char *rbuf;
	size_t rlen, rpos;
	char *req;		/* request being built */
};

/* What came back in the ACK of the last request. */
struct qnl_err {
	int err;		/* 0 or -errno */
	int has_msg, has_offs, has_miss, has_miss_nest;
	char msg[256];
	uint32_t offs;		/* from the request's nlmsghdr */
	uint32_t miss_type, miss_nest;
};

/* A link message or a notification, parsed. */
struct qnl_link {
	uint8_t cmd;
	uint64_t present;	/* bit n: attribute n was present */
	uint32_t id, state, qber, threshold, key_rate, pool, watermark;
	char name[QKDKEY_NAME_LEN], kind[QKDKEY_NAME_LEN], peer[QKDKEY_NAME_LEN];
	int is_default;
	uint64_t epoch, tx_avail, rx_avail;
	uint32_t cnt_present;	/* bit n: counter n was present */
	uint64_t cnt[QKDKEY_COUNTER_A_MAX + 1];
	uint32_t sim_present;	/* bit n: LINK_SIM attribute n was present */
	uint32_t sim_rate, sim_qber, sim_eve;
	uint32_t key_dir, key_len;
	uint64_t key_epoch, key_offset;
};

#define QNL_HAS(l, a)		(!!((l)->present & (1ULL << (a))))

/* Opens a socket with NETLINK_EXT_ACK and NETLINK_CAP_ACK, resolves the family. */
int qnl_open(struct qnl *q);
void qnl_close(struct qnl *q);
/* Joins "monitor" (NETLINK_ADD_MEMBERSHIP): 0 or -errno. */
int qnl_join_monitor(struct qnl *q);

/* Starts a request for @cmd in q->req with NLM_F_REQUEST | @flags. */
struct nlmsghdr *qnl_req(struct qnl *q, uint8_t cmd, uint16_t flags);

/*
 * Sends @nlh and reads until its ACK (do) or NLMSG_DONE (dump). Each data
 * message is passed to @cb (may be NULL); a negative return from @cb stops
 * the count but the replies are still drained. Returns the kernel's 0 or
 * -errno, or a local -errno; @e (may be NULL) gets the extended ACK.
 * A do request gets NLM_F_ACK added.
 */
typedef int (*qnl_cb)(const struct nlmsghdr *nlh, void *data);
int qnl_talk(struct qnl *q, struct nlmsghdr *nlh, qnl_cb cb, void *data,
	     struct qnl_err *e);
/* Same, for a raw buffer of @len bytes whose first header has @seq. */
int qnl_talk_raw(struct qnl *q, const void *buf, size_t len, uint32_t seq,
		 int dump, qnl_cb cb, void *data, struct qnl_err *e);

/* Parses a qkdkey message. -EPROTO for a malformed one. */
int qnl_parse_link(const struct nlmsghdr *nlh, struct qnl_link *l);

/* Selects a link by name (name != NULL) or else by id. */
void qnl_put_sel(struct nlmsghdr *nlh, uint32_t id, const char *name);

/* LINK_GET do. */
int qnl_get(struct qnl *q, uint32_t id, const char *name, struct qnl_link *l,
	    struct qnl_err *e);
/* LINK_GET dump into @out (at most @max); returns the number, or -errno. */
int qnl_dump(struct qnl *q, struct qnl_link *out, int max, struct qnl_err *e);
/* LINK_NEW of kind user; epoch/pool/threshold/watermark 0: left out. */
int qnl_new_user(struct qnl *q, const char *name, uint64_t epoch, uint32_t pool,
		 struct qnl_err *e);
/* LINK_NEW of kind sim (a pair), LINK_SIM.RATE = @rate. */
int qnl_new_sim(struct qnl *q, const char *name, const char *peer,
		uint32_t rate, struct qnl_err *e);
int qnl_del(struct qnl *q, const char *name, struct qnl_err *e);
/* Deletes every link there is; returns 0 or the first -errno. */
int qnl_del_all(struct qnl *q);
/* LINK_SET of one u32 (or u8 for ADMIN_UP, u64 for EPOCH) attribute. */
int qnl_set(struct qnl *q, const char *name, int attr, uint64_t val,
	    struct qnl_err *e);
/* LINK_SET LINK_SIM { @sattr = @val }. */
int qnl_set_sim(struct qnl *q, const char *name, int sattr, uint32_t val,
		struct qnl_err *e);
int qnl_push(struct qnl *q, const char *name, uint32_t dir, uint64_t epoch,
	     uint64_t off, const void *data, size_t len, struct qnl_err *e);

/*
 * Next message from a monitor socket within @ms (-ETIMEDOUT otherwise);
 * qnl_wait_ntf() skips messages until one with @cmd (and @name if not NULL).
 */
int qnl_next_ntf(struct qnl *q, struct qnl_link *l, int ms);
int qnl_wait_ntf(struct qnl *q, uint8_t cmd, const char *name,
		 struct qnl_link *l, int ms);

/* delivered == taken + expired + avail per stream: 0, or -EUCLEAN. */
int qnl_check_counters(const struct qnl_link *l);

/* Milliseconds on CLOCK_MONOTONIC. */
long long qnl_now_ms(void);

#endif
