// SPDX-License-Identifier: GPL-2.0
/*
 * Unix datagram socket ingest of qkd-agent (DESIGN.md §4), for simple local
 * senders. Documentation/ingest.rst describes the protocol; in short:
 *
 *   - one datagram = one record in the payload format of payload.h;
 *   - the sender must have an address the gateway can answer to: bind its
 *     socket to a path, or autobind (bind with only sun_family, or set
 *     SO_PASSCRED, to get an abstract "\0xxxxx" name);
 *   - the answer is one datagram, plain ASCII without a newline:
 *       "ACK <device seq>"        the record is durable in the spool;
 *       "ERR <code> <reason>"     it was not taken (code: enum qkd_pl_err).
 *     ACK is sent only once the spool says the record is durable; ERR for
 *     a malformed record or a full spool is sent at once.
 *   - a sender without an address gets no answer; its well-formed records
 *     are still taken (counted in stats.unaddressed).
 *
 * Event loop use (the fd is non-blocking; nothing here blocks):
 *
 *	ingest_unix_open(&opts, &iu, err, sizeof(err));
 *	loop:
 *	  poll ingest_unix_fd(iu) for POLLIN while ingest_unix_want_read(iu)
 *	  on POLLIN:       ingest_unix_on_readable(iu);   (calls opts.submit)
 *	  after a commit:  ingest_unix_durable(iu, spool_durable_seq(sp));
 *	  commit failed:   ingest_unix_fail_pending(iu);
 *
 * Not thread-safe: one event loop owns it.
 */
#ifndef QKD_INGEST_UNIX_H
#define QKD_INGEST_UNIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "payload.h"

struct ingest_unix;

struct ingest_unix_opts {
	/* Socket path (not abstract), at most 107 bytes. A stale socket
	 * there (nobody bound to it) is replaced; a live one, or anything
	 * that is not a socket, makes open fail. */
	const char *path;
	/* Permission bits of the socket file (senders need write
	 * permission); 0 means 0660. The file's group is the process's
	 * (systemd: Group=); the caller may chown(path) after open. */
	mode_t mode;
	/* Replies waiting for their record to be durable; when this many
	 * are waiting, ingest_unix_want_read() is false and on_readable()
	 * reads nothing (senders then see their socket fill up: back
	 * pressure). 0 means 1024. */
	unsigned int max_pending;
	/* Datagrams handled per ingest_unix_on_readable() call; 0: 64. */
	unsigned int batch;
	/* SO_RCVBUF; 0 keeps the kernel default. */
	int rcvbuf;
	qkd_ingest_submit_fn submit;	/* required */
	qkd_ingest_log_fn log;		/* optional */
	void *ctx;			/* passed to both */
};

struct ingest_unix_stats {
	uint64_t received;	/* datagrams read */
	uint64_t accepted;	/* records handed to submit() and taken */
	uint64_t acked;		/* records acked (an ACK sent, or tried) */
	uint64_t rejected;	/* malformed or oversize: ERR sent */
	uint64_t refused;	/* submit() failed: ERR sent */
	uint64_t failed;	/* pending records failed by fail_pending() */
	uint64_t unaddressed;	/* from a sender without an address */
	uint64_t reply_errors;	/* a reply could not be sent (dropped) */
	uint64_t pending;	/* replies now waiting for durability */
	uint64_t by_code[QKD_PL_E_MAX];	/* rejected + refused, per code */
};

/*
 * 0, or a negative errno with a one-line reason in err (if not NULL):
 * -EINVAL bad options, -ENAMETOOLONG path too long, -EADDRINUSE another
 * process is bound to path, -EEXIST path is not a socket, -ENOMEM, or
 * the errno of socket/bind/chmod.
 */
int ingest_unix_open(const struct ingest_unix_opts *opts,
		     struct ingest_unix **out, char *err, size_t errlen);

/* Closes the socket and unlinks the path if it is still this socket.
 * Waiting replies are dropped: their senders time out and re-send (the
 * ledger removes duplicates). */
void ingest_unix_close(struct ingest_unix *iu);

int ingest_unix_fd(const struct ingest_unix *iu);

/* False while the pending reply queue is full. */
bool ingest_unix_want_read(const struct ingest_unix *iu);

/*
 * Reads and handles up to opts.batch datagrams (fewer if the socket runs
 * dry or the pending queue fills). Returns how many were read, or a
 * negative errno from recvmsg (not -EAGAIN).
 */
int ingest_unix_on_readable(struct ingest_unix *iu);

/* Every record with spool seq <= durable_seq is durable: sends their ACKs.
 * Returns how many replies left the queue. */
unsigned int ingest_unix_durable(struct ingest_unix *iu, uint64_t durable_seq);

/*
 * The spool could not make the waiting records durable (a failed commit
 * that will not be retried, e.g. -EIO): answers every waiting record with
 * "ERR 33 ..." so that its sender re-sends, and empties the queue. Call it
 * before reopening the spool, whose seqs may then be given again.
 */
void ingest_unix_fail_pending(struct ingest_unix *iu);

void ingest_unix_get_stats(const struct ingest_unix *iu,
			   struct ingest_unix_stats *st);

#endif /* QKD_INGEST_UNIX_H */
