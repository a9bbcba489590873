// SPDX-License-Identifier: GPL-2.0
/*
 * The stress test's user link: one writer feeds both streams of ST_USER
 * with KEY_PUSH, a TX reader and an RX reader check that what they get is
 * exactly what was pushed at that epoch and offset. The pushed bytes are a
 * function of (epoch, offset), so the readers need no shared state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

#define UMAX	1024	/* key bytes per push and per read */

static unsigned char pat(uint64_t epoch, uint64_t off)
{
	uint64_t x = epoch * 0x9E3779B97F4A7C15ULL ^ off * 0xBF58476D1CE4E5B9ULL;

	x ^= x >> 31;
	x *= 0x94D049BB133111EBULL;
	return x >> 40;
}

static int pat_ok(const unsigned char *p, uint64_t epoch, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(epoch, off + i))
			return 0;
	return 1;
}

/* KEY_PUSH to both streams, each append-only; a new epoch every 300. */
void *st_pusher(void *arg)
{
	static const int ok[] = { -ENOSPC, -EKEYREJECTED, 0 };
	unsigned char data[UMAX];
	uint64_t epoch = 1, next[2] = { 0, 0 };
	unsigned int seed = 5, dir, len;
	struct qnl q;
	int r, n = 0;

	(void)arg;
	if (qnl_open(&q)) {
		st_fail(SC_SETUP, "pusher: netlink socket");
		return NULL;
	}
	while (!st_stop) {
		dir = st_rand(&seed) % 2;
		len = 1 + st_rand(&seed) % UMAX;
		for (unsigned int i = 0; i < len; i++)
			data[i] = pat(epoch, next[dir] + i);
		r = qnl_push(&q, ST_USER, dir, epoch, next[dir], data, len, NULL);
		if (st_expect("KEY_PUSH", r, ok)) {
			st_msleep(2);	/* full, or in ALARM: wait for the readers */
			continue;
		}
		next[dir] += len;
		st_inc(SC_USER_PUSHES, 1);
		if (++n % 300 == 0) {
			epoch++;	/* the next push moves the link */
			next[0] = next[1] = 0;
		}
	}
	qnl_close(&q);
	return NULL;
}

void *st_user_tx(void *arg)
{
	static const int ok[] = { -EAGAIN, -EINTR, 0 };
	static const int none[] = { 0 };
	struct reader *t = arg;
	unsigned char buf[QKD_HDR + UMAX];
	struct qkdkey_tx_hdr *h = (void *)buf;
	int fd = qkd_open_bind(ST_USER, QKDKEY_DIR_TX, O_RDONLY | O_NONBLOCK);
	size_t len;
	ssize_t r;

	if (st_expect("user TX bind", fd, none) < 0)
		return NULL;
	while (!st_stop) {
		len = 1 + st_rand(&t->seed) % UMAX;
		r = qkd_read(fd, buf, QKD_HDR + len);
		if (r == (ssize_t)(QKD_HDR + len) && h->length == len) {
			if (!pat_ok(buf + QKD_HDR, h->epoch, h->offset, len))
				st_fail(SC_USER_MISMATCH,
					"user TX epoch %llu offset %llu: not what was pushed",
					(unsigned long long)h->epoch,
					(unsigned long long)h->offset);
			rec_add(&t->recs, h->link_id, h->epoch, h->offset, h->length);
			st_tally(st_tx_bytes, h->link_id, len);
			st_inc(SC_USER_READS, 1);
			continue;
		}
		st_expect("user TX read", r < 0 ? r : -EIO, ok);
		if (r == -EAGAIN)
			st_wait_readable(fd, 20);
	}
	close(fd);
	return NULL;
}

/* Reads the user link's RX stream in order, from its end when it binds. */
void *st_user_rx(void *arg)
{
	static const int ok[] = { -EAGAIN, -ENOKEY, -ESTALE, 0 };
	struct reader *t = arg;
	struct qkdkey_link_info info;
	unsigned char buf[UMAX];
	uint64_t cur = 0, epoch = 0;
	int fd = -1;
	size_t len;
	ssize_t r;

	while (!st_stop) {
		if (fd < 0) {
			fd = qkd_open_bind(ST_USER, QKDKEY_DIR_RX, O_RDONLY | O_NONBLOCK);
			if (fd < 0 || qkd_info(fd, 0, &info)) {
				st_fail(SC_BAD_ERRNO, "user RX bind failed");
				break;
			}
			epoch = info.epoch;
			cur = info.rx_end;
		}
		len = 1 + st_rand(&t->seed) % UMAX;
		r = qkd_pread(fd, buf, len, cur);
		if (r == (ssize_t)len) {
			if (!pat_ok(buf, epoch, cur, len))
				st_fail(SC_USER_MISMATCH,
					"user RX epoch %llu offset %llu: not what was pushed",
					(unsigned long long)epoch, (unsigned long long)cur);
			st_tally(st_rx_bytes, info.link_id, len);
			st_inc(SC_USER_READS, 1);
			cur += len;
			continue;
		}
		st_expect("user RX read", r < 0 ? r : -EIO, ok);
		if (r == -EAGAIN) {
			st_wait_readable(fd, 20);
		} else if (r == -ENOKEY && !qkd_info(fd, 0, &info) &&
			   !(info.flags & QKDKEY_INFO_STALE)) {
			cur = info.rx_end;	/* expired: the pool overflowed */
		} else {
			close(fd);	/* a new epoch: bind again */
			fd = -1;
		}
	}
	memset(buf, 0, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return NULL;
}
