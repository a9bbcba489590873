// SPDX-License-Identifier: GPL-2.0
/*
 * The ledger: an append-only, hash-chained log of device records with a
 * Merkle tree over it (RFC 9162 hashing) and signed tree heads (Ed25519).
 * qkd-ledgerd appends to it; qkd-ledger reads, proves and verifies it.
 * Documentation/ledger.rst is the reference for the entry encoding, the
 * chain, the tree and the tree-head signature.
 *
 * One writer per ledger (qkd-ledgerd holds an exclusive lock); readers may
 * run at any time. Appends are staged in an open transaction and become
 * durable together at ledger_commit() (group commit): a caller acknowledges
 * nothing before ledger_commit() has returned 0.
 *
 * Errors are negative errno values with a message in the caller's err
 * buffer (never quoting payload bytes); -EIO means the store failed and the
 * writer must stop (the staged entries are rolled back, nothing committed is
 * lost).
 */
#ifndef QKD_LEDGER_H
#define QKD_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEDGER_HASH_LEN		32	/* SHA-256 */
#define LEDGER_SIG_LEN		64	/* Ed25519 */
#define LEDGER_PK_LEN		32
#define LEDGER_NAME_MAX		64	/* gateway names: [A-Za-z0-9._-]{1,64} */
#define LEDGER_DEVICE_ID_MAX	64
#define LEDGER_INTEGRITY_LEN	32
#define LEDGER_PROOF_MAX	64	/* hashes in one proof: >= log2(2^63) */

struct ledger;

struct ledger_opts {
	const char *db_path;	/* SQLite file; created if missing */
	const char *key_path;	/* Ed25519 secret key file (0600); created if
				 * missing when writable, else required */
	bool writer;		/* qkd-ledgerd: lock, stage, commit, sign */
	bool auto_register;	/* unknown devices are registered on first use */
	uint32_t sth_every;	/* sign a tree head every N entries (0: 1000) */
	uint32_t sth_ms;	/* ... or every T ms with new entries (0: 1000) */
};

/* One decrypted, verified record as qkd-ledgerd hands it over. */
struct ledger_record {
	const char *gateway;		/* configured gateway name */
	uint64_t epoch;			/* RX epoch of the key used */
	uint64_t key_offset;		/* RX offset of the pad */
	uint32_t key_len;		/* pad + s bytes consumed */
	uint8_t ct_hash[LEDGER_HASH_LEN]; /* SHA-256 of the ciphertext */
	const uint8_t *device_id;
	uint8_t device_id_len;		/* 1..LEDGER_DEVICE_ID_MAX */
	uint64_t device_seq;
	uint64_t device_time;		/* ns since 1970, device clock */
	uint8_t integrity[LEDGER_INTEGRITY_LEN];
	const uint8_t *payload;
	uint32_t payload_len;
};

enum ledger_flag {
	LEDGER_F_UNTRUSTED = 1 << 0,	/* device untrusted when recorded */
	LEDGER_F_INTEGRITY = 1 << 1,	/* integrity code changed here */
	LEDGER_F_REGISTERED = 1 << 2,	/* device registered by this entry */
};

enum ledger_verdict {
	LEDGER_APPENDED = 0,		/* new entry; see flags */
	LEDGER_DUPLICATE = 1,		/* (gateway, device, seq) already in */
	LEDGER_UNKNOWN_DEVICE = 2,	/* not registered, auto_register off:
					 * recorded as a security event, not
					 * appended; the caller still acks it */
};

struct ledger_result {
	enum ledger_verdict verdict;
	uint32_t flags;			/* enum ledger_flag */
	uint64_t index;			/* entry index (0-based) if appended */
};

/*
 * Key accounting, checked before any RX key is fetched: has any byte of
 * [key_offset, key_offset + key_len) of (gateway, epoch) been used by an
 * entry already?
 *   0             no: fresh
 *   -EALREADY     yes, by an entry with the same ct_hash: a replay
 *   -EKEYREVOKED  yes, with another ciphertext: key reuse (the caller
 *                 records a security event and raises the alarm)
 */
int ledger_check_key(struct ledger *l, const char *gateway, uint64_t epoch,
		     uint64_t key_offset, uint32_t key_len,
		     const uint8_t ct_hash[LEDGER_HASH_LEN]);

enum ledger_event_kind {
	LEDGER_EV_BAD_TAG = 1,		/* tag did not verify */
	LEDGER_EV_REPLAY = 2,		/* frame or key range seen before */
	LEDGER_EV_KEY_REUSE = 3,	/* same key, different ciphertext */
	LEDGER_EV_WRONG_EPOCH = 4,	/* epoch is not the link's */
	LEDGER_EV_UNKNOWN_GATEWAY = 5,	/* HELLO names no configured gateway */
	LEDGER_EV_PROTOCOL = 6,		/* malformed frame, bad sequence */
	LEDGER_EV_UNKNOWN_DEVICE = 7,	/* see LEDGER_UNKNOWN_DEVICE */
	LEDGER_EV_INTEGRITY = 8,	/* a device's integrity code changed */
	LEDGER_EV_TRUST = 9,		/* an operator trusted a device */
};

int ledger_open(struct ledger **lp, const struct ledger_opts *o,
		char *err, size_t errlen);
/* Rolls back anything staged; closes the store. */
void ledger_close(struct ledger *l);

/* Stages one record (writer only). 0 with *res filled, or -errno. */
int ledger_append(struct ledger *l, const struct ledger_record *r,
		  struct ledger_result *res, char *err, size_t errlen);
/* Stages a security event; detail is printable ASCII, <= 200 bytes. */
int ledger_event(struct ledger *l, enum ledger_event_kind kind,
		 const char *gateway, const char *detail,
		 char *err, size_t errlen);
/*
 * Makes everything staged durable (one fsync'ed transaction) and signs a
 * tree head when one is due. Returns the number of entries committed.
 */
int ledger_commit(struct ledger *l, char *err, size_t errlen);
/* ms until a tree head is due by time, or -1 if none is pending. */
int ledger_sth_due_ms(struct ledger *l);
/* Signs and stores a tree head now if entries arrived since the last one. */
int ledger_sign_now(struct ledger *l, char *err, size_t errlen);

/* Entries in the ledger (committed). */
uint64_t ledger_size(struct ledger *l);

/* Device registry. */
int ledger_device_add(struct ledger *l, const char *gateway,
		      const uint8_t *id, uint8_t id_len, char *err, size_t errlen);
int ledger_device_trust(struct ledger *l, const char *gateway,
			const uint8_t *id, uint8_t id_len, char *err, size_t errlen);

#endif /* QKD_LEDGER_H */
