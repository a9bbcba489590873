// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd: connections. Each accepted socket becomes a session with one
 * IORING_OP_RECV and at most one IORING_OP_SEND in flight; received bytes
 * are cut into messages (qkd_frame_peek) and handed to ledgerd_proto.c one
 * at a time: while a message waits for its RX key, the next ones wait in
 * the input buffer. Closing shuts the socket down (which ends the ops in
 * flight); ld_sess_pump(), called for every session at each turn of the
 * loop, frees it when their CQEs are in. Key reads still in
 * flight for a closed session carry its cookie (slot and generation): when
 * they complete, the key is wiped and dropped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "ledger.h"
#include "ledgerd.h"

static uint64_t sess_ud(enum ld_tag tag, const struct ld_session *s)
{
	return QKD_UD_MAKE(tag, ld_cookie(s));
}

struct ld_session *ld_sess_by_cookie(struct ledgerd *d, uint64_t cookie)
{
	uint32_t slot = (uint32_t)(cookie >> 32) & 0xffffff;
	struct ld_session *s;

	if (slot >= LD_SESS_MAX)
		return NULL;
	s = d->sess[slot];
	return s && s->gen == (uint32_t)cookie ? s : NULL;
}

static void peer_name(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		port = ntohs(in->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in = (const void *)sa;

		inet_ntop(AF_INET6, &in->sin6_addr, a, sizeof(a));
		port = ntohs(in->sin6_port);
	}
	snprintf(buf, len, "%s:%u", a, port);
}

void ld_sess_new(struct ledgerd *d, int fd)
{
	struct ld_session *s = NULL;
	char peer[64];
	unsigned int i;
	int r;

	peer_name(&d->acc_addr, peer, sizeof(peer));
	for (i = 0; i < LD_SESS_MAX && d->sess[i]; i++)
		;
	if (i == LD_SESS_MAX || d->stopping) {
		ld_log(LOG_WARNING, "%s: connection refused: %s", peer,
		       d->stopping ? "stopping" : "too many connections");
		close(fd);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s)
		s->ibuf = malloc(LD_IBUF);
	r = s && s->ibuf ? qkd_keymem_alloc(&s->km, 2 * QKD_R_LEN) : -ENOMEM;
	if (r) {
		ld_log(LOG_ERR, "%s: connection refused: memory: %s", peer,
		       strerror(-r));
		if (s)
			free(s->ibuf);
		free(s);
		close(fd);
		return;
	}
	s->d = d;
	s->slot = i;
	s->gen = ++d->next_gen;
	s->fd = fd;
	s->born = ld_now_ms();
	s->r = s->km.base;
	s->r2 = s->r + QKD_R_LEN;
	memcpy(s->peer, peer, sizeof(s->peer));
	d->sess[i] = s;
	d->st.connections++;
	ld_log(LOG_DEBUG, "%s: connected", peer);
}

static void sess_free(struct ld_session *s)
{
	struct ledgerd *d = s->d;

	if (s->gw && s->gw->sess == s)
		s->gw->sess = NULL;
	d->sess[s->slot] = NULL;
	if (close(s->fd))
		ld_log(LOG_DEBUG, "%s: close: %s", s->peer, strerror(errno));
	qkd_keymem_free(&s->km);
	free(s->ibuf);
	free(s);
}

void ld_sess_close(struct ld_session *s, const char *why)
{
	if (s->closing)
		return;
	s->closing = true;
	ld_log(why ? LOG_NOTICE : LOG_INFO,
	       "%s: session %016llx%s%s closed%s%s: %llu frames, %llu new, %llu duplicates, acked %llu",
	       s->peer, (unsigned long long)s->sid, s->gw ? " of gateway " : "",
	       s->gw ? s->gw->cfg->name : "", why ? ": " : "", why ? why : "",
	       (unsigned long long)s->frames, (unsigned long long)s->appended,
	       (unsigned long long)s->dups, (unsigned long long)s->acked);
	if (s->gw && s->gw->sess == s)
		s->gw->sess = NULL;
	qkd_wipe(s->r, 2 * QKD_R_LEN);
	s->have_r2 = false;
	/* Ends the recv and send in flight; the peer sees the close. */
	if (shutdown(s->fd, SHUT_RDWR) && errno != ENOTCONN)
		ld_log(LOG_DEBUG, "%s: shutdown: %s", s->peer, strerror(errno));
	/* freed by ld_sess_pump() once no op is in flight */
}

