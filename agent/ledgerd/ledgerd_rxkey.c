// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd: asking for a message's RX key so that no frame can stall
 * the others.
 *
 * A read of RX bytes that are not delivered yet waits in the kernel, and
 * the key source serves a gateway's reads in order and cannot cancel one:
 * a read for a frame naming key far ahead would hold back every later RX
 * read of that gateway, a new session's HELLO included. The tag cannot be
 * checked before the key is read, so the offset is all there is to judge.
 * A real gateway only uses TX key delivered at its end, and both ends are
 * delivered the same bytes at about the same time, so:
 *
 *  - a range ending more than key_window past what our RX stream has been
 *    delivered (QKDKEY_IOC_LINK_INFO rx_end) is refused: a security event,
 *    the session ends, nothing is read;
 *  - a range within the window but not delivered yet (the delivery skew)
 *    is not asked for yet: the session parks it, and the loop looks at
 *    rx_end again every LD_PARK_POLL_MS until it is delivered. So the key
 *    source only ever holds reads of delivered bytes, which do not wait.
 *    Delivery stops while the gateway's TX pool is full (a card with a
 *    full key store stops distilling), so a parked range may never come;
 *    the session then holds only itself, and the gateway's next session
 *    replaces it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>
#include <linux/qkdkey.h>

#include "ledger.h"
#include "ledgerd.h"

/* Whether [off, off + len) ends at most win past rx_end. */
static bool in_window(uint64_t off, uint32_t len, uint64_t rx_end, uint64_t win)
{
	uint64_t end = off + len;

	return end >= off && (rx_end > UINT64_MAX - win || end <= rx_end + win);
}

/* 0: ask for it now (delivered, or of another epoch: that read fails with
 * ESTALE at once); 1: within the window, not delivered yet; -errno: refused
 * or failed, the session is closed. */
static int rx_check(struct ld_session *s, uint64_t epoch, uint64_t off,
		    uint32_t len)
{
	uint64_t win = s->d->cfg->key_window;
	struct ld_gw *g = s->gw;
	struct qkdkey_link_info li;
	int r;

	/* rx_end seen before is a lower bound within its epoch (ledgerd.h) */
	if (g->rx_epoch == epoch && in_window(off, len, g->rx_end, 0))
		return 0;
	r = qkd_keysrc_link_info(g->krx, &li);
	if (r) {
		ld_log(LOG_ERR, "link %s: RX link info: %s", g->cfg->link,
		       strerror(-r));
		ld_sess_close(s, "RX link info failed");
		return r;
	}
	g->rx_end = li.rx_end;
	g->rx_epoch = li.epoch;
	if (li.epoch != epoch || in_window(off, len, li.rx_end, 0))
		return 0;
	if (in_window(off, len, li.rx_end, win))
		return 1;
	ld_reject(s, LEDGER_EV_PROTOCOL,
		  "key offset beyond the delivered stream + window: %llu+%u, delivered %llu, window %llu",
		  (unsigned long long)off, len, (unsigned long long)li.rx_end,
		  (unsigned long long)win);
	return -ERANGE;
}

void ld_rx_request(struct ld_session *s, uint64_t epoch, uint64_t off,
		   uint32_t len)
{
	int r = rx_check(s, epoch, off, len);

	if (r < 0)
		return;
	if (r > 0) {
		if (!s->key_park)
			ld_log(LOG_DEBUG, "%s: RX key %llu+%u not delivered yet: waiting for it",
			       s->peer, (unsigned long long)off, len);
		s->key_park = true;
		s->park_epoch = epoch;
		s->park_off = off;
		s->park_len = len;
		return;
	}
	s->key_park = false;
	r = qkd_keysrc_request_at(s->gw->krx, epoch, off, len, ld_cookie(s));
	if (r == -ESTALE) {
		ld_reject(s, LEDGER_EV_WRONG_EPOCH, "epoch %llu is not the link's",
			  (unsigned long long)epoch);
		return;
	}
	if (r) {
		ld_log(LOG_WARNING, "%s: RX key read at %llu+%u: %s", s->peer,
		       (unsigned long long)off, len, strerror(-r));
		ld_sess_close(s, "RX key source busy");
		return;
	}
	s->key_wait = true;
}

void ld_rx_park_check(struct ld_session *s)
{
	if (s->key_park && !s->closing)
		ld_rx_request(s, s->park_epoch, s->park_off, s->park_len);
}
