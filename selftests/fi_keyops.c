// SPDX-License-Identifier: GPL-2.0
/*
 * fault_inject_test's key operations: KEY_PUSH, /dev/qkdkey (open, ioctls,
 * TX and RX reads) and sysfs, on the user link FI_USER, whose key is a
 * known pattern. A read whose copy to user fails must have consumed and
 * counted its key (expired, not taken), and the key is never handed out
 * again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fi_util.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

static struct qnl q;		/* the armed request's socket */
static int fd = -1;
static uint64_t base[2], next_off[2];
static unsigned char buf[QKD_HDR + 8000];

static int close_all(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
	qnl_close(&q);
	return 0;
}

/* ---- KEY_PUSH: delivered grows by the push, or not at all */
static unsigned char pat(uint64_t off) { return off * 131 + (off >> 9); }

static int push_setup(void)
{
	struct qnl_link l;
	int r = qnl_get(&fi_ctl, 0, FI_USER, &l, NULL);

	base[0] = l.cnt[QKDKEY_COUNTER_A_TX_DELIVERED];
	base[1] = l.cnt[QKDKEY_COUNTER_A_RX_DELIVERED];
	return r ? r : qnl_open(&q);
}

static int push(struct qnl *s, int dir)
{
	for (int i = 0; i < 8000; i++)
		buf[i] = pat(next_off[dir] + i);
	return qnl_push(s, FI_USER, dir, 1, next_off[dir], buf, 8000, NULL);
}

static int push_tx_run(void) { return push(&q, QKDKEY_DIR_TX); }
static int push_rx_run(void) { return push(&q, QKDKEY_DIR_RX); }

static int push_check(int dir, int r)
{
	static const int cnt[2] = { QKDKEY_COUNTER_A_TX_DELIVERED, QKDKEY_COUNTER_A_RX_DELIVERED };
	struct qnl_link l;
	uint64_t d;

	if (qnl_get(&fi_ctl, 0, FI_USER, &l, NULL))
		return fi_bad("%s: LINK_GET failed", FI_USER);
	d = l.cnt[cnt[dir]] - base[dir];
	if (d)
		next_off[dir] += 8000;
	if (qnl_check_counters(&l))
		return fi_bad("%s: counters do not add up", FI_USER);
	if (d != 0 && d != 8000)
		return fi_bad("%s: KEY_PUSH stored part of the key", FI_USER);
	if (!r && d != 8000)
		return fi_bad("%s: KEY_PUSH succeeded but stored nothing", FI_USER);
	return 0;
}

static int push_tx_check(int r) { return push_check(QKDKEY_DIR_TX, r); }
static int push_rx_check(int r) { return push_check(QKDKEY_DIR_RX, r); }

/* ---- /dev/qkdkey */
static int open_run(void)
{
	fd = qkd_open(O_RDONLY);
	return fd < 0 ? fd : 0;
}

static int bind_setup(void) { return open_run(); }
static int bind_run(void) { return qkd_bind(fd, 0, "sim0a", QKDKEY_DIR_RX); }

static int info_run(void)
{
	struct qkdkey_link_info info;

	return qkd_info(fd, 0, &info);
}

static int bind_check(int r)
{
	struct qkdkey_link_info info;

	if (qkd_info(fd, 0, &info))
		return fi_bad("%s: LINK_INFO failed after bind", "sim0a");
	if (!r && (info.bound_dir != QKDKEY_DIR_RX || !(info.flags & QKDKEY_INFO_BOUND)))
		return fi_bad("%s: bind succeeded but the file is not bound", "sim0a");
	return 0;
}

