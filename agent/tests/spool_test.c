// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the agent's durable spool (agent/lib/spool.h): round
 * trips, iteration, ack and trim, the pending limit, write errors, the
 * asynchronous commit steps, and the recovery rule on hand-damaged files.
 * Each test works in its own directory under $TMPDIR (or /tmp).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_int.h"

#include "kselftest_harness.h"

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The record numbered key, with a payload of plen bytes in pl. */
static void gen_rec(uint64_t key, uint32_t plen, uint8_t *pl,
		    struct qkd_record *r)
{
	memset(r, 0, sizeof(*r));
	r->device_id_len = (uint8_t)snprintf(r->device_id,
					     sizeof(r->device_id),
					     "sensor-%llu",
					     (unsigned long long)(key % 13));
	r->device_seq = key * 3;
	r->device_time_ns = mix(key);
	for (int i = 0; i < QKD_REC_ICODE_LEN; i++)
		r->integrity[i] = (uint8_t)mix(key ^ ((uint64_t)i << 40));
	for (uint32_t i = 0; i < plen; i++)
		pl[i] = (uint8_t)(key * 131 + i * 7 + (i >> 8));
	r->payload_len = plen;
	r->payload = pl;
}

static bool rec_ok(uint64_t key, uint32_t plen, const struct qkd_record *got)
{
	static uint8_t pl[QKD_REC_PAYLOAD_MAX];
	struct qkd_record want;

	gen_rec(key, plen, pl, &want);
	return got->device_id_len == want.device_id_len &&
	       !memcmp(got->device_id, want.device_id, want.device_id_len) &&
	       got->device_seq == want.device_seq &&
	       got->device_time_ns == want.device_time_ns &&
	       !memcmp(got->integrity, want.integrity, QKD_REC_ICODE_LEN) &&
	       got->payload_len == plen &&
	       (!plen || !memcmp(got->payload, pl, plen));
}

