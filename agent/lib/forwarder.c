// SPDX-License-Identifier: GPL-2.0
/*
 * The forwarder: TCP connection to the ledger, session start and end,
 * output buffer. See forwarder.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "forwarder_int.h"

int fwd_open(struct fwd **out, struct agent *a)
{
	struct fwd *f;
	int r;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->a = a;
	f->fd = -1;
	f->state = FS_IDLE;
	f->backoff_ms = a->cfg->ledger.reconnect_min_ms;
	r = qkd_keymem_alloc(&f->km, 2 * QKD_R_LEN);
	if (r) {
		free(f);
		return r;
	}
	f->r = f->km.base;
	f->r2 = f->r + QKD_R_LEN;
	r = fwd_pipe_init(f, a->cfg->agent.key_depth);
	if (r) {
		fwd_close(f);
		return r;
	}
	*out = f;
	return 0;
}

static void fwd_close_socket(struct fwd *f)
{
	if (f->fd < 0)
		return;
	/* The loop's poll may still hold the file: shutdown() ends the
	 * connection now, whoever holds a reference. */
	if (shutdown(f->fd, SHUT_RDWR) && errno != ENOTCONN)
		ag_log(LOG_DEBUG, "ledger: shutdown: %s", strerror(errno));
	if (close(f->fd))
		ag_log(LOG_DEBUG, "ledger: close: %s", strerror(errno));
	f->fd = -1;
	f->fd_gen++;
}

void fwd_close(struct fwd *f)
{
	if (!f)
		return;
	fwd_stop(f);
	fwd_pipe_free(f);
	if (qkd_keymem_free(&f->km))
		ag_log(LOG_WARNING, "forwarder: releasing key memory failed");
	free(f->obuf);
	free(f);
}

/* Ends the session: nothing of it may be used again. */
void fwd_drop(struct fwd *f, const char *why, bool backoff)
{
	uint64_t now = ag_now_ms();
	const struct agent_config *c = f->a->cfg;

	if (f->state == FS_OPEN && why) {
		f->st.sessions_dropped++;
		ag_log(LOG_WARNING,
		       "ledger session %016llx ended after %llu frames (%llu acked): %s",
		       (unsigned long long)f->sid, (unsigned long long)f->seq,
		       (unsigned long long)f->acked, why);
	} else if (why) {
		/* The same failure again and again: once at warning level. */
		bool again = !strncmp(why, f->last_why, sizeof(f->last_why) - 1);

		ag_log(again ? LOG_DEBUG : LOG_WARNING, "ledger %s:%u: %s%s",
		       c->ledger.host, c->ledger.port, why,
		       again ? "" : " (retrying with back-off)");
		snprintf(f->last_why, sizeof(f->last_why), "%s", why);
	}
	fwd_close_socket(f);
	qkd_wipe(f->km.base, f->km.size);
	f->have_r = false;
	f->have_r2 = false;
	/* Key reads still in flight carry the old generation: their key is
	 * destroyed when it arrives. */
	f->gen++;
	f->reads = 0;
	f->rx_wait = false;
	qkd_wipe(f->rx_msg, sizeof(f->rx_msg));
	f->ilen = 0;
	f->olen = 0;
	f->ooff = 0;
	fwd_pipe_reset(f, false);
	if (f->it_open) {
		spool_iter_release(&f->it);
		f->it_open = false;
	}
	if (f->state == FS_STOPPED)
		return;
	f->state = FS_IDLE;
	f->retry_at = now;
	if (backoff) {
		f->retry_at = now + f->backoff_ms;
		f->backoff_ms = f->backoff_ms > c->ledger.reconnect_max_ms / 2 ?
				c->ledger.reconnect_max_ms : f->backoff_ms * 2;
	}
}

void fwd_stop(struct fwd *f)
{
	if (f->state != FS_STOPPED) {
		fwd_drop(f, NULL, false);
		f->state = FS_STOPPED;
	}
}

static void fwd_setsockopt(int fd, int level, int name, int val, const char *what)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)))
		ag_log(LOG_WARNING, "ledger: setsockopt %s: %s", what, strerror(errno));
}

static int fwd_connect(struct fwd *f, uint64_t now)
{
	const struct agent_config *c = f->a->cfg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char port[8];
	int fd, r;

	snprintf(port, sizeof(port), "%u", c->ledger.port);
	r = getaddrinfo(c->ledger.host, port, &hints, &ai);
	if (r) {
		ag_log(LOG_WARNING, "ledger %s: %s", c->ledger.host,
		       r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -EHOSTUNREACH;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		freeaddrinfo(ai);
		return r;
	}
	fwd_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	fwd_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	fwd_setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30, "TCP_KEEPIDLE");
	fwd_setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, 10, "TCP_KEEPINTVL");
	fwd_setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, 3, "TCP_KEEPCNT");
	fwd_setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 60000, "TCP_USER_TIMEOUT");
	r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (r && errno != EINPROGRESS) {
		r = -errno;
		if (close(fd))
			ag_log(LOG_DEBUG, "ledger: close: %s", strerror(errno));
		freeaddrinfo(ai);
		return r;
	}
	freeaddrinfo(ai);
	f->fd = fd;
	f->fd_gen++;
	f->state = FS_CONNECTING;
	f->conn_deadline = now + c->ledger.connect_timeout_ms;
	return 0;
}

