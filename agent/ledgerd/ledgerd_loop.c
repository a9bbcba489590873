// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd's event loop: dispatch, group commit, acks, the timer and the
 * graceful stop. See ledgerd.h.
 *
 * Group commit: verified records are staged in the ledger's open
 * transaction. ledger_commit() makes them durable when the loop has
 * drained what it can process now (no session has a message waiting for
 * its RX key), or when ack_every frames are staged, or ack_ms after the
 * first of them, whichever comes first; a security event is committed at
 * the end of the turn that staged it. Only after a commit succeeded does a
 * session's durable seq move, and only then is an ack for it sealed (with
 * 16 fresh TX bytes): nothing is acked that a crash could lose. A failed
 * commit is fatal: no ack, exit status 1; the gateways resend from their
 * spools and the ledger drops the duplicates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "ledgerd.h"

uint64_t ld_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct io_uring_sqe *ld_sqe(struct ledgerd *d)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
	int r;

	if (sqe)
		return sqe;
	r = io_uring_submit(&d->ring);
	if (r < 0)
		ld_log(LOG_ERR, "io_uring_submit: %s", strerror(-r));
	sqe = io_uring_get_sqe(&d->ring);
	if (!sqe)
		ld_fatal(d, "no io_uring submission entry", -EBUSY);
	return sqe;
}

void ld_fatal(struct ledgerd *d, const char *what, int err)
{
	ld_log(LOG_ERR, "fatal: %s: %s", what, strerror(err < 0 ? -err : err));
	d->exit_code = 1;
	d->quit = true;
}

void ld_arm_accept(struct ledgerd *d)
{
	struct io_uring_sqe *sqe;

	if (d->accept_armed || d->stopping || d->lfd < 0)
		return;
	sqe = ld_sqe(d);
	if (!sqe)
		return;
	d->acc_len = sizeof(d->acc_addr);
	io_uring_prep_accept(sqe, d->lfd, (struct sockaddr *)&d->acc_addr,
			     &d->acc_len, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(LD_TAG_ACCEPT, 0));
	d->accept_armed = true;
}

static void arm_signal(struct ledgerd *d)
{
	struct io_uring_sqe *sqe;

	if (d->sig_armed || d->sigfd < 0)
		return;
	sqe = ld_sqe(d);
	if (!sqe)
		return;
	io_uring_prep_read(sqe, d->sigfd, &d->si, sizeof(d->si), 0);
	io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(LD_TAG_SIGNAL, 0));
	d->sig_armed = true;
}

static void on_accept(struct ledgerd *d, int res)
{
	d->accept_armed = false;
	if (res >= 0) {
		ld_sess_new(d, res);
		return;
	}
	if (res == -ECANCELED)
		return;
	/* ECONNABORTED, EMFILE...: log and try again at the next turn */
	ld_log(res == -ECONNABORTED ? LOG_DEBUG : LOG_WARNING, "accept: %s",
	       strerror(-res));
	if (res == -EMFILE || res == -ENFILE || res == -ENOMEM)
		usleep(100000);	/* do not spin while out of descriptors */
}

static void on_signal(struct ledgerd *d, int res)
{
	d->sig_armed = false;
	if (res == (int)sizeof(d->si)) {
		if (!d->stopping)
			ld_log(LOG_INFO, "signal %u: stopping", d->si.ssi_signo);
		d->stopping = true;
	} else if (res < 0 && res != -EINTR && res != -EAGAIN) {
		ld_fatal(d, "signalfd", res);
	}
}

void ld_dispatch(struct ledgerd *d, const struct io_uring_cqe *cqe)
{
	uint8_t tag = QKD_UD_TAG(cqe->user_data);

	if (tag >= LD_TAG_KEY_TX && tag - LD_TAG_KEY_TX < (int)d->ngw) {
		ld_proto_key_tx(d, &d->gw[tag - LD_TAG_KEY_TX], cqe);
		return;
	}
	if (tag >= LD_TAG_KEY_RX && tag - LD_TAG_KEY_RX < (int)d->ngw) {
		ld_proto_key_rx(d, &d->gw[tag - LD_TAG_KEY_RX], cqe);
		return;
	}
	switch (tag) {
	case LD_TAG_ACCEPT:
		on_accept(d, cqe->res);
		break;
	case LD_TAG_SIGNAL:
		on_signal(d, cqe->res);
		break;
	case LD_TAG_TIMER:
		d->timer_at = 0;
		break;
	case LD_TAG_RECV:
	case LD_TAG_SEND:
		ld_sess_cqe(d, cqe, tag == LD_TAG_SEND);
		break;
	default:
		break;
	}
}

int ld_commit(struct ledgerd *d)
{
	char err[256];
	int r;

	if (!d->staged && !d->commit_now)
		return 0;
	r = ledger_commit(d->l, err, sizeof(err));
	if (r < 0) {
		ld_log(LOG_ERR, "ledger commit: %s", err);
		ld_fatal(d, "ledger commit failed, nothing acked", r);
		return r;
	}
	d->st.commits++;
	d->staged = 0;
	d->commit_now = false;
	/* Everything verified so far is durable now: it may be acked. */
	for (unsigned int i = 0; i < LD_SESS_MAX; i++) {
		struct ld_session *s = d->sess[i];

		if (s && !s->closing && s->state == LS_OPEN) {
			s->committed = s->seq;
			ld_proto_want_ack(s);
		}
	}
	return 0;
}

