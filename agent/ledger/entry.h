// SPDX-License-Identifier: GPL-2.0
/* Canonical entry encoding and input checks (Documentation/ledger.rst). */
#ifndef QKD_LEDGER_ENTRY_H
#define QKD_LEDGER_ENTRY_H

#include "ledger_read.h"

#define LEDGER_ENTRY_VERSION	1

/* Streams the canonical encoding; NULL buf just measures. Returns length. */
size_t ledger_entry_encode(const struct ledger_entry *e, uint8_t *buf);
/* SHA-256(0x00 || encoding) */
void ledger_entry_leaf(const struct ledger_entry *e,
		       uint8_t leaf[LEDGER_HASH_LEN]);
/* SHA-256(prev || leaf) */
void ledger_chain_next(const uint8_t prev[LEDGER_HASH_LEN],
		       const uint8_t leaf[LEDGER_HASH_LEN],
		       uint8_t out[LEDGER_HASH_LEN]);

/* 0 or -EINVAL with a message naming the bad field. */
int ledger_check_record(const struct ledger_record *r, char *err,
			size_t errlen);
int ledger_check_device(const char *gateway, const uint8_t *id,
			uint8_t id_len, char *err, size_t errlen);
int ledger_check_detail(const char *detail, char *err, size_t errlen);

#endif /* QKD_LEDGER_ENTRY_H */
