// SPDX-License-Identifier: GPL-2.0
/*
 * LINK_GET dump of 1,000 links: spans many multipart datagrams (a tiny
 * socket receive buffer makes the kernel continue the dump as we read),
 * returns every link exactly once in increasing id order, and stays
 * consistent while another thread deletes and creates links under it:
 * no link twice, ids increasing, every link that existed throughout seen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

#define NLINKS	1000
#define NNEW	100

struct dump_result {
	int err;		/* 0, or what went wrong */
	int dgrams;		/* datagrams with NLM_F_MULTI link messages */
	int n;
	uint32_t id[NLINKS + NNEW + 16];
	char name[NLINKS + NNEW + 16][QKDKEY_NAME_LEN];
};

/* reads the dump of @seq on @fd into @d */
static void dump_loop(int fd, uint32_t seq, struct dump_result *d, int pace_ms,
		      int *first)
{
	static char buf[8192] __attribute__((aligned(8)));

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		const struct nlmsghdr *nlh = (void *)buf;
		int left, multi = 0;
		ssize_t n;

		if (poll(&pfd, 1, 30000) != 1) {
			d->err = -ETIMEDOUT;
			return;
		}
		n = recvmsg(fd, &mh, 0);
		if (n < 0 || (mh.msg_flags & MSG_TRUNC)) {
			d->err = n < 0 ? -errno : -EMSGSIZE;
			return;
		}
		for (left = n; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			struct qnl_link l;

			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) {
				d->err = *(int *)mnl_nlmsg_get_payload(nlh);
				if (nlh->nlmsg_type == NLMSG_ERROR && !d->err)
					d->err = -EPROTO;	/* an ACK is not the end */
				return;
			}
			if (!(nlh->nlmsg_flags & NLM_F_MULTI) || qnl_parse_link(nlh, &l) ||
			    d->n >= (int)(sizeof(d->id) / sizeof(d->id[0]))) {
				d->err = -EPROTO;
				return;
			}
			multi = 1;
			d->id[d->n] = l.id;
			strcpy(d->name[d->n++], l.name);
		}
		d->dgrams += multi;
		if (first)
			__atomic_store_n(first, 1, __ATOMIC_SEQ_CST);
		if (pace_ms)
			qkd_msleep(pace_ms);
	}
}

/*
 * Dumps on a fresh socket with a small SO_RCVBUF and an 8 KiB user buffer
 * (the kernel sizes dump skbs after the largest recvmsg() buffer a socket
 * has used), sleeping @pace_ms after each datagram; @first is posted after
 * the first one.
 */
static void slow_dump(struct qnl *q, struct dump_result *d, int pace_ms,
		      int *first)
{
	struct nlmsghdr *req = qnl_req(q, QKDKEY_CMD_LINK_GET, NLM_F_DUMP);
	struct mnl_socket *nl = mnl_socket_open(NETLINK_GENERIC);
	uint32_t seq = req->nlmsg_seq;
	int fd, rcv = 4096;

	memset(d, 0, sizeof(*d));
	if (!nl) {
		d->err = -errno;
		return;
	}
	fd = mnl_socket_get_fd(nl);
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) ||
	    mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		d->err = -errno;
		mnl_socket_close(nl);
		return;
	}
	dump_loop(fd, seq, d, pace_ms, first);
	mnl_socket_close(nl);
}

FIXTURE(dump) {
	struct qnl q;
	struct dump_result d;
};

FIXTURE_SETUP(dump)
{
	char name[QKDKEY_NAME_LEN];

	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	for (int i = 0; i < NLINKS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		ASSERT_EQ(0, qnl_new_user(&self->q, name, 0, 4096, NULL));
	}
}

FIXTURE_TEARDOWN(dump)
{
	qnl_del_all(&self->q);
	qnl_close(&self->q);
}

/* ids strictly increase (so no link twice); returns the index of @name or -1 */
static int find(const struct dump_result *d, const char *name)
{
	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->name[i], name))
			return i;
	return -1;
}

