// SPDX-License-Identifier: GPL-2.0
/*
 * Memory for key material (DESIGN.md §4): whole pages of an anonymous
 * private mapping, locked in RAM (mlock: never written to swap), left out of
 * core dumps (MADV_DONTDUMP), zero in a child after fork (MADV_WIPEONFORK),
 * and fenced by one inaccessible guard page on each side, so that a linear
 * overrun faults instead of reading or writing neighbouring memory.
 *
 * The key source (keysrc.h) takes its io_uring registered buffers from here.
 * Locked memory counts against RLIMIT_MEMLOCK (8 MiB by default on Debian
 * 12; systemd: LimitMEMLOCK=) unless the process has CAP_IPC_LOCK; so do
 * io_uring registered buffers, separately.
 *
 * Wiping: qkd_wipe() is explicit_bzero(), which the compiler may not elide.
 * qkd_keymem_free() wipes the whole region before unlocking and unmapping.
 */
#ifndef QKD_AGENT_KEYMEM_H
#define QKD_AGENT_KEYMEM_H

#include <stdbool.h>
#include <stddef.h>

struct qkd_keymem {
	void *base;		/* first usable byte, page aligned; NULL: none */
	size_t size;		/* usable bytes, a multiple of the page size */
	void *map;		/* the whole mapping, guard pages included */
	size_t map_size;
};

/*
 * Maps at least size bytes (rounded up to whole pages), zero-filled and
 * locked. Returns 0, or a negative errno with *m left empty:
 *   -EINVAL   size is 0 or absurdly large
 *   -ENOMEM   no memory, or RLIMIT_MEMLOCK too small for the mlock
 *   -EPERM    mlock not allowed
 *   other     from mmap(2), madvise(2), mprotect(2)
 * MADV_WIPEONFORK is best effort (it needs Linux 4.14); the others are not.
 */
int qkd_keymem_alloc(struct qkd_keymem *m, size_t size);

/*
 * Wipes, unlocks and unmaps the region; *m becomes empty. NULL/empty: no-op.
 * The bytes are wiped whatever happens; returns 0, or the first negative
 * errno of munlock(2)/munmap(2) (the region may then stay locked or mapped).
 */
int qkd_keymem_free(struct qkd_keymem *m);

/* Overwrites n bytes with zeros in a way the compiler must keep. */
void qkd_wipe(void *p, size_t n);

/* True when all n bytes are zero (constant time in n; for checks and tests). */
bool qkd_is_zero(const void *p, size_t n);

/* The system page size (sysconf(_SC_PAGESIZE), cached). */
size_t qkd_page_size(void);

#endif /* QKD_AGENT_KEYMEM_H */
