// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-rogue-gw, a malicious gateway for qkd-ledgerd's tests: its state and
 * its key and socket I/O (ledgerd_rogue_io.c). See ledgerd_rogue_gw.c.
 */
#ifndef QKD_LEDGERD_ROGUE_H
#define QKD_LEDGERD_ROGUE_H

#include <stdint.h>
#include <linux/qkdkey.h>

#include "frame.h"

struct rogue {
	const char *host, *port, *link, *dev, *id;
	uint64_t dseq, jump, window;
	unsigned int count, timeout;
	int kfd, sfd;
	uint64_t sid, epoch, seq;	/* the session */
	uint32_t link_id;
	uint8_t r[QKD_R_LEN];
	uint32_t acked;			/* records acked, all sessions */
};

/* The message being sent or received; the key of the frame being sealed. */
extern uint8_t rg_msg[QKD_FRAME_MAX], rg_key[512];

/* len TX key bytes into rg_key; their epoch and offset in *h. */
int rg_tx_key(struct rogue *g, uint32_t len, struct qkdkey_tx_hdr *h);
/* The link's next TX offset and (end non-NULL) its delivered TX end. */
int rg_tx_next(struct rogue *g, uint64_t *next, uint64_t *end);
/* Takes TX key (wiped at once) until the stream is delivered up to end. */
int rg_tx_drain(struct rogue *g, uint64_t end);
int rg_send_all(struct rogue *g, const uint8_t *p, size_t len);
/* One message into rg_msg: its length, 0 on EOF or reset, -errno
 * (-EAGAIN: --timeout passed). */
int rg_recv_msg(struct rogue *g, enum qkd_msg_type *t);
int rg_connect_ledger(struct rogue *g);
/* Closes the connection and wipes the session's r. */
void rg_disconnect(struct rogue *g);

#endif /* QKD_LEDGERD_ROGUE_H */
