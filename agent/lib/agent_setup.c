// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-agent: opening everything the configuration names, and closing it
 * again (draining the I/O still in flight first). See agent_loop.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>
#include <linux/qkdkey.h>

#include <systemd/sd-daemon.h>

#include "agent_loop.h"
#include "forwarder.h"
#include "frame.h"
#include "ingest_mqtt.h"
#include "ingest_unix.h"

#define RING_ENTRIES	256
#define RX_DEPTH	4

static int open_signals(struct agent *a)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return a->sigfd < 0 ? -errno : 0;
}

static int open_keys(struct agent *a)
{
	const struct agent_config *c = a->cfg;
	struct qkd_ring_cfg rc = {
		.entries = RING_ENTRIES,
		.nr_files = 2,
		.nr_bufs = c->agent.key_depth + RX_DEPTH,
	};
	struct qkd_keysrc_cfg kc = {
		.dev_path = c->link.device,
		.link = c->link.name,
		.dir = QKD_KEYSRC_TX,
		.depth = c->agent.key_depth,
		.max_len = a->max_payload + QKD_S_LEN,
		.tag = AG_TAG_KEY_TX,
	};
	char desc[160];
	int r;

	r = qkd_ring_init(&a->ring, &rc, &a->ring_info);
	if (r) {
		ag_log(LOG_ERR, "io_uring: %s", strerror(-r));
		return r;
	}
	a->ring_up = true;
	if (!qkd_ring_describe(&a->ring_info, desc, sizeof(desc)))
		ag_log(LOG_INFO, "io_uring: %s", desc);
	kc.file_slot = a->ring_info.nr_files ? 0 : -1;
	kc.buf_base = a->ring_info.nr_bufs ? 0 : -1;
	r = qkd_keysrc_open(&a->ktx, &a->ring, &kc);
	if (r) {
		ag_log(LOG_ERR, "%s: link %s, TX: %s", c->link.device,
		       c->link.name, strerror(-r));
		return r;
	}
	kc.dir = QKD_KEYSRC_RX;
	kc.depth = RX_DEPTH;
	kc.max_len = 32;	/* QKD_HELLO_KEY_LEN: the largest RX key */
	kc.tag = AG_TAG_KEY_RX;
	kc.file_slot = a->ring_info.nr_files ? 1 : -1;
	kc.buf_base = a->ring_info.nr_bufs ? (int)c->agent.key_depth : -1;
	r = qkd_keysrc_open(&a->krx, &a->ring, &kc);
	if (r)
		ag_log(LOG_ERR, "%s: link %s, RX: %s", c->link.device,
		       c->link.name, strerror(-r));
	return r;
}

static int open_ingest(struct agent *a)
{
	const struct agent_config *c = a->cfg;
	char err[256];
	int r;

	if (c->socket.enabled) {
		struct ingest_unix_opts o = {
			.path = c->socket.path,
			.mode = (mode_t)c->socket.mode,
			.submit = ag_submit_record,
			.log = ag_log_cb,
			.ctx = a,
		};

		r = ingest_unix_open(&o, &a->iu, err, sizeof(err));
		if (r) {
			ag_log(LOG_ERR, "ingest socket: %s", err);
			return r;
		}
	}
	if (c->mqtt.enabled) {
		struct ingest_mqtt_opts o = {
			.host = c->mqtt.host,
			.port = c->mqtt.port,
			.client_id = c->mqtt.client_id,
			.keepalive = (int)c->mqtt.keepalive_s,
			.submit = ag_submit_record,
			.log = ag_log_cb,
			.ctx = a,
		};

		if (strcmp(c->mqtt.topic, "qkd/telemetry/+")) {
			ag_log(LOG_ERR, "[mqtt] topic %s: only qkd/telemetry/+ is supported",
			       c->mqtt.topic);
			return -EOPNOTSUPP;
		}
		r = ingest_mqtt_open(&o, &a->im, err, sizeof(err));
		if (r) {
			ag_log(LOG_ERR, "mqtt: %s", err);
			return r;
		}
	}
	return 0;
}

