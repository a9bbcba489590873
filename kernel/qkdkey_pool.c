// SPDX-License-Identifier: GPL-2.0
/*
 * qkdkey key pools: the bytes of one stream, held in blocks until a reader
 * takes them or they expire.
 *
 * The invariants live here. A byte is handed out only if its present bit
 * is set, and the bit is cleared under the link lock in the same step that
 * reserves it, so no byte is ever handed out twice. Whoever clears a bit
 * (a reader after copying, or expiry) zeroes that byte, so a block is all
 * zero by the time its last reference goes. Memory is bounded by each
 * stream's block limit and by the global limit.
 */
#include <linux/bitmap.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "qkdkey_internal.h"

static unsigned long global_limit = 64UL << 20;
module_param(global_limit, ulong, 0444);
MODULE_PARM_DESC(global_limit, "Bytes of key memory across all pools (default 64 MiB)");

static struct kmem_cache *qkd_block_cache;
static atomic_long_t qkd_blocks_used = ATOMIC_LONG_INIT(0);
static long qkd_blocks_max;

int qkd_pool_init(void)
{
	/* Only the data may ever be copied to userspace. */
	qkd_block_cache = kmem_cache_create_usercopy("qkdkey_block",
						     sizeof(struct qkd_block), 0, 0,
						     offsetof(struct qkd_block, data),
						     QKD_BLOCK_BYTES, NULL);
	if (!qkd_block_cache)
		return -ENOMEM;
	qkd_blocks_max = max_t(long, global_limit / sizeof(struct qkd_block), 1);
	return 0;
}

void qkd_pool_exit(void)
{
	kmem_cache_destroy(qkd_block_cache);
}

u32 qkd_pool_blocks_for(u32 bytes)
{
	/* One extra block for a partly consumed head or partly filled tail. */
	return DIV_ROUND_UP(bytes, QKD_BLOCK_BYTES) + 1;
}

static struct qkd_block *qkd_block_alloc(void)
{
	struct qkd_block *b;

	if (atomic_long_inc_return(&qkd_blocks_used) > qkd_blocks_max) {
		atomic_long_dec(&qkd_blocks_used);
		return ERR_PTR(-ENOSPC);
	}
	/* data[] needs no clearing: only bytes marked present are read. */
	b = kmem_cache_alloc(qkd_block_cache, GFP_KERNEL);
	if (!b) {
		atomic_long_dec(&qkd_blocks_used);
		return ERR_PTR(-ENOMEM);
	}
	refcount_set(&b->ref, 1);
	b->live = 0;
	b->index = 0;
	bitmap_zero(b->present, QKD_BLOCK_BYTES);
	return b;
}

static void qkd_block_put(struct qkd_block *b)
{
	if (refcount_dec_and_test(&b->ref)) {
		/* Every byte ever delivered into it has been zeroed already. */
		kmem_cache_free(qkd_block_cache, b);
		atomic_long_dec(&qkd_blocks_used);
	}
}

int qkd_prealloc_get(struct qkd_prealloc *p, u32 nr)
{
	struct qkd_block *b;

	if (WARN_ON_ONCE(nr > QKD_FILL_BLOCKS))
		return -EINVAL;
	while (p->nr < nr) {
		b = qkd_block_alloc();
		if (IS_ERR(b))
			return PTR_ERR(b);
		p->block[p->nr++] = b;
	}
	return 0;
}

void qkd_prealloc_put(struct qkd_prealloc *p)
{
	while (p->nr)
		qkd_block_put(p->block[--p->nr]);
}

static u32 qkd_ring_slots(u32 max_blocks)
{
	return roundup_pow_of_two(max_blocks + 1);
}

struct qkd_block **qkd_ring_alloc(u32 max_blocks)
{
	return kvcalloc(qkd_ring_slots(max_blocks), sizeof(struct qkd_block *),
			GFP_KERNEL);
}

int qkd_stream_alloc(struct qkd_stream *s, u32 max_blocks)
{
	memset(s, 0, sizeof(*s));
	s->ring = qkd_ring_alloc(max_blocks);
	if (!s->ring)
		return -ENOMEM;
	s->ring_mask = qkd_ring_slots(max_blocks) - 1;
	s->max_blocks = max_blocks;
	return 0;
}

