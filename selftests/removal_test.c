// SPDX-License-Identifier: GPL-2.0
/*
 * Module removal: unloading the card driver wakes blocked readers with
 * ENODEV (and poll with EPOLLHUP|EPOLLERR); the core refuses to unload while
 * a /dev/qkdkey file is open. These tests unload and load the modules
 * themselves (kernel/qkdkey.ko and kernel/qkd_sim.ko of this repo).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"

#define NREADERS 3

struct reader {
	pthread_t th;
	int fd, rx;
	pid_t tid;
	ssize_t res;
	unsigned char buf[QKD_HDR + 100];
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;

	__atomic_store_n(&r->tid, syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	if (r->rx)
		r->res = qkd_pread(r->fd, r->buf, 100, 0);
	else
		r->res = qkd_read(r->fd, r->buf, sizeof(r->buf));
	return NULL;
}

/* 1 once the thread sleeps (state S), i.e. is blocked in its read */
static int wait_blocked(struct reader *r, int ms)
{
	char path[64], buf[256], *p;

	for (; ms > 0; ms -= 10, qkd_msleep(10)) {
		pid_t tid = __atomic_load_n(&r->tid, __ATOMIC_SEQ_CST);

		if (!tid)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		if (qkd_read_str(path, buf, sizeof(buf)) > 0 &&
		    (p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'S')
			return 1;
	}
	return 0;
}

static int join_within(pthread_t th, int sec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += sec;
	return pthread_timedjoin_np(th, NULL, &ts);
}

FIXTURE(removal) {
	struct reader r[NREADERS];
	int nb_tx, nb_rx, ep;
};

FIXTURE_SETUP(removal)
{
	int i;

	self->nb_tx = self->nb_rx = self->ep = -1;
	for (i = 0; i < NREADERS; i++)
		self->r[i].fd = -1;
	ASSERT_EQ(0, qkd_modules_ensure()) TH_LOG("loading from %s/kernel", qkd_repo_dir());
	for (i = 0; i < 100 && access(QKDKEY_DEVICE_PATH, F_OK); i++)
		qkd_msleep(20);
	ASSERT_EQ(0, access(QKDKEY_DEVICE_PATH, F_OK));
	ASSERT_EQ(0, qkd_reset());
}

FIXTURE_TEARDOWN(removal)
{
	for (int i = 0; i < NREADERS; i++)
		if (self->r[i].fd >= 0)
			close(self->r[i].fd);
	close(self->nb_tx);
	close(self->nb_rx);
	close(self->ep);
}

TEST_F_TIMEOUT(removal, sim_unload_wakes_readers, 90)
{
	struct epoll_event ev, evs[4];
	unsigned char buf[QKD_HDR + 100];
	int i, fd;

	ASSERT_EQ(0, qkd_pause_and_empty());
	self->r[0].fd = qkd_open(0);				/* default link, TX */
	self->r[1].fd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	self->r[2].fd = qkd_open_bind("sim0b", QKDKEY_DIR_RX, 0);
	self->r[2].rx = 1;
	self->nb_tx = qkd_open_bind("sim0a", QKDKEY_DIR_TX, O_NONBLOCK);
	self->nb_rx = qkd_open_bind("sim0b", QKDKEY_DIR_RX, O_NONBLOCK);
	for (i = 0; i < NREADERS; i++)
		ASSERT_LE(0, self->r[i].fd);
	ASSERT_LE(0, self->nb_tx);
	ASSERT_LE(0, self->nb_rx);

	/* pollers: their last read said EAGAIN */
	ASSERT_EQ(-EAGAIN, qkd_read(self->nb_tx, buf, sizeof(buf)));
	ASSERT_EQ(-EAGAIN, qkd_pread(self->nb_rx, buf, 100, 0));
	self->ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, self->ep);
	ev.events = EPOLLIN;
	ev.data.fd = self->nb_tx;
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, self->nb_tx, &ev));
	ev.data.fd = self->nb_rx;
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, self->nb_rx, &ev));
	ASSERT_EQ(0, epoll_wait(self->ep, evs, 4, 0));

	for (i = 0; i < NREADERS; i++)
		ASSERT_EQ(0, pthread_create(&self->r[i].th, NULL, reader_fn, &self->r[i]));
	for (i = 0; i < NREADERS; i++)
		ASSERT_TRUE(wait_blocked(&self->r[i], 10000)) TH_LOG("reader %d", i);

	ASSERT_EQ(0, qkd_module_unload("qkd_sim"));
	for (i = 0; i < NREADERS; i++) {
		ASSERT_EQ(0, join_within(self->r[i].th, 10))
			TH_LOG("reader %d still blocked after rmmod qkd_sim", i);
		ASSERT_EQ(-ENODEV, self->r[i].res) TH_LOG("reader %d", i);
	}
	ASSERT_NE(0, access(QKD_LINKS_DIR "/sim0a", F_OK));

	ASSERT_EQ(2, epoll_wait(self->ep, evs, 4, 5000));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(EPOLLIN | EPOLLHUP | EPOLLERR,
			  evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR));

	/* the files stay open; every later read says ENODEV */
	ASSERT_EQ(-ENODEV, qkd_read(self->r[0].fd, buf, sizeof(buf)));
	ASSERT_EQ(-ENODEV, qkd_read(self->r[1].fd, buf, sizeof(buf)));
	ASSERT_EQ(-ENODEV, qkd_pread(self->r[2].fd, buf, 100, 0));
	ASSERT_EQ(-ENODEV, qkd_read(self->nb_tx, buf, sizeof(buf)));
	ASSERT_EQ(-ENODEV, qkd_pread(self->nb_rx, buf, 100, 0));
	fd = qkd_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-ENODEV, qkd_bind(fd, 0, "sim0a", QKDKEY_DIR_TX));

	/* a new sim does not revive files bound to the old links */
	ASSERT_EQ(0, qkd_module_load("qkd_sim", ""));
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "up", 5000));
	ASSERT_EQ(-ENODEV, qkd_read(self->r[1].fd, buf, sizeof(buf)));
	ASSERT_EQ(-ENODEV, qkd_pread(self->r[2].fd, buf, 100, 0));
	ASSERT_EQ(0, qkd_bind(fd, 0, "sim0a", QKDKEY_DIR_TX));
	ASSERT_EQ((ssize_t)sizeof(buf), qkd_read(fd, buf, sizeof(buf)));
	close(fd);
}

