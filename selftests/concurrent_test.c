// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrent TX readers never get overlapping key ranges, and the link
 * counters add up. 8 threads x 10,000 reads, each thread with its own file
 * or all sharing one. Needs qkd_sim loaded with pool=8388608 so that the
 * unread RX end of the pair never limits the test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"

#define NTHREADS	8
#define NREADS		10000
#define MAXLEN		64
#define FAST_RATE	(64 << 20)

struct rec {
	uint64_t epoch, off;
	uint32_t len;
};

struct worker {
	pthread_t th;
	int fd;
	unsigned int seed;
	long long link_id;
	struct rec *recs;
	int nrecs;
	char err[160];	/* empty: no error */
};

static void *reader(void *arg)
{
	struct worker *w = arg;
	unsigned char buf[QKD_HDR + MAXLEN];
	struct qkdkey_tx_hdr *h = (void *)buf;

	for (int i = 0; i < NREADS; i++) {
		size_t n = 1 + rand_r(&w->seed) % MAXLEN;
		ssize_t r = qkd_read(w->fd, buf, QKD_HDR + n);

		if (r != (ssize_t)(QKD_HDR + n)) {
			snprintf(w->err, sizeof(w->err), "read %d of %zu: got %zd (%s)",
				 i, QKD_HDR + n, r, r < 0 ? strerror(-r) : "short");
			break;
		}
		if (h->length != n || h->link_id != w->link_id) {
			snprintf(w->err, sizeof(w->err),
				 "read %d: header length %u link %u, want %zu %lld",
				 i, h->length, h->link_id, n, w->link_id);
			break;
		}
		w->recs[w->nrecs++] = (struct rec){ h->epoch, h->offset, h->length };
	}
	memset(buf, 0, sizeof(buf));
	return NULL;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return 0;
}

static void read_counters(struct __test_metadata *_metadata, long long *d,
			  long long *t, long long *x, long long *a)
{
	*d = qkd_link_u64("sim0a", "tx_delivered");
	*t = qkd_link_u64("sim0a", "tx_taken");
	*x = qkd_link_u64("sim0a", "tx_expired");
	*a = qkd_link_u64("sim0a", "tx_avail");
	ASSERT_LE(0, *d);
	ASSERT_LE(0, *t);
	ASSERT_LE(0, *x);
	ASSERT_LE(0, *a);
}

FIXTURE(conc) {
	struct worker w[NTHREADS];
	struct rec *all;
};

FIXTURE_VARIANT(conc) {
	int shared_fd;
};

FIXTURE_VARIANT_ADD(conc, own_fd) { .shared_fd = 0 };
FIXTURE_VARIANT_ADD(conc, shared_fd) { .shared_fd = 1 };

FIXTURE_SETUP(conc)
{
	ASSERT_EQ(0, qkd_reset());
	ASSERT_LE(4 << 20, qkd_link_u64("sim0a", "pool_limit"))
		TH_LOG("load qkd_sim with pool=8388608");
	ASSERT_EQ(0, qkd_sim_set("rate", FAST_RATE));
	ASSERT_EQ(0, qkd_wait_ge("sim0a", "tx_avail", 1, 10000));
	self->all = calloc(NTHREADS * NREADS, sizeof(struct rec));
	ASSERT_NE(NULL, self->all);
	for (int i = 0; i < NTHREADS; i++)
		self->w[i].fd = -1;
}

FIXTURE_TEARDOWN(conc)
{
	for (int i = 0; i < NTHREADS; i++)
		if (self->w[i].fd >= 0 && (!i || !variant->shared_fd))
			close(self->w[i].fd);
	free(self->all);
	qkd_sim_set("rate", SIM_RATE_DEFAULT);
}

TEST_F_TIMEOUT(conc, disjoint_ranges, 300)
{
	long long id = qkd_link_u64("sim0a", "id");
	long long epoch = qkd_link_u64("sim0a", "epoch");
	long long taken0 = qkd_link_u64("sim0a", "tx_taken");
	long long delivered, taken, expired, avail, d2, t2, x2, a2;
	unsigned long long sum = 0;
	int total = 0;

	ASSERT_GT(id, 0);
	ASSERT_LE(0, epoch);
	ASSERT_LE(0, taken0);
	for (int i = 0; i < NTHREADS; i++) {
		struct worker *w = &self->w[i];

		w->fd = variant->shared_fd && i ? self->w[0].fd
						: qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
		ASSERT_LE(0, w->fd);
		w->seed = 0x9e3779b9u * (i + 1);
		w->link_id = id;
		w->recs = self->all + i * NREADS;
	}
	for (int i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&self->w[i].th, NULL, reader, &self->w[i]));
	for (int i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_join(self->w[i].th, NULL));

	/* pause the sim so that the counters stand still */
	ASSERT_EQ(0, qkd_sim_pause());

	for (int i = 0; i < NTHREADS; i++) {
		ASSERT_STREQ("", self->w[i].err) TH_LOG("thread %d", i);
		ASSERT_EQ(NREADS, self->w[i].nrecs);
		for (int j = 0; j < self->w[i].nrecs; j++)
			sum += self->w[i].recs[j].len;
		total += self->w[i].nrecs;
	}

	qsort(self->all, total, sizeof(struct rec), rec_cmp);
	for (int i = 0; i < total; i++) {
		struct rec *c = &self->all[i], *p = c - 1;

		ASSERT_EQ((uint64_t)epoch, c->epoch);
		if (i)
			ASSERT_LE(p->off + p->len, c->off)
				TH_LOG("overlap: [%llu,+%u) and [%llu,+%u)",
				       (unsigned long long)p->off, p->len,
				       (unsigned long long)c->off, c->len);
	}

	read_counters(_metadata, &delivered, &taken, &expired, &avail);
	/* the sim is paused: the counters must stand still */
	qkd_msleep(100);
	read_counters(_metadata, &d2, &t2, &x2, &a2);
	ASSERT_EQ(delivered, d2);
	ASSERT_EQ(taken, t2);
	ASSERT_EQ(expired, x2);
	ASSERT_EQ(avail, a2);
	ASSERT_EQ(epoch, qkd_link_u64("sim0a", "epoch"));
	ASSERT_EQ(sum, (unsigned long long)(taken - taken0));
	ASSERT_EQ(delivered, taken + expired + avail)
		TH_LOG("delivered %lld taken %lld expired %lld avail %lld",
		       delivered, taken, expired, avail);
}

TEST_HARNESS_MAIN
