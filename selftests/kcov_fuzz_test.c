// SPDX-License-Identifier: GPL-2.0
/*
 * Coverage-guided fuzzing of the qkdkey netlink family and /dev/qkdkey.
 * The random fuzzers (nl_fuzz_test, dev_fuzz_test) never learn which of
 * their inputs reached new code; this one does, through KCOV: the debug
 * kernel instruments only qkdkey.ko and qkd_sim.ko (kernel/Kbuild), so the
 * PCs KCOV records for this task while a netlink handler, the first pass of
 * a dump or a file operation runs are PCs of our modules.
 *
 * An input is a small program of calls (kcov_fuzz.h): netlink messages,
 * ioctls, reads, opens and closes on a few files, sysfs reads and writes.
 * Each one runs with the task's KCOV buffer reset; its PCs and edges
 * (pairs of consecutive PCs) are hashed into a map, and an input that sets
 * something new joins the corpus (in memory, 4096 programs at most,
 * evicted at random), from which the next inputs are mutated
 * (kcov_fuzz_mut.c). The initial corpus (kcov_fuzz_seed.c) is one
 * well-formed call of each command, ioctl and sysfs file kind, key pushed
 * and read back, plus programs of gen_msg() messages (nl_fuzz_gen.c); with
 * QKD_KCOV_CORPUS=DIR also every file in DIR, where inputs that earn new
 * coverage are written too (soak runs keep it).
 *
 * Runs QKD_KCOV_SECS (default 60) seconds or QKD_KCOV_EXECS inputs; seed
 * QKD_FUZZ_SEED (the same seed makes the same choices only while the
 * kernel's coverage answers the same: sim timers and link ids vary, so a
 * run is not exactly repeatable). QKD_KCOV_PCS=FILE writes the PCs reached as offsets into
 * the modules' .text (objdump -d the .ko to see what was missed). Without
 * KCOV (a stock kernel) it skips, unless QKD_KCOV_REQUIRED=1
 * (scripts/check-debug), where that is a failure. It fails when KCOV saw
 * nothing of the modules, when guidance found nothing beyond the built-in
 * seeds, and when the kernel is unhealthy afterwards.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"
#include "fuzz_util.h"
#include "kcov_fuzz.h"
#include "fuzz_e2e.h"

#define CORPUS_MAX	4096
#define HEALTH_EVERY	1000
#define LOG_MS		5000
#define NLINKS		256

struct corpus {
	unsigned char *p[CORPUS_MAX];
	size_t n[CORPUS_MAX];
	int len;
	const char *dir;
};

static void corpus_save(const struct corpus *cp, const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	char path[4096];
	int fd;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	snprintf(path, sizeof(path), "%s/%016llx", cp->dir, (unsigned long long)h);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return;		/* there already, or the directory is gone */
	if (write(fd, p, n) != (ssize_t)n)
		unlink(path);
	close(fd);
}

static void corpus_add(struct corpus *cp, const unsigned char *p, size_t n, int save)
{
	int i = cp->len < CORPUS_MAX ? cp->len++ : (int)rn(CORPUS_MAX);

	free(cp->p[i]);
	cp->p[i] = malloc(n ? n : 1);
	if (!cp->p[i]) {
		cp->n[i] = 0;
		return;
	}
	memcpy(cp->p[i], p, n);
	cp->n[i] = n;
	if (save && cp->dir)
		corpus_save(cp, p, n);
}

/* runs every file in the corpus directory; returns how many it ran */
static long corpus_load(struct corpus *cp, struct cov *c, struct kf *k, unsigned char *buf)
{
	struct dirent *d;
	DIR *dir;
	long ran = 0;

	mkdir(cp->dir, 0755);
	dir = opendir(cp->dir);
	while (dir && (d = readdir(dir))) {
		char path[4096];
		ssize_t n;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", cp->dir, d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, PROG_MAX);
		close(fd);
		if (n <= 0)
			continue;
		ran++;
		if (cov_exec(c, k, buf, n))
			corpus_add(cp, buf, n, 0);
	}
	if (dir)
		closedir(dir);
	return ran;
}

/* the links the programs name: two user links and a slow sim pair */
static void make_links(struct qnl *q)
{
	qnl_new_user(q, "f0", 0, 0, NULL);
	qnl_new_user(q, "f1", 0, 4096, NULL);
	qnl_new_sim(q, "f2", "f3", 65536, NULL);
}

static int base_link(const char *name)
{
	return strlen(name) == 2 && name[0] == 'f' && name[1] >= '0' && name[1] <= '3';
}

/*
 * Health as nl_fuzz_test sees it, then upkeep: a program may create links
 * under any name, so beyond 16 links all but f0..f3 go, and those four
 * come back if a program deleted them.
 */
static int health(struct qnl *q, struct qnl_link *all, struct fz *f)
{
	int r = fz_healthy(q, all, NLINKS, f), n;

	if (r)
		return r;
	n = qnl_dump(q, all, NLINKS, NULL);
	for (int i = 0; n > 16 && i < n; i++)
		if (!base_link(all[i].name))
			qnl_del(q, all[i].name, NULL);
	make_links(q);
	return 0;
}

FIXTURE(kcov) {
	struct qnl q;
	struct qnl_link all[NLINKS];
};

FIXTURE_SETUP(kcov)
{
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
}

FIXTURE_TEARDOWN(kcov)
{
	qnl_del_all(&self->q);
	qnl_close(&self->q);
}

