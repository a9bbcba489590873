// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's key source: /dev/qkdkey reads through a shared io_uring
 * (DESIGN.md §2 "/dev/qkdkey", §4 "Keys").
 *
 * One io_uring per daemon carries key reads, spool writes and socket I/O,
 * so the key source does not own the ring. It is given a struct io_uring
 * and a user_data tag, prepares SQEs (the event loop submits them, so reads
 * are batched with everything else), and is handed the CQEs whose tag is
 * its own.
 *
 * user_data: bits 63..56 name the owner (QKD_UD_TAG); the owner defines the
 * other 56 bits. The event loop dispatches each CQE by its tag.
 *
 * Model: exact-size requests. A sealer that needs k key bytes (a DATA frame:
 * payload_len + 16; a HELLO: 32) asks for exactly k; each request becomes
 * one read(2) of 24 + k bytes into its own registered buffer, so no key is
 * wasted and a frame's key is contiguous, as the wire format requires. Up
 * to `depth` requests are outstanding; they are served strictly in request
 * order (a large frame is not starved by small ones behind it). While the
 * pool lacks the bytes of the oldest request, or the link is DOWN or in
 * ALARM, requests wait: no key, no send. For a prefetch style, request a
 * standard size whenever a buffer is free (qkd_keysrc_refill) and cut
 * frames off the front of completed keys with qkd_key_carve(); the unused
 * tail of a key is wiped and lost at release.
 *
 * How requests wait: not as blocking reads. On 6.1, an io_uring read that
 * would block arms an internal poll and is retried at each wake-up, and
 * after 128 wake-ups that did not satisfy it (APOLL_MAX_RETRY; /dev/qkdkey
 * wakes readers at every delivery, e.g. every tick at low key rates) it is
 * handed to an io-wq worker thread (iou-wrk-*), which then blocks in
 * read(2). So all pending requests go out as one chain of RWF_NOWAIT reads
 * linked with IOSQE_IO_LINK, oldest first; if the head finds too little key
 * it completes with -EAGAIN (the rest with -ECANCELED), and a oneshot
 * IORING_OP_POLL_ADD on the file waits for the next delivery or state
 * change, then the chain is sent again. All of this is internal: the caller
 * sees each request end exactly once, with a key or an error.
 *
 * Completion: qkd_keysrc_complete(cqe) checks the TX header the kernel put
 * in front of the key (read length, key length, link id, and, within one
 * epoch, that the key starts at or after the end of every earlier key of
 * this source) and returns a struct qkd_key view into the registered
 * buffer. A new epoch is flagged with QKD_KEY_NEW_EPOCH on the first key of
 * that epoch: the sender must open a new session. qkd_keysrc_release()
 * wipes the buffer and recycles it. The buffers are keymem (mlock'ed,
 * MADV_DONTDUMP, guard pages) and are all zero whenever no key is held.
 *
 * RX helper: the same object opened with dir QKD_KEYSRC_RX reads exact
 * ranges [offset, offset + len) of the RX stream by offset
 * (qkd_keysrc_request_at), for the ledger side. -ESTALE means the link's
 * epoch moved: qkd_keysrc_rebind(), then ask again for the new epoch.
 *
 * Threading: none. Everything happens on the thread that drives the ring
 * (a ring set up with IORING_SETUP_SINGLE_ISSUER must be used from the
 * thread that created it). With IORING_SETUP_DEFER_TASKRUN, completions
 * that are not inline (the poll, the reads after the head of a chain)
 * appear only when that thread enters the kernel to wait for or get events
 * (io_uring_wait_cqe*, io_uring_submit_and_wait*, io_uring_get_events);
 * io_uring_peek_cqe alone never sees them.
 *
 * Event loop contract, per iteration: hand this source its CQEs
 * (qkd_keysrc_complete), make new requests, call qkd_keysrc_kick(), submit,
 * wait. Requests and completions only change state; kick prepares the SQEs
 * (one read chain for everything requested so far, or the poll), so all
 * requests of an iteration go to the kernel in one batch.
 *
 * Shutdown: qkd_keysrc_cancel() prepares an IORING_OP_ASYNC_CANCEL for the
 * read chain and the poll in flight and a NOP for each queued request; keep
 * handing CQEs to qkd_keysrc_complete() (requests then end with -ECANCELED,
 * or with a key that must still be released) until qkd_keysrc_inflight() is
 * 0, then qkd_keysrc_close(). Tearing down the ring with
 * io_uring_queue_exit() first is the other way out; pass
 * QKD_KEYSRC_CLOSE_RING_GONE then.
 *
 * The library logs nothing, and never key bytes; every call returns
 * 0/a count or a negative errno.
 */
