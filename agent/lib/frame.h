// SPDX-License-Identifier: GPL-2.0
/*
 * The wire codec between the gateway agent and the ledger service: one codec,
 * used by both ends. Documentation/wire-format.rst is the specification (byte
 * layout, key accounting, security argument); this header is its C face.
 *
 * Four messages, all starting with the same 8-byte prefix
 * (total length, magic, version, type, flags):
 *
 *   HELLO      gateway -> ledger  opens a data session: link, epoch and the
 *                                 TX offset of r || s_hello (32 key bytes)
 *   DATA       gateway -> ledger  one device record, payload one-time-padded
 *                                 (payload_len + 16 key bytes)
 *   ACK_HELLO  ledger -> gateway  opens the ack channel of that session: the
 *                                 ledger's own r' || s'_hello (32 key bytes)
 *   ACK        ledger -> gateway  cumulative ack (16 key bytes)
 *
 * Every message ends in a Poly1305 tag over all bytes before it, keyed with
 * the session's r (fixed for the session) and a one-time s (fresh key bytes).
 *
 * Receiving is two-phase, so that nothing touches key before the header has
 * been checked: *_parse() validates the bytes strictly and fills a struct
 * without any key; the caller checks session, epoch and sequence, fetches
 * the RX key bytes the header names, then calls *_verify() / qkd_data_open().
 *
 * Pure functions over caller buffers: no allocation, no I/O, no logging, no
 * global state. Temporaries holding key material are wiped before return.
 * The caller owns (and wipes) its own key buffers. Tags are computed with
 * libsodium (link with -lsodium); call sodium_init() once at startup.
 *
 * Errors are negative errno values:
 *   -EINVAL         bad argument from the caller (a bug, not a bad frame)
 *   -ENOBUFS        output buffer too small
 *   -EAGAIN         qkd_frame_peek(): fewer than QKD_PREFIX_LEN bytes given
 *   -EPROTO         not one of our frames: bad magic, unknown type, flags
 *   -EPROTONOSUPPORT  our magic but another wire version
 *   -EMSGSIZE       a length field beyond its hard bound
 *   -EBADMSG        malformed: lengths disagree, reserved bytes not zero,
 *                   zero session id, bad link name, offset range overflows
 *   -EKEYREJECTED   the tag does not verify: the session must end
 */
#ifndef QKD_AGENT_FRAME_H
#define QKD_AGENT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define QKD_WIRE_MAGIC		0xcb
#define QKD_WIRE_VERSION	1

#define QKD_PREFIX_LEN		8	/* total_len, magic, version, type, flags */
#define QKD_TAG_LEN		16	/* Poly1305 tag */
#define QKD_R_LEN		16	/* Poly1305 hash key r, fixed per session */
#define QKD_S_LEN		16	/* Poly1305 one-time pad s, fresh per tag */

#define QKD_PAYLOAD_MAX		65536	/* payload bytes per DATA frame */
#define QKD_DEVICE_ID_MAX	64	/* device id bytes, at least 1 */
#define QKD_INTEGRITY_LEN	32	/* device integrity code, e.g. SHA-256 */
#define QKD_LINK_NAME_LEN	16	/* NUL-padded, same as QKDKEY_NAME_LEN */

/* HELLO and ACK_HELLO: fixed size; key r || s_hello. */
#define QKD_HELLO_LEN		72
#define QKD_HELLO_KEY_LEN	(QKD_R_LEN + QKD_S_LEN)

/* ACK: fixed size; key s (r' comes from the ACK_HELLO). */
#define QKD_ACK_LEN		56
#define QKD_ACK_KEY_LEN		QKD_S_LEN

/* DATA: 96 fixed header bytes, device id, ciphertext, tag. */
#define QKD_DATA_FIXED_LEN	96
#define QKD_DATA_LEN(id_len, payload_len) \
	(QKD_DATA_FIXED_LEN + (size_t)(id_len) + (size_t)(payload_len) + QKD_TAG_LEN)
#define QKD_DATA_MIN_LEN	QKD_DATA_LEN(1, 0)
/* Key bytes one DATA frame consumes: the pad, then s. */
#define QKD_DATA_KEY_LEN(payload_len)	((size_t)(payload_len) + QKD_S_LEN)

/* The largest message of any type: a stream reader's buffer size. */
#define QKD_FRAME_MAX		QKD_DATA_LEN(QKD_DEVICE_ID_MAX, QKD_PAYLOAD_MAX)

enum qkd_msg_type {
	QKD_MSG_HELLO = 1,	/* gateway -> ledger: data session */
	QKD_MSG_DATA = 2,	/* gateway -> ledger: one record */
	QKD_MSG_ACK_HELLO = 3,	/* ledger -> gateway: ack channel */
	QKD_MSG_ACK = 4,	/* ledger -> gateway: cumulative ack */
};

