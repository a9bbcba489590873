// SPDX-License-Identifier: GPL-2.0
/*
 * Spool: reading durable records for forwarding, and the counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "spool_int.h"

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
	st->next_seq = sp->next_seq;
	st->durable_seq = sp->durable_seq;
	st->ack_seq = sp->ack_seq;
	st->pending_records = sp->next_seq - 1 - sp->ack_seq;
	st->pending_bytes = sp->pending_bytes;
	st->queued_records = sp->next_seq - 1 - sp->durable_seq;
	st->segments = sp->nsegs;
}

int spool_iter_init(struct spool *sp, struct spool_iter *it, uint64_t from)
{
	it->sp = sp;
	it->next = from;
	it->buf = malloc(SPOOL_FRAME_MAX);
	return it->buf ? 0 : -ENOMEM;
}

void spool_iter_release(struct spool_iter *it)
{
	free(it->buf);
	it->buf = NULL;
}

static int seg_read_fd(struct spool *sp, struct spool_seg *seg)
{
	char name[SEG_NAME_LEN];
	int fd;

	if (seg->fd >= 0)
		return seg->fd;
	if (sp->rd_seg == seg)
		return sp->rd_fd;
	seg_name(name, seg->first_seq);
	fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (sp->rd_fd >= 0)
		close_fd(sp->rd_fd);
	sp->rd_fd = fd;
	sp->rd_seg = seg;
	return fd;
}

int spool_iter_next(struct spool_iter *it, uint64_t *seq,
		    struct qkd_record *rec)
{
	struct spool *sp = it->sp;
	struct spool_seg *seg;
	uint64_t start, fseq, group;
	uint32_t i, len;
	int fd, r;

	if (it->next <= sp->ack_seq)
		it->next = sp->ack_seq + 1;
	if (it->next > sp->durable_seq)
		return 0;
	seg = seg_find(sp, it->next);
	if (!seg)
		return -EIO;	/* cannot happen: durable seqs are indexed */
	i = (uint32_t)(it->next - seg->first_seq);
	start = seg_frame_start(seg, i);
	len = seg->end[i] - (uint32_t)start;
	fd = seg_read_fd(sp, seg);
	if (fd < 0)
		return fd;
	r = read_all(fd, it->buf, len, (off_t)start);
	if (r)
		return r == -ENODATA ? -EBADMSG : r;
	if (frame_check(it->buf, len, sp->salt, &fseq, &group, rec) != len ||
	    fseq != it->next)
		return -EBADMSG;
	*seq = it->next++;
	return 1;
}
