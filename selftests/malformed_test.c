// SPDX-License-Identifier: GPL-2.0
/*
 * Bad sizes, bad pointers, bad ioctls: every one fails with the documented
 * errno and nothing else happens, except that key bytes whose copy to the
 * user failed are destroyed. Needs qkd_sim loaded with pool=49152.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"

#define POOL 49152

FIXTURE(bad) {
	int fd, rx;
	unsigned char *buf;	/* QKD_HDR + QKDKEY_READ_MAX + 1 */
	long page;
};

FIXTURE_SETUP(bad)
{
	self->fd = self->rx = -1;
	self->page = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, qkd_reset());
	ASSERT_EQ(POOL, qkd_link_u64("sim0a", "pool_limit"))
		TH_LOG("load qkd_sim with pool=%d", POOL);
	self->buf = mmap(NULL, 2 * QKDKEY_READ_MAX, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->fd = qkd_open(0);
	ASSERT_LE(0, self->fd);
	self->rx = qkd_open_bind("sim0b", QKDKEY_DIR_RX, 0);
	ASSERT_LE(0, self->rx);
}

FIXTURE_TEARDOWN(bad)
{
	close(self->fd);
	close(self->rx);
	qkd_sim_set("rate", SIM_RATE_DEFAULT);
}

TEST_F(bad, tx_read_sizes)
{
	static const size_t bad[] = { 1, QKD_HDR - 1, QKD_HDR, QKD_HDR + POOL + 1,
		QKD_HDR + QKDKEY_READ_MAX, QKD_HDR + QKDKEY_READ_MAX + 1, 1 << 30 };
	struct qkdkey_tx_hdr *h = (void *)self->buf;
	long long taken = qkd_link_u64("sim0a", "tx_taken");
	long long expired = qkd_link_u64("sim0a", "tx_expired");
	int nb = qkd_open_bind("sim0a", QKDKEY_DIR_TX, O_NONBLOCK);

	ASSERT_LE(0, nb);
	ASSERT_EQ(0, qkd_read(self->fd, self->buf, 0));
	ASSERT_EQ(0, qkd_read(nb, self->buf, 0));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(-EINVAL, qkd_read(self->fd, self->buf, bad[i]))
			TH_LOG("read of %zu bytes", bad[i]);
		ASSERT_EQ(-EINVAL, qkd_read(nb, self->buf, bad[i]))
			TH_LOG("O_NONBLOCK read of %zu bytes", bad[i]);
	}
	ASSERT_EQ(taken, qkd_link_u64("sim0a", "tx_taken"));
	ASSERT_EQ(expired, qkd_link_u64("sim0a", "tx_expired"));

	/* TX reads ignore the file offset */
	ASSERT_EQ(12345, lseek(self->fd, 12345, SEEK_SET));
	ASSERT_EQ((ssize_t)(QKD_HDR + 1), qkd_read(self->fd, self->buf, QKD_HDR + 1));
	ASSERT_EQ(1, h->length);
	ASSERT_EQ((ssize_t)(QKD_HDR + 9), qkd_pread(self->fd, self->buf, QKD_HDR + 9, 777));
	ASSERT_EQ(9, h->length);
	ASSERT_EQ(taken + 10, qkd_link_u64("sim0a", "tx_taken"));
	close(nb);
}

TEST_F(bad, read_of_pool_limit_completes)
{
	struct qkdkey_tx_hdr *h = (void *)self->buf;

	ASSERT_EQ((ssize_t)(QKD_HDR + POOL), qkd_read(self->fd, self->buf, QKD_HDR + POOL));
	ASSERT_EQ(POOL, h->length);
}

