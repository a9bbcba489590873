// SPDX-License-Identifier: GPL-2.0
/*
 * Unix datagram socket ingest: see ingest_unix.h.
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

#include "errbuf.h"
#include "ingest_unix.h"

struct pending_reply {
	uint64_t spool_seq;
	uint64_t device_seq;
	socklen_t alen;
	struct sockaddr_un addr;
};

struct ingest_unix {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	unsigned int batch;
	qkd_ingest_submit_fn submit;
	qkd_ingest_log_fn log;
	void *ctx;
	/* Ring of replies in spool seq order (seqs grow). */
	struct pending_reply *ring;
	unsigned int cap, head, count;
	uint8_t *buf;		/* QKD_PL_MAX_LEN bytes */
	struct ingest_unix_stats st;
};

static void logf_(struct ingest_unix *iu, int prio, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!iu->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	iu->log(iu->ctx, prio, msg);
}

/* A printable form of a sender address for logs: the path, or "@name" for
 * an abstract one, non-printable bytes as '?'. */
static void addr_str(const struct sockaddr_un *a, socklen_t alen, char *out,
		     size_t cap)
{
	size_t n = 0, plen;
	const char *p = a->sun_path;

	if (alen <= offsetof(struct sockaddr_un, sun_path)) {
		snprintf(out, cap, "(unnamed)");
		return;
	}
	plen = alen - offsetof(struct sockaddr_un, sun_path);
	if (p[0] == '\0') {
		out[n++] = '@';
		p++;
		plen--;
	}
	for (size_t i = 0; i < plen && p[i] && n + 1 < cap; i++)
		out[n++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	out[n] = '\0';
}

static int check_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		qkd_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		qkd_seterr(err, errlen, "%s: exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		qkd_seterr(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (!r) {
		qkd_seterr(err, errlen, "%s: another process is bound to it", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		r = -errno;
		qkd_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (unlink(path) && errno != ENOENT) {
		r = -errno;
		qkd_seterr(err, errlen, "%s: removing stale socket: %s", path,
		       strerror(errno));
		return r;
	}
	return 0;
}

int ingest_unix_open(const struct ingest_unix_opts *o,
		     struct ingest_unix **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ingest_unix *iu;
	mode_t mode, old;
	struct stat st;
	size_t plen;
	int r;

	*out = NULL;
	if (!o || !o->path || !o->submit || !o->path[0]) {
		qkd_seterr(err, errlen, "ingest_unix: path and submit are required");
		return -EINVAL;
	}
	plen = strlen(o->path);
	if (plen >= sizeof(sa.sun_path)) {
		qkd_seterr(err, errlen, "%s: path longer than %zu bytes", o->path,
		       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	mode = o->mode ? (o->mode & 07777) : 0660;

	iu = calloc(1, sizeof(*iu));
	if (!iu)
		goto nomem;
	iu->fd = -1;
	iu->cap = o->max_pending ? o->max_pending : 1024;
	iu->batch = o->batch ? o->batch : 64;
	iu->submit = o->submit;
	iu->log = o->log;
	iu->ctx = o->ctx;
	iu->ring = calloc(iu->cap, sizeof(*iu->ring));
	iu->buf = malloc(QKD_PL_MAX_LEN);
	if (!iu->ring || !iu->buf)
		goto nomem;
	memcpy(iu->path, o->path, plen + 1);

	r = check_stale(o->path, err, errlen);
	if (r)
		goto fail;
	iu->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (iu->fd < 0) {
		r = -errno;
		qkd_seterr(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (o->rcvbuf > 0 &&
	    setsockopt(iu->fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf,
		       sizeof(o->rcvbuf))) {
		r = -errno;
		qkd_seterr(err, errlen, "SO_RCVBUF: %s", strerror(errno));
		goto fail;
	}
	memcpy(sa.sun_path, o->path, plen + 1);
	/* The socket file gets 0777 & ~umask: make that the wanted mode at
	 * once (no window with wider permissions), then chmod for certain.
	 * umask is per process: call this before starting other threads. */
	old = umask(~mode & 0777);
	r = bind(iu->fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1));
	if (r)
		r = -errno;
	umask(old);
	if (r) {
		qkd_seterr(err, errlen, "bind %s: %s", o->path, strerror(-r));
		goto fail;
	}
	if (chmod(o->path, mode) || lstat(o->path, &st)) {
		r = -errno;
		qkd_seterr(err, errlen, "chmod %s: %s", o->path, strerror(errno));
		goto fail_unlink;
	}
	iu->dev = st.st_dev;
	iu->ino = st.st_ino;
	*out = iu;
	return 0;

nomem:
	qkd_seterr(err, errlen, "ingest_unix: out of memory");
	r = -ENOMEM;
	goto fail;
fail_unlink:
	unlink(o->path);
fail:
	if (iu) {
		if (iu->fd >= 0)
			close(iu->fd);
		free(iu->ring);
		free(iu->buf);
		free(iu);
	}
	return r;
}

void ingest_unix_close(struct ingest_unix *iu)
{
	struct stat st;

	if (!iu)
		return;
	if (!lstat(iu->path, &st) && st.st_dev == iu->dev &&
	    st.st_ino == iu->ino)
		unlink(iu->path);
	close(iu->fd);
	free(iu->ring);
	free(iu->buf);
	free(iu);
}

int ingest_unix_fd(const struct ingest_unix *iu)
{
	return iu->fd;
}

bool ingest_unix_want_read(const struct ingest_unix *iu)
{
	return iu->count < iu->cap;
}

static bool has_addr(socklen_t alen)
{
	return alen > offsetof(struct sockaddr_un, sun_path);
}

/* Sends one reply; never blocks. A sender that is gone or whose socket is
 * full does not get it (counted): it will time out and re-send. */
static void reply(struct ingest_unix *iu, const struct sockaddr_un *a,
		  socklen_t alen, const char *msg)
{
	ssize_t n = sendto(iu->fd, msg, strlen(msg),
			   MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)a, alen);

	if (n < 0) {
		char who[112];

		iu->st.reply_errors++;
		addr_str(a, alen, who, sizeof(who));
		logf_(iu, LOG_DEBUG, "ingest_unix: reply to %s: %s", who,
		      strerror(errno));
	}
}

static void reply_err(struct ingest_unix *iu, const struct sockaddr_un *a,
		      socklen_t alen, int code)
{
	char msg[128];

	if (!has_addr(alen))
		return;
	snprintf(msg, sizeof(msg), "ERR %d %s", code, qkd_pl_strerror(code));
	reply(iu, a, alen, msg);
}

static void reject(struct ingest_unix *iu, const struct sockaddr_un *a,
		   socklen_t alen, int code, size_t len, size_t off)
{
	char who[112];

	iu->st.rejected++;
	iu->st.by_code[code]++;
	addr_str(a, alen, who, sizeof(who));
	logf_(iu, LOG_NOTICE,
	      "ingest_unix: rejected %zu-byte datagram from %s: %s (%s at byte %zu)",
	      len, who, qkd_pl_err_name(code), qkd_pl_strerror(code), off);
	reply_err(iu, a, alen, code);
}

static void handle(struct ingest_unix *iu, size_t len,
		   const struct sockaddr_un *a, socklen_t alen)
{
	struct qkd_record rec;
	struct pending_reply *p;
	uint64_t seq = 0;
	size_t off = 0;
	int code, r;

	code = qkd_pl_parse(iu->buf, len, &rec, &off);
	if (code) {
		reject(iu, a, alen, code, len, off);
		return;
	}
	r = iu->submit(iu->ctx, &rec, &seq);
	if (r) {
		code = r == -ENOSPC ? QKD_PL_E_SPOOL_FULL : QKD_PL_E_SPOOL;
		iu->st.refused++;
		iu->st.by_code[code]++;
		logf_(iu, r == -ENOSPC ? LOG_WARNING : LOG_ERR,
		      "ingest_unix: device %s seq %llu not taken: %s",
		      rec.device_id, (unsigned long long)rec.device_seq,
		      strerror(-r));
		reply_err(iu, a, alen, code);
		return;
	}
	iu->st.accepted++;
	if (!has_addr(alen)) {
		iu->st.unaddressed++;
		return;
	}
	p = &iu->ring[(iu->head + iu->count) % iu->cap];
	p->spool_seq = seq;
	p->device_seq = rec.device_seq;
	p->alen = alen;
	memcpy(&p->addr, a, sizeof(*a));
	iu->count++;
}

int ingest_unix_on_readable(struct ingest_unix *iu)
{
	unsigned int n = 0;

	while (n < iu->batch && iu->count < iu->cap) {
		struct sockaddr_un a;
		struct iovec iov = { .iov_base = iu->buf,
				     .iov_len = QKD_PL_MAX_LEN };
		struct msghdr mh = {
			.msg_name = &a,
			.msg_namelen = sizeof(a),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t len;

		memset(&a, 0, sizeof(a));
		len = recvmsg(iu->fd, &mh, MSG_TRUNC | MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		n++;
		iu->st.received++;
		if (mh.msg_namelen > sizeof(a))
			mh.msg_namelen = sizeof(a);
		if ((size_t)len > QKD_PL_MAX_LEN || (mh.msg_flags & MSG_TRUNC))
			reject(iu, &a, mh.msg_namelen, QKD_PL_E_TOO_LONG,
			       (size_t)len, QKD_PL_MAX_LEN);
		else
			handle(iu, (size_t)len, &a, mh.msg_namelen);
	}
	iu->st.pending = iu->count;
	return (int)n;
}

unsigned int ingest_unix_durable(struct ingest_unix *iu, uint64_t durable_seq)
{
	unsigned int n = 0;

	while (iu->count && iu->ring[iu->head].spool_seq <= durable_seq) {
		struct pending_reply *p = &iu->ring[iu->head];
		char msg[32];

		snprintf(msg, sizeof(msg), "ACK %llu",
			 (unsigned long long)p->device_seq);
		reply(iu, &p->addr, p->alen, msg);
		iu->st.acked++;
		iu->head = (iu->head + 1) % iu->cap;
		iu->count--;
		n++;
	}
	iu->st.pending = iu->count;
	return n;
}

void ingest_unix_fail_pending(struct ingest_unix *iu)
{
	while (iu->count) {
		struct pending_reply *p = &iu->ring[iu->head];

		reply_err(iu, &p->addr, p->alen, QKD_PL_E_SPOOL);
		iu->st.failed++;
		iu->st.by_code[QKD_PL_E_SPOOL]++;
		iu->head = (iu->head + 1) % iu->cap;
		iu->count--;
	}
	iu->st.pending = 0;
}

void ingest_unix_get_stats(const struct ingest_unix *iu,
			   struct ingest_unix_stats *st)
{
	*st = iu->st;
	st->pending = iu->count;
}
