// SPDX-License-Identifier: GPL-2.0
/*
 * Durable spool of the gateway agent (DESIGN.md §4): accepted device records
 * wait here until the ledger's authenticated ack covers them.
 *
 * Life of a record:
 *   spool_append()   queues it in memory and gives it the next spool seq;
 *                    it is NOT accepted yet and is lost on a crash.
 *   spool_commit()   writes and fdatasync()s every queued record (one group
 *                    commit); on success they are durable, i.e. accepted:
 *                    spool_durable_seq() >= their seq. Only then may the
 *                    caller tell the device (or MQTT) that it has the record.
 *   spool_iter_*()   read durable, unacked records for forwarding.
 *   spool_ack(seq)   the ledger acked everything <= seq: the ack cursor is
 *                    persisted, then fully acked segment files are unlinked.
 *
 * Seqs start at 1 and only grow; seqs of records that never became durable
 * (a crash or a failed commit before spool_commit() returned 0) may be given
 * again after spool_open(), since nobody was told they existed.
 *
 * On-disk format (all integers little-endian), in directory DIR:
 *   DIR/seg-<first seq, 16 lowercase hex>.log   append-only segments:
 *     header, 32 bytes: "QKDSPL01", u32 version (1), u32 0, u64 first seq,
 *                       u32 0, u32 CRC32C of bytes 0..27
 *     frames, each starting at a multiple of 8:
 *       u32 len           length of the record body (record.h encoding)
 *       u32 crc           CRC32C of salt (u64), len, seq, group and body
 *       u64 seq           spool seq: first seq of the segment, then +1 each
 *       u64 group         seq of the first frame of the write() that carried
 *                         this frame (its commit group)
 *       body[len], then zero padding to a multiple of 8
 *   DIR/ack   32 bytes: "QKDACK01", u64 ack seq, u64 salt, u32 0,
 *             u32 CRC32C of 0..27; replaced by write ack.tmp + fdatasync +
 *             rename + fsync(DIR). Created (ack seq 0, salt from
 *             getrandom()) when a spool is new, before any segment.
 *
 * Checksum: CRC32C (Castagnoli, own table-driven code), prefixed with the
 * spool's secret random salt. The spool guards against torn writes and
 * media errors, not against an attacker who can write the state directory
 * (she could rewrite any checksum, keyed or not, as the key sits next to
 * the data); CRC32C detects every burst error up to 32 bits, needs no
 * library and costs far less than the fdatasync. The salt is there because
 * payloads come from devices: a device could embed a well-formed frame in
 * its payload, and rule 3 below looks for frames at every 8-aligned offset
 * of a torn tail; without the salt, such a payload in a torn write would
 * make open fail. Forging a salted CRC takes 2^32 tries per frame.
 *
 * Write ordering, which the recovery rule relies on:
 *   - a write to a segment is issued only after the previous one returned
 *     and was fdatasync()ed; a failed write is retried with the same bytes;
 *   - a segment file is created only when every earlier one is complete
 *     and fdatasync()ed; its creation is durable (fsync of DIR) before any
 *     record in it counts as accepted;
 *   - the ack file is durable before any segment is unlinked (the unlinks
 *     themselves need no fsync: a segment that comes back is acked, rule 1).
 *
 * Recovery rule (spool_open), A being the ack seq from DIR/ack:
 *   0. No DIR/ack: a new spool if there is no segment, else -EBADMSG.
 *   1. Segments are taken in seq order. Let F be the last one starting at
 *      or before A + 1 (if the first starts after A + 1, records are
 *      missing: -EBADMSG). Those before F hold only acked records: they
 *      are unlinked unread. From F on, each segment must start at the seq
 *      after the previous one's last (else -EBADMSG: missing or overlap).
 *   2. Every segment but the last must be entirely valid up to its end: a
 *      valid header, then valid frames with consecutive seqs to EOF, else
 *      -EBADMSG.
 *   3. In the last segment, let X be the first invalid byte (an invalid
 *      header counts as X = 0) and s the seq expected there. [X, EOF) is a
 *      torn tail iff no frame with a valid CRC at any 8-aligned offset in it
 *      has group > s: such a frame would come from a write issued after the
 *      one holding seq s had been fdatasync()ed, so the bad bytes were
 *      accepted data and open fails with -EBADMSG. A torn tail is cut off
 *      (ftruncate + fsync; if X is in the header the file is unlinked +
 *      fsync(DIR)) before anything else is written. Seqs from s on were
 *      never accepted and are given again.
 *   4. If segments remain, A may not exceed the last seq found (-EBADMSG);
 *      fully acked segments other than the last are unlinked.
 * Open changes nothing else (but for removing a stale ack.tmp), so a
 * second open finds nothing to do.
 * Assumed of the disk: a sector rewritten with the bytes it already holds
 * is not damaged by a power cut (a write's first page also holds the end
 * of the previous, committed write).
 * Known limit of rule 3: damage by the medium (not a crash) to the last
 * committed write cannot be told from a torn write if nothing was written
 * after it; the CRC detects it, the rule then drops it. A crash can't cause
 * that. Open reports what it cut in spool_stats (torn_bytes, torn_files).
 *
 * Threads: a struct spool is not thread-safe; one event loop owns it.
 * Errors are negative errno values. -EIO from any call after a failed
 * fdatasync: the spool is unusable (the kernel may have dropped the dirty
 * pages), close and reopen it to rescan what really is on disk.
 */
