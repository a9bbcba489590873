// SPDX-License-Identifier: GPL-2.0
/* The key source: /dev/qkdkey reads through a shared io_uring; see keysrc.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/qkdkey.h>

#include "keymem.h"
#include "keysrc.h"

_Static_assert((int)QKD_KEYSRC_TX == (int)QKDKEY_DIR_TX &&
	       (int)QKD_KEYSRC_RX == (int)QKDKEY_DIR_RX,
	       "direction values follow the uapi");
_Static_assert(QKD_KEYSRC_TX_HDR_LEN == sizeof(struct qkdkey_tx_hdr),
	       "TX header size follows the uapi");
_Static_assert(QKD_KEYSRC_LEN_MAX == QKDKEY_READ_MAX, "read limit follows the uapi");

/* ---- the shared ring ---------------------------------------------------- */

int qkd_ring_init(struct io_uring *ring, const struct qkd_ring_cfg *cfg,
		  struct qkd_ring_info *info)
{
	static const unsigned int ladder[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct qkd_ring_info dummy;
	struct io_uring_params p;
	struct io_uring_probe *probe;
	unsigned int skip = 0;
	int r = -EINVAL;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	if (!ring || !cfg || !cfg->entries)
		return -EINVAL;
	if (cfg->flags & QKD_RING_NO_SINGLE_ISSUER)
		skip |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	if (cfg->flags & QKD_RING_NO_DEFER_TASKRUN)
		skip |= IORING_SETUP_DEFER_TASKRUN;

	for (size_t i = 0; i < sizeof(ladder) / sizeof(ladder[0]); i++) {
		if (ladder[i] & skip)
			continue;
		memset(&p, 0, sizeof(p));
		p.flags = ladder[i];
		r = io_uring_queue_init_params(cfg->entries, ring, &p);
		if (r != -EINVAL)
			break;
	}
	if (r < 0)
		return r;
	info->setup_flags = p.flags;
	info->features = p.features;
	info->single_issuer = p.flags & IORING_SETUP_SINGLE_ISSUER;
	info->defer_taskrun = p.flags & IORING_SETUP_DEFER_TASKRUN;
	info->coop_taskrun = p.flags & IORING_SETUP_COOP_TASKRUN;

	probe = io_uring_get_probe_ring(ring);
	if (probe) {
		info->op_read = io_uring_opcode_supported(probe, IORING_OP_READ);
		info->op_read_fixed = io_uring_opcode_supported(probe, IORING_OP_READ_FIXED);
		info->op_async_cancel = io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL);
		io_uring_free_probe(probe);
	}
	if (!info->op_read || !info->op_async_cancel) {
		r = -EOPNOTSUPP;
		goto fail;
	}

	/* Sparse tables need 5.19; older kernels say EINVAL: go without. */
	if (cfg->nr_files) {
		r = io_uring_register_files_sparse(ring, cfg->nr_files);
		if (r == 0)
			info->nr_files = cfg->nr_files;
		else if (r != -EINVAL)
			goto fail;
	}
	if (cfg->nr_bufs && info->op_read_fixed) {
		r = io_uring_register_buffers_sparse(ring, cfg->nr_bufs);
		if (r == 0)
			info->nr_bufs = cfg->nr_bufs;
		else if (r != -EINVAL)
			goto fail;
	}
	return 0;
fail:
	io_uring_queue_exit(ring);
	memset(info, 0, sizeof(*info));
	return r;
}

int qkd_ring_describe(const struct qkd_ring_info *info, char *buf, size_t len)
{
	char setup[64] = "";
	int n;

	if (!info || !buf || !len)
		return -EINVAL;
	if (info->single_issuer)
		strcat(setup, ",single_issuer");
	if (info->defer_taskrun)
		strcat(setup, ",defer_taskrun");
	if (info->coop_taskrun)
		strcat(setup, ",coop_taskrun");
	n = snprintf(buf, len, "setup=%s files=%u bufs=%u ops=%s%s%s",
		     setup[0] ? setup + 1 : "none", info->nr_files, info->nr_bufs,
		     info->op_read ? "read" : "-",
		     info->op_read_fixed ? ",read_fixed" : "",
		     info->op_async_cancel ? ",async_cancel" : "");
	if (n < 0)
		return -EIO;
	return (size_t)n < len ? 0 : -ENOBUFS;
}

