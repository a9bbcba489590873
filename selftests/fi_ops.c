// SPDX-License-Identifier: GPL-2.0
/*
 * The operations fault_inject_test fails with fail-nth, one allocation or
 * user copy after another. Each check() asks the kernel, unarmed, whether
 * the operation happened completely or not at all: a lost netlink ACK
 * (ENOBUFS) or a failed copy of the reply (EFAULT) may hide a success, so
 * the return value alone proves little.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "fi_util.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

struct qnl fi_ctl;		/* never armed: for setup and checks */
static struct qnl q;		/* the armed request's socket */
static int fd = -1;

char fi_ko_dir[256];

int fi_bad(const char *fmt, const char *what)
{
	printf("# ");
	printf(fmt, what);
	printf("\n");
	return 1;
}

static int ko_open(const char *ko)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s.ko", fi_ko_dir, ko);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : 0;
}

int fi_load(const char *ko, const char *params)
{
	int r = ko_open(ko);

	if (!r && syscall(__NR_finit_module, fd, params, 0))
		r = -errno;
	close(fd);
	fd = -1;
	return r;
}

int fi_modules(int which)
{
	int r = 0;

	if (which != 0 && qkd_module_loaded("qkd_sim"))
		r = qkd_module_unload("qkd_sim");
	if (!r && which == 1 && qkd_module_loaded("qkdkey"))
		r = qkd_module_unload("qkdkey");
	if (!r && which != 1 && !qkd_module_loaded("qkdkey"))
		r = fi_load("qkdkey", "");
	if (!r && which == 0 && !qkd_module_loaded("qkd_sim"))
		r = fi_load("qkd_sim", "");
	return r;
}

static int exists(const char *name)
{
	struct qnl_link l;

	return !qnl_get(&fi_ctl, 0, name, &l, NULL);
}

/* Links there are, through a socket of its own: qkdkey may be new. */
static int nlinks_fresh(void)
{
	static struct qnl_link l[16];
	struct qnl s;
	int n;

	if (qnl_open(&s))
		return -1;
	n = qnl_dump(&s, l, 16, NULL);
	qnl_close(&s);
	return n;
}

static int close_all(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
	qnl_close(&q);
	return 0;
}

static int nl_setup(void) { return qnl_open(&q); }

/* ---- module load and unload */
static int insmod_setup(void) { return ko_open("qkdkey"); }
static int sim_setup(void) { return ko_open("qkd_sim"); }
static int insmod_run(void) { return syscall(__NR_finit_module, fd, "", 0) ? -errno : 0; }
static int sim_run(void) { return syscall(__NR_finit_module, fd, "pairs=2", 0) ? -errno : 0; }

static int insmod_check(int r)
{
	if (qkd_module_loaded("qkdkey") != !r)
		return fi_bad("insmod qkdkey: %s", r ? "failed but loaded" : "succeeded but not loaded");
	return 0;
}

static int sim_check(int r)
{
	int n;

	if (qkd_module_loaded("qkd_sim") != !r)
		return fi_bad("insmod qkd_sim: %s", r ? "failed but loaded" : "succeeded but not loaded");
	n = nlinks_fresh();
	if (n != (r ? 0 : 4))
		return fi_bad("insmod qkd_sim pairs=2: %s number of links left", r ? "failed, wrong" : "wrong");
	return 0;
}

static int unload_undo(const char *mod)
{
	close_all();
	if (qkd_module_loaded(mod) && qkd_module_unload(mod))
		return fi_bad("rmmod %s failed after the operation", mod);
	return 0;
}

static int insmod_undo(void) { return unload_undo("qkdkey"); }
static int sim_undo(void) { return unload_undo("qkd_sim"); }

static int rmmod_setup(void) { return qkd_module_loaded("qkd_sim") ? 0 : fi_load("qkd_sim", ""); }
static int rmmod_run(void) { return qkd_module_unload("qkd_sim"); }

static int rmmod_check(int r)
{
	if (qkd_module_loaded("qkd_sim") != !!r)
		return fi_bad("rmmod qkd_sim: %s", r ? "failed but unloaded" : "succeeded but loaded");
	return 0;
}

/* ---- netlink */
static int new_sim_run(void) { return qnl_new_sim(&q, "fis0a", "fis0b", 65536, NULL); }

static int pair_check(int r, const char *a, const char *b, int want)
{
	int ea = exists(a), eb = exists(b);

	if (ea != eb)
		return fi_bad("%s: one end of the pair exists, the other not", a);
	if (!r && ea != want)
		return fi_bad("%s: succeeded, but the pair is not as asked", a);
	return 0;
}

static int new_sim_check(int r) { return pair_check(r, "fis0a", "fis0b", 1); }

static int new_sim_undo(void)
{
	qnl_del(&fi_ctl, "fis0a", NULL);
	return close_all();
}

static int new_user_run(void) { return qnl_new_user(&q, "fiu0", 1, 65536, NULL); }

static int new_user_check(int r)
{
	return !r && !exists("fiu0") ? fi_bad("%s: succeeded but missing", "fiu0") : 0;
}

static int new_user_undo(void)
{
	qnl_del(&fi_ctl, "fiu0", NULL);
	return close_all();
}

/* The largest pool: its block rings are larger than a page, so kvcalloc()
 * falls back to vmalloc when the first (kmalloc) attempt fails. */
