// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of qkd-agent's ingest (agent/lib/ingest_unix.h and
 * ingest_mqtt.h) against a fake spool whose durable seq the test moves.
 *
 * unix: a client socket sends valid, malformed and oversize datagrams;
 *   ACK replies must wait for ingest_unix_durable(), ERR replies carry the
 *   parser's code.
 * mqtt: each test starts its own mosquitto (-c <temp config>) on
 *   127.0.0.1 and a free high port, publishes QoS 1 messages with
 *   libmosquitto and kills the broker at the end. SKIP if no mosquitto
 *   binary (QKD_MOSQUITTO=path overrides /usr/sbin/mosquitto).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "ingest_mqtt.h"
#include "ingest_unix.h"

#include "kselftest_harness.h"

/* ---- helpers ---- */

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_tmpdir(char *dir, size_t cap)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, cap, "%s/qkd-ingest-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		dir[0] = '\0';
}

static void test_log(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "#   log<%d> %s\n", prio, msg);
}

#define MAX_RECS 512

/* What the spool would hold: copies of the submitted records. */
struct fake_spool {
	uint64_t next_seq;
	uint64_t durable;
	unsigned int calls;
	unsigned int fail_call;		/* 1-based call to refuse, 0: none */
	int fail_err;
	unsigned int n;
	struct qkd_record recs[MAX_RECS];
	uint64_t seqs[MAX_RECS];
};

static int fake_submit(void *ctx, const struct qkd_record *rec, uint64_t *seq)
{
	struct fake_spool *fs = ctx;
	struct qkd_record *r;
	uint8_t *pl = NULL;

	fs->calls++;
	if (fs->fail_call && fs->calls == fs->fail_call)
		return fs->fail_err;
	if (fs->n == MAX_RECS)
		return -ENOSPC;
	if (rec->payload_len) {
		pl = malloc(rec->payload_len);
		if (!pl)
			return -ENOMEM;
		memcpy(pl, rec->payload, rec->payload_len);
	}
	r = &fs->recs[fs->n];
	*r = *rec;
	r->payload = pl;
	*seq = fs->seqs[fs->n] = fs->next_seq++;
	fs->n++;
	return 0;
}

static void fake_init(struct fake_spool *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->next_seq = 1;
}

static void fake_free(struct fake_spool *fs)
{
	for (unsigned int i = 0; i < fs->n; i++)
		free((void *)fs->recs[i].payload);
	fs->n = 0;
}

/* The record of device id with seq, payload of plen bytes derived from
 * seq; encoded into buf, returns the length. */
static size_t make_rec(uint8_t *buf, size_t cap, const char *id, uint64_t seq,
		       uint32_t plen)
{
	static uint8_t pl[QKD_REC_PAYLOAD_MAX];
	struct qkd_record r;

	memset(&r, 0, sizeof(r));
	r.device_id_len = (uint8_t)strlen(id);
	memcpy(r.device_id, id, r.device_id_len);
	r.device_seq = seq;
	r.device_time_ns = 1700000000000000000ull + seq;
	for (int i = 0; i < QKD_REC_ICODE_LEN; i++)
		r.integrity[i] = (uint8_t)(i * 7 + 1);
	for (uint32_t i = 0; i < plen; i++)
		pl[i] = (uint8_t)(seq * 31 + i);
	r.payload_len = plen;
	r.payload = plen ? pl : NULL;
	return qkd_pl_encode(&r, buf, cap);
}

static bool rec_is(const struct qkd_record *r, const char *id, uint64_t seq,
		   uint32_t plen)
{
	if (r->device_id_len != strlen(id) || memcmp(r->device_id, id,
						      r->device_id_len))
		return false;
	if (r->device_seq != seq || r->payload_len != plen ||
	    r->device_time_ns != 1700000000000000000ull + seq)
		return false;
	for (uint32_t i = 0; i < plen; i++)
		if (r->payload[i] != (uint8_t)(seq * 31 + i))
			return false;
	return true;
}

/* ---- Unix datagram socket ---- */

static int client_socket(bool named)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	/* Autobind: an abstract name chosen by the kernel. */
	if (fd >= 0 && named && bind(fd, (struct sockaddr *)&a,
				     sizeof(sa_family_t))) {
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t send_to(int fd, const char *path, const void *buf, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(path);

	if (n >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, path, n + 1);
	return sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a));
}