/* ---- the key source ----------------------------------------------------- */

/*
 * How a request is served (see keysrc.h for why reads do not simply block):
 *
 *   request()  the slot becomes PENDING, in request order (seq).
 *   kick()     (once per event loop iteration, before the loop submits)
 *              when no read is in flight and the source is not starved, all
 *              PENDING slots go out as one chain of RWF_NOWAIT reads linked
 *              with IOSQE_IO_LINK, oldest first. The kernel serves them in
 *              that order; the first that finds too little key completes
 *              with -EAGAIN and the rest of the chain with -ECANCELED: all
 *              of them become PENDING again, in their old order.
 *   starved    a chain ended in -EAGAIN: one oneshot IORING_OP_POLL_ADD is
 *              armed on the file. The device's poll answers for the read
 *              that last failed with EAGAIN (the chain's head), so an arm
 *              that finds key completes at once; any later delivery or state
 *              change completes it too. Its CQE ends the starvation: kick.
 *
 * So at most one chain is in flight (keys come in stream order, which the
 * header check relies on), a large request is never starved by smaller ones
 * behind it, and nothing ever waits inside the kernel as a read: no armed
 * read poll, whose retry budget (APOLL_MAX_RETRY, 128 wake-ups in 6.1) would
 * send the read to an io-wq worker, and no io-wq worker at all.
 */

/* user_data below the tag: kind (8 bits) | generation (32) | slot (16). */
#define UD_READ		1u
#define UD_CANCEL	2u
#define UD_POLL		3u
#define UD_NOP		4u	/* ends a PENDING request: shutdown, stale epoch */
#define UD_KIND(ud)	((unsigned int)(((ud) >> 48) & 0xff))
#define UD_GEN(ud)	((uint32_t)((ud) >> 16))
#define UD_SLOT(ud)	((unsigned int)((ud) & 0xffff))
#define UD_NO_SLOT	0xffffu

enum slot_state {
	SLOT_FREE,
	SLOT_PENDING,	/* asked for, no read in flight */
	SLOT_READING,	/* a read SQE prepared or in flight */
	SLOT_HELD,	/* the key is with the caller */
};

struct ks_slot {
	uint8_t *buf;		/* slot_size bytes of keymem */
	enum slot_state state;
	uint32_t gen;		/* bumped per read SQE: tells stale CQEs apart */
	uint32_t len;		/* key bytes requested */
	bool cancelling;	/* a cancel or NOP SQE names this request */
	int nop_err;		/* what the NOP ends the request with */
	uint64_t seq;		/* request order */
	uint64_t cookie;
	uint64_t epoch;		/* RX: the epoch asked for */
	uint64_t offset;	/* RX: the offset asked for */
};

struct qkd_keysrc {
	struct io_uring *ring;
	int fd;
	int file_slot;		/* installed in the ring's table, or -1 */
	int buf_base;		/* installed buffers start here, or -1 */
	uint32_t dir;
	unsigned int depth;
	uint32_t max_len;
	size_t slot_size;
	uint8_t tag;
	struct qkdkey_bind bind;
	uint32_t link_id;
	uint64_t epoch;		/* TX: of the last key; RX: bound epoch */
	uint64_t next_off;	/* TX: end of the furthest key of this epoch */
	bool seen_key;		/* TX: a key was handed out (epoch is real) */

	uint64_t seq_next;
	unsigned int nfree;
	unsigned int npending;	/* PENDING + READING */
	unsigned int reads;	/* read SQEs whose CQE is to come */
	unsigned int others;	/* poll, cancel and NOP SQEs whose CQE is to come */
	bool chain_eagain;	/* the chain in flight met too little key */
	bool starved;		/* wait for the poll before the next chain */
	bool poll_armed;
	bool poll_cancelling;	/* a cancel SQE names the poll */
	uint32_t poll_gen;
	bool shutdown;		/* qkd_keysrc_cancel() was called */

	struct qkd_keysrc_stats st;
	struct qkd_keymem mem;
	struct ks_slot slot[];
};

