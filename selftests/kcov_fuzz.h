/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcov_fuzz_test: the programs it runs and mutates. A program is a byte
 * string of records, each one call:
 *
 *	[kind u8][len u16, little endian][len bytes of payload]
 *
 * so that any byte string is a program (a record that runs past the end is
 * cut short) and byte-level mutations stay meaningful. The kinds, in the
 * low three bits of the kind byte (modulo NKINDS), and their payloads:
 *
 *  K_NL     netlink datagram sent as is on the fuzzing socket, then every
 *           reply read (which also runs the rest of a dump, in this task).
 *           Kind bits K_FIX_*: patch nlmsg_type of each message to the
 *           family id (it changes with every module load), nlmsg_len of the
 *           first to the payload length, nlmsg_seq to a counter.
 *  K_IOCTL  [slot][sel][cmd u32][argument bytes]: sel % 8 picks BIND (0-2),
 *           LINK_INFO (3-5), _IOC(cmd[0] & 3, QKDKEY_IOC_MAGIC, cmd[1],
 *           size cmd[2..3]) (6), or cmd itself (7; commands the VFS handles,
 *           such as FIONBIO, become QKDKEY_IOC_LINK_INFO). The argument is
 *           always a zeroed buffer holding the argument bytes.
 *  K_READ   [slot][mode][len u32][offset u64]: mode % 3 is read, pread or
 *           poll.
 *  K_OPEN   [slot][flags]: close the slot's file, open a new one
 *           (O_NONBLOCK | flags & O_ACCMODE).
 *  K_CLOSE  [slot]: close the slot's file.
 *  K_SYSFS  [file][link][mode][bytes]: read a sysfs file, or (mode & 1)
 *           write the bytes (64 at most) to it: file % NSYSFS picks one of
 *           a link's attributes (of link names[link % NNAMES]) or a global
 *           one: default_link, qkd_sim's qber, eve, rekey (not rate: a
 *           flood of key for every pair is no test of the code).
 *
 * A slot (payload byte % NSLOT) without a file opens one, O_NONBLOCK, on
 * first use; every file is closed when the program ends. The fuzzing socket
 * listens to the monitor group, so requests build their notifications.
 */
#ifndef QKD_KCOV_FUZZ_H
#define QKD_KCOV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include "qkd_nl_util.h"
#include "nl_fuzz.h"

#define PROG_MAX	65536		/* bytes in a program */
#define REC_HDR		3
#define REC_MAX		16		/* calls a program runs at most */
#define NSLOT		4
#define IOC_HDR		6		/* K_IOCTL: slot, sel, cmd */

enum kf_kind { K_NL, K_IOCTL, K_READ, K_OPEN, K_CLOSE, K_SYSFS, NKINDS };
/* K_SYSFS files the seeds name (the table is in kcov_fuzz_prog.c) */
enum {
	SYS_STATE, SYS_THRESHOLD, SYS_TX_AVAIL, NSYS_LINK = 18,
	SYS_DEFAULT = NSYS_LINK, SYS_QBER, SYS_EVE, SYS_REKEY, NSYSFS
};
#define K_FIX_TYPE	0x10
#define K_FIX_LEN	0x20
#define K_FIX_SEQ	0x40
#define K_FIX_ALL	(K_FIX_TYPE | K_FIX_LEN | K_FIX_SEQ)

/* the executor's state: the fuzzing socket, files, buffers */
struct kf {
	struct qnl q;		/* fuzzing socket (and request builder) */
	int nl;
	uint32_t seq;
	int fd[NSLOT];
	struct fz *gen;		/* gen_msg()'s state */
	unsigned char *sbuf, *rbuf, *arg, *tmp;
	long calls[NKINDS];
	/* called after each call, and after the closes at the end */
	void (*after_call)(void *arg);
	void *after_arg;
};

/* a record in a program: where its header is, how long its payload */
struct rec {
	size_t off, len;
};

/* kcov_fuzz_prog.c */
int kf_init(struct kf *k, struct fz *gen);
void kf_fini(struct kf *k);
/* runs a program; closes its files; calls k->after_call (if set) */
void kf_run(struct kf *k, const unsigned char *p, size_t n);
/* the records of a program, at most @max; returns how many */
int rec_parse(const unsigned char *p, size_t n, struct rec *r, int max);
/* appends a record; returns the new length (@n unchanged if it won't fit) */
size_t rec_put(unsigned char *p, size_t n, int kind, const void *pl, size_t plen);
/* a record for one gen_msg() message, appended to @p */
size_t rec_gen_msg(struct kf *k, unsigned char *p, size_t n);
/* kcov_fuzz_seed.c */
/* built-in seed program @i into @p: its length; 0 past the last one */
size_t kf_seed(struct kf *k, int i, unsigned char *p);

/* kcov_fuzz_mut.c */
void kf_mut_seed(uint64_t seed);
/* mutates @p (@n bytes, room for PROG_MAX) using @o as a donor; new length */
size_t kf_mutate(struct kf *k, unsigned char *p, size_t n,
		 const unsigned char *o, size_t on);

/* kcov_fuzz_cov.c: what KCOV saw */
#define COVER_SIZE	(64 << 10)	/* PCs one program may record */
#define MAP_BITS	16		/* edge map */
#define SET_BITS	17		/* set of distinct PCs */

struct cov {
	int fd;
	unsigned long *area;
	long new;		/* PCs and edges the running program added */
	long npcs, nedges;
	uint64_t pcs[1 << SET_BITS];
	unsigned char edge[1 << MAP_BITS];
};

/* KCOV on for this thread: 0, or -errno with the reason in @why */
int cov_start(struct cov *c, char *why, size_t wl);
/*
 * Runs a program; returns how many new PCs and edges it reached. Edges
 * are taken within each call: what one call reached is not an edge of
 * what the next one did.
 */
long cov_exec(struct cov *c, struct kf *k, const unsigned char *p, size_t n);
/*
 * Distinct PCs inside qkdkey.ko and qkd_sim.ko (-1 if the kernel hides
 * module addresses), written to @dump (if not NULL) as "module+0xoffset"
 * into the module's .text. KCOV takes the KASLR offset off every PC; the
 * debug kernel has no KASLR, so these are the modules' addresses.
 */
long cov_in_modules(const struct cov *c, const char *dump);

#endif
