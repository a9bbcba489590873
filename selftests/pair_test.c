// SPDX-License-Identifier: GPL-2.0
/*
 * Both ends of a sim pair hold identical key bytes at identical
 * (epoch, offset); different pairs hold different bytes.
 * Needs qkd_sim loaded with pairs=2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

FIXTURE(pair) {
	unsigned char *tx, *rx;
};

FIXTURE_VARIANT(pair) {
	const char *tx_link, *rx_link;
};

FIXTURE_VARIANT_ADD(pair, a_to_b) { .tx_link = "sim0a", .rx_link = "sim0b" };
FIXTURE_VARIANT_ADD(pair, b_to_a) { .tx_link = "sim0b", .rx_link = "sim0a" };

FIXTURE_SETUP(pair)
{
	ASSERT_EQ(0, qkd_reset());
	ASSERT_EQ(0, qkd_sim_set("rate", 16 << 20));
	self->tx = malloc(QKD_HDR + QKDKEY_READ_MAX);
	self->rx = malloc(QKDKEY_READ_MAX);
	ASSERT_NE(NULL, self->tx);
	ASSERT_NE(NULL, self->rx);
}

FIXTURE_TEARDOWN(pair)
{
	free(self->tx);
	free(self->rx);
}

TEST_F_TIMEOUT(pair, identical_bytes, 120)
{
	static const size_t sizes[] = { 1, 7, 32, 1000, 4096, 65536 };
	struct qkdkey_tx_hdr *h = (void *)self->tx;
	struct qkdkey_link_info info;
	long long tx_id = qkd_link_u64(variant->tx_link, "id");
	long long epoch = qkd_link_u64(variant->tx_link, "epoch");
	uint64_t next = 0;
	int txfd, rxfd, first = 1;

	ASSERT_GT(tx_id, 0);
	ASSERT_GE(epoch, 0);
	txfd = qkd_open_bind(variant->tx_link, QKDKEY_DIR_TX, 0);
	ASSERT_LE(0, txfd);
	rxfd = qkd_open_bind(variant->rx_link, QKDKEY_DIR_RX, 0);
	ASSERT_LE(0, rxfd);
	ASSERT_EQ(0, qkd_info(rxfd, 0, &info));
	ASSERT_EQ((uint64_t)epoch, info.epoch);

	for (int round = 0; round < 8; round++) {
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			size_t n = sizes[i];

			ASSERT_EQ((ssize_t)(QKD_HDR + n),
				  qkd_read(txfd, self->tx, QKD_HDR + n));
			ASSERT_EQ(tx_id, h->link_id);
			ASSERT_EQ(n, h->length);
			ASSERT_EQ((uint64_t)epoch, h->epoch);
			if (!first)
				ASSERT_LE(next, h->offset);
			first = 0;
			next = h->offset + n;
			ASSERT_EQ((ssize_t)n, qkd_pread(rxfd, self->rx, n, h->offset))
				TH_LOG("RX pread of %zu bytes at offset %llu", n,
				       (unsigned long long)h->offset);
			ASSERT_EQ(0, memcmp(self->tx + QKD_HDR, self->rx, n))
				TH_LOG("%s TX != %s RX at offset %llu len %zu",
				       variant->tx_link, variant->rx_link,
				       (unsigned long long)h->offset, n);
			if (n >= 32)
				ASSERT_FALSE(all_zero(self->rx, n));
		}
	}
	close(txfd);
	close(rxfd);
}

FIXTURE(link) {
	unsigned char tx[QKD_HDR + 4096], rx[4096];
};

FIXTURE_SETUP(link)
{
	ASSERT_EQ(0, qkd_reset());
}

FIXTURE_TEARDOWN(link)
{
}

TEST_F(link, second_pair_differs)
{
	unsigned char k0[4096], k1[4096], r1[4096];
	struct qkdkey_tx_hdr *h = (void *)self->tx;
	int fd0, fd1, rx1;

	ASSERT_EQ(0, access(QKD_LINKS_DIR "/sim1a", F_OK))
		TH_LOG("qkd_sim must be loaded with pairs=2");
	fd0 = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	fd1 = qkd_open_bind("sim1a", QKDKEY_DIR_TX, 0);
	rx1 = qkd_open_bind("sim1b", QKDKEY_DIR_RX, 0);
	ASSERT_LE(0, fd0);
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, rx1);

	ASSERT_EQ((ssize_t)(QKD_HDR + 4096), qkd_read(fd0, self->tx, QKD_HDR + 4096));
	ASSERT_EQ(qkd_link_u64("sim0a", "id"), h->link_id);
	memcpy(k0, self->tx + QKD_HDR, 4096);
	ASSERT_EQ((ssize_t)(QKD_HDR + 4096), qkd_read(fd1, self->tx, QKD_HDR + 4096));
	ASSERT_EQ(qkd_link_u64("sim1a", "id"), h->link_id);
	memcpy(k1, self->tx + QKD_HDR, 4096);
	ASSERT_NE(0, memcmp(k0, k1, sizeof(k0)));

	/* and pair 1 mirrors itself */
	ASSERT_EQ(4096, qkd_pread(rx1, r1, 4096, h->offset));
	ASSERT_EQ(0, memcmp(k1, r1, sizeof(r1)));
	close(fd0);
	close(fd1);
	close(rx1);
}

