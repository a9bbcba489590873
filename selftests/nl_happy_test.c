// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family qkdkey, happy paths of every command: LINK_NEW
 * (user, sim pair), LINK_GET do (by id, by name, both) and dump, LINK_SET
 * of every settable attribute, KEY_PUSH read back through /dev/qkdkey,
 * LINK_DEL (gone from the dump, readers get ENODEV).
 * Runs with qkd_sim pairs=0: the tests create every link they use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

FIXTURE(nl) {
	struct qnl q;
	struct qnl_link l, m, all[4];
	struct qnl_err e;
	unsigned char a[QKD_HDR + 4096], b[4096];
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
}

FIXTURE_TEARDOWN(nl)
{
	qnl_del_all(&self->q);
	qnl_close(&self->q);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

/* every attribute LINK_GET documents for all kinds */
static const int reply_attrs[] = {
	QKDKEY_A_LINK_ID, QKDKEY_A_LINK_NAME, QKDKEY_A_LINK_KIND,
	QKDKEY_A_LINK_STATE, QKDKEY_A_LINK_EPOCH, QKDKEY_A_LINK_TX_AVAIL,
	QKDKEY_A_LINK_RX_AVAIL, QKDKEY_A_LINK_QBER, QKDKEY_A_LINK_QBER_THRESHOLD,
	QKDKEY_A_LINK_KEY_RATE, QKDKEY_A_LINK_POOL_LIMIT,
	QKDKEY_A_LINK_LOW_WATERMARK, QKDKEY_A_LINK_COUNTERS,
};

static void check_full(struct __test_metadata *_metadata, const struct qnl_link *l)
{
	/* "expected N, seen -1" names a missing attribute */
	for (size_t i = 0; i < sizeof(reply_attrs) / sizeof(reply_attrs[0]); i++)
		ASSERT_EQ(reply_attrs[i], QNL_HAS(l, reply_attrs[i]) ? reply_attrs[i] : -1);
	for (int c = QKDKEY_COUNTER_A_TX_DELIVERED; c <= QKDKEY_COUNTER_A_ALARMS; c++)
		ASSERT_EQ(c, (l->cnt_present & (1U << c)) ? c : -1);
	ASSERT_FALSE(QNL_HAS(l, QKDKEY_A_KEY_DATA));
	ASSERT_FALSE(l->sim_present & (1U << QKDKEY_SIM_A_SEED));
	ASSERT_EQ(0, qnl_check_counters(l));
}

static int parse_cb(const struct nlmsghdr *nlh, void *l)
{
	return qnl_parse_link(nlh, l);
}

/* GET @name until @field reaches @want (sim ticks and reports are async) */
#define WAIT_GET(q, name, l, cond) ({						\
	long long __end = qnl_now_ms() + 15000;					\
	int __r;								\
	while (!(__r = qnl_get(q, 0, name, l, NULL)) && !(cond) &&		\
	       qnl_now_ms() < __end)						\
		qkd_msleep(50);							\
	__r ? __r : ((cond) ? 0 : -ETIMEDOUT); })

