// SPDX-License-Identifier: GPL-2.0
/*
 * KEY_PUSH semantics (Documentation/netlink.rst): append-only streams
 * (overlap: EEXIST, nothing stored), stale epochs (ESTALE), newer epochs
 * move the link (RX files get ESTALE), a full TX pool (ENOSPC, nothing
 * stored) while an RX pool expires its oldest bytes, other kinds
 * (EOPNOTSUPP), ALARM (EKEYREJECTED), gaps (reads over them: ENOKEY).
 * Every rejection carries an extended ACK message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

#define TX	QKDKEY_DIR_TX
#define RX	QKDKEY_DIR_RX

FIXTURE(push) {
	struct qnl q;
	struct qnl_link l;
	struct qnl_err e;
	unsigned char a[QKDKEY_PUSH_MAX], b[QKDKEY_PUSH_MAX], r[QKD_HDR + QKDKEY_PUSH_MAX];
};

FIXTURE_SETUP(push)
{
	for (size_t i = 0; i < sizeof(self->a); i++) {
		self->a[i] = (unsigned char)(i * 13 + 1);
		self->b[i] = (unsigned char)~(i * 13 + 1);
	}
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 5, 0, &self->e));
}

FIXTURE_TEARDOWN(push)
{
	qnl_del_all(&self->q);
	qnl_close(&self->q);
}

/* the push failed with @err and said why */
#define EXPECT_REJECT(err, call) do {						\
	int __r = (call);							\
	EXPECT_EQ(-(err), __r);							\
	EXPECT_TRUE(self->e.has_msg);						\
	if (__r)								\
		TH_LOG("errno %d, extack \"%s\"", -__r, self->e.msg);		\
} while (0)

#define GET(name) ASSERT_EQ(0, qnl_get(&self->q, 0, name, &self->l, NULL))

