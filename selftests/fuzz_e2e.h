/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The end-to-end check the fuzzers (nl_fuzz_test, kcov_fuzz_test) run after
 * fuzzing: a fresh user link announces itself on the monitor group, takes
 * pushed key in both directions, hands the same bytes out through
 * /dev/qkdkey, keeps its counters balanced, and goes away with a DEL_NTF,
 * after which its open files read ENODEV.
 *
 * A harness helper: include it after kselftest_harness.h, qkd_test_util.h and
 * qkd_nl_util.h, and call it from a test with that test's _metadata (its
 * ASSERTs end the calling test).
 */
#ifndef QKD_FUZZ_E2E_H
#define QKD_FUZZ_E2E_H

static void fuzz_end_to_end(struct __test_metadata *_metadata, struct qnl *q)
{
	unsigned char key[1000], r[QKD_HDR + 1000];
	struct qnl m;
	struct qnl_link l;
	int tx, rx;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = i * 7;
	ASSERT_EQ(0, qnl_open(&m));
	ASSERT_EQ(0, qnl_join_monitor(&m));
	ASSERT_EQ(0, qnl_new_user(q, "fresh", 3, 0, NULL));
	ASSERT_EQ(0, qnl_wait_ntf(&m, QKDKEY_CMD_LINK_ADD_NTF, "fresh", &l, 10000));
	ASSERT_EQ(0, qnl_push(q, "fresh", QKDKEY_DIR_TX, 3, 0, key, 1000, NULL));
	ASSERT_EQ(0, qnl_push(q, "fresh", QKDKEY_DIR_RX, 3, 0, key, 1000, NULL));
	tx = qkd_open_bind("fresh", QKDKEY_DIR_TX, O_NONBLOCK);
	rx = qkd_open_bind("fresh", QKDKEY_DIR_RX, O_NONBLOCK);
	ASSERT_LE(0, tx);
	ASSERT_LE(0, rx);
	ASSERT_EQ(QKD_HDR + 1000, qkd_read(tx, r, QKD_HDR + 1000));
	EXPECT_EQ(0, memcmp(r + QKD_HDR, key, 1000));
	ASSERT_EQ(1000, qkd_pread(rx, r, 1000, 0));
	EXPECT_EQ(0, memcmp(r, key, 1000));
	ASSERT_EQ(0, qnl_get(q, 0, "fresh", &l, NULL));
	EXPECT_EQ(0, qnl_check_counters(&l));
	EXPECT_EQ(1000, l.cnt[QKDKEY_COUNTER_A_TX_TAKEN]);
	ASSERT_EQ(0, qnl_del(q, "fresh", NULL));
	ASSERT_EQ(0, qnl_wait_ntf(&m, QKDKEY_CMD_LINK_DEL_NTF, "fresh", &l, 10000));
	EXPECT_EQ(-ENODEV, qkd_read(tx, r, QKD_HDR + 10));
	close(tx);
	close(rx);
	qnl_close(&m);
}

#endif
