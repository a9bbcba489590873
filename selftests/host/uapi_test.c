// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of the uapi contract: the header builds standalone as strict
 * C11, and every structure is laid out with no implicit padding, so the
 * same bytes mean the same thing to 32- and 64-bit userspace and the
 * kernel can reject non-zero reserved bytes.
 */
#include <stddef.h>
#include <linux/qkdkey.h>

#include "kselftest_harness.h"

/* Each field must start exactly where the previous one ended. */
#define EXPECT_FOLLOWS(type, prev, next)					\
	EXPECT_EQ(offsetof(type, prev) + sizeof(((type *)0)->prev),	\
		  offsetof(type, next))

#define EXPECT_ENDS_WITH(type, last)					\
	EXPECT_EQ(offsetof(type, last) + sizeof(((type *)0)->last), sizeof(type))

TEST(tx_hdr_layout)
{
	EXPECT_EQ(0, offsetof(struct qkdkey_tx_hdr, link_id));
	EXPECT_FOLLOWS(struct qkdkey_tx_hdr, link_id, length);
	EXPECT_FOLLOWS(struct qkdkey_tx_hdr, length, epoch);
	EXPECT_FOLLOWS(struct qkdkey_tx_hdr, epoch, offset);
	EXPECT_ENDS_WITH(struct qkdkey_tx_hdr, offset);
	EXPECT_EQ(24, sizeof(struct qkdkey_tx_hdr));
}

TEST(bind_layout)
{
	EXPECT_EQ(0, offsetof(struct qkdkey_bind, link_id));
	EXPECT_FOLLOWS(struct qkdkey_bind, link_id, dir);
	EXPECT_FOLLOWS(struct qkdkey_bind, dir, name);
	EXPECT_FOLLOWS(struct qkdkey_bind, name, flags);
	EXPECT_FOLLOWS(struct qkdkey_bind, flags, reserved);
	EXPECT_ENDS_WITH(struct qkdkey_bind, reserved);
	EXPECT_EQ(QKDKEY_NAME_LEN, sizeof(((struct qkdkey_bind *)0)->name));
}

TEST(link_info_layout)
{
	EXPECT_EQ(0, offsetof(struct qkdkey_link_info, link_id));
	EXPECT_FOLLOWS(struct qkdkey_link_info, link_id, state);
	EXPECT_FOLLOWS(struct qkdkey_link_info, state, epoch);
	EXPECT_FOLLOWS(struct qkdkey_link_info, epoch, tx_avail);
	EXPECT_FOLLOWS(struct qkdkey_link_info, tx_avail, tx_next);
	EXPECT_FOLLOWS(struct qkdkey_link_info, tx_next, rx_avail);
	EXPECT_FOLLOWS(struct qkdkey_link_info, rx_avail, rx_end);
	EXPECT_FOLLOWS(struct qkdkey_link_info, rx_end, qber);
	EXPECT_FOLLOWS(struct qkdkey_link_info, qber, qber_threshold);
	EXPECT_FOLLOWS(struct qkdkey_link_info, qber_threshold, key_rate);
	EXPECT_FOLLOWS(struct qkdkey_link_info, key_rate, pool_limit);
	EXPECT_FOLLOWS(struct qkdkey_link_info, pool_limit, bound_dir);
	EXPECT_FOLLOWS(struct qkdkey_link_info, bound_dir, flags);
	EXPECT_FOLLOWS(struct qkdkey_link_info, flags, name);
	EXPECT_FOLLOWS(struct qkdkey_link_info, name, peer);
	EXPECT_FOLLOWS(struct qkdkey_link_info, peer, kind);
	EXPECT_FOLLOWS(struct qkdkey_link_info, kind, reserved);
	EXPECT_ENDS_WITH(struct qkdkey_link_info, reserved);
	/* 64-bit fields must be naturally aligned for i386 compat too. */
	EXPECT_EQ(0, offsetof(struct qkdkey_link_info, epoch) % 8);
	EXPECT_EQ(0, offsetof(struct qkdkey_link_info, reserved) % 8);
}

TEST(ioctl_encoding)
{
	EXPECT_EQ(sizeof(struct qkdkey_bind), _IOC_SIZE(QKDKEY_IOC_BIND));
	EXPECT_EQ(_IOC_WRITE, _IOC_DIR(QKDKEY_IOC_BIND));
	EXPECT_EQ(sizeof(struct qkdkey_link_info), _IOC_SIZE(QKDKEY_IOC_LINK_INFO));
	EXPECT_EQ(_IOC_READ | _IOC_WRITE, _IOC_DIR(QKDKEY_IOC_LINK_INFO));
	EXPECT_EQ(QKDKEY_IOC_MAGIC, _IOC_TYPE(QKDKEY_IOC_BIND));
	EXPECT_NE(QKDKEY_IOC_BIND, QKDKEY_IOC_LINK_INFO);
}

TEST(limits)
{
	/* A read's key must fit in a u32 header length and a sane buffer. */
	EXPECT_LE(QKDKEY_READ_MAX, 1 << 20);
	EXPECT_LT(QKDKEY_QBER_THRESHOLD_DEFAULT, QKDKEY_QBER_PPM_MAX);
	EXPECT_EQ(QKDKEY_DIR_RX, QKDKEY_DIR_TX + 1);
}

TEST_HARNESS_MAIN