#ifndef QKD_AGENT_KEYSRC_H
#define QKD_AGENT_KEYSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <liburing.h>

/* ---- user_data tags on the shared ring ---------------------------------- */

#define QKD_UD_TAG_SHIFT	56
#define QKD_UD_LOW_MASK		((UINT64_C(1) << QKD_UD_TAG_SHIFT) - 1)
#define QKD_UD_TAG(ud)		((uint8_t)((uint64_t)(ud) >> QKD_UD_TAG_SHIFT))
#define QKD_UD_MAKE(tag, low)	(((uint64_t)(uint8_t)(tag) << QKD_UD_TAG_SHIFT) | \
				 ((uint64_t)(low) & QKD_UD_LOW_MASK))

/* ---- the shared ring ---------------------------------------------------- */

/* qkd_ring_cfg.flags */
#define QKD_RING_NO_SINGLE_ISSUER	0x1	/* also implies no DEFER_TASKRUN */
#define QKD_RING_NO_DEFER_TASKRUN	0x2

struct qkd_ring_cfg {
	unsigned int entries;	/* SQ entries (the CQ gets twice as many) */
	unsigned int nr_files;	/* sparse fixed-file table to create; 0: none */
	unsigned int nr_bufs;	/* sparse registered-buffer table; 0: none */
	unsigned int flags;	/* QKD_RING_* */
};

struct qkd_ring_info {
	unsigned int setup_flags;	/* IORING_SETUP_* the ring was created with */
	unsigned int features;		/* IORING_FEAT_* the kernel reported */
	unsigned int nr_files;		/* fixed-file table size; 0: none */
	unsigned int nr_bufs;		/* registered-buffer table size; 0: none */
	bool single_issuer;		/* IORING_SETUP_SINGLE_ISSUER (6.0+) */
	bool defer_taskrun;		/* IORING_SETUP_DEFER_TASKRUN (6.1+) */
	bool coop_taskrun;		/* IORING_SETUP_COOP_TASKRUN (5.19+) */
	bool op_read;			/* IORING_OP_READ */
	bool op_read_fixed;		/* IORING_OP_READ_FIXED */
	bool op_async_cancel;		/* IORING_OP_ASYNC_CANCEL */
};

/*
 * Creates the ring with the best setup flags the running kernel accepts:
 * SINGLE_ISSUER|DEFER_TASKRUN, then SINGLE_ISSUER|COOP_TASKRUN, then
 * COOP_TASKRUN, then none; a flag set the kernel rejects with -EINVAL is
 * dropped and the next tried. Then probes the opcodes (io_uring_get_probe)
 * and creates the sparse file and buffer tables asked for; a kernel without
 * sparse tables (before 5.19) gets none (info->nr_files/nr_bufs 0), and the
 * key source then uses plain fds and buffers. Fails with -EOPNOTSUPP if
 * IORING_OP_READ or IORING_OP_ASYNC_CANCEL is missing (before 5.6); with
 * -ENOSYS/-EPERM if io_uring is unavailable or disabled. info may be NULL.
 */
int qkd_ring_init(struct io_uring *ring, const struct qkd_ring_cfg *cfg,
		  struct qkd_ring_info *info);

/* One line for the log, e.g. "setup=single_issuer,defer_taskrun files=4 ...". */
int qkd_ring_describe(const struct qkd_ring_info *info, char *buf, size_t len);

/* ---- the key source ----------------------------------------------------- */

enum qkd_keysrc_dir {
	QKD_KEYSRC_TX = 0,	/* QKDKEY_DIR_TX: keys for what we send */
	QKD_KEYSRC_RX = 1,	/* QKDKEY_DIR_RX: the peer's keys, by offset */
};

#define QKD_KEYSRC_DEPTH_MAX	256
#define QKD_KEYSRC_LEN_MAX	65536	/* QKDKEY_READ_MAX */
#define QKD_KEYSRC_TX_HDR_LEN	24	/* sizeof(struct qkdkey_tx_hdr) */

struct qkd_keysrc_cfg {
	const char *dev_path;	/* NULL: "/dev/qkdkey" */
	const char *link;	/* link name; NULL or "": by link_id */
	uint32_t link_id;	/* 0 with no name: the default link */
	uint32_t dir;		/* enum qkd_keysrc_dir */
	unsigned int depth;	/* buffers = outstanding requests, 1..DEPTH_MAX */
	uint32_t max_len;	/* largest key length of one read, 1..LEN_MAX */
	uint8_t tag;		/* user_data tag of every SQE of this source */
	int file_slot;		/* index in the ring's fixed-file table; -1: none */
	int buf_base;		/* first of `depth` registered buffers; -1: none */
};

