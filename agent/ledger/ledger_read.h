// SPDX-License-Identifier: GPL-2.0
/*
 * The read side of the ledger, for qkd-ledger and tests: entries, devices,
 * tree heads, proofs and verification. Works on any handle (writer or
 * not); a reader sees what was committed.
 */
#ifndef QKD_LEDGER_READ_H
#define QKD_LEDGER_READ_H

#include "ledger.h"

#define LEDGER_DETAIL_MAX	200
#define LEDGER_PAYLOAD_MAX	(1u << 20)

enum ledger_entry_type {
	LEDGER_T_RECORD = 1,
	LEDGER_T_EVENT = 2,
};

/* One entry as stored; see Documentation/ledger.rst for its encoding. */
struct ledger_entry {
	uint64_t index;
	uint8_t type;			/* enum ledger_entry_type */
	uint64_t recv_ns;		/* ledger clock, ns since 1970 */
	char gateway[LEDGER_NAME_MAX + 1];	/* "" for none (events) */
	uint8_t device_id[LEDGER_DEVICE_ID_MAX];
	uint8_t device_id_len;		/* 0: none (events only) */
	/* records */
	uint64_t epoch, key_offset;
	uint32_t key_len;
	uint8_t ct_hash[LEDGER_HASH_LEN];
	uint64_t device_seq, device_time;
	uint8_t integrity[LEDGER_INTEGRITY_LEN];
	uint32_t flags;			/* enum ledger_flag */
	const uint8_t *payload;		/* valid during the callback only */
	uint32_t payload_len;
	/* events */
	uint32_t kind;			/* enum ledger_event_kind */
	char detail[LEDGER_DETAIL_MAX + 1];
	/* as stored, not recomputed */
	uint8_t leaf[LEDGER_HASH_LEN], chain[LEDGER_HASH_LEN];
};

struct ledger_filter {
	uint64_t from;			/* first index */
	uint64_t count;			/* 0: all */
	const char *gateway;		/* NULL: any */
	const uint8_t *device_id;	/* NULL: any */
	uint8_t device_id_len;
	bool events_only;
};

/* A callback returning non-zero stops the walk and is passed back. */
typedef int (*ledger_entry_cb)(const struct ledger_entry *e, void *ctx);
int ledger_entries(struct ledger *l, const struct ledger_filter *f,
		   ledger_entry_cb cb, void *ctx, char *err, size_t errlen);

struct ledger_device {
	char gateway[LEDGER_NAME_MAX + 1];
	uint8_t id[LEDGER_DEVICE_ID_MAX];
	uint8_t id_len;
	bool has_code;			/* false until its first record */
	uint8_t first_code[LEDGER_INTEGRITY_LEN];
	uint8_t code[LEDGER_INTEGRITY_LEN];	/* expected */
	uint8_t current[LEDGER_INTEGRITY_LEN];	/* last seen */
	bool trusted;
	uint64_t registered_ns, seen_ns;
};

typedef int (*ledger_device_cb)(const struct ledger_device *d, void *ctx);
/* gateway NULL: all devices. */
int ledger_devices(struct ledger *l, const char *gateway, ledger_device_cb cb,
		   void *ctx, char *err, size_t errlen);

struct ledger_tree_head {
	uint64_t size;
	uint64_t timestamp_ns;
	uint8_t root[LEDGER_HASH_LEN];
	uint8_t sig[LEDGER_SIG_LEN];
};

/* 0 with *th filled, 1 if no tree head was signed yet, or -errno. */
int ledger_tree_head(struct ledger *l, struct ledger_tree_head *th,
		     char *err, size_t errlen);
/* The tree head signed at exactly `size`: 0, 1 if none, or -errno. */
int ledger_tree_head_at(struct ledger *l, uint64_t size,
			struct ledger_tree_head *th, char *err, size_t errlen);
/* The signing public key recorded in the ledger; -ENOENT if none yet. */
int ledger_public_key(struct ledger *l, uint8_t pk[LEDGER_PK_LEN],
		      char *err, size_t errlen);
/* The byte string a tree head signature covers (Documentation/ledger.rst). */
#define LEDGER_STH_MSG_LEN	(13 + 8 + 8 + LEDGER_HASH_LEN)
void ledger_sth_message(const struct ledger_tree_head *th,
			uint8_t msg[LEDGER_STH_MSG_LEN]);
bool ledger_sth_verify(const struct ledger_tree_head *th,
		       const uint8_t pk[LEDGER_PK_LEN]);

/*
 * Proofs over the committed entries. Leaf hashes are read from the store;
 * the root is computed from them (compare with a signed tree head). *size
 * 0 asks for the latest signed tree head's size (all entries if none) and
 * is set to the size used. Return the number of proof hashes, or -errno.
 * Time and memory are O(size): for the CLI, not for the writer.
 */
int ledger_prove_inclusion(struct ledger *l, uint64_t index, uint64_t *size,
			   uint8_t leaf[LEDGER_HASH_LEN],
			   uint8_t root[LEDGER_HASH_LEN],
			   uint8_t proof[][LEDGER_HASH_LEN],
			   char *err, size_t errlen);
int ledger_prove_consistency(struct ledger *l, uint64_t old_size,
			     uint64_t *size, uint8_t old_root[LEDGER_HASH_LEN],
			     uint8_t root[LEDGER_HASH_LEN],
			     uint8_t proof[][LEDGER_HASH_LEN],
			     char *err, size_t errlen);

struct ledger_verify_report {
	uint64_t entries;		/* entries checked */
	uint64_t tree_heads;		/* tree heads checked */
	bool ok;
	bool have_bad_index;
	uint64_t bad_index;		/* first bad entry, if known */
	char what[256];			/* what mismatched */
	uint8_t root[LEDGER_HASH_LEN];	/* recomputed root of all entries */
};

/*
 * Recomputes every leaf from its columns, the chain, and the root and
 * signature of every stored tree head; stops at the first mismatch.
 * pinned_pk NULL: use the key recorded in the ledger. Returns 0 with
 * rep->ok telling the outcome, or -errno if the store could not be read.
 */
int ledger_verify(struct ledger *l, const uint8_t *pinned_pk,
		  struct ledger_verify_report *rep, char *err, size_t errlen);

/* Name checks shared with the CLI. */
bool ledger_gateway_valid(const char *gw);

#endif /* QKD_LEDGER_READ_H */