/* Whether a session has a message waiting for its key read (busy), or
 * for its key to be delivered (parked: that may take long, so it does not
 * hold the commit back). */
static bool waiting(const struct ledgerd *d, bool parked)
{
	for (unsigned int i = 0; i < LD_SESS_MAX; i++)
		if (d->sess[i] && !d->sess[i]->closing &&
		    (parked ? d->sess[i]->key_park : d->sess[i]->key_wait))
			return true;
	return false;
}

static void maybe_commit(struct ledgerd *d, uint64_t now)
{
	if (d->commit_now || (d->staged &&
	    (d->staged >= d->cfg->ack_every || !waiting(d, false) ||
	     now >= d->staged_at + d->cfg->ack_ms)))
		ld_commit(d);
}

static void sign_due(struct ledgerd *d)
{
	char err[256];
	int r;

	if (ledger_sth_due_ms(d->l) != 0)
		return;
	r = ledger_sign_now(d->l, err, sizeof(err));
	if (r < 0) {
		ld_log(LOG_ERR, "signing a tree head: %s", err);
		if (r == -EIO)
			ld_fatal(d, "ledger", r);
	}
}

/* One IORING_OP_TIMEOUT at the earliest deadline, moved earlier with a
 * timeout update; one that fires early only wakes the loop. */
static void timer_arm(struct ledgerd *d, uint64_t at)
{
	struct io_uring_sqe *sqe;

	if (!at || (d->timer_at && d->timer_at <= at))
		return;
	sqe = ld_sqe(d);
	if (!sqe)
		return;
	d->timer_ts.tv_sec = (long long)(at / 1000);
	d->timer_ts.tv_nsec = (long long)(at % 1000) * 1000000;
	if (d->timer_at) {
		io_uring_prep_timeout_update(sqe, &d->timer_ts,
					     QKD_UD_MAKE(LD_TAG_TIMER, 0),
					     IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(LD_TAG_IGNORE, 1));
	} else {
		io_uring_prep_timeout(sqe, &d->timer_ts, 0, IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, QKD_UD_MAKE(LD_TAG_TIMER, 0));
	}
	d->timer_at = at;
}

static uint64_t min_dl(uint64_t x, uint64_t y)
{
	return !x ? y : !y ? x : x < y ? x : y;
}

static uint64_t deadline(struct ledgerd *d, uint64_t now)
{
	uint64_t dl = min_dl(d->status_at, d->watchdog_at);
	int sth = ledger_sth_due_ms(d->l);

	if (d->staged)
		dl = min_dl(dl, d->staged_at + d->cfg->ack_ms);
	if (waiting(d, true))
		dl = min_dl(dl, now + LD_PARK_POLL_MS);
	if (sth >= 0)
		dl = min_dl(dl, now + (uint64_t)sth);
	return dl > now ? dl : now + 1;
}

static void timers(struct ledgerd *d, uint64_t now)
{
	if (now >= d->status_at) {
		d->status_at = now + 1000;
		ld_status_update(d);
	}
	if (d->watchdog_ms && now >= d->watchdog_at) {
		d->watchdog_at = now + d->watchdog_ms;
		ld_notify("WATCHDOG=1");
	}
}

static void kick_keys(struct ledgerd *d)
{
	for (unsigned int i = 0; i < d->ngw; i++) {
		int r = qkd_keysrc_kick(d->gw[i].krx);

		if (r)
			ld_log(LOG_WARNING, "link %s: RX key source: %s",
			       d->gw[i].cfg->link, strerror(-r));
		r = qkd_keysrc_kick(d->gw[i].ktx);
		if (r)
			ld_log(LOG_WARNING, "link %s: TX key source: %s",
			       d->gw[i].cfg->link, strerror(-r));
	}
}

/* Graceful stop: commit what was verified, end the sessions, leave. The
 * key reads still in flight are cancelled by ld_close(). */
static void stop(struct ledgerd *d)
{
	ld_notify("STOPPING=1");
	if (!d->quit)
		ld_commit(d);
	for (unsigned int i = 0; i < LD_SESS_MAX; i++)
		if (d->sess[i])
			ld_sess_close(d->sess[i], "stopping");
	if (!d->quit)
		sign_due(d);
	d->quit = true;
}

int ld_run(struct ledgerd *d)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n;
	uint64_t now;
	int r;

	while (!d->quit) {
		now = ld_now_ms();
		maybe_commit(d, now);
		sign_due(d);
		timers(d, now);
		if (d->stopping) {
			stop(d);
			break;
		}
		if (d->quit)
			break;
		for (unsigned int i = 0; i < LD_SESS_MAX; i++) {
			struct ld_session *s = d->sess[i];

			if (s && s->state == LS_HELLO && !s->key_wait &&
			    now >= s->born + LD_HELLO_TIMEOUT_MS)
				ld_sess_close(s, "no HELLO in time");
			if (s)
				ld_rx_park_check(s);
			if (s)
				ld_proto_want_ack(s);
			if (d->sess[i])
				ld_sess_pump(d->sess[i]);
		}
		ld_arm_accept(d);
		arm_signal(d);
		kick_keys(d);
		timer_arm(d, deadline(d, now));

		r = io_uring_submit_and_wait(&d->ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			ld_fatal(d, "io_uring_submit_and_wait", r);
			break;
		}
		n = 0;
		io_uring_for_each_cqe(&d->ring, head, cqe) {
			ld_dispatch(d, cqe);
			n++;
		}
		io_uring_cq_advance(&d->ring, n);
	}
	return d->exit_code;
}
