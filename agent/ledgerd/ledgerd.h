// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd, the ledger role of qkdkey (DESIGN.md §5, qkd-ledgerd(8)):
 * receive -> fetch RX key by offset -> verify -> decrypt -> append -> ack.
 *
 * One io_uring drives everything:
 *   accept    IORING_OP_ACCEPT on the listening socket, one in flight
 *   sessions  IORING_OP_RECV into the session's input buffer and
 *             IORING_OP_SEND of its output (ACK_HELLO, ACKs), one each
 *   keys      per configured gateway two key sources (agent/lib/keysrc.h)
 *             on /dev/qkdkey bound to the gateway's local link: RX, read
 *             by offset (the gateway's TX key: HELLO r || s, DATA pad || s),
 *             and TX (our r' || s' for the ACK_HELLO, s for every ACK)
 *   signals   IORING_OP_READ on a signalfd (SIGTERM, SIGINT)
 *   timer     one IORING_OP_TIMEOUT at the earliest deadline: group
 *             commit (ack_ms), signed tree head (ledger_sth_due_ms), the
 *             systemd watchdog, the STATUS line
 *
 * Files: qkd-ledgerd.c (command line), ledgerd_setup.c (open, close),
 * ledgerd_loop.c (the loop, group commit, acks, timer), ledgerd_session.c
 * (connections: recv, send, framing, close), ledgerd_proto.c (HELLO and
 * DATA: the receiver rules of Documentation/wire-format.rst),
 * ledgerd_rxkey.c (asking for RX key: key_window, waiting for delivery),
 * ledgerd_ack.c (ACK_HELLO and ACKs), ledgerd_log.c (log, sd_notify),
 * ledgerd_config.c and ledgerd_config_values.c (the INI file).
 */
#ifndef QKD_LEDGERD_H
#define QKD_LEDGERD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <liburing.h>

#include "frame.h"
#include "keymem.h"
#include "keysrc.h"
#include "ledgerd_config.h"

struct ledger;

/* Owner tags of user_data, bits 63..56 (QKD_UD_MAKE). */
enum ld_tag {
	LD_TAG_ACCEPT = 1,
	LD_TAG_SIGNAL = 2,
	LD_TAG_TIMER = 3,
	LD_TAG_IGNORE = 4,	/* timeout updates */
	LD_TAG_RECV = 5,	/* low bits: slot << 32 | generation */
	LD_TAG_SEND = 6,
	LD_TAG_KEY_RX = 0x40,	/* + gateway index */
	LD_TAG_KEY_TX = 0x80,	/* + gateway index */
};

/* Connections at once: one session per gateway, plus some not yet past
 * HELLO (a new session replaces its gateway's old one only once its HELLO
 * verifies, so the old one must still fit). */
#define LD_SESS_MAX	(2 * LEDGERD_GW_MAX + 16)
/* Input: two of the largest message, so that a recv can run while a
 * whole message waits for its key. */
#define LD_IBUF		(2 * QKD_FRAME_MAX)
/* Output: ACK_HELLO and acks; a gateway that does not read them is cut. */
#define LD_OBUF		(64 * QKD_ACK_LEN)
/* Largest DATA key one RX read returns (QKDKEY_READ_MAX). */
#define LD_RX_KEY_MAX	QKD_KEYSRC_LEN_MAX
#define LD_STOP_DRAIN_MS	3000
/* A connection that has not sent its HELLO by then is closed: it holds a
 * slot of LD_SESS_MAX. */
#define LD_HELLO_TIMEOUT_MS	10000
/* How often a session waiting for its key to be delivered looks again. */
#define LD_PARK_POLL_MS		10

enum ld_state {
	LS_HELLO,	/* waiting for the HELLO */
	LS_OPEN,	/* r known: DATA frames */
};

struct ld_gw {
	const struct ledgerd_gw_config *cfg;
	unsigned int idx;
	struct qkd_keysrc *krx, *ktx;
	struct ld_session *sess;	/* the current session, or NULL */
	/* RX stream end (QKDKEY_IOC_LINK_INFO rx_end) last seen, in epoch
	 * rx_epoch. Within an epoch the stream only grows (an epoch names one
	 * stream: the wire format rests on that too), so it is a lower bound
	 * that spares most frames the ioctl (ledgerd_rxkey.c rx_check). */
	uint64_t rx_end, rx_epoch;
};

struct ld_session {
	struct ledgerd *d;
	unsigned int slot;
	uint32_t gen;		/* in user_data and key cookies */
	int fd;
	char peer[64];		/* ADDR:PORT, for the log */
	uint64_t born;		/* accepted at (ld_now_ms) */
	struct ld_gw *gw;	/* mapped by the HELLO */
	enum ld_state state;
	bool closing;		/* shut down; freed when no op is in flight */
	bool recv_busy, send_busy;

	uint8_t *ibuf;		/* [ioff, ilen): received, not yet used */
	size_t ioff, ilen;
	size_t mlen;		/* message at ioff waiting for its key; 0: none */
	bool key_wait;		/* RX key read for it in flight */
	bool key_park;		/* its key is not delivered yet (ledgerd_rxkey.c) */
	uint64_t park_epoch, park_off;
	uint32_t park_len;
	struct qkd_hello h;	/* the HELLO (also while its key is read) */
	struct qkd_data_hdr dh;	/* the DATA frame waiting for key */
	uint8_t ct_hash[32];

	struct qkd_keymem km;	/* r and r' (locked, not dumped) */
	uint8_t *r, *r2;
	bool have_r2, ahello_wait, ack_wait;
	uint64_t sid, epoch;	/* from the HELLO */
	uint64_t cursor;	/* end of the last RX key range used */
	uint64_t seq;		/* last frame seq verified and staged */
	uint64_t committed;	/* last frame seq durable in the ledger */
	uint64_t acked;		/* last ack_seq sent */
	uint64_t tx_epoch;	/* our TX epoch, from the ACK_HELLO key */

	uint8_t obuf[LD_OBUF];	/* [0, olen) to send; [0, slen) in flight */
	size_t olen, slen;
	uint64_t frames, appended, dups;
};

struct ld_stats {
	uint64_t connections, sessions, frames, appended, duplicates,
		 unknown_devices, events, commits, acks, rejected;
};

struct ledgerd {
	const struct ledgerd_config *cfg;
	struct io_uring ring;
	bool ring_up;
	struct qkd_ring_info ring_info;
	struct ledger *l;
	int lfd, sigfd;
	struct ld_gw gw[LEDGERD_GW_MAX];
	unsigned int ngw;
	struct ld_session *sess[LD_SESS_MAX];
	uint32_t next_gen;
	bool accept_armed, sig_armed;
	struct sockaddr_storage acc_addr;
	socklen_t acc_len;
	struct signalfd_siginfo si;

	uint8_t *payload;	/* plaintext of the frame being appended */
	uint32_t staged;	/* frames staged since the last commit */
	uint64_t staged_at;	/* when the first of them was staged */
	bool commit_now;	/* an event was staged: commit this turn */

	struct __kernel_timespec timer_ts;
	uint64_t timer_at;
	uint64_t watchdog_ms, watchdog_at, status_at;
	bool stopping, quit;
	int exit_code;
	bool foreground;
	char status[200];
	struct ld_stats st;
};

/* ledgerd_setup.c */
int ld_open(struct ledgerd *d, const struct ledgerd_config *cfg);
void ld_close(struct ledgerd *d);

/* ledgerd_loop.c */
int ld_run(struct ledgerd *d);
uint64_t ld_now_ms(void);
struct io_uring_sqe *ld_sqe(struct ledgerd *d);
void ld_fatal(struct ledgerd *d, const char *what, int err);
void ld_dispatch(struct ledgerd *d, const struct io_uring_cqe *cqe);
/* Commits what is staged and queues the acks it allows; 0 or -errno
 * (fatal: the daemon stops). */
int ld_commit(struct ledgerd *d);
void ld_arm_accept(struct ledgerd *d);

/* ledgerd_session.c */
void ld_sess_new(struct ledgerd *d, int fd);
void ld_sess_cqe(struct ledgerd *d, const struct io_uring_cqe *cqe, bool send);
/* Arms recv/send as the session's state allows. */
void ld_sess_pump(struct ld_session *s);
int ld_sess_queue(struct ld_session *s, const uint8_t *msg, size_t len);
/* Ends a session: logs why, shuts the socket down, wipes r and r'. */
void ld_sess_close(struct ld_session *s, const char *why);
/* Parses the messages in the input buffer until one waits for key. */
void ld_sess_process(struct ld_session *s);
static inline uint64_t ld_cookie(const struct ld_session *s)
{
	return (uint64_t)s->slot << 32 | s->gen;
}
struct ld_session *ld_sess_by_cookie(struct ledgerd *d, uint64_t cookie);

/* ledgerd_proto.c, ledgerd_ack.c */
/* One whole message at s->ibuf + s->ioff, s->mlen bytes: checks without
 * key; asks for its key (s->key_wait) or rejects it (closes). */
void ld_proto_msg(struct ld_session *s, enum qkd_msg_type t);
void ld_proto_key_rx(struct ledgerd *d, struct ld_gw *g,
		     const struct io_uring_cqe *cqe);
void ld_proto_key_tx(struct ledgerd *d, struct ld_gw *g,
		     const struct io_uring_cqe *cqe);
/* Asks for 16 TX bytes for an ack if the session has durable frames not
 * acked yet. */
void ld_proto_want_ack(struct ld_session *s);
/* Records a security event (committed at the end of the turn), logs it
 * and ends the session. */
void ld_reject(struct ld_session *s, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ledgerd_rxkey.c */
/* Asks for the RX key [off, off + len) of the message at s->ibuf + s->ioff
 * (s->key_wait), or parks it until delivered (s->key_park), or rejects it:
 * beyond key_window (closes). */
void ld_rx_request(struct ld_session *s, uint64_t epoch, uint64_t off,
		   uint32_t len);
/* A parked session: asks for its key if it is delivered now. */
void ld_rx_park_check(struct ld_session *s);

/* ledgerd_log.c */
void ld_set_log(int level, bool plain);
void ld_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ld_notify(const char *msg);
void ld_status_update(struct ledgerd *d);

#endif /* QKD_LEDGERD_H */
