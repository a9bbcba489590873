// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's key source (agent/lib/keysrc.h) against the real module.
 * Runs only in the test VM, as root, with qkdkey.ko and qkd_sim.ko pairs=1
 * loaded (the runner's job). Prints TAP.
 *
 * TX keys come from sim0a through the key source; every key is checked
 * against the bytes the RX helper reads by offset from sim0b's RX stream,
 * both sources sharing one io_uring and told apart by user_data tags.
 * Variants: fixed file and registered buffers on a SINGLE_ISSUER |
 * DEFER_TASKRUN ring (depth 8 and 32), and plain fd and buffers on a ring
 * without them (depth 16). After every test that waits for key: no io-wq
 * worker (iou-wrk-*) in the process, also at a key rate so low that a
 * plain io_uring read would have been handed to one (slow_key_no_worker).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/qkdkey.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "keymem.h"
#include "keysrc.h"

#define TAG_TX		0x4b	/* 'K' */
#define TAG_RX		0x52	/* 'R' */
#define MAX_LEN		(16384 + 16)
#define WAIT_MS		20000
#define NKEYS		240

/* Key lengths a gateway asks for: HELLO 32, DATA payload + 16, odd ones. */
static const uint32_t sizes[] = {
	32, 116, 17, 1416, 4112, 1, 530, 64, 16400, 8208, 48, 2064,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct rec {
	uint32_t len;		/* asked for */
	uint64_t epoch, offset;
	uint8_t *copy;		/* the TX key, kept for the RX comparison */
	int state;		/* 0 not issued, 1 TX pending, 2 RX queued/pending, 3 done */
};

FIXTURE(keysrc) {
	struct io_uring ring;
	struct qkd_ring_info info;
	int ring_ok;
	struct qkd_keysrc *tx, *rx;
	struct rec *recs;
	int nrecs, issued, done;
	int rxq[NKEYS], rxq_head, rxq_tail;
	uint64_t last_end, epoch;
	int keys_seen, new_epochs;
};

FIXTURE_VARIANT(keysrc) {
	unsigned int depth;
	int fixed;		/* fixed file and registered buffers */
	unsigned int ring_flags;
};

FIXTURE_VARIANT_ADD(keysrc, fixed_d8) {
	.depth = 8,
	.fixed = 1,
	.ring_flags = 0,
};

FIXTURE_VARIANT_ADD(keysrc, fixed_d32) {
	.depth = 32,
	.fixed = 1,
	.ring_flags = 0,
};

FIXTURE_VARIANT_ADD(keysrc, plain_d16) {
	.depth = 16,
	.fixed = 0,
	.ring_flags = QKD_RING_NO_SINGLE_ISSUER,
};

FIXTURE_SETUP(keysrc)
{
	struct qkd_ring_cfg cfg = {
		.entries = 64,
		.nr_files = variant->fixed ? 4 : 0,
		.nr_bufs = variant->fixed ? 2 * QKD_KEYSRC_DEPTH_MAX : 0,
		.flags = variant->ring_flags,
	};
	int r;

	ASSERT_EQ(0, qkd_reset());
	r = qkd_ring_init(&self->ring, &cfg, &self->info);
	if (r == -ENOSYS || r == -EPERM)
		SKIP(return, "io_uring not available: %s", strerror(-r));
	ASSERT_EQ(0, r);
	self->ring_ok = 1;
	self->recs = calloc(NKEYS, sizeof(*self->recs));
	ASSERT_NE(NULL, self->recs);
	ASSERT_EQ(0, qkd_count_iou_workers());
}

FIXTURE_TEARDOWN(keysrc)
{
	if (self->ring_ok) {
		/* cancels whatever a failed test left in flight */
		io_uring_queue_exit(&self->ring);
		qkd_keysrc_close(self->tx, QKD_KEYSRC_CLOSE_RING_GONE);
		qkd_keysrc_close(self->rx, QKD_KEYSRC_CLOSE_RING_GONE);
	}
	if (self->recs) {
		for (int i = 0; i < NKEYS; i++)
			if (self->recs[i].copy) {
				qkd_wipe(self->recs[i].copy, self->recs[i].len);
				free(self->recs[i].copy);
			}
		free(self->recs);
	}
	qkd_reset();
}

static int open_src(FIXTURE_DATA(keysrc) *self, const FIXTURE_VARIANT(keysrc) *variant,
		    struct qkd_keysrc **ks, const char *link, uint32_t dir)
{
	struct qkd_keysrc_cfg cfg = {
		.link = link,
		.dir = dir,
		.depth = variant->depth,
		.max_len = MAX_LEN,
		.tag = dir == QKD_KEYSRC_TX ? TAG_TX : TAG_RX,
		.file_slot = variant->fixed ? (int)dir : -1,
		.buf_base = variant->fixed ? (int)(dir * QKD_KEYSRC_DEPTH_MAX) : -1,
	};

	return qkd_keysrc_open(ks, &self->ring, &cfg);
}

/*
 * One event loop step: kicks both sources, submits, and waits up to ms for
 * one completion of tx or rx that means something to the caller (internal
 * steps: retried reads, polls, cancels, are absorbed). Returns 0 with *who (0 tx, 1 rx) and
 * *res (qkd_keysrc_complete's result) set, -ETIME, or another -errno.
 */
static int pump(FIXTURE_DATA(keysrc) *self, int ms, int *who, int *res,
		struct qkd_key *key)
{
	struct qkd_keysrc *src[2] = { self->tx, self->rx };
	struct io_uring_cqe *cqe;
	int r, i;

	for (;;) {
		struct __kernel_timespec ts = {
			.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L,
		};

		for (i = 0; i < 2; i++)
			if (src[i] && (r = qkd_keysrc_kick(src[i])))
				return r;
		r = io_uring_submit(&self->ring);
		if (r < 0)
			return r;
		r = io_uring_wait_cqe_timeout(&self->ring, &cqe, &ts);
		if (r)
			return r;
		for (i = 0; i < 2; i++)
			if (src[i] && qkd_keysrc_owns(src[i], cqe->user_data))
				break;
		if (i == 2) {
			io_uring_cqe_seen(&self->ring, cqe);
			return -EBADMSG;
		}
		r = qkd_keysrc_complete(src[i], cqe, key);
		io_uring_cqe_seen(&self->ring, cqe);
		if (r == 0)
			continue;
		*who = i;
		*res = r;
		return 0;
	}
}

/* Issues TX requests of the mixed sizes while buffers are free. */
static int fill_tx(FIXTURE_DATA(keysrc) *self)
{
	while (self->issued < self->nrecs && qkd_keysrc_free_slots(self->tx)) {
		struct rec *rc = &self->recs[self->issued];
		int r;

		rc->len = sizes[self->issued % NSIZES];
		r = qkd_keysrc_request(self->tx, rc->len, self->issued);
		if (r)
			return r;
		rc->state = 1;
		self->issued++;
	}
	return 0;
}

static int fill_rx(FIXTURE_DATA(keysrc) *self)
{
	while (self->rxq_head != self->rxq_tail && qkd_keysrc_free_slots(self->rx)) {
		int i = self->rxq[self->rxq_head];
		struct rec *rc = &self->recs[i];
		int r = qkd_keysrc_request_at(self->rx, rc->epoch, rc->offset,
					      rc->len, i);

		if (r)
			return r;
		self->rxq_head++;
	}
	return 0;
}

/* A TX key: check it, keep a copy for the RX side, release it. */
static void on_tx_key(struct __test_metadata *_metadata,
		      FIXTURE_DATA(keysrc) *self, struct qkd_key *k)
{
	struct rec *rc;
	uint8_t *bytes;
	uint32_t len;

	ASSERT_GT(self->nrecs, k->cookie);
	/* requests are served in the order they were made */
	ASSERT_EQ(self->keys_seen, k->cookie);
	rc = &self->recs[k->cookie];
	ASSERT_EQ(1, rc->state);
	ASSERT_EQ(rc->len, k->len);
	ASSERT_EQ(qkd_keysrc_link_id(self->tx), k->link_id);
	ASSERT_NE(QKD_KEY_NO_SLOT, k->slot);
	ASSERT_NE(NULL, k->bytes);
	if (!self->keys_seen || k->epoch != self->epoch) {
		ASSERT_TRUE(k->flags & QKD_KEY_NEW_EPOCH);
		self->new_epochs++;
		self->epoch = k->epoch;
	} else {
		ASSERT_FALSE(k->flags & QKD_KEY_NEW_EPOCH);
		/* keys of one epoch come in stream order, never overlapping */
		ASSERT_LE(self->last_end, k->offset);
	}
	self->last_end = k->offset + k->len;
	self->keys_seen++;

	rc->epoch = k->epoch;
	rc->offset = k->offset;
	rc->copy = malloc(k->len);
	ASSERT_NE(NULL, rc->copy);
	memcpy(rc->copy, k->bytes, k->len);
	bytes = k->bytes;
	len = k->len;
	qkd_keysrc_release(self->tx, k);
	ASSERT_TRUE(qkd_is_zero(bytes, len)) TH_LOG("key bytes not wiped at release");
	ASSERT_EQ(NULL, k->bytes);

	rc->state = 2;
	self->rxq[self->rxq_tail++] = (int)(rc - self->recs);
}

static void on_rx_key(struct __test_metadata *_metadata,
		      FIXTURE_DATA(keysrc) *self, struct qkd_key *k)
{
	struct rec *rc;

	ASSERT_GT(self->nrecs, k->cookie);
	rc = &self->recs[k->cookie];
	ASSERT_EQ(2, rc->state);
	ASSERT_EQ(rc->len, k->len);
	ASSERT_EQ(rc->offset, k->offset);
	ASSERT_EQ(rc->epoch, k->epoch);
	ASSERT_EQ(0, memcmp(rc->copy, k->bytes, k->len))
		TH_LOG("key %d: TX and RX bytes differ", (int)k->cookie);
	qkd_keysrc_release(self->rx, k);
	qkd_wipe(rc->copy, rc->len);
	free(rc->copy);
	rc->copy = NULL;
	rc->state = 3;
	self->done++;
}

/* Runs the exchange until every one of nrecs TX keys was matched by RX. */
static void run_exchange(struct __test_metadata *_metadata,
			 FIXTURE_DATA(keysrc) *self, int ms)
{
	struct qkd_key k;
	int who, res, target = self->nrecs;

	ASSERT_NE(NULL, self->rx);
	while (self->done < target) {
		ASSERT_EQ(0, fill_tx(self));
		if (self->rx)
			ASSERT_EQ(0, fill_rx(self));
		ASSERT_EQ(0, pump(self, ms, &who, &res, &k))
			TH_LOG("%d of %d keys done, %d issued", self->done, target,
			       self->issued);
		ASSERT_EQ(1, res) TH_LOG("%s read %d failed: %s", who ? "RX" : "TX",
					 (int)k.cookie, strerror(-res));
		if (who == 0)
			on_tx_key(_metadata, self, &k);
		else
			on_rx_key(_metadata, self, &k);
	}
}

static void check_all_wiped(struct __test_metadata *_metadata, struct qkd_keysrc *ks)
{
	const void *base;
	size_t size;

	qkd_keysrc_mem(ks, &base, &size);
	ASSERT_NE(NULL, base);
	ASSERT_TRUE(qkd_is_zero(base, size)) TH_LOG("key memory not zero with no key held");
}

/* The ring got what the kernel offers; 6.1 has all of it. */
TEST_F(keysrc, ring_setup)
{
	char line[160];

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_ring_describe(&self->info, line, sizeof(line)));
	TH_LOG("ring: %s", line);
	ASSERT_TRUE(self->info.op_read);
	ASSERT_TRUE(self->info.op_read_fixed);
	ASSERT_TRUE(self->info.op_async_cancel);
	if (variant->ring_flags & QKD_RING_NO_SINGLE_ISSUER) {
		ASSERT_FALSE(self->info.single_issuer);
		ASSERT_FALSE(self->info.defer_taskrun);
	} else {
		ASSERT_TRUE(self->info.single_issuer);
		ASSERT_TRUE(self->info.defer_taskrun);
	}
	ASSERT_EQ(variant->fixed ? 4 : 0, self->info.nr_files);

	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	ASSERT_EQ(variant->fixed, qkd_keysrc_fixed_file(self->tx));
	ASSERT_EQ(variant->fixed, qkd_keysrc_fixed_bufs(self->tx));
	ASSERT_EQ(qkd_link_u64("sim0a", "id"), qkd_keysrc_link_id(self->tx));
	ASSERT_EQ(variant->depth, qkd_keysrc_free_slots(self->tx));
	ASSERT_EQ(0, qkd_keysrc_inflight(self->tx));
	ASSERT_EQ(-EINVAL, qkd_keysrc_request(self->tx, 0, 0));
	ASSERT_EQ(-EINVAL, qkd_keysrc_request(self->tx, MAX_LEN + 1, 0));
	ASSERT_EQ(-EINVAL, qkd_keysrc_request_at(self->tx, 0, 0, 16, 0));
	ASSERT_EQ(0, qkd_keysrc_close(self->tx, 0));
	self->tx = NULL;

	/* a link that does not exist */
	ASSERT_EQ(-ENODEV, open_src(self, variant, &self->tx, "nosuch", QKD_KEYSRC_TX));
	ASSERT_EQ(NULL, self->tx);
}

/* Mixed sizes, depth reads in flight; each TX key equals the RX bytes. */
TEST_F(keysrc, mixed_reads_match_rx)
{
	struct qkd_keysrc_stats st;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_sim_set("rate", 16 << 20));
	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	ASSERT_EQ(0, open_src(self, variant, &self->rx, "sim0b", QKD_KEYSRC_RX));
	ASSERT_EQ(qkd_keysrc_epoch(self->tx), qkd_keysrc_epoch(self->rx));
	self->nrecs = NKEYS;

	/* the first batch: depth requests, one chain of reads, one submit */
	ASSERT_EQ(0, fill_tx(self));
	ASSERT_EQ((int)variant->depth, self->issued);
	ASSERT_EQ(variant->depth, qkd_keysrc_pending(self->tx));
	ASSERT_EQ(0, qkd_keysrc_inflight(self->tx));
	ASSERT_EQ(0, qkd_keysrc_kick(self->tx));
	ASSERT_EQ(variant->depth, qkd_keysrc_inflight(self->tx));
	ASSERT_EQ(0, qkd_keysrc_free_slots(self->tx));
	ASSERT_EQ(-EBUSY, qkd_keysrc_request(self->tx, 16, 0));

	run_exchange(_metadata, self, WAIT_MS);
	ASSERT_EQ(1, self->new_epochs);
	ASSERT_EQ(0, qkd_keysrc_inflight(self->tx));
	ASSERT_EQ(0, qkd_keysrc_inflight(self->rx));
	ASSERT_EQ(0, qkd_keysrc_pending(self->tx));
	qkd_keysrc_get_stats(self->tx, &st);
	ASSERT_EQ(NKEYS, st.keys);
	ASSERT_EQ(0, st.failed + st.rejected + st.cancelled);
	ASSERT_EQ(1, st.epochs);
	check_all_wiped(_metadata, self->tx);
	check_all_wiped(_metadata, self->rx);
	ASSERT_EQ(0, qkd_count_iou_workers());
	ASSERT_EQ(0, qkd_keysrc_close(self->rx, 0));
	self->rx = NULL;
	ASSERT_EQ(0, qkd_keysrc_close(self->tx, 0));
	self->tx = NULL;
}