/* qkd_key.flags */
#define QKD_KEY_NEW_EPOCH	0x1	/* first key of an epoch this source saw */

#define QKD_KEY_NO_SLOT		UINT32_MAX

/*
 * A key handed to the caller: len bytes at `bytes`, the key stream bytes
 * [offset, offset + len) of epoch `epoch` of link `link_id`. The bytes live
 * in a registered buffer and stay valid until qkd_keysrc_release().
 */
struct qkd_key {
	uint32_t link_id;
	uint32_t len;
	uint64_t epoch;
	uint64_t offset;
	uint8_t *bytes;
	uint64_t cookie;	/* the caller's, from the request */
	uint32_t flags;		/* QKD_KEY_* */
	uint32_t slot;		/* the buffer it lives in; QKD_KEY_NO_SLOT: a carved view */
};

struct qkd_keysrc_stats {
	uint64_t keys;		/* keys handed out */
	uint64_t key_bytes;	/* their bytes */
	uint64_t failed;	/* reads that completed with an error */
	uint64_t rejected;	/* reads whose header failed validation (-EPROTO) */
	uint64_t cancelled;	/* requests that ended with -ECANCELED */
	uint64_t epochs;	/* epochs seen (the first one included) */
	uint64_t retries;	/* reads that found too little key (-EAGAIN) */
	uint64_t polls;		/* poll completions: waits for key ended */
};

struct qkd_keysrc;
struct qkdkey_link_info;

/*
 * Opens cfg->dev_path, binds it (QKDKEY_IOC_BIND) to the link and
 * direction, learns the link id and epoch (QKDKEY_IOC_LINK_INFO), allocates
 * depth buffers of 24 + max_len bytes each (rounded up to pages) from
 * keymem, and installs the file and the buffers in the ring's tables at
 * file_slot and buf_base.. (io_uring_register_files_update,
 * io_uring_register_buffers_update_tag). Returns 0 with *out set, or
 * -errno: -EINVAL (bad cfg), -ENODEV (no such link), -ENOMEM, -EPERM
 * (mlock), open(2) errors, register errors (-ENXIO: no such table, -EINVAL:
 * slot out of range).
 */
int qkd_keysrc_open(struct qkd_keysrc **out, struct io_uring *ring,
		    const struct qkd_keysrc_cfg *cfg);

/* qkd_keysrc_close() flags */
#define QKD_KEYSRC_CLOSE_RING_GONE	0x1	/* the ring was already exited */

/*
 * Removes the file and buffers from the ring's tables, wipes and frees the
 * buffers, closes the file. -EBUSY (and nothing done) while any SQE of the
 * source is in flight (qkd_keysrc_inflight), unless
 * QKD_KEYSRC_CLOSE_RING_GONE. Keys still held
 * become invalid. Returns 0 or the first error of the teardown (which
 * continues regardless). NULL: 0.
 */
int qkd_keysrc_close(struct qkd_keysrc *ks, unsigned int flags);

/*
 * TX: asks for exactly len key bytes (1..max_len); the request ends in one
 * qkd_keysrc_complete() result carrying cookie. It is queued; the next
 * qkd_keysrc_kick() sends it. Returns 0, -EBUSY (no free buffer: wait for
 * a completion), -EINVAL (len; or an RX source), -ESHUTDOWN (after
 * qkd_keysrc_cancel).
 */
int qkd_keysrc_request(struct qkd_keysrc *ks, uint32_t len, uint64_t cookie);

/*
 * RX: asks for exactly the bytes [offset, offset + len) of epoch `epoch`.
 * -ESTALE at once if epoch is not the file's bound epoch; otherwise as
 * qkd_keysrc_request (-EINVAL on a TX source). Requests are read in the
 * order made: one waiting for bytes not yet delivered holds back the rest.
 */
int qkd_keysrc_request_at(struct qkd_keysrc *ks, uint64_t epoch,
			  uint64_t offset, uint32_t len, uint64_t cookie);

/*
 * Prefetch: a TX request of len for every free buffer. Returns the number
 * of requests made (0 if no buffer is free) or -errno.
 */
int qkd_keysrc_refill(struct qkd_keysrc *ks, uint32_t len, uint64_t cookie);