static int new_big_run(void) { return qnl_new_user(&q, "fiu1", 1, QKDKEY_POOL_MAX, NULL); }

static int new_big_check(int r)
{
	return !r && !exists("fiu1") ? fi_bad("%s: succeeded but missing", "fiu1") : 0;
}

static int new_big_undo(void)
{
	qnl_del(&fi_ctl, "fiu1", NULL);
	return close_all();
}

/* One end of a seeded pair: its peer lives in another kernel. */
static int new_seeded_run(void)
{
	static const unsigned char seed[QKDKEY_SIM_SEED_LEN] = { 0x5e, 0xed };
	struct nlmsghdr *nlh = qnl_req(&q, QKDKEY_CMD_LINK_NEW, 0);
	struct nlattr *n;

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, "fis2a");
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "sim");
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_PEER, "fis2b");
	n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
	mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE, 65536);
	mnl_attr_put(nlh, QKDKEY_SIM_A_SEED, sizeof(seed), seed);
	mnl_attr_nest_end(nlh, n);
	return qnl_talk(&q, nlh, NULL, NULL, NULL);
}

static int new_seeded_check(int r)
{
	if (exists("fis2b"))
		return fi_bad("%s: a seeded link created its peer here", "fis2a");
	return !r && !exists("fis2a") ? fi_bad("%s: succeeded but missing", "fis2a") : 0;
}

static int new_seeded_undo(void)
{
	qnl_del(&fi_ctl, "fis2a", NULL);
	return close_all();
}

static int del_setup(void)
{
	int r = qnl_new_sim(&fi_ctl, "fis1a", "fis1b", 65536, NULL);

	return r ? r : qnl_open(&q);
}

static int del_run(void) { return qnl_del(&q, "fis1b", NULL); }
static int del_check(int r) { return pair_check(r, "fis1a", "fis1b", 0); }

static int del_undo(void)
{
	qnl_del(&fi_ctl, "fis1a", NULL);
	return close_all();
}

static int pool_setup(void)
{
	int r = qnl_set(&fi_ctl, "sim0a", QKDKEY_A_LINK_POOL_LIMIT, 1 << 20, NULL);

	return r ? r : qnl_open(&q);
}

static int pool_run(void) { return qnl_set(&q, "sim0a", QKDKEY_A_LINK_POOL_LIMIT, 65536, NULL); }

static int pool_check(int r)
{
	struct qnl_link l;

	if (qnl_get(&fi_ctl, 0, "sim0a", &l, NULL))
		return fi_bad("%s: LINK_GET failed", "sim0a");
	if (l.pool != 65536 && (!r || l.pool != 1 << 20))
		return fi_bad("%s: pool limit neither old nor new", "sim0a");
	if (qnl_check_counters(&l))
		return fi_bad("%s: counters do not add up", "sim0a");
	return 0;
}

static int alarm_run(void) { return qnl_set(&q, FI_USER, QKDKEY_A_LINK_QBER, 500000, NULL); }

static int alarm_check(int r)
{
	struct qnl_link l;

	if (qnl_get(&fi_ctl, 0, FI_USER, &l, NULL))
		return fi_bad("%s: LINK_GET failed", FI_USER);
	if (!r && l.state != QKDKEY_LINK_ALARM)
		return fi_bad("%s: QBER above threshold but no ALARM", FI_USER);
	return 0;
}

static int alarm_undo(void)
{
	qnl_set(&fi_ctl, FI_USER, QKDKEY_A_LINK_QBER, 0, NULL);
	qnl_set(&fi_ctl, FI_USER, QKDKEY_A_LINK_ADMIN_UP, 1, NULL);
	return close_all();
}

static int get_run(void)
{
	struct qnl_link l;

	return qnl_get(&q, 0, "sim0a", &l, NULL);
}

static int dump_run(void)
{
	static struct qnl_link l[16];
	int n = qnl_dump(&q, l, 16, NULL);

	return n < 0 ? n : 0;
}

int fi_no_check(int r)
{
	(void)r;
	return 0;
}

#define NL(n, r, c, u)		OP(n, nl_setup, r, c, u, 0)

const struct fi_op fi_ops[] = {
	OP("insmod qkdkey", insmod_setup, insmod_run, insmod_check, insmod_undo, 1),
	OP("insmod qkd_sim pairs=2", sim_setup, sim_run, sim_check, sim_undo, 2),
	OP("rmmod qkd_sim", rmmod_setup, rmmod_run, rmmod_check, NULL, 2),
	NL("LINK_NEW sim", new_sim_run, new_sim_check, new_sim_undo),
	NL("LINK_NEW user", new_user_run, new_user_check, new_user_undo),
	NL("LINK_NEW user, largest pool", new_big_run, new_big_check, new_big_undo),
	NL("LINK_NEW sim, seeded", new_seeded_run, new_seeded_check, new_seeded_undo),
	OP("LINK_DEL sim", del_setup, del_run, del_check, del_undo, 0),
	OP("LINK_SET pool limit", pool_setup, pool_run, pool_check, close_all, 0),
	NL("LINK_SET QBER (alarm)", alarm_run, alarm_check, alarm_undo),
	NL("LINK_GET do", get_run, fi_no_check, close_all),
	NL("LINK_GET dump", dump_run, fi_no_check, close_all),
};

const int fi_nops = sizeof(fi_ops) / sizeof(fi_ops[0]);