/* Reads issued while the sim is paused wait, and complete once it runs. */
TEST_F(keysrc, paused_reads_wait)
{
	struct qkd_key k;
	int who, res;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	ASSERT_EQ(0, open_src(self, variant, &self->rx, "sim0b", QKD_KEYSRC_RX));
	self->nrecs = 4 * variant->depth;

	ASSERT_EQ(0, fill_tx(self));
	ASSERT_EQ(-ETIME, pump(self, 500, &who, &res, &k))
		TH_LOG("a read completed with the sim paused: %d", res);
	ASSERT_EQ(variant->depth, qkd_keysrc_pending(self->tx));
	ASSERT_TRUE(qkd_keysrc_waiting(self->tx));
	ASSERT_EQ(1, qkd_keysrc_inflight(self->tx));	/* the poll */
	ASSERT_EQ(0, qkd_count_iou_workers());

	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	run_exchange(_metadata, self, WAIT_MS);
	ASSERT_EQ(1, self->new_epochs);
	check_all_wiped(_metadata, self->tx);
	ASSERT_EQ(0, qkd_count_iou_workers());
}

/* ALARM stalls reads, even with key in the pool; clearing it resumes them. */
TEST_F(keysrc, alarm_stalls_reads)
{
	struct qkdkey_link_info info;
	struct qkd_key k;
	int who, res;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	ASSERT_EQ(0, open_src(self, variant, &self->rx, "sim0b", QKD_KEYSRC_RX));
	ASSERT_EQ(0, qkd_wait_ge("sim0a", "tx_avail", 65536, WAIT_MS));
	ASSERT_EQ(0, qkd_sim_set("eve", 400000));	/* QBER 2 % + 10 % */
	ASSERT_EQ(0, qkd_wait_str("sim0a", "state", "alarm", WAIT_MS));
	ASSERT_EQ(0, qkd_wait_str("sim0b", "state", "alarm", WAIT_MS));
	ASSERT_EQ(0, qkd_keysrc_link_info(self->tx, &info));
	ASSERT_EQ(QKDKEY_LINK_ALARM, info.state);
	ASSERT_LT(0, info.tx_avail);

	self->nrecs = 3 * variant->depth;
	ASSERT_EQ(0, fill_tx(self));
	ASSERT_EQ(-ETIME, pump(self, 500, &who, &res, &k))
		TH_LOG("a read completed in ALARM: %d", res);
	ASSERT_EQ(variant->depth, qkd_keysrc_pending(self->tx));
	ASSERT_TRUE(qkd_keysrc_waiting(self->tx));
	ASSERT_EQ(0, qkd_count_iou_workers());

	ASSERT_EQ(0, qkd_sim_set("eve", 0));
	ASSERT_EQ(0, qkd_link_up("sim0a", WAIT_MS));
	ASSERT_EQ(0, qkd_link_up("sim0b", WAIT_MS));
	run_exchange(_metadata, self, WAIT_MS);
	check_all_wiped(_metadata, self->tx);
	check_all_wiped(_metadata, self->rx);
	ASSERT_EQ(0, qkd_count_iou_workers());
}

