// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd: the receiver rules of Documentation/wire-format.rst, one
 * message at a time. Phase 1 and 2 (form, then state) use no key; for DATA
 * the ledger's key accounting (ledger_check_key) comes next, still without
 * key, so that a replayed or key-reusing frame is named as such before any
 * RX byte is spent; then the RX key is asked for (ledgerd_rxkey.c: only
 * once delivered, and refused beyond key_window), the tag verified, the
 * payload decrypted and the record staged in the ledger.
 * Every rejection records a security event and ends the session; the
 * gateway reconnects with a new r and resends what was not acked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <linux/qkdkey.h>

#include <sodium.h>

#include "ledger.h"
#include "ledgerd.h"

static const char *const ev_names[] = {
	[LEDGER_EV_BAD_TAG] = "bad tag",
	[LEDGER_EV_REPLAY] = "replay",
	[LEDGER_EV_KEY_REUSE] = "KEY REUSE",
	[LEDGER_EV_WRONG_EPOCH] = "wrong epoch",
	[LEDGER_EV_UNKNOWN_GATEWAY] = "unknown gateway",
	[LEDGER_EV_PROTOCOL] = "protocol error",
};

void ld_reject(struct ld_session *s, int kind, const char *fmt, ...)
{
	struct ledgerd *d = s->d;
	char why[160], detail[200], err[256];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* printable ASCII, at most 199 bytes: what ledger_event() takes */
	snprintf(detail, sizeof(detail), "%.63s %016llx: %.117s", s->peer,
		 (unsigned long long)s->sid, why);
	r = ledger_event(d->l, (enum ledger_event_kind)kind,
			 s->gw ? s->gw->cfg->name : NULL, detail, err, sizeof(err));
	if (r) {
		ld_log(LOG_ERR, "recording a security event failed: %s", err);
		if (r == -EIO)
			ld_fatal(d, "ledger", r);
	}
	d->commit_now = true;	/* events are committed at the end of the turn */
	d->st.events++;
	d->st.rejected++;
	ld_log(kind == LEDGER_EV_KEY_REUSE ? LOG_CRIT : LOG_WARNING,
	       "%s%s: %s: %s", kind == LEDGER_EV_KEY_REUSE ? "ALARM: " : "",
	       s->gw ? s->gw->cfg->name : "?",
	       kind > 0 && kind <= LEDGER_EV_PROTOCOL ? ev_names[kind] : "event",
	       detail);
	ld_sess_close(s, ev_names[kind > 0 && kind <= LEDGER_EV_PROTOCOL ? kind : 1]);
}

static struct ld_gw *gw_by_peer_link(struct ledgerd *d, const char *name)
{
	for (unsigned int i = 0; i < d->ngw; i++)
		if (!strncmp(d->gw[i].cfg->peer_link, name, QKD_LINK_NAME_LEN))
			return &d->gw[i];
	return NULL;
}

static void msg_hello(struct ld_session *s, const uint8_t *m)
{
	struct qkd_hello *h = &s->h;
	struct qkdkey_link_info li;
	struct ld_gw *g;
	uint64_t ep;
	int r;

	r = qkd_hello_parse(m, s->mlen, h);
	if (r || h->type != QKD_MSG_HELLO) {
		ld_reject(s, LEDGER_EV_PROTOCOL, "malformed HELLO: %s",
			  strerror(r ? -r : EPROTO));
		return;
	}
	s->sid = h->session_id;
	g = gw_by_peer_link(s->d, h->link_name);
	if (!g) {
		ld_reject(s, LEDGER_EV_UNKNOWN_GATEWAY,
			  "HELLO for link %.15s: no [gateway] has that peer_link",
			  h->link_name);
		return;
	}
	s->gw = g;
	ep = qkd_keysrc_epoch(g->krx);
	if (h->epoch != ep) {
		/* our RX file may predate an epoch change: bind again */
		r = qkd_keysrc_rebind(g->krx);
		ep = qkd_keysrc_epoch(g->krx);
		if (r == -EBUSY && !qkd_keysrc_link_info(g->krx, &li) &&
		    li.epoch == h->epoch) {
			ld_sess_close(s, "RX key file busy with the old epoch");
			return;
		}
		if (h->epoch != ep) {
			ld_reject(s, LEDGER_EV_WRONG_EPOCH,
				  "HELLO epoch %llu, link %s is at epoch %llu",
				  (unsigned long long)h->epoch, g->cfg->link,
				  (unsigned long long)ep);
			return;
		}
	}
	ld_rx_request(s, h->epoch, h->r_offset, QKD_HELLO_KEY_LEN);
}