TEST_F(nl, user_new_get_dump)
{
	struct qnl_link *all = calloc(64, sizeof(*all));
	struct nlmsghdr *nlh;
	int n, seen = 0;

	ASSERT_NE(NULL, all);
	nlh = qnl_req(&self->q, QKDKEY_CMD_LINK_NEW, 0);
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, "u1");
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "user");
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_PEER, "far-end.1");
	mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, 7);
	mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 65536);
	mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, 90000);
	mnl_attr_put_u32(nlh, QKDKEY_A_LINK_LOW_WATERMARK, 512);
	ASSERT_EQ(0, qnl_talk(&self->q, nlh, NULL, NULL, &self->e));
	ASSERT_EQ(0, qnl_new_user(&self->q, "u2", 0, 0, &self->e));

	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(QKDKEY_CMD_LINK_GET, self->l.cmd);
	check_full(_metadata, &self->l);
	EXPECT_STREQ("u1", self->l.name);
	EXPECT_STREQ("user", self->l.kind);
	ASSERT_TRUE(QNL_HAS(&self->l, QKDKEY_A_LINK_PEER));
	EXPECT_STREQ("far-end.1", self->l.peer);
	EXPECT_EQ(QKDKEY_LINK_UP, self->l.state);
	EXPECT_EQ(7, self->l.epoch);
	EXPECT_EQ(65536, self->l.pool);
	EXPECT_EQ(90000, self->l.threshold);
	EXPECT_EQ(512, self->l.watermark);
	EXPECT_EQ(0, self->l.tx_avail);
	EXPECT_EQ(0, self->l.rx_avail);
	EXPECT_FALSE(QNL_HAS(&self->l, QKDKEY_A_LINK_SIM));

	/* by id, and by id and name together: the same link */
	ASSERT_EQ(0, qnl_get(&self->q, self->l.id, NULL, &self->m, &self->e));
	EXPECT_STREQ("u1", self->m.name);
	nlh = qnl_req(&self->q, QKDKEY_CMD_LINK_GET, 0);
	mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, self->l.id);
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, "u1");
	ASSERT_EQ(0, qnl_talk(&self->q, nlh, parse_cb, &self->m, &self->e));
	EXPECT_EQ(self->l.id, self->m.id);

	/* defaults of a bare user link */
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u2", &self->m, &self->e));
	check_full(_metadata, &self->m);
	EXPECT_NE(self->l.id, self->m.id);
	EXPECT_EQ(0, self->m.epoch);
	EXPECT_EQ(1048576, self->m.pool);
	EXPECT_EQ(QKDKEY_QBER_THRESHOLD_DEFAULT, self->m.threshold);
	EXPECT_EQ(0, self->m.watermark);
	if (QNL_HAS(&self->m, QKDKEY_A_LINK_PEER))
		EXPECT_STREQ("", self->m.peer);

	n = qnl_dump(&self->q, all, 64, &self->e);
	ASSERT_EQ(2, n);
	for (int i = 0; i < n; i++) {
		check_full(_metadata, &all[i]);
		if (i)
			EXPECT_LT(all[i - 1].id, all[i].id);
		seen |= !strcmp(all[i].name, "u1") ? 1 : !strcmp(all[i].name, "u2") ? 2 : 4;
	}
	EXPECT_EQ(3, seen);
	/* a name in use */
	ASSERT_EQ(-EEXIST, qnl_new_user(&self->q, "u1", 0, 0, &self->e));
	EXPECT_TRUE(self->e.has_msg);
	free(all);
}

TEST_F(nl, sim_pair_new_and_mirror)
{
	struct qkdkey_tx_hdr *h = (void *)self->a;
	int tx, rx;

	ASSERT_EQ(0, qnl_new_sim(&self->q, "sa", "sb", 65536, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "sa", &self->l, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "sb", &self->m, &self->e));
	check_full(_metadata, &self->l);
	check_full(_metadata, &self->m);
	EXPECT_STREQ("sim", self->l.kind);
	EXPECT_STREQ("sim", self->m.kind);
	EXPECT_STREQ("sb", self->l.peer);
	EXPECT_STREQ("sa", self->m.peer);
	ASSERT_TRUE(QNL_HAS(&self->l, QKDKEY_A_LINK_SIM));
	EXPECT_EQ(65536, self->l.sim_rate);
	EXPECT_EQ(20000, self->l.sim_qber);
	EXPECT_EQ(0, self->l.sim_eve);
	EXPECT_EQ(65536, self->m.sim_rate);
	{
		struct qnl_link all[4];

		ASSERT_EQ(2, qnl_dump(&self->q, all, 4, &self->e));
		EXPECT_STREQ("sa", all[0].name);
		EXPECT_STREQ("sb", all[1].name);
	}

	/* sa's TX is sb's RX */
	ASSERT_EQ(0, WAIT_GET(&self->q, "sa", &self->l, self->l.tx_avail >= 256));
	tx = qkd_open_bind("sa", QKDKEY_DIR_TX, 0);
	rx = qkd_open_bind("sb", QKDKEY_DIR_RX, 0);
	ASSERT_LE(0, tx);
	ASSERT_LE(0, rx);
	ASSERT_EQ(QKD_HDR + 256, qkd_read(tx, self->a, QKD_HDR + 256));
	EXPECT_EQ(self->l.id, h->link_id);
	ASSERT_EQ(256, qkd_pread(rx, self->b, 256, h->offset));
	EXPECT_EQ(0, memcmp(self->a + QKD_HDR, self->b, 256));
	close(tx);
	close(rx);
}

