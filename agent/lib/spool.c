// SPDX-License-Identifier: GPL-2.0
/*
 * Spool: append, group commit (synchronous and in io_uring-ready steps),
 * ack and trim, forwarding reads, counters. Recovery is in
 * spool_recover.c, the byte layout in spool_format.c; spool.h has the
 * format and the rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool_int.h"

struct spool_seg *seg_new(uint64_t first_seq)
{
	struct spool_seg *seg = calloc(1, sizeof(*seg));

	if (!seg)
		return NULL;
	seg->first_seq = first_seq;
	seg->fd = -1;
	return seg;
}

void seg_free(struct spool_seg *seg)
{
	if (!seg)
		return;
	if (seg->fd >= 0)
		close_fd(seg->fd);
	buf_free(&seg->q);
	buf_free(&seg->inflight);
	free(seg->end);
	free(seg);
}

int seg_push(struct spool *sp, struct spool_seg *seg)
{
	if (sp->nsegs == sp->segcap) {
		size_t cap = sp->segcap ? sp->segcap * 2 : 16;
		struct spool_seg **p = realloc(sp->segs, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		sp->segs = p;
		sp->segcap = cap;
	}
	sp->segs[sp->nsegs++] = seg;
	return 0;
}

static int seg_index_reserve(struct spool_seg *seg)
{
	uint32_t cap;
	uint32_t *p;

	if (seg->nrec < seg->cap)
		return 0;
	cap = seg->cap ? seg->cap * 2 : 256;
	p = realloc(seg->end, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	seg->end = p;
	seg->cap = cap;
	return 0;
}

int seg_index_add(struct spool_seg *seg, uint64_t end)
{
	int r = seg_index_reserve(seg);

	if (r)
		return r;
	seg->end[seg->nrec++] = (uint32_t)end;
	return 0;
}

struct spool_seg *seg_find(const struct spool *sp, uint64_t seq)
{
	size_t lo = 0, hi = sp->nsegs;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->segs[mid]->first_seq <= seq)
			lo = mid;
		else
			hi = mid;
	}
	if (lo < sp->nsegs && sp->segs[lo]->first_seq <= seq &&
	    seq - sp->segs[lo]->first_seq < sp->segs[lo]->nrec)
		return sp->segs[lo];
	return NULL;
}

uint64_t spool_bytes_between(const struct spool *sp, uint64_t from,
			     uint64_t to)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < sp->nsegs && from <= to; i++) {
		const struct spool_seg *seg = sp->segs[i];
		uint64_t lo, hi;

		if (!seg->nrec || seg_last_seq(seg) < from ||
		    seg->first_seq > to)
			continue;
		lo = (from > seg->first_seq ? from : seg->first_seq) -
		     seg->first_seq;
		hi = (to < seg_last_seq(seg) ? to : seg_last_seq(seg)) -
		     seg->first_seq;
		sum += seg->end[hi] - seg_frame_start(seg, (uint32_t)lo);
	}
	return sum;
}

static uint64_t seg_durable_end(const struct spool_seg *seg)
{
	if (seg->ndurable)
		return seg->end[seg->ndurable - 1];
	return seg->hdr_durable ? SPOOL_SEG_HDR_LEN : 0;
}

void spool_trim(struct spool *sp)
{
	size_t n = 0;

	/* In order, stopping at the first failure: no holes below it. */
	while (n + 1 < sp->nsegs) {
		struct spool_seg *seg = sp->segs[n];
		char name[SEG_NAME_LEN];

		if (seg == sp->io_seg || seg->ndurable != seg->nrec ||
		    seg->first_seq + seg->nrec > sp->ack_seq + 1)
			break;
		seg_name(name, seg->first_seq);
		if (seg->created && unlinkat(sp->dirfd, name, 0) < 0 &&
		    errno != ENOENT) {
			sp->st.trim_errors++;
			break;
		}
		if (sp->rd_seg == seg) {
			close_fd(sp->rd_fd);
			sp->rd_fd = -1;
			sp->rd_seg = NULL;
		}
		seg_free(seg);
		n++;
	}
	if (n) {
		sp->nsegs -= n;
		memmove(sp->segs, sp->segs + n, sp->nsegs * sizeof(*sp->segs));
	}
}

