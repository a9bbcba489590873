// SPDX-License-Identifier: GPL-2.0
/*
 * The "monitor" multicast group: every change produces its notification
 * with the documented attributes (LINK_ADD_NTF, LINK_DEL_NTF,
 * LINK_CHANGE_NTF, ALARM_NTF, LOW_WATERMARK_NTF once per crossing,
 * KEY_WANT_NTF), and no notification ever carries KEY_DATA.
 * All waits are bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

#define WAIT_MS		10000	/* a notification that should come */
#define QUIET_MS	500	/* a notification that should not */

FIXTURE(mon) {
	struct qnl q, m;
	struct qnl_link n, l;
	struct qnl_err e;
	unsigned char key[8192], r[QKD_HDR + 8192];
};

FIXTURE_SETUP(mon)
{
	memset(self->key, 0x5a, sizeof(self->key));
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	ASSERT_EQ(0, qnl_open(&self->m));
	ASSERT_EQ(0, qnl_join_monitor(&self->m));
}

FIXTURE_TEARDOWN(mon)
{
	qnl_del_all(&self->q);
	qnl_close(&self->m);
	qnl_close(&self->q);
}

/* No notification carries key bytes; each has the link's id and name. */
static void check_ntf(struct __test_metadata *_metadata, const struct qnl_link *n)
{
	ASSERT_FALSE(QNL_HAS(n, QKDKEY_A_KEY_DATA));
	ASSERT_TRUE(QNL_HAS(n, QKDKEY_A_LINK_ID));
	ASSERT_TRUE(QNL_HAS(n, QKDKEY_A_LINK_NAME));
}

/* waits for @cmd on @name, checking every notification on the way */
static int wait_ntf(struct __test_metadata *_metadata, struct qnl *m, uint8_t cmd,
		    const char *name, struct qnl_link *n, int ms)
{
	long long end = qnl_now_ms() + ms;
	int r;

	for (;;) {
		long long left = end - qnl_now_ms();

		r = qnl_next_ntf(m, n, left > 0 ? left : 0);
		if (r)
			return r;
		check_ntf(_metadata, n);
		if (n->cmd == cmd && !strcmp(n->name, name))
			return 0;
	}
}

/* @cmd for @name does not come within QUIET_MS */
static int no_ntf(struct __test_metadata *_metadata, struct qnl *m, uint8_t cmd,
		  const char *name)
{
	struct qnl_link n;
	int r = wait_ntf(_metadata, m, cmd, name, &n, QUIET_MS);

	return r == -ETIMEDOUT ? 0 : r ? r : -EEXIST;
}

/* the attributes LINK_GET has for every link */
static void check_full(struct __test_metadata *_metadata, const struct qnl_link *n)
{
	static const int attrs[] = {
		QKDKEY_A_LINK_ID, QKDKEY_A_LINK_NAME, QKDKEY_A_LINK_KIND,
		QKDKEY_A_LINK_STATE, QKDKEY_A_LINK_EPOCH, QKDKEY_A_LINK_TX_AVAIL,
		QKDKEY_A_LINK_RX_AVAIL, QKDKEY_A_LINK_QBER,
		QKDKEY_A_LINK_QBER_THRESHOLD, QKDKEY_A_LINK_KEY_RATE,
		QKDKEY_A_LINK_POOL_LIMIT, QKDKEY_A_LINK_LOW_WATERMARK,
		QKDKEY_A_LINK_COUNTERS,
	};

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		ASSERT_EQ(attrs[i], QNL_HAS(n, attrs[i]) ? attrs[i] : -1);
	ASSERT_EQ(0x7f << 1, n->cnt_present & (0x7f << 1));
}