/* One reply within ms milliseconds, NUL-terminated; -1 if none. */
static int get_reply(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -1;
	n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

static uint8_t dgram[QKD_PL_MAX_LEN + 8192];

FIXTURE(usock) {
	char dir[256];
	char path[300];
	struct fake_spool *fs;
	struct ingest_unix *iu;
	int cl;
};

static int open_unix(FIXTURE_DATA(usock) *self, unsigned int max_pending)
{
	struct ingest_unix_opts o = {
		.path = self->path,
		.mode = 0620,
		.max_pending = max_pending,
		.submit = fake_submit,
		.log = test_log,
		.ctx = self->fs,
	};
	char err[256] = "";
	int r = ingest_unix_open(&o, &self->iu, err, sizeof(err));

	if (r)
		fprintf(stderr, "# ingest_unix_open: %s\n", err);
	return r;
}

FIXTURE_SETUP(usock)
{
	signal(SIGPIPE, SIG_IGN);
	make_tmpdir(self->dir, sizeof(self->dir));
	ASSERT_NE('\0', self->dir[0]);
	snprintf(self->path, sizeof(self->path), "%s/ingest.sock", self->dir);
	self->fs = malloc(sizeof(*self->fs));
	ASSERT_NE(NULL, self->fs);
	fake_init(self->fs);
	ASSERT_EQ(0, open_unix(self, 0));
	self->cl = client_socket(true);
	ASSERT_LE(0, self->cl);
}

FIXTURE_TEARDOWN(usock)
{
	if (self->iu)
		ingest_unix_close(self->iu);
	if (self->cl >= 0)
		close(self->cl);
	if (self->fs) {
		fake_free(self->fs);
		free(self->fs);
	}
	rm_rf(self->dir);
}

TEST_F(usock, ack_only_after_durable)
{
	struct ingest_unix_stats st;
	char reply[128];
	size_t n;

	for (uint64_t s = 1; s <= 3; s++) {
		n = make_rec(dgram, sizeof(dgram), "meter-1", 100 + s,
			     (uint32_t)(s * 10));
		ASSERT_EQ((ssize_t)n, send_to(self->cl, self->path, dgram, n));
	}
	ASSERT_EQ(3, ingest_unix_on_readable(self->iu));
	ASSERT_EQ(3, self->fs->n);
	for (unsigned int i = 0; i < 3; i++) {
		ASSERT_TRUE(rec_is(&self->fs->recs[i], "meter-1", 101 + i,
				   (i + 1) * 10));
		ASSERT_EQ(i + 1, self->fs->seqs[i]);
	}
	/* Taken, not durable: no reply at all. */
	ASSERT_EQ(-1, get_reply(self->cl, reply, sizeof(reply), 100));
	ASSERT_EQ(0, ingest_unix_durable(self->iu, 0));
	ASSERT_EQ(-1, get_reply(self->cl, reply, sizeof(reply), 50));

	/* Durable up to spool seq 1: only the first ACK. */
	ASSERT_EQ(1, ingest_unix_durable(self->iu, 1));
	ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
	ASSERT_STREQ("ACK 101", reply);
	ASSERT_EQ(-1, get_reply(self->cl, reply, sizeof(reply), 50));

	ASSERT_EQ(2, ingest_unix_durable(self->iu, 3));
	ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
	ASSERT_STREQ("ACK 102", reply);
	ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
	ASSERT_STREQ("ACK 103", reply);
	ASSERT_EQ(0, ingest_unix_durable(self->iu, 3));

	ingest_unix_get_stats(self->iu, &st);
	ASSERT_EQ(3, st.received);
	ASSERT_EQ(3, st.accepted);
	ASSERT_EQ(3, st.acked);
	ASSERT_EQ(0, st.rejected);
	ASSERT_EQ(0, st.pending);
}

TEST_F(usock, invalid_get_err_with_code)
{
	struct ingest_unix_stats st;
	char reply[128], want[16];
	size_t n;
	struct {
		int code;
		size_t len;
	} cases[8];
	int nc = 0;

	n = make_rec(dgram, sizeof(dgram), "valve-3", 7, 20);
	ASSERT_LT(0, n);

	/* Built one by one from the valid record, sent and answered in
	 * turn. */
	for (int c = 0; c < 8; c++) {
		static uint8_t b[512];

		memcpy(b, dgram, n);
		switch (c) {
		case 0:	/* empty datagram */
			cases[nc].code = QKD_PL_E_TRUNC_HDR;
			cases[nc].len = 0;
			break;
		case 1:
			b[0] = '{';
			cases[nc].code = QKD_PL_E_MAGIC;
			cases[nc].len = n;
			break;
		case 2:
			b[4] = 2;
			cases[nc].code = QKD_PL_E_VERSION;
			cases[nc].len = n;
			break;
		case 3:
			b[6] = 0;
			cases[nc].code = QKD_PL_E_ID_LEN;
			cases[nc].len = n;
			break;
		case 4:
			b[8] = '#';
			cases[nc].code = QKD_PL_E_ID_CHARS;
			cases[nc].len = n;
			break;
		case 5:
			cases[nc].code = QKD_PL_E_TRUNC_FIXED;
			cases[nc].len = QKD_PL_HDR_LEN + 7 + 10;
			break;
		case 6:
			cases[nc].code = QKD_PL_E_TRUNC_PAYLOAD;
			cases[nc].len = n - 1;
			break;
		case 7:
			b[n] = 0;
			cases[nc].code = QKD_PL_E_TRAILING;
			cases[nc].len = n + 1;
			break;
		}
		ASSERT_EQ((ssize_t)cases[nc].len,
			  send_to(self->cl, self->path, b, cases[nc].len));
		ASSERT_EQ(1, ingest_unix_on_readable(self->iu));
		/* Sent at once: there is nothing to make durable. */
		ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
		snprintf(want, sizeof(want), "ERR %d ", cases[nc].code);
		ASSERT_EQ(0, strncmp(reply, want, strlen(want)))
			TH_LOG("case %d: got '%s'", c, reply);
		ASSERT_STREQ(qkd_pl_strerror(cases[nc].code),
			     reply + strlen(want));
		nc++;
	}
	ASSERT_EQ(0, self->fs->n);
	ingest_unix_get_stats(self->iu, &st);
	ASSERT_EQ(8, st.received);
	ASSERT_EQ(8, st.rejected);
	ASSERT_EQ(0, st.accepted);
	for (int i = 0; i < nc; i++)
		ASSERT_EQ(1, st.by_code[cases[i].code]);

	/* The socket still works afterwards. */
	ASSERT_EQ((ssize_t)n, send_to(self->cl, self->path, dgram, n));
	ASSERT_EQ(1, ingest_unix_on_readable(self->iu));
	ASSERT_EQ(1, ingest_unix_durable(self->iu, 1));
	ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
	ASSERT_STREQ("ACK 7", reply);
}

TEST_F(usock, oversize_datagram)
{
	char reply[128], want[16];
	int sndbuf = 1 << 20;
	size_t n;

	ASSERT_EQ(0, setsockopt(self->cl, SOL_SOCKET, SO_SNDBUF, &sndbuf,
				sizeof(sndbuf)));
	/* The largest record is taken... */
	n = make_rec(dgram, sizeof(dgram),
		     "0123456789012345678901234567890123456789012345678901234567890123",
		     1, QKD_REC_PAYLOAD_MAX);
	ASSERT_EQ((size_t)QKD_PL_MAX_LEN, n);
	ASSERT_EQ((ssize_t)n, send_to(self->cl, self->path, dgram, n));
	ASSERT_EQ(1, ingest_unix_on_readable(self->iu));
	ASSERT_EQ(1, self->fs->n);
	ASSERT_EQ(QKD_REC_PAYLOAD_MAX, self->fs->recs[0].payload_len);

	/* ...one byte more is not, nor 8 KiB more (MSG_TRUNC). */
	for (size_t extra = 1; extra <= 8192; extra += 8191) {
		ASSERT_EQ((ssize_t)(n + extra),
			  send_to(self->cl, self->path, dgram, n + extra));
		ASSERT_EQ(1, ingest_unix_on_readable(self->iu));
		ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
		snprintf(want, sizeof(want), "ERR %d ", QKD_PL_E_TOO_LONG);
		ASSERT_EQ(0, strncmp(reply, want, strlen(want)))
			TH_LOG("got '%s'", reply);
	}
	ASSERT_EQ(1, self->fs->n);
	ASSERT_EQ(1, ingest_unix_durable(self->iu, 1));
	ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
	ASSERT_STREQ("ACK 1", reply);
}

TEST_F(usock, spool_refusal_and_failure)
{
	struct ingest_unix_stats st;
	char reply[128];
	size_t n;

	/* A full spool: ERR 32 at once, nothing pending. */
	self->fs->fail_call = 1;
	self->fs->fail_err = -ENOSPC;
	n = make_rec(dgram, sizeof(dgram), "d", 1, 0);
	ASSERT_EQ((ssize_t)n, send_to(self->cl, self->path, dgram, n));
	ASSERT_EQ(1, ingest_unix_on_readable(self->iu));
	ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
	ASSERT_STREQ("ERR 32 gateway spool full, retry later", reply);

	/* Two taken, then the commit fails for good: ERR 33 for both. */
	for (uint64_t s = 2; s <= 3; s++) {
		n = make_rec(dgram, sizeof(dgram), "d", s, 4);
		ASSERT_EQ((ssize_t)n, send_to(self->cl, self->path, dgram, n));
	}
	ASSERT_EQ(2, ingest_unix_on_readable(self->iu));
	ASSERT_EQ(-1, get_reply(self->cl, reply, sizeof(reply), 50));
	ingest_unix_fail_pending(self->iu);
	for (int i = 0; i < 2; i++) {
		ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
		ASSERT_STREQ("ERR 33 gateway spool error, retry later", reply);
	}
	ASSERT_EQ(0, ingest_unix_durable(self->iu, 100));
	ASSERT_EQ(-1, get_reply(self->cl, reply, sizeof(reply), 50));
	ingest_unix_get_stats(self->iu, &st);
	ASSERT_EQ(1, st.refused);
	ASSERT_EQ(2, st.failed);
	ASSERT_EQ(1, st.by_code[QKD_PL_E_SPOOL_FULL]);
	ASSERT_EQ(2, st.by_code[QKD_PL_E_SPOOL]);
}

TEST_F(usock, pending_limit_is_back_pressure)
{
	char reply[128];
	size_t n;

	ingest_unix_close(self->iu);
	self->iu = NULL;
	ASSERT_EQ(0, open_unix(self, 2));
	for (uint64_t s = 1; s <= 5; s++) {
		n = make_rec(dgram, sizeof(dgram), "d", s, 1);
		ASSERT_EQ((ssize_t)n, send_to(self->cl, self->path, dgram, n));
	}
	ASSERT_EQ(2, ingest_unix_on_readable(self->iu));
	ASSERT_FALSE(ingest_unix_want_read(self->iu));
	ASSERT_EQ(0, ingest_unix_on_readable(self->iu));
	ASSERT_EQ(2, self->fs->n);
	ASSERT_EQ(2, ingest_unix_durable(self->iu, 2));
	ASSERT_TRUE(ingest_unix_want_read(self->iu));
	ASSERT_EQ(2, ingest_unix_on_readable(self->iu));
	ASSERT_EQ(2, ingest_unix_durable(self->iu, 4));
	ASSERT_EQ(1, ingest_unix_on_readable(self->iu));
	ASSERT_EQ(1, ingest_unix_durable(self->iu, 5));
	for (uint64_t s = 1; s <= 5; s++) {
		char want[32];

		ASSERT_LT(0, get_reply(self->cl, reply, sizeof(reply), 1000));
		snprintf(want, sizeof(want), "ACK %llu", (unsigned long long)s);
		ASSERT_STREQ(want, reply);
	}
	ASSERT_EQ(5, self->fs->n);
}

TEST_F(usock, unnamed_sender_and_gone_sender)
{
	struct ingest_unix_stats st;
	int anon = client_socket(false);
	size_t n;

	ASSERT_LE(0, anon);
	n = make_rec(dgram, sizeof(dgram), "d", 1, 3);
	ASSERT_EQ((ssize_t)n, send_to(anon, self->path, dgram, n));
	/* A malformed one from it: no address to answer to. */
	ASSERT_EQ(5, send_to(anon, self->path, "hello", 5));
	ASSERT_EQ(2, ingest_unix_on_readable(self->iu));
	close(anon);
	/* A named sender that is gone before its ACK. */
	n = make_rec(dgram, sizeof(dgram), "d", 2, 3);
	ASSERT_EQ((ssize_t)n, send_to(self->cl, self->path, dgram, n));
	ASSERT_EQ(1, ingest_unix_on_readable(self->iu));
	close(self->cl);
	self->cl = -1;
	ASSERT_EQ(1, ingest_unix_durable(self->iu, 2));
	ingest_unix_get_stats(self->iu, &st);
	ASSERT_EQ(2, st.accepted);
	ASSERT_EQ(1, st.unaddressed);
	ASSERT_EQ(1, st.rejected);
	ASSERT_EQ(1, st.reply_errors);
	ASSERT_EQ(0, st.pending);
}

TEST_F(usock, open_rules)
{
	struct ingest_unix_opts o = { .submit = fake_submit, .ctx = self->fs };
	struct ingest_unix *iu2 = NULL;
	char err[256], p[300], longp[200];
	struct stat st;
	int fd;

	/* The mode asked for, and a live socket is not taken over. */
	ASSERT_EQ(0, stat(self->path, &st));
	ASSERT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ(0620, st.st_mode & 07777);
	o.path = self->path;
	ASSERT_EQ(-EADDRINUSE, ingest_unix_open(&o, &iu2, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "another process"));

	/* A stale socket is replaced. */
	snprintf(p, sizeof(p), "%s/stale.sock", self->dir);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		ASSERT_LE(0, fd);
		ASSERT_GT(sizeof(a.sun_path), strlen(p));
		memcpy(a.sun_path, p, strlen(p) + 1);
		ASSERT_EQ(0, bind(fd, (struct sockaddr *)&a, sizeof(a)));
		close(fd);
	}
	o.path = p;
	ASSERT_EQ(0, ingest_unix_open(&o, &iu2, err, sizeof(err)));
	ASSERT_EQ(0, stat(p, &st));
	ASSERT_EQ(0660, st.st_mode & 07777);
	ingest_unix_close(iu2);
	ASSERT_EQ(-1, stat(p, &st));	/* close unlinks */

	/* Not a socket; too long; no submit. */
	snprintf(p, sizeof(p), "%s/file", self->dir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(-EEXIST, ingest_unix_open(&o, &iu2, err, sizeof(err)));
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	o.path = longp;
	ASSERT_EQ(-ENAMETOOLONG, ingest_unix_open(&o, &iu2, err, sizeof(err)));
	o.path = self->path;
	o.submit = NULL;
	ASSERT_EQ(-EINVAL, ingest_unix_open(&o, &iu2, err, sizeof(err)));
	ASSERT_EQ(NULL, iu2);
}

/* ---- MQTT ---- */

FIXTURE(mqtt) {
	char dir[256];
	int port;
	pid_t broker;
	struct fake_spool *fs;
	struct ingest_mqtt *im;
};

static const char *mosquitto_bin(void)
{
	const char *b = getenv("QKD_MOSQUITTO");

	return b && *b ? b : "/usr/sbin/mosquitto";
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = !connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return ok;
}

/* Starts mosquitto on 127.0.0.1:<port, or a free one if 0>; its pid, or
 * -1. */
static pid_t start_broker(const char *dir, int port, int *port_out)
{
	char conf[512], logf[512];
	FILE *f;
	pid_t pid;

	if (!port)
		port = free_port();

	if (port < 1024)
		return -1;
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", dir);
	snprintf(logf, sizeof(logf), "%s/mosquitto.log", dir);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f,
		"listener %d 127.0.0.1\n"
		"allow_anonymous true\n"
		"persistence false\n"
		"max_queued_messages 10000\n"
		"max_inflight_messages 100\n"
		"log_dest stderr\n"
		"log_type error\n"
		"log_type warning\n",
		port);
	fclose(f);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(mosquitto_bin(), "mosquitto", "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (uint64_t end = ms_now() + 5000; ms_now() < end;) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			return -1;
		if (port_open(port)) {
			*port_out = port;
			return pid;
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static int open_mqtt(FIXTURE_DATA(mqtt) *self, const char *client_id)
{
	struct ingest_mqtt_opts o = {
		.port = self->port,
		.client_id = client_id,
		.keepalive = 10,
		.reconnect_min_ms = 20,
		.reconnect_max_ms = 200,
		.submit = fake_submit,
		.log = test_log,
		.ctx = self->fs,
	};
	char err[256] = "";
	int r = ingest_mqtt_open(&o, &self->im, err, sizeof(err));

	if (r)
		fprintf(stderr, "# ingest_mqtt_open: %s\n", err);
	return r;
}

/*
 * Runs the event loop for im until done(fs) or ms pass. With commit, every
 * submitted record becomes durable right after each read, as after a
 * spool_commit(). Returns done(fs).
 */
static bool pump(struct ingest_mqtt *im, struct fake_spool *fs, int ms,
		 bool commit, bool (*done)(struct ingest_mqtt *,
					   struct fake_spool *, void *),
		 void *arg)
{
	uint64_t end = ms_now() + (uint64_t)ms, next_tick = 0;
	int last_fd = -2;

	while (!(done && done(im, fs, arg)) && ms_now() < end) {
		struct pollfd p = { .fd = ingest_mqtt_fd(im), .events = POLLIN };

		/* As a daemon would: tick when due, and at once when the
		 * connection changed. */
		if (ms_now() >= next_tick || p.fd != last_fd)
			next_tick = ms_now() + (uint64_t)ingest_mqtt_tick(im);
		p.fd = last_fd = ingest_mqtt_fd(im);
		if (p.fd < 0) {
			usleep(5000);
			continue;
		}
		if (ingest_mqtt_want_write(im))
			p.events |= POLLOUT;
		if (poll(&p, 1, 10) <= 0)
			continue;
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			ingest_mqtt_on_readable(im);
		if (commit) {
			fs->durable = fs->next_seq - 1;
			ingest_mqtt_durable(im, fs->durable);
		}
		if (p.revents & POLLOUT)
			ingest_mqtt_on_writable(im);
	}
	return done && done(im, fs, arg);
}

static bool is_ready(struct ingest_mqtt *im, struct fake_spool *fs, void *arg)
{
	(void)fs; (void)arg;
	return ingest_mqtt_ready(im);
}

static bool has_n(struct ingest_mqtt *im, struct fake_spool *fs, void *arg)
{
	(void)im;
	return fs->n >= *(unsigned int *)arg;
}

static bool received_n(struct ingest_mqtt *im, struct fake_spool *fs,
		       void *arg)
{
	struct ingest_mqtt_stats st;

	(void)fs;
	ingest_mqtt_get_stats(im, &st);
	return st.received >= *(unsigned int *)arg;
}

struct pub_state {
	int acked;
};

static void pub_on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m; (void)mid;
	((struct pub_state *)obj)->acked++;
}

/*
 * Publishes n messages at QoS 1 (topic[i], payload[i]) and waits until the
 * broker has acknowledged all of them. 0 or -1.
 */
static int publish(int port, int n, char topics[][80], uint8_t **payloads,
		   size_t *lens)
{
	struct pub_state ps = { 0 };
	struct mosquitto *m;
	uint64_t end = ms_now() + 5000;
	int rc = -1;

	m = mosquitto_new(NULL, true, &ps);
	if (!m)
		return -1;
	mosquitto_publish_callback_set(m, pub_on_publish);
	if (mosquitto_connect(m, "127.0.0.1", port, 10) != MOSQ_ERR_SUCCESS)
		goto out;
	for (int i = 0; i < n; i++)
		if (mosquitto_publish(m, NULL, topics[i], (int)lens[i],
				      payloads[i], 1, false))
			goto out;
	while (ps.acked < n && ms_now() < end)
		if (mosquitto_loop(m, 20, 1) != MOSQ_ERR_SUCCESS)
			goto out;
	if (ps.acked == n)
		rc = 0;
	mosquitto_disconnect(m);
	mosquitto_loop(m, 20, 1);
out:
	mosquitto_destroy(m);
	return rc;
}

/* Publishes records seq first..last of device id on its own topic. */
static int publish_seqs(int port, const char *id, uint64_t first,
			uint64_t last)
{
	int n = (int)(last - first + 1), rc;
	char (*topics)[80] = calloc((size_t)n, 80);
	uint8_t **pl = calloc((size_t)n, sizeof(*pl));
	size_t *lens = calloc((size_t)n, sizeof(*lens));

	rc = topics && pl && lens ? 0 : -1;
	for (int i = 0; !rc && i < n; i++) {
		pl[i] = malloc(QKD_PL_MIN_LEN + 64 + 200);
		if (!pl[i]) {
			rc = -1;
			break;
		}
		lens[i] = make_rec(pl[i], QKD_PL_MIN_LEN + 64 + 200, id,
				   first + (uint64_t)i,
				   (uint32_t)((first + (uint64_t)i) % 200));
		snprintf(topics[i], 80, "qkd/telemetry/%s", id);
	}
	if (!rc)
		rc = publish(port, n, topics, pl, lens);
	for (int i = 0; pl && i < n; i++)
		free(pl[i]);
	free(topics);
	free(pl);
	free(lens);
	return rc;
}

FIXTURE_SETUP(mqtt)
{
	signal(SIGPIPE, SIG_IGN);
	self->broker = -1;
	if (access(mosquitto_bin(), X_OK))
		SKIP(return, "%s not found: MQTT ingest not tested (apt-get install mosquitto)",
		     mosquitto_bin());
	make_tmpdir(self->dir, sizeof(self->dir));
	ASSERT_NE('\0', self->dir[0]);
	mosquitto_lib_init();
	for (int i = 0; i < 3 && self->broker < 0; i++)
		self->broker = start_broker(self->dir, 0, &self->port);
	ASSERT_LT(0, self->broker) TH_LOG("mosquitto did not start");
	self->fs = malloc(sizeof(*self->fs));
	ASSERT_NE(NULL, self->fs);
	fake_init(self->fs);
}

FIXTURE_TEARDOWN(mqtt)
{
	if (self->im)
		ingest_mqtt_close(self->im);
	if (self->broker > 0) {
		kill(self->broker, SIGTERM);
		if (waitpid(self->broker, NULL, 0) != self->broker)
			kill(self->broker, SIGKILL);
	}
	if (self->fs) {
		fake_free(self->fs);
		free(self->fs);
	}
	rm_rf(self->dir);
}

TEST_F(mqtt, in_order_and_acked)
{
	struct ingest_mqtt_stats st;
	unsigned int want = 50;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, open_mqtt(self, "qkd-agent-test-1"));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));
	ASSERT_EQ(0, publish_seqs(self->port, "sensor-a", 1, want));
	ASSERT_TRUE(pump(self->im, self->fs, 5000, true, has_n, &want));
	for (unsigned int i = 0; i < want; i++) {
		ASSERT_TRUE(rec_is(&self->fs->recs[i], "sensor-a", i + 1,
				   (i + 1) % 200)) TH_LOG("record %u", i);
	}
	/* Everything durable and acked: a fresh session delivers nothing
	 * again. */
	pump(self->im, self->fs, 200, true, NULL, NULL);
	ingest_mqtt_close(self->im);
	self->im = NULL;
	ASSERT_EQ(0, open_mqtt(self, "qkd-agent-test-1"));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));
	pump(self->im, self->fs, 300, true, NULL, NULL);
	ASSERT_EQ(want, self->fs->n);
	ingest_mqtt_get_stats(self->im, &st);
	ASSERT_EQ(0, st.received);
	ASSERT_EQ(1, st.connects);
}

