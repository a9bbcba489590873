// SPDX-License-Identifier: GPL-2.0
/* Internals shared by the ledger's source files. */
#ifndef QKD_LEDGER_INT_H
#define QKD_LEDGER_INT_H

#include "ledger_read.h"
#include "merkle.h"
#include "store.h"

struct ledger {
	struct store *st;
	bool writer;
	bool auto_register;
	uint32_t sth_every;
	uint32_t sth_ms;
	int lock_fd;			/* writer: flock'ed <db>.lock */

	/* The tip, including staged entries while txn is open. */
	bool txn;
	int64_t data_version;
	uint64_t size;
	uint64_t staged;
	uint8_t chain[LEDGER_HASH_LEN];
	struct merkle_frontier fr;

	/* Tree heads. */
	uint64_t sth_size;		/* size of the latest tree head */
	uint64_t sth_mono_ms;		/* when it was signed, CLOCK_MONOTONIC */
	bool have_sk;
	uint8_t sk[64];
	uint8_t pk[LEDGER_PK_LEN];
};

__attribute__((format(printf, 3, 4)))
void lg_err(char *err, size_t errlen, const char *fmt, ...);
uint64_t lg_now_ns(void);
uint64_t lg_mono_ms(void);

/* ledger.c: reload the tip (size, chain, frontier, latest head). */
int lg_load_tip(struct ledger *l, char *err, size_t errlen);
/* ledger.c: open a write transaction, reloading the tip if another
 * connection committed since we last looked. */
int lg_begin(struct ledger *l, char *err, size_t errlen);
/* ledger.c: roll back and restore the committed tip. */
void lg_abort(struct ledger *l);

/* ledger_append.c: stage one entry (fills index, leaf, chain). */
int lg_stage(struct ledger *l, struct ledger_entry *e, char *err,
	     size_t errlen);
int lg_stage_event(struct ledger *l, enum ledger_event_kind kind,
		   const char *gw, const uint8_t *dev, uint8_t dev_len,
		   const char *detail, char *err, size_t errlen);

/* ledger_key.c */
int lg_key_load(struct ledger *l, const char *path, bool create,
		char *err, size_t errlen);
int lg_sign_head(struct ledger *l, char *err, size_t errlen);

#endif /* QKD_LEDGER_INT_H */
