// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded random-message fuzzing of the qkdkey family: 400,000 messages
 * (QKD_FUZZ_MSGS; fewer than 100,000 fails) within a time bound
 * (QKD_FUZZ_SECS), from a seeded PRNG (QKD_FUZZ_SEED repeats the message
 * sequence; the reader thread's timing varies): every command and unknown
 * ones, random attribute types, lengths, nesting and payloads, corrupt
 * attribute and message lengths, random flags (NLM_F_DUMP on do-only
 * operations, reserved bits), batches of several messages per datagram.
 * Names come mostly from a small set so SET/DEL/KEY_PUSH hit real links,
 * while a second thread reads those links through /dev/qkdkey.
 * Afterwards the kernel must be healthy: the family answers, every link's
 * counters balance, a fresh user link works end to end, monitor works.
 * The runner checks dmesg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

#define BATCH_BYTES	(128 * 1024)
#define MSG_MAX		(40 * 1024)	/* largest message gen_msg() writes */

static const char *const names[] = {
	"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "fuzz-long.name1",
};
#define NNAMES (int)(sizeof(names) / sizeof(names[0]))
static const char *const bad_names[] = {
	"", "f/0", "f 0", "abcdefghijklmnop", "f\n", "..",
};

static __thread uint64_t rs;

static uint64_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545f4914f6cdd1dULL;
}

static uint32_t rn(uint32_t n)
{
	return n ? rnd() % n : 0;
}

struct fz {
	uint16_t family;
	uint32_t ids[32];	/* link ids seen, for LINK_ID selectors */
	int nids;
	uint64_t next[NNAMES][2];
	unsigned char data[32769];
	volatile int stop;
};

static uint32_t ppm_value(void)
{
	static const uint32_t v[] = { 0, 1, 20000, 109999, 110000, 110001, 999999,
				      1000000, 1000001, 0xffffffff };

	return rn(8) ? v[rn(10)] : (uint32_t)rnd();
}

static void put_name(struct nlmsghdr *nlh, int type)
{
	if (rn(10))
		mnl_attr_put_strz(nlh, type, names[rn(NNAMES)]);
	else if (rn(4))
		mnl_attr_put_strz(nlh, type, bad_names[rn(6)]);
	else
		mnl_attr_put(nlh, type, 2, "f1");	/* not NUL-terminated */
}

static void put_random_attrs(struct fz *f, struct nlmsghdr *nlh, int n, int depth);

/* one random attribute of a random type, length and payload */
static void put_random_attr(struct fz *f, struct nlmsghdr *nlh, int depth)
{
	uint16_t type = rn(4) ? rn(QKDKEY_A_MAX + 3) : (uint16_t)rnd();
	struct nlattr *n;

	if (depth < 3 && !rn(5)) {
		n = mnl_attr_nest_start(nlh, type & NLA_TYPE_MASK);
		if (rn(4))
			n->nla_type &= ~NLA_F_NESTED;
		put_random_attrs(f, nlh, rn(4), depth + 1);
		mnl_attr_nest_end(nlh, n);
		return;
	}
	mnl_attr_put(nlh, type, rn(3) ? rn(17) : rn(64), f->data);
}

static void put_random_attrs(struct fz *f, struct nlmsghdr *nlh, int n, int depth)
{
	while (n-- > 0)
		put_random_attr(f, nlh, depth);
}

static void put_sim_nest(struct fz *f, struct nlmsghdr *nlh)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);

	for (int i = rn(4); i > 0; i--) {
		switch (rn(6)) {
		case 0: mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE,
					 rn(20) ? rn(65536) : rn(2) ? 0 : (uint32_t)rnd()); break;
		case 1: mnl_attr_put_u32(nlh, QKDKEY_SIM_A_QBER, ppm_value()); break;
		case 2: mnl_attr_put_u32(nlh, QKDKEY_SIM_A_EVE, ppm_value()); break;
		case 3: mnl_attr_put(nlh, QKDKEY_SIM_A_SEED, rn(20) ? 31 + rn(3) : 32, f->data); break;
		default: put_random_attr(f, nlh, 2); break;
		}
	}
	mnl_attr_nest_end(nlh, n);
}