TEST_F(mqtt, topic_mismatch_and_garbage_rejected)
{
	struct ingest_mqtt_stats st;
	char topics[4][80];
	uint8_t b[4][400], *pl[4];
	size_t lens[4];
	unsigned int want = 4;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, open_mqtt(self, "qkd-agent-test-2"));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));
	for (int i = 0; i < 4; i++)
		pl[i] = b[i];
	lens[0] = make_rec(b[0], sizeof(b[0]), "dev-a", 1, 10);
	snprintf(topics[0], 80, "qkd/telemetry/dev-b");	/* mismatch */
	memcpy(b[1], "{\"t\":21.5}", 10);
	lens[1] = 10;
	snprintf(topics[1], 80, "qkd/telemetry/dev-a");	/* garbage */
	lens[2] = make_rec(b[2], sizeof(b[2]), "dev-a", 2, 10);
	b[2][lens[2]] = 0;
	lens[2]++;
	snprintf(topics[2], 80, "qkd/telemetry/dev-a");	/* trailing */
	lens[3] = make_rec(b[3], sizeof(b[3]), "dev-a", 3, 10);
	snprintf(topics[3], 80, "qkd/telemetry/dev-a");	/* good */
	ASSERT_EQ(0, publish(self->port, 4, topics, pl, lens));
	ASSERT_TRUE(pump(self->im, self->fs, 5000, true, received_n, &want));
	ASSERT_EQ(1, self->fs->n);
	ASSERT_TRUE(rec_is(&self->fs->recs[0], "dev-a", 3, 10));
	ingest_mqtt_get_stats(self->im, &st);
	ASSERT_EQ(4, st.received);
	ASSERT_EQ(1, st.accepted);
	ASSERT_EQ(3, st.rejected);
	ASSERT_EQ(1, st.by_code[QKD_PL_E_ID_MISMATCH]);
	ASSERT_EQ(1, st.by_code[QKD_PL_E_MAGIC]);
	ASSERT_EQ(1, st.by_code[QKD_PL_E_TRAILING]);

	/* Rejected messages are acked (dropped for good): a new connection
	 * of the session gets nothing again. */
	pump(self->im, self->fs, 200, true, NULL, NULL);
	ingest_mqtt_close(self->im);
	self->im = NULL;
	ASSERT_EQ(0, open_mqtt(self, "qkd-agent-test-2"));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));
	pump(self->im, self->fs, 300, true, NULL, NULL);
	ingest_mqtt_get_stats(self->im, &st);
	ASSERT_EQ(0, st.received);
}