int ag_open(struct agent *a, const struct agent_config *cfg)
{
	struct spool_opts so = {
		.segment_bytes = cfg->spool.segment_bytes,
		.max_pending_bytes = cfg->spool.max_bytes,
	};
	struct spool_stats st;
	uint64_t usec = 0;
	char err[256];
	int r;

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->sigfd = a->statsfd = a->mqtt_fd = -1;
	for (int i = 0; i < AG_POLL_NR; i++)
		a->poll[i].fd = -1;
	a->link_state = QKDKEY_LINK_UP;
	a->max_payload = cfg->agent.max_payload;
	/* One read returns at most 65536 key bytes: payload + 16 of them. */
	if (a->max_payload > QKD_KEYSRC_LEN_MAX - QKD_S_LEN) {
		a->max_payload = QKD_KEYSRC_LEN_MAX - QKD_S_LEN;
		ag_log(LOG_NOTICE,
		       "max_payload %u: records above %u bytes are refused (a frame needs payload + 16 key bytes, one read returns at most %u)",
		       cfg->agent.max_payload, a->max_payload, QKD_KEYSRC_LEN_MAX);
	}

	r = open_signals(a);
	if (r) {
		ag_log(LOG_ERR, "signals: %s", strerror(-r));
		goto fail;
	}
	r = spool_open(cfg->spool.dir, &so, &a->sp, err, sizeof(err));
	if (r) {
		ag_log(LOG_ERR, "spool %s: %s", cfg->spool.dir, err);
		goto fail;
	}
	spool_get_stats(a->sp, &st);
	ag_log(LOG_INFO, "spool %s: %llu records to forward (acked up to %llu)",
	       cfg->spool.dir, (unsigned long long)st.pending_records,
	       (unsigned long long)st.ack_seq);
	r = open_keys(a);
	if (!r)
		r = open_ingest(a);
	if (!r)
		r = ag_stats_open(a);
	if (!r) {
		r = fwd_open(&a->fwd, a);
		if (r)
			ag_log(LOG_ERR, "forwarder: %s", strerror(-r));
	}
	if (r)
		goto fail;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		a->watchdog_ms = usec / 2000;
		a->watchdog_at = ag_now_ms();
	}
	ag_link_state_check(a);
	return 0;
fail:
	ag_close(a);
	return r;
}

/* Waits for the commit chain and the key reads still in flight. */
static bool drain(struct agent *a)
{
	struct __kernel_timespec ts = { .tv_nsec = 100000000 };
	uint64_t end = ag_now_ms() + AG_STOP_DRAIN_MS;
	struct io_uring_cqe *cqe;
	unsigned int head, n;

	int r;

	while (a->commit.busy || qkd_keysrc_inflight(a->ktx) ||
	       qkd_keysrc_inflight(a->krx) || qkd_keysrc_pending(a->ktx) ||
	       qkd_keysrc_pending(a->krx)) {
		if (ag_now_ms() >= end)
			return false;
		/* Idempotent: cancels what is still outstanding. */
		if ((a->ktx && qkd_keysrc_cancel(a->ktx) < 0) ||
		    (a->krx && qkd_keysrc_cancel(a->krx) < 0))
			ag_log(LOG_DEBUG, "stop: cancelling key reads: retrying");
		r = io_uring_submit_and_wait_timeout(&a->ring, &cqe, 1, &ts, NULL);
		if (r < 0 && r != -ETIME && r != -EINTR)
			ag_log(LOG_WARNING, "stop: io_uring: %s", strerror(-r));
		n = 0;
		io_uring_for_each_cqe(&a->ring, head, cqe) {
			ag_dispatch(a, cqe);
			n++;
		}
		io_uring_cq_advance(&a->ring, n);
	}
	return true;
}

void ag_close(struct agent *a)
{
	bool drained = !a->ring_up || drain(a);
	unsigned int kflags = 0;

	if (a->fwd)
		fwd_close(a->fwd);
	if (a->im)
		ingest_mqtt_close(a->im);
	if (a->iu)
		ingest_unix_close(a->iu);
	if (a->statsfd >= 0) {
		if (a->cfg->agent.stats_socket[0] && unlink(a->cfg->agent.stats_socket))
			ag_log(LOG_DEBUG, "unlink %s: %s", a->cfg->agent.stats_socket,
			       strerror(errno));
		if (close(a->statsfd))
			ag_log(LOG_DEBUG, "stats socket: close: %s", strerror(errno));
	}
	if (!drained && a->ring_up) {
		/* Reads still in flight: the ring goes first. */
		io_uring_queue_exit(&a->ring);
		a->ring_up = false;
		kflags = QKD_KEYSRC_CLOSE_RING_GONE;
	}
	if (qkd_keysrc_close(a->ktx, kflags))
		ag_log(LOG_WARNING, "closing the TX key source failed");
	if (qkd_keysrc_close(a->krx, kflags))
		ag_log(LOG_WARNING, "closing the RX key source failed");
	if (a->ring_up)
		io_uring_queue_exit(&a->ring);
	if (a->sp && !a->commit.busy)
		spool_close(a->sp);
	if (a->sigfd >= 0 && close(a->sigfd))
		ag_log(LOG_DEBUG, "signalfd: close: %s", strerror(errno));
	a->fwd = NULL;
	a->im = NULL;
	a->iu = NULL;
	a->sp = NULL;
	a->ktx = a->krx = NULL;
	a->ring_up = false;
	a->sigfd = a->statsfd = -1;
}