void qkd_stream_free(struct qkd_stream *s)
{
	if (!s->ring)
		return;
	qkd_blocks_expire(qkd_stream_detach_all(s));
	kvfree(s->ring);
	s->ring = NULL;
}

static struct qkd_block *qkd_slot(struct qkd_stream *s, u64 index)
{
	struct qkd_block *b = s->ring[index & s->ring_mask];

	return b && b->index == index ? b : NULL;
}

static void qkd_slot_clear(struct qkd_stream *s, struct qkd_block *b)
{
	s->ring[b->index & s->ring_mask] = NULL;
	s->nblocks--;
	qkd_block_put(b);
}

/* Wipes the present bytes of @b in [lo, hi); returns how many there were. */
static u32 qkd_block_expire(struct qkd_block *b, u32 lo, u32 hi)
{
	u32 n = 0, end;

	for (;;) {
		lo = find_next_bit(b->present, hi, lo);
		if (lo >= hi)
			break;
		end = find_next_zero_bit(b->present, hi, lo);
		memzero_explicit(b->data + lo, end - lo);
		bitmap_clear(b->present, lo, end - lo);
		n += end - lo;
		lo = end;
	}
	b->live -= n;
	return n;
}

/* Wipes every present byte below @offset; the stream's head moves there. */
static void qkd_stream_expire_below(struct qkd_stream *s, u64 offset)
{
	u64 first = s->head / QKD_BLOCK_BYTES;
	u64 idx, base;
	struct qkd_block *b;
	u32 n;

	if (offset <= s->head)
		return;
	/* Blocks only exist within ring_mask + 1 indices of the head. */
	for (idx = first; idx <= first + s->ring_mask; idx++) {
		base = idx * QKD_BLOCK_BYTES;
		if (base >= offset)
			break;
		b = qkd_slot(s, idx);
		if (!b)
			continue;
		n = qkd_block_expire(b, 0, min_t(u64, offset - base, QKD_BLOCK_BYTES));
		s->avail -= n;
		s->expired += n;
		if (!b->live)
			qkd_slot_clear(s, b);
	}
	s->head = offset;
}

/*
 * Takes every block off the ring and resets the stream for a new epoch,
 * counting the present bytes as expired. The caller wipes the blocks with
 * qkd_blocks_expire() after dropping the link lock, so that a large pool
 * is not zeroed with the lock held.
 */
struct qkd_block *qkd_stream_detach_all(struct qkd_stream *s)
{
	struct qkd_block *list = NULL, *b;
	u32 i;

	for (i = 0; i <= s->ring_mask && s->nblocks; i++) {
		b = s->ring[i];
		if (!b)
			continue;
		s->ring[i] = NULL;
		s->nblocks--;
		b->next = list;
		list = b;
	}
	s->expired += s->avail;
	s->avail = 0;
	s->head = 0;
	s->end = 0;
	return list;
}

/*
 * Wipes detached blocks and drops the ring's references. Safe without the
 * link lock: off the ring, nobody else can reach their present bytes, and
 * readers still copying out touch only the bytes they reserved.
 */
void qkd_blocks_expire(struct qkd_block *list)
{
	struct qkd_block *b;

	while (list) {
		b = list;
		list = b->next;
		qkd_block_expire(b, 0, QKD_BLOCK_BYTES);
		qkd_block_put(b);
		cond_resched();
	}
}

static void qkd_stream_seek_head(struct qkd_stream *s);

/* Expires the oldest present block; false if there is none. */
static bool qkd_stream_expire_oldest(struct qkd_stream *s)
{
	if (!s->nblocks)
		return false;
	qkd_stream_seek_head(s);
	qkd_stream_expire_below(s, (s->head / QKD_BLOCK_BYTES + 1) * QKD_BLOCK_BYTES);
	return true;
}

/*
 * Moves the stream to @ring, sized for @max_blocks, keeping the newest
 * key that fits and expiring the rest. Returns the old ring to free.
 */
struct qkd_block **qkd_stream_resize(struct qkd_stream *s, struct qkd_block **ring,
				     u32 max_blocks)
{
	u32 mask = qkd_ring_slots(max_blocks) - 1;
	struct qkd_block **old = s->ring, *b;
	u32 i;

	while (s->nblocks > max_blocks && qkd_stream_expire_oldest(s))
		;
	while (s->nblocks &&
	       (s->end - 1) / QKD_BLOCK_BYTES - s->head / QKD_BLOCK_BYTES > mask &&
	       qkd_stream_expire_oldest(s))
		;
	for (i = 0; i <= s->ring_mask; i++) {
		b = old[i];
		if (b)
			ring[b->index & mask] = b;
	}
	s->ring = ring;
	s->ring_mask = mask;
	s->max_blocks = max_blocks;
	return old;
}

