// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-agent: the hand-off from ingest to the spool, and group commit on
 * io_uring. A record counts as accepted (ACK to the Unix sender, PUBACK to
 * the broker) only once the commit that carries it has completed.
 *
 * A commit is one chain: IORING_OP_WRITEV of the spool's io, linked to
 * IORING_OP_FSYNC with IORING_FSYNC_DATASYNC, linked to an fsync of the
 * spool directory when the io creates a segment. A short write cancels
 * the rest of the chain: the rest of the bytes and the syncs are submitted
 * again (spool.h, "Asynchronous commit").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "agent_loop.h"
#include "ingest_mqtt.h"
#include "ingest_unix.h"

#define COMMIT_RETRY_MS	1000

enum { ST_WRITE, ST_SYNC, ST_DIRSYNC };

int ag_submit_record(void *ctx, const struct qkd_record *rec, uint64_t *seq)
{
	struct agent *a = ctx;
	int r;

	if (a->stopping)
		return -ESHUTDOWN;
	if (rec->payload_len > a->max_payload) {
		a->cnt.too_big++;
		ag_log(LOG_NOTICE,
		       "device %s seq %llu: payload of %u bytes exceeds max_payload %u",
		       rec->device_id, (unsigned long long)rec->device_seq,
		       rec->payload_len, a->max_payload);
		return -EMSGSIZE;
	}
	r = spool_append(a->sp, rec, seq);
	if (r)
		return r;
	if (!a->commit.due_ms)
		a->commit.due_ms = ag_now_ms() + a->cfg->spool.commit_interval_ms;
	return 0;
}

/* Every record up to the durable seq is accepted: tell the senders. */
static void durable(struct agent *a)
{
	uint64_t d = spool_durable_seq(a->sp);

	if (a->iu)
		ingest_unix_durable(a->iu, d);
	if (a->im)
		ingest_mqtt_durable(a->im, d);
}

static void commit_failed(struct agent *a, int err)
{
	a->cnt.commit_errors++;
	if (a->iu)
		ingest_unix_fail_pending(a->iu);
	if (a->im)
		ingest_mqtt_fail_pending(a->im);
	ag_fatal(a, "spool commit", err);
}

static void commit_submit(struct agent *a)
{
	struct ag_commit *c = &a->commit;
	struct io_uring_sqe *sqe;
	size_t skip = c->done;
	unsigned int n = 0;
	int r;

	for (int i = 0; i < c->io.iovcnt; i++) {
		struct iovec v = c->io.iov[i];

		if (skip >= v.iov_len) {
			skip -= v.iov_len;
			continue;
		}
		c->iov[n].iov_base = (uint8_t *)v.iov_base + skip;
		c->iov[n].iov_len = v.iov_len - skip;
		skip = 0;
		n++;
	}
	/* The chain must not be split by a submit in the middle. */
	if (io_uring_sq_space_left(&a->ring) < 3) {
		r = io_uring_submit(&a->ring);
		if (r < 0 || io_uring_sq_space_left(&a->ring) < 3) {
			ag_fatal(a, "io_uring_submit", r < 0 ? r : -EBUSY);
			return;
		}
	}
	c->res_write = c->res_sync = c->res_dsync = 0;
	sqe = io_uring_get_sqe(&a->ring);
	io_uring_prep_writev(sqe, c->io.fd, c->iov, n,
			     (uint64_t)c->io.offset + c->done);
	io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK);
	io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(AG_TAG_SPOOL, ST_WRITE));
	sqe = io_uring_get_sqe(&a->ring);
	io_uring_prep_fsync(sqe, c->io.fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(AG_TAG_SPOOL, ST_SYNC));
	c->cqes = 2;
	if (c->io.dir_fd >= 0) {
		io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK);
		sqe = io_uring_get_sqe(&a->ring);
		io_uring_prep_fsync(sqe, c->io.dir_fd, 0);
		io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(AG_TAG_SPOOL, ST_DIRSYNC));
		c->cqes = 3;
	}
	c->busy = true;
}

void ag_commit_start(struct agent *a, uint64_t now)
{
	struct ag_commit *c = &a->commit;
	int r;

	if (c->busy || !c->due_ms || now < c->due_ms || now < c->retry_ms ||
	    a->quit)
		return;
	r = spool_io_prepare(a->sp, &c->io);
	if (r == 0) {
		c->due_ms = 0;
		return;
	}
	if (r < 0) {
		if (r == -EIO) {
			commit_failed(a, r);
			return;
		}
		ag_log(LOG_ERR, "spool commit: %s (retrying)", strerror(-r));
		a->cnt.commit_errors++;
		c->retry_ms = now + COMMIT_RETRY_MS;
		return;
	}
	c->due_ms = 0;
	c->done = 0;
	commit_submit(a);
}

void ag_commit_cqe(struct agent *a, const struct io_uring_cqe *cqe)
{
	struct ag_commit *c = &a->commit;
	uint64_t now = ag_now_ms();
	struct spool_stats st;
	int r;

	if (!c->busy)
		return;
	switch (cqe->user_data & 0xff) {
	case ST_WRITE:
		c->res_write = cqe->res;
		break;
	case ST_SYNC:
		c->res_sync = cqe->res;
		break;
	default:
		c->res_dsync = cqe->res;
		break;
	}
	if (--c->cqes)
		return;
	c->busy = false;
	if (c->res_write >= 0 && c->done + (size_t)c->res_write < c->io.len) {
		if (c->res_write > 0) {
			/* Short write: the syncs were cancelled; go on. */
			c->done += (size_t)c->res_write;
			commit_submit(a);
			return;
		}
		c->res_write = -EIO;	/* no progress at all */
	}
	if (c->res_write < 0) {
		r = spool_io_complete(a->sp, c->res_write, SPOOL_IO_WRITE);
		a->cnt.commit_errors++;
		ag_log(LOG_ERR, "spool write: %s (retrying)", strerror(-r));
		c->retry_ms = now + COMMIT_RETRY_MS;
		c->due_ms = c->retry_ms;
		return;
	}
	r = c->res_sync < 0 ? c->res_sync : c->res_dsync;
	if (r < 0) {
		spool_io_complete(a->sp, r, SPOOL_IO_SYNC);
		commit_failed(a, r);
		return;
	}
	r = spool_io_complete(a->sp, 0, SPOOL_IO_WRITE);
	if (r) {
		commit_failed(a, r);
		return;
	}
	c->retry_ms = 0;
	durable(a);
	/* Records that came in during the commit go at once: they have
	 * waited for a whole commit already. */
	spool_get_stats(a->sp, &st);
	if (st.queued_records && !c->due_ms)
		c->due_ms = now;
}

int ag_commit_now(struct agent *a)
{
	int r;

	if (a->commit.busy)
		return -EBUSY;
	r = spool_commit(a->sp);
	if (r == -EIO) {
		commit_failed(a, r);
		return r;
	}
	durable(a);
	a->commit.due_ms = 0;
	return r;
}
