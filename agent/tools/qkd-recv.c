// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-recv: a small test receiver for qkd-agent, built on the same wire
 * codec; a stand-in for the ledger service (qkd-ledgerd) in tests.
 *
 *   qkd-recv --link NAME [--device PATH] [--listen ADDR] [--port N]
 *            [--out FILE] [--ack-every N] [--ack-delay MS] [--corrupt-ack N]
 *
 * Listens on TCP, takes one session at a time, reads RX key of link NAME
 * (the peer of the gateway's link) by offset from /dev/qkdkey, verifies
 * and decrypts every frame and writes each record once, as one line
 *
 *   <device id> <device seq> <payload hex, "-" if empty>
 *
 * to stdout or FILE (written before the ack that covers it). Records seen
 * before (same device id and device seq: a resend) are counted, not
 * written again. Acks are cumulative, authenticated with its own TX key;
 * --ack-delay holds each one back (so that a test can kill the sender
 * while frames are unacked and check the resend); --corrupt-ack sends the
 * Nth ack with a bad tag (the gateway must end the session and resend).
 * Diagnostics go to stderr; key bytes never do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/qkdkey.h>

#include <sodium.h>

#include "qkd_recv.h"

static int out_fd = STDOUT_FILENO;

/* The set of (device id, device seq) seen: open addressing, FNV-1a. */
struct seen {
	char **slot;
	size_t cap, count;
};

static struct seen seen;

static uint64_t fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static bool seen_add(struct seen *st, char *k)
{
	size_t i;

	if ((st->count + 1) * 2 > st->cap) {
		struct seen n = { .cap = st->cap ? st->cap * 2 : 1024 };

		n.slot = calloc(n.cap, sizeof(*n.slot));
		if (!n.slot) {
			perror("qkd-recv: calloc");
			exit(1);
		}
		for (size_t j = 0; j < st->cap; j++)
			if (st->slot[j])
				seen_add(&n, st->slot[j]);
		free(st->slot);
		*st = n;
	}
	for (i = fnv(k) & (st->cap - 1); st->slot[i]; i = (i + 1) & (st->cap - 1))
		if (!strcmp(st->slot[i], k))
			return false;
	st->slot[i] = k;
	st->count++;
	return true;
}

bool recv_record(struct recv_ctx *c, const struct qkd_data_hdr *h,
		 const uint8_t *payload)
{
	static const char hex[] = "0123456789abcdef";
	char key[QKD_DEVICE_ID_MAX + 24], *k, *line, *p;
	size_t n;

	(void)c;
	snprintf(key, sizeof(key), "%.*s %llu", (int)h->device_id_len,
		 (const char *)h->device_id, (unsigned long long)h->device_seq);
	k = strdup(key);
	if (!k) {
		perror("qkd-recv: strdup");
		exit(1);
	}
	if (!seen_add(&seen, k)) {
		free(k);
		return false;
	}
	line = malloc(strlen(key) + 2 * (size_t)h->payload_len + 4);
	if (!line) {
		perror("qkd-recv: malloc");
		exit(1);
	}
	p = line + sprintf(line, "%s ", key);
	for (uint32_t i = 0; i < h->payload_len; i++) {
		*p++ = hex[payload[i] >> 4];
		*p++ = hex[payload[i] & 15];
	}
	if (!h->payload_len)
		*p++ = '-';
	*p++ = '\n';
	n = (size_t)(p - line);
	for (p = line; n;) {
		ssize_t w = write(out_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror("qkd-recv: write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
	free(line);
	return true;
}

static int listen_on(const char *addr, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai;
	int fd, one = 1, r;

	r = getaddrinfo(addr, port, &hints, &ai);
	if (r) {
		fprintf(stderr, "qkd-recv: %s: %s\n", addr ? addr : "*", gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4)) {
		fprintf(stderr, "qkd-recv: listen on %s port %s: %s\n",
			addr ? addr : "*", port, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int open_key(struct recv_ctx *c, uint32_t dir)
{
	int fd = open(c->dev, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		fprintf(stderr, "qkd-recv: %s: %s\n", c->dev, strerror(errno));
		return -1;
	}
	r = recv_bind(c, fd, dir);
	if (r) {
		fprintf(stderr, "qkd-recv: bind %s %s: %s\n", c->link,
			dir ? "RX" : "TX", strerror(-r));
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fputs("Usage: qkd-recv --link NAME [--device PATH] [--listen ADDR] [--port N]\n"
	      "                [--out FILE] [--ack-every N] [--ack-delay MS]\n"
	      "                [--corrupt-ack N]\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "link", required_argument, NULL, 'l' },
		{ "device", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "ack-every", required_argument, NULL, 'k' },
		{ "ack-delay", required_argument, NULL, 'w' },
		{ "corrupt-ack", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct recv_ctx c = { .dev = QKDKEY_DEVICE_PATH, .ack_every = 32 };
	const char *addr = NULL, *port = "7447", *out = NULL;
	int o, lfd, sock, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'l': c.link = optarg; break;
		case 'd': c.dev = optarg; break;
		case 'a': addr = optarg; break;
		case 'p': port = optarg; break;
		case 'o': out = optarg; break;
		case 'k': c.ack_every = (unsigned int)atoi(optarg); break;
		case 'w': c.ack_delay_ms = (unsigned int)atoi(optarg); break;
		case 'x': c.corrupt_ack = strtoull(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!c.link || strlen(c.link) >= QKD_LINK_NAME_LEN || !c.ack_every ||
	    optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return 1;
	if (out) {
		out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			fprintf(stderr, "qkd-recv: %s: %s\n", out, strerror(errno));
			return 1;
		}
	}
	c.key_size = QKD_KEYSRC_BUF;
	r = qkd_keymem_alloc(&c.km, 2 * QKD_R_LEN + c.key_size);
	c.msg = malloc(QKD_FRAME_MAX);
	c.payload = malloc(QKD_PAYLOAD_MAX);
	if (r || !c.msg || !c.payload) {
		fprintf(stderr, "qkd-recv: memory: %s\n", strerror(r ? -r : ENOMEM));
		return 1;
	}
	c.r = c.km.base;
	c.r2 = c.r + QKD_R_LEN;
	c.key = c.r2 + QKD_R_LEN;
	c.rxfd = open_key(&c, QKDKEY_DIR_RX);
	c.txfd = open_key(&c, QKDKEY_DIR_TX);
	lfd = listen_on(addr, port);
	if (c.rxfd < 0 || c.txfd < 0 || lfd < 0)
		return 1;
	fprintf(stderr, "qkd-recv: link %s, listening on %s port %s\n", c.link,
		addr ? addr : "*", port);
	for (;;) {
		sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (sock < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("qkd-recv: accept");
			return 1;
		}
		recv_session(&c, sock);
		if (close(sock))
			perror("qkd-recv: close");
	}
}
