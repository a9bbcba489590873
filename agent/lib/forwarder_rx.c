// SPDX-License-Identifier: GPL-2.0
/*
 * The forwarder's input: ACK_HELLO and ACK from the ledger, checked in two
 * phases (Documentation/wire-format.rst, "Receiver rules"): form and state
 * without key, then the tag with RX key read by offset. A verified ACK
 * acknowledges spool records (spool_ack() persists the cursor and trims).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "forwarder_int.h"

static void proto_error(struct fwd *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void proto_error(struct fwd *f, const char *fmt, ...)
{
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	f->st.protocol_errors++;
	fwd_drop(f, why, true);
}

void fwd_rx_read(struct fwd *f)
{
	ssize_t n;

	while (f->state == FS_OPEN && !f->rx_wait && f->ilen < sizeof(f->ibuf)) {
		n = recv(f->fd, f->ibuf + f->ilen, sizeof(f->ibuf) - f->ilen,
			 MSG_DONTWAIT);
		if (n == 0) {
			fwd_drop(f, "the ledger closed the connection", true);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				proto_error(f, "recv: %s", strerror(errno));
			return;
		}
		f->ilen += (size_t)n;
		fwd_rx_process(f);
	}
}

/* Asks for the RX key of the message in rx_msg. */
static int rx_request(struct fwd *f, uint64_t epoch, uint64_t off, uint32_t len)
{
	int r = qkd_keysrc_request_at(f->a->krx, epoch, off, len,
				      fwd_cookie(f->gen, 0));

	if (r) {
		proto_error(f, "RX key read at %llu+%u: %s",
			    (unsigned long long)off, len, strerror(-r));
		return r;
	}
	f->rx_wait = true;
	return 0;
}

static int rx_hello(struct fwd *f)
{
	struct qkd_hello *h = &f->rx_hello;
	uint64_t ep;
	int r;

	if (f->have_r2) {
		proto_error(f, "a second ACK_HELLO");
		return -EPROTO;
	}
	r = qkd_hello_parse(f->rx_msg, f->rx_len, h);
	if (r || h->type != QKD_MSG_ACK_HELLO) {
		proto_error(f, "malformed ACK_HELLO: %s", strerror(r ? -r : EPROTO));
		return -EPROTO;
	}
	if (h->session_id != f->sid) {
		proto_error(f, "ACK_HELLO for session %016llx",
			    (unsigned long long)h->session_id);
		return -EPROTO;
	}
	ep = qkd_keysrc_epoch(f->a->krx);
	if (h->epoch != ep) {
		/* Our RX file may predate an epoch change: bind again. */
		r = qkd_keysrc_rebind(f->a->krx);
		ep = qkd_keysrc_epoch(f->a->krx);
		if (r || h->epoch != ep) {
			proto_error(f, "ACK_HELLO epoch %llu, link epoch %llu",
				    (unsigned long long)h->epoch,
				    (unsigned long long)ep);
			return -EPROTO;
		}
	}
	return rx_request(f, h->epoch, h->r_offset, QKD_HELLO_KEY_LEN);
}

static int rx_ack(struct fwd *f)
{
	struct qkd_ack *a = &f->rx_ack;
	int r;

	if (!f->have_r2) {
		proto_error(f, "ACK before ACK_HELLO");
		return -EPROTO;
	}
	r = qkd_ack_parse(f->rx_msg, f->rx_len, a);
	if (r) {
		proto_error(f, "malformed ACK: %s", strerror(-r));
		return r;
	}
	if (a->session_id != f->sid || a->epoch != f->rx_epoch ||
	    a->ack_seq < f->acked || a->ack_seq > f->seq ||
	    a->key_offset < f->rx_cursor) {
		proto_error(f, "ACK out of place: session %016llx epoch %llu seq %llu (sent %llu, acked %llu) key offset %llu (cursor %llu)",
			    (unsigned long long)a->session_id,
			    (unsigned long long)a->epoch,
			    (unsigned long long)a->ack_seq,
			    (unsigned long long)f->seq,
			    (unsigned long long)f->acked,
			    (unsigned long long)a->key_offset,
			    (unsigned long long)f->rx_cursor);
		return -EPROTO;
	}
	return rx_request(f, a->epoch, a->key_offset, QKD_ACK_KEY_LEN);
}