TEST_F(bad, efault_destroys_tx_key)
{
	struct qkdkey_tx_hdr *h = (void *)self->buf;
	unsigned char *two = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *ro = mmap(NULL, self->page, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *gone = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* header and 50 key bytes fit, the other 50 fall on a PROT_NONE page */
	unsigned char *split = two + self->page - (QKD_HDR + 50);
	void *bufs[] = { NULL, split, ro, gone };
	long long x0, t0, d, t, x, a;
	struct qkdkey_link_info info;
	uint64_t first;

	ASSERT_NE(MAP_FAILED, two);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_NE(MAP_FAILED, gone);
	ASSERT_EQ(0, mprotect(two + self->page, self->page, PROT_NONE));
	ASSERT_EQ(0, munmap(gone, self->page));

	ASSERT_EQ(0, qkd_wait_ge("sim0a", "tx_avail", 1000, 10000));
	ASSERT_EQ(0, qkd_sim_pause());
	x0 = qkd_link_u64("sim0a", "tx_expired");
	t0 = qkd_link_u64("sim0a", "tx_taken");
	ASSERT_LE(0, x0);
	ASSERT_LE(0, t0);

	ASSERT_EQ((ssize_t)(QKD_HDR + 100), qkd_read(self->fd, self->buf, QKD_HDR + 100));
	first = h->offset;
	for (size_t i = 0; i < ARRAY_SIZE(bufs); i++) {
		ASSERT_EQ(-EFAULT, qkd_read(self->fd, bufs[i], QKD_HDR + 100))
			TH_LOG("bad buffer %zu", i);
		ASSERT_EQ(x0 + 100 * (i + 1), qkd_link_u64("sim0a", "tx_expired"))
			TH_LOG("bad buffer %zu: key not destroyed", i);
	}
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_LE(first + 500, info.tx_next);
	ASSERT_EQ((ssize_t)(QKD_HDR + 100), qkd_read(self->fd, self->buf, QKD_HDR + 100));
	ASSERT_EQ(info.tx_next, h->offset);
	ASSERT_LE(first + 500, h->offset) TH_LOG("destroyed bytes handed out again");

	t = qkd_link_u64("sim0a", "tx_taken");
	x = qkd_link_u64("sim0a", "tx_expired");
	d = qkd_link_u64("sim0a", "tx_delivered");
	a = qkd_link_u64("sim0a", "tx_avail");
	ASSERT_EQ(t0 + 200, t);
	ASSERT_EQ(x0 + 400, x);
	ASSERT_EQ(d, t + x + a);
	munmap(two, 2 * self->page);
	munmap(ro, self->page);
}

TEST_F(bad, rx_sizes_and_efault)
{
	int tx = qkd_open_bind("sim0a", QKDKEY_DIR_TX, 0);
	struct qkdkey_tx_hdr *h = (void *)self->buf;
	long long x0 = qkd_link_u64("sim0b", "rx_expired");
	uint64_t o;

	ASSERT_LE(0, tx);
	ASSERT_LE(0, x0);
	ASSERT_EQ((ssize_t)(QKD_HDR + 200), qkd_read(tx, self->buf, QKD_HDR + 200));
	o = h->offset;
	close(tx);

	ASSERT_EQ(0, qkd_pread(self->rx, self->buf, 0, o));
	ASSERT_EQ(-EINVAL, qkd_pread(self->rx, self->buf, QKDKEY_READ_MAX + 1, o));
	ASSERT_EQ(-EINVAL, qkd_pread(self->rx, self->buf, 1 << 30, o));
	ASSERT_EQ(-EFAULT, qkd_pread(self->rx, NULL, 100, o));
	ASSERT_EQ(x0 + 100, qkd_link_u64("sim0b", "rx_expired"));
	ASSERT_EQ(-ENOKEY, qkd_pread(self->rx, self->buf, 100, o));
	ASSERT_EQ(100, qkd_pread(self->rx, self->buf, 100, o + 100));
}

static int bind_raw(int fd, uint32_t id, const char *name, size_t namelen,
		    uint32_t dir, uint32_t flags, uint32_t reserved)
{
	struct qkdkey_bind b = { .link_id = id, .dir = dir, .flags = flags,
				 .reserved = reserved };

	memcpy(b.name, name, namelen);
	return ioctl(fd, QKDKEY_IOC_BIND, &b) ? -errno : 0;
}

TEST_F(bad, bind_errors)
{
	long long a = qkd_link_u64("sim0a", "id"), b = qkd_link_u64("sim0b", "id");
	struct qkdkey_link_info info;
	void *unmapped = mmap(NULL, self->page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, unmapped);
	ASSERT_EQ(0, munmap(unmapped, self->page));
	ASSERT_LT(0, a);
	ASSERT_LT(0, b);
	ASSERT_EQ(0, qkd_bind(self->fd, b, NULL, QKDKEY_DIR_RX));

	ASSERT_EQ(-EFAULT, ioctl(self->fd, QKDKEY_IOC_BIND, NULL) ? -errno : 0);
	ASSERT_EQ(-EFAULT, ioctl(self->fd, QKDKEY_IOC_BIND, unmapped) ? -errno : 0);
	ASSERT_EQ(-EINVAL, bind_raw(self->fd, a, "", 0, 2, 0, 0));
	ASSERT_EQ(-EINVAL, bind_raw(self->fd, a, "", 0, 0xffffffff, 0, 0));
	ASSERT_EQ(-EINVAL, bind_raw(self->fd, a, "", 0, 0, 1, 0));
	ASSERT_EQ(-EINVAL, bind_raw(self->fd, a, "", 0, 0, 0x80000000, 0));
	ASSERT_EQ(-EINVAL, bind_raw(self->fd, a, "", 0, 0, 0, 1));
	ASSERT_EQ(-EINVAL, bind_raw(self->fd, 0, "sim0aXXXXXXXXXXX", QKDKEY_NAME_LEN, 0, 0, 0));
	ASSERT_EQ(-EINVAL, bind_raw(self->fd, a, "sim0b", 5, 0, 0, 0));
	ASSERT_EQ(-ENODEV, bind_raw(self->fd, 99999, "", 0, 0, 0, 0));
	ASSERT_EQ(-ENODEV, bind_raw(self->fd, 0xffffffff, "", 0, 0, 0, 0));
	ASSERT_EQ(-ENODEV, bind_raw(self->fd, 0, "nosuch", 6, 0, 0, 0));

	/* failed binds leave the last binding in place */
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_EQ(b, info.link_id);
	ASSERT_EQ(QKDKEY_DIR_RX, info.bound_dir);
	ASSERT_TRUE(info.flags & QKDKEY_INFO_BOUND);

	/* id and name may both be given when they agree; re-binding is fine */
	ASSERT_EQ(0, bind_raw(self->fd, a, "sim0a", 5, QKDKEY_DIR_TX, 0, 0));
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_EQ(a, info.link_id);
	ASSERT_EQ(QKDKEY_DIR_TX, info.bound_dir);
	ASSERT_EQ((ssize_t)(QKD_HDR + 8), qkd_read(self->fd, self->buf, QKD_HDR + 8));

	/* neither: the default link */
	ASSERT_EQ(0, bind_raw(self->fd, 0, "", 0, QKDKEY_DIR_RX, 0, 0));
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_EQ(a, info.link_id);
	ASSERT_EQ(QKDKEY_DIR_RX, info.bound_dir);
	ASSERT_EQ(QKDKEY_INFO_BOUND | QKDKEY_INFO_DEFAULT,
		  info.flags & (QKDKEY_INFO_BOUND | QKDKEY_INFO_DEFAULT));
}

TEST_F(bad, unknown_ioctls_enotty)
{
	struct { char c[sizeof(struct qkdkey_link_info) + 8]; } big;
	const unsigned long cmds[] = {
		_IO(QKDKEY_IOC_MAGIC, 0),
		_IO(QKDKEY_IOC_MAGIC, 1),
		_IOW(QKDKEY_IOC_MAGIC, 1, __u32),
		_IOR(QKDKEY_IOC_MAGIC, 1, struct qkdkey_bind),
		_IOWR(QKDKEY_IOC_MAGIC, 1, struct qkdkey_bind),
		_IOW(QKDKEY_IOC_MAGIC, 1, struct qkdkey_link_info),
		_IO(QKDKEY_IOC_MAGIC, 2),
		_IOR(QKDKEY_IOC_MAGIC, 2, struct qkdkey_link_info),
		_IOW(QKDKEY_IOC_MAGIC, 2, struct qkdkey_link_info),
		_IOWR(QKDKEY_IOC_MAGIC, 2, big),
		_IOWR(QKDKEY_IOC_MAGIC, 2, struct qkdkey_bind),
		_IOWR(QKDKEY_IOC_MAGIC, 3, struct qkdkey_link_info),
		_IOWR(QKDKEY_IOC_MAGIC + 1, 2, struct qkdkey_link_info),
		_IOW(QKDKEY_IOC_MAGIC + 1, 1, struct qkdkey_bind),
		TCGETS,
	};

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(&big, 0, sizeof(big));
		ASSERT_EQ(-ENOTTY, ioctl(self->fd, cmds[i], &big) ? -errno : 0)
			TH_LOG("ioctl cmd %#lx", cmds[i]);
	}
}