static uint64_t ks_ud(const struct qkd_keysrc *ks, unsigned int kind,
		      unsigned int idx, uint32_t gen)
{
	return QKD_UD_MAKE(ks->tag, (uint64_t)kind << 48 | (uint64_t)gen << 16 | idx);
}

static int ks_info(int fd, struct qkdkey_link_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, QKDKEY_IOC_LINK_INFO, info) ? -errno : 0;
}

/* Binds the file and learns link id and epoch; retries a racing rekey. */
static int ks_bind(struct qkd_keysrc *ks)
{
	struct qkdkey_link_info info;
	int r;

	for (int tries = 0; tries < 5; tries++) {
		if (ioctl(ks->fd, QKDKEY_IOC_BIND, &ks->bind))
			return -errno;
		r = ks_info(ks->fd, &info);
		if (r)
			return r;
		if (!(info.flags & QKDKEY_INFO_STALE)) {
			ks->link_id = info.link_id;
			ks->epoch = info.epoch;
			return 0;
		}
	}
	return -ESTALE;
}

static size_t ks_used(const struct qkd_keysrc *ks, uint32_t len)
{
	return (ks->dir == QKD_KEYSRC_TX ? QKD_KEYSRC_TX_HDR_LEN : 0) + (size_t)len;
}

/* Wipes a slot's buffer and makes it free. */
static void ks_free_slot(struct qkd_keysrc *ks, unsigned int idx)
{
	struct ks_slot *s = &ks->slot[idx];

	qkd_wipe(s->buf, ks_used(ks, s->len));
	if (s->state == SLOT_PENDING || s->state == SLOT_READING)
		ks->npending--;
	s->state = SLOT_FREE;
	s->cancelling = false;
	s->len = 0;
	s->cookie = 0;
	ks->nfree++;
}

static int ks_unregister(struct qkd_keysrc *ks)
{
	int r = 0, rr;

	if (ks->buf_base >= 0) {
		struct iovec none[QKD_KEYSRC_DEPTH_MAX];

		memset(none, 0, sizeof(none));
		rr = io_uring_register_buffers_update_tag(ks->ring, ks->buf_base,
							  none, NULL, ks->depth);
		if (rr < 0)
			r = rr;
		else if ((unsigned int)rr != ks->depth)
			r = -EIO;
		ks->buf_base = -1;
	}
	if (ks->file_slot >= 0) {
		int fd = -1;

		rr = io_uring_register_files_update(ks->ring, ks->file_slot, &fd, 1);
		if (rr < 0 && !r)
			r = rr;
		else if (rr != 1 && !r)
			r = -EIO;
		ks->file_slot = -1;
	}
	return r;
}

/* Error path of open: the first error is the one reported. */
static void ks_destroy(struct qkd_keysrc *ks)
{
	if (qkd_keymem_free(&ks->mem)) {
		/* wiped anyway; the mapping may linger until exit */
	}
	if (ks->fd >= 0 && close(ks->fd)) {
		/* nothing was read through it */
	}
	free(ks);
}

