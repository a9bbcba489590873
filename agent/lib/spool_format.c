// SPDX-License-Identifier: GPL-2.0
/*
 * Spool byte layout (see spool.h): CRC32C, segment names and headers,
 * frames, the ack file; and the I/O helpers that retry EINTR and short
 * transfers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool_int.h"

/* CRC32C, reflected polynomial 0x82f63b78, slicing by 8. */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_tab[0][n] = c;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][n] = (crc_tab[t - 1][n] >> 8) ^
					crc_tab[0][crc_tab[t - 1][n] & 0xff];
}

uint32_t spool_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint32_t lo = crc ^ get_le32(p), hi = get_le32(p + 4);

		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		      crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
		      crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

void seg_name(char name[SEG_NAME_LEN], uint64_t first_seq)
{
	snprintf(name, SEG_NAME_LEN, "seg-%016llx.log",
		 (unsigned long long)first_seq);
}

bool seg_name_parse(const char *name, uint64_t *first_seq)
{
	uint64_t v = 0;

	if (strlen(name) != SEG_NAME_LEN - 1 || strncmp(name, "seg-", 4) ||
	    strcmp(name + 20, ".log"))
		return false;
	for (int i = 4; i < 20; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*first_seq = v;
	return true;
}

void seg_hdr_encode(uint8_t *hdr, uint64_t first_seq)
{
	memset(hdr, 0, SPOOL_SEG_HDR_LEN);
	memcpy(hdr, SEG_MAGIC, 8);
	put_le32(hdr + 8, SEG_VERSION);
	put_le64(hdr + 16, first_seq);
	put_le32(hdr + 28, spool_crc32c(0, hdr, 28));
}

int seg_hdr_check(const uint8_t *buf, size_t avail, uint64_t *first_seq)
{
	if (avail < SPOOL_SEG_HDR_LEN ||
	    spool_crc32c(0, buf, 28) != get_le32(buf + 28))
		return 0;
	if (memcmp(buf, SEG_MAGIC, 8) || get_le32(buf + 8) != SEG_VERSION ||
	    get_le32(buf + 12) || get_le32(buf + 24))
		return -EBADMSG;
	*first_seq = get_le64(buf + 16);
	return 1;
}

static uint32_t frame_crc(uint64_t salt, const uint8_t *frame, uint32_t len)
{
	uint8_t s[8];
	uint32_t c;

	put_le64(s, salt);
	c = spool_crc32c(0, s, 8);
	c = spool_crc32c(c, frame, 4);

	c = spool_crc32c(c, frame + 8, 16);
	return spool_crc32c(c, frame + SPOOL_FRAME_HDR_LEN, len);
}

size_t frame_encode(uint8_t *buf, uint64_t salt, uint64_t seq,
		    uint64_t group, const struct qkd_record *rec,
		    size_t body_len)
{
	size_t size = frame_size(body_len);

	put_le32(buf, (uint32_t)body_len);
	put_le64(buf + 8, seq);
	put_le64(buf + 16, group);
	qkd_record_encode(rec, buf + SPOOL_FRAME_HDR_LEN);
	memset(buf + SPOOL_FRAME_HDR_LEN + body_len, 0,
	       size - SPOOL_FRAME_HDR_LEN - body_len);
	put_le32(buf + 4, frame_crc(salt, buf, (uint32_t)body_len));
	return size;
}

size_t frame_check(const uint8_t *buf, size_t avail, uint64_t salt,
		   uint64_t *seq, uint64_t *group, struct qkd_record *rec)
{
	struct qkd_record tmp;
	uint32_t len;
	size_t size;

	if (avail < SPOOL_FRAME_HDR_LEN)
		return 0;
	len = get_le32(buf);
	if (len < QKD_REC_MIN_LEN || len > QKD_REC_MAX_LEN)
		return 0;
	size = frame_size(len);
	if (size > avail || get_le64(buf + 16) > get_le64(buf + 8))
		return 0;
	if (frame_crc(salt, buf, len) != get_le32(buf + 4))
		return 0;
	for (size_t i = SPOOL_FRAME_HDR_LEN + len; i < size; i++)
		if (buf[i])
			return 0;
	if (qkd_record_decode(buf + SPOOL_FRAME_HDR_LEN, len, rec ? rec : &tmp))
		return 0;
	*seq = get_le64(buf + 8);
	*group = get_le64(buf + 16);
	return size;
}

void ack_encode(uint8_t buf[ACK_FILE_LEN], uint64_t seq, uint64_t salt)
{
	memset(buf, 0, ACK_FILE_LEN);
	memcpy(buf, ACK_MAGIC, 8);
	put_le64(buf + 8, seq);
	put_le64(buf + 16, salt);
	put_le32(buf + 28, spool_crc32c(0, buf, 28));
}

int ack_decode(const uint8_t *buf, size_t len, uint64_t *seq,
	       uint64_t *salt)
{
	if (len != ACK_FILE_LEN || memcmp(buf, ACK_MAGIC, 8) ||
	    get_le32(buf + 24) ||
	    spool_crc32c(0, buf, 28) != get_le32(buf + 28))
		return -EBADMSG;
	*seq = get_le64(buf + 8);
	*salt = get_le64(buf + 16);
	return 0;
}

int buf_reserve(struct spool_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 65536;
	uint8_t *p;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

void buf_free(struct spool_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

#define IOV_MAX_LOCAL 4

int write_all(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	struct iovec v[IOV_MAX_LOCAL];
	int i = 0;

	if (iovcnt > IOV_MAX_LOCAL)
		return -EINVAL;
	memcpy(v, iov, sizeof(*iov) * (size_t)iovcnt);
	while (i < iovcnt) {
		ssize_t n;

		if (!v[i].iov_len) {
			i++;
			continue;
		}
		n = pwritev(fd, v + i, iovcnt - i, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += n;
		while (n > 0) {
			size_t step = (size_t)n < v[i].iov_len ? (size_t)n :
				      v[i].iov_len;

			v[i].iov_base = (uint8_t *)v[i].iov_base + step;
			v[i].iov_len -= step;
			n -= (ssize_t)step;
			if (!v[i].iov_len)
				i++;
		}
	}
	return 0;
}

int read_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int fsync_fd(int fd, bool data_only)
{
	int r;

	do
		r = data_only ? fdatasync(fd) : fsync(fd);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int close_fd(int fd)
{
	/* On Linux the fd is released even when close() fails. */
	if (close(fd) < 0 && errno != EINTR)
		return -errno;
	return 0;
}