/* Payload length of the record with seq s in most tests. */
static uint32_t plen_of(uint64_t s)
{
	return (uint32_t)(mix(s) % 1500);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int count_segs(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	uint64_t s;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += seg_name_parse(de->d_name, &s);
	closedir(d);
	return n;
}

static bool seg_exists(const char *dir, uint64_t first)
{
	char path[1024], name[SEG_NAME_LEN];

	seg_name(name, first);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static off_t file_size(const char *dir, uint64_t first)
{
	char path[1024], name[SEG_NAME_LEN];
	struct stat st;

	seg_name(name, first);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) ? -1 : st.st_size;
}

/* Overwrites len bytes of a segment file at off (off < 0: from the end). */
static int poke(const char *dir, uint64_t first, off_t off, const void *buf,
		size_t len)
{
	char path[1024], name[SEG_NAME_LEN];
	int fd, r;

	seg_name(name, first);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	if (off < 0)
		off += lseek(fd, 0, SEEK_END);
	r = pwrite(fd, buf, len, off) == (ssize_t)len ? 0 : -1;
	close(fd);
	return r;
}

FIXTURE(spool) {
	char tmp[256];
	char dir[300];
	struct spool *sp;
	struct spool_opts opts;
	char err[256];
	uint8_t *pl;
};

FIXTURE_SETUP(spool)
{
	const char *t = getenv("TMPDIR");

	snprintf(self->tmp, sizeof(self->tmp), "%s/spool-test-XXXXXX",
		 t && *t ? t : "/tmp");
	ASSERT_NE(NULL, mkdtemp(self->tmp));
	snprintf(self->dir, sizeof(self->dir), "%s/spool", self->tmp);
	self->pl = malloc(QKD_REC_PAYLOAD_MAX);
	ASSERT_NE(NULL, self->pl);
	self->opts.segment_bytes = 64 << 10;
}

FIXTURE_TEARDOWN(spool)
{
	spool_close(self->sp);
	free(self->pl);
	nftw(self->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#define OPEN_OK() do {							\
	spool_close(self->sp);						\
	self->sp = NULL;						\
	int __r = spool_open(self->dir, &self->opts, &self->sp,		\
			     self->err, sizeof(self->err));		\
	if (__r)							\
		TH_LOG("open: %d %s", __r, self->err);			\
	ASSERT_EQ(0, __r);						\
} while (0)

/* Appends records with seqs first..first+n-1, payloads of plen_of(). */
static void append_n(struct __test_metadata *_metadata, struct spool *sp,
		     uint8_t *pl, uint64_t first, uint64_t n)
{
	struct qkd_record r;
	uint64_t seq;

	for (uint64_t s = first; s < first + n; s++) {
		gen_rec(s, plen_of(s), pl, &r);
		ASSERT_EQ(0, spool_append(sp, &r, &seq));
		ASSERT_EQ(s, seq);
	}
}

/* Reads all unacked records and checks they are exactly first..last. */
static void expect_records(struct __test_metadata *_metadata,
			   struct spool *sp, uint64_t first, uint64_t last)
{
	struct spool_iter it;
	struct qkd_record r;
	uint64_t seq, want = first;
	int n;

	ASSERT_EQ(0, spool_iter_init(sp, &it, 0));
	while ((n = spool_iter_next(&it, &seq, &r)) == 1) {
		EXPECT_EQ(want, seq);
		EXPECT_TRUE(rec_ok(seq, plen_of(seq), &r));
		want = seq + 1;
	}
	spool_iter_release(&it);
	ASSERT_EQ(0, n);
	ASSERT_EQ(last + 1, want);
}

TEST(crc32c_vector)
{
	ASSERT_EQ(0xe3069283u, spool_crc32c(0, "123456789", 9));
	/* Chaining gives the same value as one pass. */
	ASSERT_EQ(0xe3069283u, spool_crc32c(spool_crc32c(0, "1234", 4),
					    "56789", 5));
	ASSERT_EQ(0u, spool_crc32c(0, "", 0));
}

TEST(record_codec)
{
	static uint8_t pl[QKD_REC_PAYLOAD_MAX], buf[QKD_REC_MAX_LEN];
	struct qkd_record r, d;

	gen_rec(7, QKD_REC_PAYLOAD_MAX, pl, &r);
	r.device_id_len = QKD_REC_ID_MAX;
	memset(r.device_id, 'x', QKD_REC_ID_MAX);
	ASSERT_EQ(0, qkd_record_check(&r));
	ASSERT_EQ((size_t)QKD_REC_MAX_LEN, qkd_record_encoded_len(&r));
	qkd_record_encode(&r, buf);
	ASSERT_EQ(0, qkd_record_decode(buf, QKD_REC_MAX_LEN, &d));
	ASSERT_EQ(0, memcmp(d.payload, pl, QKD_REC_PAYLOAD_MAX));
	ASSERT_EQ('\0', d.device_id[QKD_REC_ID_MAX]);
	ASSERT_EQ(-EBADMSG, qkd_record_decode(buf, QKD_REC_MAX_LEN - 1, &d));
	r.device_id_len = 0;
	ASSERT_EQ(-EINVAL, qkd_record_check(&r));
	r.device_id_len = QKD_REC_ID_MAX + 1;
	ASSERT_EQ(-EINVAL, qkd_record_check(&r));
	r.device_id_len = 1;
	r.payload_len = QKD_REC_PAYLOAD_MAX + 1;
	ASSERT_EQ(-EINVAL, qkd_record_check(&r));
}

/* Payload sizes 0..64 KiB survive append, commit, close and reopen. */
TEST_F(spool, round_trip)
{
	static const uint32_t sizes[] = { 0, 1, 7, 8, 9, 100, 4095, 4096,
		4097, 30000, 65535, QKD_REC_PAYLOAD_MAX };
	const size_t n = ARRAY_SIZE(sizes);
	struct spool_stats st;
	struct spool_iter it;
	struct qkd_record r;
	uint64_t seq;

	self->opts.segment_bytes = 0;	/* default: all in one segment */
	OPEN_OK();
	for (size_t i = 0; i < n; i++) {
		gen_rec(i + 1, sizes[i], self->pl, &r);
		ASSERT_EQ(0, spool_append(self->sp, &r, &seq));
		ASSERT_EQ(i + 1, seq);
	}
	/* Queued is not accepted. */
	ASSERT_EQ(0u, spool_durable_seq(self->sp));
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(n, st.queued_records);
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_EQ(n, spool_durable_seq(self->sp));
	ASSERT_EQ(0, spool_commit(self->sp));	/* nothing to do */
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(1u, st.commits);
	ASSERT_EQ(0u, st.queued_records);

	OPEN_OK();
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(n, st.durable_seq);
	ASSERT_EQ(n + 1, st.next_seq);
	ASSERT_EQ(n, st.recovered_records);
	ASSERT_EQ(n, st.pending_records);
	ASSERT_EQ(0u, st.torn_bytes);
	ASSERT_EQ(0, spool_iter_init(self->sp, &it, 0));
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(1, spool_iter_next(&it, &seq, &r));
		ASSERT_EQ(i + 1, seq);
		ASSERT_TRUE(rec_ok(i + 1, sizes[i], &r));
	}
	ASSERT_EQ(0, spool_iter_next(&it, &seq, &r));
	spool_iter_release(&it);
}

/* Records appended but not committed are gone after reopen, and their
 * seqs are given again. */
TEST_F(spool, queued_is_not_accepted)
{
	struct spool_stats st;

	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 10);
	ASSERT_EQ(0, spool_commit(self->sp));
	append_n(_metadata, self->sp, self->pl, 11, 5);
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(10u, st.durable_seq);
	ASSERT_EQ(5u, st.queued_records);
	ASSERT_EQ(15u, st.pending_records);
	expect_records(_metadata, self->sp, 1, 10);	/* durable only */
	OPEN_OK();
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(10u, st.durable_seq);
	ASSERT_EQ(11u, st.next_seq);
	append_n(_metadata, self->sp, self->pl, 11, 5);
	ASSERT_EQ(0, spool_commit(self->sp));
	expect_records(_metadata, self->sp, 1, 15);
}