int qkd_keysrc_open(struct qkd_keysrc **out, struct io_uring *ring,
		    const struct qkd_keysrc_cfg *cfg)
{
	struct iovec iov[QKD_KEYSRC_DEPTH_MAX];
	struct qkd_keysrc *ks;
	const char *path;
	size_t page = qkd_page_size();
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!ring || !cfg || cfg->dir > QKD_KEYSRC_RX ||
	    !cfg->depth || cfg->depth > QKD_KEYSRC_DEPTH_MAX ||
	    !cfg->max_len || cfg->max_len > QKD_KEYSRC_LEN_MAX ||
	    cfg->file_slot < -1 || cfg->buf_base < -1 ||
	    (cfg->link && strlen(cfg->link) >= QKDKEY_NAME_LEN))
		return -EINVAL;

	ks = calloc(1, sizeof(*ks) + cfg->depth * sizeof(ks->slot[0]));
	if (!ks)
		return -ENOMEM;
	ks->ring = ring;
	ks->file_slot = -1;
	ks->buf_base = -1;
	ks->dir = cfg->dir;
	ks->depth = cfg->depth;
	ks->max_len = cfg->max_len;
	ks->tag = cfg->tag;
	ks->bind.link_id = cfg->link_id;
	ks->bind.dir = cfg->dir;
	if (cfg->link)
		memcpy(ks->bind.name, cfg->link, strlen(cfg->link));

	path = cfg->dev_path ? cfg->dev_path : QKDKEY_DEVICE_PATH;
	ks->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ks->fd < 0) {
		r = -errno;
		goto fail;
	}
	r = ks_bind(ks);
	if (r)
		goto fail;

	ks->slot_size = (ks_used(ks, cfg->max_len) + page - 1) / page * page;
	r = qkd_keymem_alloc(&ks->mem, ks->slot_size * cfg->depth);
	if (r)
		goto fail;
	for (unsigned int i = 0; i < cfg->depth; i++) {
		ks->slot[i].buf = (uint8_t *)ks->mem.base + i * ks->slot_size;
		ks->slot[i].state = SLOT_FREE;
		iov[i].iov_base = ks->slot[i].buf;
		iov[i].iov_len = ks->slot_size;
	}
	ks->nfree = cfg->depth;

	if (cfg->file_slot >= 0) {
		r = io_uring_register_files_update(ring, cfg->file_slot, &ks->fd, 1);
		if (r != 1) {
			r = r < 0 ? r : -EIO;
			goto fail;
		}
		ks->file_slot = cfg->file_slot;
	}
	if (cfg->buf_base >= 0) {
		r = io_uring_register_buffers_update_tag(ring, cfg->buf_base, iov,
							 NULL, cfg->depth);
		if (r != (int)cfg->depth) {
			r = r < 0 ? r : -EIO;
			goto fail;
		}
		ks->buf_base = cfg->buf_base;
	}
	*out = ks;
	return 0;
fail:
	if (ks_unregister(ks)) {
		/* the first error is the one to report */
	}
	ks_destroy(ks);
	return r;
}

int qkd_keysrc_close(struct qkd_keysrc *ks, unsigned int flags)
{
	int r, rr;

	if (!ks)
		return 0;
	if (flags & QKD_KEYSRC_CLOSE_RING_GONE) {
		ks->file_slot = -1;
		ks->buf_base = -1;
	} else if (ks->reads || ks->others) {
		return -EBUSY;
	}
	r = ks_unregister(ks);
	rr = qkd_keymem_free(&ks->mem);
	if (rr && !r)
		r = rr;
	if (ks->fd >= 0 && close(ks->fd) && !r)
		r = -errno;
	ks->fd = -1;
	free(ks);
	return r;
}

/*
 * Makes room for n SQEs, submitting what is queued if need be (never in the
 * middle of a chain: callers ask before they start one). Returns how many
 * fit, at most n, or -errno.
 */
static int ks_sq_room(struct qkd_keysrc *ks, unsigned int n)
{
	unsigned int room = io_uring_sq_space_left(ks->ring);
	int r;

	if (room < n) {
		r = io_uring_submit(ks->ring);
		if (r < 0)
			return r;
		room = io_uring_sq_space_left(ks->ring);
	}
	return (int)(room < n ? room : n);
}

static void ks_prep_fd(struct qkd_keysrc *ks, struct io_uring_sqe *sqe)
{
	if (ks->file_slot >= 0)
		sqe->flags |= IOSQE_FIXED_FILE;
}

static int ks_arm_poll(struct qkd_keysrc *ks)
{
	struct io_uring_sqe *sqe;
	int r = ks_sq_room(ks, 1);

	if (r <= 0)
		return r ? r : -EBUSY;
	sqe = io_uring_get_sqe(ks->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, ks->file_slot >= 0 ? ks->file_slot : ks->fd,
			       POLLIN);
	ks_prep_fd(ks, sqe);
	ks->poll_gen++;
	io_uring_sqe_set_data64(sqe, ks_ud(ks, UD_POLL, UD_NO_SLOT, ks->poll_gen));
	ks->poll_armed = true;
	ks->poll_cancelling = false;
	ks->others++;
	return 0;
}