TEST_F(nl, set_common_attrs)
{
	struct qkdkey_link_info info;
	int fd;

	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 0, 0, &self->e));
	ASSERT_EQ(0, qnl_new_user(&self->q, "u2", 0, 0, &self->e));

	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER_THRESHOLD, 200000, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_POOL_LIMIT, 8192, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_LOW_WATERMARK, 1000, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(200000, self->l.threshold);
	EXPECT_EQ(8192, self->l.pool);
	EXPECT_EQ(1000, self->l.watermark);
	/* pool limits at both ends of the documented range */
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_POOL_LIMIT, 4096, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_POOL_LIMIT, 268435456, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER_THRESHOLD, 1000000, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(268435456, self->l.pool);
	EXPECT_EQ(1000000, self->l.threshold);

	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_ADMIN_UP, 0, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(QKDKEY_LINK_DOWN, self->l.state);
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_ADMIN_UP, 1, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(QKDKEY_LINK_UP, self->l.state);

	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_DEFAULT, 0, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_TRUE(self->l.is_default);
	ASSERT_EQ(0, qnl_set(&self->q, "u2", QKDKEY_A_LINK_DEFAULT, 0, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u2", &self->m, &self->e));
	EXPECT_FALSE(self->l.is_default);
	EXPECT_TRUE(self->m.is_default);
	/* an unbound /dev/qkdkey file follows the default link */
	fd = qkd_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, qkd_info(fd, 0, &info));
	EXPECT_EQ(self->m.id, info.link_id);
	EXPECT_TRUE(info.flags & QKDKEY_INFO_DEFAULT);
	close(fd);
}

TEST_F(nl, set_pool_shrink_expires_oldest)
{
	struct qkdkey_tx_hdr *h = (void *)self->a;
	unsigned char p[30000];
	int tx;

	fill(p, sizeof(p), 3);
	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 0, 0, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_TX, 0, 0, p, sizeof(p), &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_POOL_LIMIT, 4096, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(4096, self->l.pool);
	EXPECT_GT(sizeof(p), self->l.tx_avail);
	EXPECT_LT(0, self->l.cnt[QKDKEY_COUNTER_A_TX_EXPIRED]);
	EXPECT_EQ(0, qnl_check_counters(&self->l));
	/* what is left is the newest key */
	tx = qkd_open_bind("u1", QKDKEY_DIR_TX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_EQ(QKD_HDR + 100, qkd_read(tx, self->a, QKD_HDR + 100));
	EXPECT_EQ(sizeof(p) - self->l.tx_avail, h->offset);
	EXPECT_EQ(0, memcmp(self->a + QKD_HDR, p + h->offset, 100));
	close(tx);
}

TEST_F(nl, sim_seeded_ends_agree)
{
	struct qkdkey_tx_hdr *h = (void *)self->a;
	unsigned char seed[32];
	struct nlmsghdr *nlh;
	struct nlattr *n;
	int tx, rx;

	fill(seed, sizeof(seed), 9);
	/* the two ends of one seeded link, as two kernels would create them */
	for (int i = 0; i < 2; i++) {
		nlh = qnl_req(&self->q, QKDKEY_CMD_LINK_NEW, 0);
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, i ? "sy" : "sx");
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "sim");
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_PEER, i ? "sx" : "sy");
		n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE, 65536);
		mnl_attr_put(nlh, QKDKEY_SIM_A_SEED, sizeof(seed), seed);
		mnl_attr_nest_end(nlh, n);
		ASSERT_EQ(0, qnl_talk(&self->q, nlh, NULL, NULL, &self->e));
		/* only NAME is created */
		ASSERT_EQ(i + 1, qnl_dump(&self->q, self->all, 4, &self->e));
	}
	ASSERT_EQ(0, qnl_get(&self->q, 0, "sy", &self->m, &self->e));
	check_full(_metadata, &self->m);
	EXPECT_STREQ("sx", self->m.peer);
	ASSERT_EQ(0, WAIT_GET(&self->q, "sx", &self->l, self->l.tx_avail >= 512));
	EXPECT_EQ(self->l.epoch, self->m.epoch);
	tx = qkd_open_bind("sx", QKDKEY_DIR_TX, 0);
	rx = qkd_open_bind("sy", QKDKEY_DIR_RX, 0);
	ASSERT_LE(0, tx);
	ASSERT_LE(0, rx);
	ASSERT_EQ(QKD_HDR + 512, qkd_read(tx, self->a, QKD_HDR + 512));
	ASSERT_EQ(512, qkd_pread(rx, self->b, 512, h->offset));
	EXPECT_EQ(0, memcmp(self->a + QKD_HDR, self->b, 512));
	close(tx);
	close(rx);
}

