// SPDX-License-Identifier: GPL-2.0
/* libmnl helpers for the qkdkey netlink selftests; see qkd_nl_util.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "qkd_nl_util.h"

#define TALK_TIMEOUT_MS	60000

long long qnl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reads one datagram into q->rbuf within @ms. */
static int recv_dgram(struct qnl *q, int ms)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(q->nl), .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = mnl_socket_recvfrom(q->nl, q->rbuf, QNL_BUF);
	if (n < 0)
		return -errno;	/* ENOSPC: truncated, ENOBUFS: overrun */
	q->rlen = n;
	q->rpos = 0;
	return 0;
}

struct ack_tb {
	struct qnl_err *e;
};

static int ack_attr_cb(const struct nlattr *a, void *data)
{
	struct qnl_err *e = data;
	size_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case NLMSGERR_ATTR_MSG:
		if (len && len <= sizeof(e->msg)) {
			memcpy(e->msg, mnl_attr_get_payload(a), len);
			e->msg[len - 1] = '\0';
			e->has_msg = e->msg[0] != '\0';
		}
		break;
	case NLMSGERR_ATTR_OFFS:
		if (len == 4) {
			e->offs = mnl_attr_get_u32(a);
			e->has_offs = 1;
		}
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		if (len == 4) {
			e->miss_type = mnl_attr_get_u32(a);
			e->has_miss = 1;
		}
		break;
	case NLMSGERR_ATTR_MISS_NEST:
		if (len == 4) {
			e->miss_nest = mnl_attr_get_u32(a);
			e->has_miss_nest = 1;
		}
		break;
	}
	return MNL_CB_OK;
}

/* NLMSG_ERROR or NLMSG_DONE: the error and the extended ACK TLVs */
static int parse_ack(const struct nlmsghdr *nlh, struct qnl_err *e)
{
	size_t off;
	int err;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *me = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*me))
			return -EPROTO;
		err = me->error;
		off = sizeof(*me);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += me->msg.nlmsg_len - NLMSG_HDRLEN;
	} else {
		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
			return -EPROTO;
		err = *(int *)mnl_nlmsg_get_payload(nlh);
		off = sizeof(int);
	}
	if (err > 0)
		err = -err;
	e->err = err;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) &&
	    NLMSG_HDRLEN + MNL_ALIGN(off) <= nlh->nlmsg_len)
		mnl_attr_parse(nlh, MNL_ALIGN(off), ack_attr_cb, e);
	return err;
}

int qnl_talk_raw(struct qnl *q, const void *buf, size_t len, uint32_t seq,
		 int dump, qnl_cb cb, void *data, struct qnl_err *e)
{
	struct qnl_err tmp;
	long long deadline = qnl_now_ms() + TALK_TIMEOUT_MS;
	int cbret = 0;

	if (!e)
		e = &tmp;
	memset(e, 0, sizeof(*e));
	if (mnl_socket_sendto(q->nl, buf, len) < 0)
		return e->err = -errno;
	for (;;) {
		const struct nlmsghdr *nlh;
		int left, r = recv_dgram(q, deadline - qnl_now_ms());

		if (r)
			return e->err = r;
		nlh = (const struct nlmsghdr *)q->rbuf;
		left = q->rlen;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != q->portid)
				continue;	/* a stale reply */
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    (dump && nlh->nlmsg_type == NLMSG_DONE))
				return parse_ack(nlh, e);
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_NOOP)
				continue;
			if (cb && cbret >= 0)
				cbret = cb(nlh, data);
		}
	}
}

int qnl_talk(struct qnl *q, struct nlmsghdr *nlh, qnl_cb cb, void *data,
	     struct qnl_err *e)
{
	int dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;

	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	return qnl_talk_raw(q, nlh, nlh->nlmsg_len, nlh->nlmsg_seq, dump, cb, data, e);
}

struct nlmsghdr *qnl_req(struct qnl *q, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(q->req);
	struct genlmsghdr *g;

	nlh->nlmsg_type = q->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++q->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = QKDKEY_GENL_VERSION;
	return nlh;
}

/* CTRL_CMD_GETFAMILY reply: family id and the monitor group id */
static int grp_cb(const struct nlattr *a, void *data)
{
	struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1] = {};
	const struct nlattr *c;
	struct qnl *q = data;

	mnl_attr_for_each_nested(c, a)
		if (mnl_attr_get_type(c) <= CTRL_ATTR_MCAST_GRP_MAX)
			tb[mnl_attr_get_type(c)] = (struct nlattr *)c;
	if (tb[CTRL_ATTR_MCAST_GRP_NAME] && tb[CTRL_ATTR_MCAST_GRP_ID] &&
	    !strcmp(mnl_attr_get_str(tb[CTRL_ATTR_MCAST_GRP_NAME]), QKDKEY_MCGRP_MONITOR))
		q->mon_grp = mnl_attr_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
	return MNL_CB_OK;
}