/* Iteration from a given seq, interleaved with appends, commits, acks. */
TEST_F(spool, iteration_order)
{
	struct spool_iter it;
	struct qkd_record r;
	uint64_t seq;

	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 300);
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_EQ(0, spool_iter_init(self->sp, &it, 250));
	for (uint64_t s = 250; s <= 300; s++) {
		ASSERT_EQ(1, spool_iter_next(&it, &seq, &r));
		ASSERT_EQ(s, seq);
		ASSERT_TRUE(rec_ok(s, plen_of(s), &r));
	}
	ASSERT_EQ(0, spool_iter_next(&it, &seq, &r));
	append_n(_metadata, self->sp, self->pl, 301, 100);
	ASSERT_EQ(0, spool_iter_next(&it, &seq, &r));	/* not durable */
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_EQ(1, spool_iter_next(&it, &seq, &r));
	ASSERT_EQ(301u, seq);
	/* An ack past the iterator makes it skip ahead. */
	ASSERT_EQ(0, spool_ack(self->sp, 350));
	ASSERT_EQ(1, spool_iter_next(&it, &seq, &r));
	ASSERT_EQ(351u, seq);
	ASSERT_TRUE(rec_ok(351, plen_of(351), &r));
	spool_iter_release(&it);
	expect_records(_metadata, self->sp, 351, 400);
}

/* A record damaged after open is reported by the reader, not returned. */
TEST_F(spool, read_detects_damage)
{
	struct spool_iter it;
	struct qkd_record r;
	uint64_t seq;
	uint8_t x = 0x77;

	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 3);
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_EQ(0, poke(self->dir, 1,
			  (off_t)seg_frame_start(self->sp->segs[0], 1) + 30,
			  &x, 1));
	ASSERT_EQ(0, spool_iter_init(self->sp, &it, 0));
	ASSERT_EQ(1, spool_iter_next(&it, &seq, &r));
	ASSERT_EQ(-EBADMSG, spool_iter_next(&it, &seq, &r));
	spool_iter_release(&it);
}

/* Segments are unlinked only when fully acked; the ack survives reopen. */
TEST_F(spool, ack_and_trim)
{
	struct spool_stats st;
	uint64_t firsts[64];
	int nseg = 0;

	OPEN_OK();
	/* About 800 B per record, 64 KiB segments: ~10 segments. */
	append_n(_metadata, self->sp, self->pl, 1, 800);
	ASSERT_EQ(0, spool_commit(self->sp));
	spool_get_stats(self->sp, &st);
	ASSERT_LT(5u, st.segments);
	ASSERT_EQ(st.segments, (uint64_t)count_segs(self->dir));
	for (size_t i = 0; i < self->sp->nsegs; i++)
		firsts[nseg++] = self->sp->segs[i]->first_seq;
	ASSERT_EQ(1u, firsts[0]);

	/* Ack up to the last record of segment 1 minus one: nothing goes. */
	ASSERT_EQ(0, spool_ack(self->sp, firsts[2] - 2));
	ASSERT_FALSE(seg_exists(self->dir, firsts[0]));
	ASSERT_TRUE(seg_exists(self->dir, firsts[1]));
	/* Exactly its last record: it goes. */
	ASSERT_EQ(0, spool_ack(self->sp, firsts[2] - 1));
	ASSERT_FALSE(seg_exists(self->dir, firsts[1]));
	ASSERT_TRUE(seg_exists(self->dir, firsts[2]));
	ASSERT_EQ(nseg - 2, count_segs(self->dir));

	spool_get_stats(self->sp, &st);
	ASSERT_EQ(firsts[2] - 1, st.ack_seq);
	ASSERT_EQ(800 - st.ack_seq, st.pending_records);
	ASSERT_EQ(spool_bytes_between(self->sp, st.ack_seq + 1, 800),
		  st.pending_bytes);

	/* Stale and premature acks. */
	ASSERT_EQ(0, spool_ack(self->sp, 3));
	ASSERT_EQ(-EINVAL, spool_ack(self->sp, 801));
	ASSERT_EQ(0, spool_ack(self->sp, firsts[3] + 5));

	OPEN_OK();
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(firsts[3] + 5, st.ack_seq);
	ASSERT_EQ(800u, st.durable_seq);
	ASSERT_EQ(800 - st.ack_seq, st.recovered_records);
	expect_records(_metadata, self->sp, firsts[3] + 6, 800);

	/* Everything acked: all but the last segment go. */
	ASSERT_EQ(0, spool_ack(self->sp, 800));
	ASSERT_EQ(1, count_segs(self->dir));
	ASSERT_TRUE(seg_exists(self->dir, firsts[nseg - 1]));
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(0u, st.pending_bytes);
	ASSERT_EQ(0u, st.pending_records);
	OPEN_OK();
	expect_records(_metadata, self->sp, 801, 800);
	/* New records fill the old last segment, then rotate; once acked,
	 * it goes. */
	append_n(_metadata, self->sp, self->pl, 801, 200);
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_TRUE(seg_exists(self->dir, firsts[nseg - 1]));
	expect_records(_metadata, self->sp, 801, 1000);
	ASSERT_EQ(0, spool_ack(self->sp, 1000));
	ASSERT_FALSE(seg_exists(self->dir, firsts[nseg - 1]));
	ASSERT_EQ(1, count_segs(self->dir));
}