/* Returns the first missing offset in [from, to), or @to. */
static u64 qkd_stream_run_end(struct qkd_stream *s, u64 from, u64 to)
{
	u64 pos = from, idx, base;
	struct qkd_block *b;
	u32 lo, hi, zero;

	while (pos < to) {
		idx = pos / QKD_BLOCK_BYTES;
		base = idx * QKD_BLOCK_BYTES;
		b = qkd_slot(s, idx);
		if (!b)
			return pos;
		lo = pos - base;
		hi = min_t(u64, to - base, QKD_BLOCK_BYTES);
		zero = find_next_zero_bit(b->present, hi, lo);
		if (zero < hi)
			return base + zero;
		pos = base + hi;
	}
	return to;
}

/* Moves head to the first present byte. */
static void qkd_stream_seek_head(struct qkd_stream *s)
{
	struct qkd_block *b;
	u64 idx;
	u32 bit;

	if (!s->avail) {
		s->head = s->end;
		return;
	}
	while (s->head < s->end) {
		idx = s->head / QKD_BLOCK_BYTES;
		b = qkd_slot(s, idx);
		if (b) {
			bit = find_next_bit(b->present, QKD_BLOCK_BYTES,
					    s->head % QKD_BLOCK_BYTES);
			if (bit < QKD_BLOCK_BYTES) {
				s->head = idx * QKD_BLOCK_BYTES + bit;
				return;
			}
		}
		s->head = (idx + 1) * QKD_BLOCK_BYTES;
	}
}

/* Reserves [offset, offset + len), which the caller found all present. */
static void qkd_stream_take(struct qkd_stream *s, u64 offset, u32 len,
			    struct qkd_take *t)
{
	u64 pos = offset, to = offset + len, idx, base;
	struct qkd_block *b;
	u32 lo, hi;

	t->offset = offset;
	t->len = len;
	t->nr = 0;
	while (pos < to) {
		idx = pos / QKD_BLOCK_BYTES;
		base = idx * QKD_BLOCK_BYTES;
		b = qkd_slot(s, idx);
		lo = pos - base;
		hi = min_t(u64, to - base, QKD_BLOCK_BYTES);
		bitmap_clear(b->present, lo, hi - lo);
		b->live -= hi - lo;
		refcount_inc(&b->ref);
		t->ext[t->nr].block = b;
		t->ext[t->nr].lo = lo;
		t->ext[t->nr].hi = hi;
		t->nr++;
		if (!b->live)
			qkd_slot_clear(s, b);
		pos = base + hi;
	}
	s->avail -= len;
	s->taken += len;
	if (offset == s->head)
		s->head = to;
}

int qkd_stream_take_front(struct qkd_stream *s, u32 len, struct qkd_take *t)
{
	u64 run_end;

	for (;;) {
		qkd_stream_seek_head(s);
		run_end = qkd_stream_run_end(s, s->head, s->head + len);
		if (run_end == s->head + len)
			break;
		if (run_end >= s->end)
			return -EAGAIN;
		/*
		 * Delivered key stops at a gap that can never fill (streams are
		 * append-only), so this run is too short for any read of @len.
		 */
		qkd_stream_expire_below(s, run_end);
	}
	qkd_stream_take(s, s->head, len, t);
	return 0;
}

bool qkd_stream_has_front(struct qkd_stream *s, u32 len)
{
	/* take_front() drops runs cut off by gaps, so the count suffices. */
	return s->avail >= len;
}

int qkd_stream_probe_at(struct qkd_stream *s, u64 offset, u32 len)
{
	u64 to = offset + len;
	u64 upto = min(to, s->end);

	if (offset < upto && qkd_stream_run_end(s, offset, upto) < upto)
		return -ENOKEY;
	return to > s->end ? -EAGAIN : 0;
}

int qkd_stream_take_at(struct qkd_stream *s, u64 offset, u32 len,
		       struct qkd_take *t)
{
	int ret = qkd_stream_probe_at(s, offset, len);

	if (!ret)
		qkd_stream_take(s, offset, len, t);
	return ret;
}

