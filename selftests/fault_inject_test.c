// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection (debug kernel: CONFIG_FAULT_INJECTION, FAILSLAB,
 * FAIL_PAGE_ALLOC, FAULT_INJECTION_USERCOPY; skipped elsewhere).
 *
 * 1. fail-nth sweeps: every operation of fi_ops.c is run with its 1st,
 *    2nd, ... allocation (slab or page, any order) or user copy failed
 *    until it succeeds without
 *    reaching the fault. Each attempt must fail with an errno (ENOMEM,
 *    EFAULT, ENOBUFS) and leave the state whole (fi_ops.c's checks), and
 *    the kernel must log no report; the module functions whose allocations
 *    were failed are listed from the fault's stack trace.
 * 2. Random failslab of the key block cache (boot with
 *    slub_debug=A,qkdkey_block, as scripts/check-debug does) while the
 *    sim's workqueue delivers key: the allocations fail-nth cannot reach.
 * 3. Random fail_usercopy on one reader thread: key whose copy-out fails
 *    is counted as expired and never handed out again.
 * Then both modules must unload (nothing leaked a reference); check-debug
 * scans kmemleak afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fi_util.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

#define MAX_NTH		5000
/*
 * Module loads take long under KASAN and TCG: past their 60 last faults
 * the sweep tries every stride-th only (env QKD_FI_STRIDE, 1: all).
 */
static int stride = 3;
#define PHASE_MS	3000

static struct qnl mon;	/* a listener, so that notifications are built */
static int ntest, npass;

static void report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int ok, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	npass += !!ok;
	printf("%sok %d - ", ok ? "" : "not ", ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* What a failed allocation or user copy may surface as. */
static int errno_ok(int r)
{
	return r == -ENOMEM || r == -EFAULT || r == -ENOBUFS;
}

static void add_errno(char *list, size_t len, int r)
{
	const char *name = strerrorname_np(-r);

	if (name && !strstr(list, name))
		snprintf(list + strlen(list), len - strlen(list), "%s%s",
			 *list ? "/" : "", name);
}

struct sweep {
	struct fi_sites s;
	char errs[64];
	int viol, kbad, nfired;
	long left;	/* of the armed count, after the last attempt */
};

/* One attempt with the @n-th fault armed: 1 if it was injected. */
static int attempt(const struct fi_op *op, unsigned int n, struct sweep *w)
{
	int r = op->setup ? op->setup() : 0, fired = 0;

	if (r) {
		printf("# %s: setup: %s\n", op->name, strerror(-r));
		w->viol++;
	} else {
		fi_arm(n);
		r = op->run();
		w->left = fi_left();
		fired = w->left == 0;
		w->nfired += fired;
		if (r < 0 && fired)
			add_errno(w->errs, sizeof(w->errs), r);
		if (r < 0 && (!fired || !errno_ok(r))) {
			printf("# %s: fault %u %s: %s\n", op->name, n,
			       fired ? "injected" : "not reached", strerror(-r));
			w->viol++;
		}
		w->viol += op->check(r);
	}
	if (op->undo)
		w->viol += op->undo();
	w->kbad += fi_kmsg_scan(&w->s);
	return fired;
}

/* The fail-nth sweep of one operation. */
static void sweep(const struct fi_op *op)
{
	struct sweep w = { 0 };
	char sites[1024], range[64];
	long long t0 = qnl_now_ms();
	int n, fired = 1, total, miss = 0, seen = 0, tries = 0;

	n = fi_modules(op->modules);
	if (n) {
		report(0, "%s: modules: %s", op->name, strerror(-n));
		return;
	}
	if (!op->from_end) {
		for (n = 1; n <= MAX_NTH && fired && !w.viol; n++)
			fired = attempt(op, n, &w);
		snprintf(range, sizeof(range), "faults 1-%d", n - 2);
	} else {
		/* how many fault points a clean run passes */
		fired = attempt(op, 1000000, &w);
		total = 1000000 - (int)w.left;
		for (n = total; n >= 1 && !w.viol; n -= tries++ < 60 ? 1 : stride) {
			attempt(op, n, &w);
			if (fi_last_in_module)
				seen = 1, miss = 0;
			else if (seen && ++miss >= 30)
				break;
		}
		snprintf(range, sizeof(range), "faults %d-%d of %d", n < 1 ? 1 : n, total, total);
		if (stride > 1 && tries > 60)
			snprintf(range + strlen(range), sizeof(range) - strlen(range),
				 ", one in %d below %d", stride, total - 59);
	}
	report(!w.viol && !w.kbad && !fired,
	       "%s: %s (%d injected, %lld s), each failed cleanly (%s); module sites: %s",
	       op->name, range, w.nfired, (qnl_now_ms() - t0) / 1000,
	       *w.errs ? w.errs : "all hidden", fi_sites_str(&w.s, sites, sizeof(sites)));
}

/* ---- 2. random failslab of qkdkey_block while the sim delivers */
static volatile int phase_stop;

static void *sim_reader(void *arg)
{
	unsigned char buf[QKD_HDR + 1000];
	struct qkdkey_tx_hdr *h = (void *)buf;
	uint64_t end = 0, epoch = 0;
	long *bad = arg;
	int fd = qkd_open_bind("fir0a", QKDKEY_DIR_TX, O_RDONLY | O_NONBLOCK);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (fd >= 0 && !phase_stop) {
		r = qkd_read(fd, buf, sizeof(buf));
		if (r == (ssize_t)sizeof(buf)) {
			if (h->epoch == epoch && h->offset < end)
				(*bad)++;
			epoch = h->epoch;
			end = h->offset + h->length;
		} else if (r == -EAGAIN) {
			poll(&p, 1, 50);
		} else {
			printf("# fir0a TX read: %s\n", strerror(r < 0 ? -r : EIO));
			(*bad)++;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void random_blocks(void)
{
	struct fi_sites s = { 0 };
	char v[8], sites[512];
	long bad = 0, f0 = fi_faults;
	long long old;
	int kbad = 0, t, r, pushes = 0;
	pthread_t th;

	if (qkd_read_str("/sys/kernel/slab/qkdkey_block/failslab", v, sizeof(v)) < 0 ||
	    strcmp(v, "1")) {
		report(1, "random failslab of qkdkey_block # SKIP boot with slub_debug=A,qkdkey_block");
		return;
	}
	if (qnl_new_sim(&fi_ctl, "fir0a", "fir0b", 4 << 20, NULL)) {
		report(0, "random failslab: cannot create fir0a");
		return;
	}
	fi_knob("failslab/cache-filter", "Y");
	fi_knob("failslab/times", "-1");
	fi_knob("failslab/interval", "1");
	fi_knob("failslab/probability", "20");
	phase_stop = 0;
	pthread_create(&th, NULL, sim_reader, &bad);
	for (t = 0; t < PHASE_MS; t += 20) {
		r = fi_push_tx(1);
		pushes += !r;
		if (r && r != -ENOMEM && r != -ENOSPC) {
			printf("# KEY_PUSH under failslab: %s\n", strerror(-r));
			bad++;
		}
		qkd_msleep(20);
		kbad += fi_kmsg_scan(&s);
	}
	fi_knob("failslab/probability", "0");
	fi_knob("failslab/cache-filter", "N");
	phase_stop = 1;
	pthread_join(th, NULL);
	kbad += fi_kmsg_scan(&s);

	/* the sim must deliver again, and every count must add up */
	old = qkd_link_u64("fir0a", "tx_delivered");
	if (qkd_wait_ne("fir0a", "tx_delivered", old, 5000)) {
		printf("# fir0a delivers no key after the faults\n");
		bad++;
	}
	{
		static struct qnl_link l[32];
		int n = qnl_dump(&fi_ctl, l, 32, NULL);

		for (int i = 0; i < n; i++)
			if (qnl_check_counters(&l[i])) {
				printf("# %s: counters do not add up\n", l[i].name);
				bad++;
			}
	}
	report(!bad && !kbad && fi_faults > f0,
	       "random failslab of qkdkey_block for %d ms: %ld faults (sites: %s), %d pushes stored, sim delivers again, counters add up",
	       PHASE_MS, fi_faults - f0, fi_sites_str(&s, sites, sizeof(sites)), pushes);
	qnl_del(&fi_ctl, "fir0a", NULL);
}

/* ---- 3. random fail_usercopy on one reader */
struct uc {
	int ok, efault, other, bad;
};

static void *uc_reader(void *arg)
{
	unsigned char buf[QKD_HDR + 100];
	struct qkdkey_tx_hdr *h = (void *)buf;
	struct uc *u = arg;
	uint64_t end = 0;
	int fd = qkd_open_bind(FI_USER, QKDKEY_DIR_TX, O_RDONLY | O_NONBLOCK);
	int mif = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || mif < 0 || write(mif, "1", 1) != 1) {
		u->bad++;
		goto out;
	}
	for (int i = 0; i < 300; i++) {
		r = qkd_read(fd, buf, sizeof(buf));
		if (r == (ssize_t)sizeof(buf)) {
			u->ok++;
			if (h->offset < end || !fi_pat_ok(buf + QKD_HDR, h->offset, 100))
				u->bad++;
			end = h->offset + 100;
		} else if (r == -EFAULT) {
			u->efault++;
		} else {
			u->other++;
		}
	}
	/* the write's own copy may be failed: again until it goes through */
	while (write(mif, "0", 1) != 1 && errno == EFAULT)
		;
out:
	if (mif >= 0)
		close(mif);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void random_usercopy(void)
{
	struct uc u = { 0 };
	struct qnl_link a, b;
	pthread_t th;
	int kbad;

	if (fi_push_tx(4) || qnl_get(&fi_ctl, 0, FI_USER, &a, NULL)) {
		report(0, "random fail_usercopy: cannot push key");
		return;
	}
	fi_knob("fail_usercopy/task-filter", "Y");
	fi_knob("fail_usercopy/times", "-1");
	fi_knob("fail_usercopy/interval", "1");
	fi_knob("fail_usercopy/probability", "30");
	pthread_create(&th, NULL, uc_reader, &u);
	pthread_join(th, NULL);
	fi_knob("fail_usercopy/probability", "0");
	fi_knob("fail_usercopy/task-filter", "N");
	kbad = fi_kmsg_scan(NULL);
	if (qnl_get(&fi_ctl, 0, FI_USER, &b, NULL))
		u.bad++;
#define D(c) (b.cnt[QKDKEY_COUNTER_A_##c] - a.cnt[QKDKEY_COUNTER_A_##c])
	report(!u.bad && !u.other && !kbad && u.ok && u.efault &&
	       D(TX_TAKEN) == 100ULL * u.ok && D(TX_EXPIRED) == 100ULL * u.efault &&
	       !qnl_check_counters(&b),
	       "random fail_usercopy on a TX reader: %d reads, %d EFAULT (key counted expired, never handed out again), %d other errors",
	       u.ok, u.efault, u.other);
#undef D
}

static void kmemleak_check(const char *after)
{
	int known, other = fi_kmemleak(&known);

	report(!other, "kmemleak after %s: %d leaks (and %d of the 6.1 kernel's sysfs_slab_add() error path, cleared)",
	       after, other, known);
}

/* Module files to tmpfs: finit_module() reading 9p would fault 9p too. */
static int copy_modules(void)
{
	const char *src = getenv("QKD_KO_DIR");
	char from[512], to[600], *dir;
	static char tmpl[] = "/tmp/qkd-fi-XXXXXX";
	static const char *const ko[] = { "qkdkey", "qkd_sim" };

	dir = mkdtemp(tmpl);
	if (!dir)
		return -errno;
	snprintf(fi_ko_dir, 256, "%s", dir);
	for (int i = 0; i < 2; i++) {
		if (src && *src)
			snprintf(from, sizeof(from), "%s/%s.ko", src, ko[i]);
		else
			snprintf(from, sizeof(from), "%s/kernel/%s.ko", qkd_repo_dir(), ko[i]);
		snprintf(to, sizeof(to), "cp '%s' '%s/'", from, dir);
		if (system(to))
			return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int r, i;

	if (argc > 1) {
		printf("Usage: fault_inject_test\n\nFails the allocations and user copies of every qkdkey operation in\n"
		       "turn (debug kernel, inside the test VM: selftests/run-in-vm).\n"
		       "Env QKD_FI_STRIDE=N: module loads try every Nth fault past their\n"
		       "last 60 (default 3; 1 tries all).\n");
		return strcmp(argv[1], "-h") && strcmp(argv[1], "--help") ? 2 : 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("QKD_FI_STRIDE") && atoi(getenv("QKD_FI_STRIDE")) > 0)
		stride = atoi(getenv("QKD_FI_STRIDE"));
	printf("TAP version 13\n");
	r = fi_setup();
	if (r == -EOPNOTSUPP) {
		printf("1..0 # SKIP kernel without fault injection (scripts/check-debug has it)\n");
		printf("# PASSED: 0 / 0 tests passed.\n");
		return 0;
	}
	if (r || copy_modules()) {
		printf("Bail out! fault injection setup failed\n");
		fi_restore();
		return 1;
	}
	printf("1..%d\n", fi_nops + fi_nkey_ops + 5);
	for (i = 0; i < fi_nops + fi_nkey_ops; i++) {
		const struct fi_op *op = i < fi_nops ? &fi_ops[i] : &fi_key_ops[i - fi_nops];

		/* the rest need both modules, a control socket and the key link */
		if (!op->modules && !fi_ctl.nl) {
			if (fi_modules(0) || qnl_open(&fi_ctl) ||
			    qnl_new_user(&fi_ctl, FI_USER, 1, 4 << 20, NULL) ||
			    qnl_open(&mon) || qnl_join_monitor(&mon)) {
				printf("Bail out! cannot set up %s\n", FI_USER);
				break;
			}
		}
		sweep(op);
		/* module loads fail kmem_cache_create(): see fi_kmemleak() */
		if (op->modules == 1)
			kmemleak_check(op->name);
	}
	if (fi_ctl.nl) {
		random_blocks();
		random_usercopy();
	}
	qnl_close(&fi_ctl);
	qnl_close(&mon);
	r = fi_modules(1);
	kmemleak_check("everything");
	i = fi_kmsg_scan(NULL);
	report(!r && !i, "qkd_sim and qkdkey unload after all faults (%s), %d kernel reports",
	       r ? strerror(-r) : "ok", i);
	fi_restore();
	if (qkd_modules_ensure())
		printf("# could not load the modules again\n");
	printf("# %s: %d / %d tests passed.\n", npass == ntest ? "PASSED" : "FAILED", npass, ntest);
	return npass == ntest ? 0 : 1;
}