/* A full spool refuses appends with ENOSPC and drops nothing. */
TEST_F(spool, full_refuses)
{
	struct spool_stats st;
	struct qkd_record r;
	uint64_t seq, n = 0;
	int ret;

	self->opts.max_pending_bytes = 256 << 10;
	OPEN_OK();
	for (;;) {
		gen_rec(n + 1, plen_of(n + 1), self->pl, &r);
		ret = spool_append(self->sp, &r, &seq);
		if (ret)
			break;
		n++;
		if (n % 50 == 0)
			ASSERT_EQ(0, spool_commit(self->sp));
	}
	ASSERT_EQ(-ENOSPC, ret);
	ASSERT_EQ(-ENOSPC, spool_append(self->sp, &r, &seq));
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(2u, st.refused);
	ASSERT_EQ(n, st.pending_records);
	ASSERT_GE(256u << 10, st.pending_bytes);
	ASSERT_LT((256u << 10) - 1600, st.pending_bytes);
	ASSERT_EQ(0, spool_commit(self->sp));
	OPEN_OK();
	expect_records(_metadata, self->sp, 1, n);
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(0u, st.refused);
	ASSERT_EQ(-ENOSPC, spool_append(self->sp, &r, &seq));
	/* An ack makes room again. */
	ASSERT_EQ(0, spool_ack(self->sp, 10));
	ASSERT_EQ(0, spool_append(self->sp, &r, &seq));
	ASSERT_EQ(n + 1, seq);
	ASSERT_EQ(0, spool_commit(self->sp));
	expect_records(_metadata, self->sp, 11, n + 1);
}

/* Damage in a segment that is not the last fails open. */
TEST_F(spool, corrupt_middle_segment)
{
	uint8_t x = 0x5a;
	uint64_t first2;
	int ret;

	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 300);
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_LT(2u, self->sp->nsegs);
	first2 = self->sp->segs[1]->first_seq;
	spool_close(self->sp);
	self->sp = NULL;
	ASSERT_EQ(0, poke(self->dir, first2, 1000, &x, 1));
	ret = spool_open(self->dir, &self->opts, &self->sp, self->err,
			 sizeof(self->err));
	TH_LOG("open: %s", self->err);
	ASSERT_EQ(-EBADMSG, ret);
	ASSERT_NE(NULL, strstr(self->err, "not the last"));
	/* Nothing was changed on disk: still fails the same way. */
	ASSERT_EQ(-EBADMSG, spool_open(self->dir, &self->opts, &self->sp,
				       NULL, 0));
}

/* Damage in the last segment before a later write fails open too. */
TEST_F(spool, corrupt_middle_record)
{
	off_t size, full;
	uint8_t x = 0xa5;
	int ret;

	self->opts.segment_bytes = 0;
	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 20);
	ASSERT_EQ(0, spool_commit(self->sp));
	size = file_size(self->dir, 1);
	append_n(_metadata, self->sp, self->pl, 21, 20);
	ASSERT_EQ(0, spool_commit(self->sp));
	full = file_size(self->dir, 1);
	spool_close(self->sp);
	self->sp = NULL;
	/* A byte of the first commit's records. */
	ASSERT_EQ(0, poke(self->dir, 1, size / 2, &x, 1));
	ret = spool_open(self->dir, &self->opts, &self->sp, self->err,
			 sizeof(self->err));
	TH_LOG("open: %s", self->err);
	ASSERT_EQ(-EBADMSG, ret);
	ASSERT_NE(NULL, strstr(self->err, "written after it"));
	ASSERT_EQ(full, file_size(self->dir, 1));	/* left alone */
}

/* Two commits into one segment: 1..20, then 21..40. */
static void two_writes(struct __test_metadata *_metadata, struct spool *sp,
		       uint8_t *pl)
{
	append_n(_metadata, sp, pl, 1, 20);
	ASSERT_EQ(0, spool_commit(sp));
	append_n(_metadata, sp, pl, 21, 20);
	ASSERT_EQ(0, spool_commit(sp));
}

