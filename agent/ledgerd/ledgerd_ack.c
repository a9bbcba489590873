// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd: the ack channel of a session. The ACK_HELLO carries our own
 * r' || s'_hello (32 bytes of this host's TX stream of the link, which the
 * gateway reads from its RX stream by offset); each ACK costs 16 fresh TX
 * bytes for its s. An ack is asked for only when the session has frames
 * that a successful ledger_commit() made durable and that were not acked
 * yet (ledgerd_loop.c); ack_seq is the session's durable seq when the key
 * arrives, so one ack covers every frame committed by then. At most one TX
 * read per session is in flight: the ACK_HELLO's, then one ack's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "ledgerd.h"

static void tx_done(struct ld_session *s, struct qkd_key *key)
{
	struct ld_gw *g = s->gw;
	uint8_t out[QKD_HELLO_LEN];
	int r;

	if (s->ahello_wait) {
		struct qkd_hello ah = {
			.type = QKD_MSG_ACK_HELLO, .session_id = s->sid,
			.epoch = key->epoch, .r_offset = key->offset,
			.link_id = key->link_id,
		};

		memcpy(ah.link_name, g->cfg->link, strlen(g->cfg->link));
		r = qkd_hello_seal(out, sizeof(out), &ah, key->bytes);
		memcpy(s->r2, key->bytes, QKD_R_LEN);
		s->tx_epoch = key->epoch;
		s->ahello_wait = false;
		s->have_r2 = r >= 0;
	} else {
		struct qkd_ack a = {
			.session_id = s->sid, .ack_seq = s->committed,
			.epoch = key->epoch, .key_offset = key->offset,
		};

		s->ack_wait = false;
		/* the gateway holds r' for our TX epoch of its session */
		r = key->epoch == s->tx_epoch ?
		    qkd_ack_seal(out, sizeof(out), &a, s->r2, key->bytes) : -ESTALE;
		if (r >= 0) {
			s->acked = a.ack_seq;
			s->d->st.acks++;
		}
	}
	qkd_keysrc_release(g->ktx, key);
	if (r < 0) {
		ld_log(LOG_WARNING, "%s: sealing an ack: %s", s->peer, strerror(-r));
		ld_sess_close(s, r == -ESTALE ? "our TX epoch changed" : "ack seal failed");
		return;
	}
	if (!ld_sess_queue(s, out, (size_t)r))
		ld_proto_want_ack(s);
}

void ld_proto_key_tx(struct ledgerd *d, struct ld_gw *g,
		     const struct io_uring_cqe *cqe)
{
	struct ld_session *s;
	struct qkd_key key;
	int r = qkd_keysrc_complete(g->ktx, cqe, &key);

	if (r == 0 || r == -ENOENT)
		return;
	s = ld_sess_by_cookie(d, key.cookie);
	if (!s || s->closing || s->gw != g || (!s->ahello_wait && !s->ack_wait)) {
		if (r == 1)
			qkd_keysrc_release(g->ktx, &key);
		return;
	}
	if (r < 0) {
		s->ahello_wait = s->ack_wait = false;
		ld_log(LOG_ERR, "link %s: TX key read: %s", g->cfg->link, strerror(-r));
		ld_sess_close(s, "TX key read failed");
		return;
	}
	tx_done(s, &key);
}

void ld_proto_want_ack(struct ld_session *s)
{
	int r;

	if (s->closing || !s->have_r2 || s->ack_wait || s->committed <= s->acked)
		return;
	r = qkd_keysrc_request(s->gw->ktx, QKD_ACK_KEY_LEN, ld_cookie(s));
	if (r == -EBUSY)
		return;		/* no free buffer: at the next turn */
	if (r) {
		ld_log(LOG_ERR, "%s: TX key for an ack: %s", s->peer, strerror(-r));
		ld_sess_close(s, "no TX key for acks");
		return;
	}
	s->ack_wait = true;
}