TEST_F(mon, add_change_del)
{
	uint32_t id;

	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 3, 8192, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_ADD_NTF, "u1", &self->n, WAIT_MS));
	check_full(_metadata, &self->n);
	EXPECT_STREQ("user", self->n.kind);
	EXPECT_EQ(3, self->n.epoch);
	EXPECT_EQ(8192, self->n.pool);
	EXPECT_EQ(QKDKEY_LINK_UP, self->n.state);
	id = self->n.id;
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, NULL));
	EXPECT_EQ(self->l.id, id);

	/* each kind of change */
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER_THRESHOLD, 123456, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "u1", &self->n, WAIT_MS));
	check_full(_metadata, &self->n);
	EXPECT_EQ(123456, self->n.threshold);
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_POOL_LIMIT, 16384, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(16384, self->n.pool);
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_LOW_WATERMARK, 77, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(77, self->n.watermark);
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_ADMIN_UP, 0, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(QKDKEY_LINK_DOWN, self->n.state);
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_DEFAULT, 0, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_TRUE(self->n.is_default);
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_EPOCH, 4, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(4, self->n.epoch);

	ASSERT_EQ(0, qnl_del(&self->q, "u1", &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_DEL_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(id, self->n.id);
}

TEST_F(mon, sim_pair_add_and_del_both)
{
	ASSERT_EQ(0, qnl_new_sim(&self->q, "sa", "sb", 1000, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_ADD_NTF, "sa", &self->n, WAIT_MS));
	check_full(_metadata, &self->n);
	EXPECT_STREQ("sb", self->n.peer);
	EXPECT_TRUE(QNL_HAS(&self->n, QKDKEY_A_LINK_SIM));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_ADD_NTF, "sb", &self->n, WAIT_MS));
	check_full(_metadata, &self->n);
	ASSERT_EQ(0, qnl_set_sim(&self->q, "sa", QKDKEY_SIM_A_QBER, 30000, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "sa", &self->n, WAIT_MS));
	EXPECT_EQ(30000, self->n.sim_qber);
	ASSERT_EQ(0, qnl_del(&self->q, "sa", &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_DEL_NTF, "sb", &self->n, WAIT_MS));
}

TEST_F(mon, alarm_user_qber)
{
	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 0, 0, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 150000, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_ALARM_NTF, "u1", &self->n, WAIT_MS));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_LINK_STATE));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_LINK_QBER));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_LINK_QBER_THRESHOLD));
	EXPECT_EQ(QKDKEY_LINK_ALARM, self->n.state);
	EXPECT_EQ(150000, self->n.qber);
	EXPECT_EQ(QKDKEY_QBER_THRESHOLD_DEFAULT, self->n.threshold);
	/* the alarm latches: a higher QBER does not raise it again */
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 160000, &self->e));
	EXPECT_EQ(0, no_ntf(_metadata, &self->m, QKDKEY_CMD_ALARM_NTF, "u1"));
	/* clearing it is a change (so is the new QBER report before it) */
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 0, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(QKDKEY_LINK_ALARM, self->n.state);
	EXPECT_EQ(0, self->n.qber);
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_ADMIN_UP, 1, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_CHANGE_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(QKDKEY_LINK_UP, self->n.state);
	/* a threshold under the QBER raises it at once */
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 5000, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER_THRESHOLD, 4000, &self->e));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_ALARM_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(5000, self->n.qber);
	EXPECT_EQ(4000, self->n.threshold);
}

TEST_F(mon, alarm_sim_eve)
{
	ASSERT_EQ(0, qnl_new_sim(&self->q, "sa", "sb", 1000, &self->e));
	/* 20000 + 600000 / 4 = 170000 > 110000 */
	ASSERT_EQ(0, qnl_set_sim(&self->q, "sa", QKDKEY_SIM_A_EVE, 600000, &self->e));
	/* both ends report it, in either order */
	for (int seen = 0; seen != 3;) {
		ASSERT_EQ(0, qnl_next_ntf(&self->m, &self->n, WAIT_MS));
		check_ntf(_metadata, &self->n);
		if (self->n.cmd != QKDKEY_CMD_ALARM_NTF)
			continue;
		ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_LINK_QBER));
		EXPECT_EQ(QKDKEY_LINK_ALARM, self->n.state);
		EXPECT_EQ(170000, self->n.qber);
		EXPECT_EQ(QKDKEY_QBER_THRESHOLD_DEFAULT, self->n.threshold);
		seen |= !strcmp(self->n.name, "sa") ? 1 : !strcmp(self->n.name, "sb") ? 2 : 0;
	}
	ASSERT_EQ(0, qnl_get(&self->q, 0, "sb", &self->l, NULL));
	EXPECT_EQ(QKDKEY_LINK_ALARM, self->l.state);
}