/* The PENDING slots, oldest request first. */
static unsigned int ks_pending_order(const struct qkd_keysrc *ks, uint16_t *order)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ks->depth; i++) {
		unsigned int j;

		if (ks->slot[i].state != SLOT_PENDING || ks->slot[i].cancelling)
			continue;
		for (j = n; j > 0 && ks->slot[order[j - 1]].seq > ks->slot[i].seq; j--)
			order[j] = order[j - 1];
		order[j] = (uint16_t)i;
		n++;
	}
	return n;
}

/* Prepares a NOP whose CQE ends PENDING request idx with err. */
static void ks_prep_nop(struct qkd_keysrc *ks, struct io_uring_sqe *sqe,
			unsigned int idx, int err)
{
	struct ks_slot *s = &ks->slot[idx];

	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, ks_ud(ks, UD_NOP, idx, s->gen));
	s->cancelling = true;
	s->nop_err = err;
	ks->others++;
}

/*
 * Sends every PENDING request as one linked chain of RWF_NOWAIT reads. An
 * RX request for an epoch the file is no longer bound to (the caller
 * rebound since) is not read: a NOP ends it with -ESTALE.
 */
static int ks_send_chain(struct qkd_keysrc *ks)
{
	uint16_t order[QKD_KEYSRC_DEPTH_MAX];
	unsigned int n = ks_pending_order(ks, order), m = 0;
	int fd = ks->file_slot >= 0 ? ks->file_slot : ks->fd;
	struct io_uring_sqe *sqe;
	int room;

	if (!n)
		return 0;
	room = ks_sq_room(ks, n);
	if (room <= 0)
		return room ? room : -EBUSY;
	for (unsigned int k = 0; k < (unsigned int)room; k++) {
		unsigned int idx = order[k];

		if (ks->dir == QKD_KEYSRC_RX && ks->slot[idx].epoch != ks->epoch) {
			sqe = io_uring_get_sqe(ks->ring);
			if (!sqe)	/* cannot happen: room was made */
				return -EBUSY;
			ks_prep_nop(ks, sqe, idx, -ESTALE);
		} else {
			order[m++] = (uint16_t)idx;
		}
	}
	for (unsigned int k = 0; k < m; k++) {
		unsigned int idx = order[k];
		struct ks_slot *s = &ks->slot[idx];
		unsigned int nbytes = (unsigned int)ks_used(ks, s->len);

		sqe = io_uring_get_sqe(ks->ring);
		if (!sqe)
			return -EBUSY;
		/* TX files ignore the offset; RX reads take [offset, offset + len). */
		if (ks->buf_base >= 0)
			io_uring_prep_read_fixed(sqe, fd, s->buf, nbytes, s->offset,
						 ks->buf_base + (int)idx);
		else
			io_uring_prep_read(sqe, fd, s->buf, nbytes, s->offset);
		sqe->rw_flags = RWF_NOWAIT;
		ks_prep_fd(ks, sqe);
		if (k + 1 < m)
			sqe->flags |= IOSQE_IO_LINK;
		s->gen++;
		io_uring_sqe_set_data64(sqe, ks_ud(ks, UD_READ, idx, s->gen));
		s->state = SLOT_READING;
		ks->reads++;
	}
	ks->chain_eagain = false;
	return 0;
}

/* Prepares whatever SQEs the source's state calls for. */
static int ks_kick(struct qkd_keysrc *ks)
{
	int r = 0;

	if (ks->shutdown || ks->reads)
		return 0;
	if (ks->starved) {
		if (!ks->poll_armed)
			r = ks_arm_poll(ks);
	} else {
		r = ks_send_chain(ks);
	}
	return r;
}

int qkd_keysrc_kick(struct qkd_keysrc *ks)
{
	if (!ks)
		return -EINVAL;
	return ks_kick(ks);
}

