// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded random fuzzing of /dev/qkdkey's file operations: QKD_DEVFUZZ_OPS
 * system calls (default 1,000,000; fewer than 100,000 fails) within
 * QKD_DEVFUZZ_SECS, from a seeded PRNG (QKD_FUZZ_SEED repeats the call
 * sequence; the churn thread's timing varies).
 *
 * Calls: ioctl with random command numbers (other types, and our magic 0xB8
 * with random nr, size and direction), BIND and LINK_INFO with random
 * structures and bad pointers (NULL, -1, an unmapped page, a read-only page,
 * a structure that runs into an unmapped page), read, pread, readv and
 * preadv2 with random sizes, offsets, flags and buffers, poll, write, lseek,
 * mmap, and re-opens with random flags, on 16 files at once. A few blocking
 * reads end by a signal (EINTR). Meanwhile a churn thread pushes key, takes
 * links down and up, into and out of ALARM, to new epochs, deletes and
 * re-creates them under the open files, moves the default, and unloads and
 * reloads qkd_sim.
 *
 * Invariants: every call either succeeds as documented (reads are all or
 * nothing, LINK_INFO output is well formed, poll reports only the
 * documented events) or fails with an errno Documentation/qkdkey.rst lists
 * for it; afterwards the family answers, every link's counters balance and
 * a fresh link works end to end. The runner checks rmmod and dmesg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"
#include "fuzz_util.h"
#include "dev_fuzz.h"

static void on_alarm(int sig)
{
	(void)sig;
}

/* user link @u's key: from the churn thread only, which owns uepoch/uoff */
static void push(struct dz *z, struct qnl *q, int u, int d)
{
	size_t len = 1 + rn(2048);
	struct qnl_link l;
	int r = qnl_push(q, names[u], d, z->uepoch[u], z->uoff[u][d], z->key, len, NULL);

	if (!r) {
		z->uoff[u][d] += len;
	} else if (r != -ENOSPC && !qnl_get(q, 0, names[u], &l, NULL)) {
		z->uepoch[u] = l.epoch;		/* a new epoch, or a re-created link */
		z->uoff[u][d] = rn(2) ? 0 : z->uoff[u][d] + 4096;
	}
}

/* everything that happens to links under the open files */
static void *churn(void *arg)
{
	struct dz *z = arg;
	struct qnl q;
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);	/* the blocking reads' timer */
	rs = (uintptr_t)&q ^ 0x5851f42d4c957f2dULL;
	if (qnl_open(&q))
		return NULL;
	while (!z->stop) {
		int r = rn(100), u = rn(NUSER), v = rn(NNAMES);

		if (r < 45)
			push(z, &q, u, rn(2));
		else if (r < 53)
			qnl_set(&q, names[v], QKDKEY_A_LINK_ADMIN_UP, rn(2), NULL);
		else if (r < 58)	/* into ALARM, or out of it */
			qnl_set(&q, names[u], QKDKEY_A_LINK_QBER, rn(2) ? 500000 : 0, NULL);
		else if (r < 63)
			qnl_set(&q, names[v], QKDKEY_A_LINK_ADMIN_UP, 1, NULL);
		else if (r < 67)	/* a new epoch: bound RX files go stale */
			qnl_set(&q, names[u], QKDKEY_A_LINK_EPOCH, ++z->uepoch[u], NULL);
		else if (r < 71)
			qnl_set_sim(&q, "s0", QKDKEY_SIM_A_EVE, rn(2) ? 600000 : 0, NULL);
		else if (r < 75) {	/* deleted under the files, then back */
			qnl_del(&q, names[u], NULL);
			z->uepoch[u] = rn(3);
			z->uoff[u][0] = z->uoff[u][1] = 0;
			qnl_new_user(&q, names[u], z->uepoch[u], 4096 << rn(6), NULL);
		} else if (r < 78) {
			qnl_del(&q, "s0", NULL);
			qnl_new_sim(&q, "s0", "s1", rn(2) ? 65536 : 0, NULL);
		} else if (r < 83) {
			qnl_set(&q, names[v], QKDKEY_A_LINK_DEFAULT, 0, NULL);
		} else if (r < 84 && !rn(10)) {	/* the card driver goes away */
			if (!qkd_module_unload("qkd_sim"))
				z->reloads++;
			qkd_module_load("qkd_sim", "pairs=0");
			qnl_new_sim(&q, "s0", "s1", 65536, NULL);
		}
		z->churn++;
		if (!rn(4))
			qkd_msleep(1);
	}
	qnl_close(&q);
	return NULL;
}

static int healthy(struct qnl *q, int *nlinks)
{
	static struct qnl_link all[64];
	int n = qnl_dump(q, all, 64, NULL);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (qnl_check_counters(&all[i]))
			return -EUCLEAN;
	*nlinks = n;
	return 0;
}

FIXTURE(devfuzz) {
	struct qnl q;
	struct dz *z;
};