/* TX read: key whose copy-out failed is wiped and counted, never reused. */
static int user_bind(int dir)
{
	struct qnl_link l;
	int r;

	fd = qkd_open_bind(FI_USER, dir, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	r = qnl_get(&fi_ctl, 0, FI_USER, &l, NULL);
	base[0] = l.cnt[dir ? QKDKEY_COUNTER_A_RX_TAKEN : QKDKEY_COUNTER_A_TX_TAKEN];
	base[1] = l.cnt[dir ? QKDKEY_COUNTER_A_RX_EXPIRED : QKDKEY_COUNTER_A_TX_EXPIRED];
	return r;
}

static int tx_setup(void) { return user_bind(QKDKEY_DIR_TX); }

static int tx_run(void)
{
	ssize_t r = qkd_read(fd, buf, QKD_HDR + 200);

	return r < 0 ? r : r == QKD_HDR + 200 ? 0 : -EIO;
}

static int taken_check(int dir, int r, uint64_t off)
{
	struct qnl_link l;
	uint64_t t, x;

	if (qnl_get(&fi_ctl, 0, FI_USER, &l, NULL))
		return fi_bad("%s: LINK_GET failed", FI_USER);
	t = l.cnt[dir ? QKDKEY_COUNTER_A_RX_TAKEN : QKDKEY_COUNTER_A_TX_TAKEN] - base[0];
	x = l.cnt[dir ? QKDKEY_COUNTER_A_RX_EXPIRED : QKDKEY_COUNTER_A_TX_EXPIRED] - base[1];
	if (qnl_check_counters(&l))
		return fi_bad("%s: counters do not add up", FI_USER);
	if (!r && (t != 200 || x != 0))
		return fi_bad("%s: a read of 200 bytes was not counted as taken", FI_USER);
	if (r == -EFAULT && (t != 0 || x != 200))
		return fi_bad("%s: key lost to EFAULT was not counted as expired", FI_USER);
	for (int i = 0; !r && i < 200; i++)
		if (buf[(dir ? 0 : QKD_HDR) + i] != pat(off + i))
			return fi_bad("%s: read returned other bytes than pushed", FI_USER);
	return 0;
}

static int tx_check(int r)
{
	static uint64_t end;
	struct qkdkey_tx_hdr *h = (void *)buf;

	if (!r && h->offset < end)
		return fi_bad("%s: TX offset handed out again after a failed read", FI_USER);
	if (!r)
		end = h->offset + 200;
	return taken_check(QKDKEY_DIR_TX, r, r ? 0 : h->offset);
}

/* RX read: the range is consumed even if the copy fails. */
static uint64_t rx_at;

static int rx_setup(void) { return user_bind(QKDKEY_DIR_RX); }

static int rx_run(void)
{
	ssize_t r = qkd_pread(fd, buf, 200, rx_at);

	return r < 0 ? r : r == 200 ? 0 : -EIO;
}

static int rx_check(int r)
{
	int ret = taken_check(QKDKEY_DIR_RX, r, rx_at);

	if (!ret && qkd_pread(fd, buf, 200, rx_at) != -ENOKEY)
		ret = fi_bad("%s: an RX range was readable twice", FI_USER);
	rx_at += 200;
	return ret;
}

/* An RX read of key not delivered yet: EAGAIN, and a KEY_WANT notification. */
static int want_setup(void) { return user_bind(QKDKEY_DIR_RX); }

static int want_run(void)
{
	ssize_t r = qkd_pread(fd, buf, 100, 1ULL << 40);

	return r == -EAGAIN ? 0 : r < 0 ? r : -EIO;
}

/* A TX read that takes the pool below its low watermark: a notification. */
static int low_setup(void)
{
	/* setting the watermark re-arms the event */
	int r = qnl_set(&fi_ctl, FI_USER, QKDKEY_A_LINK_LOW_WATERMARK, 64 << 20, NULL);

	return r ? r : user_bind(QKDKEY_DIR_TX);
}

/* sysfs: the link's state attribute */
static int state_setup(void)
{
	fd = open(QKD_LINKS_DIR "/" FI_USER "/state", O_WRONLY | O_CLOEXEC);
	return fd < 0 ? -errno : 0;
}

static int state_run(void) { return write(fd, "down", 4) == 4 ? 0 : -errno; }

static int state_check(int r)
{
	char s[16];

	if (qkd_link_str(FI_USER, "state", s, sizeof(s)) < 0)
		return fi_bad("%s: no state", FI_USER);
	return !r && strcmp(s, "down") ? fi_bad("%s: state write succeeded, not down", FI_USER) : 0;
}

static int state_undo(void)
{
	qkd_link_set(FI_USER, "state", "up");
	return close_all();
}

const struct fi_op fi_key_ops[] = {
	OP("KEY_PUSH TX", push_setup, push_tx_run, push_tx_check, close_all, 0),
	OP("KEY_PUSH RX", push_setup, push_rx_run, push_rx_check, close_all, 0),
	OP("open /dev/qkdkey", NULL, open_run, fi_no_check, close_all, 0),
	OP("ioctl BIND", bind_setup, bind_run, bind_check, close_all, 0),
	OP("ioctl LINK_INFO", bind_setup, info_run, fi_no_check, close_all, 0),
	OP("TX read", tx_setup, tx_run, tx_check, close_all, 0),
	OP("RX pread", rx_setup, rx_run, rx_check, close_all, 0),
	OP("TX read below the low watermark", low_setup, tx_run, tx_check, close_all, 0),
	OP("RX pread of undelivered key (KEY_WANT)", want_setup, want_run, fi_no_check,
	   close_all, 0),
	OP("sysfs state write", state_setup, state_run, state_check, state_undo, 0),
};

const int fi_nkey_ops = sizeof(fi_key_ops) / sizeof(fi_key_ops[0]);

/* For the random phases: @n pushes of 8000 TX bytes, unarmed. */
int fi_push_tx(int n)
{
	int r = 0;

	for (int i = 0; i < n && !r; i++) {
		r = push(&fi_ctl, QKDKEY_DIR_TX);
		if (!r)
			next_off[QKDKEY_DIR_TX] += 8000;
	}
	return r;
}

int fi_pat_ok(const unsigned char *p, unsigned long long off, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		if (p[i] != pat(off + i))
			return 0;
	return 1;
}
