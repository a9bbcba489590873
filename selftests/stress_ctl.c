// SPDX-License-Identifier: GPL-2.0
/*
 * The control-plane threads of the stress test: they change the links
 * under the readers' feet. Each runs until st_stop and checks that every
 * operation ends with 0 or one of the errnos the interface documents for
 * that situation (a link deleted meanwhile: ENODEV; qkd_sim unloaded:
 * EOPNOTSUPP; an alarm not clearable yet: EBUSY).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

int st_reload_ms = 4000;

/* Sleeps @ms in slices, returning early once the test stops. */
static void nap(int ms)
{
	for (; ms > 0 && !st_stop; ms -= 20)
		st_msleep(ms < 20 ? ms : 20);
}

static int ctl_open(struct qnl *q, const char *who)
{
	int r = qnl_open(q);

	if (r)
		st_fail(SC_SETUP, "%s: netlink socket: %s", who, strerror(-r));
	return r;
}

/* One TX read from a fresh link: 0, or it has no key yet, or it is gone. */
static void churn_read(const char *name)
{
	static const int ok[] = { -EAGAIN, -ENODEV, 0 };
	unsigned char buf[QKD_HDR + 64];
	struct qkdkey_tx_hdr *h = (void *)buf;
	int fd = qkd_open_bind(name, QKDKEY_DIR_TX, O_RDONLY | O_NONBLOCK);
	ssize_t r;

	if (st_expect("churn bind", fd, ok) < 0)
		return;
	r = qkd_read(fd, buf, sizeof(buf));
	if (r == (ssize_t)sizeof(buf))
		st_tally(st_tx_bytes, h->link_id, h->length);
	else
		st_expect("churn read", r < 0 ? r : -EIO, ok);
	memset(buf, 0, sizeof(buf));
	close(fd);
}

/* LINK_NEW and LINK_DEL of sim pairs and user links, in varying order. */
void *st_churn(void *arg)
{
	static const int new_ok[] = { -EOPNOTSUPP, 0 };
	static const int del_ok[] = { -ENODEV, 0 };
	static const int none[] = { 0 };
	unsigned int seed = 11;
	char a[16], b[16], u[16];
	struct qnl q;
	int n = 0, r, sim;

	(void)arg;
	if (ctl_open(&q, "churn"))
		return NULL;
	while (!st_stop) {
		snprintf(a, sizeof(a), "stc%da", n % 100);
		snprintf(b, sizeof(b), "stc%db", n % 100);
		snprintf(u, sizeof(u), "stcu%d", n % 100);
		n++;
		r = qnl_new_sim(&q, a, b, 65536, NULL);
		sim = !st_expect("LINK_NEW sim", r, new_ok);
		st_expect("LINK_NEW user", qnl_new_user(&q, u, 1, 16384, NULL), none);
		if (sim)
			churn_read(st_rand(&seed) % 2 ? a : b);
		/* Deleting either end deletes the pair; the other is gone then. */
		if (st_rand(&seed) % 2) {
			r = qnl_del(&q, a, NULL);
			st_expect("LINK_DEL sim", qnl_del(&q, b, NULL), del_ok);
		} else {
			r = qnl_del(&q, b, NULL);
			st_expect("LINK_DEL sim", qnl_del(&q, a, NULL), del_ok);
		}
		st_expect("LINK_DEL sim", r, del_ok);
		st_expect("LINK_DEL user", qnl_del(&q, u, NULL), none);
		st_inc(SC_CHURN, 1);
	}
	qnl_close(&q);
	return NULL;
}

/* ADMIN_UP until the alarm clears: EBUSY while a tick still reports high QBER. */
static void clear_alarm(struct qnl *q, const char *name)
{
	static const int ok[] = { -EBUSY, -ENODEV, 0 };
	int r, i;

	for (i = 0; i < 200 && !st_stop; i++) {
		r = qnl_set(q, name, QKDKEY_A_LINK_ADMIN_UP, 1, NULL);
		if (st_expect("LINK_SET admin up", r, ok) != -EBUSY)
			return;
		st_msleep(10);
	}
}

/*
 * QBER up and down: an eavesdropper on the sim pair (ALARM on both ends
 * at the next tick) and a reported QBER on the user link; the pair's pool
 * resized, its low watermark moved, and now and then a new epoch.
 */
