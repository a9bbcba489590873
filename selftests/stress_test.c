// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: everything at once for QKD_STRESS_SECONDS (default 20; -t N).
 * TX readers on both ends of a sim pair hand what they read to RX readers
 * on the other end, which must find the same bytes at the same epoch and
 * offset, exactly once; a writer feeds a user link with KEY_PUSH and its
 * readers check the bytes; meanwhile stress_ctl.c's threads create and
 * delete links, raise and clear alarms, resize pools, start epochs, reload
 * qkd_sim, dump, listen to the monitor group and open and close files.
 *
 * Checked at the end: no (link, epoch, offset) range handed out twice,
 * RX bytes equal TX bytes, every operation failed only with an errno the
 * interface documents, every counter snapshot adds up (delivered = taken
 * + expired + available) and taken equals what the readers received,
 * every activity ran, and both modules unload (no leaked reference).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

volatile int st_stop;
long st_count[SC_MAX];
const char *const st_count_name[SC_MAX] = {
	"bad errno", "RX mismatch", "RX twice", "user mismatch", "counters", "setup",
	"TX reads", "RX matches", "RX skipped", "pushes", "user reads", "churn",
	"alarms", "reloads", "dumps", "notifications", "opens", "ENODEV seen",
};
uint64_t st_tx_bytes[ST_MAX_ID], st_rx_bytes[ST_MAX_ID];

