// SPDX-License-Identifier: GPL-2.0
/*
 * RX reads by offset: consume once (ENOKEY after), all or nothing,
 * EAGAIN/poll for ranges not yet delivered, ESTALE after an epoch change
 * until re-bound, plain read() at the file position.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"

FIXTURE(rx) {
	int tx, rx, rxnb;
	unsigned char t[QKD_HDR + 4096], r[4096];
};

FIXTURE_SETUP(rx)
{
	self->tx = self->rx = self->rxnb = -1;
	ASSERT_EQ(0, qkd_reset());
	self->tx = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, self->tx);
	self->rx = qkd_open_bind("sim0b", QKDKEY_DIR_RX, 0);
	ASSERT_LE(0, self->rx);
	self->rxnb = qkd_open_bind("sim0b", QKDKEY_DIR_RX, O_NONBLOCK);
	ASSERT_LE(0, self->rxnb);
}

FIXTURE_TEARDOWN(rx)
{
	close(self->tx);
	close(self->rx);
	close(self->rxnb);
	qkd_sim_set("rate", SIM_RATE_DEFAULT);
}

/* TX read of n key bytes on sim0a; returns the header's offset */
static uint64_t tx_read(struct __test_metadata *_metadata,
			FIXTURE_DATA(rx) *self, int fd, size_t n)
{
	struct qkdkey_tx_hdr *h = (void *)self->t;

	ASSERT_EQ((ssize_t)(QKD_HDR + n), qkd_read(fd, self->t, QKD_HDR + n));
	ASSERT_EQ(n, h->length);
	return h->offset;
}

TEST_F(rx, consumed_range_enokey)
{
	long long taken0 = qkd_link_u64("sim0b", "rx_taken");
	uint64_t o = tx_read(_metadata, self, self->tx, 1000);

	ASSERT_LE(0, taken0);
	ASSERT_EQ(1000, qkd_pread(self->rx, self->r, 1000, o));
	ASSERT_EQ(0, memcmp(self->t + QKD_HDR, self->r, 1000));

	ASSERT_EQ(-ENOKEY, qkd_pread(self->rx, self->r, 1000, o));
	ASSERT_EQ(-ENOKEY, qkd_pread(self->rxnb, self->r, 1000, o));
	ASSERT_EQ(-ENOKEY, qkd_pread(self->rx, self->r, 1, o + 999));
	ASSERT_EQ(-ENOKEY, qkd_pread(self->rx, self->r, 10, o - 5 + (o < 5 ? 5 : 0)));
	/* partial overlap with the consumed range: fails, consumes nothing */
	ASSERT_EQ(-ENOKEY, qkd_pread(self->rx, self->r, 1000, o + 500));
	ASSERT_EQ(-ENOKEY, qkd_pread(self->rx, self->r, 2, o + 999));
	ASSERT_EQ(500, qkd_pread(self->rx, self->r, 500, o + 1000));
	ASSERT_EQ(-ENOKEY, qkd_pread(self->rx, self->r, 1, o + 1499));
	ASSERT_EQ(taken0 + 1500, qkd_link_u64("sim0b", "rx_taken"));
}

TEST_F(rx, undelivered_range_eagain_and_poll)
{
	struct qkdkey_link_info info;
	struct pollfd pfd = { .fd = self->rxnb, .events = POLLIN };
	uint64_t end;

	/* start from empty pools in a new epoch, the sim paused */
	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, qkd_bind(self->rx, 0, "sim0b", QKDKEY_DIR_RX));
	ASSERT_EQ(0, qkd_bind(self->rxnb, 0, "sim0b", QKDKEY_DIR_RX));
	ASSERT_EQ(0, qkd_info(self->rxnb, 0, &info));
	ASSERT_EQ(QKDKEY_DIR_RX, info.bound_dir);
	ASSERT_STREQ("sim0b", info.name);
	ASSERT_EQ(0, info.rx_avail);
	end = info.rx_end;
	ASSERT_EQ(0, end);

	ASSERT_EQ(-EAGAIN, qkd_pread(self->rxnb, self->r, 100, end));
	ASSERT_EQ(-EAGAIN, qkd_pread(self->rxnb, self->r, 100, end + 100000));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(-EAGAIN, qkd_pread(self->rxnb, self->r, 100, end));

	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ(100, qkd_pread(self->rxnb, self->r, 100, end));
	/* blocking pread waits for a range further ahead */
	ASSERT_EQ(100, qkd_pread(self->rx, self->r, 100, end + 100000));
}