/* Opens after damage; checks what survived and that a second open finds
 * nothing more to do, then that appending goes on. */
static void expect_recovered(struct __test_metadata *_metadata,
			     const char *dir, struct spool_opts *opts,
			     struct spool **spp, uint8_t *pl,
			     uint64_t durable, bool cut)
{
	struct spool_stats st, st2;
	char err[256] = "";
	off_t size;
	int ret;

	spool_close(*spp);
	*spp = NULL;
	ret = spool_open(dir, opts, spp, err, sizeof(err));
	if (ret)
		TH_LOG("open: %s", err);
	ASSERT_EQ(0, ret);
	spool_get_stats(*spp, &st);
	ASSERT_EQ(durable, st.durable_seq);
	ASSERT_EQ(cut, st.torn_bytes > 0);
	expect_records(_metadata, *spp, 1, durable);
	size = file_size(dir, 1);
	/* Idempotent: the second open cuts nothing and sees the same. */
	spool_close(*spp);
	*spp = NULL;
	ASSERT_EQ(0, spool_open(dir, opts, spp, NULL, 0));
	spool_get_stats(*spp, &st2);
	ASSERT_EQ(0u, st2.torn_bytes);
	ASSERT_EQ(st.durable_seq, st2.durable_seq);
	ASSERT_EQ(st.next_seq, st2.next_seq);
	ASSERT_EQ(st.pending_bytes, st2.pending_bytes);
	ASSERT_EQ(size, file_size(dir, 1));
	append_n(_metadata, *spp, pl, durable + 1, 5);
	ASSERT_EQ(0, spool_commit(*spp));
	expect_records(_metadata, *spp, 1, durable + 5);
	spool_close(*spp);
	*spp = NULL;
	ASSERT_EQ(0, spool_open(dir, opts, spp, NULL, 0));
	expect_records(_metadata, *spp, 1, durable + 5);
}

static int trunc_seg(const char *dir, uint64_t first, off_t len)
{
	char path[1024], name[SEG_NAME_LEN];

	seg_name(name, first);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return truncate(path, len);
}

/* A crash in the middle of the last write: the tail is cut. */
TEST_F(spool, torn_tail_short_frame)
{
	self->opts.segment_bytes = 0;
	OPEN_OK();
	two_writes(_metadata, self->sp, self->pl);
	ASSERT_EQ(0, trunc_seg(self->dir, 1, file_size(self->dir, 1) - 10));
	expect_recovered(_metadata, self->dir, &self->opts, &self->sp,
			 self->pl, 39, true);
}

TEST_F(spool, torn_tail_garbage)
{
	uint8_t junk[3000];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)mix(i);
	self->opts.segment_bytes = 0;
	OPEN_OK();
	two_writes(_metadata, self->sp, self->pl);
	ASSERT_EQ(0, poke(self->dir, 1, file_size(self->dir, 1), junk,
			  sizeof(junk)));
	expect_recovered(_metadata, self->dir, &self->opts, &self->sp,
			 self->pl, 40, true);
}

TEST_F(spool, torn_tail_zeros)
{
	self->opts.segment_bytes = 0;
	OPEN_OK();
	two_writes(_metadata, self->sp, self->pl);
	ASSERT_EQ(0, trunc_seg(self->dir, 1, file_size(self->dir, 1) + 8192));
	expect_recovered(_metadata, self->dir, &self->opts, &self->sp,
			 self->pl, 40, true);
}

/* The last write reached the disk except for its first page: its later
 * frames are intact but carry its group, so it is all cut. */
TEST_F(spool, torn_write_later_frames_survived)
{
	uint8_t zero[64] = { 0 };
	uint64_t at;

	self->opts.segment_bytes = 0;
	OPEN_OK();
	two_writes(_metadata, self->sp, self->pl);
	at = seg_frame_start(self->sp->segs[0], 20);	/* frame of seq 21 */
	ASSERT_EQ(0, poke(self->dir, 1, (off_t)at, zero, sizeof(zero)));
	expect_recovered(_metadata, self->dir, &self->opts, &self->sp,
			 self->pl, 20, true);
}

TEST_F(spool, torn_write_middle_frame)
{
	uint8_t x = 0x11;
	uint64_t at;

	self->opts.segment_bytes = 0;
	OPEN_OK();
	two_writes(_metadata, self->sp, self->pl);
	at = seg_frame_start(self->sp->segs[0], 29) + 40; /* seq 30 body */
	ASSERT_EQ(0, poke(self->dir, 1, (off_t)at, &x, 1));
	expect_recovered(_metadata, self->dir, &self->opts, &self->sp,
			 self->pl, 29, true);
}