TEST_F(link, ids_peers_kinds)
{
	static const char *const links[] = { "sim0a", "sim0b", "sim1a", "sim1b" };
	static const char *const peers[] = { "sim0b", "sim0a", "sim1b", "sim1a" };
	struct qkdkey_link_info info;
	long long ids[4];
	char buf[64];
	int fd = qkd_open(0);

	ASSERT_LE(0, fd);
	for (int i = 0; i < 4; i++) {
		ids[i] = qkd_link_u64(links[i], "id");
		ASSERT_GT(ids[i], 0) TH_LOG("%s/id", links[i]);
		for (int j = 0; j < i; j++)
			ASSERT_NE(ids[j], ids[i]);
		ASSERT_LT(0, qkd_link_str(links[i], "peer", buf, sizeof(buf)));
		ASSERT_STREQ(peers[i], buf);
		ASSERT_LT(0, qkd_link_str(links[i], "kind", buf, sizeof(buf)));
		ASSERT_STREQ("sim", buf);

		ASSERT_EQ(0, qkd_info(fd, ids[i], &info));
		ASSERT_EQ(ids[i], info.link_id);
		ASSERT_STREQ(links[i], info.name);
		ASSERT_STREQ(peers[i], info.peer);
		ASSERT_STREQ("sim", info.kind);
		ASSERT_EQ(QKDKEY_LINK_UP, info.state);
		ASSERT_EQ(QKDKEY_QBER_THRESHOLD_DEFAULT, info.qber_threshold);
		ASSERT_EQ(qkd_link_u64(links[i], "pool_limit"), info.pool_limit);
		ASSERT_EQ(qkd_link_u64(links[i], "epoch"), (long long)info.epoch);
		ASSERT_EQ(i == 0 ? QKDKEY_INFO_DEFAULT : 0,
			  info.flags & (QKDKEY_INFO_DEFAULT | QKDKEY_INFO_BOUND));
	}
	/* the sim reports its rate and QBER on every link */
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, qkd_wait_str(links[i], "key_rate", "1048576", 5000))
			TH_LOG("%s/key_rate", links[i]);
		ASSERT_EQ(0, qkd_wait_str(links[i], "qber", "20000", 5000))
			TH_LOG("%s/qber", links[i]);
		ASSERT_EQ(0, qkd_info(fd, ids[i], &info));
		ASSERT_EQ(SIM_RATE_DEFAULT, info.key_rate);
		ASSERT_EQ(SIM_QBER_DEFAULT, info.qber);
	}
	/* both ends of a pair are in the same epoch */
	ASSERT_EQ(qkd_link_u64("sim0a", "epoch"), qkd_link_u64("sim0b", "epoch"));
	ASSERT_EQ(qkd_link_u64("sim1a", "epoch"), qkd_link_u64("sim1b", "epoch"));
	/* the first registered link is the default */
	ASSERT_LT(0, qkd_read_str(QKD_SYSFS_DIR "/default_link", buf, sizeof(buf)));
	ASSERT_STREQ("sim0a", buf);
	close(fd);
}

TEST_F(link, default_link)
{
	struct qkdkey_tx_hdr *h = (void *)self->tx;
	struct qkdkey_link_info info;
	char buf[64];
	int fd, rx;

	/* an unbound file reads the TX stream of the default link */
	fd = qkd_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)(QKD_HDR + 40), qkd_read(fd, self->tx, QKD_HDR + 40));
	ASSERT_EQ(qkd_link_u64("sim0a", "id"), h->link_id);
	ASSERT_EQ(40, h->length);
	close(fd);

	ASSERT_EQ(0, qkd_write_str(QKD_SYSFS_DIR "/default_link", "sim1b\n"));
	ASSERT_LT(0, qkd_read_str(QKD_SYSFS_DIR "/default_link", buf, sizeof(buf)));
	ASSERT_STREQ("sim1b", buf);
	fd = qkd_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, qkd_info(fd, 0, &info));
	ASSERT_STREQ("sim1b", info.name);
	ASSERT_EQ(QKDKEY_INFO_DEFAULT, info.flags & (QKDKEY_INFO_DEFAULT | QKDKEY_INFO_BOUND));
	ASSERT_EQ((ssize_t)(QKD_HDR + 100), qkd_read(fd, self->tx, QKD_HDR + 100));
	ASSERT_EQ(qkd_link_u64("sim1b", "id"), h->link_id);
	rx = qkd_open_bind("sim1a", QKDKEY_DIR_RX, 0);
	ASSERT_LE(0, rx);
	ASSERT_EQ(100, qkd_pread(rx, self->rx, 100, h->offset));
	ASSERT_EQ(0, memcmp(self->tx + QKD_HDR, self->rx, 100));
	close(rx);
	close(fd);

	/* unknown names are refused and change nothing */
	ASSERT_GT(0, qkd_write_str(QKD_SYSFS_DIR "/default_link", "nosuchlink\n"));
	ASSERT_LT(0, qkd_read_str(QKD_SYSFS_DIR "/default_link", buf, sizeof(buf)));
	ASSERT_STREQ("sim1b", buf);
	ASSERT_EQ(0, qkd_write_str(QKD_SYSFS_DIR "/default_link", "sim0a\n"));
}

TEST_HARNESS_MAIN
