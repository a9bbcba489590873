// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-recv, the test receiver (a stand-in for qkd-ledgerd): shared between
 * qkd-recv.c (command line, listening socket, output) and
 * qkd_recv_session.c (one session of the wire protocol).
 */
#ifndef QKD_RECV_H
#define QKD_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "keymem.h"

/* Key buffer: a TX header and the largest key one read returns, and more. */
#define QKD_KEYSRC_BUF	(24 + 65536 + 32)

struct recv_ctx {
	const char *link;	/* our link name: the peer of the gateway's */
	const char *dev;
	int rxfd, txfd;		/* /dev/qkdkey bound to RX and to TX */
	unsigned int ack_every;	/* ack at least every this many frames */
	unsigned int ack_delay_ms; /* sleep before each ack (tests: resends) */
	uint64_t corrupt_ack;	/* flip a tag bit of this ack (tests); 0: none */
	uint64_t acks_total;	/* acks sent, all sessions */
	struct qkd_keymem km;	/* r, r' and the key buffer */
	uint8_t *r, *r2, *key;
	size_t key_size;
	uint8_t *msg;		/* one message, QKD_FRAME_MAX */
	uint8_t *payload;	/* plaintext, QKD_PAYLOAD_MAX */
	/* counters of the current session */
	uint64_t frames, fresh, dups, acks;
};

/* Binds fd to dir of c->link; 0 or -errno. */
int recv_bind(struct recv_ctx *c, int fd, uint32_t dir);
/*
 * Runs one session on a connected socket until the peer closes it (0) or
 * a check fails (-errno, reason on stderr). Calls recv_record() for every
 * verified and decrypted frame.
 */
int recv_session(struct recv_ctx *c, int sock);
/* Records a frame: returns true if (device id, device seq) is new. */
bool recv_record(struct recv_ctx *c, const struct qkd_data_hdr *h,
		 const uint8_t *payload);

#endif /* QKD_RECV_H */
