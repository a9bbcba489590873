// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-agent's event loop: setup, the io_uring loop, polls, the timer and
 * the graceful stop. See agent_loop.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <linux/qkdkey.h>

#include "agent_loop.h"
#include "forwarder.h"
#include "frame.h"
#include "ingest_mqtt.h"
#include "ingest_unix.h"


uint64_t ag_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct io_uring_sqe *ag_sqe(struct agent *a)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&a->ring);
	int r;

	if (sqe)
		return sqe;
	r = io_uring_submit(&a->ring);
	if (r < 0)
		ag_log(LOG_ERR, "io_uring_submit: %s", strerror(-r));
	sqe = io_uring_get_sqe(&a->ring);
	if (!sqe)
		ag_fatal(a, "no io_uring submission entry", -EBUSY);
	return sqe;
}

void ag_fatal(struct agent *a, const char *what, int err)
{
	ag_log(LOG_ERR, "fatal: %s: %s", what, strerror(err < 0 ? -err : err));
	a->exit_code = 1;
	a->quit = true;
}

static uint64_t poll_ud(enum ag_poll_id id, uint32_t gen)
{
	return QKD_UD_MAKE(AG_TAG_POLL, (uint64_t)id << 32 | gen);
}

/* Arms (or re-arms, or removes) one single-shot poll. */
static void poll_set(struct agent *a, enum ag_poll_id id, int fd,
		     uint64_t fd_gen, unsigned int events)
{
	struct ag_poll *p = &a->poll[id];
	struct io_uring_sqe *sqe;

	if (p->fd == fd && p->fd_gen == fd_gen && p->events == events)
		return;
	if (p->fd >= 0) {
		sqe = ag_sqe(a);
		if (!sqe)
			return;
		io_uring_prep_poll_remove(sqe, poll_ud(id, p->gen));
		io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(AG_TAG_IGNORE, 0));
		p->gen++;
		p->fd = -1;
	}
	if (fd < 0 || (!events && id != AG_POLL_TCP))
		return;
	sqe = ag_sqe(a);
	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, fd, events);
	io_uring_sqe_set_data64(sqe, poll_ud(id, p->gen));
	p->fd = fd;
	p->fd_gen = fd_gen;
	p->events = events;
}

static uint64_t mqtt_gen(const struct agent *a)
{
	struct ingest_mqtt_stats st;

	ingest_mqtt_get_stats(a->im, &st);
	return st.connects + st.disconnects + st.connect_errors;
}

static void polls_update(struct agent *a)
{
	unsigned int ev;
	uint64_t gen;
	int fd;

	poll_set(a, AG_POLL_SIGNAL, a->sigfd, 0, POLLIN);
	if (a->statsfd >= 0)
		poll_set(a, AG_POLL_STATS, a->statsfd, 0, POLLIN);
	if (a->iu)
		poll_set(a, AG_POLL_UNIX, ingest_unix_fd(a->iu), 0,
			 !a->stopping && ingest_unix_want_read(a->iu) ? POLLIN : 0);
	if (a->im) {
		ev = a->stopping ? 0 : POLLIN;
		if (ingest_mqtt_want_write(a->im))
			ev |= POLLOUT;
		fd = ingest_mqtt_fd(a->im);
		gen = mqtt_gen(a);
		/* A new connection (or none): the library wants a tick. */
		if (fd != a->mqtt_fd || gen != a->mqtt_fd_gen)
			a->mqtt_at = ag_now_ms();
		a->mqtt_fd = fd;
		a->mqtt_fd_gen = gen;
		poll_set(a, AG_POLL_MQTT, fd, gen, ev);
	}
	fd = fwd_poll_want(a->fwd, &ev, &gen);
	poll_set(a, AG_POLL_TCP, fd, gen, ev);
}

static void on_signal(struct agent *a)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(a->sigfd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		if (!a->stopping)
			ag_log(LOG_INFO, "signal %u: stopping", si.ssi_signo);
		a->stopping = true;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		ag_fatal(a, "signalfd", -errno);
}

static void poll_cqe(struct agent *a, uint64_t ud, int res)
{
	enum ag_poll_id id = (enum ag_poll_id)((ud & QKD_UD_LOW_MASK) >> 32);
	struct ag_poll *p;
	unsigned int rev;

	if (id >= AG_POLL_NR)
		return;
	p = &a->poll[id];
	if ((uint32_t)ud != p->gen || p->fd < 0)
		return;	/* removed or re-armed since */
	p->fd = -1;
	p->gen++;
	if (res < 0)
		return;	/* re-armed at the next turn */
	rev = (unsigned int)res;
	switch (id) {
	case AG_POLL_SIGNAL:
		on_signal(a);
		break;
	case AG_POLL_UNIX: {
		int r = ingest_unix_on_readable(a->iu);

		if (r < 0)
			ag_log(LOG_ERR, "ingest socket: %s", strerror(-r));
		break;
	}
	case AG_POLL_MQTT:
		if (rev & POLLOUT)
			ingest_mqtt_on_writable(a->im);
		if (rev & (POLLIN | POLLERR | POLLHUP))
			ingest_mqtt_on_readable(a->im);
		break;
	case AG_POLL_STATS:
		ag_stats_accept(a);
		break;
	case AG_POLL_TCP:
		fwd_on_poll(a->fwd, rev);
		break;
	default:
		break;
	}
}

void ag_dispatch(struct agent *a, const struct io_uring_cqe *cqe)
{
	switch (QKD_UD_TAG(cqe->user_data)) {
	case AG_TAG_KEY_TX:
		if (a->fwd)
			fwd_on_key_tx(a->fwd, cqe);
		break;
	case AG_TAG_KEY_RX:
		if (a->fwd)
			fwd_on_key_rx(a->fwd, cqe);
		break;
	case AG_TAG_POLL:
		poll_cqe(a, cqe->user_data, cqe->res);
		break;
	case AG_TAG_TIMER:
		a->timer_at = 0;
		break;
	case AG_TAG_SPOOL:
		ag_commit_cqe(a, cqe);
		break;
	default:
		break;
	}
}

