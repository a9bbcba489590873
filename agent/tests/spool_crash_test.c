// SPDX-License-Identifier: GPL-2.0
/*
 * Crash test of the agent's durable spool: a child appends and commits
 * records in a loop and reports each seq on a pipe only after
 * spool_commit() returned; the parent SIGKILLs it at random instants,
 * reopens the spool and checks that every reported seq is there, intact
 * (contents derive from the seq), exactly once, and that appending goes
 * on. The append_ack variant also acks random prefixes in the child.
 *
 * SPOOL_CRASH_SEED=N replays a run; SPOOL_CRASH_KILLS=N changes the
 * number of kills per variant (default 100, 15 under ASan); each variant
 * also stops after a time budget (10 s, 5 s under ASan).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

#include "kselftest_harness.h"

#ifdef SPOOL_CRASH_SMALL
#define DEF_KILLS	15
#define BUDGET_NS	5000000000ll
#else
#define DEF_KILLS	100
#define BUDGET_NS	10000000000ll
#endif

#define ACK_BIT		(1ull << 63)

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return mix(*state);
}

/* Mostly small payloads, one in 32 up to 64 KiB (a multi-page write). */
static uint32_t plen_of(uint64_t seq)
{
	uint64_t h = mix(seq ^ 0x5eed);

	if (h % 32 == 0)
		return (uint32_t)(20000 + (h >> 8) % (QKD_REC_PAYLOAD_MAX - 19999));
	return (uint32_t)((h >> 8) % 1500);
}

static void gen_rec(uint64_t seq, uint8_t *pl, struct qkd_record *r)
{
	uint32_t plen = plen_of(seq);

	memset(r, 0, sizeof(*r));
	r->device_id_len = (uint8_t)snprintf(r->device_id,
					     sizeof(r->device_id),
					     "meter-%" PRIu64, seq % 17);
	r->device_seq = seq * 3;
	r->device_time_ns = mix(seq);
	for (int i = 0; i < QKD_REC_ICODE_LEN; i++)
		r->integrity[i] = (uint8_t)mix(seq + (uint64_t)i * 1000003);
	for (uint32_t i = 0; i < plen; i++)
		pl[i] = (uint8_t)(seq * 29 + i * 13 + (i >> 9));
	r->payload_len = plen;
	r->payload = pl;
}