/* A crash while creating a segment: a torn header, with or without the
 * frames of its first write, removes the file. After a second write to
 * that segment, a bad header is corruption. */
TEST_F(spool, torn_segment_header)
{
	uint8_t zero[SPOOL_SEG_HDR_LEN] = { 0 };
	struct spool_stats st;
	uint64_t first, durable;
	int ret;

	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 150);
	ASSERT_EQ(0, spool_commit(self->sp));
	first = self->sp->segs[self->sp->nsegs - 1]->first_seq;
	ASSERT_LT(1u, first);
	spool_close(self->sp);
	self->sp = NULL;
	ASSERT_EQ(0, poke(self->dir, first, 0, zero, 10));
	OPEN_OK();
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(first - 1, st.durable_seq);
	ASSERT_EQ(1u, st.torn_files);
	ASSERT_FALSE(seg_exists(self->dir, first));
	expect_records(_metadata, self->sp, 1, first - 1);
	/* Going on writes the segment again. */
	append_n(_metadata, self->sp, self->pl, first, 151 - first);
	ASSERT_EQ(0, spool_commit(self->sp));
	durable = spool_durable_seq(self->sp);
	ASSERT_EQ(150u, durable);

	/* An empty new segment (crash right after creat()). */
	spool_close(self->sp);
	self->sp = NULL;
	{
		char path[1024], name[SEG_NAME_LEN];
		int fd;

		seg_name(name, durable + 1);
		snprintf(path, sizeof(path), "%s/%s", self->dir, name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		ASSERT_LE(0, fd);
		close(fd);
	}
	OPEN_OK();
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(150u, st.durable_seq);
	ASSERT_EQ(1u, st.torn_files);
	ASSERT_FALSE(seg_exists(self->dir, durable + 1));

	/* Second write into the last segment, then a damaged header. */
	first = self->sp->segs[self->sp->nsegs - 1]->first_seq;
	for (uint64_t q = 151; q <= 153; q++) {
		struct qkd_record r;
		uint64_t seq;

		gen_rec(q, 0, self->pl, &r);
		ASSERT_EQ(0, spool_append(self->sp, &r, &seq));
	}
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_EQ(first, self->sp->segs[self->sp->nsegs - 1]->first_seq);
	spool_close(self->sp);
	self->sp = NULL;
	ASSERT_EQ(0, poke(self->dir, first, 0, zero, 10));
	ret = spool_open(self->dir, &self->opts, &self->sp, self->err,
			 sizeof(self->err));
	TH_LOG("open: %s", self->err);
	ASSERT_EQ(-EBADMSG, ret);
}

/*
 * A device puts well-formed frames claiming a later write in its payload,
 * at every alignment; that write is torn. Without the spool's secret salt
 * the fakes do not check, so the tail is cut as it should be. The control
 * forges with the real salt: then open refuses, as rule 3 says.
 */
static int crafted_then_torn(struct __test_metadata *_metadata,
			     const char *dir, struct spool_opts *opts,
			     uint8_t *pl, bool know_salt)
{
	static uint8_t fake[SPOOL_FRAME_MAX], payload[QKD_REC_PAYLOAD_MAX];
	uint8_t zero[16] = { 0 };
	struct qkd_record fr, r;
	struct spool_stats st;
	struct spool *sp;
	uint64_t seq, at;
	size_t fsz, off = 0;
	int ret;

	ASSERT_EQ(0, spool_open(dir, opts, &sp, NULL, 0));
	append_n(_metadata, sp, pl, 1, 20);
	ASSERT_EQ(0, spool_commit(sp));
	gen_rec(1000, 10, pl, &fr);
	fsz = frame_encode(fake, know_salt ? sp->salt : 0, 1000, 1000, &fr,
			   qkd_record_encoded_len(&fr));
	memset(payload, 0xee, sizeof(payload));
	for (int k = 0; k < 8; k++) {
		memcpy(payload + off, fake, fsz);
		off += fsz + 1;
	}
	gen_rec(21, 0, pl, &r);
	r.payload = payload;
	r.payload_len = (uint32_t)off;
	ASSERT_EQ(0, spool_append(sp, &r, &seq));
	append_n(_metadata, sp, pl, 22, 5);
	ASSERT_EQ(0, spool_commit(sp));
	at = seg_frame_start(sp->segs[0], 20);
	spool_close(sp);
	ASSERT_EQ(0, poke(dir, 1, (off_t)at, zero, sizeof(zero)));
	ret = spool_open(dir, opts, &sp, NULL, 0);
	if (!ret) {
		spool_get_stats(sp, &st);
		EXPECT_EQ(20u, st.durable_seq);
		expect_records(_metadata, sp, 1, 20);
		spool_close(sp);
	}
	return ret;
}