TEST_F_TIMEOUT(kcov, guided, 30 * 86400)	/* its own alarm() is the limit */
{
	long secs = env_num("QKD_KCOV_SECS", 60), max = env_num("QKD_KCOV_EXECS", 0);
	uint64_t seed = env_num("QKD_FUZZ_SEED", 0);
	long execs = 0, seeds = 0, loaded = 0, kept = 0, found = 0, pcs0, edges0, in_mods;
	static unsigned char buf[PROG_MAX];
	static struct corpus cp;
	struct fz *f = calloc(1, sizeof(*f));
	struct cov *c = calloc(1, sizeof(*c));
	struct kf k;
	long long t0, now, next_log, end;
	char why[256];
	size_t n;
	int i;

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, c);
	if (cov_start(c, why, sizeof(why))) {
		ASSERT_EQ(0, env_num("QKD_KCOV_REQUIRED", 0))
			TH_LOG("QKD_KCOV_REQUIRED=1 but %s", why);
		SKIP(return, "%s", why);
	}
	if (!seed)
		seed = (uint64_t)time(NULL) << 20 ^ getpid();
	rs = seed;
	nlf_seed(seed * 0x9e3779b97f4a7c15ULL + 1);
	kf_mut_seed(seed * 0x9e3779b97f4a7c15ULL + 2);
	cp.dir = getenv("QKD_KCOV_CORPUS");
	if (cp.dir && !*cp.dir)
		cp.dir = NULL;
	TH_LOG("seed 0x%llx (QKD_FUZZ_SEED reuses it), %ld s, %ld inputs at most, corpus dir %s",
	       (unsigned long long)seed, secs, max, cp.dir ? cp.dir : "(none)");

	f->family = self->q.family;
	for (size_t j = 0; j < sizeof(f->data); j++)
		f->data[j] = rnd();
	ASSERT_EQ(0, qnl_new_user(&self->q, "f0", 0, 0, NULL));
	ASSERT_EQ(0, qnl_new_user(&self->q, "f1", 0, 4096, NULL));
	ASSERT_EQ(0, qnl_new_sim(&self->q, "f2", "f3", 65536, NULL));
	ASSERT_EQ(0, fz_healthy(&self->q, self->all, NLINKS, f));
	ASSERT_EQ(0, kf_init(&k, f));

	/* the built-in seeds: the baseline guidance has to beat */
	t0 = qnl_now_ms();
	for (i = 0; (n = kf_seed(&k, i, buf)); i++, seeds++)
		if (cov_exec(c, &k, buf, n))
			corpus_add(&cp, buf, n, 0);
	pcs0 = c->npcs;
	edges0 = c->nedges;
	TH_LOG("%ld seeds in %.1f s: corpus %d, %ld PCs, %ld edges", seeds,
	       (qnl_now_ms() - t0) / 1000.0, cp.len, pcs0, edges0);
	ASSERT_LT(0, pcs0) TH_LOG("KCOV saw no PC of qkdkey/qkd_sim: built without KCOV_INSTRUMENT?");
	if (cp.dir) {
		i = cp.len;
		loaded = corpus_load(&cp, c, &k, buf);
		kept = cp.len - i;
		TH_LOG("%ld inputs from %s: corpus %d, %ld PCs, %ld edges", loaded, cp.dir,
		       cp.len, c->npcs, c->nedges);
	}

	alarm(secs + 300);
	t0 = qnl_now_ms();
	end = t0 + secs * 1000;
	next_log = t0 + LOG_MS;
	for (now = t0; now < end && (!max || execs < max); execs++) {
		int a = rn(cp.len), b = rn(cp.len);

		memcpy(buf, cp.p[a], cp.n[a]);
		n = kf_mutate(&k, buf, cp.n[a], cp.p[b], cp.n[b]);
		if (cov_exec(c, &k, buf, n)) {
			corpus_add(&cp, buf, n, 1);
			found++;
		}
		if (execs % HEALTH_EVERY == 0)
			ASSERT_EQ(0, health(&self->q, self->all, f));
		now = qnl_now_ms();
		if (now >= next_log || now >= end) {
			TH_LOG("%5.1f s: %ld execs, %.0f/s, corpus %d (+%ld), %ld PCs, %ld edges",
			       (now - t0) / 1000.0, execs + 1, (execs + 1) * 1000.0 / (now - t0 + 1),
			       cp.len, found, c->npcs, c->nedges);
			next_log += LOG_MS;
		}
	}
	alarm(0);
	in_mods = cov_in_modules(c, getenv("QKD_KCOV_PCS"));
	TH_LOG("calls: %ld netlink, %ld ioctl, %ld read, %ld open, %ld close, %ld sysfs",
	       k.calls[K_NL], k.calls[K_IOCTL], k.calls[K_READ], k.calls[K_OPEN],
	       k.calls[K_CLOSE], k.calls[K_SYSFS]);
	TH_LOG("guidance: %ld -> %ld PCs (%ld in the modules), %ld -> %ld edges",
	       pcs0, c->npcs, in_mods, edges0, c->nedges);
	TH_LOG("new inputs: %ld found, %ld kept from the corpus directory", found, kept);
	kf_fini(&k);
	if (in_mods >= 0)
		EXPECT_LT(0, in_mods);
	/* guidance worked: more than the seeds reach (earlier soak runs count) */
	EXPECT_LT(0, found + kept);
	EXPECT_LT(pcs0, c->npcs);

	/* healthy: the family answers, counters balance, links go away */
	ASSERT_EQ(0, fz_healthy(&self->q, self->all, NLINKS, f));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	ASSERT_EQ(0, qnl_dump(&self->q, self->all, NLINKS, NULL));
	for (i = 0; i < cp.len; i++)
		free(cp.p[i]);
	free(c);
	free(f);
}

TEST_F(kcov, then_end_to_end)
{
	fuzz_end_to_end(_metadata, &self->q);
}

TEST_HARNESS_MAIN