static bool rec_ok(uint64_t seq, const struct qkd_record *got, uint8_t *pl)
{
	struct qkd_record want;

	gen_rec(seq, pl, &want);
	return got->device_id_len == want.device_id_len &&
	       !memcmp(got->device_id, want.device_id, want.device_id_len) &&
	       got->device_seq == want.device_seq &&
	       got->device_time_ns == want.device_time_ns &&
	       !memcmp(got->integrity, want.integrity, QKD_REC_ICODE_LEN) &&
	       got->payload_len == want.payload_len &&
	       !memcmp(got->payload, pl, want.payload_len);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void spool_opts_for(bool ack, struct spool_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->segment_bytes = 128 << 10;
	o->max_pending_bytes = ack ? 2 << 20 : 1ull << 30;
}

static int report(int fd, const uint64_t *v, size_t n)
{
	/* At most PIPE_BUF bytes: the write is atomic. */
	while (write(fd, v, n * sizeof(*v)) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* The child: append, commit, report; in the ack variant, ack prefixes.
 * Exit codes above 0 are failures the parent reports. */
static void __attribute__((noreturn))
writer(const char *dir, int wfd, bool ack, uint64_t seed, uint8_t *pl)
{
	struct spool_opts o;
	struct spool_stats st;
	struct spool *sp;
	struct qkd_record r;
	uint64_t v[64], seq;
	size_t n;

	spool_opts_for(ack, &o);
	if (spool_open(dir, &o, &sp, NULL, 0))
		_exit(2);
	for (;;) {
		size_t want = 1 + rnd(&seed) % 16;
		uint64_t first;

		spool_get_stats(sp, &st);
		first = st.next_seq;
		for (n = 0; n < want; n++) {
			int e;

			gen_rec(first + n, pl, &r);
			e = spool_append(sp, &r, &seq);
			if (e == -ENOSPC && ack)
				break;
			if (e || seq != first + n)
				_exit(3);
		}
		if (spool_commit(sp) || spool_durable_seq(sp) != first + n - 1)
			_exit(4);
		for (size_t i = 0; i < n; i++)
			v[i] = first + i;
		if (n && report(wfd, v, n))
			_exit(5);
		if (ack && rnd(&seed) % 3 == 0) {
			uint64_t a;

			spool_get_stats(sp, &st);
			a = st.ack_seq + rnd(&seed) % (st.durable_seq -
						       st.ack_seq + 1);
			if (spool_ack(sp, a))
				_exit(6);
			v[0] = a | ACK_BIT;
			if (report(wfd, v, 1))
				_exit(7);
		}
	}
}

FIXTURE(crash) {
	char tmp[256];
	char dir[300];
	uint8_t *pl;
};

FIXTURE_VARIANT(crash) {
	bool ack;
};

FIXTURE_VARIANT_ADD(crash, append) {
	.ack = false,
};

FIXTURE_VARIANT_ADD(crash, append_ack) {
	.ack = true,
};

FIXTURE_SETUP(crash)
{
	const char *t = getenv("TMPDIR");

	snprintf(self->tmp, sizeof(self->tmp), "%s/spool-crash-XXXXXX",
		 t && *t ? t : "/tmp");
	ASSERT_NE(NULL, mkdtemp(self->tmp));
	snprintf(self->dir, sizeof(self->dir), "%s/spool", self->tmp);
	self->pl = malloc(QKD_REC_PAYLOAD_MAX);
	ASSERT_NE(NULL, self->pl);
}

FIXTURE_TEARDOWN(crash)
{
	free(self->pl);
	nftw(self->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reads the child's reports; checks they only grow. */
static void drain(struct __test_metadata *_metadata, int fd,
		  uint64_t *committed, uint64_t *acked, uint64_t *nreported)
{
	uint64_t v[512];
	size_t have = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, (uint8_t *)v + have, sizeof(v) - have);
		if (n < 0 && errno == EINTR)
			continue;
		ASSERT_LE(0, n);
		if (n == 0)
			break;
		have += (size_t)n;
		for (size_t i = 0; i < have / 8; i++) {
			if (v[i] & ACK_BIT) {
				ASSERT_LE(*acked, v[i] & ~ACK_BIT);
				*acked = v[i] & ~ACK_BIT;
				continue;
			}
			/* Strictly increasing: no seq reported twice. */
			ASSERT_LT(*committed, v[i]);
			*committed = v[i];
			(*nreported)++;
		}
		memmove(v, (uint8_t *)v + have / 8 * 8, have % 8);
		have %= 8;
	}
	ASSERT_EQ(0u, have);
}

/* Reopens and checks every unacked record; returns how many. */
static uint64_t verify(struct __test_metadata *_metadata, const char *dir,
		       bool ack, uint64_t committed, uint64_t acked,
		       uint8_t *pl, uint64_t *torn)
{
	struct spool_opts o;
	struct spool_stats st;
	struct spool_iter it;
	struct spool *sp;
	struct qkd_record r;
	uint64_t seq, want, n = 0;
	char err[256];
	int ret;

	spool_opts_for(ack, &o);
	ret = spool_open(dir, &o, &sp, err, sizeof(err));
	if (ret)
		TH_LOG("open after kill: %d %s", ret, err);
	ASSERT_EQ(0, ret);
	spool_get_stats(sp, &st);
	*torn += st.torn_bytes > 0 || st.torn_files > 0;
	ASSERT_LE(committed, st.durable_seq);
	ASSERT_LE(acked, st.ack_seq);
	ASSERT_EQ(st.durable_seq - st.ack_seq, st.recovered_records);
	ASSERT_EQ(0, spool_iter_init(sp, &it, 0));
	want = st.ack_seq + 1;
	while ((ret = spool_iter_next(&it, &seq, &r)) == 1) {
		ASSERT_EQ(want, seq);
		ASSERT_TRUE(rec_ok(seq, &r, pl)) {
			TH_LOG("record %" PRIu64 " differs", seq);
		}
		want++;
		n++;
	}
	spool_iter_release(&it);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(st.durable_seq + 1, want);
	spool_close(sp);
	return n;
}

TEST_F_TIMEOUT(crash, kill9, 60)
{
	uint64_t seed, rng, committed = 0, acked = 0, nreported = 0;
	uint64_t verified = 0, torn = 0;
	int64_t start = now_ns();
	const char *e;
	int kills = DEF_KILLS, k;

	e = getenv("SPOOL_CRASH_SEED");
	seed = e ? strtoull(e, NULL, 0) : mix((uint64_t)now_ns() ^
					      (uint64_t)getpid());
	e = getenv("SPOOL_CRASH_KILLS");
	if (e)
		kills = atoi(e);
	ksft_print_msg("spool crash test (%s): SPOOL_CRASH_SEED=%" PRIu64 "\n",
		       variant->ack ? "append_ack" : "append", seed);
	fflush(stdout);
	rng = seed;
	for (k = 0; k < kills && now_ns() - start < BUDGET_NS; k++) {
		struct timespec d;
		int p[2], status;
		uint64_t child_seed = rnd(&rng);
		pid_t pid;

		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(p[0]);
			writer(self->dir, p[1], variant->ack, child_seed,
			       self->pl);
		}
		close(p[1]);
		/* 0..30 ms; the child's own open (recovery) is in range. */
		d.tv_sec = 0;
		d.tv_nsec = (long)(rnd(&rng) % 30000000);
		nanosleep(&d, NULL);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (WIFEXITED(status))
			TH_LOG("writer exited with %d", WEXITSTATUS(status));
		ASSERT_TRUE(WIFSIGNALED(status));
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
		drain(_metadata, p[0], &committed, &acked, &nreported);
		close(p[0]);
		verified += verify(_metadata, self->dir, variant->ack,
				   committed, acked, self->pl, &torn);
	}
	/* After all that, the spool still takes and keeps records. */
	{
		struct spool_opts o;
		struct spool *sp;
		struct qkd_record r;
		uint64_t seq, last = 0;

		spool_opts_for(variant->ack, &o);
		ASSERT_EQ(0, spool_open(self->dir, &o, &sp, NULL, 0));
		if (variant->ack)
			ASSERT_EQ(0, spool_ack(sp, spool_durable_seq(sp)));
		for (int i = 0; i < 10; i++) {
			struct spool_stats st;

			spool_get_stats(sp, &st);
			gen_rec(st.next_seq, self->pl, &r);
			ASSERT_EQ(0, spool_append(sp, &r, &seq));
			last = seq;
		}
		ASSERT_EQ(0, spool_commit(sp));
		spool_close(sp);
		ASSERT_EQ(variant->ack ? 10 : last,
			  verify(_metadata, self->dir, variant->ack, last, 0,
				 self->pl, &torn));
	}
	ksft_print_msg("spool crash test (%s): %d kills in %.1f s, %" PRIu64
		       " seqs reported committed (highest %" PRIu64
		       "), %" PRIu64 " records verified after reopens, %"
		       PRIu64 " recoveries cut a torn tail\n",
		       variant->ack ? "append_ack" : "append", k,
		       (double)(now_ns() - start) / 1e9, nreported, committed,
		       verified, torn);
	fflush(stdout);
	ASSERT_LT(0, k);
	ASSERT_LT(0u, nreported);
}

TEST_HARNESS_MAIN