TEST_F(bad, link_info_errors)
{
	struct qkdkey_link_info info;
	unsigned char *p = (unsigned char *)&info;
	struct qkdkey_tx_hdr *h = (void *)self->buf;
	long long b = qkd_link_u64("sim0b", "id");

	ASSERT_EQ(-EFAULT, ioctl(self->fd, QKDKEY_IOC_LINK_INFO, NULL) ? -errno : 0);
	for (size_t i = sizeof(info.link_id); i < sizeof(info); i++) {
		memset(&info, 0, sizeof(info));
		p[i] = 1;
		ASSERT_EQ(-EINVAL, ioctl(self->fd, QKDKEY_IOC_LINK_INFO, &info) ? -errno : 0)
			TH_LOG("non-zero input byte %zu accepted", i);
	}
	ASSERT_EQ(-ENODEV, qkd_info(self->fd, 99999, &info));

	/* an unbound file asking for another link */
	ASSERT_EQ(0, qkd_info(self->fd, b, &info));
	ASSERT_EQ(b, info.link_id);
	ASSERT_STREQ("sim0b", info.name);
	ASSERT_STREQ("sim0a", info.peer);
	ASSERT_STREQ("sim", info.kind);
	ASSERT_EQ(POOL, info.pool_limit);
	ASSERT_EQ(0, info.flags & (QKDKEY_INFO_BOUND | QKDKEY_INFO_DEFAULT | QKDKEY_INFO_STALE));

	/* tx_next is where the next TX read starts */
	ASSERT_EQ(0, qkd_sim_pause());
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_STREQ("sim0a", info.name);
	ASSERT_EQ(QKDKEY_DIR_TX, info.bound_dir);
	ASSERT_EQ(QKDKEY_INFO_DEFAULT, info.flags & (QKDKEY_INFO_BOUND | QKDKEY_INFO_DEFAULT));
	ASSERT_EQ(qkd_link_u64("sim0a", "tx_avail"), (long long)info.tx_avail);
	ASSERT_EQ(qkd_link_u64("sim0a", "rx_avail"), (long long)info.rx_avail);
	ASSERT_LE(16, info.tx_avail);
	ASSERT_EQ((ssize_t)(QKD_HDR + 16), qkd_read(self->fd, self->buf, QKD_HDR + 16));
	ASSERT_EQ(info.tx_next, h->offset);
	ASSERT_EQ(0, qkd_info(self->fd, 0, &info));
	ASSERT_EQ(h->offset + 16, info.tx_next);
}

TEST_HARNESS_MAIN
