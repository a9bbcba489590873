// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-rogue-gw: a malicious gateway, for tests of qkd-ledgerd's rejection
 * paths only (selftests/ledgerd_vm_test.sh). It holds the gateway's end of
 * the link: it reads TX key from /dev/qkdkey on the gateway's link and
 * seals frames with agent/lib/frame.h like qkd-agent, so it can open real
 * sessions and then break exactly one rule.
 *
 *   qkd-rogue-gw --host ADDR [--port N] --link NAME [--device PATH]
 *                [--id DEVICE_ID] [--first SEQ] [--count N]
 *                [--jump BYTES] [--window BYTES] [--timeout S] CASE
 *
 * CASE, with the security event qkd-ledgerd must record:
 *   valid                a session of --count records, all acked
 *   wrong-session        DATA with another session id        protocol error
 *   seq-gap              DATA seq last + 2                   protocol error
 *   wrong-epoch          DATA of epoch + 1                   wrong epoch
 *   beyond-window        DATA key offset --jump past the     protocol error
 *                        link's next TX offset
 *   bad-tag              DATA with one tag bit flipped       bad tag
 *   window-edge          DATA key range ending exactly       bad tag
 *                        --window past the link's delivered
 *                        TX end: the ledger must read it, so
 *                        we then take TX key until that much
 *                        is delivered (random key: bad tag)
 *   window-edge-beyond   the same, one byte further          protocol error
 *                        (pause the link's key first: the
 *                        delivered end must not move)
 *   window-wait          DATA key range ending --window / 2  none: the
 *                        past the delivered end, with the    session is
 *                        link's key paused; then a second    replaced
 *                        session must open and get a record
 *                        acked at once: the ledger waits for
 *                        that key without holding the
 *                        gateway's other reads
 *   hello-wrong-epoch    HELLO of epoch + 1                  wrong epoch
 *   hello-beyond-window  HELLO r offset --jump ahead         protocol error
 * The DATA cases send one good record (acked) before the bad frame.
 *
 * After the bad frame the ledger must close the connection (acks of
 * earlier frames may come first); then a new session must work: one more
 * record, acked. Records carry device id --id and device seqs --first..
 * (the bad frame uses one too, so they are not contiguous). Prints one line
 * per step and "records acked: N"; exit status 0 if the ledger did all of
 * that, 1 if not, 2 on a usage or setup error.
 *
 * ACK_HELLO and ACK tags are not verified: that would take the ledger's TX
 * key from our RX stream, and what is tested here is the ledger's side.
 * Key bytes are never printed, and wiped after use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/qkdkey.h>

#include <sodium.h>

#include "ledgerd_rogue.h"

static void usage(FILE *f)
{
	fputs("usage: qkd-rogue-gw --host ADDR [--port N] --link NAME [--device PATH]\n"
	      "         [--id DEVICE_ID] [--first SEQ] [--count N] [--jump BYTES]\n"
	      "         [--window BYTES] [--timeout S] CASE\n"
	      "CASE: valid, wrong-session, seq-gap, wrong-epoch, beyond-window, bad-tag,\n"
	      "      window-edge, window-edge-beyond, window-wait (need --window),\n"
	      "      hello-wrong-epoch, hello-beyond-window\n"
	      "A malicious gateway for qkd-ledgerd's tests (see the source).\n", f);
}

enum bad { BAD_NONE, BAD_EPOCH, BAD_JUMP };

/* Connects and sends a HELLO (a bad one: epoch + 1, or r far ahead). */
static int send_hello(struct rogue *g, enum bad bad)
{
	struct qkdkey_tx_hdr th;
	struct qkd_hello h = { .type = QKD_MSG_HELLO };
	int r = rg_connect_ledger(g);

	if (!r)
		r = rg_tx_key(g, QKD_HELLO_KEY_LEN, &th);
	if (r)
		return r;
	do
		randombytes_buf(&g->sid, sizeof(g->sid));
	while (!g->sid);
	g->epoch = th.epoch;
	g->seq = 0;
	h.session_id = g->sid;
	h.epoch = th.epoch + (bad == BAD_EPOCH);
	h.r_offset = th.offset;
	h.link_id = th.link_id;
	snprintf(h.link_name, sizeof(h.link_name), "%s", g->link);
	if (bad == BAD_JUMP) {
		r = rg_tx_next(g, &h.r_offset, NULL);
		h.r_offset += g->jump;
		randombytes_buf(rg_key, QKD_HELLO_KEY_LEN);	/* no one has it */
	}
	memcpy(g->r, rg_key, QKD_R_LEN);
	r = r ? r : qkd_hello_seal(rg_msg, sizeof(rg_msg), &h, rg_key);
	sodium_memzero(rg_key, QKD_HELLO_KEY_LEN);
	if (r < 0)
		return r;
	return rg_send_all(g, rg_msg, (size_t)r);
}