static void fwd_session_start(struct fwd *f)
{
	int r;

	f->st.connects++;
	f->state = FS_OPEN;
	f->gen++;
	do
		randombytes_buf(&f->sid, sizeof(f->sid));
	while (!f->sid);
	f->seq = 0;
	f->acked = 0;
	f->rx_cursor = 0;
	f->rx_epoch = 0;
	r = spool_iter_init(f->a->sp, &f->it, 0);
	if (r) {
		ag_fatal(f->a, "spool iterator", r);
		return;
	}
	f->it_open = true;
	fwd_pipe_reset(f, true);
	f->st.sessions++;
	f->last_why[0] = '\0';
	ag_log(LOG_INFO, "ledger %s:%u: connected, session %016llx",
	       f->a->cfg->ledger.host, f->a->cfg->ledger.port,
	       (unsigned long long)f->sid);
}

static void fwd_connected(struct fwd *f)
{
	socklen_t len = sizeof(int);
	int err = 0;
	char why[128];

	if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		f->st.connect_errors++;
		snprintf(why, sizeof(why), "connect: %s", strerror(err));
		fwd_drop(f, why, true);
		return;
	}
	fwd_session_start(f);
}

int fwd_obuf_reserve(struct fwd *f, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (f->ocap - f->olen >= n)
		return 0;
	if (f->ooff) {
		memmove(f->obuf, f->obuf + f->ooff, f->olen - f->ooff);
		f->olen -= f->ooff;
		f->ooff = 0;
		if (f->ocap - f->olen >= n)
			return 0;
	}
	cap = f->ocap ? f->ocap : 65536;
	while (cap - f->olen < n)
		cap *= 2;
	p = realloc(f->obuf, cap);
	if (!p)
		return -ENOMEM;
	f->obuf = p;
	f->ocap = cap;
	return 0;
}

void fwd_flush(struct fwd *f)
{
	char why[128];
	ssize_t n;

	while (f->state == FS_OPEN && f->ooff < f->olen) {
		n = send(f->fd, f->obuf + f->ooff, f->olen - f->ooff,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			snprintf(why, sizeof(why), "send: %s", strerror(errno));
			fwd_drop(f, why, true);
			return;
		}
		f->ooff += (size_t)n;
	}
	if (f->ooff == f->olen)
		f->ooff = f->olen = 0;
}

void fwd_on_poll(struct fwd *f, unsigned int revents)
{
	if (f->state == FS_CONNECTING) {
		fwd_connected(f);
		return;
	}
	if (f->state != FS_OPEN)
		return;
	if (revents & POLLOUT)
		fwd_flush(f);
	if (revents & POLLIN)
		fwd_rx_read(f);
	/* Without POLLIN: a reset or a hang-up we cannot read past. */
	if (f->state == FS_OPEN && (revents & (POLLERR | POLLHUP)) &&
	    !(revents & POLLIN))
		fwd_drop(f, "connection lost", true);
}

void fwd_pump(struct fwd *f, uint64_t now)
{
	char why[128];
	int r;

	switch (f->state) {
	case FS_IDLE:
		if (now < f->retry_at || f->a->stopping)
			return;
		r = fwd_connect(f, now);
		if (r) {
			f->st.connect_errors++;
			snprintf(why, sizeof(why), "connect: %s", strerror(-r));
			fwd_drop(f, why, true);
		}
		return;
	case FS_CONNECTING:
		if (now >= f->conn_deadline) {
			f->st.connect_errors++;
			fwd_drop(f, "connect timed out", true);
		}
		return;
	case FS_OPEN:
		fwd_pipe_fill(f);
		fwd_pipe_issue(f);
		fwd_flush(f);
		return;
	case FS_STOPPED:
		return;
	}
}

int fwd_poll_want(const struct fwd *f, unsigned int *events, uint64_t *gen)
{
	*events = 0;
	*gen = f->fd_gen;
	if (f->fd < 0)
		return -1;
	if (f->state == FS_CONNECTING) {
		*events = POLLOUT;
	} else if (f->state == FS_OPEN) {
		if (!f->rx_wait && f->ilen < sizeof(f->ibuf))
			*events |= POLLIN;
		if (f->ooff < f->olen)
			*events |= POLLOUT;
	}
	return f->fd;
}

uint64_t fwd_deadline(const struct fwd *f)
{
	switch (f->state) {
	case FS_IDLE:
		return f->a->stopping ? 0 : f->retry_at;
	case FS_CONNECTING:
		return f->conn_deadline;
	default:
		return 0;
	}
}

void fwd_get_stats(const struct fwd *f, struct fwd_stats *st)
{
	*st = f->st;
}

const char *fwd_state_name(const struct fwd *f)
{
	switch (f->state) {
	case FS_IDLE:
		return "disconnected";
	case FS_CONNECTING:
		return "connecting";
	case FS_OPEN:
		return f->have_r2 ? "ready" : "open";
	case FS_STOPPED:
		return "stopped";
	}
	return "?";
}

uint64_t fwd_unacked(const struct fwd *f)
{
	return f->state == FS_OPEN ? f->seq - f->acked : 0;
}

bool fwd_waiting_for_key(const struct fwd *f)
{
	return f->state == FS_OPEN &&
	       ((f->reads && qkd_keysrc_waiting(f->a->ktx)) ||
		(f->rx_wait && qkd_keysrc_waiting(f->a->krx)));
}