TEST_F(spool, crafted_payload_cannot_fake_a_later_write)
{
	char other[320];

	self->opts.segment_bytes = 0;
	snprintf(other, sizeof(other), "%s2", self->dir);
	ASSERT_EQ(-EBADMSG, crafted_then_torn(_metadata, other, &self->opts,
					      self->pl, true));
	ASSERT_EQ(0, crafted_then_torn(_metadata, self->dir, &self->opts,
				       self->pl, false));
}

/* Opening twice in a row changes nothing and sees the same state. */
TEST_F(spool, reopen_idempotent)
{
	struct spool_stats a, b;

	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 500);
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_EQ(0, spool_ack(self->sp, 123));
	append_n(_metadata, self->sp, self->pl, 501, 7);	/* dropped */
	OPEN_OK();
	spool_get_stats(self->sp, &a);
	for (int i = 0; i < 3; i++) {
		int n = count_segs(self->dir);

		OPEN_OK();
		spool_get_stats(self->sp, &b);
		ASSERT_EQ(0, memcmp(&a, &b, sizeof(a)));
		ASSERT_EQ(n, count_segs(self->dir));
	}
	ASSERT_EQ(123u, a.ack_seq);
	ASSERT_EQ(500u, a.durable_seq);
	ASSERT_EQ(377u, a.recovered_records);
	expect_records(_metadata, self->sp, 124, 500);
}

/* Missing segments, a corrupt ack file, a second opener: clear errors. */
TEST_F(spool, open_errors)
{
	struct spool *other = NULL;
	char path[1024], name[SEG_NAME_LEN], hidden[300];
	uint64_t second;
	int ret, fd;

	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 300);
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_LT(3u, self->sp->nsegs);
	second = self->sp->segs[1]->first_seq;
	ASSERT_EQ(-EWOULDBLOCK, spool_open(self->dir, &self->opts, &other,
					   self->err, sizeof(self->err)));
	TH_LOG("second open: %s", self->err);
	ASSERT_EQ(0, spool_ack(self->sp, 2));
	spool_close(self->sp);
	self->sp = NULL;

	/* A hole in the middle. */
	seg_name(name, second);
	snprintf(path, sizeof(path), "%s/%s", self->dir, name);
	snprintf(hidden, sizeof(hidden), "%s/hidden", self->tmp);
	ASSERT_EQ(0, rename(path, hidden));
	ret = spool_open(self->dir, &self->opts, &self->sp, self->err,
			 sizeof(self->err));
	TH_LOG("open: %s", self->err);
	ASSERT_EQ(-EBADMSG, ret);
	ASSERT_NE(NULL, strstr(self->err, "missing"));

	/* The first segment gone though not acked. */
	ASSERT_EQ(0, rename(hidden, path));
	seg_name(name, 1);
	snprintf(path, sizeof(path), "%s/%s", self->dir, name);
	ASSERT_EQ(0, unlink(path));
	ret = spool_open(self->dir, &self->opts, &self->sp, self->err,
			 sizeof(self->err));
	TH_LOG("open: %s", self->err);
	ASSERT_EQ(-EBADMSG, ret);

	/* Once acked, the loss of that segment is fine. */
	snprintf(path, sizeof(path), "%s/ack", self->dir);
	{
		uint8_t buf[ACK_FILE_LEN];
		uint64_t a, salt;

		fd = open(path, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ((ssize_t)sizeof(buf), pread(fd, buf, sizeof(buf), 0));
		ASSERT_EQ(0, ack_decode(buf, sizeof(buf), &a, &salt));
		ASSERT_EQ(2u, a);
		ack_encode(buf, second - 1, salt);
		ASSERT_EQ((ssize_t)sizeof(buf), pwrite(fd, buf, sizeof(buf), 0));
		close(fd);
		OPEN_OK();
		expect_records(_metadata, self->sp, second, 300);
		spool_close(self->sp);
		self->sp = NULL;
		/* A damaged ack file. */
		buf[9] ^= 1;
		fd = open(path, O_WRONLY);
		ASSERT_LE(0, fd);
		ASSERT_EQ((ssize_t)sizeof(buf), pwrite(fd, buf, sizeof(buf), 0));
		close(fd);
	}
	ret = spool_open(self->dir, &self->opts, &self->sp, self->err,
			 sizeof(self->err));
	TH_LOG("open: %s", self->err);
	ASSERT_EQ(-EBADMSG, ret);
	ASSERT_NE(NULL, strstr(self->err, "ack"));
	/* No ack file at all, but segments. */
	ASSERT_EQ(0, unlink(path));
	ret = spool_open(self->dir, &self->opts, &self->sp, self->err,
			 sizeof(self->err));
	TH_LOG("open: %s", self->err);
	ASSERT_EQ(-EBADMSG, ret);
	ASSERT_NE(NULL, strstr(self->err, "missing"));
}

