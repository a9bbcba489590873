// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-rogue-gw: TX key from /dev/qkdkey and the TCP connection to the
 * ledger. See ledgerd_rogue.h. Key bytes are wiped after use, never printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "ledgerd_rogue.h"

uint8_t rg_msg[QKD_FRAME_MAX], rg_key[512];

/* len TX key bytes into rg_key; their epoch and offset in *h. */
int rg_tx_key(struct rogue *g, uint32_t len, struct qkdkey_tx_hdr *h)
{
	uint8_t buf[sizeof(*h) + 512];
	ssize_t n;

	if (len > sizeof(buf) - sizeof(*h))
		return -EINVAL;
	do
		n = read(g->kfd, buf, sizeof(*h) + len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(sizeof(*h) + len)) {
		fprintf(stderr, "qkd-rogue-gw: TX key read: %s\n",
			n < 0 ? strerror(errno) : "short read");
		return -EIO;
	}
	memcpy(h, buf, sizeof(*h));
	memcpy(rg_key, buf + sizeof(*h), len);
	sodium_memzero(buf, sizeof(buf));
	g->link_id = h->link_id;
	return 0;
}

/* The offset the link's next TX read starts at, and (if end) one past
 * the TX key delivered: the peer's RX stream is delivered the same bytes. */
int rg_tx_next(struct rogue *g, uint64_t *next, uint64_t *end)
{
	struct qkdkey_link_info li;

	memset(&li, 0, sizeof(li));
	if (ioctl(g->kfd, QKDKEY_IOC_LINK_INFO, &li)) {
		int e = errno;

		fprintf(stderr, "qkd-rogue-gw: LINK_INFO: %s\n", strerror(e));
		return -e;
	}
	*next = li.tx_next;
	if (end)
		*end = li.tx_next + li.tx_avail;
	return 0;
}

/* Takes TX key (and wipes it) until the stream is delivered up to end. */
int rg_tx_drain(struct rogue *g, uint64_t end)
{
	static uint8_t buf[sizeof(struct qkdkey_tx_hdr) + 65536];
	struct qkdkey_tx_hdr h = { 0 };
	ssize_t n;

	do {
		n = read(g->kfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(buf)) {
			fprintf(stderr, "qkd-rogue-gw: TX key read: %s\n",
				n < 0 ? strerror(errno) : "short read");
			return -EIO;
		}
		memcpy(&h, buf, sizeof(h));
		sodium_memzero(buf, sizeof(buf));
	} while (h.offset + h.length < end);
	return 0;
}

int rg_send_all(struct rogue *g, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(g->sfd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 1 with len bytes read, 0 on EOF, -errno (-EAGAIN: timed out). */
static int recv_all(struct rogue *g, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = recv(g->sfd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return 0;
		if (n < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

/* One message into rg_msg: its length, 0 on EOF or reset, -errno. */
int rg_recv_msg(struct rogue *g, enum qkd_msg_type *t)
{
	int r = recv_all(g, rg_msg, QKD_PREFIX_LEN), total;

	if (r <= 0)
		return r == -ECONNRESET ? 0 : r;
	total = qkd_frame_peek(rg_msg, QKD_PREFIX_LEN, t);
	if (total < 0)
		return total;
	r = recv_all(g, rg_msg + QKD_PREFIX_LEN, (size_t)total - QKD_PREFIX_LEN);
	if (r <= 0)
		return r == -ECONNRESET ? 0 : r ? r : -EPIPE;
	return total;
}

int rg_connect_ledger(struct rogue *g)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct timeval tv = { .tv_sec = g->timeout };
	int r = getaddrinfo(g->host, g->port, &hints, &ai);

	if (r) {
		fprintf(stderr, "qkd-rogue-gw: %s: %s\n", g->host, gai_strerror(r));
		return -EINVAL;
	}
	g->sfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g->sfd < 0 || setsockopt(g->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(g->sfd, ai->ai_addr, ai->ai_addrlen)) {
		r = -errno;
		fprintf(stderr, "qkd-rogue-gw: connect %s:%s: %s\n", g->host, g->port,
			strerror(-r));
	}
	freeaddrinfo(ai);
	return r;
}

void rg_disconnect(struct rogue *g)
{
	if (g->sfd >= 0)
		close(g->sfd);
	g->sfd = -1;
	sodium_memzero(g->r, sizeof(g->r));
}