void *st_toggle(void *arg)
{
	static const int gone_ok[] = { -ENODEV, 0 };
	static const int param_ok[] = { -ENOENT, -ENODEV, 0 };
	static const int none[] = { 0 };
	unsigned int seed = 13;
	struct qnl q;
	int n = 0;

	(void)arg;
	if (ctl_open(&q, "toggle"))
		return NULL;
	while (!st_stop) {
		n++;
		st_expect("LINK_SET eve", qnl_set_sim(&q, ST_A, QKDKEY_SIM_A_EVE,
						      600000, NULL), gone_ok);
		nap(60);
		st_expect("LINK_SET eve", qnl_set_sim(&q, ST_A, QKDKEY_SIM_A_EVE, 0, NULL),
			  gone_ok);
		clear_alarm(&q, ST_A);
		clear_alarm(&q, ST_B);

		st_expect("LINK_SET qber", qnl_set(&q, ST_USER, QKDKEY_A_LINK_QBER,
						   300000, NULL), none);
		nap(20);
		st_expect("LINK_SET qber", qnl_set(&q, ST_USER, QKDKEY_A_LINK_QBER,
						   1000, NULL), none);
		st_expect("LINK_SET admin up", qnl_set(&q, ST_USER, QKDKEY_A_LINK_ADMIN_UP,
						       1, NULL), none);
		st_inc(SC_ALARMS, 1);

		if (n % 3 == 0)
			st_expect("LINK_SET pool", qnl_set(&q, ST_A, QKDKEY_A_LINK_POOL_LIMIT,
							   QKDKEY_POOL_MIN +
							   st_rand(&seed) % (1 << 20), NULL),
				  gone_ok);
		if (n % 3 == 1)
			st_expect("LINK_SET pool", qnl_set(&q, ST_A, QKDKEY_A_LINK_POOL_LIMIT,
							   1 << 20, NULL), gone_ok);
		st_expect("LINK_SET watermark", qnl_set(&q, ST_A, QKDKEY_A_LINK_LOW_WATERMARK,
							st_rand(&seed) % 65536, NULL),
			  gone_ok);
		if (n % 5 == 0)
			st_expect("qkd_sim rekey", qkd_sim_set("rekey", 1), param_ok);
		nap(100);
	}
	qnl_close(&q);
	return NULL;
}

/* rmmod qkd_sim and load it again, then recreate the pair under test. */
void *st_reload(void *arg)
{
	static const int none[] = { 0 };
	struct qnl q;
	int r, i;

	(void)arg;
	if (ctl_open(&q, "reload"))
		return NULL;
	for (;;) {
		nap(st_reload_ms);
		if (st_stop)
			break;
		/* O_NONBLOCK: EWOULDBLOCK while something holds a reference */
		for (i = 0; i < 100; i++) {
			r = qkd_module_unload("qkd_sim");
			if (r != -EWOULDBLOCK && r != -EBUSY)
				break;
			st_msleep(20);
		}
		st_expect("rmmod qkd_sim", r, none);
		st_msleep(50);
		st_expect("insmod qkd_sim", qkd_module_load("qkd_sim", ""), none);
		st_expect("LINK_NEW " ST_A, st_new_pair(&q), none);
		st_inc(SC_RELOADS, 1);
	}
	qnl_close(&q);
	return NULL;
}

/* LINK_GET dumps and gets: every snapshot's counters must add up. */
void *st_dump(void *arg)
{
	static const int get_ok[] = { -ENODEV, 0 };
	static struct qnl_link l[256];
	struct qnl_link one;
	struct qnl q;
	int n, i, r;

	(void)arg;
	if (ctl_open(&q, "dump"))
		return NULL;
	while (!st_stop) {
		n = qnl_dump(&q, l, 256, NULL);
		if (st_expect("LINK_GET dump", n < 0 ? n : 0, get_ok) < 0)
			n = 0;
		for (i = 0; i < n; i++)
			if (qnl_check_counters(&l[i]))
				st_fail(SC_COUNTERS, "dump: %s: delivered != taken + expired + avail",
					l[i].name);
		r = qnl_get(&q, 0, ST_A, &one, NULL);
		if (!st_expect("LINK_GET " ST_A, r, get_ok) && qnl_check_counters(&one))
			st_fail(SC_COUNTERS, "get: %s: delivered != taken + expired + avail",
				one.name);
		qkd_link_u64(ST_A, "tx_avail");	/* sysfs: any answer will do */
		st_inc(SC_DUMPS, 1);
		st_msleep(5);
	}
	qnl_close(&q);
	return NULL;
}

/* Drains the monitor group; a reader that falls behind gets ENOBUFS. */
void *st_monitor(void *arg)
{
	static const int ok[] = { -ETIMEDOUT, -ENOBUFS, 0 };
	struct qnl_link l;
	struct qnl q;

	(void)arg;
	if (ctl_open(&q, "monitor"))
		return NULL;
	if (qnl_join_monitor(&q)) {
		st_fail(SC_SETUP, "monitor: cannot join the group");
		qnl_close(&q);
		return NULL;
	}
	while (!st_stop)
		if (!st_expect("monitor", qnl_next_ntf(&q, &l, 200), ok))
			st_inc(SC_NTFS, 1);
	qnl_close(&q);
	return NULL;
}

/* Files opened, bound to whatever exists, asked for info, polled, closed. */
void *st_opener(void *arg)
{
	static const char *const names[] = {
		ST_A, ST_B, ST_USER, "sim0a", "stc1a", "nosuch",
	};
	static const int ok[] = { -ENODEV, 0 };
	static const int none[] = { 0 };
	struct qkdkey_link_info info;
	unsigned int seed = 17;
	struct pollfd p;
	int fd;

	(void)arg;
	while (!st_stop) {
		fd = qkd_open(O_RDONLY | O_NONBLOCK);
		if (st_expect("open", fd, none) < 0)
			break;
		if (st_rand(&seed) % 4)
			st_expect("bind", qkd_bind(fd, 0, names[st_rand(&seed) % 6],
						   st_rand(&seed) % 2), ok);
		st_expect("info", qkd_info(fd, 0, &info), ok);
		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		poll(&p, 1, 0);
		close(fd);
		st_inc(SC_OPENS, 1);
	}
	return NULL;
}