TEST_F(mqtt, persistent_session_keeps_messages)
{
	struct ingest_mqtt_stats st;
	unsigned int want = 30;

	if (_metadata->skip)
		return;
	/* Subscribe once, then go away. */
	ASSERT_EQ(0, open_mqtt(self, "qkd-agent-test-3"));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));
	ingest_mqtt_close(self->im);
	self->im = NULL;

	/* Published while the ingest is disconnected. */
	ASSERT_EQ(0, publish_seqs(self->port, "meter-9", 1, want));

	/* Same client id: the broker still has the session. */
	ASSERT_EQ(0, open_mqtt(self, "qkd-agent-test-3"));
	ASSERT_TRUE(pump(self->im, self->fs, 5000, true, has_n, &want));
	for (unsigned int i = 0; i < want; i++) {
		ASSERT_TRUE(rec_is(&self->fs->recs[i], "meter-9", i + 1,
				   (i + 1) % 200)) TH_LOG("record %u", i);
	}
	ingest_mqtt_get_stats(self->im, &st);
	ASSERT_EQ(1, st.connects);
	ASSERT_EQ(0, st.sessions_lost);
	ASSERT_TRUE(ingest_mqtt_ready(self->im));
}

/*
 * The PUBACK window: a process takes records (appended, not durable) and
 * dies by SIGKILL before any commit. The broker must deliver them again to
 * the next process with the client id. Control: the same with a commit
 * before the kill delivers nothing again.
 */