TEST_F(push, overlap_eexist_keeps_bytes)
{
	int tx, rx;

	ASSERT_EQ(0, qnl_push(&self->q, "u1", TX, 5, 0, self->a, 1000, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", RX, 5, 0, self->a, 1000, &self->e));
	/* inside, straddling the end, at the start */
	EXPECT_REJECT(EEXIST, qnl_push(&self->q, "u1", TX, 5, 500, self->b, 1000, &self->e));
	EXPECT_REJECT(EEXIST, qnl_push(&self->q, "u1", TX, 5, 999, self->b, 1, &self->e));
	EXPECT_REJECT(EEXIST, qnl_push(&self->q, "u1", RX, 5, 0, self->b, 10, &self->e));
	EXPECT_TRUE(self->e.has_offs);
	GET("u1");
	EXPECT_EQ(1000, self->l.tx_avail);
	EXPECT_EQ(1000, self->l.rx_avail);
	EXPECT_EQ(1000, self->l.cnt[QKDKEY_COUNTER_A_TX_DELIVERED]);

	tx = qkd_open_bind("u1", TX, O_NONBLOCK);
	rx = qkd_open_bind("u1", RX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_LE(0, rx);
	ASSERT_EQ(QKD_HDR + 1000, qkd_read(tx, self->r, QKD_HDR + 1000));
	EXPECT_EQ(0, memcmp(self->r + QKD_HDR, self->a, 1000));
	ASSERT_EQ(1000, qkd_pread(rx, self->r, 1000, 0));
	EXPECT_EQ(0, memcmp(self->r, self->a, 1000));
	/* consumed bytes still count as pushed */
	EXPECT_REJECT(EEXIST, qnl_push(&self->q, "u1", TX, 5, 0, self->b, 1000, &self->e));
	/* right at the end is fine */
	ASSERT_EQ(0, qnl_push(&self->q, "u1", TX, 5, 1000, self->b, 10, &self->e));
	close(tx);
	close(rx);
}

TEST_F(push, stale_and_newer_epoch)
{
	int rx;

	ASSERT_EQ(0, qnl_push(&self->q, "u1", RX, 5, 0, self->a, 100, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", TX, 5, 0, self->a, 100, &self->e));
	EXPECT_REJECT(ESTALE, qnl_push(&self->q, "u1", TX, 4, 100, self->a, 100, &self->e));
	EXPECT_REJECT(ESTALE, qnl_push(&self->q, "u1", RX, 0, 100, self->a, 100, &self->e));
	GET("u1");
	EXPECT_EQ(5, self->l.epoch);
	EXPECT_EQ(100, self->l.tx_avail);

	rx = qkd_open_bind("u1", RX, O_NONBLOCK);
	ASSERT_LE(0, rx);
	ASSERT_EQ(10, qkd_pread(rx, self->r, 10, 0));
	/* a newer epoch: the link moves there, old key is wiped */
	ASSERT_EQ(0, qnl_push(&self->q, "u1", RX, 9, 0, self->b, 300, &self->e));
	GET("u1");
	EXPECT_EQ(9, self->l.epoch);
	EXPECT_EQ(0, self->l.tx_avail);
	EXPECT_EQ(300, self->l.rx_avail);
	EXPECT_EQ(100, self->l.cnt[QKDKEY_COUNTER_A_TX_EXPIRED]);
	EXPECT_EQ(90, self->l.cnt[QKDKEY_COUNTER_A_RX_EXPIRED]);
	EXPECT_EQ(0, qnl_check_counters(&self->l));
	EXPECT_EQ(-ESTALE, qkd_pread(rx, self->r, 10, 10));
	EXPECT_EQ(-ESTALE, qkd_pread(rx, self->r, 10, 0));
	/* re-bound, the file reads the new epoch's bytes */
	ASSERT_EQ(0, qkd_bind(rx, 0, "u1", RX));
	ASSERT_EQ(300, qkd_pread(rx, self->r, 300, 0));
	EXPECT_EQ(0, memcmp(self->r, self->b, 300));
	/* the old epoch is now stale; LINK_SET EPOCH must grow too */
	EXPECT_REJECT(ESTALE, qnl_push(&self->q, "u1", RX, 5, 300, self->a, 1, &self->e));
	EXPECT_REJECT(EINVAL, qnl_set(&self->q, "u1", QKDKEY_A_LINK_EPOCH, 9, &self->e));
	EXPECT_REJECT(EINVAL, qnl_set(&self->q, "u1", QKDKEY_A_LINK_EPOCH, 8, &self->e));
	close(rx);
}

TEST_F(push, tx_pool_full_enospc_rx_expires)
{
	long long before;
	int tx;

	ASSERT_EQ(0, qnl_new_user(&self->q, "small", 0, 4096, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "small", TX, 0, 0, self->a, 1000, &self->e));
	GET("small");
	before = self->l.cnt[QKDKEY_COUNTER_A_TX_DELIVERED];
	EXPECT_REJECT(ENOSPC, qnl_push(&self->q, "small", TX, 0, 1000, self->b,
				       QKDKEY_PUSH_MAX, &self->e));
	GET("small");
	EXPECT_EQ(1000, self->l.tx_avail);
	EXPECT_EQ(before, self->l.cnt[QKDKEY_COUNTER_A_TX_DELIVERED]);
	EXPECT_EQ(0, self->l.cnt[QKDKEY_COUNTER_A_TX_EXPIRED]);
	/* nothing stored: the same offset is still free */
	ASSERT_EQ(0, qnl_push(&self->q, "small", TX, 0, 1000, self->b, 1000, &self->e));
	tx = qkd_open_bind("small", TX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_EQ(QKD_HDR + 2000, qkd_read(tx, self->r, QKD_HDR + 2000));
	EXPECT_EQ(0, memcmp(self->r + QKD_HDR, self->a, 1000));
	EXPECT_EQ(0, memcmp(self->r + QKD_HDR + 1000, self->b, 1000));
	close(tx);

	/*
	 * The RX pool makes room instead: the newest bytes stay (RX holds
	 * twice the pool, Documentation/qkdkey.rst).
	 */
	ASSERT_EQ(0, qnl_push(&self->q, "small", RX, 0, 0, self->a, QKDKEY_PUSH_MAX, &self->e));
	GET("small");
	EXPECT_LT(0, self->l.cnt[QKDKEY_COUNTER_A_RX_EXPIRED]);
	EXPECT_GT(QKDKEY_PUSH_MAX, self->l.rx_avail);
	EXPECT_EQ(QKDKEY_PUSH_MAX, self->l.cnt[QKDKEY_COUNTER_A_RX_DELIVERED]);
	EXPECT_EQ(0, qnl_check_counters(&self->l));
	tx = qkd_open_bind("small", RX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_EQ(100, qkd_pread(tx, self->r, 100, QKDKEY_PUSH_MAX - 100));
	EXPECT_EQ(0, memcmp(self->r, self->a + QKDKEY_PUSH_MAX - 100, 100));
	EXPECT_EQ(-ENOKEY, qkd_pread(tx, self->r, 100, 0));
	close(tx);
}

TEST_F(push, max_data_accepted)
{
	ASSERT_EQ(0, qnl_push(&self->q, "u1", TX, 5, 0, self->a, QKDKEY_PUSH_MAX, &self->e));
	GET("u1");
	EXPECT_EQ(QKDKEY_PUSH_MAX, self->l.tx_avail);
}

TEST_F(push, sim_link_eopnotsupp)
{
	ASSERT_EQ(0, qnl_new_sim(&self->q, "sa", "sb", 1000, &self->e));
	EXPECT_REJECT(EOPNOTSUPP, qnl_push(&self->q, "sa", TX, 0, 0, self->a, 16, &self->e));
	EXPECT_REJECT(EOPNOTSUPP, qnl_push(&self->q, "sb", RX, 0, 1 << 30, self->a, 16, &self->e));
}

TEST_F(push, alarm_ekeyrejected)
{
	ASSERT_EQ(0, qnl_push(&self->q, "u1", TX, 5, 0, self->a, 100, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 150000, &self->e));
	GET("u1");
	ASSERT_EQ(QKDKEY_LINK_ALARM, self->l.state);
	EXPECT_EQ(1, self->l.cnt[QKDKEY_COUNTER_A_ALARMS]);
	EXPECT_REJECT(EKEYREJECTED, qnl_push(&self->q, "u1", TX, 5, 100, self->a, 100, &self->e));
	EXPECT_REJECT(EKEYREJECTED, qnl_push(&self->q, "u1", RX, 5, 0, self->a, 100, &self->e));
	/* a rejected push of a newer epoch changes nothing either */
	EXPECT_REJECT(EKEYREJECTED, qnl_push(&self->q, "u1", TX, 6, 0, self->a, 100, &self->e));
	GET("u1");
	EXPECT_EQ(5, self->l.epoch);
	EXPECT_EQ(100, self->l.tx_avail);
	EXPECT_EQ(0, self->l.rx_avail);

	/* cleared by the operator once the QBER is back */
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 10000, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_ADMIN_UP, 1, &self->e));
	GET("u1");
	EXPECT_EQ(QKDKEY_LINK_UP, self->l.state);
	EXPECT_EQ(0, qnl_push(&self->q, "u1", TX, self->l.epoch, 100, self->a, 100, &self->e));
}

TEST_F(push, gap_reads_enokey)
{
	int rx;

	ASSERT_EQ(0, qnl_push(&self->q, "u1", RX, 5, 0, self->a, 100, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", RX, 5, 200, self->a + 200, 100, &self->e));
	/* the gap [100, 200) is lost key: no push can fill it later */
	EXPECT_REJECT(EEXIST, qnl_push(&self->q, "u1", RX, 5, 100, self->a, 100, &self->e));
	rx = qkd_open_bind("u1", RX, O_NONBLOCK);
	ASSERT_LE(0, rx);
	EXPECT_EQ(-ENOKEY, qkd_pread(rx, self->r, 100, 150));
	EXPECT_EQ(-ENOKEY, qkd_pread(rx, self->r, 1, 100));
	EXPECT_EQ(-ENOKEY, qkd_pread(rx, self->r, 300, 0));
	ASSERT_EQ(100, qkd_pread(rx, self->r, 100, 0));
	EXPECT_EQ(0, memcmp(self->r, self->a, 100));
	ASSERT_EQ(100, qkd_pread(rx, self->r, 100, 200));
	EXPECT_EQ(0, memcmp(self->r, self->a + 200, 100));
	GET("u1");
	EXPECT_EQ(200, self->l.cnt[QKDKEY_COUNTER_A_RX_DELIVERED]);
	EXPECT_EQ(0, qnl_check_counters(&self->l));
	close(rx);
}

TEST_F(push, by_id_and_unknown_link)
{
	struct nlmsghdr *nlh;

	GET("u1");
	nlh = qnl_req(&self->q, QKDKEY_CMD_KEY_PUSH, 0);
	mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, self->l.id);
	mnl_attr_put_u32(nlh, QKDKEY_A_KEY_DIR, TX);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_EPOCH, 5);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_OFFSET, 0);
	mnl_attr_put(nlh, QKDKEY_A_KEY_DATA, 64, self->a);
	ASSERT_EQ(0, qnl_talk(&self->q, nlh, NULL, NULL, &self->e));
	GET("u1");
	EXPECT_EQ(64, self->l.tx_avail);
	EXPECT_REJECT(ENODEV, qnl_push(&self->q, "nosuch", TX, 5, 0, self->a, 64, &self->e));
	ASSERT_EQ(0, qnl_del(&self->q, "u1", &self->e));
	EXPECT_REJECT(ENODEV, qnl_push(&self->q, "u1", TX, 5, 64, self->a, 64, &self->e));
}

TEST_HARNESS_MAIN
