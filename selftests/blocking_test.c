// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking and non-blocking TX reads on an empty pool: EAGAIN, poll,
 * wake-up by key arrival, EINTR without SA_RESTART, restart with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"

#define KEYLEN 1024

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

struct helper {
	pthread_t main_thread;
	pid_t main_tid;
	int send_signal;	/* signal the main thread once it sleeps */
	int start_key;		/* then set rate > 0 */
	int rate_set;		/* set just before rate > 0 */
	int main_done;		/* the main thread's read returned */
	int saw_sleep;		/* the main thread was seen asleep */
};

/* Wait until the task sleeps interruptibly (state S), i.e. blocks in read. */
static int wait_sleeping(pid_t tid, int ms)
{
	char path[64], buf[256], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (; ms > 0; ms -= 10) {
		if (qkd_read_str(path, buf, sizeof(buf)) > 0 &&
		    (p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'S')
			return 1;
		qkd_msleep(10);
	}
	return 0;
}

static void *helper_fn(void *arg)
{
	struct helper *h = arg;

	h->saw_sleep = wait_sleeping(h->main_tid, 10000);
	qkd_msleep(200);
	if (h->send_signal) {
		pthread_kill(h->main_thread, SIGUSR1);
		qkd_msleep(300);
	}
	if (!h->start_key) {
		/* safety net: unblock a read that ignored the signal */
		for (int i = 0; i < 50 && !__atomic_load_n(&h->main_done, __ATOMIC_SEQ_CST); i++)
			qkd_msleep(100);
		if (__atomic_load_n(&h->main_done, __ATOMIC_SEQ_CST))
			return NULL;
	}
	__atomic_store_n(&h->rate_set, 1, __ATOMIC_SEQ_CST);
	qkd_sim_set("rate", SIM_RATE_DEFAULT);
	return NULL;
}

FIXTURE(empty) {
	int fd, nbfd;
	unsigned char buf[QKD_HDR + KEYLEN];
	struct helper h;
	pthread_t th;
	int th_started;
};

FIXTURE_SETUP(empty)
{
	self->fd = self->nbfd = -1;
	ASSERT_EQ(0, qkd_reset());
	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, qkd_link_u64("sim0a", "tx_avail"));
	self->fd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, self->fd);
	self->nbfd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, O_NONBLOCK);
	ASSERT_LE(0, self->nbfd);
	self->h.main_thread = pthread_self();
	self->h.main_tid = syscall(SYS_gettid);
	handled = 0;
}

FIXTURE_TEARDOWN(empty)
{
	__atomic_store_n(&self->h.main_done, 1, __ATOMIC_SEQ_CST);
	if (self->th_started)
		pthread_join(self->th, NULL);
	close(self->fd);
	close(self->nbfd);
	qkd_sim_set("rate", SIM_RATE_DEFAULT);
}

static void start_helper(struct __test_metadata *_metadata,
			 FIXTURE_DATA(empty) *self, int send_signal, int start_key)
{
	self->h.send_signal = send_signal;
	self->h.start_key = start_key;
	ASSERT_EQ(0, pthread_create(&self->th, NULL, helper_fn, &self->h));
	self->th_started = 1;
}

static void set_handler(struct __test_metadata *_metadata, int flags)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
}

TEST_F(empty, nonblock_eagain_then_poll)
{
	long long taken = qkd_link_u64("sim0a", "tx_taken");
	struct pollfd pfd = { .fd = self->nbfd, .events = POLLIN };

	ASSERT_LE(0, taken);
	ASSERT_EQ(-EAGAIN, qkd_read(self->nbfd, self->buf, QKD_HDR + 1));
	ASSERT_EQ(-EAGAIN, qkd_read(self->nbfd, self->buf, QKD_HDR + KEYLEN));
	ASSERT_EQ(taken, qkd_link_u64("sim0a", "tx_taken"));
	ASSERT_EQ(0, poll(&pfd, 1, 0));

	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ((ssize_t)sizeof(self->buf),
		  qkd_read(self->nbfd, self->buf, sizeof(self->buf)));
	ASSERT_EQ(taken + KEYLEN, qkd_link_u64("sim0a", "tx_taken"));
}

TEST_F(empty, blocking_read_woken_by_key)
{
	struct qkdkey_tx_hdr *hdr = (void *)self->buf;

	start_helper(_metadata, self, 0, 1);
	ASSERT_EQ((ssize_t)sizeof(self->buf),
		  qkd_read(self->fd, self->buf, sizeof(self->buf)));
	__atomic_store_n(&self->h.main_done, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(1, __atomic_load_n(&self->h.rate_set, __ATOMIC_SEQ_CST))
		TH_LOG("read completed before any key was produced");
	ASSERT_EQ(1, self->h.saw_sleep);
	ASSERT_EQ(KEYLEN, hdr->length);
	ASSERT_EQ(qkd_link_u64("sim0a", "id"), hdr->link_id);
}

TEST_F(empty, signal_without_restart_eintr)
{
	long long taken = qkd_link_u64("sim0a", "tx_taken");

	set_handler(_metadata, 0);
	start_helper(_metadata, self, 1, 0);
	ASSERT_EQ(-EINTR, qkd_read(self->fd, self->buf, sizeof(self->buf)));
	__atomic_store_n(&self->h.main_done, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(1, handled);
	ASSERT_EQ(1, self->h.saw_sleep);
	/* the interrupted read took nothing */
	ASSERT_EQ(taken, qkd_link_u64("sim0a", "tx_taken"));
	ASSERT_EQ(-EAGAIN, qkd_read(self->nbfd, self->buf, QKD_HDR + 1));
}

TEST_F(empty, signal_with_sa_restart_restarts)
{
	struct qkdkey_tx_hdr *hdr = (void *)self->buf;

	set_handler(_metadata, SA_RESTART);
	start_helper(_metadata, self, 1, 1);
	ASSERT_EQ((ssize_t)sizeof(self->buf),
		  qkd_read(self->fd, self->buf, sizeof(self->buf)));
	__atomic_store_n(&self->h.main_done, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(1, handled);
	ASSERT_EQ(1, self->h.saw_sleep);
	ASSERT_EQ(1, __atomic_load_n(&self->h.rate_set, __ATOMIC_SEQ_CST));
	ASSERT_EQ(KEYLEN, hdr->length);
}

TEST_F(empty, poll_waits_for_the_eagain_size)
{
	static unsigned char big[QKD_HDR + QKDKEY_READ_MAX];
	struct pollfd pfd = { .fd = self->nbfd, .events = POLLIN };
	long long avail;

	ASSERT_EQ(-EAGAIN, qkd_read(self->nbfd, big, sizeof(big)));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	/* 64 KiB/s: some key soon, a whole read's worth after about a second */
	ASSERT_EQ(0, qkd_sim_set("rate", 65536));
	ASSERT_EQ(0, qkd_wait_ge("sim0a", "tx_avail", 1, 5000));
	avail = qkd_link_u64("sim0a", "tx_avail");
	if (avail < QKDKEY_READ_MAX / 2)
		ASSERT_EQ(0, poll(&pfd, 1, 0))
			TH_LOG("EPOLLIN with %lld bytes for a %d-byte read", avail,
			       QKDKEY_READ_MAX);
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_LE(QKDKEY_READ_MAX, qkd_link_u64("sim0a", "tx_avail"));
	ASSERT_EQ((ssize_t)sizeof(big), qkd_read(self->nbfd, big, sizeof(big)));
}

TEST_HARNESS_MAIN