/* an attribute of type @t with a plausible payload */
static void put_sensible(struct fz *f, struct nlmsghdr *nlh, int t)
{
	uint32_t len;

	switch (t) {
	case QKDKEY_A_LINK_ID:
		mnl_attr_put_u32(nlh, t, f->nids && rn(4) ? f->ids[rn(f->nids)] : rn(2) ? rn(64) : (uint32_t)rnd());
		break;
	case QKDKEY_A_LINK_NAME:
	case QKDKEY_A_LINK_PEER:
		put_name(nlh, t);
		break;
	case QKDKEY_A_LINK_KIND:
		mnl_attr_put_strz(nlh, t, rn(10) ? (rn(2) ? "user" : "sim") : rn(2) ? "nosuch" : "");
		break;
	case QKDKEY_A_LINK_ADMIN_UP:
		mnl_attr_put_u8(nlh, t, rn(3));
		break;
	case QKDKEY_A_LINK_DEFAULT:
		mnl_attr_put(nlh, t, rn(10) ? 0 : rn(8), f->data);
		break;
	case QKDKEY_A_LINK_EPOCH:
	case QKDKEY_A_KEY_EPOCH:
	case QKDKEY_A_LINK_TX_AVAIL:
	case QKDKEY_A_LINK_RX_AVAIL:
		mnl_attr_put_u64(nlh, t, rn(10) ? rn(4) : rnd());
		break;
	case QKDKEY_A_KEY_OFFSET:
		mnl_attr_put_u64(nlh, t, rn(10) ? rn(100000) : rnd());
		break;
	case QKDKEY_A_LINK_POOL_LIMIT: {
		static const uint32_t v[] = { 4095, 4096, 8192, 65536, 1 << 20, 268435456, 268435457 };

		mnl_attr_put_u32(nlh, t, rn(8) ? v[rn(7)] : (uint32_t)rnd());
		break;
	}
	case QKDKEY_A_KEY_DIR:
		mnl_attr_put_u32(nlh, t, rn(10) ? rn(2) : (uint32_t)rnd());
		break;
	case QKDKEY_A_KEY_DATA:
		len = rn(20) ? 1 + rn(4096) : rn(2) ? 0 : 32768 + rn(2);
		mnl_attr_put(nlh, t, len, f->data);
		break;
	case QKDKEY_A_LINK_SIM:
		put_sim_nest(f, nlh);
		break;
	case QKDKEY_A_LINK_COUNTERS:
		put_random_attr(f, nlh, 2);
		break;
	default:	/* the u32s: STATE, QBER, THRESHOLD, KEY_RATE, WATERMARK, LEN */
		mnl_attr_put_u32(nlh, t, rn(2) ? ppm_value() : rn(65536));
		break;
	}
}

/* attributes each command takes (Documentation/netlink.rst) */
static const uint8_t cmd_attrs[][12] = {
	[QKDKEY_CMD_LINK_GET] = { 1, 2 },
	[QKDKEY_CMD_LINK_NEW] = { 2, 3, 4, 8, 12, 14, 15, 17 },
	[QKDKEY_CMD_LINK_DEL] = { 1, 2 },
	[QKDKEY_CMD_LINK_SET] = { 1, 2, 6, 7, 8, 11, 12, 13, 14, 15, 17 },
	[QKDKEY_CMD_KEY_PUSH] = { 1, 2, 18, 19, 20, 22 },
};

/* a well-formed KEY_PUSH into a fuzz link, to reach the storage paths */
static void gen_push(struct fz *f, struct nlmsghdr *nlh)
{
	int n = rn(NNAMES), d = rn(2);
	uint32_t len = 1 + rn(rn(10) ? 2048 : 32768);

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, names[n]);
	mnl_attr_put_u32(nlh, QKDKEY_A_KEY_DIR, d);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_EPOCH, rn(20) ? rn(2) : rn(6));
	if (!rn(10))
		f->next[n][d] = rn(2) ? 0 : f->next[n][d] + rn(5000);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_OFFSET, f->next[n][d]);
	mnl_attr_put(nlh, QKDKEY_A_KEY_DATA, len, f->data);
	f->next[n][d] += len;
}

static void put_sel(struct fz *f, struct nlmsghdr *nlh)
{
	if (f->nids && !rn(4))
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, f->ids[rn(f->nids)]);
	else
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, names[rn(NNAMES)]);
}