TEST_F(rx, rekey_estale_until_rebind)
{
	struct qkdkey_link_info info;
	long long e1, txa, txx, rxa, rxx;
	uint64_t o;
	int tx2;

	/*
	 * A new epoch first: earlier tests read RX ranges whose TX bytes
	 * nobody took, so the next TX read could land on consumed RX bytes.
	 */
	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, qkd_bind(self->rx, 0, "sim0b", QKDKEY_DIR_RX));
	ASSERT_EQ(0, qkd_bind(self->rxnb, 0, "sim0b", QKDKEY_DIR_RX));
	e1 = qkd_link_u64("sim0b", "epoch");
	ASSERT_LE(0, e1);
	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	ASSERT_EQ(0, qkd_wait_ge("sim0a", "tx_avail", 4096, 10000));
	o = tx_read(_metadata, self, self->tx, 100);
	ASSERT_EQ(100, qkd_pread(self->rx, self->r, 100, o));

	/* pause, so the pools hold still across the rekey */
	ASSERT_EQ(0, qkd_sim_pause());
	txa = qkd_link_u64("sim0a", "tx_avail");
	txx = qkd_link_u64("sim0a", "tx_expired");
	rxa = qkd_link_u64("sim0b", "rx_avail");
	rxx = qkd_link_u64("sim0b", "rx_expired");
	ASSERT_LT(0, txa);
	ASSERT_LT(0, rxa);
	ASSERT_LE(0, txx);
	ASSERT_LE(0, rxx);

	ASSERT_EQ(0, qkd_sim_set("rekey", 1));
	ASSERT_EQ(0, qkd_wait_ne("sim0b", "epoch", e1, 5000));
	ASSERT_EQ(qkd_link_u64("sim0b", "epoch"), qkd_link_u64("sim0a", "epoch"));
	/* the old epoch's pooled key was wiped and counted as expired */
	ASSERT_EQ(0, qkd_link_u64("sim0a", "tx_avail"));
	ASSERT_EQ(0, qkd_link_u64("sim0b", "rx_avail"));
	ASSERT_EQ(txx + txa, qkd_link_u64("sim0a", "tx_expired"));
	ASSERT_EQ(rxx + rxa, qkd_link_u64("sim0b", "rx_expired"));
	ASSERT_EQ(qkd_link_u64("sim0a", "tx_delivered"),
		  qkd_link_u64("sim0a", "tx_taken") + qkd_link_u64("sim0a", "tx_expired"));

	ASSERT_EQ(-ESTALE, qkd_pread(self->rx, self->r, 100, o + 100));
	ASSERT_EQ(-ESTALE, qkd_pread(self->rxnb, self->r, 100, 0));
	ASSERT_EQ(-ESTALE, qkd_read(self->rx, self->r, 100));
	ASSERT_EQ(0, qkd_info(self->rx, 0, &info));
	ASSERT_TRUE(info.flags & QKDKEY_INFO_STALE);
	ASSERT_TRUE(info.flags & QKDKEY_INFO_BOUND);
	/* still stale once key flows again */
	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	ASSERT_EQ(0, qkd_wait_ge("sim0b", "rx_avail", 200, 10000));
	ASSERT_EQ(-ESTALE, qkd_pread(self->rx, self->r, 100, 0));

	ASSERT_EQ(0, qkd_bind(self->rx, 0, "sim0b", QKDKEY_DIR_RX));
	ASSERT_EQ(0, qkd_info(self->rx, 0, &info));
	ASSERT_FALSE(info.flags & QKDKEY_INFO_STALE);
	ASSERT_NE((uint64_t)e1, info.epoch);
	ASSERT_EQ(qkd_link_u64("sim0b", "epoch"), (long long)info.epoch);

	/* offsets restart at 0 in the new epoch */
	tx2 = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, tx2);
	o = tx_read(_metadata, self, tx2, 100);
	close(tx2);
	ASSERT_EQ(0, o);
	ASSERT_EQ(info.epoch, ((struct qkdkey_tx_hdr *)self->t)->epoch);
	ASSERT_EQ(100, qkd_pread(self->rx, self->r, 100, o));
	ASSERT_EQ(0, memcmp(self->t + QKD_HDR, self->r, 100));
}

TEST_F(rx, plain_read_uses_file_position)
{
	uint64_t o = tx_read(_metadata, self, self->tx, 200);

	ASSERT_EQ((off_t)o, lseek(self->rx, o, SEEK_SET));
	ASSERT_EQ(100, qkd_read(self->rx, self->r, 100));
	ASSERT_EQ(0, memcmp(self->t + QKD_HDR, self->r, 100));
	ASSERT_EQ((off_t)(o + 100), lseek(self->rx, 0, SEEK_CUR));
	ASSERT_EQ(100, qkd_read(self->rx, self->r, 100));
	ASSERT_EQ(0, memcmp(self->t + QKD_HDR + 100, self->r, 100));
	ASSERT_EQ((off_t)(o + 200), lseek(self->rx, 0, SEEK_CUR));
	/* a failed read does not move the position */
	ASSERT_EQ((off_t)o, lseek(self->rx, o, SEEK_SET));
	ASSERT_EQ(-ENOKEY, qkd_read(self->rx, self->r, 100));
	ASSERT_EQ((off_t)o, lseek(self->rx, 0, SEEK_CUR));
}