TEST_F(nl, set_sim_both_ends)
{
	ASSERT_EQ(0, qnl_new_sim(&self->q, "sa", "sb", 65536, &self->e));
	ASSERT_EQ(0, qnl_set_sim(&self->q, "sa", QKDKEY_SIM_A_RATE, 1000, &self->e));
	ASSERT_EQ(0, qnl_set_sim(&self->q, "sb", QKDKEY_SIM_A_QBER, 30000, &self->e));
	ASSERT_EQ(0, qnl_set_sim(&self->q, "sa", QKDKEY_SIM_A_EVE, 100000, &self->e));
	for (int i = 0; i < 2; i++) {
		const char *n = i ? "sb" : "sa";

		ASSERT_EQ(0, qnl_get(&self->q, 0, n, &self->l, &self->e));
		EXPECT_EQ(1000, self->l.sim_rate);
		EXPECT_EQ(30000, self->l.sim_qber);
		EXPECT_EQ(100000, self->l.sim_eve);
		/* the reported QBER follows: 30000 + 100000 / 4, under 11 % */
		ASSERT_EQ(0, WAIT_GET(&self->q, n, &self->l, self->l.qber == 55000));
		EXPECT_EQ(QKDKEY_LINK_UP, self->l.state);
	}
}

TEST_F(nl, set_user_report_and_epoch)
{
	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 7, 0, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 50000, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_KEY_RATE, 12345, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_EPOCH, 10, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(50000, self->l.qber);
	EXPECT_EQ(12345, self->l.key_rate);
	EXPECT_EQ(10, self->l.epoch);
	EXPECT_EQ(QKDKEY_LINK_UP, self->l.state);
}

