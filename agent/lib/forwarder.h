// SPDX-License-Identifier: GPL-2.0
/*
 * The forwarder of qkd-agent: one TCP session to the ledger per QKD link
 * (DESIGN.md §3-4, Documentation/wire-format.rst).
 *
 *   connect        non-blocking, with connect_timeout; after a failure or
 *                  a lost session wait reconnect_min, doubling up to
 *                  reconnect_max (reset once a session's ACK_HELLO verifies)
 *   session        HELLO sealed with 32 fresh TX key bytes (r || s_hello)
 *   data           every durable spool record from ack + 1 on, in spool
 *                  order, sealed with exactly payload_len + 16 fresh TX key
 *                  bytes, frame seqs 1, 2, ...
 *   acks           ACK_HELLO, then cumulative ACKs, each verified with key
 *                  from this host's RX stream (the ledger's TX) read by
 *                  offset; a verified ack -> spool_ack() (which trims)
 *   failure        a bad tag, a protocol error, an epoch change or a lost
 *                  connection ends the session: socket closed, r and r'
 *                  wiped, key already read for it destroyed; the next
 *                  session re-reads unacked records from the spool and
 *                  seals them again with fresh key (no key byte is used
 *                  twice)
 *
 * Key reads are exact-size requests chained with IOSQE_IO_LINK, so that
 * they complete in request order and the key offsets of a session grow
 * with the frame seqs, as the receiver requires; a new chain starts only
 * when the previous one has completed. While the link is in ALARM or the
 * pool is empty the reads wait in the kernel: nothing is sealed or sent.
 */
#ifndef QKD_AGENT_FORWARDER_H
#define QKD_AGENT_FORWARDER_H

#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

struct agent;
struct fwd;

struct fwd_stats {
	uint64_t connects;		/* TCP connections made */
	uint64_t connect_errors;	/* failed or timed-out connects */
	uint64_t sessions;		/* sessions started (HELLO queued) */
	uint64_t sessions_ok;		/* sessions whose ACK_HELLO verified */
	uint64_t sessions_dropped;	/* sessions ended by an error */
	uint64_t auth_failures;		/* ACK/ACK_HELLO tags that failed */
	uint64_t protocol_errors;	/* malformed or unexpected messages */
	uint64_t epoch_changes;		/* sessions ended by a new epoch */
	uint64_t frames;		/* DATA frames sealed and queued */
	uint64_t frame_bytes;
	uint64_t acks;			/* verified ACKs */
	uint64_t acked_records;		/* spool records they acknowledged */
	uint64_t tx_key_bytes;		/* TX key used: hellos and frames */
	uint64_t rx_key_bytes;		/* RX key used: ack hellos and acks */
	uint64_t key_discarded;		/* keys destroyed unused (old session) */
	uint64_t key_bytes_discarded;
	uint64_t key_errors;		/* key reads that failed */
};

int fwd_open(struct fwd **out, struct agent *a);
void fwd_close(struct fwd *f);

/* Makes progress: connects when due, reads records, asks for key, sends. */
void fwd_pump(struct fwd *f, uint64_t now);
/* The TCP socket is ready (revents of the poll). */
void fwd_on_poll(struct fwd *f, unsigned int revents);
/* CQEs of the TX and RX key sources. */
void fwd_on_key_tx(struct fwd *f, const struct io_uring_cqe *cqe);
void fwd_on_key_rx(struct fwd *f, const struct io_uring_cqe *cqe);
/* What to poll: returns the fd (-1: nothing), its events and generation. */
int fwd_poll_want(const struct fwd *f, unsigned int *events, uint64_t *gen);
/* The next time fwd_pump() must run (0: none). */
uint64_t fwd_deadline(const struct fwd *f);
/* Ends the session for a shutdown; no reconnect afterwards. */
void fwd_stop(struct fwd *f);

void fwd_get_stats(const struct fwd *f, struct fwd_stats *st);
/* "disconnected", "connecting", "open", "ready" (ACK_HELLO verified),
 * "stopped" */
const char *fwd_state_name(const struct fwd *f);
/* Frames sealed and not yet acked in this session. */
uint64_t fwd_unacked(const struct fwd *f);
/* True while key reads of the session are waiting in the kernel. */
bool fwd_waiting_for_key(const struct fwd *f);

#endif /* QKD_AGENT_FORWARDER_H */