void st_fail(enum st_count c, const char *fmt, ...)
{
	static int logged;
	va_list ap;

	st_inc(c, 1);
	if (__atomic_add_fetch(&logged, 1, __ATOMIC_RELAXED) > 30)
		return;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

int st_expect(const char *what, int ret, const int *ok)
{
	if (ret >= 0)
		return ret;
	for (; *ok; ok++)
		if (ret == *ok)
			return ret;
	st_fail(SC_BAD_ERRNO, "%s: unexpected %s", what, strerror(-ret));
	return ret;
}

void st_tally(uint64_t *tab, uint32_t id, uint64_t n)
{
	if (id < ST_MAX_ID)
		__atomic_add_fetch(&tab[id], n, __ATOMIC_RELAXED);
}

int st_new_pair(struct qnl *q)
{
	return qnl_new_sim(q, ST_A, ST_B, ST_SIM_RATE, NULL);
}

unsigned int st_rand(unsigned int *seed)
{
	return rand_r(seed);
}

void st_msleep(int ms)
{
	qkd_msleep(ms);
}

/* ---- the checks at the end */
static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sorted by (link, epoch, offset), no range may reach into the next. */
static long overlaps(struct reader *rd, int n, size_t *total)
{
	struct recs all = { 0 };
	long bad = 0;
	size_t i;

	for (int k = 0; k < n; k++)
		all.n += rd[k].recs.n;
	*total = all.n;
	all.r = malloc((all.n ? all.n : 1) * sizeof(*all.r));
	if (!all.r)
		return -1;
	for (int k = 0; k < n; k++) {
		memcpy(all.r + all.cap, rd[k].recs.r, rd[k].recs.n * sizeof(*all.r));
		all.cap += rd[k].recs.n;
	}
	qsort(all.r, all.n, sizeof(*all.r), rec_cmp);
	for (i = 1; i < all.n; i++) {
		struct rec *p = &all.r[i - 1], *c = &all.r[i];

		if (p->id == c->id && p->epoch == c->epoch && p->off + p->len > c->off &&
		    bad++ < 5)
			printf("# link %u epoch %llu: [%llu, +%u) and [%llu, +%u) overlap\n",
			       c->id, (unsigned long long)c->epoch,
			       (unsigned long long)p->off, p->len,
			       (unsigned long long)c->off, c->len);
	}
	free(all.r);
	return bad;
}

/* The surviving links: counters add up, and taken is what readers got. */
static long final_counters(struct qnl *q)
{
	static const char *const names[] = { ST_A, ST_B, ST_USER };
	struct qnl_link l;
	long bad = 0;

	for (int i = 0; i < 3; i++) {
		const uint64_t *c = l.cnt;

		if (qnl_get(q, 0, names[i], &l, NULL)) {
			printf("# LINK_GET %s failed\n", names[i]);
			bad++;
			continue;
		}
		if (qnl_check_counters(&l) || l.id >= ST_MAX_ID ||
		    c[QKDKEY_COUNTER_A_TX_TAKEN] != st_tx_bytes[l.id] ||
		    c[QKDKEY_COUNTER_A_RX_TAKEN] != st_rx_bytes[l.id]) {
			printf("# %s: taken TX %llu RX %llu, readers got TX %llu RX %llu\n",
			       names[i], (unsigned long long)c[QKDKEY_COUNTER_A_TX_TAKEN],
			       (unsigned long long)c[QKDKEY_COUNTER_A_RX_TAKEN],
			       (unsigned long long)st_tx_bytes[l.id % ST_MAX_ID],
			       (unsigned long long)st_rx_bytes[l.id % ST_MAX_ID]);
			bad++;
		}
	}
	return bad;
}

/* Nothing holds a module reference once every file and link is gone. */
static int unload_reload(struct qnl *q)
{
	int r1, r2;

	qnl_del(q, ST_A, NULL);
	qnl_del(q, ST_USER, NULL);
	r1 = qkd_module_unload("qkd_sim");
	r2 = qkd_module_unload("qkdkey");
	if (r1 || r2)
		printf("# rmmod qkd_sim: %s, rmmod qkdkey: %s\n", strerror(-r1), strerror(-r2));
	/* leave the modules loaded as the runner left them */
	if (qkd_modules_ensure())
		printf("# could not load the modules again\n");
	return r1 || r2;
}

static int ntest, npass;

static void report(int ok, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	npass += ok;
	printf("%sok %d - ", ok ? "" : "not ", ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void on_signal(int sig)
{
	(void)sig;	/* only interrupts a blocked read */
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: stress_test [-t SECONDS]\n\n"
		"Runs every qkdkey activity at once for SECONDS (default: env\n"
		"QKD_STRESS_SECONDS, else 20), then checks the invariants. Inside\n"
		"the test VM only (selftests/run-in-vm): it reloads qkd_sim and qkdkey.\n");
}

#define NRD 8

int main(int argc, char **argv)
{
	static struct reader rd[NRD] = {
		{ .end = 0, .flags = 0, .name = ST_A },
		{ .end = 0, .flags = O_NONBLOCK, .name = ST_A },
		{ .end = 1, .flags = 0, .name = ST_B },
		{ .end = 1, .flags = O_NONBLOCK, .name = ST_B },
		{ .flags = 0, .name = NULL },			/* default link */
		{ .end = 0 }, { .end = 1 },			/* RX */
		{ 0 },						/* user TX */
	};
	static struct reader urx;
	void *(*const ctl[])(void *) = {
		st_churn, st_toggle, st_reload, st_dump, st_monitor, st_opener, st_pusher,
	};
	const int nctl = sizeof(ctl) / sizeof(ctl[0]);
	const char *env = getenv("QKD_STRESS_SECONDS");
	int secs = env ? atoi(env) : 20, opt, i;
	pthread_t cth[16];
	struct sigaction sa = { .sa_handler = on_signal };
	struct qnl q;
	size_t nrecs;
	long bad;

	while ((opt = getopt(argc, argv, "ht:")) != -1) {
		if (opt == 't') {
			secs = atoi(optarg);
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (secs < 1) {
		fprintf(stderr, "stress_test: SECONDS must be at least 1\n");
		return 2;
	}
	/* reloads every 1-4 s: several per run however short */
	st_reload_ms = secs * 1000 / 5 < 1000 ? 1000 :
		       secs * 1000 / 5 > 4000 ? 4000 : secs * 1000 / 5;
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: reads return EINTR */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..8\n# stress for %d s, qkd_sim reload every %d ms\n",
	       secs, st_reload_ms);

	if (qkd_modules_ensure() || qnl_open(&q)) {
		printf("Bail out! modules or netlink unavailable\n");
		return 1;
	}
	qnl_del(&q, ST_A, NULL);
	qnl_del(&q, ST_USER, NULL);
	if (st_new_pair(&q) || qnl_new_user(&q, ST_USER, 1, ST_USER_POOL, NULL)) {
		printf("Bail out! cannot create the links under test\n");
		return 1;
	}
	for (i = 0; i < NRD; i++) {
		rd[i].seed = 100 + i;
		pthread_create(&rd[i].th, NULL, i < 5 ? st_tx_reader : i < 7 ? st_rx_reader :
			       st_user_tx, &rd[i]);
	}
	urx.seed = 99;
	pthread_create(&urx.th, NULL, st_user_rx, &urx);
	for (i = 0; i < nctl; i++)
		pthread_create(&cth[i], NULL, ctl[i], NULL);

	st_msleep(secs * 1000);
	st_stop = 1;
	for (i = 0; i < nctl; i++)
		pthread_join(cth[i], NULL);
	/* blocked readers: a signal until they are out */
	for (i = 0; i <= NRD; i++) {
		struct reader *r = i < NRD ? &rd[i] : &urx;

		while (pthread_tryjoin_np(r->th, NULL)) {
			pthread_kill(r->th, SIGUSR1);
			st_msleep(10);
		}
	}

	printf("# counts:");
	for (i = 0; i < SC_MAX; i++)
		printf("%s %s %ld", i ? "," : "", st_count_name[i], st_count[i]);
	printf("\n");
	bad = overlaps(rd, NRD, &nrecs);
	report(!bad, "TX: %zu reads, no (link, epoch, offset) range handed out twice", nrecs);
	report(!st_count[SC_RX_MISMATCH] && !st_count[SC_RX_TWICE] && st_count[SC_RX_MATCHES],
	       "RX: %ld reads found the TX bytes, %ld mismatches, %ld read twice",
	       st_count[SC_RX_MATCHES], st_count[SC_RX_MISMATCH], st_count[SC_RX_TWICE]);
	report(!st_count[SC_USER_MISMATCH] && st_count[SC_USER_READS],
	       "user link: %ld reads of pushed key, %ld mismatches",
	       st_count[SC_USER_READS], st_count[SC_USER_MISMATCH]);
	report(!st_count[SC_BAD_ERRNO] && !st_count[SC_SETUP],
	       "every operation ended with 0 or a documented errno (%ld did not)",
	       st_count[SC_BAD_ERRNO] + st_count[SC_SETUP]);
	report(!st_count[SC_COUNTERS], "%ld link snapshots: delivered = taken + expired + avail",
	       st_count[SC_DUMPS]);
	report(!final_counters(&q), "final counters: taken = bytes the readers received");
	report(st_count[SC_USER_PUSHES] && st_count[SC_CHURN] && st_count[SC_ALARMS] &&
	       st_count[SC_RELOADS] && st_count[SC_DUMPS] && st_count[SC_NTFS] &&
	       st_count[SC_OPENS], "every activity ran (see counts)");
	report(!unload_reload(&q), "qkd_sim and qkdkey unload: no leaked reference");
	qnl_close(&q);
	printf("# %s: %d / %d tests passed.\n", npass == ntest ? "PASSED" : "FAILED",
	       npass, ntest);
	return npass == ntest ? 0 : 1;
}
