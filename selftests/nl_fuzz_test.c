// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded random-message fuzzing of the qkdkey family: 400,000 messages
 * (QKD_FUZZ_MSGS; fewer than 100,000 fails) within a time bound
 * (QKD_FUZZ_SECS), from a seeded PRNG (QKD_FUZZ_SEED repeats the message
 * sequence; the reader thread's timing varies): every command and unknown
 * ones, random attribute types, lengths, nesting and payloads, corrupt
 * attribute and message lengths, random flags (NLM_F_DUMP on do-only
 * operations, reserved bits), batches of several messages per datagram.
 * Names come mostly from a small set so SET/DEL/KEY_PUSH hit real links,
 * while a second thread reads those links through /dev/qkdkey and a third
 * sends its own random messages on its own socket (QKD_FUZZ_SENDERS=1 turns
 * it off), so requests race each other on the config mutex and the links;
 * it also starts dumps and closes the socket before reading them.
 * Afterwards the kernel must be healthy: the family answers, every link's
 * counters balance, a fresh user link works end to end, monitor works.
 * The runner checks dmesg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"
#include "fuzz_util.h"
#include "nl_fuzz.h"
#include "fuzz_e2e.h"

static void *reader(void *arg)
{
	struct fz *f = arg;
	static unsigned char buf[QKD_HDR + 16384];

	rs = 0x9e3779b97f4a7c15ULL ^ (uintptr_t)&buf;
	while (!f->stop) {
		int dir = rn(2), fd = qkd_open_bind(names[rn(NNAMES)], dir, O_NONBLOCK);

		if (fd < 0) {
			qkd_msleep(1);
			continue;
		}
		for (int i = rn(20); i > 0 && !f->stop; i--) {
			if (dir == QKDKEY_DIR_TX)
				qkd_read(fd, buf, QKD_HDR + 1 + rn(16384));
			else
				qkd_pread(fd, buf, 1 + rn(8192), rn(10) ? rn(100000) : rnd() >> 1);
		}
		close(fd);
	}
	return NULL;
}

FIXTURE(fuzz) {
	struct qnl q;
	struct fz *f;
	struct qnl_link all[256];
};

FIXTURE_SETUP(fuzz)
{
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	self->f = calloc(1, sizeof(*self->f));
	ASSERT_NE(NULL, self->f);
	self->f->family = self->q.family;
}

FIXTURE_TEARDOWN(fuzz)
{
	qnl_del_all(&self->q);
	qnl_close(&self->q);
	free(self->f);
}

/* what one sender counts */
struct tally {
	long msgs, dgrams, acks, send_err, dumps_dropped, errs[140];
};

/* one datagram of 1..8 random messages, then whatever came back */
static void send_batch(struct fz *f, int fd, char *batch, char *rbuf, uint32_t *seq,
		       struct tally *t)
{
	size_t pos = 0;
	ssize_t n;

	for (int k = 1 + rn(8); k > 0 && pos + MSG_MAX <= BATCH_BYTES; k--, t->msgs++)
		pos += gen_msg(f, batch + pos, (*seq)++);
	t->dgrams++;
	if (send(fd, batch, pos, 0) < 0)
		t->send_err++;
	/* the replies, and any dump the batch started */
	while ((n = recv(fd, rbuf, 65536, MSG_DONTWAIT)) > 0 || (n < 0 && errno == ENOBUFS)) {
		const struct nlmsghdr *nlh = (void *)rbuf;
		int left = n;

		for (; n > 0 && mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			t->acks++;
			t->errs[-e->error >= 0 && -e->error < 139 ? -e->error : 139]++;
		}
	}
}

/* a dump nobody reads: the socket closes with the dump under way */
static void dropped_dump(struct fz *f, struct tally *t)
{
	struct qnl d;
	struct nlmsghdr *nlh;

	if (qnl_open(&d))
		return;
	nlh = qnl_req(&d, QKDKEY_CMD_LINK_GET, NLM_F_DUMP);
	if (rn(2))
		put_sel(f, nlh);
	if (send(mnl_socket_get_fd(d.nl), nlh, nlh->nlmsg_len, 0) > 0)
		t->dumps_dropped++;
	t->msgs++;
	qnl_close(&d);
}

struct sender {
	struct fz f;		/* its own copy: names, ids, push offsets */
	uint64_t seed;
	volatile int *stop;
	struct tally t;
};

static void *sender(void *arg)
{
	static char batch[BATCH_BYTES] __attribute__((aligned(8)));
	static char rbuf[65536] __attribute__((aligned(8)));
	struct sender *sd = arg;
	uint32_t seq = 1u << 31;
	struct qnl s;
	int fd, big = 4 << 20;

	rs = sd->seed;
	nlf_seed(sd->seed);
	if (qnl_open(&s))
		return NULL;
	fd = mnl_socket_get_fd(s.nl);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	while (!*sd->stop) {
		if (!rn(200))
			dropped_dump(&sd->f, &sd->t);
		else
			send_batch(&sd->f, fd, batch, rbuf, &seq, &sd->t);
	}
	qnl_close(&s);
	return NULL;
}

TEST_F_TIMEOUT(fuzz, random_messages, 600)
{
	long target = env_num("QKD_FUZZ_MSGS", 400000), secs = env_num("QKD_FUZZ_SECS", 150);
	uint64_t seed = env_num("QKD_FUZZ_SEED", 0);
	static char batch[BATCH_BYTES] __attribute__((aligned(8)));
	static char rbuf[65536] __attribute__((aligned(8)));
	long senders = env_num("QKD_FUZZ_SENDERS", 2);
	struct tally t = {};
	struct fz *f = self->f;
	struct sender *sd = NULL;
	struct qnl s;
	long long t0, end;
	pthread_t th, th2;
	int fd, big = 4 << 20;
	uint32_t seq = 1;

	if (!seed)
		seed = (uint64_t)time(NULL) << 20 ^ getpid();
	rs = seed;
	nlf_seed(seed);
	TH_LOG("seed 0x%llx (QKD_FUZZ_SEED=0x%llx repeats it), %ld messages, at most %ld s",
	       (unsigned long long)seed, (unsigned long long)seed, target, secs);
	for (size_t i = 0; i < sizeof(f->data); i++)
		f->data[i] = rnd();
	/* links to hit: users and a slow sim pair */
	ASSERT_EQ(0, qnl_new_user(&self->q, "f0", 0, 0, NULL));
	ASSERT_EQ(0, qnl_new_user(&self->q, "f1", 0, 4096, NULL));
	ASSERT_EQ(0, qnl_new_sim(&self->q, "f2", "f3", 65536, NULL));
	ASSERT_EQ(0, fz_healthy(&self->q, self->all, 256, f));

	ASSERT_EQ(0, qnl_open(&s));
	fd = mnl_socket_get_fd(s.nl);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	ASSERT_EQ(0, pthread_create(&th, NULL, reader, f));
	if (senders > 1) {
		sd = calloc(1, sizeof(*sd));
		ASSERT_NE(NULL, sd);
		sd->f = *f;
		sd->seed = seed * 0x9e3779b97f4a7c15ULL + 1;
		sd->stop = &f->stop;
		ASSERT_EQ(0, pthread_create(&th2, NULL, sender, sd));
	}

	t0 = qnl_now_ms();
	end = t0 + secs * 1000;
	while (t.msgs + (sd ? sd->t.msgs : 0) < target && qnl_now_ms() < end) {
		send_batch(f, fd, batch, rbuf, &seq, &t);
		if (t.dgrams % 2000 == 0)
			ASSERT_EQ(0, fz_healthy(&self->q, self->all, 256, f));
	}
	f->stop = 1;
	pthread_join(th, NULL);
	if (sd) {
		pthread_join(th2, NULL);
		t.msgs += sd->t.msgs;
		t.dgrams += sd->t.dgrams;
		t.acks += sd->t.acks;
		t.send_err += sd->t.send_err;
		t.dumps_dropped = sd->t.dumps_dropped;
		for (int i = 0; i < 140; i++)
			t.errs[i] += sd->t.errs[i];
		free(sd);
	}
	TH_LOG("%ld messages in %ld datagrams from %ld senders, %.1f s, %ld acks, %ld send errors, %ld dumps dropped",
	       t.msgs, t.dgrams, senders > 1 ? 2L : 1L, (qnl_now_ms() - t0) / 1000.0, t.acks,
	       t.send_err, t.dumps_dropped);
	for (int i = 0; i < 140; i++)
		if (t.errs[i])
			TH_LOG("  errno %3d %-28s %ld", i, i ? strerror(i) : "(ok)", t.errs[i]);
	qnl_close(&s);
	/* the time bound may cut a slow machine short, not below 100,000 */
	EXPECT_GE(t.msgs, target < 100000 ? target : 100000);

	/* healthy: the family answers, counters balance, links go away */
	ASSERT_EQ(0, fz_healthy(&self->q, self->all, 256, f));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	ASSERT_EQ(0, qnl_dump(&self->q, self->all, 256, NULL));
}

TEST_F(fuzz, then_end_to_end)
{
	fuzz_end_to_end(_metadata, &self->q);
}

TEST_HARNESS_MAIN
