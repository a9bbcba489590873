// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-tap: a man in the middle for tests, between qkd-agent and the ledger.
 * It accepts one connection at a time, connects to the ledger for it and
 * forwards both directions. Gateway-to-ledger bytes are cut into messages
 * with qkd_frame_peek(), so that it can attack single frames on command:
 *
 *   forge     flip one bit of the ciphertext of the next DATA frame (of its
 *             tag if the payload is empty): a forged frame
 *   forge-tag flip one bit of the tag of the next DATA frame
 *   dup       send the next DATA frame twice: a frame replayed within its
 *             own session
 *   replay    open a new connection to the ledger and send the HELLO and
 *             the first DATA frame of the first session seen again: a
 *             session replayed later; then wait up to 3 s for the ledger to
 *             answer or close, and log what it did
 *
 * Commands come as lines on a FIFO (--control PATH; created if missing), or
 * as options that arm them for the Nth DATA frame forwarded. Each attack
 * and each connection is logged to stderr as one line starting "tap: ", so
 * that a test can wait for it. The tap never sees key: it changes bytes on
 * the wire and it is the ledger's job to notice.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"

static const char *listen_addr = "127.0.0.1", *listen_port, *up_host, *up_port, *ctl_path;
static unsigned long forge_nth, dup_nth, data_seen;
static bool arm_forge, arm_forge_tag, arm_dup;

/* The first session's HELLO and first DATA frame, for "replay". */
static uint8_t rec_hello[QKD_HELLO_LEN], *rec_data;
static size_t rec_data_len;
static bool have_hello, in_first_session;

static uint8_t in_buf[2 * QKD_FRAME_MAX];
static size_t in_len;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: qkd-tap --listen [ADDR:]PORT --upstream HOST:PORT [OPTIONS]\n"
"Forward qkd-agent <-> ledger traffic and attack frames on command.\n"
"\n"
"  -l, --listen [ADDR:]PORT  where the agent connects (default addr 127.0.0.1)\n"
"  -u, --upstream HOST:PORT  the ledger (qkd-ledgerd)\n"
"  -c, --control PATH        FIFO of commands, one per line (created if missing):\n"
"                              forge      flip a ciphertext bit of the next DATA\n"
"                              forge-tag  flip a tag bit of the next DATA\n"
"                              dup        send the next DATA frame twice\n"
"                              replay     resend the first session's HELLO and\n"
"                                         first DATA on a new connection\n"
"  -f, --forge N             forge the Nth DATA frame forwarded (from 1)\n"
"  -d, --dup N               send the Nth DATA frame forwarded twice\n"
"  -h, --help                this help\n"
"\n"
"Logs one line per connection and per attack to stderr (\"tap: ...\").\n");
}

static void split_hostport(char *s, const char **host, const char **port)
{
	char *c = strrchr(s, ':');

	if (c) {
		*c = '\0';
		*host = s;
		*port = c + 1;
	} else {
		*port = s;
	}
}

