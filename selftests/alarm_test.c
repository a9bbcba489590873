// SPDX-License-Identifier: GPL-2.0
/*
 * QBER alarm: an eavesdropper (or a lowered threshold) puts the link in
 * ALARM, which latches and stops key until an operator writes "up" with the
 * QBER back under the threshold. Administrative "down" stops key too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"

#define SLOW_RATE	65536	/* the pools never fill during a test */
#define EVE_HIGH	400000	/* 20000 + 400000/4 = 120000 > 110000 */

struct bg_read {
	pthread_t th;
	int fd;
	size_t n;
	ssize_t res;
	int done;
	unsigned char buf[QKD_HDR + 100];
};

static void *bg_reader(void *arg)
{
	struct bg_read *b = arg;

	b->res = qkd_read(b->fd, b->buf, b->n);
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* join with a bound; 0 when the thread ended */
static int join_within(pthread_t th, int sec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += sec;
	return pthread_timedjoin_np(th, NULL, &ts);
}

FIXTURE(alarm) {
	int fd, nbfd;
	unsigned char buf[QKD_HDR + 100];
	struct bg_read bg;
};

FIXTURE_SETUP(alarm)
{
	self->fd = self->nbfd = -1;
	ASSERT_EQ(0, qkd_reset());
	/* start from empty pools so that the sim visibly delivers or not */
	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, qkd_sim_set("rate", SLOW_RATE));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "qber", "20000", 5000));
	ASSERT_EQ(0, qkd_wait_str("sim0b", "qber", "20000", 5000));
	ASSERT_EQ(0, qkd_wait_ge("sim0a", "tx_avail", 4096, 10000));
	self->fd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, self->fd);
	self->nbfd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, O_NONBLOCK);
	ASSERT_LE(0, self->nbfd);
	self->bg.fd = self->fd;
	self->bg.n = sizeof(self->bg.buf);
}

FIXTURE_TEARDOWN(alarm)
{
	qkd_reset();
	close(self->fd);
	close(self->nbfd);
}

/* Start a blocking read in the background and check it stays blocked. */
static void start_blocked_read(struct __test_metadata *_metadata,
			       FIXTURE_DATA(alarm) *self)
{
	ASSERT_EQ(0, pthread_create(&self->bg.th, NULL, bg_reader, &self->bg));
	qkd_msleep(300);
	ASSERT_EQ(0, __atomic_load_n(&self->bg.done, __ATOMIC_SEQ_CST))
		TH_LOG("a blocking read returned %zd while no key may flow",
		       self->bg.res);
}

static void finish_blocked_read(struct __test_metadata *_metadata,
				FIXTURE_DATA(alarm) *self)
{
	ASSERT_EQ(0, join_within(self->bg.th, 10))
		TH_LOG("the blocked read did not complete after state up");
	ASSERT_EQ((ssize_t)self->bg.n, self->bg.res);
}

TEST_F_TIMEOUT(alarm, eve_alarm_latches, 60)
{
	struct qkdkey_link_info info;
	long long a0 = qkd_link_u64("sim0a", "alarms");
	long long b0 = qkd_link_u64("sim0b", "alarms");
	long long x0 = qkd_link_u64("sim0a", "tx_expired");
	long long d1;

	ASSERT_LE(0, a0);
	ASSERT_LE(0, b0);
	ASSERT_LE(0, x0);
	ASSERT_EQ(0, qkd_sim_set("eve", EVE_HIGH));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "alarm", 10000));
	ASSERT_EQ(0, qkd_wait_str("sim0b", "state", "alarm", 10000));
	ASSERT_EQ(a0 + 1, qkd_link_u64("sim0a", "alarms"));
	ASSERT_EQ(b0 + 1, qkd_link_u64("sim0b", "alarms"));
	ASSERT_EQ(120000, qkd_link_u64("sim0a", "qber"));
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_EQ(QKDKEY_LINK_ALARM, info.state);
	ASSERT_EQ(120000, info.qber);

	/* no key handed out although some is pooled; no new key either */
	ASSERT_LT(0, qkd_link_u64("sim0a", "tx_avail"));
	ASSERT_EQ(-EAGAIN, qkd_read(self->nbfd, self->buf, QKD_HDR + 1));
	d1 = qkd_link_u64("sim0a", "tx_delivered");
	qkd_msleep(300);
	ASSERT_EQ(d1, qkd_link_u64("sim0a", "tx_delivered"));

	/* cannot clear while the QBER is still high */
	ASSERT_EQ(-EBUSY, qkd_link_set("sim0a", "state", "up"));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "alarm", 0));

	/* the alarm latches when the eavesdropper leaves */
	ASSERT_EQ(0, qkd_sim_set("eve", 0));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "qber", "20000", 5000));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "alarm", 0));
	ASSERT_EQ(-EAGAIN, qkd_read(self->nbfd, self->buf, QKD_HDR + 1));
	start_blocked_read(_metadata, self);

	ASSERT_EQ(0, qkd_link_set("sim0a", "state", "up"));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "up", 0));
	finish_blocked_read(_metadata, self);
	ASSERT_EQ((ssize_t)(QKD_HDR + 1), qkd_read(self->nbfd, self->buf, QKD_HDR + 1));
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_EQ(QKDKEY_LINK_UP, info.state);
	ASSERT_EQ(a0 + 1, qkd_link_u64("sim0a", "alarms"));
	/* nothing was lost across the alarm */
	ASSERT_EQ(x0, qkd_link_u64("sim0a", "tx_expired"));
	/* the peer stays in alarm until cleared itself */
	ASSERT_EQ(0, qkd_wait_str("sim0b", "state", "alarm", 0));
	ASSERT_EQ(0, qkd_link_set("sim0b", "state", "up"));
	/* with both ends up the sim produces again */
	d1 = qkd_link_u64("sim0a", "tx_delivered");
	ASSERT_EQ(0, qkd_wait_ne("sim0a", "tx_delivered", d1, 5000));
	d1 = qkd_link_u64("sim0b", "tx_delivered");
	ASSERT_EQ(0, qkd_wait_ne("sim0b", "tx_delivered", d1, 5000));
}