static void crash_child(int port, const char *cid, unsigned int want,
			bool commit_first)
{
	struct fake_spool *fs = malloc(sizeof(*fs));
	struct ingest_mqtt_opts o = {
		.port = port, .client_id = cid, .keepalive = 10,
		.reconnect_min_ms = 20, .submit = fake_submit, .ctx = fs,
	};
	struct ingest_mqtt *im;

	if (!fs)
		_exit(2);
	fake_init(fs);
	if (ingest_mqtt_open(&o, &im, NULL, 0))
		_exit(3);
	if (!pump(im, fs, 5000, false, has_n, &want))
		_exit(4);
	if (commit_first) {
		fs->durable = fs->next_seq - 1;
		ingest_mqtt_durable(im, fs->durable);
		/* Let the PUBACKs reach the broker before dying. */
		pump(im, fs, 300, false, NULL, NULL);
	} else if (ingest_mqtt_want_write(im)) {
		_exit(5);	/* a held PUBACK would have been writable */
	}
	kill(getpid(), SIGKILL);
	_exit(6);
}

static void run_crash(struct __test_metadata *_metadata,
		      FIXTURE_DATA(mqtt) *self, const char *cid,
		      bool commit_first, unsigned int *redelivered)
{
	unsigned int want = 10;
	int status;
	pid_t pid;

	/* The session exists before the messages are published. */
	ASSERT_EQ(0, open_mqtt(self, cid));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));
	ingest_mqtt_close(self->im);
	self->im = NULL;
	ASSERT_EQ(0, publish_seqs(self->port, "pump-2", 1, want));

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		crash_child(self->port, cid, want, commit_first);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child status %#x", status);

	ASSERT_EQ(0, open_mqtt(self, cid));
	pump(self->im, self->fs, commit_first ? 800 : 5000, true, has_n,
	     &want);
	*redelivered = self->fs->n;
}