static int tcp(const char *host, const char *port, bool server)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = server ? AI_PASSIVE : 0 }, *ai;
	int fd, one = 1, rc;

	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "tap: %s:%s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && server)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || (server ? bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4)
			      : connect(fd, ai->ai_addr, ai->ai_addrlen))) {
		fprintf(stderr, "tap: %s %s:%s: %s\n", server ? "listen" : "connect",
			host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void replay(void)
{
	uint8_t buf[256];
	size_t got = 0;
	int fd, r;

	if (!have_hello || !rec_data) {
		fprintf(stderr, "tap: replay: nothing recorded yet\n");
		return;
	}
	fd = tcp(up_host, up_port, false);
	if (fd < 0)
		return;
	if (write_all(fd, rec_hello, sizeof(rec_hello)) ||
	    write_all(fd, rec_data, rec_data_len)) {
		fprintf(stderr, "tap: replay: write: %s\n", strerror(errno));
		close(fd);
		return;
	}
	fprintf(stderr, "tap: replay: sent the first session's HELLO and DATA seq 1 again\n");
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		r = poll(&p, 1, 3000);
		if (r <= 0)
			break;
		r = (int)read(fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	fprintf(stderr, "tap: replay: ledger %s after %zu bytes back\n",
		r == 0 ? "closed the connection" : "kept the connection open", got);
	close(fd);
}

static void command(int cfd)
{
	static char line[256];
	static size_t n;
	char *nl;
	ssize_t r;

	r = read(cfd, line + n, sizeof(line) - 1 - n);
	if (r <= 0)
		return;
	n += (size_t)r;
	line[n] = '\0';
	while ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		bool *arm = !strcmp(line, "forge") ? &arm_forge :
			    !strcmp(line, "forge-tag") ? &arm_forge_tag :
			    !strcmp(line, "dup") ? &arm_dup : NULL;

		if (arm) {
			*arm = true;
			fprintf(stderr, "tap: armed %s\n", line);
		} else if (!strcmp(line, "replay")) {
			replay();
		} else if (*line) {
			fprintf(stderr, "tap: unknown command (%zu bytes)\n", strlen(line));
		}
		n -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, n + 1);
	}
	if (n == sizeof(line) - 1)
		n = 0;	/* an overlong line: drop it */
}

/* One complete gateway-to-ledger message: record, attack, forward. */
static int forward_msg(int up, uint8_t *m, size_t len, enum qkd_msg_type type)
{
	struct qkd_data_hdr h;
	bool dup = false;

	if (type == QKD_MSG_HELLO) {
		in_first_session = !have_hello;
		if (!have_hello)
			memcpy(rec_hello, m, sizeof(rec_hello));
		have_hello = true;
		return write_all(up, m, len);
	}
	if (type != QKD_MSG_DATA)
		return write_all(up, m, len);
	data_seen++;
	if (in_first_session && !rec_data) {
		rec_data = malloc(len);
		if (rec_data) {
			memcpy(rec_data, m, len);
			rec_data_len = len;
		}
	}
	if (qkd_data_parse(m, len, &h))
		memset(&h, 0, sizeof(h));
	if (arm_forge || arm_forge_tag || data_seen == forge_nth) {
		bool tag = arm_forge_tag || h.payload_len == 0;
		size_t at = tag ? len - QKD_TAG_LEN : len - QKD_TAG_LEN - h.payload_len;

		m[at] ^= 0x01;
		fprintf(stderr, "tap: forged DATA seq %llu (device seq %llu): bit 0 of %s byte 0 flipped\n",
			(unsigned long long)h.seq, (unsigned long long)h.device_seq,
			tag ? "tag" : "ciphertext");
		arm_forge = arm_forge_tag = false;
	} else if (arm_dup || data_seen == dup_nth) {
		dup = true;
		arm_dup = false;
	}
	if (write_all(up, m, len))
		return -1;
	if (dup) {
		fprintf(stderr, "tap: replayed DATA seq %llu (device seq %llu) in its session\n",
			(unsigned long long)h.seq, (unsigned long long)h.device_seq);
		return write_all(up, m, len);
	}
	return 0;
}

/* Gateway bytes arrived: forward every complete message. -1: close. */
static int from_gateway(int gw, int up)
{
	ssize_t r = read(gw, in_buf + in_len, sizeof(in_buf) - in_len);
	size_t off = 0;

	if (r <= 0)
		return -1;
	in_len += (size_t)r;
	while (in_len - off >= QKD_PREFIX_LEN) {
		enum qkd_msg_type type;
		int len = qkd_frame_peek(in_buf + off, in_len - off, &type);

		if (len < 0) {
			fprintf(stderr, "tap: bad prefix from the gateway (%s): closing\n",
				strerror(-len));
			return -1;
		}
		if (in_len - off < (size_t)len)
			break;
		if (forward_msg(up, in_buf + off, (size_t)len, type))
			return -1;
		off += (size_t)len;
	}
	memmove(in_buf, in_buf + off, in_len - off);
	in_len -= off;
	return 0;
}

static int raw_copy(int from, int to)
{
	uint8_t buf[4096];
	ssize_t r = read(from, buf, sizeof(buf));

	return r <= 0 ? -1 : write_all(to, buf, (size_t)r);
}

/* One agent connection, until either side closes. */
static void session(int gw, int cfd)
{
	int up = tcp(up_host, up_port, false);

	if (up < 0) {
		close(gw);
		return;
	}
	fprintf(stderr, "tap: connection: forwarding to %s:%s\n", up_host, up_port);
	in_len = 0;
	for (;;) {
		struct pollfd p[3] = { { .fd = gw, .events = POLLIN },
				       { .fd = up, .events = POLLIN },
				       { .fd = cfd, .events = POLLIN } };

		if (poll(p, cfd >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents & POLLIN)
			command(cfd);
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && from_gateway(gw, up))
			break;
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && raw_copy(up, gw))
			break;
	}
	fprintf(stderr, "tap: connection closed (%lu DATA frames so far)\n", data_seen);
	close(up);
	close(gw);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "control", required_argument, NULL, 'c' },
		{ "forge", required_argument, NULL, 'f' },
		{ "dup", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int o, lfd, cfd = -1;

	while ((o = getopt_long(argc, argv, "l:u:c:f:d:h", lo, NULL)) != -1) {
		switch (o) {
		case 'l': split_hostport(optarg, &listen_addr, &listen_port); break;
		case 'u': split_hostport(optarg, &up_host, &up_port); break;
		case 'c': ctl_path = optarg; break;
		case 'f': forge_nth = strtoul(optarg, NULL, 10); break;
		case 'd': dup_nth = strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !listen_port || !up_host || !up_port) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (ctl_path) {
		if (mkfifo(ctl_path, 0600) && errno != EEXIST) {
			fprintf(stderr, "tap: mkfifo %s: %s\n", ctl_path, strerror(errno));
			return 1;
		}
		/* read-write: no EOF when a writer goes away */
		cfd = open(ctl_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (cfd < 0) {
			fprintf(stderr, "tap: %s: %s\n", ctl_path, strerror(errno));
			return 1;
		}
	}
	lfd = tcp(listen_addr, listen_port, true);
	if (lfd < 0)
		return 1;
	fprintf(stderr, "tap: listening on %s:%s\n", listen_addr, listen_port);
	for (;;) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
				       { .fd = cfd, .events = POLLIN } };
		int gw;

		if (poll(p, cfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			return 1;
		if (p[1].revents & POLLIN)
			command(cfd);
		if (!(p[0].revents & POLLIN))
			continue;
		gw = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (gw < 0) {
			fprintf(stderr, "tap: accept: %s\n", strerror(errno));
			continue;
		}
		session(gw, cfd);
	}
}
