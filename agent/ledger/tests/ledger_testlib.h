// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the ledger's host tests and the CLI test fixture. */
#ifndef QKD_LEDGER_TESTLIB_H
#define QKD_LEDGER_TESTLIB_H

#include <limits.h>

#include "ledger.h"
#include "ledger_read.h"

struct tl_rec {
	struct ledger_record r;
	char gw[LEDGER_NAME_MAX + 1];
	uint8_t dev[LEDGER_DEVICE_ID_MAX];
	uint8_t payload[96];
};

/*
 * A record of device `dev` on gateway `gw` with sequence seq, integrity
 * code filled with `code`, key range [off, off + 64) of epoch 1, and the
 * payload "PAYLOAD#<seq>#<dev>#" (unique, so tests can find it on disk).
 */
void tl_rec(struct tl_rec *t, const char *gw, const char *dev, uint64_t seq,
	    uint8_t code, uint64_t off);

/* A new empty directory under $TMPDIR (or /tmp); exits on failure. */
void tl_mkdir(char *dir, size_t len, const char *tag);
void tl_rmrf(const char *dir);

int tl_open(struct ledger **l, const char *db, const char *key, bool writer,
	    bool auto_register, uint32_t sth_every, uint32_t sth_ms,
	    char *err, size_t errlen);

/* Appends; returns the verdict, or -errno. */
int tl_append(struct ledger *l, struct tl_rec *t, struct ledger_result *res);

#endif /* QKD_LEDGER_TESTLIB_H */
