// SPDX-License-Identifier: GPL-2.0
/*
 * Forwarder internals shared by forwarder.c (connection, session, output),
 * forwarder_key.c (key pipeline, sealing) and forwarder_rx.c (ACK_HELLO
 * and ACK verification).
 */
#ifndef QKD_AGENT_FORWARDER_INT_H
#define QKD_AGENT_FORWARDER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_loop.h"
#include "forwarder.h"
#include "frame.h"
#include "keymem.h"
#include "spool.h"

/* Frames sealed and not yet acked, at most (a power of two: seq map). */
#define FWD_WINDOW		4096u
/* Stop sealing while this many bytes wait to be written to the socket. */
#define FWD_OBUF_HIGH		(1u << 20)
/* Input buffer: a few acks. */
#define FWD_IBUF		(4 * QKD_HELLO_LEN)

enum fwd_state {
	FS_IDLE,		/* no connection; reconnect at retry_at */
	FS_CONNECTING,		/* connect() in progress */
	FS_OPEN,		/* session running */
	FS_STOPPED,		/* shut down */
};

enum fe_kind { FE_HELLO, FE_DATA };
enum fe_state { FE_WANT, FE_READING };

/* A record (or the hello) waiting for its key. */
struct fwd_entry {
	uint8_t kind;		/* enum fe_kind */
	uint8_t state;		/* enum fe_state */
	uint32_t id;		/* in the key read's cookie */
	uint64_t spool_seq;
	struct qkd_record rec;	/* rec.payload points into buf */
	uint8_t *buf;		/* payload copy (plaintext, not key) */
	uint32_t cap;
};

struct fwd {
	struct agent *a;
	enum fwd_state state;
	int fd;
	uint64_t fd_gen;	/* bumped on every new socket */
	uint64_t retry_at;	/* FS_IDLE: connect at */
	uint64_t conn_deadline;	/* FS_CONNECTING: give up at */
	uint32_t backoff_ms;
	char last_why[96];	/* last connect failure logged */

	/* Session. gen is in every key cookie: keys of an ended session
	 * are destroyed when they arrive. */
	uint32_t gen;
	uint64_t sid;
	uint64_t epoch;		/* TX epoch: the hello key's */
	bool have_r;		/* HELLO sealed */
	bool have_r2;		/* ACK_HELLO verified */
	struct qkd_keymem km;	/* r and r', locked and not dumped */
	uint8_t *r, *r2;
	uint64_t seq;		/* last frame seq sealed */
	uint64_t acked;		/* last ack_seq verified */
	uint64_t map[FWD_WINDOW];	/* frame seq -> spool seq */
	uint64_t rx_epoch;	/* the ledger's TX epoch (ACK_HELLO) */
	uint64_t rx_cursor;	/* end of the last RX key range used */

	/* Key pipeline, in spool order. */
	struct fwd_entry *pipe;
	unsigned int pcap, phead, pcount;
	uint32_t next_id;
	unsigned int reads;	/* TX key requests of this session pending */
	struct spool_iter it;
	bool it_open;

	/* Output: sealed frames not yet written. Not secret. */
	uint8_t *obuf;
	size_t olen, ooff, ocap;

	/* Input. */
	uint8_t ibuf[FWD_IBUF];
	size_t ilen;
	bool rx_wait;		/* an RX key read for rx_msg is in flight */
	uint8_t rx_msg[QKD_HELLO_LEN];
	size_t rx_len;
	uint8_t rx_type;
	struct qkd_hello rx_hello;
	struct qkd_ack rx_ack;

	struct fwd_stats st;
};

/* forwarder.c */
void fwd_drop(struct fwd *f, const char *why, bool backoff);
int fwd_obuf_reserve(struct fwd *f, size_t n);
void fwd_flush(struct fwd *f);

/* forwarder_key.c */
int fwd_pipe_init(struct fwd *f, unsigned int depth);
void fwd_pipe_free(struct fwd *f);
/* Empties the pipeline; with hello, queues the session's HELLO first. */
void fwd_pipe_reset(struct fwd *f, bool hello);
void fwd_pipe_fill(struct fwd *f);
void fwd_pipe_issue(struct fwd *f);

/* forwarder_rx.c */
void fwd_rx_read(struct fwd *f);
void fwd_rx_process(struct fwd *f);

static inline uint64_t fwd_cookie(uint32_t gen, uint32_t id)
{
	return (uint64_t)gen << 32 | id;
}

#endif /* QKD_AGENT_FORWARDER_INT_H */
