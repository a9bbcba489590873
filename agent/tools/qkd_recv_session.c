// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-recv: one session of the wire protocol, receiver side
 * (Documentation/wire-format.rst): HELLO, ACK_HELLO, then DATA frames
 * answered by cumulative ACKs. Every check of "Receiver rules" is made
 * before any key is read; every tag is verified before anything is used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/qkdkey.h>

#include "qkd_recv.h"

int recv_bind(struct recv_ctx *c, int fd, uint32_t dir)
{
	struct qkdkey_bind b = { .dir = dir };

	memcpy(b.name, c->link, strnlen(c->link, sizeof(b.name) - 1));
	return ioctl(fd, QKDKEY_IOC_BIND, &b) ? -errno : 0;
}

static int read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return got ? -EPIPE : -ENODATA;	/* ENODATA: clean EOF */
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t n)
{
	ssize_t r;

	while (n) {
		r = write(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One message into c->msg; returns its length, -ENODATA at EOF, -errno. */
static int read_msg(struct recv_ctx *c, int sock, enum qkd_msg_type *type)
{
	int total, r;

	r = read_full(sock, c->msg, QKD_PREFIX_LEN);
	if (r)
		return r;
	total = qkd_frame_peek(c->msg, QKD_PREFIX_LEN, type);
	if (total < 0)
		return total;
	r = read_full(sock, c->msg + QKD_PREFIX_LEN, (size_t)total - QKD_PREFIX_LEN);
	return r ? r : total;
}

/* Exactly n RX bytes at off (blocks until they are delivered). */
static int rx_key(struct recv_ctx *c, uint64_t epoch, uint64_t off, size_t n)
{
	struct qkdkey_link_info li = { 0 };
	ssize_t r;

	if (ioctl(c->rxfd, QKDKEY_IOC_LINK_INFO, &li))
		return -errno;
	if (li.flags & QKDKEY_INFO_STALE || li.epoch != epoch) {
		/* bound before an epoch change: bind again, then compare */
		if (recv_bind(c, c->rxfd, QKDKEY_DIR_RX))
			return -errno;
		memset(&li, 0, sizeof(li));
		if (ioctl(c->rxfd, QKDKEY_IOC_LINK_INFO, &li))
			return -errno;
		if (li.epoch != epoch)
			return -ESTALE;
	}
	do
		r = pread(c->rxfd, c->key, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -EIO;
}

/* n TX key bytes; *hdr says where they are. */
static int tx_key(struct recv_ctx *c, size_t n, struct qkdkey_tx_hdr *hdr)
{
	ssize_t r;

	do
		r = read(c->txfd, c->key, sizeof(*hdr) + n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r != sizeof(*hdr) + n)
		return -EIO;
	memcpy(hdr, c->key, sizeof(*hdr));
	memmove(c->key, c->key + sizeof(*hdr), n);
	qkd_wipe(c->key + n, sizeof(*hdr));
	return 0;
}

static int send_ack(struct recv_ctx *c, int sock, uint64_t sid, uint64_t seq,
		    uint64_t *epoch)
{
	struct qkdkey_tx_hdr hdr;
	struct qkd_ack a = { .session_id = sid, .ack_seq = seq };
	uint8_t out[QKD_ACK_LEN];
	int r;

	if (c->ack_delay_ms)
		usleep(c->ack_delay_ms * 1000);
	r = tx_key(c, QKD_ACK_KEY_LEN, &hdr);
	if (r)
		return r;
	if (hdr.epoch != *epoch) {
		qkd_wipe(c->key, QKD_ACK_KEY_LEN);
		return -ESTALE;	/* our TX epoch moved: a new session */
	}
	a.epoch = hdr.epoch;
	a.key_offset = hdr.offset;
	r = qkd_ack_seal(out, sizeof(out), &a, c->r2, c->key);
	qkd_wipe(c->key, QKD_ACK_KEY_LEN);
	if (r < 0)
		return r;
	c->acks++;
	if (++c->acks_total == c->corrupt_ack) {
		out[QKD_ACK_LEN - 1] ^= 1;	/* a forgery the gateway must catch */
		fprintf(stderr, "qkd-recv: ack %llu sent with a corrupt tag\n",
			(unsigned long long)c->acks_total);
	}
	return write_full(sock, out, sizeof(out));
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "qkd-recv: %s: %s\n", what, strerror(-err));
	return err;
}

static int do_hello(struct recv_ctx *c, int sock, struct qkd_hello *h,
		    uint64_t *tx_epoch)
{
	struct qkd_hello ah = { .type = QKD_MSG_ACK_HELLO };
	struct qkdkey_tx_hdr hdr;
	enum qkd_msg_type t;
	uint8_t out[QKD_HELLO_LEN];
	int len, r;

	len = read_msg(c, sock, &t);
	if (len == -ENODATA)
		return len;
	if (len < 0)
		return fail("reading HELLO", len);
	if (t != QKD_MSG_HELLO)
		return fail("first message is not a HELLO", -EPROTO);
	r = qkd_hello_parse(c->msg, (size_t)len, h);
	if (r)
		return fail("HELLO", r);
	r = rx_key(c, h->epoch, h->r_offset, QKD_HELLO_KEY_LEN);
	if (r)
		return fail("HELLO: RX key", r);
	r = qkd_hello_verify(c->msg, (size_t)len, c->key);
	if (!r)
		memcpy(c->r, c->key, QKD_R_LEN);
	qkd_wipe(c->key, QKD_HELLO_KEY_LEN);
	if (r)
		return fail("HELLO: tag", r);

	r = tx_key(c, QKD_HELLO_KEY_LEN, &hdr);
	if (r)
		return fail("ACK_HELLO: TX key", r);
	ah.session_id = h->session_id;
	ah.epoch = hdr.epoch;
	ah.r_offset = hdr.offset;
	ah.link_id = hdr.link_id;
	memcpy(ah.link_name, c->link, strnlen(c->link, QKD_LINK_NAME_LEN - 1));
	r = qkd_hello_seal(out, sizeof(out), &ah, c->key);
	memcpy(c->r2, c->key, QKD_R_LEN);
	qkd_wipe(c->key, QKD_HELLO_KEY_LEN);
	if (r < 0)
		return fail("ACK_HELLO", r);
	*tx_epoch = hdr.epoch;
	r = write_full(sock, out, sizeof(out));
	return r ? fail("sending ACK_HELLO", r) : 0;
}

static bool readable(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

int recv_session(struct recv_ctx *c, int sock)
{
	struct qkd_hello h;
	struct qkd_data_hdr d;
	enum qkd_msg_type t;
	uint64_t tx_epoch = 0, cursor, last = 0, acked = 0;
	size_t n;
	int len, r;

	c->frames = c->fresh = c->dups = c->acks = 0;
	r = do_hello(c, sock, &h, &tx_epoch);
	if (r)
		goto out;
	fprintf(stderr, "qkd-recv: session %016llx: link %.15s epoch %llu\n",
		(unsigned long long)h.session_id, h.link_name,
		(unsigned long long)h.epoch);
	cursor = h.r_offset + QKD_HELLO_KEY_LEN;
	for (;;) {
		if (last > acked &&
		    (last - acked >= c->ack_every || !readable(sock))) {
			r = send_ack(c, sock, h.session_id, last, &tx_epoch);
			if (r) {
				fail("ACK", r);
				goto out;
			}
			acked = last;
		}
		len = read_msg(c, sock, &t);
		if (len < 0) {
			r = len == -ENODATA ? 0 : fail("reading DATA", len);
			goto out;
		}
		r = t == QKD_MSG_DATA ? qkd_data_parse(c->msg, (size_t)len, &d) : -EPROTO;
		if (r) {
			fail("DATA", r);
			goto out;
		}
		if (d.session_id != h.session_id || d.epoch != h.epoch ||
		    d.seq != last + 1 || d.key_offset < cursor) {
			fprintf(stderr, "qkd-recv: DATA out of place: seq %llu (expected %llu), key offset %llu (cursor %llu)\n",
				(unsigned long long)d.seq,
				(unsigned long long)last + 1,
				(unsigned long long)d.key_offset,
				(unsigned long long)cursor);
			r = -EPROTO;
			goto out;
		}
		n = QKD_DATA_KEY_LEN(d.payload_len);
		r = rx_key(c, d.epoch, d.key_offset, n);
		if (r) {
			fail("DATA: RX key", r);
			goto out;
		}
		r = qkd_data_open(c->msg, (size_t)len, c->r, c->key, n,
				  c->payload, QKD_PAYLOAD_MAX);
		qkd_wipe(c->key, n);
		if (r < 0) {
			fail("DATA: open", r);
			goto out;
		}
		cursor = d.key_offset + n;
		last = d.seq;
		c->frames++;
		if (recv_record(c, &d, c->payload))
			c->fresh++;
		else
			c->dups++;
	}
out:
	qkd_wipe(c->r, QKD_R_LEN);
	qkd_wipe(c->r2, QKD_R_LEN);
	if (r != -ENODATA)
		fprintf(stderr, "qkd-recv: session ended%s: %llu frames, %llu new, %llu duplicates, %llu acks\n",
			r ? " by an error" : "", (unsigned long long)c->frames,
			(unsigned long long)c->fresh, (unsigned long long)c->dups,
			(unsigned long long)c->acks);
	return r == -ENODATA ? 0 : r;
}
