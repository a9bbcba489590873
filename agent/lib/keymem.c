// SPDX-License-Identifier: GPL-2.0
/* Locked, undumpable memory for key material; see keymem.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "keymem.h"

size_t qkd_page_size(void)
{
	static size_t page;

	if (!page) {
		long p = sysconf(_SC_PAGESIZE);

		page = p > 0 ? (size_t)p : 4096;
	}
	return page;
}

void qkd_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

bool qkd_is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

int qkd_keymem_alloc(struct qkd_keymem *m, size_t size)
{
	size_t page = qkd_page_size();
	size_t usable, total;
	unsigned char *map;
	int r;

	memset(m, 0, sizeof(*m));
	if (!size || size > SIZE_MAX / 2)
		return -EINVAL;
	usable = (size + page - 1) / page * page;
	total = usable + 2 * page;	/* a guard page on each side */

	map = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	if (mprotect(map + page, usable, PROT_READ | PROT_WRITE) ||
	    madvise(map, total, MADV_DONTDUMP)) {
		r = -errno;
		goto fail;
	}
	/* Best effort: 4.14+; a forked child must not inherit key bytes. */
	if (madvise(map + page, usable, MADV_WIPEONFORK) && errno != EINVAL) {
		r = -errno;
		goto fail;
	}
	if (mlock(map + page, usable)) {
		r = errno == EAGAIN ? -ENOMEM : -errno;
		goto fail;
	}
	m->map = map;
	m->map_size = total;
	m->base = map + page;
	m->size = usable;
	return 0;
fail:
	munmap(map, total);	/* nothing was written yet: no wipe needed */
	return r;
}

int qkd_keymem_free(struct qkd_keymem *m)
{
	int r = 0;

	if (!m || !m->map)
		return 0;
	qkd_wipe(m->base, m->size);
	if (munlock(m->base, m->size))
		r = -errno;
	if (munmap(m->map, m->map_size) && !r)
		r = -errno;
	memset(m, 0, sizeof(*m));
	return r;
}