static long status_kb(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The VmFlags line of the mapping that contains addr, from /proc/self/smaps. */
static int vma_flags(const void *addr, char *out, size_t len)
{
	char line[512];
	int in = 0, found = -ENOENT;
	uintptr_t a = (uintptr_t)addr;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			size_t n = strcspn(line + 8, "\n");

			if (n >= len)
				n = len - 1;
			memcpy(out, line + 8, n);
			out[n] = '\0';
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Buffers are locked, undumpable, resident; bytes are zero after release. */
TEST_F(keysrc, key_memory_locked_and_wiped)
{
	const void *base;
	size_t size, page = qkd_page_size();
	unsigned char *vec;
	char flags[256];
	struct qkd_key k;
	uint8_t *bytes;
	uint32_t len;
	int who, res;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	qkd_keysrc_mem(self->tx, &base, &size);
	ASSERT_NE(NULL, base);
	ASSERT_EQ(0, (uintptr_t)base % page);
	ASSERT_LE((size_t)variant->depth * (QKD_KEYSRC_TX_HDR_LEN + MAX_LEN), size);
	ASSERT_LE((long)(size / 1024), status_kb("VmLck"));
	ASSERT_EQ(0, vma_flags(base, flags, sizeof(flags)));
	TH_LOG("key memory VmFlags:%s", flags);
	ASSERT_NE(NULL, strstr(flags, " lo"));	/* VM_LOCKED */
	ASSERT_NE(NULL, strstr(flags, " dd"));	/* VM_DONTDUMP */
	ASSERT_NE(NULL, strstr(flags, " wf"));	/* VM_WIPEONFORK */
	vec = calloc(size / page, 1);
	ASSERT_NE(NULL, vec);
	ASSERT_EQ(0, mincore((void *)base, size, vec));
	for (size_t i = 0; i < size / page; i++) {
		ASSERT_TRUE(vec[i] & 1) TH_LOG("page %zu not resident", i);
	}
	free(vec);
	check_all_wiped(_metadata, self->tx);

	ASSERT_EQ(0, qkd_keysrc_request(self->tx, 116, 7));
	ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &k));
	ASSERT_EQ(1, res);
	ASSERT_EQ(7, k.cookie);
	ASSERT_EQ(116, k.len);
	ASSERT_TRUE((uint8_t *)base <= k.bytes &&
		    k.bytes + k.len <= (uint8_t *)base + size);
	ASSERT_FALSE(qkd_is_zero(k.bytes, k.len));
	ASSERT_FALSE(qkd_is_zero(base, size));
	bytes = k.bytes;
	len = k.len;
	qkd_keysrc_release(self->tx, &k);
	ASSERT_TRUE(qkd_is_zero(bytes, len));
	check_all_wiped(_metadata, self->tx);
	ASSERT_EQ(0, qkd_keysrc_close(self->tx, 0));
	self->tx = NULL;
	ASSERT_EQ(0, status_kb("VmLck"));
}