/* A failed write (here EFBIG from RLIMIT_FSIZE, as ENOSPC would) accepts
 * nothing, keeps the records queued and is retried by the next commit. */
TEST_F(spool, write_error_retried)
{
	struct spool_stats st;
	struct rlimit rl, low;
	off_t size;

	self->opts.segment_bytes = 0;
	OPEN_OK();
	append_n(_metadata, self->sp, self->pl, 1, 10);
	ASSERT_EQ(0, spool_commit(self->sp));
	size = file_size(self->dir, 1);
	ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &rl));
	signal(SIGXFSZ, SIG_IGN);
	low = rl;
	low.rlim_cur = (rlim_t)size + 5000;
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &low));
	append_n(_metadata, self->sp, self->pl, 11, 30);
	ASSERT_EQ(-EFBIG, spool_commit(self->sp));
	ASSERT_EQ(10u, spool_durable_seq(self->sp));
	ASSERT_EQ(size, file_size(self->dir, 1));	/* partial write cut */
	append_n(_metadata, self->sp, self->pl, 41, 5);
	ASSERT_EQ(-EFBIG, spool_commit(self->sp));
	spool_get_stats(self->sp, &st);
	ASSERT_EQ(2u, st.write_errors);
	ASSERT_EQ(35u, st.queued_records);
	expect_records(_metadata, self->sp, 1, 10);
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &rl));
	ASSERT_EQ(0, spool_commit(self->sp));
	ASSERT_EQ(45u, spool_durable_seq(self->sp));
	OPEN_OK();
	expect_records(_metadata, self->sp, 1, 45);
}

/* The asynchronous steps: one io at a time, appends while it is in
 * flight, a failed write retried with the same bytes, a failed sync. */
TEST_F(spool, async_io_steps)
{
	enum spool_io_stage stage;
	struct spool_io io, io2;

	OPEN_OK();
	ASSERT_EQ(0, spool_io_prepare(self->sp, &io));
	append_n(_metadata, self->sp, self->pl, 1, 5);
	ASSERT_EQ(1, spool_io_prepare(self->sp, &io));
	ASSERT_LE(0, io.dir_fd);	/* new segment: fsync the dir */
	ASSERT_EQ(2, io.iovcnt);
	ASSERT_EQ(0, io.offset);
	ASSERT_EQ(-EBUSY, spool_io_prepare(self->sp, &io2));
	ASSERT_EQ(-EBUSY, spool_commit(self->sp));
	append_n(_metadata, self->sp, self->pl, 6, 3);
	ASSERT_EQ(0, spool_io_run(&io, &stage));
	ASSERT_EQ(0u, spool_durable_seq(self->sp));
	ASSERT_EQ(0, spool_io_complete(self->sp, 0, SPOOL_IO_WRITE));
	ASSERT_EQ(5u, spool_durable_seq(self->sp));

	ASSERT_EQ(1, spool_io_prepare(self->sp, &io));
	ASSERT_EQ(-1, io.dir_fd);
	ASSERT_EQ(1, io.iovcnt);
	ASSERT_EQ((off_t)seg_frame_start(self->sp->segs[0], 5), io.offset);
	ASSERT_EQ(-ENOSPC, spool_io_complete(self->sp, -ENOSPC,
					     SPOOL_IO_WRITE));
	append_n(_metadata, self->sp, self->pl, 9, 1);
	ASSERT_EQ(1, spool_io_prepare(self->sp, &io2));	/* the same again */
	ASSERT_EQ(io.offset, io2.offset);
	ASSERT_EQ(io.len, io2.len);
	ASSERT_EQ(0, spool_io_run(&io2, &stage));
	ASSERT_EQ(0, spool_io_complete(self->sp, 0, SPOOL_IO_WRITE));
	ASSERT_EQ(8u, spool_durable_seq(self->sp));
	ASSERT_EQ(1, spool_io_prepare(self->sp, &io));	/* then seq 9 */
	ASSERT_EQ(0, spool_io_run(&io, &stage));
	ASSERT_EQ(0, spool_io_complete(self->sp, 0, SPOOL_IO_WRITE));
	ASSERT_EQ(9u, spool_durable_seq(self->sp));
	ASSERT_EQ(0, spool_io_prepare(self->sp, &io));

	/* A failed fdatasync is final until reopen. */
	append_n(_metadata, self->sp, self->pl, 10, 1);
	ASSERT_EQ(1, spool_io_prepare(self->sp, &io));
	ASSERT_EQ(-EIO, spool_io_complete(self->sp, -EIO, SPOOL_IO_SYNC));
	ASSERT_EQ(-EIO, spool_commit(self->sp));
	ASSERT_EQ(-EIO, spool_ack(self->sp, 1));
	ASSERT_EQ(9u, spool_durable_seq(self->sp));
	OPEN_OK();
	expect_records(_metadata, self->sp, 1, 9);
}

TEST_HARNESS_MAIN
