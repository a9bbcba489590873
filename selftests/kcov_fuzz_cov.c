// SPDX-License-Identifier: GPL-2.0
/*
 * kcov_fuzz_test's coverage signal (Documentation/dev-tools/kcov.rst):
 * KCOV in PC-trace mode for the calling thread; the PCs each call of a
 * program reaches, read after the call, kept in a set of distinct PCs and
 * a map of hashed edges (pairs of consecutive PCs); and where those PCs
 * lie in qkdkey.ko and qkd_sim.ko, for the test's check and QKD_KCOV_PCS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <linux/kcov.h>

#include "kcov_fuzz.h"

#define KCOV_PATH	"/sys/kernel/debug/kcov"

static const char *const mod_name[2] = { "qkdkey", "qkd_sim" };

static uint64_t mix(uint64_t x)
{
	x *= 0x9e3779b97f4a7c15ULL;
	return x ^ x >> 29;
}

int cov_start(struct cov *c, char *why, size_t wl)
{
	c->fd = open(KCOV_PATH, O_RDWR | O_CLOEXEC);
	if (c->fd < 0 && errno == ENOENT) {	/* or debugfs is not mounted */
		if (!mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL))
			c->fd = open(KCOV_PATH, O_RDWR | O_CLOEXEC);
		else
			errno = ENOENT;
	}
	if (c->fd < 0 && errno == ENOENT) {
		snprintf(why, wl, "no %s: this kernel has no CONFIG_KCOV (scripts/check-debug's has)",
			 KCOV_PATH);
		return -ENOENT;
	}
	if (c->fd < 0) {
		snprintf(why, wl, "%s: %s", KCOV_PATH, strerror(errno));
		return -errno;
	}
	if (ioctl(c->fd, KCOV_INIT_TRACE, COVER_SIZE)) {
		snprintf(why, wl, "KCOV_INIT_TRACE: %s", strerror(errno));
		return -errno;
	}
	c->area = mmap(NULL, COVER_SIZE * sizeof(long), PROT_READ | PROT_WRITE,
		       MAP_SHARED, c->fd, 0);
	if (c->area == MAP_FAILED) {
		snprintf(why, wl, "mmap of %s: %s", KCOV_PATH, strerror(errno));
		return -errno;
	}
	if (ioctl(c->fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		snprintf(why, wl, "KCOV_ENABLE: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int pc_add(struct cov *c, uint64_t pc)
{
	size_t mask = (1 << SET_BITS) - 1, i = mix(pc) >> (64 - SET_BITS);

	if (c->npcs > (long)mask / 4 * 3)
		return 0;
	for (; c->pcs[i]; i = (i + 1) & mask)
		if (c->pcs[i] == pc)
			return 0;
	c->pcs[i] = pc;
	c->npcs++;
	return 1;
}

/* what KCOV recorded since the last reset, into the set and the map */
static void cov_collect(void *arg)
{
	struct cov *c = arg;
	unsigned long cnt, pc, prev = 0;

	cnt = __atomic_load_n(&c->area[0], __ATOMIC_RELAXED);
	if (cnt > COVER_SIZE - 1)
		cnt = COVER_SIZE - 1;
	for (unsigned long i = 0; i < cnt; i++) {
		size_t h;

		pc = __atomic_load_n(&c->area[i + 1], __ATOMIC_RELAXED);
		c->new += pc_add(c, pc);
		h = mix(prev ^ pc >> 1) >> (64 - MAP_BITS);
		if (!c->edge[h]) {
			c->edge[h] = 1;
			c->nedges++;
			c->new++;
		}
		prev = pc;
	}
	__atomic_store_n(&c->area[0], 0, __ATOMIC_RELAXED);
}

long cov_exec(struct cov *c, struct kf *k, const unsigned char *p, size_t n)
{
	c->new = 0;
	k->after_call = cov_collect;
	k->after_arg = c;
	__atomic_store_n(&c->area[0], 0, __ATOMIC_RELAXED);
	kf_run(k, p, n);
	return c->new;
}

/* .text and the end of each module's core; 0, or -1 if the kernel hides them */
static int mod_ranges(unsigned long text[2], unsigned long end[2])
{
	char line[512], name[64];
	unsigned long base, size;
	FILE *f;

	for (int m = 0; m < 2; m++) {
		snprintf(line, sizeof(line), "/sys/module/%s/sections/.text", mod_name[m]);
		f = fopen(line, "r");
		text[m] = end[m] = 0;
		if (!f)
			return -1;
		if (fscanf(f, "%lx", &text[m]) != 1)
			text[m] = 0;
		fclose(f);
	}
	f = fopen("/proc/modules", "r");
	while (f && fgets(line, sizeof(line), f))
		for (int m = 0; m < 2; m++)
			if (sscanf(line, "%63s %lu %*s %*s %*s %lx", name, &size, &base) == 3 &&
			    !strcmp(name, mod_name[m]))
				end[m] = base + size;
	if (f)
		fclose(f);
	for (int m = 0; m < 2; m++)
		if (!text[m] || end[m] <= text[m])
			return -1;
	return 0;
}

long cov_in_modules(const struct cov *c, const char *dump)
{
	unsigned long text[2], end[2];
	FILE *f = NULL;
	long in = 0;

	if (mod_ranges(text, end))
		return -1;
	if (dump)
		f = fopen(dump, "w");
	for (size_t i = 0; i < (1 << SET_BITS); i++) {
		for (int m = 0; m < 2; m++) {
			if (!c->pcs[i] || c->pcs[i] < text[m] || c->pcs[i] >= end[m])
				continue;
			in++;
			if (f)	/* an offset into the .ko's .text, for objdump */
				fprintf(f, "%s+0x%lx\n", mod_name[m],
					(unsigned long)c->pcs[i] - text[m]);
		}
	}
	if (f)
		fclose(f);
	return in;
}