/* Bytes a TX delivery can add now without failing with -ENOSPC. */
size_t qkd_stream_room(struct qkd_stream *s)
{
	long global_free = qkd_blocks_max - atomic_long_read(&qkd_blocks_used);
	long blocks = (long)s->max_blocks - s->nblocks;
	size_t room = 0;
	u32 tail = s->end % QKD_BLOCK_BYTES;

	if (tail && qkd_slot(s, s->end / QKD_BLOCK_BYTES))
		room = QKD_BLOCK_BYTES - tail;
	blocks = min(blocks, global_free);
	if (blocks > 0)
		room += (size_t)blocks * QKD_BLOCK_BYTES;
	/* Blocks bound the memory; the byte limit is what users set. */
	if (s->limit_bytes)
		room = min_t(u64, room, s->limit_bytes > s->avail ?
			     s->limit_bytes - s->avail : 0);
	return room;
}

/* How many new blocks a fill of [offset, offset + len) needs now. */
int qkd_stream_fill_need(struct qkd_stream *s, u64 offset, u32 len)
{
	u64 idx, last = (offset + len - 1) / QKD_BLOCK_BYTES;
	int need = 0;

	for (idx = offset / QKD_BLOCK_BYTES; idx <= last; idx++)
		need += !qkd_slot(s, idx);
	return need;
}

/*
 * Appends [offset, offset + len), which spans at most QKD_FILL_BLOCKS
 * blocks, taking new blocks from @p. An RX stream makes room by expiring
 * its oldest bytes (the peer has moved on); a TX stream fails with -ENOSPC.
 * Returns -EAGAIN if @p ran short because a reader emptied the tail block.
 */
int qkd_stream_fill(struct qkd_stream *s, bool expire_oldest, u64 offset,
		    const u8 *buf, u32 len, struct qkd_prealloc *p)
{
	u64 first = offset / QKD_BLOCK_BYTES;
	u64 last = (offset + len - 1) / QKD_BLOCK_BYTES;
	u64 idx, base;
	u32 need, lo, hi;
	struct qkd_block *b;

	if (offset < s->end)
		return -EEXIST;
	if (last - s->head / QKD_BLOCK_BYTES > s->ring_mask) {
		if (!expire_oldest)
			return -ENOSPC;
		qkd_stream_expire_below(s, (last - s->ring_mask) * QKD_BLOCK_BYTES);
	}
	need = qkd_stream_fill_need(s, offset, len);
	if (need > p->nr)
		return -EAGAIN;
	while (s->nblocks + need > s->max_blocks)
		if (!expire_oldest || !qkd_stream_expire_oldest(s))
			return -ENOSPC;

	for (idx = first; idx <= last; idx++) {
		base = idx * QKD_BLOCK_BYTES;
		b = qkd_slot(s, idx);
		if (!b) {
			b = p->block[--p->nr];
			b->index = idx;
			s->ring[idx & s->ring_mask] = b;
			s->nblocks++;
		}
		lo = max(offset, base) - base;
		hi = min_t(u64, offset + len - base, QKD_BLOCK_BYTES);
		memcpy(b->data + lo, buf + (base + lo - offset), hi - lo);
		bitmap_set(b->present, lo, hi - lo);
		b->live += hi - lo;
	}
	if (!s->avail)
		s->head = offset;
	s->end = offset + len;
	s->avail += len;
	s->delivered += len;
	return 0;
}

/*
 * Copies reserved key out and wipes it whether or not the copy succeeds:
 * a byte that may have reached userspace is never handed out again.
 * Returns the bytes copied.
 */
size_t qkd_take_copy_out(struct qkd_take *t, struct iov_iter *to)
{
	size_t done = 0, n, copied;
	bool fault = !to;
	struct qkd_block *b;
	u32 i;

	for (i = 0; i < t->nr; i++) {
		b = t->ext[i].block;
		n = t->ext[i].hi - t->ext[i].lo;
		if (!fault) {
			copied = copy_to_iter(b->data + t->ext[i].lo, n, to);
			done += copied;
			fault = copied != n;
		}
		memzero_explicit(b->data + t->ext[i].lo, n);
		qkd_block_put(b);
	}
	t->nr = 0;
	return done;
}

void qkd_take_discard(struct qkd_take *t)
{
	qkd_take_copy_out(t, NULL);
}