TEST_F_TIMEOUT(alarm, lowered_threshold_alarms, 60)
{
	long long a0 = qkd_link_u64("sim0a", "alarms");
	char buf[32];
	int r;

	ASSERT_LE(0, a0);
	/* a QBER equal to the threshold does not exceed it */
	ASSERT_EQ(0, qkd_link_setu("sim0a", "qber_threshold", 20000));
	ASSERT_EQ(20000, qkd_link_u64("sim0a", "qber_threshold"));
	qkd_msleep(300);
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "up", 0));

	ASSERT_EQ(0, qkd_link_setu("sim0a", "qber_threshold", 19999));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "alarm", 5000));
	ASSERT_EQ(a0 + 1, qkd_link_u64("sim0a", "alarms"));
	ASSERT_EQ(0, qkd_wait_str("sim0b", "state", "up", 0))
		TH_LOG("thresholds are per link");
	ASSERT_EQ(-EAGAIN, qkd_read(self->nbfd, self->buf, QKD_HDR + 1));
	ASSERT_EQ(-EBUSY, qkd_link_set("sim0a", "state", "up"));

	ASSERT_EQ(0, qkd_link_setu("sim0a", "qber_threshold",
				   QKDKEY_QBER_THRESHOLD_DEFAULT));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "alarm", 0));
	start_blocked_read(_metadata, self);
	ASSERT_EQ(0, qkd_link_set("sim0a", "state", "up"));
	finish_blocked_read(_metadata, self);
	ASSERT_EQ(a0 + 1, qkd_link_u64("sim0a", "alarms"));

	/* out of range or garbage thresholds are refused and change nothing */
	r = qkd_link_setu("sim0a", "qber_threshold", QKDKEY_QBER_PPM_MAX + 1);
	ASSERT_TRUE(r == -EINVAL || r == -ERANGE) TH_LOG("1000001: %d", r);
	r = qkd_link_setu("sim0a", "qber_threshold", 1ULL << 32);
	ASSERT_TRUE(r == -EINVAL || r == -ERANGE) TH_LOG("2^32: %d", r);
	ASSERT_EQ(-EINVAL, qkd_link_set("sim0a", "qber_threshold", "abc"));
	ASSERT_EQ(-EINVAL, qkd_link_set("sim0a", "qber_threshold", "-1"));
	ASSERT_LT(0, qkd_link_str("sim0a", "qber_threshold", buf, sizeof(buf)));
	ASSERT_STREQ("110000", buf);
	ASSERT_EQ(0, qkd_link_setu("sim0a", "qber_threshold", QKDKEY_QBER_PPM_MAX));
	ASSERT_EQ(0, qkd_link_setu("sim0a", "qber_threshold", 0));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "alarm", 5000));
}

TEST_F_TIMEOUT(alarm, admin_down_blocks_key, 60)
{
	struct qkdkey_link_info info;
	long long a0 = qkd_link_u64("sim0a", "alarms");

	ASSERT_LE(0, a0);
	ASSERT_EQ(0, qkd_link_set("sim0a", "state", "down"));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "down", 0));
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_EQ(QKDKEY_LINK_DOWN, info.state);
	ASSERT_LT(0, qkd_link_u64("sim0a", "tx_avail"));
	ASSERT_EQ(-EAGAIN, qkd_read(self->nbfd, self->buf, QKD_HDR + 1));
	start_blocked_read(_metadata, self);

	ASSERT_EQ(-EINVAL, qkd_link_set("sim0a", "state", "sideways"));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "down", 0));

	ASSERT_EQ(0, qkd_link_set("sim0a", "state", "up"));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "up", 0));
	finish_blocked_read(_metadata, self);
	ASSERT_EQ((ssize_t)(QKD_HDR + 1), qkd_read(self->nbfd, self->buf, QKD_HDR + 1));
	ASSERT_EQ(a0, qkd_link_u64("sim0a", "alarms"));
}

TEST_HARNESS_MAIN