FIXTURE_SETUP(devfuzz)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART: EINTR */
	struct dz *z;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	z = self->z = calloc(1, sizeof(*z));
	ASSERT_NE(NULL, z);
	z->page = sysconf(_SC_PAGESIZE);
	z->buf = mmap(NULL, BUFSZ + 2 * z->page, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, z->buf);
	/* [buf, BUFSZ) rw, then a read-only page, then a PROT_NONE page */
	z->ro = z->buf + BUFSZ - BUFSZ % z->page + z->page;
	z->hole = z->ro + z->page;
	ASSERT_EQ(0, mprotect(z->ro, z->page, PROT_READ));
	ASSERT_EQ(0, munmap(z->hole, z->page));
	for (int i = 0; i < NFD; i++)
		z->fd[i] = -1;
}

FIXTURE_TEARDOWN(devfuzz)
{
	for (int i = 0; i < NFD; i++)
		if (self->z->fd[i] >= 0)
			close(self->z->fd[i]);
	qnl_del_all(&self->q);
	qnl_close(&self->q);
	free(self->z);
}

TEST_F_TIMEOUT(devfuzz, random_calls, 600)
{
	long target = env_num("QKD_DEVFUZZ_OPS", 1000000), secs = env_num("QKD_DEVFUZZ_SECS", 90);
	uint64_t seed = env_num("QKD_FUZZ_SEED", 0);
	struct dz *z = self->z;
	long long t0, end;
	pthread_t th;
	int nlinks;

	if (!seed)
		seed = (uint64_t)time(NULL) << 20 ^ getpid();
	rs = seed;
	dz_seed(seed);
	TH_LOG("seed 0x%llx (QKD_FUZZ_SEED=0x%llx repeats it), %ld calls, at most %ld s",
	       (unsigned long long)seed, (unsigned long long)seed, target, secs);
	for (size_t i = 0; i < sizeof(z->key); i++)
		z->key[i] = rnd();
	for (int u = 0; u < NUSER; u++)
		ASSERT_EQ(0, qnl_new_user(&self->q, names[u], 0, 0, NULL));
	ASSERT_EQ(0, qnl_new_sim(&self->q, "s0", "s1", 65536, NULL));
	for (int i = 0; i < NFD; i++)
		dz_reopen(z, i);
	ASSERT_EQ(0, pthread_create(&th, NULL, churn, z));

	t0 = qnl_now_ms();
	end = t0 + secs * 1000;
	while (z->ops < target) {
		for (int k = 0; k < 256; k++, z->ops++)
			dz_one_op(z);
		if (qnl_now_ms() >= end)
			break;
	}
	z->stop = 1;
	pthread_join(th, NULL);
	TH_LOG("%ld calls in %.1f s; churn: %ld link changes, %ld qkd_sim reloads; %ld bad",
	       z->ops, (qnl_now_ms() - t0) / 1000.0, z->churn, z->reloads, z->bad);
	for (int op = 0; op < NOPS; op++) {
		char line[512];
		int pos = snprintf(line, sizeof(line), "  %-13s %7ld: ok %ld", op_name[op],
				   z->n[op], z->ok[op]);

		for (int e = 1; e < 128 && pos < (int)sizeof(line) - 24; e++)
			if (z->errs[op][e])
				pos += snprintf(line + pos, sizeof(line) - pos, " %s%s %ld",
						allowed[op] & E(e) ? "" : "UNDOCUMENTED ",
						strerrorname_np(e) ?: "?", z->errs[op][e]);
		TH_LOG("%s", line);
	}
	/* every call behaved as documented */
	EXPECT_EQ(0, z->bad);
	/* the time bound may cut a slow machine short, not below 100,000 */
	EXPECT_GE(z->ops, target < 100000 ? target : 100000);

	/* healthy: the family answers, counters balance, links go away */
	ASSERT_EQ(0, qkd_modules_ensure());
	ASSERT_EQ(0, healthy(&self->q, &nlinks));
	TH_LOG("%d links left, counters balance", nlinks);
}

TEST_F(devfuzz, then_end_to_end)
{
	unsigned char key[1000], r[QKD_HDR + 1000];
	struct qkdkey_tx_hdr *h = (void *)r;
	int tx, rx;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = i * 13;
	ASSERT_EQ(0, qkd_modules_ensure());
	ASSERT_EQ(0, qnl_new_user(&self->q, "fresh", 2, 0, NULL));
	ASSERT_EQ(0, qnl_push(&self->q, "fresh", QKDKEY_DIR_TX, 2, 0, key, 1000, NULL));
	ASSERT_EQ(0, qnl_push(&self->q, "fresh", QKDKEY_DIR_RX, 2, 0, key, 1000, NULL));
	tx = qkd_open_bind("fresh", QKDKEY_DIR_TX, O_NONBLOCK);
	rx = qkd_open_bind("fresh", QKDKEY_DIR_RX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_LE(0, rx);
	ASSERT_EQ(QKD_HDR + 1000, qkd_read(tx, r, QKD_HDR + 1000));
	EXPECT_EQ(2, h->epoch);
	EXPECT_EQ(0, memcmp(r + QKD_HDR, key, 1000));
	ASSERT_EQ(1000, qkd_pread(rx, r, 1000, 0));
	EXPECT_EQ(0, memcmp(r, key, 1000));
	ASSERT_EQ(0, qnl_del(&self->q, "fresh", NULL));
	EXPECT_EQ(-ENODEV, qkd_read(tx, r, QKD_HDR + 10));
	close(tx);
	close(rx);
}

TEST_HARNESS_MAIN