void fwd_rx_process(struct fwd *f)
{
	enum qkd_msg_type t;
	int total;

	while (f->state == FS_OPEN && !f->rx_wait && f->ilen >= QKD_PREFIX_LEN) {
		total = qkd_frame_peek(f->ibuf, f->ilen, &t);
		if (total < 0) {
			proto_error(f, "bad message prefix: %s", strerror(-total));
			return;
		}
		if ((t != QKD_MSG_ACK_HELLO && t != QKD_MSG_ACK) ||
		    (size_t)total > sizeof(f->rx_msg)) {
			proto_error(f, "unexpected message type %d", (int)t);
			return;
		}
		if (f->ilen < (size_t)total)
			return;
		memcpy(f->rx_msg, f->ibuf, (size_t)total);
		f->rx_len = (size_t)total;
		f->rx_type = (uint8_t)t;
		f->ilen -= (size_t)total;
		memmove(f->ibuf, f->ibuf + total, f->ilen);
		if ((t == QKD_MSG_ACK_HELLO ? rx_hello(f) : rx_ack(f)) < 0)
			return;
	}
}

static void ack_done(struct fwd *f, const struct qkd_ack *a)
{
	struct spool_stats before, after;
	uint64_t sseq;
	int r;

	f->st.acks++;
	if (a->ack_seq <= f->acked)
		return;
	sseq = f->map[a->ack_seq % FWD_WINDOW];
	spool_get_stats(f->a->sp, &before);
	r = spool_ack(f->a->sp, sseq);
	if (r) {
		/* The records stay in the spool and are sent again. */
		if (r == -EIO)
			ag_fatal(f->a, "spool ack", r);
		else
			ag_log(LOG_ERR, "spool ack %llu: %s",
			       (unsigned long long)sseq, strerror(-r));
		return;
	}
	spool_get_stats(f->a->sp, &after);
	f->st.acked_records += after.ack_seq - before.ack_seq;
	f->acked = a->ack_seq;
}

void fwd_on_key_rx(struct fwd *f, const struct io_uring_cqe *cqe)
{
	struct qkd_key key;
	int r;

	r = qkd_keysrc_complete(f->a->krx, cqe, &key);
	if (r == 0 || r == -ENOENT)
		return;
	if ((uint32_t)(key.cookie >> 32) != f->gen || f->state != FS_OPEN ||
	    !f->rx_wait) {
		if (r == 1) {
			f->st.key_discarded++;
			f->st.key_bytes_discarded += key.len;
			qkd_keysrc_release(f->a->krx, &key);
		}
		return;
	}
	f->rx_wait = false;
	if (r < 0) {
		if (r == -ESTALE && qkd_keysrc_rebind(f->a->krx))
			ag_log(LOG_WARNING, "RX key file: rebind failed");
		f->st.key_errors++;
		proto_error(f, "RX key read: %s", strerror(-r));
		return;
	}
	if (f->rx_type == QKD_MSG_ACK_HELLO)
		r = qkd_hello_verify(f->rx_msg, f->rx_len, key.bytes);
	else
		r = qkd_ack_verify(f->rx_msg, f->rx_len, f->r2, key.bytes);
	f->st.rx_key_bytes += key.len;
	if (r) {
		uint64_t off = key.offset;

		qkd_keysrc_release(f->a->krx, &key);
		if (r == -EKEYREJECTED)
			f->st.auth_failures++;
		proto_error(f, "%s at RX offset %llu: %s",
			    f->rx_type == QKD_MSG_ACK_HELLO ? "ACK_HELLO" : "ACK",
			    (unsigned long long)off,
			    r == -EKEYREJECTED ? "tag does not verify" : strerror(-r));
		return;
	}
	if (f->rx_type == QKD_MSG_ACK_HELLO) {
		memcpy(f->r2, key.bytes, QKD_R_LEN);
		f->have_r2 = true;
		f->rx_epoch = f->rx_hello.epoch;
		f->rx_cursor = f->rx_hello.r_offset + QKD_HELLO_KEY_LEN;
		f->st.sessions_ok++;
		f->backoff_ms = f->a->cfg->ledger.reconnect_min_ms;
		ag_log(LOG_INFO, "ledger session %016llx ready (epoch %llu)",
		       (unsigned long long)f->sid, (unsigned long long)f->epoch);
	} else {
		f->rx_cursor = f->rx_ack.key_offset + QKD_ACK_KEY_LEN;
		ack_done(f, &f->rx_ack);
	}
	qkd_keysrc_release(f->a->krx, &key);
	qkd_wipe(f->rx_msg, sizeof(f->rx_msg));
	fwd_rx_process(f);
}
