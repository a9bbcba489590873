// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-agent: logging, the statistics socket read by `qkd-agent --stats`,
 * and the STATUS= line for systemd. None of these ever sees key bytes:
 * they print counters, offsets, lengths and states only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>
#include <linux/qkdkey.h>

#include <systemd/sd-daemon.h>

#include "agent_loop.h"
#include "forwarder.h"
#include "ingest_mqtt.h"
#include "ingest_unix.h"

static int log_level = LOG_INFO;

void ag_set_log_level(int level)
{
	log_level = level;
}

void ag_log(int prio, const char *fmt, ...)
{
	static int journal = -1;
	char msg[512];
	va_list ap;
	int n;

	if (prio > log_level)
		return;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Under systemd the journal reads the <N> priority prefix. */
	if (journal)
		n = fprintf(stderr, "<%d>%s\n", prio, msg);
	else
		n = fprintf(stderr, "qkd-agent: %s: %s\n",
			    agent_config_log_level_name(prio) ?
			    agent_config_log_level_name(prio) : "info", msg);
	(void)n;	/* nowhere to report a failing stderr */
}

void ag_log_cb(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	ag_log(prio, "%s", msg);
}

const char *ag_link_state_name(uint32_t state)
{
	switch (state) {
	case QKDKEY_LINK_DOWN:
		return "down";
	case QKDKEY_LINK_UP:
		return "up";
	case QKDKEY_LINK_ALARM:
		return "ALARM";
	case QKDKEY_LINK_GONE:
		return "gone";
	}
	return "?";
}

int ag_stats_open(struct agent *a)
{
	const char *path = a->cfg->agent.stats_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (!path[0])
		return 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket left by an agent that died: the spool's lock already
	 * proves no other agent of this spool runs. */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode) && unlink(path)) {
		r = -errno;
		ag_log(LOG_ERR, "stats socket %s: %s", path, strerror(errno));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8) ||
	    chmod(path, 0660)) {
		r = -errno;
		ag_log(LOG_ERR, "stats socket %s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	a->statsfd = fd;
	return 0;
}

#define P(name, v) \
	(n += snprintf(buf + n, len > n ? len - n : 0, "%s %llu\n", name, \
		       (unsigned long long)(v)))

static size_t stats_format(struct agent *a, char *buf, size_t len)
{
	struct spool_stats ss;
	struct fwd_stats fs;
	struct qkd_keysrc_stats ks;
	size_t n = 0;

	spool_get_stats(a->sp, &ss);
	fwd_get_stats(a->fwd, &fs);
	qkd_keysrc_get_stats(a->ktx, &ks);
	n += snprintf(buf + n, len - n, "link %s\nlink_state %s\nledger %s\n",
		      a->cfg->link.name, ag_link_state_name(a->link_state),
		      fwd_state_name(a->fwd));
	if (a->iu) {
		struct ingest_unix_stats u;

		ingest_unix_get_stats(a->iu, &u);
		P("unix_received", u.received);
		P("unix_accepted", u.accepted);
		P("unix_rejected", u.rejected);
		P("unix_refused", u.refused);
	}
	if (a->im) {
		struct ingest_mqtt_stats m;

		ingest_mqtt_get_stats(a->im, &m);
		P("mqtt_ready", ingest_mqtt_ready(a->im));
		P("mqtt_received", m.received);
		P("mqtt_accepted", m.accepted);
		P("mqtt_rejected", m.rejected);
		P("mqtt_refused", m.refused);
	}
	P("records_too_big", a->cnt.too_big);
	P("spool_next_seq", ss.next_seq);
	P("spool_durable_seq", ss.durable_seq);
	P("spool_ack_seq", ss.ack_seq);
	P("spool_pending_records", ss.pending_records);
	P("spool_pending_bytes", ss.pending_bytes);
	P("spool_commits", ss.commits);
	P("spool_commit_errors", a->cnt.commit_errors);
	P("spool_segments", ss.segments);
	P("key_reads", ks.keys);
	P("key_read_bytes", ks.key_bytes);
	P("key_read_errors", ks.failed + ks.rejected);
	P("key_waiting", fwd_waiting_for_key(a->fwd));
	P("tx_key_bytes_used", fs.tx_key_bytes);
	P("rx_key_bytes_used", fs.rx_key_bytes);
	P("key_bytes_discarded", fs.key_bytes_discarded);
	P("sessions", fs.sessions);
	P("sessions_ready", fs.sessions_ok);
	P("sessions_dropped", fs.sessions_dropped);
	P("connect_errors", fs.connect_errors);
	P("auth_failures", fs.auth_failures);
	P("protocol_errors", fs.protocol_errors);
	P("epoch_changes", fs.epoch_changes);
	P("frames_sent", fs.frames);
	P("frame_bytes", fs.frame_bytes);
	P("frames_unacked", fwd_unacked(a->fwd));
	P("acks", fs.acks);
	P("records_acked", fs.acked_records);
	return n < len ? n : len - 1;
}

void ag_stats_accept(struct agent *a)
{
	char buf[2048];
	size_t len;
	ssize_t w;
	int fd;

	fd = accept4(a->statsfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			ag_log(LOG_WARNING, "stats socket: accept: %s",
			       strerror(errno));
		return;
	}
	a->cnt.stats_requests++;
	len = stats_format(a, buf, sizeof(buf));
	/* Small enough for any socket buffer: never blocks. */
	w = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0)
		ag_log(LOG_DEBUG, "stats socket: send: %s", strerror(errno));
	if (close(fd))
		ag_log(LOG_DEBUG, "stats socket: close: %s", strerror(errno));
}

void ag_status_update(struct agent *a)
{
	struct spool_stats ss;
	char s[sizeof(a->status)];
	int r;

	spool_get_stats(a->sp, &ss);
	snprintf(s, sizeof(s),
		 "spool: %llu pending (acked to %llu); link %s: %s%s; ledger: %s, %llu unacked",
		 (unsigned long long)ss.pending_records,
		 (unsigned long long)ss.ack_seq, a->cfg->link.name,
		 ag_link_state_name(a->link_state),
		 fwd_waiting_for_key(a->fwd) ? ", waiting for key" : "",
		 fwd_state_name(a->fwd),
		 (unsigned long long)fwd_unacked(a->fwd));
	if (!strcmp(s, a->status))
		return;
	memcpy(a->status, s, sizeof(s));
	r = sd_notifyf(0, "STATUS=%s", s);
	if (r < 0)
		ag_log(LOG_DEBUG, "sd_notify: %s", strerror(-r));
}

void ag_notify(const char *msg)
{
	int r = sd_notify(0, msg);

	if (r < 0)
		ag_log(LOG_DEBUG, "sd_notify %s: %s", msg, strerror(-r));
}