static int increasing(const struct dump_result *d)
{
	for (int i = 1; i < d->n; i++)
		if (d->id[i] <= d->id[i - 1])
			return i;
	return 0;
}

TEST_F_TIMEOUT(dump, thousand_links_once_each, 300)
{
	char name[QKDKEY_NAME_LEN];
	struct qnl_link *all = calloc(NLINKS + 1, sizeof(*all));

	slow_dump(&self->q, &self->d, 0, NULL);
	ASSERT_EQ(0, self->d.err);
	TH_LOG("%d links in %d datagrams", self->d.n, self->d.dgrams);
	ASSERT_LT(1, self->d.dgrams);
	ASSERT_EQ(NLINKS, self->d.n);
	ASSERT_EQ(0, increasing(&self->d));
	for (int i = 0; i < NLINKS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		ASSERT_EQ(i, find(&self->d, name));
	}
	/* the same through the ordinary helper, with a big buffer */
	ASSERT_NE(NULL, all);
	ASSERT_EQ(NLINKS, qnl_dump(&self->q, all, NLINKS + 1, NULL));
	for (int i = 0; i < NLINKS; i++)
		ASSERT_EQ(self->d.id[i], all[i].id);
	free(all);
}

struct churn {
	pthread_t th;
	int started, err, deleted, created;
};

/* deletes every odd link and creates n0..n99, once the dump has started */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	char name[QKDKEY_NAME_LEN];
	struct qnl q;
	long long end = qnl_now_ms() + 30000;

	c->err = qnl_open(&q);
	if (c->err)
		return NULL;
	while (!__atomic_load_n(&c->started, __ATOMIC_SEQ_CST) && qnl_now_ms() < end)
		qkd_msleep(1);
	for (int i = 1; i < NLINKS && !c->err; i += 2) {
		snprintf(name, sizeof(name), "u%d", i);
		c->err = qnl_del(&q, name, NULL);
		c->deleted += !c->err;
		if (!c->err && i % 10 == 1) {
			snprintf(name, sizeof(name), "n%d", c->created);
			c->err = qnl_new_user(&q, name, 0, 4096, NULL);
			c->created += !c->err;
		}
	}
	qnl_close(&q);
	return NULL;
}

TEST_F_TIMEOUT(dump, concurrent_delete_and_create, 300)
{
	char name[QKDKEY_NAME_LEN];
	struct churn c = {};
	int i;

	ASSERT_EQ(0, pthread_create(&c.th, NULL, churn_thread, &c));
	slow_dump(&self->q, &self->d, 20, &c.started);
	pthread_join(c.th, NULL);
	ASSERT_EQ(0, self->d.err);
	ASSERT_EQ(0, c.err);
	TH_LOG("dump saw %d links in %d datagrams; %d deleted, %d created meanwhile",
	       self->d.n, self->d.dgrams, c.deleted, c.created);
	ASSERT_EQ(NLINKS / 2, c.deleted);
	ASSERT_LT(1, self->d.dgrams);
	/* never a link twice, always in id order */
	ASSERT_EQ(0, increasing(&self->d));
	/* every link that existed throughout the dump was returned */
	for (i = 0; i < NLINKS; i += 2) {
		snprintf(name, sizeof(name), "u%d", i);
		ASSERT_LE(0, find(&self->d, name));
	}

	/* afterwards the dump is exact again */
	slow_dump(&self->q, &self->d, 0, NULL);
	ASSERT_EQ(0, self->d.err);
	ASSERT_EQ(NLINKS / 2 + c.created, self->d.n);
	ASSERT_EQ(0, increasing(&self->d));
	for (i = 0; i < NLINKS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		EXPECT_EQ(i % 2 == 0, find(&self->d, name) >= 0);
	}
	for (i = 0; i < c.created; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		EXPECT_LE(0, find(&self->d, name));
	}
}

TEST_HARNESS_MAIN
