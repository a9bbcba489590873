// SPDX-License-Identifier: GPL-2.0
/*
 * The stress test's sim key paths: TX readers on both ends of the pair
 * under test record every range they get and pass the bytes to an RX
 * reader on the other end, which must find the same bytes at the same
 * epoch and offset, and only once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define MAXK		256	/* key bytes per sim read */
#define QLEN		512	/* TX->RX messages in flight per direction */
#define MAX_RECS	(4 << 20)

/* ---- what TX readers handed out, for the no-overlap check */
void rec_add(struct recs *v, uint32_t id, uint64_t epoch, uint64_t off,
	     uint32_t len)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 4096;
		struct rec *r = cap <= MAX_RECS ? realloc(v->r, cap * sizeof(*r)) : NULL;

		if (!r)
			return;	/* the check covers what fits */
		v->r = r;
		v->cap = cap;
	}
	v->r[v->n++] = (struct rec){ epoch, off, id, len };
}

/* ---- TX -> RX messages: what one end read, for the other end to find */
struct msg {
	uint64_t epoch, off;
	uint32_t len;
	unsigned char data[MAXK];
};

static struct mq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg m[QLEN];
	unsigned int head, tail;
} mq[2] = {
	{ .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER },
	{ .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER },
};

/* A full queue drops the message: that key is then only checked at TX. */
static void mq_put(struct mq *q, const struct msg *m)
{
	pthread_mutex_lock(&q->mu);
	if (q->tail - q->head < QLEN) {
		q->m[q->tail++ % QLEN] = *m;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
}

static int mq_get(struct mq *q, struct msg *m)
{
	struct timespec ts;
	int got = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&q->mu);
	if (q->head == q->tail)
		pthread_cond_timedwait(&q->cv, &q->mu, &ts);
	if (q->head != q->tail) {
		*m = q->m[q->head++ % QLEN];
		got = 1;
	}
	pthread_mutex_unlock(&q->mu);
	return got;
}

void st_wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	poll(&p, 1, ms);
}

/* ---- readers */
/* Reads TX key; hands the bytes to the peer's RX reader. */
void *st_tx_reader(void *arg)
{
	static const int bind_ok[] = { -ENODEV, 0 };
	static const int read_ok[] = { -EAGAIN, -ENODEV, -EINTR, 0 };
	struct reader *t = arg;
	unsigned char buf[QKD_HDR + MAXK];
	struct qkdkey_tx_hdr *h = (void *)buf;
	struct msg m;
	int fd = -1, n = 0;
	ssize_t r;

	while (!st_stop) {
		if (fd < 0) {
			fd = t->name ? qkd_open_bind(t->name, QKDKEY_DIR_TX, t->flags) :
				       qkd_open(t->flags);
			if (st_expect("TX open/bind", fd, bind_ok) < 0) {
				fd = -1;
				st_msleep(10);
				continue;
			}
		}
		m.len = 1 + st_rand(&t->seed) % MAXK;
		r = qkd_read(fd, buf, QKD_HDR + m.len);
		if (r == (ssize_t)(QKD_HDR + m.len) && h->length == m.len) {
			rec_add(&t->recs, h->link_id, h->epoch, h->offset, h->length);
			st_tally(st_tx_bytes, h->link_id, h->length);
			st_inc(SC_TX_READS, 1);
			if (t->name) {
				m.epoch = h->epoch;
				m.off = h->offset;
				memcpy(m.data, buf + QKD_HDR, m.len);
				mq_put(&mq[t->end], &m);
			}
			/* files come and go too */
			if (++n % 500 == 0) {
				close(fd);
				fd = -1;
			}
			continue;
		}
		if (r >= 0) {
			st_fail(SC_BAD_ERRNO, "TX read of %u: %zd bytes, header length %u",
				m.len, r, h->length);
			continue;
		}
		st_expect("TX read", r, read_ok);
		if (r == -EAGAIN) {
			st_wait_readable(fd, 50);
		} else if (r == -ENODEV) {
			st_inc(SC_ENODEV, 1);
			close(fd);
			fd = -1;
		}
	}
	memset(buf, 0, sizeof(buf));
	memset(&m, 0, sizeof(m));
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* An RX file bound to @name at the epoch @epoch, or -1: message skipped. */
static int rx_bind(int *fd, const char *name, uint64_t epoch, uint32_t *id)
{
	static const int ok[] = { -ENODEV, 0 };
	struct qkdkey_link_info info;

	if (*fd < 0)
		*fd = qkd_open(O_RDONLY | O_NONBLOCK);
	if (*fd < 0) {
		st_fail(SC_BAD_ERRNO, "RX open: %s", strerror(-*fd));
		return -1;
	}
	if (st_expect("RX bind", qkd_bind(*fd, 0, name, QKDKEY_DIR_RX), ok) ||
	    st_expect("RX info", qkd_info(*fd, 0, &info), ok) ||
	    (info.flags & QKDKEY_INFO_STALE) || info.epoch != epoch)
		return -1;
	*id = info.link_id;
	return 0;
}

/* Finds at the other end what a TX reader got: same bytes, and only once. */
void *st_rx_reader(void *arg)
{
	static const int twice_ok[] = { -ENOKEY, -ESTALE, -ENODEV, 0 };
	static const int read_ok[] = { -ENOKEY, -ESTALE, -ENODEV, -EAGAIN, 0 };
	struct reader *t = arg;
	const char *name = t->end ? ST_A : ST_B;
	unsigned char buf[MAXK];
	uint64_t epoch = 0;
	uint32_t id = 0;
	struct msg m;
	int fd = -1, tries;
	ssize_t r;

	while (!st_stop) {
		if (!mq_get(&mq[t->end], &m))
			continue;
		if (epoch != m.epoch) {
			epoch = 0;
			if (rx_bind(&fd, name, m.epoch, &id)) {
				st_inc(SC_RX_SKIPPED, 1);
				continue;
			}
			epoch = m.epoch;
		}
		/* EAGAIN while the link is in ALARM or down */
		r = -EAGAIN;
		for (tries = 0; tries < 40 && !st_stop; tries++) {
			r = qkd_pread(fd, buf, m.len, m.off);
			if (r != -EAGAIN)
				break;
			st_wait_readable(fd, 50);
		}
		if (r == m.len) {
			if (memcmp(buf, m.data, m.len))
				st_fail(SC_RX_MISMATCH, "RX %s epoch %llu offset %llu: bytes differ from TX",
					name, (unsigned long long)m.epoch,
					(unsigned long long)m.off);
			else
				st_inc(SC_RX_MATCHES, 1);
			st_tally(st_rx_bytes, id, m.len);
			r = qkd_pread(fd, buf, m.len, m.off);
			if (r >= 0)
				st_fail(SC_RX_TWICE, "RX %s offset %llu handed out twice",
					name, (unsigned long long)m.off);
			else
				st_expect("RX re-read", r, twice_ok);
			continue;
		}
		st_inc(SC_RX_SKIPPED, 1);
		if (r >= 0)
			st_fail(SC_BAD_ERRNO, "RX read of %u: %zd bytes", m.len, r);
		else
			st_expect("RX read", r, read_ok);
		if (r == -ESTALE || r == -ENODEV)
			epoch = 0;
	}
	memset(buf, 0, sizeof(buf));
	memset(&m, 0, sizeof(m));
	if (fd >= 0)
		close(fd);
	return NULL;
}