/* a well-formed request with random valid values; returns its command */
static uint8_t gen_valid(struct fz *f, struct nlmsghdr *nlh)
{
	uint32_t r = rn(100);
	struct nlattr *n;

	if (r < 10) {
		put_sel(f, nlh);
		return QKDKEY_CMD_LINK_GET;
	}
	if (r < 18) {
		put_sel(f, nlh);
		return QKDKEY_CMD_LINK_DEL;
	}
	if (r < 45) {
		gen_push(f, nlh);
		return QKDKEY_CMD_KEY_PUSH;
	}
	if (r < 65) {
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, names[rn(NNAMES)]);
		if (!rn(8))
			mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 4096 + rn(1 << 20));
		if (!rn(8))
			mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, rn(1000001));
		if (!rn(8))
			mnl_attr_put_u32(nlh, QKDKEY_A_LINK_LOW_WATERMARK, rn(65536));
		if (rn(2)) {
			mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "user");
			if (rn(2))
				mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, rn(4));
			return QKDKEY_CMD_LINK_NEW;
		}
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "sim");
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_PEER, names[rn(NNAMES)]);
		n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE, rn(65536));
		if (rn(2))
			mnl_attr_put_u32(nlh, QKDKEY_SIM_A_EVE, rn(1000001));
		if (!rn(10))
			mnl_attr_put(nlh, QKDKEY_SIM_A_SEED, 32, f->data);
		mnl_attr_nest_end(nlh, n);
		return QKDKEY_CMD_LINK_NEW;
	}
	put_sel(f, nlh);
	for (int i = 1 + rn(3); i > 0; i--) {
		switch (rn(10)) {
		case 0: mnl_attr_put_u8(nlh, QKDKEY_A_LINK_ADMIN_UP, rn(2)); break;
		case 1: mnl_attr_put(nlh, QKDKEY_A_LINK_DEFAULT, 0, NULL); break;
		case 2: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, rn(1000001)); break;
		case 3: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 4096 + rn(1 << 20)); break;
		case 4: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_LOW_WATERMARK, rn(65536)); break;
		case 5: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER, rn(200000)); break;
		case 6: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_KEY_RATE, rnd()); break;
		case 7: mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, rn(8)); break;
		default:
			n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
			mnl_attr_put_u32(nlh, 1 + rn(3), rn(2) ? rn(65536) : rn(1000001));
			mnl_attr_nest_end(nlh, n);
			break;
		}
	}
	return QKDKEY_CMD_LINK_SET;
}

/* writes one message at @buf; returns its length on the wire */
static size_t gen_msg(struct fz *f, char *buf, uint32_t seq)
{
	static const uint16_t odd_flags[] = { NLM_F_ROOT, NLM_F_MATCH, NLM_F_ATOMIC,
		NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_APPEND, NLM_F_ECHO };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	uint32_t r = rn(100), cmd;
	size_t len;

	nlh->nlmsg_type = rn(200) ? f->family : 0xfff0;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (r < 6)
		nlh->nlmsg_flags |= NLM_F_DUMP;
	else if (r < 9)
		nlh->nlmsg_flags = rnd();
	else if (r < 11)
		nlh->nlmsg_flags &= ~NLM_F_ACK;
	else if (r < 14)
		nlh->nlmsg_flags |= odd_flags[rn(8)];
	r = rn(100);
	cmd = r < 90 ? 1 + rn(5) : r < 97 ? rn(QKDKEY_CMD_MAX + 3) : rnd() & 0xff;
	g->cmd = cmd;
	g->version = rn(20) ? QKDKEY_GENL_VERSION : rnd();
	g->reserved = rn(50) ? 0 : rnd();

	if (rn(100) < 40) {
		g->cmd = gen_valid(f, nlh);
		if (!rn(4))	/* a valid message with one thing wrong with it */
			put_random_attr(f, nlh, 0);
	} else {
		for (int i = rn(8); i > 0; i--) {
			if (cmd >= 1 && cmd <= 5 && rn(10) < 7) {
				const uint8_t *a = cmd_attrs[cmd];
				int n = 0;

				while (n < 12 && a[n])
					n++;
				put_sensible(f, nlh, a[rn(n)]);
			} else if (rn(2)) {
				put_sensible(f, nlh, 1 + rn(QKDKEY_A_MAX));
			} else {
				put_random_attr(f, nlh, 0);
			}
		}
	}
	len = MNL_ALIGN(nlh->nlmsg_len);
	/* corruptions: a bad attribute length, a bad message length */
	r = rn(100);
	if (r < 2 && nlh->nlmsg_len > NLMSG_HDRLEN + GENL_HDRLEN + 4) {
		struct nlattr *a = (void *)(buf + NLMSG_HDRLEN + GENL_HDRLEN);

		a->nla_len = rn(2) ? rn(4) : a->nla_len + 4 + rn(64);
	} else if (r < 4) {
		nlh->nlmsg_len = rn(nlh->nlmsg_len);
	} else if (r < 5) {
		nlh->nlmsg_len -= rn(8);
	}
	return len;
}