#ifndef QKD_SPOOL_H
#define QKD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "record.h"

#define SPOOL_SEG_HDR_LEN	32
#define SPOOL_FRAME_HDR_LEN	24
/* Largest frame: header + largest record body, padded to 8. */
#define SPOOL_FRAME_MAX		((SPOOL_FRAME_HDR_LEN + QKD_REC_MAX_LEN + 7) & ~7u)

struct spool;

struct spool_opts {
	/* A segment is rotated when a frame would take it past this many
	 * bytes; 0 means 4 MiB. Range: 64 KiB .. 1 GiB. */
	uint64_t segment_bytes;
	/* Limit on unacked frame bytes (queued + durable); when a record
	 * would pass it, spool_append() fails with -ENOSPC. 0 means 64 MiB;
	 * at least SPOOL_FRAME_MAX. */
	uint64_t max_pending_bytes;
};

struct spool_stats {
	uint64_t next_seq;		/* seq the next append gets */
	uint64_t durable_seq;		/* every seq <= this is accepted */
	uint64_t ack_seq;		/* every seq <= this is acked */
	uint64_t pending_records;	/* unacked, queued or durable */
	uint64_t pending_bytes;		/* their frame bytes (the limit) */
	uint64_t queued_records;	/* appended, not yet durable */
	uint64_t refused;		/* appends refused with -ENOSPC */
	uint64_t segments;		/* segment files (and ones to create) */
	uint64_t commits;		/* successful writes + fdatasync */
	uint64_t write_errors;		/* failed writes (retried) */
	uint64_t trim_errors;		/* failed unlinks (retried) */
	uint64_t recovered_records;	/* unacked records found by open */
	uint64_t torn_bytes;		/* bytes cut by open (rule 3) */
	uint64_t torn_files;		/* segment files removed by open */
};

/*
 * Opens (creating DIR if missing) and recovers the spool; takes an exclusive
 * flock on DIR (-EWOULDBLOCK if another process has it). opts may be NULL.
 * On failure, if err is not NULL, a one-line reason is written to it
 * (e.g. "seg-0000000000000001.log: bad frame at offset 4096 (crc) but
 * frame seq 9 at 8192 was written after it: corrupt accepted data").
 */
int spool_open(const char *dir, const struct spool_opts *opts,
	       struct spool **out, char *err, size_t errlen);

/* Frees everything; queued records that were not committed are dropped
 * (they were never accepted). An io must not be in flight. */
void spool_close(struct spool *sp);

/*
 * Queues a record (copied). *seq gets its spool seq. The record is only
 * queued: it counts as accepted once spool_durable_seq() >= *seq.
 * -EINVAL bad record, -ENOSPC pending byte limit reached (counted in
 * stats.refused; nothing queued, nothing dropped), -ENOMEM, -EIO.
 */