TEST_F(mon, low_watermark_once_per_crossing)
{
	int tx;

	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 0, 0, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_TX, 0, 0, self->key, 8192, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_LOW_WATERMARK, 4096, &self->e));
	tx = qkd_open_bind("u1", QKDKEY_DIR_TX, O_NONBLOCK);
	ASSERT_LE(0, tx);

	/* 8192 -> 5192: still above */
	ASSERT_EQ(QKD_HDR + 3000, qkd_read(tx, self->r, QKD_HDR + 3000));
	EXPECT_EQ(0, no_ntf(_metadata, &self->m, QKDKEY_CMD_LOW_WATERMARK_NTF, "u1"));
	/* 5192 -> 3192: crossed */
	ASSERT_EQ(QKD_HDR + 2000, qkd_read(tx, self->r, QKD_HDR + 2000));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LOW_WATERMARK_NTF, "u1", &self->n, WAIT_MS));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_LINK_TX_AVAIL));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_LINK_LOW_WATERMARK));
	EXPECT_EQ(3192, self->n.tx_avail);
	EXPECT_EQ(4096, self->n.watermark);
	/* further below: the same crossing, no second notification */
	ASSERT_EQ(QKD_HDR + 1000, qkd_read(tx, self->r, QKD_HDR + 1000));
	EXPECT_EQ(0, no_ntf(_metadata, &self->m, QKDKEY_CMD_LOW_WATERMARK_NTF, "u1"));
	/* refilled above the mark and drained again: a new crossing */
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_TX, 0, 8192, self->key, 4000, &self->e));
	ASSERT_EQ(QKD_HDR + 3000, qkd_read(tx, self->r, QKD_HDR + 3000));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LOW_WATERMARK_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(3192, self->n.tx_avail);
	close(tx);
}

TEST_F(mon, key_want_on_undelivered_rx)
{
	int rx;

	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 42, 0, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_RX, 42, 0, self->key, 100, &self->e));
	rx = qkd_open_bind("u1", QKDKEY_DIR_RX, O_NONBLOCK);
	ASSERT_LE(0, rx);
	/* delivered bytes: no want */
	ASSERT_EQ(50, qkd_pread(rx, self->r, 50, 0));
	EXPECT_EQ(0, no_ntf(_metadata, &self->m, QKDKEY_CMD_KEY_WANT_NTF, "u1"));

	ASSERT_EQ(-EAGAIN, qkd_pread(rx, self->r, 300, 1000));
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_KEY_WANT_NTF, "u1", &self->n, WAIT_MS));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_KEY_DIR));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_KEY_EPOCH));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_KEY_OFFSET));
	ASSERT_TRUE(QNL_HAS(&self->n, QKDKEY_A_KEY_LEN));
	EXPECT_EQ(QKDKEY_DIR_RX, self->n.key_dir);
	EXPECT_EQ(42, self->n.key_epoch);
	EXPECT_EQ(1000, self->n.key_offset);
	EXPECT_EQ(300, self->n.key_len);

	/* the bridge answers the want; the reader gets exactly those bytes */
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_RX, 42, 1000, self->key + 1000, 300, &self->e));
	ASSERT_EQ(300, qkd_pread(rx, self->r, 300, 1000));
	EXPECT_EQ(0, memcmp(self->r, self->key + 1000, 300));
	close(rx);
}

TEST_F(mon, no_key_data_in_any_ntf)
{
	int tx, rx;

	/* everything that makes notifications, with key flowing */
	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 0, 0, &self->e));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_LOW_WATERMARK, 2000, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_TX, 0, 0, self->key, 4000, &self->e));
	ASSERT_EQ(0, qnl_push(&self->q, "u1", QKDKEY_DIR_RX, 0, 0, self->key, 4000, &self->e));
	tx = qkd_open_bind("u1", QKDKEY_DIR_TX, O_NONBLOCK);
	rx = qkd_open_bind("u1", QKDKEY_DIR_RX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_LE(0, rx);
	ASSERT_EQ(QKD_HDR + 3000, qkd_read(tx, self->r, QKD_HDR + 3000));
	ASSERT_EQ(-EAGAIN, qkd_pread(rx, self->r, 10, 5000));
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 900000, &self->e));
	ASSERT_EQ(0, qnl_new_sim(&self->q, "sa", "sb", 65536, &self->e));
	ASSERT_EQ(0, qnl_del(&self->q, "u1", &self->e));
	/* check_ntf() runs on each until the last one */
	ASSERT_EQ(0, wait_ntf(_metadata, &self->m, QKDKEY_CMD_LINK_DEL_NTF, "u1", &self->n, WAIT_MS));
	EXPECT_EQ(0, no_ntf(_metadata, &self->m, 0xff, "none"));
	close(tx);
	close(rx);
}

TEST_HARNESS_MAIN