int spool_append(struct spool *sp, const struct qkd_record *rec,
		 uint64_t *seq)
{
	struct spool_seg *seg = sp->nsegs ? sp->segs[sp->nsegs - 1] : NULL;
	size_t body, fsz;
	uint64_t start;
	int r;

	if (sp->failed)
		return sp->failed;
	if (qkd_record_check(rec))
		return -EINVAL;
	body = qkd_record_encoded_len(rec);
	fsz = frame_size(body);
	if (sp->pending_bytes + fsz > sp->opts.max_pending_bytes) {
		sp->st.refused++;
		return -ENOSPC;
	}
	if (!seg || (seg->nrec && seg->end[seg->nrec - 1] + fsz >
				  sp->opts.segment_bytes)) {
		seg = seg_new(sp->next_seq);
		if (!seg)
			return -ENOMEM;
		r = seg_push(sp, seg);
		if (r) {
			seg_free(seg);
			return r;
		}
	}
	r = seg_index_reserve(seg);
	if (!r)
		r = buf_reserve(&seg->q, fsz);
	if (r)
		return r;
	if (!seg->q.len)
		seg->q_group = sp->next_seq;
	start = seg_frame_start(seg, seg->nrec);
	frame_encode(seg->q.data + seg->q.len, sp->salt, sp->next_seq,
		     seg->q_group, rec, body);
	seg->q.len += fsz;
	seg->end[seg->nrec++] = (uint32_t)(start + fsz);
	sp->pending_bytes += fsz;
	*seq = sp->next_seq++;
	return 0;
}