int spool_append(struct spool *sp, const struct qkd_record *rec,
		 uint64_t *seq);

/*
 * Makes every queued record durable (synchronously: pwritev + fdatasync,
 * plus fsync(DIR) when a segment is created). 0: all records appended
 * before the call are accepted. On a write error (-ENOSPC, -EDQUOT, -EFBIG
 * from the filesystem...) nothing new is accepted, the records stay queued
 * and the next commit retries; -EIO after a failed fdatasync is final.
 * -EBUSY if an asynchronous io is in flight.
 */
int spool_commit(struct spool *sp);

/* Highest seq that is durable; everything at or below it is accepted. */
uint64_t spool_durable_seq(const struct spool *sp);

/*
 * The ledger acked every record at or below seq. seq <= the current ack
 * seq is a no-op, seq > spool_durable_seq() is -EINVAL.
 * Persists the ack seq, then unlinks fully acked segments (not the one
 * being written). A failed unlink is counted and retried on the next ack.
 */
int spool_ack(struct spool *sp, uint64_t seq);

void spool_get_stats(const struct spool *sp, struct spool_stats *st);

/*
 * Forwarding: reads durable records in seq order from `from` (0, or below
 * the ack cursor, means ack seq + 1). Acks and appends may happen between
 * calls; records acked meanwhile are skipped.
 */
struct spool_iter {
	struct spool *sp;
	uint64_t next;
	uint8_t *buf;
};

int spool_iter_init(struct spool *sp, struct spool_iter *it, uint64_t from);
/* 1 and *seq, *rec set (rec->payload valid until the next call), 0 at the
 * durable end, -EBADMSG if the record on disk no longer checks, -errno. */
int spool_iter_next(struct spool_iter *it, uint64_t *seq,
		    struct qkd_record *rec);
void spool_iter_release(struct spool_iter *it);

/*
 * Asynchronous commit, for an io_uring loop. spool_commit() is exactly:
 *	while ((r = spool_io_prepare(sp, &io)) == 1) {
 *		r = spool_io_run(&io, &stage);
 *		if ((r = spool_io_complete(sp, r, stage)))
 *			return r;
 *	}
 *	return r;
 * spool_io_prepare() returns 1 and fills io with one write to do, 0 if
 * nothing is queued, -EBUSY if a write is already in flight. The caller
 * then writes all io->len bytes of io->iov at io->offset of io->fd
 * (resubmitting the rest after a short write), fdatasync()s io->fd and,
 * if io->dir_fd >= 0, fsync()s io->dir_fd; then it reports the result with
 * spool_io_complete(): err 0, or the negative errno and the stage that
 * failed. io's buffers stay valid (appends may go on) until then.
 * Records of the io are accepted when spool_io_complete() returns 0.
 * With io_uring: a writev SQE linked to fsync(IORING_FSYNC_DATASYNC) (and
 * to fsync of dir_fd); a short write cancels the link, so resubmit the
 * rest and the syncs. A segment rotation does openat(O_CREAT) inside
 * spool_io_prepare(), once per segment.
 *
 * Descriptors: the directory, the segment being written, one cached for
 * reading older segments.
 */
enum spool_io_stage {
	SPOOL_IO_WRITE,		/* write failed or was cut short: retried */
	SPOOL_IO_SYNC,		/* fdatasync(fd) or fsync(dir_fd) failed: -EIO */
};

struct spool_io {
	int fd;
	off_t offset;
	struct iovec iov[2];
	int iovcnt;
	size_t len;
	int dir_fd;
};

int spool_io_prepare(struct spool *sp, struct spool_io *io);
int spool_io_complete(struct spool *sp, int err, enum spool_io_stage stage);
/* Does io synchronously (EINTR and short writes handled): 0 or -errno,
 * *stage tells which step failed. */
int spool_io_run(const struct spool_io *io, enum spool_io_stage *stage);

#endif /* QKD_SPOOL_H */
