// SPDX-License-Identifier: GPL-2.0
/*
 * Spool internals shared by spool.c (append, commit, ack), spool_read.c
 * (forwarding reads, counters), spool_recover.c (open) and spool_format.c
 * (byte layout, CRC32C, I/O).
 */
#ifndef QKD_SPOOL_INT_H
#define QKD_SPOOL_INT_H

#include "spool.h"

#define SEG_MAGIC		"QKDSPL01"
#define SEG_VERSION		1
#define ACK_MAGIC		"QKDACK01"
#define ACK_FILE_LEN		32
#define ACK_NAME		"ack"
#define ACK_TMP_NAME		"ack.tmp"
#define SEG_NAME_LEN		(4 + 16 + 4 + 1)	/* "seg-" hex ".log" NUL */

#define DEF_SEGMENT_BYTES	(4ull << 20)
#define MIN_SEGMENT_BYTES	(64ull << 10)
#define MAX_SEGMENT_BYTES	(1ull << 30)
#define DEF_PENDING_BYTES	(64ull << 20)

struct spool_buf {
	uint8_t *data;
	size_t len, cap;
};

/*
 * One segment file, existing or still to be created. Its records are, in
 * order: ndurable durable ones, ninflight in the write in flight (or
 * waiting to be retried), then the queued ones in q.
 */
struct spool_seg {
	uint64_t first_seq;
	uint32_t nrec;		/* records indexed */
	uint32_t ndurable;
	uint32_t ninflight;
	uint32_t cap;
	uint32_t *end;		/* end[i]: file offset just past frame i */
	int fd;			/* -1: not open */
	bool created;		/* the file exists */
	bool hdr_durable;	/* header written, synced, dir synced */
	bool retry;		/* inflight holds a failed write to redo */
	uint64_t q_group;	/* group of the frames in q */
	struct spool_buf q;
	struct spool_buf inflight;
	uint8_t hdr[SPOOL_SEG_HDR_LEN];
};

struct spool {
	int dirfd;
	struct spool_opts opts;
	struct spool_seg **segs;
	size_t nsegs, segcap;
	uint64_t next_seq;
	uint64_t durable_seq;
	uint64_t ack_seq;
	uint64_t pending_bytes;
	uint64_t salt;			/* secret CRC prefix, from the ack file */
	struct spool_seg *io_seg;	/* write in flight, or NULL */
	int failed;			/* sticky -EIO after a failed sync */
	struct spool_seg *rd_seg;	/* read fd cache for closed segments */
	int rd_fd;
	struct spool_stats st;		/* the counters kept as such */
};

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline size_t frame_size(size_t body_len)
{
	return (SPOOL_FRAME_HDR_LEN + body_len + 7) & ~(size_t)7;
}

/* Offset of frame i of seg. */
static inline uint64_t seg_frame_start(const struct spool_seg *seg, uint32_t i)
{
	return i ? seg->end[i - 1] : SPOOL_SEG_HDR_LEN;
}

static inline uint64_t seg_last_seq(const struct spool_seg *seg)
{
	return seg->first_seq + seg->nrec - 1;
}

/* spool_format.c */
uint32_t spool_crc32c(uint32_t crc, const void *buf, size_t len);
void seg_name(char name[SEG_NAME_LEN], uint64_t first_seq);
bool seg_name_parse(const char *name, uint64_t *first_seq);
void seg_hdr_encode(uint8_t *hdr, uint64_t first_seq);
/* 1 valid, 0 torn (short or bad CRC), -EBADMSG valid CRC, bad contents. */
int seg_hdr_check(const uint8_t *buf, size_t avail, uint64_t *first_seq);
/* Encodes a checked record as one frame; returns its size. */
size_t frame_encode(uint8_t *buf, uint64_t salt, uint64_t seq,
		    uint64_t group, const struct qkd_record *rec,
		    size_t body_len);
/* Size of the valid frame at buf (CRC, lengths, padding, record), or 0. */
size_t frame_check(const uint8_t *buf, size_t avail, uint64_t salt,
		   uint64_t *seq, uint64_t *group, struct qkd_record *rec);
void ack_encode(uint8_t buf[ACK_FILE_LEN], uint64_t seq, uint64_t salt);
int ack_decode(const uint8_t *buf, size_t len, uint64_t *seq,
	       uint64_t *salt);
int buf_reserve(struct spool_buf *b, size_t more);
void buf_free(struct spool_buf *b);
int write_all(int fd, const struct iovec *iov, int iovcnt, off_t off);
int read_all(int fd, void *buf, size_t len, off_t off);
int fsync_fd(int fd, bool data_only);
int close_fd(int fd);

/* spool.c */
struct spool_seg *seg_new(uint64_t first_seq);
void seg_free(struct spool_seg *seg);
int seg_push(struct spool *sp, struct spool_seg *seg);
int seg_index_add(struct spool_seg *seg, uint64_t end);
/* The segment holding seq, or NULL if seq is not indexed. */
struct spool_seg *seg_find(const struct spool *sp, uint64_t seq);
/* Unlinks fully acked segments except the last and the one being written. */
void spool_trim(struct spool *sp);
/* Sum of frame bytes of seqs [from, to], all of them indexed. */
uint64_t spool_bytes_between(const struct spool *sp, uint64_t from,
			     uint64_t to);
/* Replaces DIR/ack durably with (seq, sp->salt). */
int spool_write_ack(struct spool *sp, uint64_t seq);

#endif /* QKD_SPOOL_INT_H */
