/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dev_fuzz_test: the random calls on /dev/qkdkey (dev_fuzz_ops.c) and what
 * each call may answer. The test itself (links, churn, checks) is
 * dev_fuzz_test.c.
 */
#ifndef QKD_DEV_FUZZ_H
#define QKD_DEV_FUZZ_H

#include <errno.h>
#include <stdint.h>
#include "qkd_test_util.h"

#define NFD	16
#define BUFSZ	(QKD_HDR + QKDKEY_READ_MAX + 4096)

enum op { OP_IOC_OTHER, OP_IOC_MAGIC, OP_BIND, OP_INFO, OP_READ, OP_PREAD,
	  OP_READV, OP_PREADV2, OP_POLL, OP_WRITE, OP_LSEEK, OP_MMAP, OP_OPEN,
	  OP_BLOCKING, NOPS };
extern const char *const op_name[NOPS];

/* errno -> bit; the three errnos above 63 get 60..62, anything else 63 */
#define EB(x)	((x) == ENOKEY ? 60 : (x) == ESTALE ? 61 : (x) == EOPNOTSUPP ? 62 : \
		 (x) < 60 ? (x) : 63)
#define E(x)	(1ULL << EB(x))
/* the errnos each call may fail with (Documentation/qkdkey.rst) */
extern const uint64_t allowed[NOPS];

/* names the files bind to and the churn thread creates and deletes */
extern const char *const names[];
#define NNAMES	5
#define NUSER	3	/* d0..d2 are user links; s0/s1 a sim pair */

struct dz {
	int fd[NFD], fl[NFD];
	unsigned char *buf, *ro, *hole;	/* rw area, a read-only page, PROT_NONE */
	long page;
	long ops, n[NOPS], ok[NOPS], bad, errs[NOPS][128];
	volatile int stop;
	long churn, reloads;
	uint64_t uepoch[NUSER], uoff[NUSER][2];
	unsigned char key[4096];
};

/* seeds the calls' PRNG (this thread's, in dev_fuzz_ops.c) */
void dz_seed(uint64_t seed);
/* closes file @i and opens it again with random flags, maybe bound */
void dz_reopen(struct dz *z, int i);
/* one random call on a random file; counts it; returns 0 or -errno */
int dz_one_op(struct dz *z);

#endif