/* Prefetch style: standard-size reads, frames carved off the front. */
TEST_F(keysrc, refill_and_carve)
{
	static const uint32_t frames[] = { 32, 116, 17, 1416 };
	struct qkd_key keys[QKD_KEYSRC_DEPTH_MAX], part, rk;
	uint64_t expect;
	int who, res, n;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	ASSERT_EQ(0, open_src(self, variant, &self->rx, "sim0b", QKD_KEYSRC_RX));
	n = qkd_keysrc_refill(self->tx, 4096, 1);
	ASSERT_EQ((int)variant->depth, n);
	ASSERT_EQ(0, qkd_keysrc_refill(self->tx, 4096, 1));

	/* all prefetched keys arrive and are held at once */
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &keys[i]));
		ASSERT_EQ(0, who);
		ASSERT_EQ(1, res);
		ASSERT_EQ(4096, keys[i].len);
	}
	ASSERT_EQ(0, qkd_keysrc_free_slots(self->tx));

	for (int i = 0; i < n; i++) {
		expect = keys[i].offset;
		for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
			ASSERT_EQ(0, qkd_key_carve(&keys[i], frames[f], &part));
			ASSERT_EQ(expect, part.offset);
			ASSERT_EQ(frames[f], part.len);
			ASSERT_EQ(QKD_KEY_NO_SLOT, part.slot);
			expect += frames[f];
			ASSERT_EQ(expect, keys[i].offset);
			/* the frame's key is what the peer reads at that offset */
			ASSERT_EQ(0, qkd_keysrc_request_at(self->rx, part.epoch,
							   part.offset, part.len, f));
			ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &rk));
			ASSERT_EQ(1, who);
			ASSERT_EQ(1, res);
			ASSERT_EQ(0, memcmp(part.bytes, rk.bytes, part.len));
			qkd_keysrc_release(self->rx, &rk);
			qkd_keysrc_release(self->tx, &part);
			ASSERT_EQ(NULL, part.bytes);
		}
		ASSERT_EQ(-EINVAL, qkd_key_carve(&keys[i], keys[i].len + 1, &part));
		/* the unused tail is wiped with the buffer, and lost */
		qkd_keysrc_release(self->tx, &keys[i]);
		ASSERT_EQ(i + 1, (int)qkd_keysrc_free_slots(self->tx));
	}
	check_all_wiped(_metadata, self->tx);
	check_all_wiped(_metadata, self->rx);
	ASSERT_EQ(0, qkd_count_iou_workers());
}