/*
 * HELLO or ACK_HELLO. The sender read QKD_HELLO_KEY_LEN bytes from its TX
 * stream at r_offset: the first 16 are the session's r, the next 16 the
 * one-time s of the hello's own tag.
 */
struct qkd_hello {
	uint8_t type;		/* QKD_MSG_HELLO or QKD_MSG_ACK_HELLO */
	uint64_t session_id;	/* random, non-zero; ACK_HELLO echoes HELLO's */
	uint64_t epoch;		/* sender's TX epoch for the whole session */
	uint64_t r_offset;	/* TX offset of r || s_hello */
	uint32_t link_id;	/* sender's local link id (informational) */
	/* sender's link name: 1..15 printable ASCII, NUL-padded */
	char link_name[QKD_LINK_NAME_LEN];
};

/*
 * DATA header: everything but the payload. key_offset is the TX offset of
 * payload_len pad bytes followed by 16 bytes of s.
 */
struct qkd_data_hdr {
	uint64_t session_id;
	uint64_t seq;		/* frame seq in the session, from 1 */
	uint64_t epoch;
	uint64_t key_offset;
	uint64_t device_seq;
	uint64_t device_time;	/* ns since the Unix epoch, device clock */
	uint32_t payload_len;	/* <= QKD_PAYLOAD_MAX */
	uint8_t device_id_len;	/* 1..QKD_DEVICE_ID_MAX */
	uint8_t device_id[QKD_DEVICE_ID_MAX];
	uint8_t integrity[QKD_INTEGRITY_LEN];
};

/* ACK: key_offset is the ledger's TX offset of the 16-byte s. */
struct qkd_ack {
	uint64_t session_id;
	uint64_t ack_seq;	/* highest contiguous frame seq; 0: none yet */
	uint64_t epoch;		/* ledger's TX epoch */
	uint64_t key_offset;
};

/*
 * Stream framing. Checks the first QKD_PREFIX_LEN bytes of a message (magic,
 * version, type, flags, and the total length against the bounds of that
 * type) and returns the message's total length, or -EAGAIN if len is below
 * QKD_PREFIX_LEN, or another negative errno. *type may be NULL.
 */
int qkd_frame_peek(const uint8_t *buf, size_t len, enum qkd_msg_type *type);

/* Returns QKD_HELLO_LEN, or a negative errno. */
int qkd_hello_seal(uint8_t *out, size_t out_size, const struct qkd_hello *h,
		   const uint8_t key[QKD_HELLO_KEY_LEN]);
/* len must be the exact message length. Touches no key. 0 or -errno. */
int qkd_hello_parse(const uint8_t *frame, size_t len, struct qkd_hello *h);
/* key: RX bytes [r_offset, r_offset + 32). 0, -EKEYREJECTED or -errno. */
int qkd_hello_verify(const uint8_t *frame, size_t len,
		     const uint8_t key[QKD_HELLO_KEY_LEN]);

/*
 * key: TX bytes [key_offset, key_offset + key_len), key_len must equal
 * QKD_DATA_KEY_LEN(h->payload_len); payload may be NULL if payload_len is 0.
 * Returns the frame length, or a negative errno.
 */
int qkd_data_seal(uint8_t *out, size_t out_size, const struct qkd_data_hdr *h,
		  const uint8_t r[QKD_R_LEN], const uint8_t *key, size_t key_len,
		  const uint8_t *payload);
/* len must be the exact message length. Touches no key. 0 or -errno. */
int qkd_data_parse(const uint8_t *frame, size_t len, struct qkd_data_hdr *h);
/*
 * Re-checks the frame, verifies the tag in constant time and only then
 * writes the plaintext into payload (payload_size >= payload_len; it must
 * not overlap frame). Returns payload_len, -EKEYREJECTED or -errno; on any
 * error payload is left untouched.
 */
int qkd_data_open(const uint8_t *frame, size_t len, const uint8_t r[QKD_R_LEN],
		  const uint8_t *key, size_t key_len,
		  uint8_t *payload, size_t payload_size);

/* s: TX bytes [key_offset, key_offset + 16). Returns QKD_ACK_LEN or -errno. */
int qkd_ack_seal(uint8_t *out, size_t out_size, const struct qkd_ack *a,
		 const uint8_t r[QKD_R_LEN], const uint8_t s[QKD_S_LEN]);
/* len must be the exact message length. Touches no key. 0 or -errno. */
int qkd_ack_parse(const uint8_t *frame, size_t len, struct qkd_ack *a);
/* 0, -EKEYREJECTED or -errno. */
int qkd_ack_verify(const uint8_t *frame, size_t len,
		   const uint8_t r[QKD_R_LEN], const uint8_t s[QKD_S_LEN]);

#endif /* QKD_AGENT_FRAME_H */