TEST_F(rx, poll_reports_enokey_and_estale)
{
	struct pollfd pfd = { .fd = self->rxnb, .events = POLLIN };

	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, qkd_bind(self->rx, 0, "sim0b", QKDKEY_DIR_RX));
	ASSERT_EQ(0, qkd_bind(self->rxnb, 0, "sim0b", QKDKEY_DIR_RX));

	/* another reader takes the range this file waits for: ENOKEY */
	ASSERT_EQ(-EAGAIN, qkd_pread(self->rxnb, self->r, 100, 1000));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	ASSERT_EQ(100, qkd_pread(self->rx, self->r, 100, 1000));
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ(-ENOKEY, qkd_pread(self->rxnb, self->r, 100, 1000));

	/* the epoch changes under a waiting file: ESTALE */
	ASSERT_EQ(0, qkd_sim_pause());
	ASSERT_EQ(-EAGAIN, qkd_pread(self->rxnb, self->r, 100, 1 << 30));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, qkd_sim_set("rekey", 1));
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ(-ESTALE, qkd_pread(self->rxnb, self->r, 100, 1 << 30));
}

struct blocked_pread {
	int fd;
	uint64_t off;
	ssize_t ret;
	unsigned char buf[64];
};

static void *blocked_pread_thread(void *arg)
{
	struct blocked_pread *b = arg;

	b->ret = qkd_pread(b->fd, b->buf, sizeof(b->buf), b->off);
	return NULL;
}

/* Fills sim0b's RX a little in a fresh epoch, then holds the sim still. */
static uint64_t partial_rx_pool(struct __test_metadata *_metadata,
				FIXTURE_DATA(rx) *self)
{
	struct qkdkey_link_info info;

	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, qkd_bind(self->rx, 0, "sim0b", QKDKEY_DIR_RX));
	ASSERT_EQ(0, qkd_bind(self->rxnb, 0, "sim0b", QKDKEY_DIR_RX));
	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	ASSERT_EQ(0, qkd_wait_ge("sim0b", "rx_avail", 4096, 10000));
	ASSERT_EQ(0, qkd_sim_pause());
	ASSERT_EQ(0, qkd_info(self->rx, 0, &info));
	ASSERT_LE(4096, info.rx_end);
	return info.rx_end;
}

TEST_F(rx, blocked_reader_sees_range_taken_by_another)
{
	struct blocked_pread b = { .fd = self->rx };
	struct timespec deadline;
	uint64_t end = partial_rx_pool(_metadata, self);
	pthread_t t;
	int joined;

	/* waits: the last 54 of its 64 bytes are not delivered (sim paused) */
	b.off = end - 10;
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_pread_thread, &b));
	qkd_msleep(300);
	/* another file takes delivered bytes of that range */
	ASSERT_EQ(5, qkd_pread(self->rxnb, self->r, 5, end - 10));

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	joined = pthread_timedjoin_np(t, NULL, &deadline);
	if (joined) {
		/* unblock it before failing: key arrival ends the wait */
		qkd_sim_set("rate", SIM_RATE_DEFAULT);
		pthread_join(t, NULL);
	}
	ASSERT_EQ(0, joined);
	ASSERT_EQ(-ENOKEY, b.ret);
}

TEST_F(rx, poll_after_success_follows_file_position)
{
	struct pollfd pfd = { .fd = self->rxnb, .events = POLLIN };
	uint64_t end = partial_rx_pool(_metadata, self);

	/* a pending request at end, then a successful read elsewhere */
	ASSERT_EQ(-EAGAIN, qkd_pread(self->rxnb, self->r, 100, end));
	ASSERT_EQ(100, qkd_pread(self->rxnb, self->r, 100, 0));
	/* poll now answers for the file position, not the old request */
	ASSERT_EQ((off_t)(end + 10), lseek(self->rxnb, end + 10, SEEK_SET));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(200, lseek(self->rxnb, 200, SEEK_SET));
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(0, lseek(self->rxnb, 0, SEEK_SET));
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(-ENOKEY, qkd_read(self->rxnb, self->r, 1));
}

TEST_HARNESS_MAIN