static void msg_data(struct ld_session *s, const uint8_t *m)
{
	struct qkd_data_hdr *dh = &s->dh;
	char err[256];
	uint32_t klen;
	int r;

	r = qkd_data_parse(m, s->mlen, dh);
	if (r) {
		ld_reject(s, LEDGER_EV_PROTOCOL, "malformed DATA: %s", strerror(-r));
		return;
	}
	if (dh->session_id != s->sid) {
		ld_reject(s, LEDGER_EV_PROTOCOL, "DATA of session %016llx",
			  (unsigned long long)dh->session_id);
		return;
	}
	if (dh->epoch != s->epoch) {
		ld_reject(s, LEDGER_EV_WRONG_EPOCH, "DATA epoch %llu, session epoch %llu",
			  (unsigned long long)dh->epoch, (unsigned long long)s->epoch);
		return;
	}
	if (dh->seq != s->seq + 1 || dh->key_offset < s->cursor) {
		ld_reject(s, dh->seq <= s->seq || dh->key_offset < s->cursor ?
			  LEDGER_EV_REPLAY : LEDGER_EV_PROTOCOL,
			  "DATA seq %llu key offset %llu, expected seq %llu offset >= %llu",
			  (unsigned long long)dh->seq,
			  (unsigned long long)dh->key_offset,
			  (unsigned long long)s->seq + 1,
			  (unsigned long long)s->cursor);
		return;
	}
	if (QKD_DATA_KEY_LEN(dh->payload_len) > LD_RX_KEY_MAX) {
		ld_reject(s, LEDGER_EV_PROTOCOL,
			  "DATA payload %u: its key does not fit one read",
			  dh->payload_len);
		return;
	}
	klen = (uint32_t)QKD_DATA_KEY_LEN(dh->payload_len);
	crypto_hash_sha256(s->ct_hash, m + QKD_DATA_FIXED_LEN + dh->device_id_len,
			   dh->payload_len);
	r = ledger_check_key(s->d->l, s->gw->cfg->name, dh->epoch,
			     dh->key_offset, klen, s->ct_hash);
	if (r == -EALREADY) {
		ld_reject(s, LEDGER_EV_REPLAY, "key %llu+%u already used for this ciphertext",
			  (unsigned long long)dh->key_offset, klen);
		return;
	}
	if (r == -EKEYREVOKED) {
		ld_reject(s, LEDGER_EV_KEY_REUSE,
			  "key %llu+%u already used for another ciphertext",
			  (unsigned long long)dh->key_offset, klen);
		return;
	}
	if (r) {
		snprintf(err, sizeof(err), "ledger key check: %s", strerror(-r));
		ld_fatal(s->d, err, r);
		ld_sess_close(s, "ledger failure");
		return;
	}
	ld_rx_request(s, dh->epoch, dh->key_offset, klen);
}

void ld_proto_msg(struct ld_session *s, enum qkd_msg_type t)
{
	const uint8_t *m = s->ibuf + s->ioff;

	if (s->state == LS_HELLO && t == QKD_MSG_HELLO)
		msg_hello(s, m);
	else if (s->state == LS_OPEN && t == QKD_MSG_DATA)
		msg_data(s, m);
	else
		ld_reject(s, LEDGER_EV_PROTOCOL, "unexpected message type %d%s",
			  (int)t, s->state == LS_HELLO ? " before the HELLO" : "");
}

static void hello_done(struct ld_session *s, struct qkd_key *key)
{
	struct ld_gw *g = s->gw;
	int r = qkd_hello_verify(s->ibuf + s->ioff, s->mlen, key->bytes);
	uint64_t off = key->offset;

	if (!r)
		memcpy(s->r, key->bytes, QKD_R_LEN);
	qkd_keysrc_release(g->krx, key);	/* wipes r || s_hello */
	if (r) {
		ld_reject(s, r == -EKEYREJECTED ? LEDGER_EV_BAD_TAG : LEDGER_EV_PROTOCOL,
			  "HELLO at RX offset %llu: %s", (unsigned long long)off,
			  r == -EKEYREJECTED ? "tag does not verify" : strerror(-r));
		return;
	}
	if (g->sess && g->sess != s)
		ld_sess_close(g->sess, "replaced by a new session of its gateway");
	g->sess = s;
	s->epoch = s->h.epoch;
	s->cursor = s->h.r_offset + QKD_HELLO_KEY_LEN;
	s->state = LS_OPEN;
	s->d->st.sessions++;
	ld_log(LOG_INFO, "%s: session %016llx of gateway %s (link %s, epoch %llu)",
	       s->peer, (unsigned long long)s->sid, g->cfg->name, g->cfg->link,
	       (unsigned long long)s->epoch);
	r = qkd_keysrc_request(g->ktx, QKD_HELLO_KEY_LEN, ld_cookie(s));
	if (r) {
		ld_log(LOG_ERR, "%s: TX key for the ACK_HELLO: %s", s->peer, strerror(-r));
		ld_sess_close(s, "no TX key source slot");
		return;
	}
	s->ahello_wait = true;
}

