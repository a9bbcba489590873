// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd: opening everything the configuration names (ledger, ring,
 * key sources, listening socket, signals) and closing it again, after
 * cancelling and draining the key reads in flight. See ledgerd.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "ledger.h"
#include "ledgerd.h"

#define RING_ENTRIES	256
#define RX_DEPTH	4	/* an old and a new session, one read each */
#define TX_DEPTH	4

static int open_signals(struct ledgerd *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	return d->sigfd < 0 ? -errno : 0;
}

static int open_listen(struct ledgerd *d)
{
	const struct ledgerd_config *c = d->cfg;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (void *)&ss;
	struct sockaddr_in6 *in6 = (void *)&ss;
	socklen_t len;
	int fd, one = 1, r;

	if (inet_pton(AF_INET, c->listen_addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(c->listen_port);
		len = sizeof(*in);
	} else if (inet_pton(AF_INET6, c->listen_addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(c->listen_port);
		len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16)) {
		r = -errno;
		close(fd);
		return r;
	}
	d->lfd = fd;
	return 0;
}

static int open_keys(struct ledgerd *d)
{
	struct qkd_ring_cfg rc = {
		.entries = RING_ENTRIES,
		.nr_files = 2 * d->ngw,
		.nr_bufs = (RX_DEPTH + TX_DEPTH) * d->ngw,
	};
	char desc[160];
	int r;

	r = qkd_ring_init(&d->ring, &rc, &d->ring_info);
	if (r) {
		ld_log(LOG_ERR, "io_uring: %s", strerror(-r));
		return r;
	}
	d->ring_up = true;
	if (!qkd_ring_describe(&d->ring_info, desc, sizeof(desc)))
		ld_log(LOG_INFO, "io_uring: %s", desc);
	for (unsigned int i = 0; i < d->ngw; i++) {
		struct ld_gw *g = &d->gw[i];
		struct qkd_keysrc_cfg kc = {
			.dev_path = d->cfg->device,
			.link = g->cfg->link,
			.dir = QKD_KEYSRC_RX,
			.depth = RX_DEPTH,
			.max_len = LD_RX_KEY_MAX,
			.tag = (uint8_t)(LD_TAG_KEY_RX + i),
			.file_slot = d->ring_info.nr_files ? (int)(2 * i) : -1,
			.buf_base = d->ring_info.nr_bufs ?
				    (int)((RX_DEPTH + TX_DEPTH) * i) : -1,
		};

		r = qkd_keysrc_open(&g->krx, &d->ring, &kc);
		if (!r) {
			kc.dir = QKD_KEYSRC_TX;
			kc.depth = TX_DEPTH;
			kc.max_len = QKD_HELLO_KEY_LEN;
			kc.tag = (uint8_t)(LD_TAG_KEY_TX + i);
			kc.file_slot = kc.file_slot < 0 ? -1 : kc.file_slot + 1;
			kc.buf_base = kc.buf_base < 0 ? -1 : kc.buf_base + RX_DEPTH;
			r = qkd_keysrc_open(&g->ktx, &d->ring, &kc);
		}
		if (r) {
			ld_log(LOG_ERR, "%s: link %s of gateway %s: %s", d->cfg->device,
			       g->cfg->link, g->cfg->name, strerror(-r));
			return r;
		}
		ld_log(LOG_INFO, "gateway %s: link %s (id %u, epoch %llu), HELLO name %s",
		       g->cfg->name, g->cfg->link, qkd_keysrc_link_id(g->krx),
		       (unsigned long long)qkd_keysrc_epoch(g->krx), g->cfg->peer_link);
	}
	return 0;
}

int ld_open(struct ledgerd *d, const struct ledgerd_config *cfg)
{
	struct ledger_opts lo = {
		.db_path = cfg->db,
		.key_path = cfg->key,
		.writer = true,
		.auto_register = cfg->auto_register,
		.sth_every = cfg->sth_every,
		.sth_ms = cfg->sth_ms,
	};
	uint64_t usec = 0;
	char err[256];
	int r;

	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->lfd = d->sigfd = -1;
	d->ngw = cfg->ngw;
	for (unsigned int i = 0; i < d->ngw; i++) {
		d->gw[i].cfg = &cfg->gw[i];
		d->gw[i].idx = i;
	}
	d->payload = malloc(QKD_PAYLOAD_MAX);
	if (!d->payload) {
		r = -ENOMEM;
		goto fail;
	}
	r = open_signals(d);
	if (r) {
		ld_log(LOG_ERR, "signals: %s", strerror(-r));
		goto fail;
	}
	r = ledger_open(&d->l, &lo, err, sizeof(err));
	if (r) {
		ld_log(LOG_ERR, "ledger %s: %s", cfg->db, err);
		goto fail;
	}
	ld_log(LOG_INFO, "ledger %s: %llu entries", cfg->db,
	       (unsigned long long)ledger_size(d->l));
	r = open_keys(d);
	if (r)
		goto fail;
	r = open_listen(d);
	if (r) {
		ld_log(LOG_ERR, "listen on %s port %u: %s", cfg->listen_addr,
		       cfg->listen_port, strerror(-r));
		goto fail;
	}
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		d->watchdog_ms = usec / 2000;
		d->watchdog_at = ld_now_ms();
	}
	return 0;
fail:
	ld_close(d);
	return r;
}

