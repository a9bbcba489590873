/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nl_fuzz_test: the random message generator (nl_fuzz_gen.c) and what the
 * test (nl_fuzz_test.c) shares with it; kcov_fuzz_test uses both too.
 */
#ifndef QKD_NL_FUZZ_H
#define QKD_NL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include "qkd_nl_util.h"

#define BATCH_BYTES	(128 * 1024)
#define MSG_MAX		(40 * 1024)	/* largest message gen_msg() writes */

/* link names the messages use most, so SET/DEL/KEY_PUSH hit real links */
extern const char *const names[];
#define NNAMES 9

struct fz {
	uint16_t family;
	uint32_t ids[32];	/* link ids seen, for LINK_ID selectors */
	int nids;
	uint64_t next[NNAMES][2];
	unsigned char data[32769];
	volatile int stop;
};

/* seeds the generator's PRNG for the calling thread */
void nlf_seed(uint64_t seed);
/* writes one random message at @buf; returns its length on the wire */
size_t gen_msg(struct fz *f, char *buf, uint32_t seq);
/* a LINK_ID or LINK_NAME selector of a fuzz link */
void put_sel(struct fz *f, struct nlmsghdr *nlh);
/*
 * Health: the family answers a dump (into @all, at most @max links) and
 * every link's counters balance; the links' ids become @f's LINK_ID
 * selectors. 0, -EUCLEAN for unbalanced counters, or the dump's -errno.
 */
int fz_healthy(struct qnl *q, struct qnl_link *all, int max, struct fz *f);

#endif