/* One IORING_OP_TIMEOUT at the earliest deadline, moved earlier by an
 * update; a timer that fires early just wakes the loop. */
static void timer_arm(struct agent *a, uint64_t at)
{
	struct io_uring_sqe *sqe;

	if (!at || (a->timer_at && a->timer_at <= at))
		return;
	sqe = ag_sqe(a);
	if (!sqe)
		return;
	a->timer_ts.tv_sec = (long long)(at / 1000);
	a->timer_ts.tv_nsec = (long long)(at % 1000) * 1000000;
	if (a->timer_at) {
		io_uring_prep_timeout_update(sqe, &a->timer_ts,
					     QKD_UD_MAKE(AG_TAG_TIMER, 0),
					     IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(AG_TAG_IGNORE, 1));
	} else {
		io_uring_prep_timeout(sqe, &a->timer_ts, 0, IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(AG_TAG_TIMER, 0));
	}
	a->timer_at = at;
}

static uint64_t min_dl(uint64_t x, uint64_t y)
{
	return !x ? y : !y ? x : x < y ? x : y;
}

/* When the next commit may start; 0: none due. */
static uint64_t commit_deadline(const struct agent *a)
{
	const struct ag_commit *c = &a->commit;

	if (c->busy || !c->due_ms)
		return 0;
	return c->due_ms > c->retry_ms ? c->due_ms : c->retry_ms;
}

void ag_link_state_check(struct agent *a)
{
	struct qkdkey_link_info li;
	int r = qkd_keysrc_link_info(a->ktx, &li);

	if (r) {
		ag_log(LOG_WARNING, "link %s: info: %s", a->cfg->link.name,
		       strerror(-r));
		return;
	}
	if (li.state != a->link_state) {
		ag_log(li.state == QKDKEY_LINK_UP ? LOG_NOTICE : LOG_WARNING,
		       "link %s: %s%s", a->cfg->link.name,
		       ag_link_state_name(li.state),
		       li.state == QKDKEY_LINK_UP ? "" :
		       ": no key, records wait in the spool");
		a->link_state = li.state;
	}
}

static void timers(struct agent *a, uint64_t now)
{
	if (a->im && now >= a->mqtt_at && !a->stopping)
		a->mqtt_at = now + (uint64_t)ingest_mqtt_tick(a->im);
	if (now >= a->tick_at) {
		a->tick_at = now + 1000;
		ag_link_state_check(a);
		ag_status_update(a);
	}
	if (a->watchdog_ms && now >= a->watchdog_at) {
		a->watchdog_at = now + a->watchdog_ms;
		ag_notify("WATCHDOG=1");
	}
}

/* The key sources prepare the SQEs for what was asked this turn. */
static void kick_keys(struct agent *a)
{
	int r = qkd_keysrc_kick(a->ktx);

	if (r)
		ag_log(LOG_WARNING, "TX key source: %s", strerror(-r));
	r = qkd_keysrc_kick(a->krx);
	if (r)
		ag_log(LOG_WARNING, "RX key source: %s", strerror(-r));
}

/* Graceful stop: no more records, commit what was taken, end the
 * session, cancel the key reads, then leave. */
static void stop_step(struct agent *a, uint64_t now, uint64_t *stop_at)
{
	int r;

	if (!*stop_at) {
		*stop_at = now + AG_STOP_DRAIN_MS;
		ag_notify("STOPPING=1");
		fwd_stop(a->fwd);
	}
	if (!a->commit.busy && !a->quit) {
		r = ag_commit_now(a);
		if (r && r != -EBUSY)
			ag_log(LOG_ERR, "final commit: %s", strerror(-r));
		if (qkd_keysrc_cancel(a->ktx) < 0 || qkd_keysrc_cancel(a->krx) < 0)
			ag_log(LOG_WARNING, "cancelling key reads failed");
		if (!qkd_keysrc_inflight(a->ktx) && !qkd_keysrc_inflight(a->krx) &&
		    !qkd_keysrc_pending(a->ktx) && !qkd_keysrc_pending(a->krx))
			a->quit = true;
	}
	if (now >= *stop_at) {
		ag_log(LOG_WARNING, "stop: gave up waiting for I/O in flight");
		a->quit = true;
	}
}

int ag_run(struct agent *a)
{
	struct io_uring_cqe *cqe;
	uint64_t now, dl, stop_at = 0;
	unsigned int head, n;
	int r;

	while (!a->quit) {
		now = ag_now_ms();
		timers(a, now);
		fwd_pump(a->fwd, now);
		ag_commit_start(a, now);
		if (a->stopping)
			stop_step(a, now, &stop_at);
		if (a->quit)
			break;
		kick_keys(a);
		polls_update(a);
		dl = min_dl(a->tick_at, a->watchdog_at);
		if (a->im && !a->stopping)
			dl = min_dl(dl, a->mqtt_at);
		dl = min_dl(dl, fwd_deadline(a->fwd));
		dl = min_dl(dl, commit_deadline(a));
		dl = min_dl(dl, stop_at);
		timer_arm(a, dl > now ? dl : now + 1);

		r = io_uring_submit_and_wait(&a->ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			ag_fatal(a, "io_uring_submit_and_wait", r);
			break;
		}
		n = 0;
		io_uring_for_each_cqe(&a->ring, head, cqe) {
			ag_dispatch(a, cqe);
			n++;
		}
		io_uring_cq_advance(&a->ring, n);
	}
	return a->exit_code;
}