static unsigned int keys_busy(struct ledgerd *d)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->ngw; i++) {
		if (d->gw[i].krx)
			n += qkd_keysrc_inflight(d->gw[i].krx) +
			     qkd_keysrc_pending(d->gw[i].krx);
		if (d->gw[i].ktx)
			n += qkd_keysrc_inflight(d->gw[i].ktx) +
			     qkd_keysrc_pending(d->gw[i].ktx);
	}
	return n;
}

/* Cancels the key reads and waits for them and the sockets' ops. */
static bool drain(struct ledgerd *d)
{
	struct __kernel_timespec ts = { .tv_nsec = 100000000 };
	uint64_t end = ld_now_ms() + LD_STOP_DRAIN_MS;
	struct io_uring_cqe *cqe;
	unsigned int head, n, live;

	for (;;) {
		live = 0;
		for (unsigned int i = 0; i < LD_SESS_MAX; i++) {
			if (!d->sess[i])
				continue;
			ld_sess_close(d->sess[i], "stopping");
			ld_sess_pump(d->sess[i]);	/* frees it when idle */
			live += d->sess[i] != NULL;
		}
		if (!live && !keys_busy(d))
			return true;
		if (ld_now_ms() >= end)
			return false;
		for (unsigned int i = 0; i < d->ngw; i++) {
			if (d->gw[i].krx && qkd_keysrc_cancel(d->gw[i].krx) < 0)
				ld_log(LOG_DEBUG, "stop: cancelling RX reads: retrying");
			if (d->gw[i].ktx && qkd_keysrc_cancel(d->gw[i].ktx) < 0)
				ld_log(LOG_DEBUG, "stop: cancelling TX reads: retrying");
		}
		io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &ts, NULL);
		n = 0;
		io_uring_for_each_cqe(&d->ring, head, cqe) {
			ld_dispatch(d, cqe);
			n++;
		}
		io_uring_cq_advance(&d->ring, n);
	}
}

void ld_close(struct ledgerd *d)
{
	bool drained = !d->ring_up || drain(d);
	unsigned int kflags = 0;

	if (d->lfd >= 0 && close(d->lfd))
		ld_log(LOG_DEBUG, "listening socket: close: %s", strerror(errno));
	if (d->ring_up && !drained) {
		/* ops still in flight: the ring goes first */
		ld_log(LOG_WARNING, "stop: gave up waiting for I/O in flight");
		io_uring_queue_exit(&d->ring);
		d->ring_up = false;
		kflags = QKD_KEYSRC_CLOSE_RING_GONE;
	}
	for (unsigned int i = 0; i < d->ngw; i++) {
		if (qkd_keysrc_close(d->gw[i].krx, kflags) ||
		    qkd_keysrc_close(d->gw[i].ktx, kflags))
			ld_log(LOG_WARNING, "link %s: closing the key sources failed",
			       d->gw[i].cfg->link);
		d->gw[i].krx = d->gw[i].ktx = NULL;
	}
	if (d->ring_up)
		io_uring_queue_exit(&d->ring);
	d->ring_up = false;
	/* Sessions left (not drained) hold no key: free their memory. */
	for (unsigned int i = 0; i < LD_SESS_MAX; i++) {
		if (d->sess[i]) {
			d->sess[i]->recv_busy = d->sess[i]->send_busy = false;
			ld_sess_pump(d->sess[i]);
		}
	}
	if (d->l)
		ledger_close(d->l);	/* rolls back anything not committed */
	d->l = NULL;
	if (d->sigfd >= 0)
		close(d->sigfd);
	d->sigfd = d->lfd = -1;
	free(d->payload);
	d->payload = NULL;
}