static int ks_request(struct qkd_keysrc *ks, uint32_t len, uint64_t epoch,
		      uint64_t offset, uint64_t cookie)
{
	struct ks_slot *s = NULL;
	unsigned int idx;

	if (ks->shutdown)
		return -ESHUTDOWN;
	if (!len || len > ks->max_len)
		return -EINVAL;
	if (!ks->nfree)
		return -EBUSY;
	for (idx = 0; idx < ks->depth; idx++)
		if (ks->slot[idx].state == SLOT_FREE) {
			s = &ks->slot[idx];
			break;
		}
	if (!s)
		return -EBUSY;
	s->state = SLOT_PENDING;
	s->seq = ks->seq_next++;
	s->len = len;
	s->cookie = cookie;
	s->epoch = epoch;
	s->offset = offset;
	s->cancelling = false;
	ks->nfree--;
	ks->npending++;
	return 0;	/* qkd_keysrc_kick() sends it, with all others queued by then */
}

int qkd_keysrc_request(struct qkd_keysrc *ks, uint32_t len, uint64_t cookie)
{
	if (!ks || ks->dir != QKD_KEYSRC_TX)
		return -EINVAL;
	return ks_request(ks, len, 0, 0, cookie);
}

int qkd_keysrc_request_at(struct qkd_keysrc *ks, uint64_t epoch,
			  uint64_t offset, uint32_t len, uint64_t cookie)
{
	if (!ks || ks->dir != QKD_KEYSRC_RX)
		return -EINVAL;
	if (epoch != ks->epoch)
		return -ESTALE;
	/* loff_t is signed: the range must stay below 2^63. */
	if (offset > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	return ks_request(ks, len, epoch, offset, cookie);
}

int qkd_keysrc_refill(struct qkd_keysrc *ks, uint32_t len, uint64_t cookie)
{
	int n = 0, r;

	if (!ks)
		return -EINVAL;
	while (ks->nfree) {
		r = qkd_keysrc_request(ks, len, cookie);
		if (r)
			return n ? n : r;
		n++;
	}
	return n;
}

bool qkd_keysrc_owns(const struct qkd_keysrc *ks, uint64_t user_data)
{
	return ks && QKD_UD_TAG(user_data) == ks->tag;
}

/* Checks a TX header against the request and the stream seen so far. */
static int ks_check_tx(struct qkd_keysrc *ks, const struct ks_slot *s,
		       struct qkd_key *key)
{
	struct qkdkey_tx_hdr h;

	memcpy(&h, s->buf, sizeof(h));
	if (h.length != s->len || h.link_id != ks->link_id ||
	    h.offset > UINT64_MAX - h.length)
		return -EPROTO;
	if (!ks->seen_key || h.epoch != ks->epoch) {
		key->flags |= QKD_KEY_NEW_EPOCH;
	} else if (h.offset < ks->next_off) {
		/* overlaps key this source already had: never use it */
		return -EPROTO;
	}
	key->link_id = h.link_id;
	key->epoch = h.epoch;
	key->offset = h.offset;
	key->bytes = s->buf + QKD_KEYSRC_TX_HDR_LEN;
	return 0;
}

/* Ends a request with an error for the caller; the buffer is wiped. */
static int ks_fail(struct qkd_keysrc *ks, unsigned int idx, int err,
		   struct qkd_key *key)
{
	struct ks_slot *s = &ks->slot[idx];

	memset(key, 0, sizeof(*key));
	key->slot = QKD_KEY_NO_SLOT;
	key->cookie = s->cookie;
	key->len = s->len;
	if (err == -EPROTO)
		ks->st.rejected++;
	else if (err == -ECANCELED)
		ks->st.cancelled++;
	else
		ks->st.failed++;
	ks_free_slot(ks, idx);
	return err;
}

/* A read CQE: 1 with a key, 0 if the request goes on, or -errno. */
static int ks_read_done(struct qkd_keysrc *ks, unsigned int idx, int res,
			struct qkd_key *key)
{
	struct ks_slot *s = &ks->slot[idx];
	int r;

	if (res == -EAGAIN || res == -ECANCELED) {
		/* too little key, or behind such a read in the chain */
		if (res == -EAGAIN) {
			ks->chain_eagain = true;
			ks->st.retries++;
		}
		if (ks->shutdown)
			return ks_fail(ks, idx, -ECANCELED, key);
		s->state = SLOT_PENDING;
		return 0;
	}
	if (res < 0)
		return ks_fail(ks, idx, res, key);
	if ((size_t)res != ks_used(ks, s->len))
		return ks_fail(ks, idx, -EPROTO, key);	/* all or nothing, says the device */

	memset(key, 0, sizeof(*key));
	if (ks->dir == QKD_KEYSRC_TX) {
		r = ks_check_tx(ks, s, key);
		if (r)
			return ks_fail(ks, idx, r, key);
		if (key->flags & QKD_KEY_NEW_EPOCH)
			ks->st.epochs++;
		ks->epoch = key->epoch;
		ks->next_off = key->offset + s->len;
		ks->seen_key = true;
	} else {
		key->link_id = ks->link_id;
		key->epoch = s->epoch;
		key->offset = s->offset;
		key->bytes = s->buf;
	}
	key->len = s->len;
	key->cookie = s->cookie;
	key->slot = idx;
	s->state = SLOT_HELD;
	ks->npending--;
	ks->st.keys++;
	ks->st.key_bytes += s->len;
	return 1;
}

int qkd_keysrc_complete(struct qkd_keysrc *ks, const struct io_uring_cqe *cqe,
			struct qkd_key *key)
{
	unsigned int kind, idx;
	struct ks_slot *s;
	uint64_t ud;
	int r = 0;

	if (!ks || !cqe || !key)
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	key->slot = QKD_KEY_NO_SLOT;
	ud = cqe->user_data;
	kind = UD_KIND(ud);
	idx = UD_SLOT(ud);
	if (!qkd_keysrc_owns(ks, ud))
		return -ENOENT;

	switch (kind) {
	case UD_POLL:
		if (!ks->others || !ks->poll_armed || UD_GEN(ud) != ks->poll_gen)
			return -ENOENT;
		ks->others--;
		ks->poll_armed = false;
		ks->starved = false;	/* key came, the state changed, or cancelled */
		ks->st.polls++;
		break;
	case UD_CANCEL:
		/* 0: found, -ENOENT: already done, -EALREADY: running */
		if (!ks->others)
			return -ENOENT;
		ks->others--;
		break;
	case UD_NOP:
		if (!ks->others || idx >= ks->depth)
			return -ENOENT;
		s = &ks->slot[idx];
		if (s->state != SLOT_PENDING || !s->cancelling || UD_GEN(ud) != s->gen)
			return -ENOENT;
		ks->others--;
		r = ks_fail(ks, idx, s->nop_err, key);
		break;
	case UD_READ:
		if (idx >= ks->depth)
			return -ENOENT;
		s = &ks->slot[idx];
		if (s->state != SLOT_READING || UD_GEN(ud) != s->gen || !ks->reads)
			return -ENOENT;
		ks->reads--;
		r = ks_read_done(ks, idx, cqe->res, key);
		if (!ks->reads && ks->chain_eagain) {
			ks->chain_eagain = false;
			ks->starved = true;
		}
		break;
	default:
		return -ENOENT;
	}
	return r;	/* qkd_keysrc_kick() takes the next step */
}

void qkd_keysrc_release(struct qkd_keysrc *ks, struct qkd_key *key)
{
	if (!key)
		return;
	if (key->slot == QKD_KEY_NO_SLOT) {
		qkd_wipe(key->bytes, key->len);
	} else if (ks && key->slot < ks->depth &&
		   ks->slot[key->slot].state == SLOT_HELD) {
		ks_free_slot(ks, key->slot);
	}
	memset(key, 0, sizeof(*key));
	key->slot = QKD_KEY_NO_SLOT;
}

int qkd_key_carve(struct qkd_key *key, uint32_t n, struct qkd_key *part)
{
	if (!key || !part || !key->bytes || !n || n > key->len)
		return -EINVAL;
	*part = *key;
	part->len = n;
	part->slot = QKD_KEY_NO_SLOT;
	key->bytes += n;
	key->offset += n;
	key->len -= n;
	key->flags &= ~QKD_KEY_NEW_EPOCH;
	return 0;
}

int qkd_keysrc_cancel(struct qkd_keysrc *ks)
{
	struct io_uring_sqe *sqe;
	unsigned int want = 0;
	int n = 0, room;

	if (!ks)
		return -EINVAL;
	ks->shutdown = true;
	for (unsigned int i = 0; i < ks->depth; i++)
		want += (ks->slot[i].state == SLOT_PENDING ||
			 ks->slot[i].state == SLOT_READING) && !ks->slot[i].cancelling;
	want += ks->poll_armed && !ks->poll_cancelling;
	if (!want)
		return 0;
	room = ks_sq_room(ks, want);
	if (room <= 0)
		return room ? room : -EBUSY;

	if (ks->poll_armed && !ks->poll_cancelling) {
		sqe = io_uring_get_sqe(ks->ring);
		if (!sqe)
			return n ? n : -EBUSY;
		io_uring_prep_cancel64(sqe, ks_ud(ks, UD_POLL, UD_NO_SLOT, ks->poll_gen), 0);
		io_uring_sqe_set_data64(sqe, ks_ud(ks, UD_CANCEL, UD_NO_SLOT, 0));
		ks->poll_cancelling = true;
		ks->others++;
		n++;
	}
	for (unsigned int i = 0; i < ks->depth && n < room; i++) {
		struct ks_slot *s = &ks->slot[i];

		if ((s->state != SLOT_PENDING && s->state != SLOT_READING) ||
		    s->cancelling)
			continue;
		sqe = io_uring_get_sqe(ks->ring);
		if (!sqe)
			return n ? n : -EBUSY;
		if (s->state == SLOT_READING) {
			/* it may be done already: the cancel then says -ENOENT */
			io_uring_prep_cancel64(sqe, ks_ud(ks, UD_READ, i, s->gen), 0);
			io_uring_sqe_set_data64(sqe, ks_ud(ks, UD_CANCEL, i, 0));
			s->cancelling = true;
			ks->others++;
		} else {
			/* no read to cancel: a NOP brings its -ECANCELED */
			ks_prep_nop(ks, sqe, i, -ECANCELED);
		}
		n++;
	}
	return n;
}

int qkd_keysrc_rebind(struct qkd_keysrc *ks)
{
	int r;

	if (!ks)
		return -EINVAL;
	/* a read in flight would take bytes of the new binding */
	if (ks->reads)
		return -EBUSY;
	r = ks_bind(ks);
	if (!r && ks->dir == QKD_KEYSRC_TX)
		ks->seen_key = false;	/* the next key is checked afresh */
	return r;
}

int qkd_keysrc_link_info(struct qkd_keysrc *ks, struct qkdkey_link_info *info)
{
	if (!ks || !info)
		return -EINVAL;
	return ks_info(ks->fd, info);
}

unsigned int qkd_keysrc_free_slots(const struct qkd_keysrc *ks)
{
	return ks && !ks->shutdown ? ks->nfree : 0;
}

unsigned int qkd_keysrc_pending(const struct qkd_keysrc *ks)
{
	return ks ? ks->npending : 0;
}

unsigned int qkd_keysrc_inflight(const struct qkd_keysrc *ks)
{
	return ks ? ks->reads + ks->others : 0;
}

bool qkd_keysrc_waiting(const struct qkd_keysrc *ks)
{
	return ks && ks->starved;
}

uint32_t qkd_keysrc_link_id(const struct qkd_keysrc *ks)
{
	return ks ? ks->link_id : 0;
}

uint64_t qkd_keysrc_epoch(const struct qkd_keysrc *ks)
{
	return ks ? ks->epoch : 0;
}

bool qkd_keysrc_fixed_file(const struct qkd_keysrc *ks)
{
	return ks && ks->file_slot >= 0;
}

bool qkd_keysrc_fixed_bufs(const struct qkd_keysrc *ks)
{
	return ks && ks->buf_base >= 0;
}

void qkd_keysrc_get_stats(const struct qkd_keysrc *ks, struct qkd_keysrc_stats *st)
{
	if (!st)
		return;
	if (ks)
		*st = ks->st;
	else
		memset(st, 0, sizeof(*st));
}

void qkd_keysrc_mem(const struct qkd_keysrc *ks, const void **base, size_t *size)
{
	if (base)
		*base = ks ? ks->mem.base : NULL;
	if (size)
		*size = ks ? ks->mem.size : 0;
}