int spool_io_prepare(struct spool *sp, struct spool_io *io)
{
	struct spool_seg *seg = NULL;
	char name[SEG_NAME_LEN];

	if (sp->failed)
		return sp->failed;
	if (sp->io_seg)
		return -EBUSY;
	for (size_t i = 0; i < sp->nsegs && !seg; i++)
		if (sp->segs[i]->ndurable < sp->segs[i]->nrec)
			seg = sp->segs[i];
	if (!seg)
		return 0;
	seg_name(name, seg->first_seq);
	if (!seg->created) {
		seg->fd = openat(sp->dirfd, name,
				 O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (seg->fd < 0)
			return -errno;
		seg->created = true;
		seg_hdr_encode(seg->hdr, seg->first_seq);
	} else if (seg->fd < 0) {
		seg->fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
		if (seg->fd < 0)
			return -errno;
	}
	if (!seg->retry) {
		struct spool_buf t = seg->inflight;

		seg->inflight = seg->q;
		seg->q = t;
		seg->q.len = 0;
		seg->ninflight = seg->nrec - seg->ndurable;
	}
	memset(io, 0, sizeof(*io));
	io->fd = seg->fd;
	io->dir_fd = -1;
	if (!seg->hdr_durable) {
		io->iov[io->iovcnt].iov_base = seg->hdr;
		io->iov[io->iovcnt++].iov_len = SPOOL_SEG_HDR_LEN;
		io->dir_fd = sp->dirfd;
	}
	io->offset = (off_t)seg_durable_end(seg);
	io->iov[io->iovcnt].iov_base = seg->inflight.data;
	io->iov[io->iovcnt++].iov_len = seg->inflight.len;
	io->len = seg->inflight.len + (seg->hdr_durable ? 0 : SPOOL_SEG_HDR_LEN);
	sp->io_seg = seg;
	return 1;
}

int spool_io_complete(struct spool *sp, int err, enum spool_io_stage stage)
{
	struct spool_seg *seg = sp->io_seg;

	if (!seg)
		return -EINVAL;
	sp->io_seg = NULL;
	if (err && stage == SPOOL_IO_WRITE) {
		/* Nothing new is durable. Cut what may have been written
		 * (best effort: the retry writes the very same bytes). */
		sp->st.write_errors++;
		seg->retry = true;
		(void)!ftruncate(seg->fd, (off_t)seg_durable_end(seg));
		return err;
	}
	if (err) {
		sp->failed = -EIO;
		return err;
	}
	seg->ndurable += seg->ninflight;
	seg->ninflight = 0;
	seg->inflight.len = 0;
	seg->retry = false;
	seg->hdr_durable = true;
	sp->durable_seq = seg->first_seq + seg->ndurable - 1;
	sp->st.commits++;
	/* Only the last segment is written to: close the others' fds. */
	for (size_t i = 0; i + 1 < sp->nsegs; i++) {
		struct spool_seg *s = sp->segs[i];

		if (s->fd >= 0 && s->ndurable == s->nrec) {
			close_fd(s->fd);
			s->fd = -1;
		}
	}
	spool_trim(sp);
	return 0;
}

int spool_io_run(const struct spool_io *io, enum spool_io_stage *stage)
{
	int r;

	*stage = SPOOL_IO_WRITE;
	r = write_all(io->fd, io->iov, io->iovcnt, io->offset);
	if (r)
		return r;
	*stage = SPOOL_IO_SYNC;
	r = fsync_fd(io->fd, true);
	if (!r && io->dir_fd >= 0)
		r = fsync_fd(io->dir_fd, false);
	return r;
}

int spool_commit(struct spool *sp)
{
	enum spool_io_stage stage;
	struct spool_io io;
	int r;

	while ((r = spool_io_prepare(sp, &io)) == 1) {
		r = spool_io_run(&io, &stage);
		r = spool_io_complete(sp, r, stage);
		if (r)
			return r;
	}
	return r;
}

uint64_t spool_durable_seq(const struct spool *sp)
{
	return sp->durable_seq;
}

int spool_write_ack(struct spool *sp, uint64_t seq)
{
	uint8_t buf[ACK_FILE_LEN];
	struct iovec iov = { buf, sizeof(buf) };
	int fd, r;

	ack_encode(buf, seq, sp->salt);
	fd = openat(sp->dirfd, ACK_TMP_NAME,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, &iov, 1, 0);
	if (!r)
		r = fsync_fd(fd, true);
	if (close_fd(fd) && !r)
		r = -EIO;
	if (!r && renameat(sp->dirfd, ACK_TMP_NAME, sp->dirfd, ACK_NAME) < 0)
		r = -errno;
	if (r) {
		unlinkat(sp->dirfd, ACK_TMP_NAME, 0);
		return r;
	}
	/* The new ack may be on disk, or not: only the old one is relied
	 * upon, and the directory can no longer be trusted. */
	r = fsync_fd(sp->dirfd, false);
	if (r)
		sp->failed = -EIO;
	return r;
}

int spool_ack(struct spool *sp, uint64_t seq)
{
	int r;

	if (sp->failed)
		return sp->failed;
	if (seq > sp->durable_seq)
		return -EINVAL;
	if (seq > sp->ack_seq) {
		r = spool_write_ack(sp, seq);
		if (r)
			return r;
		sp->pending_bytes -= spool_bytes_between(sp, sp->ack_seq + 1,
							 seq);
		sp->ack_seq = seq;
	}
	spool_trim(sp);
	return 0;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	for (size_t i = 0; i < sp->nsegs; i++)
		seg_free(sp->segs[i]);
	free(sp->segs);
	if (sp->rd_fd >= 0)
		close_fd(sp->rd_fd);
	if (sp->dirfd >= 0)
		close_fd(sp->dirfd);
	free(sp);
}