TEST_F(mqtt, crash_before_commit_redelivers)
{
	unsigned int n = 0;

	if (_metadata->skip)
		return;
	run_crash(_metadata, self, "qkd-agent-test-4", false, &n);
	ASSERT_EQ(10, n);
	for (unsigned int i = 0; i < n; i++)
		ASSERT_TRUE(rec_is(&self->fs->recs[i], "pump-2", i + 1,
				   (i + 1) % 200));
}

TEST_F(mqtt, crash_after_commit_does_not_redeliver)
{
	unsigned int n = 99;

	if (_metadata->skip)
		return;
	run_crash(_metadata, self, "qkd-agent-test-5", true, &n);
	ASSERT_EQ(0, n);
}

TEST_F(mqtt, spool_refusal_reconnects_and_redelivers)
{
	struct ingest_mqtt_stats st;
	unsigned int want = 8;
	bool seen[9] = { false };

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, open_mqtt(self, "qkd-agent-test-6"));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));
	self->fs->fail_call = 3;	/* the third record: spool full */
	self->fs->fail_err = -ENOSPC;
	ASSERT_EQ(0, publish_seqs(self->port, "tank-1", 1, want));
	/* All eight end up taken, some maybe twice (the ledger dedups). */
	for (uint64_t end = ms_now() + 5000; ms_now() < end;) {
		bool all = true;

		pump(self->im, self->fs, 50, true, NULL, NULL);
		for (unsigned int i = 0; i < self->fs->n; i++)
			seen[self->fs->recs[i].device_seq] = true;
		for (unsigned int s = 1; s <= want; s++)
			all = all && seen[s];
		if (all)
			break;
	}
	for (unsigned int s = 1; s <= want; s++) {
		ASSERT_TRUE(seen[s]) TH_LOG("seq %u never taken", s);
	}
	/* In order: each record after the first at most one seq ahead of
	 * the highest before it. */
	for (unsigned int i = 1, hi = (unsigned int)self->fs->recs[0].device_seq;
	     i < self->fs->n; i++) {
		unsigned int s = (unsigned int)self->fs->recs[i].device_seq;

		ASSERT_LE(s, hi + 1);
		if (s > hi)
			hi = s;
	}
	ingest_mqtt_get_stats(self->im, &st);
	ASSERT_EQ(1, st.refused);
	ASSERT_EQ(1, st.by_code[QKD_PL_E_SPOOL_FULL]);
	ASSERT_LE(1, st.disconnects);
	ASSERT_LE(2, st.connects);
	ASSERT_EQ(0, st.sessions_lost);
}