/* True if user_data carries this source's tag: hand the CQE to it. */
bool qkd_keysrc_owns(const struct qkd_keysrc *ks, uint64_t user_data);

/*
 * Consumes one CQE of this source (the caller then marks it seen).
 *   1         *key holds a key; give it back with qkd_keysrc_release()
 *   0         nothing for the caller (an internal step: a retried read, the
 *             poll, a cancel's own completion)
 *   -errno    a read failed; key->cookie names the request, key->bytes is
 *             NULL and its buffer is already wiped and free. -ENODEV: the
 *             link is gone; -ECANCELED: cancelled; -EPROTO: the header did
 *             not validate (wrong lengths or link, or the key overlaps an
 *             earlier one); RX: -ESTALE (rebind), -ENOKEY (bytes taken or
 *             expired); -EINVAL (len beyond the link's pool_limit);
 *             -ENOENT: the CQE is not one of ours or is stale.
 */
int qkd_keysrc_complete(struct qkd_keysrc *ks, const struct io_uring_cqe *cqe,
			struct qkd_key *key);

/*
 * Wipes the key's bytes and, for a key that owns its buffer, recycles the
 * buffer (all of it, carved parts included). *key is cleared. A carved view
 * (slot QKD_KEY_NO_SLOT) is only wiped.
 */
void qkd_keysrc_release(struct qkd_keysrc *ks, struct qkd_key *key);

/*
 * Cuts the first n bytes (1..key->len) off key into *part, a view that
 * shares key's buffer: part gets key's offset, key moves past it. Release
 * the owning key last. Returns 0 or -EINVAL.
 */
int qkd_key_carve(struct qkd_key *key, uint32_t n, struct qkd_key *part);

/*
 * Prepares the SQEs the source's state calls for: a chain of reads for all
 * queued requests when none is in flight, or the poll when the oldest one
 * waits for key; nothing otherwise. If the SQ lacks room it submits what
 * is queued first (never splitting a chain: a chain may be cut short, and
 * the rest follows). 0 or -errno (io_uring_submit's); call it again on the
 * next iteration after an error.
 */
int qkd_keysrc_kick(struct qkd_keysrc *ks);

/*
 * Ends every outstanding request (each completes with -ECANCELED, or with a
 * key if its read won the race) and refuses new ones (-ESHUTDOWN). Returns
 * the number of SQEs prepared (0: nothing outstanding), or -errno; call
 * again after an error.
 */
int qkd_keysrc_cancel(struct qkd_keysrc *ks);

/*
 * Binds the file again (RX: after -ESTALE); the source's epoch becomes the
 * link's. RX requests still queued for the old epoch then end with -ESTALE
 * without being read. -EBUSY while reads are in flight (let their CQEs
 * come first), or a bind error.
 */
int qkd_keysrc_rebind(struct qkd_keysrc *ks);

/* QKDKEY_IOC_LINK_INFO on the bound file (state, epoch, tx_avail...). */
int qkd_keysrc_link_info(struct qkd_keysrc *ks, struct qkdkey_link_info *info);

/* Buffers free for requests (0 after qkd_keysrc_cancel). */
unsigned int qkd_keysrc_free_slots(const struct qkd_keysrc *ks);
/* Requests asked for and not yet completed. */
unsigned int qkd_keysrc_pending(const struct qkd_keysrc *ks);
/* SQEs of this source whose CQE has not been consumed yet. */
unsigned int qkd_keysrc_inflight(const struct qkd_keysrc *ks);
/* True while the oldest request waits for key (pool short, DOWN, ALARM). */
bool qkd_keysrc_waiting(const struct qkd_keysrc *ks);
uint32_t qkd_keysrc_link_id(const struct qkd_keysrc *ks);
/* TX: epoch of the last key (initially the link's at open); RX: bound epoch. */
uint64_t qkd_keysrc_epoch(const struct qkd_keysrc *ks);
/* Whether reads use the fixed file / registered buffers. */
bool qkd_keysrc_fixed_file(const struct qkd_keysrc *ks);
bool qkd_keysrc_fixed_bufs(const struct qkd_keysrc *ks);
void qkd_keysrc_get_stats(const struct qkd_keysrc *ks, struct qkd_keysrc_stats *st);
/* The whole buffer region, for checks (it is all zero when no key is held). */
void qkd_keysrc_mem(const struct qkd_keysrc *ks, const void **base, size_t *size);

#endif /* QKD_AGENT_KEYSRC_H */