void ld_sess_pump(struct ld_session *s)
{
	struct io_uring_sqe *sqe;

	if (s->closing) {
		if (!s->recv_busy && !s->send_busy)
			sess_free(s);
		return;
	}
	/*
	 * Compact before deciding to receive: a receive that filled the
	 * buffer exactly, ending in a partial message, would otherwise leave
	 * no room and no receive posted, and the session would hang.
	 */
	if (!s->recv_busy && s->ioff && !s->mlen &&
	    (s->ilen == s->ioff || LD_IBUF - s->ilen < QKD_FRAME_MAX)) {
		memmove(s->ibuf, s->ibuf + s->ioff, s->ilen - s->ioff);
		s->ilen -= s->ioff;
		s->ioff = 0;
	}
	if (!s->recv_busy && s->ilen < LD_IBUF) {
		sqe = ld_sqe(s->d);
		if (!sqe)
			return;
		io_uring_prep_recv(sqe, s->fd, s->ibuf + s->ilen, LD_IBUF - s->ilen, 0);
		io_uring_sqe_set_data64(sqe, sess_ud(LD_TAG_RECV, s));
		s->recv_busy = true;
	}
	if (!s->send_busy && s->olen) {
		sqe = ld_sqe(s->d);
		if (!sqe)
			return;
		io_uring_prep_send(sqe, s->fd, s->obuf, s->olen, MSG_NOSIGNAL);
		io_uring_sqe_set_data64(sqe, sess_ud(LD_TAG_SEND, s));
		s->send_busy = true;
		s->slen = s->olen;
	}
}

int ld_sess_queue(struct ld_session *s, const uint8_t *msg, size_t len)
{
	if (s->closing)
		return -ESHUTDOWN;
	if (len > sizeof(s->obuf) - s->olen) {
		ld_sess_close(s, "the gateway does not read its acks");
		return -ENOBUFS;
	}
	memcpy(s->obuf + s->olen, msg, len);
	s->olen += len;
	return 0;
}

void ld_sess_process(struct ld_session *s)
{
	enum qkd_msg_type t;
	size_t avail;
	int total;

	while (!s->closing && !s->mlen && (avail = s->ilen - s->ioff) >= QKD_PREFIX_LEN) {
		total = qkd_frame_peek(s->ibuf + s->ioff, avail, &t);
		if (total < 0) {
			/* the stream cannot be trusted to be in step */
			ld_reject(s, LEDGER_EV_PROTOCOL, "bad message prefix: %s",
				  strerror(-total));
			return;
		}
		if (avail < (size_t)total)
			return;
		s->mlen = (size_t)total;
		/* asks for the message's key, or rejects it and closes */
		ld_proto_msg(s, t);
	}
}

void ld_sess_cqe(struct ledgerd *d, const struct io_uring_cqe *cqe, bool send)
{
	struct ld_session *s = ld_sess_by_cookie(d, cqe->user_data & QKD_UD_LOW_MASK);
	int res = cqe->res;

	if (!s)
		return;
	if (send) {
		s->send_busy = false;
		if (res > 0) {
			memmove(s->obuf, s->obuf + res, s->olen - (size_t)res);
			s->olen -= (size_t)res;
		} else if (!s->closing) {
			ld_sess_close(s, res ? strerror(-res) : "send: nothing sent");
		}
	} else {
		s->recv_busy = false;
		if (res > 0 && !s->closing) {
			s->ilen += (size_t)res;
			ld_sess_process(s);
		} else if (res == 0 && !s->closing) {
			ld_sess_close(s, NULL);	/* the gateway closed it */
		} else if (res < 0 && !s->closing) {
			ld_sess_close(s, strerror(-res));
		}
	}
}
