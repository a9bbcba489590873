// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop of qkd-agent, the gateway role (DESIGN.md §4): one
 * io_uring per daemon drives everything.
 *
 *   key reads     TX reads of exact sizes and RX reads by offset (keysrc.h)
 *   spool         group commit: a writev linked to fdatasync (and to the
 *                 directory's fsync when a segment is created), started
 *                 commit_interval after the first record queued for it
 *   sockets       IORING_OP_POLL_ADD on the Unix ingest socket, the MQTT
 *                 broker socket, the TCP socket to the ledger, the stats
 *                 socket and a signalfd; the I/O itself is non-blocking
 *   timers        one IORING_OP_TIMEOUT (absolute, CLOCK_MONOTONIC) set to
 *                 the earliest deadline, moved with a timeout update
 *
 * Every SQE's user_data carries an owner tag in bits 63..56 (QKD_UD_MAKE):
 * the loop hands each CQE to its owner.
 *
 * Files: agent_loop.c (loop, polls, timer, stop), agent_setup.c (open,
 * close), agent_commit.c (ingest
 * hand-off and group commit), agent_stats.c (stats socket, sd_notify
 * STATUS, logging), forwarder*.c (the ledger session).
 */
#ifndef QKD_AGENT_LOOP_H
#define QKD_AGENT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <liburing.h>

#include "agent_config.h"
#include "keysrc.h"
#include "record.h"
#include "spool.h"

struct ingest_unix;
struct ingest_mqtt;
struct fwd;

/* Owner tags of user_data (bits 63..56). */
enum ag_tag {
	AG_TAG_KEY_TX = 1,	/* keysrc, TX stream: data and hello key */
	AG_TAG_KEY_RX = 2,	/* keysrc, RX stream: ack key by offset */
	AG_TAG_POLL = 3,	/* low bits: poll id << 32 | generation */
	AG_TAG_TIMER = 4,
	AG_TAG_SPOOL = 5,	/* low bits: stage of the commit chain */
	AG_TAG_IGNORE = 6,	/* poll removes, timeout updates */
};

enum ag_poll_id {
	AG_POLL_SIGNAL,
	AG_POLL_UNIX,
	AG_POLL_MQTT,
	AG_POLL_STATS,
	AG_POLL_TCP,
	AG_POLL_NR
};

/* One single-shot poll: re-armed by the loop while its owner wants it. */
struct ag_poll {
	int fd;			/* armed on this fd; -1: not armed */
	uint64_t fd_gen;	/* owner's generation of fd (numbers are reused) */
	unsigned int events;
	uint32_t gen;		/* CQEs of older generations are ignored */
};

struct ag_commit {
	bool busy;		/* a write chain is in flight */
	struct spool_io io;
	size_t done;		/* bytes of io written so far */
	struct iovec iov[2];	/* the rest of io, for the SQE in flight */
	unsigned int cqes;	/* CQEs still due for the chain */
	int res_write, res_sync, res_dsync;
	uint64_t due_ms;	/* start a commit at this time; 0: none due */
	uint64_t retry_ms;	/* after a failed write: not before this */
};

struct ag_counters {
	uint64_t too_big;	/* records refused: payload > max_payload */
	uint64_t commit_errors;
	uint64_t stats_requests;
};

struct agent {
	const struct agent_config *cfg;
	struct io_uring ring;
	bool ring_up;
	struct qkd_ring_info ring_info;
	struct spool *sp;
	struct qkd_keysrc *ktx, *krx;
	struct ingest_unix *iu;
	struct ingest_mqtt *im;
	struct fwd *fwd;
	int sigfd, statsfd;
	struct ag_poll poll[AG_POLL_NR];
	struct ag_commit commit;
	struct ag_counters cnt;
	struct __kernel_timespec timer_ts;
	uint64_t timer_at;	/* deadline of the armed timer; 0: none */
	uint64_t mqtt_at;	/* next ingest_mqtt_tick() */
	int mqtt_fd;		/* broker socket seen last turn */
	uint64_t mqtt_fd_gen;
	uint64_t tick_at;	/* next second tick: link state, STATUS */
	uint64_t watchdog_at;	/* next WATCHDOG=1; 0: no watchdog */
	uint64_t watchdog_ms;	/* interval: half of WatchdogSec */
	uint32_t link_state;	/* enum qkdkey_link_state, from the TX file */
	uint32_t max_payload;	/* max_payload, cut to what one key read holds */
	bool stopping;		/* SIGTERM/SIGINT seen */
	bool quit;		/* leave the loop */
	int exit_code;
	char status[256];	/* last STATUS= sent */
};

/*
 * Opens everything the configuration names (spool, ring, key sources,
 * sockets, MQTT); on failure logs why, closes what was opened and returns
 * a negative errno.
 */
int ag_open(struct agent *a, const struct agent_config *cfg);
/* Runs until SIGTERM/SIGINT (graceful stop) or a fatal error; returns the
 * exit status (0 or 1). */
int ag_run(struct agent *a);
void ag_close(struct agent *a);

/* For the daemon's parts. */
uint64_t ag_now_ms(void);
/* An SQE; submits queued ones first if the SQ is full. NULL: ring broken. */
struct io_uring_sqe *ag_sqe(struct agent *a);
/* A fatal error: logs, stops the loop with exit status 1. */
void ag_fatal(struct agent *a, const char *what, int err);
/* Hands one CQE to its owner. */
void ag_dispatch(struct agent *a, const struct io_uring_cqe *cqe);
/* Reads the link state from the TX file; logs changes. */
void ag_link_state_check(struct agent *a);
/* Milliseconds the loop waits at most for I/O in flight when stopping. */
#define AG_STOP_DRAIN_MS	3000

/* agent_commit.c */
int ag_submit_record(void *ctx, const struct qkd_record *rec, uint64_t *seq);
void ag_commit_start(struct agent *a, uint64_t now);
void ag_commit_cqe(struct agent *a, const struct io_uring_cqe *cqe);
/* Synchronous commit of whatever is queued (shutdown); 0 or -errno. */
int ag_commit_now(struct agent *a);

/* agent_stats.c */
void ag_set_log_level(int level);
void ag_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ag_log_cb(void *ctx, int prio, const char *msg);
int ag_stats_open(struct agent *a);
void ag_stats_accept(struct agent *a);
void ag_status_update(struct agent *a);
/* sd_notify(): READY=1, WATCHDOG=1, STOPPING=1 (no-op outside systemd). */
void ag_notify(const char *msg);
const char *ag_link_state_name(uint32_t state);

#endif /* QKD_AGENT_LOOP_H */