TEST_F(mqtt, broker_restart_loses_session)
{
	struct ingest_mqtt_stats st;
	unsigned int want = 3;
	int port = self->port;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, open_mqtt(self, "qkd-agent-test-7"));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));

	/* The broker goes away: the loss is seen, reconnects fail. */
	kill(self->broker, SIGTERM);
	waitpid(self->broker, NULL, 0);
	self->broker = -1;
	pump(self->im, self->fs, 300, true, NULL, NULL);
	ASSERT_FALSE(ingest_mqtt_ready(self->im));
	ingest_mqtt_get_stats(self->im, &st);
	ASSERT_EQ(1, st.disconnects);
	ASSERT_LE(1, st.connect_errors);

	/* Back on the same port, without persistence: the session is gone,
	 * which is counted, and the ingest subscribes again by itself. */
	for (int i = 0; i < 50 && self->broker < 0; i++) {
		self->broker = start_broker(self->dir, port, &self->port);
		if (self->broker < 0)
			usleep(100000);
	}
	ASSERT_LT(0, self->broker);
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, is_ready, NULL));
	ingest_mqtt_get_stats(self->im, &st);
	ASSERT_EQ(2, st.connects);
	ASSERT_EQ(1, st.sessions_lost);
	ASSERT_EQ(0, publish_seqs(self->port, "x", 1, want));
	ASSERT_TRUE(pump(self->im, self->fs, 3000, true, has_n, &want));
}

TEST_HARNESS_MAIN
