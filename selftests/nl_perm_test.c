// SPDX-License-Identifier: GPL-2.0
/*
 * Permissions of the qkdkey family: without CAP_NET_ADMIN, LINK_NEW,
 * LINK_DEL, LINK_SET and KEY_PUSH fail with EPERM and joining "monitor"
 * fails with EPERM, while LINK_GET (do and dump) works. The capability is
 * dropped from the effective set with capset(2) (it stays permitted, so
 * the test can raise it again for cleanup), and in a child that becomes
 * nobody with setresuid(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

static int cap_net_admin(int on)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint32_t bit = 1U << (CAP_NET_ADMIN % 32);

	if (syscall(SYS_capget, &h, d))
		return -errno;
	if (on)
		d[CAP_NET_ADMIN / 32].effective |= bit;
	else
		d[CAP_NET_ADMIN / 32].effective &= ~bit;
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static unsigned char key[64];

/*
 * Every admin request on @q; returns a bit mask of those that did not
 * fail with EPERM (0: all refused).
 */
static int admin_requests(struct qnl *q, uint32_t u1_id)
{
	struct nlmsghdr *nlh;
	int bad = 0;

	if (qnl_new_user(q, "u2", 0, 0, NULL) != -EPERM)
		bad |= 1;
	if (qnl_new_sim(q, "sa", "sb", 1000, NULL) != -EPERM)
		bad |= 2;
	if (qnl_del(q, "u1", NULL) != -EPERM)
		bad |= 4;
	nlh = qnl_req(q, QKDKEY_CMD_LINK_DEL, 0);
	mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, u1_id);
	if (qnl_talk(q, nlh, NULL, NULL, NULL) != -EPERM)
		bad |= 8;
	if (qnl_set(q, "u1", QKDKEY_A_LINK_QBER_THRESHOLD, 1, NULL) != -EPERM)
		bad |= 16;
	if (qnl_set(q, "u1", QKDKEY_A_LINK_ADMIN_UP, 0, NULL) != -EPERM)
		bad |= 32;
	if (qnl_push(q, "u1", QKDKEY_DIR_TX, 0, 0, key, sizeof(key), NULL) != -EPERM)
		bad |= 64;
	/* malformed or not, the permission check comes first */
	nlh = qnl_req(q, QKDKEY_CMD_LINK_NEW, 0);
	if (qnl_talk(q, nlh, NULL, NULL, NULL) != -EPERM)
		bad |= 128;
	return bad;
}

/* LINK_GET do and dump; 0 if both work and see u1 */
static int read_requests(struct qnl *q, uint32_t u1_id)
{
	struct qnl_link l[4];

	if (qnl_get(q, 0, "u1", &l[0], NULL) || l[0].id != u1_id)
		return 1;
	if (qnl_get(q, u1_id, NULL, &l[0], NULL) || strcmp(l[0].name, "u1"))
		return 2;
	if (qnl_dump(q, l, 4, NULL) != 1 || l[0].id != u1_id)
		return 4;
	return 0;
}

FIXTURE(perm) {
	struct qnl q, u;
	struct qnl_link l;
};

FIXTURE_SETUP(perm)
{
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 0, 0, NULL));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->l, NULL));
}

FIXTURE_TEARDOWN(perm)
{
	cap_net_admin(1);
	qnl_del_all(&self->q);
	qnl_close(&self->q);
}

/* nothing the refused requests asked for happened */
static void unchanged(struct __test_metadata *_metadata, FIXTURE_DATA(perm) *self)
{
	struct qnl_link all[4];

	ASSERT_EQ(1, qnl_dump(&self->q, all, 4, NULL));
	EXPECT_STREQ("u1", all[0].name);
	EXPECT_EQ(QKDKEY_LINK_UP, all[0].state);
	EXPECT_EQ(QKDKEY_QBER_THRESHOLD_DEFAULT, all[0].threshold);
	EXPECT_EQ(0, all[0].cnt[QKDKEY_COUNTER_A_TX_DELIVERED]);
}

TEST_F(perm, no_cap_net_admin)
{
	ASSERT_EQ(0, cap_net_admin(0));
	ASSERT_EQ(0, qnl_open(&self->u));
	EXPECT_EQ(0, admin_requests(&self->u, self->l.id));
	EXPECT_EQ(0, read_requests(&self->u, self->l.id));
	EXPECT_EQ(-EPERM, qnl_join_monitor(&self->u));
	/* a socket opened with the capability is not enough */
	EXPECT_EQ(0, admin_requests(&self->q, self->l.id));
	EXPECT_EQ(-EPERM, qnl_join_monitor(&self->q));
	/*
	 * (Regaining it on a socket opened without is enough here: libmnl
	 * sends with a destination address, NETLINK_SKB_DST, and then the
	 * core checks only the sender, not the socket's opener.)
	 */
	ASSERT_EQ(0, cap_net_admin(1));
	qnl_close(&self->u);
	unchanged(_metadata, self);
	/* and with it, everything works again */
	EXPECT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER_THRESHOLD, 1000, NULL));
	ASSERT_EQ(0, qnl_open(&self->u));
	EXPECT_EQ(0, qnl_join_monitor(&self->u));
	qnl_close(&self->u);
}

TEST_F(perm, nobody)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct qnl u;
		int r = 0;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(100);
		if (qnl_open(&u))
			_exit(101);
		r |= admin_requests(&u, self->l.id) ? 1 : 0;
		r |= read_requests(&u, self->l.id) ? 2 : 0;
		r |= qnl_join_monitor(&u) != -EPERM ? 4 : 0;
		qnl_close(&u);
		_exit(r);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	/* 1: an admin request passed, 2: LINK_GET failed, 4: joined monitor */
	EXPECT_EQ(0, WEXITSTATUS(status));
	unchanged(_metadata, self);
}

TEST_HARNESS_MAIN