TEST_F(nl, key_push_read_back)
{
	struct qkdkey_tx_hdr *h = (void *)self->a;
	unsigned char p[3000];
	int tx, rx;

	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 7, 0, &self->e));
	fill(p, sizeof(p), 1);
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_TX, 7, 0, p, 1000, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_TX, 7, 1000, p + 1000, 500, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_RX, 7, 0, p + 1500, 1500, &self->e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(1500, self->l.tx_avail);
	EXPECT_EQ(1500, self->l.rx_avail);
	EXPECT_EQ(1500, self->l.cnt[QKDKEY_COUNTER_A_TX_DELIVERED]);
	EXPECT_EQ(1500, self->l.cnt[QKDKEY_COUNTER_A_RX_DELIVERED]);

	tx = qkd_open_bind("u1", QKDKEY_DIR_TX, O_NONBLOCK);
	rx = qkd_open_bind("u1", QKDKEY_DIR_RX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_LE(0, rx);
	ASSERT_EQ(QKD_HDR + 1000, qkd_read(tx, self->a, QKD_HDR + 1000));
	EXPECT_EQ(self->l.id, h->link_id);
	EXPECT_EQ(1000, h->length);
	EXPECT_EQ(7, h->epoch);
	EXPECT_EQ(0, h->offset);
	EXPECT_EQ(0, memcmp(self->a + QKD_HDR, p, 1000));
	ASSERT_EQ(QKD_HDR + 500, qkd_read(tx, self->a, QKD_HDR + 500));
	EXPECT_EQ(1000, h->offset);
	EXPECT_EQ(0, memcmp(self->a + QKD_HDR, p + 1000, 500));
	EXPECT_EQ(-EAGAIN, qkd_read(tx, self->a, QKD_HDR + 1));

	ASSERT_EQ(700, qkd_pread(rx, self->b, 700, 800));
	EXPECT_EQ(0, memcmp(self->b, p + 1500 + 800, 700));
	ASSERT_EQ(800, qkd_pread(rx, self->b, 800, 0));
	EXPECT_EQ(0, memcmp(self->b, p + 1500, 800));
	EXPECT_EQ(-EAGAIN, qkd_pread(rx, self->b, 1, 1500));

	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, &self->e));
	EXPECT_EQ(0, self->l.tx_avail);
	EXPECT_EQ(0, self->l.rx_avail);
	EXPECT_EQ(1500, self->l.cnt[QKDKEY_COUNTER_A_TX_TAKEN]);
	EXPECT_EQ(1500, self->l.cnt[QKDKEY_COUNTER_A_RX_TAKEN]);
	EXPECT_EQ(0, qnl_check_counters(&self->l));
	close(tx);
	close(rx);
}

struct bg_read {
	int fd;
	ssize_t res;
	unsigned char buf[QKD_HDR + 64];
};

static void *bg_reader(void *arg)
{
	struct bg_read *b = arg;

	b->res = qkd_read(b->fd, b->buf, sizeof(b->buf));
	return NULL;
}

TEST_F(nl, del_user_and_sim_pair)
{
	struct bg_read bg = { .res = 1 };
	struct timespec ts;
	pthread_t th;
	int fd, n, joined;

	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 0, 0, &self->e));
	ASSERT_EQ(0, qnl_new_user(&self->q, "keep", 0, 0, &self->e));
	bg.fd = qkd_open_bind("u1", QKDKEY_DIR_TX, 0);
	fd = qkd_open_bind("u1", QKDKEY_DIR_RX, O_NONBLOCK);
	ASSERT_LE(0, bg.fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pthread_create(&th, NULL, bg_reader, &bg));
	qkd_msleep(300);

	ASSERT_EQ(0, qnl_del(&self->q, "u1", &self->e));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	joined = pthread_timedjoin_np(th, NULL, &ts);
	if (joined) {
		pthread_cancel(th);
		pthread_join(th, NULL);
	}
	ASSERT_EQ(0, joined);
	EXPECT_EQ(-ENODEV, bg.res);
	EXPECT_EQ(-ENODEV, qkd_read(bg.fd, bg.buf, sizeof(bg.buf)));
	EXPECT_EQ(-ENODEV, qkd_pread(fd, self->b, 10, 0));
	close(bg.fd);
	close(fd);
	EXPECT_EQ(-ENODEV, qnl_get(&self->q, 0, "u1", NULL, &self->e));
	EXPECT_EQ(-ENODEV, qnl_del(&self->q, "u1", &self->e));

	/* either end of a sim pair takes the other with it */
	ASSERT_EQ(0, qnl_new_sim(&self->q, "sa", "sb", 1000, &self->e));
	ASSERT_EQ(0, qnl_del(&self->q, "sb", &self->e));
	EXPECT_EQ(-ENODEV, qnl_get(&self->q, 0, "sa", NULL, &self->e));
	EXPECT_EQ(-ENODEV, qnl_get(&self->q, 0, "sb", NULL, &self->e));
	n = qnl_dump(&self->q, &self->l, 1, &self->e);
	ASSERT_EQ(1, n);
	EXPECT_STREQ("keep", self->l.name);
}

TEST_HARNESS_MAIN
