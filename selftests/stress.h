/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared state of the qkdkey stress test: stress_test.c runs the key
 * paths (TX/RX readers, the KEY_PUSH writer) and the final checks,
 * stress_ctl.c the control plane (link churn, QBER toggling, qkd_sim
 * reloads, dumps, the monitor, open/close).
 */
#ifndef QKD_STRESS_H
#define QKD_STRESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "qkd_test_util.h"
#include "qkd_nl_util.h"

/* The sim pair under test (recreated after every qkd_sim reload) */
#define ST_A		"st0a"
#define ST_B		"st0b"
/* The user link fed by KEY_PUSH */
#define ST_USER		"stu"
#define ST_SIM_RATE	(1U << 20)
#define ST_USER_POOL	65536

/* Link ids grow with every link created; tallies cover the first ones. */
#define ST_MAX_ID	65536

extern volatile int st_stop;

/*
 * What the test counts. Failures are counted per invariant; progress
 * counters show each activity really ran.
 */
enum st_count {
	/* invariant violations */
	SC_BAD_ERRNO, SC_RX_MISMATCH, SC_RX_TWICE, SC_USER_MISMATCH,
	SC_COUNTERS, SC_SETUP,
	/* progress */
	SC_TX_READS, SC_RX_MATCHES, SC_RX_SKIPPED, SC_USER_PUSHES,
	SC_USER_READS, SC_CHURN, SC_ALARMS, SC_RELOADS, SC_DUMPS,
	SC_NTFS, SC_OPENS, SC_ENODEV, SC_MAX
};

extern long st_count[SC_MAX];
extern const char *const st_count_name[SC_MAX];

static inline void st_inc(enum st_count c, long n)
{
	__atomic_add_fetch(&st_count[c], n, __ATOMIC_RELAXED);
}

/* Counts @c as a violation and logs it ("# ..."), the first few only. */
void st_fail(enum st_count c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An errno outside @ok (a 0-terminated list of negative errnos) fails. */
int st_expect(const char *what, int ret, const int *ok);

/* Bytes handed out per link id (TX from headers, RX from link info). */
extern uint64_t st_tx_bytes[ST_MAX_ID], st_rx_bytes[ST_MAX_ID];
void st_tally(uint64_t *tab, uint32_t id, uint64_t n);

/* Creates the sim pair ST_A/ST_B: 0, or -errno (-EOPNOTSUPP: no qkd_sim). */
int st_new_pair(struct qnl *q);
/* A pseudo-random number for this thread's choices. */
unsigned int st_rand(unsigned int *seed);
void st_msleep(int ms);

/* What TX readers handed out, for the no-overlap check. */
struct rec {
	uint64_t epoch, off;
	uint32_t id, len;
};

struct recs {
	struct rec *r;
	size_t n, cap;
};

void rec_add(struct recs *v, uint32_t id, uint64_t epoch, uint64_t off,
	     uint32_t len);

/* A reader thread's state. */
struct reader {
	pthread_t th;
	int end;		/* 0: ST_A's TX / ST_B's RX; 1: the reverse */
	int flags;		/* O_NONBLOCK or 0 */
	const char *name;	/* NULL: an unbound file (the default link) */
	struct recs recs;
	unsigned int seed;
};

/* poll() for POLLIN, at most @ms. */
void st_wait_readable(int fd, int ms);

/* stress_key.c: readers of the sim pair (struct reader *) */
void *st_tx_reader(void *arg);
void *st_rx_reader(void *arg);

/* stress_user.c: the user link's writer (no argument) and readers */
void *st_pusher(void *arg);
void *st_user_tx(void *arg);
void *st_user_rx(void *arg);

/* stress_ctl.c: control-plane threads, each takes no argument */
void *st_churn(void *arg);
void *st_toggle(void *arg);
void *st_reload(void *arg);
void *st_dump(void *arg);
void *st_monitor(void *arg);
void *st_opener(void *arg);
extern int st_reload_ms;

#endif