static int family_attr_cb(const struct nlattr *a, void *data)
{
	struct qnl *q = data;
	const struct nlattr *g;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
		q->family = mnl_attr_get_u16(a);
	else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GROUPS)
		mnl_attr_for_each_nested(g, a)
			grp_cb(g, q);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, GENL_HDRLEN, family_attr_cb, data);
	return 0;
}

int qnl_open(struct qnl *q)
{
	struct nlmsghdr *nlh;
	int one = 1, r;

	memset(q, 0, sizeof(*q));
	q->rbuf = aligned_alloc(8, QNL_BUF);
	q->req = aligned_alloc(8, QNL_BUF);
	if (!q->rbuf || !q->req) {
		r = -ENOMEM;
		goto fail;
	}
	q->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!q->nl) {
		r = -errno;
		goto fail;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(q->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(q->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0) {
		r = -errno;
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	q->seq = time(NULL);

	q->family = GENL_ID_CTRL;
	nlh = qnl_req(q, CTRL_CMD_GETFAMILY, 0);
	((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, QKDKEY_GENL_NAME);
	q->family = 0;
	r = qnl_talk(q, nlh, family_cb, q, NULL);
	if (!r && (!q->family || !q->mon_grp))
		r = -ENOENT;
	if (r)
		goto fail;
	return 0;
fail:
	qnl_close(q);
	return r;
}

void qnl_close(struct qnl *q)
{
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->rbuf);
	free(q->req);
	memset(q, 0, sizeof(*q));
}

int qnl_join_monitor(struct qnl *q)
{
	int grp = q->mon_grp;

	if (mnl_socket_setsockopt(q->nl, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0)
		return -errno;
	return 0;
}

/* attribute payload checks: exact sizes, NUL-terminated short strings */
static int get_str(const struct nlattr *a, char *out)
{
	size_t len = mnl_attr_get_payload_len(a);
	const char *s = mnl_attr_get_payload(a);

	if (!len || len > QKDKEY_NAME_LEN || s[len - 1] || strlen(s) != len - 1)
		return -EPROTO;
	memcpy(out, s, len);
	return 0;
}

static int get_u32(const struct nlattr *a, uint32_t *v)
{
	if (mnl_attr_get_payload_len(a) != 4)
		return -EPROTO;
	*v = mnl_attr_get_u32(a);
	return 0;
}

static int get_u64(const struct nlattr *a, uint64_t *v)
{
	if (mnl_attr_get_payload_len(a) != 8)
		return -EPROTO;
	memcpy(v, mnl_attr_get_payload(a), 8);
	return 0;
}

static int parse_nest(const struct nlattr *nest, struct qnl_link *l, int sim)
{
	const struct nlattr *a;
	int r = 0;

	mnl_attr_for_each_nested(a, nest) {
		int t = mnl_attr_get_type(a);

		if (sim) {
			if (t > QKDKEY_SIM_A_MAX)
				continue;
			l->sim_present |= 1U << t;
			if (t == QKDKEY_SIM_A_RATE)
				r |= get_u32(a, &l->sim_rate);
			else if (t == QKDKEY_SIM_A_QBER)
				r |= get_u32(a, &l->sim_qber);
			else if (t == QKDKEY_SIM_A_EVE)
				r |= get_u32(a, &l->sim_eve);
		} else {
			if (t > QKDKEY_COUNTER_A_MAX)
				continue;
			l->cnt_present |= 1U << t;
			if (t != QKDKEY_COUNTER_A_PAD)
				r |= get_u64(a, &l->cnt[t]);
		}
	}
	return r ? -EPROTO : 0;
}

int qnl_parse_link(const struct nlmsghdr *nlh, struct qnl_link *l)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	int r = 0;

	memset(l, 0, sizeof(*l));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EPROTO;
	l->cmd = g->cmd;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		int t = mnl_attr_get_type(a);

		if (t < 64)
			l->present |= 1ULL << t;
		switch (t) {
		case QKDKEY_A_LINK_ID:		r |= get_u32(a, &l->id); break;
		case QKDKEY_A_LINK_NAME:	r |= get_str(a, l->name); break;
		case QKDKEY_A_LINK_KIND:	r |= get_str(a, l->kind); break;
		case QKDKEY_A_LINK_PEER:	r |= get_str(a, l->peer); break;
		case QKDKEY_A_LINK_STATE:	r |= get_u32(a, &l->state); break;
		case QKDKEY_A_LINK_DEFAULT:
			r |= mnl_attr_get_payload_len(a) ? -EPROTO : 0;
			l->is_default = 1;
			break;
		case QKDKEY_A_LINK_EPOCH:	r |= get_u64(a, &l->epoch); break;
		case QKDKEY_A_LINK_TX_AVAIL:	r |= get_u64(a, &l->tx_avail); break;
		case QKDKEY_A_LINK_RX_AVAIL:	r |= get_u64(a, &l->rx_avail); break;
		case QKDKEY_A_LINK_QBER:	r |= get_u32(a, &l->qber); break;
		case QKDKEY_A_LINK_QBER_THRESHOLD: r |= get_u32(a, &l->threshold); break;
		case QKDKEY_A_LINK_KEY_RATE:	r |= get_u32(a, &l->key_rate); break;
		case QKDKEY_A_LINK_POOL_LIMIT:	r |= get_u32(a, &l->pool); break;
		case QKDKEY_A_LINK_LOW_WATERMARK: r |= get_u32(a, &l->watermark); break;
		case QKDKEY_A_LINK_COUNTERS:	r |= parse_nest(a, l, 0); break;
		case QKDKEY_A_LINK_SIM:		r |= parse_nest(a, l, 1); break;
		case QKDKEY_A_KEY_DIR:		r |= get_u32(a, &l->key_dir); break;
		case QKDKEY_A_KEY_EPOCH:	r |= get_u64(a, &l->key_epoch); break;
		case QKDKEY_A_KEY_OFFSET:	r |= get_u64(a, &l->key_offset); break;
		case QKDKEY_A_KEY_LEN:		r |= get_u32(a, &l->key_len); break;
		}
	}
	return r ? -EPROTO : 0;
}

void qnl_put_sel(struct nlmsghdr *nlh, uint32_t id, const char *name)
{
	if (name)
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
	else
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, id);
}