/*
 * At a low key rate a request sees hundreds of deliveries before it can be
 * served: more than the 128 wake-ups after which 6.1 hands a waiting
 * io_uring read to an io-wq worker. The source's reads never wait in the
 * kernel, so no worker appears. A large request is served before the small
 * ones asked for after it.
 */
TEST_F(keysrc, slow_key_no_worker)
{
	static const uint32_t want[] = { 1000, 16, 32 };
	struct qkd_keysrc_stats st;
	struct qkd_key k;
	int who, res;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	ASSERT_EQ(0, open_src(self, variant, &self->rx, "sim0b", QKD_KEYSRC_RX));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, qkd_keysrc_request(self->tx, want[i], i));
	ASSERT_EQ(-ETIME, pump(self, 200, &who, &res, &k));
	ASSERT_EQ(0, qkd_sim_set("rate", 300));		/* about 3 bytes a tick */
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, pump(self, 60000, &who, &res, &k));
		ASSERT_EQ(0, who);
		ASSERT_EQ(1, res);
		ASSERT_EQ(i, k.cookie);
		ASSERT_EQ(want[i], k.len);
		self->recs[i].len = k.len;
		self->recs[i].state = 1;
		self->nrecs = self->issued = i + 1;
		on_tx_key(_metadata, self, &k);
		ASSERT_EQ(0, qkd_count_iou_workers());
	}
	qkd_keysrc_get_stats(self->tx, &st);
	TH_LOG("%llu polls, %llu reads short of key",
	       (unsigned long long)st.polls, (unsigned long long)st.retries);
	/*
	 * The kernel wakes a poller only when its read would complete, so a
	 * slow rate costs one poll per request, not one per delivery.
	 */
	ASSERT_LE(1, st.polls);
	ASSERT_GT(16, st.polls);
	ASSERT_EQ(0, qkd_sim_set("rate", SIM_RATE_DEFAULT));
	run_exchange(_metadata, self, WAIT_MS);		/* RX has the same bytes */
	ASSERT_EQ(0, qkd_count_iou_workers());
}