/* A valid HELLO, answered by an ACK_HELLO of the same session. */
static int open_session(struct rogue *g)
{
	struct qkd_hello ah;
	enum qkd_msg_type t;
	int r = send_hello(g, BAD_NONE);

	if (!r)
		r = rg_recv_msg(g, &t);
	if (r > 0 && t == QKD_MSG_ACK_HELLO && !qkd_hello_parse(rg_msg, (size_t)r, &ah) &&
	    ah.session_id == g->sid) {
		printf("session %016llx: open\n", (unsigned long long)g->sid);
		return 0;
	}
	printf("session %016llx: no ACK_HELLO (%s)\n", (unsigned long long)g->sid,
	       r < 0 ? strerror(-r) : r == 0 ? "closed" : "another message");
	return -EPROTO;
}

enum dcase {
	D_VALID, D_SESSION, D_SEQ_GAP, D_EPOCH, D_JUMP, D_TAG, D_EDGE, D_EDGE_BEYOND,
	D_WAIT, D_N
};
static const char *const data_cases[D_N] = {
	"valid", "wrong-session", "seq-gap", "wrong-epoch", "beyond-window", "bad-tag",
	"window-edge", "window-edge-beyond", "window-wait",
};

/* One DATA frame, or the bad one of case c; *edge: where its key ends. */
static int send_data(struct rogue *g, enum dcase c, uint64_t *edge)
{
	struct qkd_data_hdr h = { .session_id = g->sid, .seq = ++g->seq,
				  .epoch = g->epoch, .device_seq = g->dseq++ };
	struct qkdkey_tx_hdr th;
	struct timespec ts;
	uint64_t next, end;
	uint8_t pl[64];
	int r, n;

	n = snprintf((char *)pl, sizeof(pl), "rogue-gw %s record %llu", data_cases[c],
		     (unsigned long long)h.device_seq);
	h.payload_len = (uint32_t)n;
	h.device_id_len = (uint8_t)strlen(g->id);
	memcpy(h.device_id, g->id, h.device_id_len);
	memset(h.integrity, 0x5a, sizeof(h.integrity));	/* the same every time */
	clock_gettime(CLOCK_REALTIME, &ts);
	h.device_time = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	r = rg_tx_key(g, (uint32_t)QKD_DATA_KEY_LEN(h.payload_len), &th);
	if (r)
		return r;
	h.key_offset = th.offset;
	if (c == D_SESSION)
		h.session_id = g->sid + 1 ? g->sid + 1 : 2;
	else if (c == D_SEQ_GAP)
		h.seq = ++g->seq;
	else if (c == D_EPOCH)
		h.epoch++;
	if (c == D_JUMP || c == D_EDGE || c == D_EDGE_BEYOND || c == D_WAIT) {
		/* key no one holds yet: random bytes stand in for it */
		r = rg_tx_next(g, &next, &end);
		if (r)
			return r;
		if (c == D_JUMP)
			h.key_offset = next + g->jump;
		else if (c == D_WAIT)
			h.key_offset = end + g->window / 2;
		else
			h.key_offset = end + g->window + (c == D_EDGE_BEYOND) -
				       QKD_DATA_KEY_LEN(h.payload_len);
		if (edge)
			*edge = h.key_offset + QKD_DATA_KEY_LEN(h.payload_len);
		randombytes_buf(rg_key, QKD_DATA_KEY_LEN(h.payload_len));
	}
	r = qkd_data_seal(rg_msg, sizeof(rg_msg), &h, g->r, rg_key,
			  QKD_DATA_KEY_LEN(h.payload_len), pl);
	sodium_memzero(rg_key, QKD_DATA_KEY_LEN(h.payload_len));
	if (r < 0)
		return r;
	if (c == D_TAG)
		rg_msg[r - 1] ^= 0x01;
	return rg_send_all(g, rg_msg, (size_t)r);
}

/* Reads acks until one covers seq. */
static int wait_ack(struct rogue *g, uint64_t seq)
{
	enum qkd_msg_type t;
	struct qkd_ack a;
	int r;

	for (;;) {
		r = rg_recv_msg(g, &t);
		if (r <= 0)
			return r ? r : -ECONNRESET;
		if (t != QKD_MSG_ACK || qkd_ack_parse(rg_msg, (size_t)r, &a) ||
		    a.session_id != g->sid)
			return -EPROTO;
		if (a.ack_seq >= seq)
			return 0;
	}
}

/* The ledger must close the connection; acks may come before. */
static int expect_close(struct rogue *g, const char *what)
{
	enum qkd_msg_type t;
	int r;

	while ((r = rg_recv_msg(g, &t)) > 0 && t == QKD_MSG_ACK)
		;
	printf("%s: %s\n", what, r == 0 ? "connection closed" :
	       r == -EAGAIN ? "NOT closed (timed out)" :
	       r > 0 ? "NOT closed (a message other than ACK)" : strerror(-r));
	rg_disconnect(g);
	return r == 0 ? 0 : -EPROTO;
}