static int one_link_cb(const struct nlmsghdr *nlh, void *data)
{
	return qnl_parse_link(nlh, data);
}

int qnl_get(struct qnl *q, uint32_t id, const char *name, struct qnl_link *l,
	    struct qnl_err *e)
{
	struct nlmsghdr *nlh = qnl_req(q, QKDKEY_CMD_LINK_GET, 0);
	struct qnl_link tmp;
	int r;

	if (!l)
		l = &tmp;
	memset(l, 0, sizeof(*l));
	qnl_put_sel(nlh, id, name);
	r = qnl_talk(q, nlh, one_link_cb, l, e);
	if (!r && !QNL_HAS(l, QKDKEY_A_LINK_ID))
		r = -EPROTO;
	return r;
}

struct dump_ctx {
	struct qnl_link *out;
	int max, n, bad;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	struct qnl_link l;

	if (qnl_parse_link(nlh, &l))
		d->bad = 1;
	else if (d->n < d->max)
		d->out[d->n++] = l;
	else
		d->bad = 1;
	return 0;
}

int qnl_dump(struct qnl *q, struct qnl_link *out, int max, struct qnl_err *e)
{
	struct dump_ctx d = { out, max, 0, 0 };
	int r = qnl_talk(q, qnl_req(q, QKDKEY_CMD_LINK_GET, NLM_F_DUMP), dump_cb, &d, e);

	if (r)
		return r;
	return d.bad ? -EPROTO : d.n;
}

int qnl_new_user(struct qnl *q, const char *name, uint64_t epoch, uint32_t pool,
		 struct qnl_err *e)
{
	struct nlmsghdr *nlh = qnl_req(q, QKDKEY_CMD_LINK_NEW, 0);

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "user");
	if (epoch)
		mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, epoch);
	if (pool)
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, pool);
	return qnl_talk(q, nlh, NULL, NULL, e);
}

int qnl_new_sim(struct qnl *q, const char *name, const char *peer,
		uint32_t rate, struct qnl_err *e)
{
	struct nlmsghdr *nlh = qnl_req(q, QKDKEY_CMD_LINK_NEW, 0);
	struct nlattr *n;

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "sim");
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_PEER, peer);
	n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
	mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE, rate);
	mnl_attr_nest_end(nlh, n);
	return qnl_talk(q, nlh, NULL, NULL, e);
}