static void *reader(void *arg)
{
	struct fz *f = arg;
	static unsigned char buf[QKD_HDR + 16384];

	rs = 0x9e3779b97f4a7c15ULL ^ (uintptr_t)&buf;
	while (!f->stop) {
		int dir = rn(2), fd = qkd_open_bind(names[rn(NNAMES)], dir, O_NONBLOCK);

		if (fd < 0) {
			qkd_msleep(1);
			continue;
		}
		for (int i = rn(20); i > 0 && !f->stop; i--) {
			if (dir == QKDKEY_DIR_TX)
				qkd_read(fd, buf, QKD_HDR + 1 + rn(16384));
			else
				qkd_pread(fd, buf, 1 + rn(8192), rn(10) ? rn(100000) : rnd() >> 1);
		}
		close(fd);
	}
	return NULL;
}

static long env_num(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

/* the family answers; every link's counters balance */
static int healthy(struct qnl *q, struct qnl_link *all, int max, struct fz *f)
{
	int n = qnl_dump(q, all, max, NULL);

	if (n < 0)
		return n;
	f->nids = 0;
	for (int i = 0; i < n; i++) {
		if (qnl_check_counters(&all[i]))
			return -EUCLEAN;
		if (f->nids < 32)
			f->ids[f->nids++] = all[i].id;
	}
	return 0;
}

FIXTURE(fuzz) {
	struct qnl q;
	struct fz *f;
	struct qnl_link all[256];
};

FIXTURE_SETUP(fuzz)
{
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	self->f = calloc(1, sizeof(*self->f));
	ASSERT_NE(NULL, self->f);
	self->f->family = self->q.family;
}

FIXTURE_TEARDOWN(fuzz)
{
	qnl_del_all(&self->q);
	qnl_close(&self->q);
	free(self->f);
}

TEST_F_TIMEOUT(fuzz, random_messages, 600)
{
	long target = env_num("QKD_FUZZ_MSGS", 400000), secs = env_num("QKD_FUZZ_SECS", 150);
	uint64_t seed = env_num("QKD_FUZZ_SEED", 0);
	static char batch[BATCH_BYTES] __attribute__((aligned(8)));
	static char rbuf[65536] __attribute__((aligned(8)));
	long msgs = 0, dgrams = 0, acks = 0, errs[140] = {}, send_err = 0;
	struct fz *f = self->f;
	struct qnl s;
	long long t0, end;
	pthread_t th;
	int fd, big = 4 << 20;
	uint32_t seq = 1;

	if (!seed)
		seed = (uint64_t)time(NULL) << 20 ^ getpid();
	rs = seed;
	TH_LOG("seed 0x%llx (QKD_FUZZ_SEED=0x%llx repeats it), %ld messages, at most %ld s",
	       (unsigned long long)seed, (unsigned long long)seed, target, secs);
	for (size_t i = 0; i < sizeof(f->data); i++)
		f->data[i] = rnd();
	/* links to hit: users and a slow sim pair */
	ASSERT_EQ(0, qnl_new_user(&self->q, "f0", 0, 0, NULL));
	ASSERT_EQ(0, qnl_new_user(&self->q, "f1", 0, 4096, NULL));
	ASSERT_EQ(0, qnl_new_sim(&self->q, "f2", "f3", 65536, NULL));
	ASSERT_EQ(0, healthy(&self->q, self->all, 256, f));

	ASSERT_EQ(0, qnl_open(&s));
	fd = mnl_socket_get_fd(s.nl);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	ASSERT_EQ(0, pthread_create(&th, NULL, reader, f));

	t0 = qnl_now_ms();
	end = t0 + secs * 1000;
	while (msgs < target && qnl_now_ms() < end) {
		size_t pos = 0;
		ssize_t n;

		for (int k = 1 + rn(8); k > 0 && pos + MSG_MAX <= sizeof(batch); k--, msgs++)
			pos += gen_msg(f, batch + pos, seq++);
		dgrams++;
		if (send(fd, batch, pos, 0) < 0)
			send_err++;
		/* the replies, and any dump the batch started */
		while ((n = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT)) > 0 || (n < 0 && errno == ENOBUFS)) {
			const struct nlmsghdr *nlh = (void *)rbuf;
			int left = n;

			for (; n > 0 && mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_type != NLMSG_ERROR)
					continue;
				acks++;
				errs[-e->error >= 0 && -e->error < 139 ? -e->error : 139]++;
			}
		}
		if (dgrams % 2000 == 0)
			ASSERT_EQ(0, healthy(&self->q, self->all, 256, f));
	}
	f->stop = 1;
	pthread_join(th, NULL);
	TH_LOG("%ld messages in %ld datagrams, %.1f s, %ld acks, %ld send errors",
	       msgs, dgrams, (qnl_now_ms() - t0) / 1000.0, acks, send_err);
	for (int i = 0; i < 140; i++)
		if (errs[i])
			TH_LOG("  errno %3d %-28s %ld", i, i ? strerror(i) : "(ok)", errs[i]);
	qnl_close(&s);
	/* the time bound may cut a slow machine short, not below 100,000 */
	EXPECT_GE(msgs, target < 100000 ? target : 100000);

	/* healthy: the family answers, counters balance, links go away */
	ASSERT_EQ(0, healthy(&self->q, self->all, 256, f));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	ASSERT_EQ(0, qnl_dump(&self->q, self->all, 256, NULL));
}