static void data_done(struct ld_session *s, struct qkd_key *key)
{
	struct ledgerd *d = s->d;
	struct qkd_data_hdr *dh = &s->dh;
	struct ledger_result res;
	struct ledger_record rec = {
		.gateway = s->gw->cfg->name,
		.epoch = dh->epoch,
		.key_offset = dh->key_offset,
		.key_len = key->len,
		.device_id = dh->device_id,
		.device_id_len = dh->device_id_len,
		.device_seq = dh->device_seq,
		.device_time = dh->device_time,
		.payload = d->payload,
		.payload_len = dh->payload_len,
	};
	char err[256];
	int r;

	r = qkd_data_open(s->ibuf + s->ioff, s->mlen, s->r, key->bytes, key->len,
			  d->payload, QKD_PAYLOAD_MAX);
	qkd_keysrc_release(s->gw->krx, key);	/* wipes pad || s */
	if (r < 0) {
		ld_reject(s, r == -EKEYREJECTED ? LEDGER_EV_BAD_TAG : LEDGER_EV_PROTOCOL,
			  "DATA at key offset %llu: %s",
			  (unsigned long long)dh->key_offset,
			  r == -EKEYREJECTED ? "tag does not verify" : strerror(-r));
		return;
	}
	memcpy(rec.ct_hash, s->ct_hash, sizeof(rec.ct_hash));
	memcpy(rec.integrity, dh->integrity, sizeof(rec.integrity));
	r = ledger_append(d->l, &rec, &res, err, sizeof(err));
	qkd_wipe(d->payload, dh->payload_len);
	if (r) {
		ld_log(LOG_ERR, "%s: ledger append: %s", s->peer, err);
		if (r == -EIO)
			ld_fatal(d, "ledger append", r);
		ld_sess_close(s, "the ledger refused the record");
		return;
	}
	s->cursor = dh->key_offset + key->len;
	s->seq = dh->seq;
	s->frames++;
	d->st.frames++;
	if (res.verdict == LEDGER_APPENDED) {
		s->appended++;
		d->st.appended++;
	} else if (res.verdict == LEDGER_DUPLICATE) {
		s->dups++;
		d->st.duplicates++;
	} else {
		d->st.unknown_devices++;
	}
	if (res.flags & LEDGER_F_INTEGRITY)
		ld_log(LOG_WARNING, "gateway %s: device %.*s seq %llu: integrity code changed (entry %llu)",
		       s->gw->cfg->name, dh->device_id_len, (const char *)dh->device_id,
		       (unsigned long long)dh->device_seq, (unsigned long long)res.index);
	if (!d->staged++)
		d->staged_at = ld_now_ms();
}

void ld_proto_key_rx(struct ledgerd *d, struct ld_gw *g,
		     const struct io_uring_cqe *cqe)
{
	struct ld_session *s;
	struct qkd_key key;
	int r = qkd_keysrc_complete(g->krx, cqe, &key);

	if (r == 0 || r == -ENOENT)
		return;
	s = ld_sess_by_cookie(d, key.cookie);
	if (!s || s->closing || !s->key_wait || s->gw != g) {
		if (r == 1)
			qkd_keysrc_release(g->krx, &key);	/* a closed session's */
		if (r == -ESTALE && qkd_keysrc_rebind(g->krx) == 0)
			ld_log(LOG_INFO, "link %s: RX file bound to the new epoch", g->cfg->link);
		return;
	}
	s->key_wait = false;
	if (r < 0) {
		if (r == -ESTALE) {
			qkd_keysrc_rebind(g->krx);	/* -EBUSY: at the next HELLO */
			ld_reject(s, LEDGER_EV_WRONG_EPOCH, "link %s changed epoch",
				  g->cfg->link);
		} else if (r == -ENOKEY) {
			ld_reject(s, LEDGER_EV_REPLAY,
				  "RX key already consumed or expired");
		} else {
			ld_log(LOG_ERR, "link %s: RX key read: %s", g->cfg->link,
			       strerror(-r));
			ld_sess_close(s, "RX key read failed");
		}
		return;
	}
	if (s->state == LS_HELLO)
		hello_done(s, &key);
	else
		data_done(s, &key);
	if (s->closing)
		return;
	s->ioff += s->mlen;
	s->mlen = 0;
	ld_sess_process(s);
}