/* Shutdown: outstanding reads are cancelled, nothing stays in flight. */
TEST_F(keysrc, cancel_outstanding)
{
	struct qkd_keysrc_stats st;
	struct qkd_key k;
	int who, res, n, cancelled = 0;
	long long taken;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, qkd_pause_and_empty());
	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	taken = qkd_link_u64("sim0a", "tx_taken");
	ASSERT_LE(0, taken);
	self->nrecs = variant->depth;
	ASSERT_EQ(0, fill_tx(self));
	ASSERT_EQ(-ETIME, pump(self, 300, &who, &res, &k));
	ASSERT_EQ(variant->depth, qkd_keysrc_pending(self->tx));
	ASSERT_EQ(1, qkd_keysrc_inflight(self->tx));	/* the poll */
	ASSERT_EQ(-EBUSY, qkd_keysrc_close(self->tx, 0));

	/* the poll is cancelled, each queued request gets a NOP */
	n = qkd_keysrc_cancel(self->tx);
	ASSERT_EQ((int)variant->depth + 1, n);
	ASSERT_EQ(variant->depth + 2, qkd_keysrc_inflight(self->tx));
	ASSERT_EQ(-ESHUTDOWN, qkd_keysrc_request(self->tx, 16, 0));
	ASSERT_EQ(0, qkd_keysrc_cancel(self->tx));	/* nothing more to cancel */
	/* every CQE of the source, internal ones too, until none is due */
	while (qkd_keysrc_inflight(self->tx)) {
		struct __kernel_timespec ts = { .tv_sec = WAIT_MS / 1000 };
		struct io_uring_cqe *cqe;

		ASSERT_LE(0, io_uring_submit(&self->ring));
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&self->ring, &cqe, &ts))
			TH_LOG("%u still in flight", qkd_keysrc_inflight(self->tx));
		ASSERT_TRUE(qkd_keysrc_owns(self->tx, cqe->user_data));
		res = qkd_keysrc_complete(self->tx, cqe, &k);
		io_uring_cqe_seen(&self->ring, cqe);
		ASSERT_LE(res, 0);
		if (res == 0)
			continue;
		ASSERT_EQ(-ECANCELED, res);
		ASSERT_EQ(NULL, k.bytes);
		ASSERT_GT(variant->depth, k.cookie);
		cancelled++;
	}
	ASSERT_EQ((int)variant->depth, cancelled);
	ASSERT_EQ(0, qkd_keysrc_pending(self->tx));
	qkd_keysrc_get_stats(self->tx, &st);
	ASSERT_EQ(variant->depth, st.cancelled);
	ASSERT_EQ(0, st.keys);
	check_all_wiped(_metadata, self->tx);
	ASSERT_EQ(0, qkd_count_iou_workers());
	ASSERT_EQ(0, qkd_keysrc_close(self->tx, 0));
	self->tx = NULL;
	/* the cancelled reads took no key */
	ASSERT_EQ(taken, qkd_link_u64("sim0a", "tx_taken"));
}

