// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring reads on /dev/qkdkey complete inline or through armed poll,
 * never through io-wq worker threads (iou-wrk-*), and return the same
 * records as read(2)/pread(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"

#define NREQ	32
#define MAXKEY	4096

FIXTURE(uring) {
	struct io_uring ring;
	int ring_ok;
	int fd;
	unsigned char buf[NREQ][QKD_HDR + MAXKEY];
	size_t len[NREQ];
	int done[NREQ];
};

FIXTURE_SETUP(uring)
{
	int r;

	self->fd = -1;
	ASSERT_EQ(0, qkd_reset());
	r = io_uring_queue_init(2 * NREQ, &self->ring, 0);
	if (r == -ENOSYS || r == -EPERM)
		SKIP(return, "io_uring not available: %s", strerror(-r));
	ASSERT_EQ(0, r);
	self->ring_ok = 1;
	ASSERT_EQ(0, qkd_count_iou_workers());
}

FIXTURE_TEARDOWN(uring)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	close(self->fd);
	qkd_sim_set("rate", SIM_RATE_DEFAULT);
}

static void submit_reads(struct __test_metadata *_metadata,
			 FIXTURE_DATA(uring) *self, const uint64_t *off)
{
	for (int i = 0; i < NREQ; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		ASSERT_NE(NULL, sqe);
		io_uring_prep_read(sqe, self->fd, self->buf[i], self->len[i],
				   off ? off[i] : 0);
		io_uring_sqe_set_data64(sqe, i);
	}
	ASSERT_EQ(NREQ, io_uring_submit(&self->ring));
}

/* Reap all NREQ completions; each must return its full length. */
static void reap_all(struct __test_metadata *_metadata, FIXTURE_DATA(uring) *self)
{
	struct __kernel_timespec ts = { .tv_sec = 20 };
	struct io_uring_cqe *cqe;

	for (int n = 0; n < NREQ; n++) {
		uint64_t i;

		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&self->ring, &cqe, &ts))
			TH_LOG("%d of %d reads completed", n, NREQ);
		i = io_uring_cqe_get_data64(cqe);
		ASSERT_GT(NREQ, i);
		ASSERT_EQ(0, self->done[i]);
		self->done[i] = 1;
		ASSERT_EQ((int)self->len[i], cqe->res) TH_LOG("request %d", (int)i);
		io_uring_cqe_seen(&self->ring, cqe);
	}
}

/* Check the TX headers: right link and length, one epoch, no overlap. */
static void check_tx(struct __test_metadata *_metadata, FIXTURE_DATA(uring) *self,
		     long long id)
{
	struct qkdkey_tx_hdr *h0 = (void *)self->buf[0];

	for (int i = 0; i < NREQ; i++) {
		struct qkdkey_tx_hdr *h = (void *)self->buf[i];

		ASSERT_EQ(id, h->link_id);
		ASSERT_EQ(self->len[i] - QKD_HDR, h->length);
		ASSERT_EQ(h0->epoch, h->epoch);
		for (int j = 0; j < i; j++) {
			struct qkdkey_tx_hdr *g = (void *)self->buf[j];

			ASSERT_TRUE(h->offset >= g->offset + g->length ||
				    g->offset >= h->offset + h->length)
				TH_LOG("requests %d and %d overlap", i, j);
		}
	}
}

TEST_F(uring, tx_reads_in_flight)
{
	long long id = qkd_link_u64("sim0a", "id");

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_sim_set("rate", 16 << 20));
	self->fd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, self->fd);
	for (int i = 0; i < NREQ; i++)
		self->len[i] = QKD_HDR + 1 + (i * 997) % MAXKEY;
	submit_reads(_metadata, self, NULL);
	ASSERT_EQ(0, qkd_count_iou_workers());
	reap_all(_metadata, self);
	check_tx(_metadata, self, id);
	ASSERT_EQ(0, qkd_count_iou_workers());
}

TEST_F(uring, tx_reads_wait_for_key)
{
	struct __kernel_timespec ts = { .tv_nsec = 300000000 };
	struct io_uring_cqe *cqe;
	long long id = qkd_link_u64("sim0a", "id");

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_pause_and_empty());
	self->fd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, self->fd);
	for (int i = 0; i < NREQ; i++)
		self->len[i] = QKD_HDR + 64;
	submit_reads(_metadata, self, NULL);
	ASSERT_EQ(-ETIME, io_uring_wait_cqe_timeout(&self->ring, &cqe, &ts))
		TH_LOG("a read completed with an empty pool: res %d", cqe->res);
	ASSERT_EQ(0, qkd_count_iou_workers());

	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	reap_all(_metadata, self);
	check_tx(_metadata, self, id);
	ASSERT_EQ(0, qkd_count_iou_workers());
}

/*
 * At a low key rate a read sees hundreds of deliveries before it can
 * complete. io_uring 6.1 gives up on poll after 128 fruitless retries and
 * hands the read to an iou-wrk thread, so wakeups must not claim readiness
 * that ->poll would deny.
 */
TEST_F(uring, slow_key_rate_no_worker)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int r;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_pause_and_empty());
	self->fd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, self->fd);
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	/* 2000 B at 500 B/s in 10 ms ticks: about 400 deliveries. */
	io_uring_prep_read(sqe, self->fd, self->buf[0], QKD_HDR + 2000, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0, qkd_sim_set("rate", 500));
	r = io_uring_wait_cqe(&self->ring, &cqe);
	ASSERT_EQ(0, r);
	ASSERT_EQ((int)(QKD_HDR + 2000), cqe->res);
	io_uring_cqe_seen(&self->ring, cqe);
	ASSERT_EQ(0, qkd_count_iou_workers());
}

TEST_F(uring, rx_reads_by_offset_wait_for_key)
{
	struct __kernel_timespec ts = { .tv_nsec = 300000000 };
	unsigned char t[QKD_HDR + 64];
	struct qkdkey_tx_hdr *h = (void *)t;
	struct io_uring_cqe *cqe;
	uint64_t off[NREQ];
	int tx;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_pause_and_empty());
	self->fd = qkd_open_bind("sim0b", QKDKEY_DIR_RX, 0);
	ASSERT_LE(0, self->fd);
	/* the first NREQ * 64 bytes of the new epoch, in reverse order */
	for (int i = 0; i < NREQ; i++) {
		off[i] = (NREQ - 1 - i) * 64;
		self->len[i] = 64;
	}
	submit_reads(_metadata, self, off);
	ASSERT_EQ(-ETIME, io_uring_wait_cqe_timeout(&self->ring, &cqe, &ts))
		TH_LOG("an RX read completed with an empty pool: res %d", cqe->res);
	ASSERT_EQ(0, qkd_count_iou_workers());

	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	reap_all(_metadata, self);
	ASSERT_EQ(0, qkd_count_iou_workers());

	/* the peer's TX stream holds the same bytes at the same offsets */
	tx = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, tx);
	for (int k = 0; k < NREQ; k++) {
		int i = NREQ - 1 - k;

		ASSERT_EQ((ssize_t)sizeof(t), qkd_read(tx, t, sizeof(t)));
		ASSERT_EQ(off[i], h->offset);
		ASSERT_EQ(0, memcmp(t + QKD_HDR, self->buf[i], 64)) TH_LOG("offset %d", k * 64);
	}
	close(tx);
}

TEST_HARNESS_MAIN