TEST_F(fuzz, then_end_to_end)
{
	unsigned char key[1000], r[QKD_HDR + 1000];
	struct qnl m;
	struct qnl_link l;
	int tx, rx;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = i * 7;
	ASSERT_EQ(0, qnl_open(&m));
	ASSERT_EQ(0, qnl_join_monitor(&m));
	ASSERT_EQ(0, qnl_new_user(&self->q, "fresh", 3, 0, NULL));
	ASSERT_EQ(0, qnl_wait_ntf(&m, QKDKEY_CMD_LINK_ADD_NTF, "fresh", &l, 10000));
	ASSERT_EQ(0, qnl_push(&self->q, "fresh", QKDKEY_DIR_TX, 3, 0, key, 1000, NULL));
	ASSERT_EQ(0, qnl_push(&self->q, "fresh", QKDKEY_DIR_RX, 3, 0, key, 1000, NULL));
	tx = qkd_open_bind("fresh", QKDKEY_DIR_TX, O_NONBLOCK);
	rx = qkd_open_bind("fresh", QKDKEY_DIR_RX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_LE(0, rx);
	ASSERT_EQ(QKD_HDR + 1000, qkd_read(tx, r, QKD_HDR + 1000));
	EXPECT_EQ(0, memcmp(r + QKD_HDR, key, 1000));
	ASSERT_EQ(1000, qkd_pread(rx, r, 1000, 0));
	EXPECT_EQ(0, memcmp(r, key, 1000));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "fresh", &l, NULL));
	EXPECT_EQ(0, qnl_check_counters(&l));
	EXPECT_EQ(1000, l.cnt[QKDKEY_COUNTER_A_TX_TAKEN]);
	ASSERT_EQ(0, qnl_del(&self->q, "fresh", NULL));
	ASSERT_EQ(0, qnl_wait_ntf(&m, QKDKEY_CMD_LINK_DEL_NTF, "fresh", &l, 10000));
	EXPECT_EQ(-ENODEV, qkd_read(tx, r, QKD_HDR + 10));
	close(tx);
	close(rx);
	qnl_close(&m);
}

TEST_HARNESS_MAIN