TEST_F_TIMEOUT(removal, core_unload_refused_while_open, 60)
{
	unsigned char buf[QKD_HDR + 10];
	int unbound = qkd_open(0);
	int bound = qkd_open_bind("sim0b", QKDKEY_DIR_RX, 0);
	int r;

	ASSERT_LE(0, unbound);
	ASSERT_LE(0, bound);
	ASSERT_EQ((ssize_t)sizeof(buf), qkd_read(unbound, buf, sizeof(buf)));
	ASSERT_EQ(0, qkd_module_unload("qkd_sim"));

	r = qkd_module_unload("qkdkey");
	ASSERT_TRUE(r == -EBUSY || r == -EAGAIN)
		TH_LOG("delete_module(qkdkey) with 2 files open: %d (%s)", r, strerror(-r));
	ASSERT_TRUE(qkd_module_loaded("qkdkey"));
	close(unbound);
	r = qkd_module_unload("qkdkey");
	ASSERT_TRUE(r == -EBUSY || r == -EAGAIN)
		TH_LOG("delete_module(qkdkey) with 1 file open: %d (%s)", r, strerror(-r));
	ASSERT_TRUE(qkd_module_loaded("qkdkey"));
	close(bound);
	ASSERT_EQ(0, qkd_module_unload("qkdkey"));
	ASSERT_FALSE(qkd_module_loaded("qkdkey"));
}

TEST_HARNESS_MAIN