/* RX errors reach the caller with the request's cookie; rebind after ESTALE. */
TEST_F(keysrc, rx_errors_surface)
{
	struct qkd_key k, rk;
	uint64_t epoch, off;
	long long new_epoch;
	int who, res;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, open_src(self, variant, &self->tx, "sim0a", QKD_KEYSRC_TX));
	ASSERT_EQ(0, open_src(self, variant, &self->rx, "sim0b", QKD_KEYSRC_RX));
	ASSERT_EQ(0, qkd_keysrc_request(self->tx, 64, 1));
	ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &k));
	ASSERT_EQ(1, res);
	epoch = k.epoch;
	off = k.offset;

	ASSERT_EQ(0, qkd_keysrc_request_at(self->rx, epoch, off, 64, 2));
	ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &rk));
	ASSERT_EQ(1, who);
	ASSERT_EQ(1, res);
	ASSERT_EQ(0, memcmp(k.bytes, rk.bytes, 64));
	qkd_keysrc_release(self->rx, &rk);
	qkd_keysrc_release(self->tx, &k);

	/* taken already: ENOKEY, and the buffer is back */
	ASSERT_EQ(0, qkd_keysrc_request_at(self->rx, epoch, off, 64, 3));
	ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &rk));
	ASSERT_EQ(1, who);
	ASSERT_EQ(-ENOKEY, res);
	ASSERT_EQ(3, rk.cookie);
	ASSERT_EQ(NULL, rk.bytes);
	ASSERT_EQ(variant->depth, qkd_keysrc_free_slots(self->rx));
	ASSERT_EQ(-ESTALE, qkd_keysrc_request_at(self->rx, epoch + 1, off, 64, 4));

	/* a new epoch: the old file is stale until rebound */
	ASSERT_EQ(0, qkd_sim_set("rekey", 1));
	ASSERT_EQ(0, qkd_wait_ne("sim0b", "epoch", (long long)epoch, WAIT_MS));
	ASSERT_EQ(0, qkd_keysrc_request_at(self->rx, epoch, 0, 64, 5));
	ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &rk));
	ASSERT_EQ(-ESTALE, res);
	ASSERT_EQ(5, rk.cookie);
	/* queued for the old epoch, not sent before the rebind: never read */
	ASSERT_EQ(0, qkd_keysrc_request_at(self->rx, epoch, 64, 64, 8));
	ASSERT_EQ(0, qkd_keysrc_rebind(self->rx));
	new_epoch = qkd_link_u64("sim0b", "epoch");
	ASSERT_EQ((uint64_t)new_epoch, qkd_keysrc_epoch(self->rx));
	ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &rk));
	ASSERT_EQ(-ESTALE, res);
	ASSERT_EQ(8, rk.cookie);
	ASSERT_EQ(0, qkd_keysrc_pending(self->rx));

	/* TX goes on in the new epoch, flagged; RX finds the same bytes */
	ASSERT_EQ(0, qkd_keysrc_request(self->tx, 100, 6));
	ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &k));
	ASSERT_EQ(1, res);
	ASSERT_EQ((uint64_t)new_epoch, k.epoch);
	ASSERT_TRUE(k.flags & QKD_KEY_NEW_EPOCH);
	ASSERT_EQ(0, qkd_keysrc_request_at(self->rx, k.epoch, k.offset, k.len, 7));
	ASSERT_EQ(0, qkd_keysrc_kick(self->rx));
	ASSERT_EQ(-EBUSY, qkd_keysrc_rebind(self->rx));	/* a read is in flight */
	ASSERT_EQ(0, pump(self, WAIT_MS, &who, &res, &rk));
	ASSERT_EQ(1, res);
	ASSERT_EQ(7, rk.cookie);
	ASSERT_EQ(0, memcmp(k.bytes, rk.bytes, k.len));
	qkd_keysrc_release(self->rx, &rk);
	qkd_keysrc_release(self->tx, &k);
	check_all_wiped(_metadata, self->tx);
	check_all_wiped(_metadata, self->rx);
}

TEST_HARNESS_MAIN