/* A session with n records, all acked; then the connection is closed. */
static int valid_session(struct rogue *g, unsigned int n)
{
	int r = open_session(g);

	for (unsigned int i = 0; !r && i < n; i++)
		r = send_data(g, D_VALID, NULL);
	if (!r)
		r = wait_ack(g, g->seq);
	if (!r)
		g->acked += n;
	printf("session %016llx: %u records %s\n", (unsigned long long)g->sid, n,
	       r ? "NOT acked" : "acked");
	rg_disconnect(g);
	return r;
}

/* The first session waits for key that does not come: a second one must
 * work meanwhile, and replace it. */
static int wait_case(struct rogue *g)
{
	struct rogue b = *g;
	int r;

	b.sfd = -1;
	r = valid_session(&b, 1);
	g->dseq = b.dseq;
	g->acked = b.acked;
	sodium_memzero(b.r, sizeof(b.r));
	return r ? r : expect_close(g, "window-wait, replaced by the second session");
}

static int run(struct rogue *g, const char *c)
{
	int r;

	if (!strcmp(c, "valid"))
		return valid_session(g, g->count);
	if (!strncmp(c, "hello-", 6)) {
		r = send_hello(g, !strcmp(c, "hello-wrong-epoch") ? BAD_EPOCH : BAD_JUMP);
		r = r ? r : expect_close(g, c);
		rg_disconnect(g);
		return r ? r : valid_session(g, 1);
	}
	for (enum dcase i = D_SESSION; i < D_N; i++) {
		uint64_t edge = 0;

		if (strcmp(c, data_cases[i]))
			continue;
		if (i >= D_EDGE && !g->window) {
			fprintf(stderr, "qkd-rogue-gw: %s needs --window\n", c);
			return -EINVAL;
		}
		r = open_session(g);
		if (!r)
			r = send_data(g, D_VALID, NULL);
		if (!r)
			r = wait_ack(g, g->seq);
		if (!r) {
			g->acked++;
			r = send_data(g, i, &edge);
		}
		/* The ledger's read waits for this key: let it be delivered. */
		if (!r && i == D_EDGE)
			r = rg_tx_drain(g, edge);
		if (!r && i == D_WAIT)
			return wait_case(g);
		r = r ? r : expect_close(g, c);
		rg_disconnect(g);
		return r ? r : valid_session(g, 1);
	}
	return -ENOENT;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "link", required_argument, NULL, 'l' },
		{ "device", required_argument, NULL, 'd' },
		{ "id", required_argument, NULL, 'i' },
		{ "first", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "jump", required_argument, NULL, 'j' },
		{ "window", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct rogue g = { .port = "7447", .dev = QKDKEY_DEVICE_PATH, .id = "rogue",
			   .dseq = 1, .jump = 1ull << 30, .count = 1, .timeout = 20,
			   .kfd = -1, .sfd = -1 };
	struct qkdkey_bind b = { .dir = QKDKEY_DIR_TX };
	unsigned long long v;
	char *end;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (strchr("fnjtw", opt)) {
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || !v ||
			    (strchr("nt", opt) && v > 100000) || (opt == 'w' && v > 1u << 30)) {
				fprintf(stderr, "qkd-rogue-gw: bad number '%s'\n", optarg);
				return 2;
			}
			if (opt == 'f')
				g.dseq = v;
			else if (opt == 'j')
				g.jump = v;
			else if (opt == 'w')
				g.window = v;
			else if (opt == 'n')
				g.count = (unsigned int)v;
			else
				g.timeout = (unsigned int)v;
			continue;
		}
		switch (opt) {
		case 'H': g.host = optarg; break;
		case 'p': g.port = optarg; break;
		case 'l': g.link = optarg; break;
		case 'd': g.dev = optarg; break;
		case 'i': g.id = optarg; break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!g.host || !g.link || optind != argc - 1 || strlen(g.link) >= QKDKEY_NAME_LEN ||
	    !*g.id || strlen(g.id) > QKD_DEVICE_ID_MAX) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "qkd-rogue-gw: libsodium does not initialise\n");
		return 2;
	}
	memcpy(b.name, g.link, strlen(g.link));
	g.kfd = open(g.dev, O_RDONLY | O_CLOEXEC);
	if (g.kfd < 0 || ioctl(g.kfd, QKDKEY_IOC_BIND, &b)) {
		fprintf(stderr, "qkd-rogue-gw: %s, link %s: %s\n", g.dev, g.link,
			strerror(errno));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(300);	/* a blocked key read must not hang the test run */
	r = run(&g, argv[optind]);
	if (r == -ENOENT) {
		fprintf(stderr, "qkd-rogue-gw: unknown case '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	printf("records acked: %u\n", g.acked);
	close(g.kfd);
	sodium_memzero(rg_key, sizeof(rg_key));
	return r ? 1 : 0;
}