int qnl_del(struct qnl *q, const char *name, struct qnl_err *e)
{
	struct nlmsghdr *nlh = qnl_req(q, QKDKEY_CMD_LINK_DEL, 0);

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
	return qnl_talk(q, nlh, NULL, NULL, e);
}

int qnl_del_all(struct qnl *q)
{
	static struct qnl_link links[2048];
	int n = qnl_dump(q, links, 2048, NULL), r = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct nlmsghdr *nlh = qnl_req(q, QKDKEY_CMD_LINK_DEL, 0);
		int d;

		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, links[i].id);
		d = qnl_talk(q, nlh, NULL, NULL, NULL);
		/* the peer of a sim pair goes with its first end */
		if (d && d != -ENODEV && !r)
			r = d;
	}
	return r;
}

int qnl_set(struct qnl *q, const char *name, int attr, uint64_t val,
	    struct qnl_err *e)
{
	struct nlmsghdr *nlh = qnl_req(q, QKDKEY_CMD_LINK_SET, 0);

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
	if (attr == QKDKEY_A_LINK_ADMIN_UP)
		mnl_attr_put_u8(nlh, attr, val);
	else if (attr == QKDKEY_A_LINK_EPOCH)
		mnl_attr_put_u64(nlh, attr, val);
	else if (attr == QKDKEY_A_LINK_DEFAULT)
		mnl_attr_put(nlh, attr, 0, NULL);
	else
		mnl_attr_put_u32(nlh, attr, val);
	return qnl_talk(q, nlh, NULL, NULL, e);
}

int qnl_set_sim(struct qnl *q, const char *name, int sattr, uint32_t val,
		struct qnl_err *e)
{
	struct nlmsghdr *nlh = qnl_req(q, QKDKEY_CMD_LINK_SET, 0);
	struct nlattr *n;

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
	n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
	mnl_attr_put_u32(nlh, sattr, val);
	mnl_attr_nest_end(nlh, n);
	return qnl_talk(q, nlh, NULL, NULL, e);
}

int qnl_push(struct qnl *q, const char *name, uint32_t dir, uint64_t epoch,
	     uint64_t off, const void *data, size_t len, struct qnl_err *e)
{
	struct nlmsghdr *nlh = qnl_req(q, QKDKEY_CMD_KEY_PUSH, 0);

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
	mnl_attr_put_u32(nlh, QKDKEY_A_KEY_DIR, dir);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_EPOCH, epoch);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_OFFSET, off);
	mnl_attr_put(nlh, QKDKEY_A_KEY_DATA, len, data);
	return qnl_talk(q, nlh, NULL, NULL, e);
}

int qnl_next_ntf(struct qnl *q, struct qnl_link *l, int ms)
{
	long long deadline = qnl_now_ms() + ms;

	for (;;) {
		const struct nlmsghdr *nlh;
		int r;

		if (q->rpos >= q->rlen) {
			r = recv_dgram(q, deadline - qnl_now_ms() > 0 ?
					  deadline - qnl_now_ms() : 0);
			if (r)
				return r;
		}
		nlh = (const struct nlmsghdr *)(q->rbuf + q->rpos);
		if (!mnl_nlmsg_ok(nlh, q->rlen - q->rpos)) {
			q->rpos = q->rlen;
			return -EPROTO;
		}
		q->rpos += NLMSG_ALIGN(nlh->nlmsg_len);
		if (nlh->nlmsg_type != q->family)
			continue;
		return qnl_parse_link(nlh, l);
	}
}

int qnl_wait_ntf(struct qnl *q, uint8_t cmd, const char *name,
		 struct qnl_link *l, int ms)
{
	long long deadline = qnl_now_ms() + ms;

	for (;;) {
		long long left = deadline - qnl_now_ms();
		int r = qnl_next_ntf(q, l, left > 0 ? left : 0);

		if (r)
			return r;
		if (l->cmd == cmd && (!name || !strcmp(name, l->name)))
			return 0;
	}
}

int qnl_check_counters(const struct qnl_link *l)
{
	const uint64_t *c = l->cnt;

	if (c[QKDKEY_COUNTER_A_TX_DELIVERED] != c[QKDKEY_COUNTER_A_TX_TAKEN] +
	    c[QKDKEY_COUNTER_A_TX_EXPIRED] + l->tx_avail)
		return -EUCLEAN;
	if (c[QKDKEY_COUNTER_A_RX_DELIVERED] != c[QKDKEY_COUNTER_A_RX_TAKEN] +
	    c[QKDKEY_COUNTER_A_RX_EXPIRED] + l->rx_avail)
		return -EUCLEAN;
	return 0;
}
