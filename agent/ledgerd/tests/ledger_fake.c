// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the ledger library (agent/ledger/ledger.h), for tests of
 * qkd-ledgerd only: no hash chain, no tree, no signatures. It keeps the
 * (gateway, device, seq) set and the key ranges used in memory and, at
 * ledger_commit(), appends what was staged to db_path as text lines:
 *
 *   E <gateway> <device id> <device seq> <payload hex or -> <verdict>
 *   V <event kind> <gateway or -> <detail>
 *
 * LEDGER_FAKE_FAIL_COMMIT=N makes the Nth commit fail with -EIO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

struct fent {
	char gw[LEDGER_NAME_MAX + 1];
	uint8_t id[LEDGER_DEVICE_ID_MAX], id_len;
	uint64_t seq, epoch, off;
	uint32_t klen;
	uint8_t ct[LEDGER_HASH_LEN];
};

struct ledger {
	FILE *f;
	struct fent *e;
	size_t n, cap, committed;
	char *stage;
	size_t slen;
	uint64_t commits, fail_at;
};

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int stage(struct ledger *l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	l->stage = realloc(l->stage, l->slen + (size_t)n + 1);
	if (!l->stage) {
		free(s);
		return -ENOMEM;
	}
	memcpy(l->stage + l->slen, s, (size_t)n + 1);
	l->slen += (size_t)n;
	free(s);
	return 0;
}

int ledger_open(struct ledger **lp, const struct ledger_opts *o,
		char *err, size_t errlen)
{
	struct ledger *l = calloc(1, sizeof(*l));
	const char *fail = getenv("LEDGER_FAKE_FAIL_COMMIT");

	if (!l)
		return -ENOMEM;
	l->f = fopen(o->db_path, "a");
	if (!l->f) {
		seterr(err, errlen, "%s: %s", o->db_path, strerror(errno));
		free(l);
		return -errno;
	}
	l->fail_at = fail ? strtoull(fail, NULL, 10) : 0;
	*lp = l;
	return 0;
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	fclose(l->f);
	free(l->e);
	free(l->stage);
	free(l);
}

int ledger_check_key(struct ledger *l, const char *gateway, uint64_t epoch,
		     uint64_t key_offset, uint32_t key_len,
		     const uint8_t ct_hash[LEDGER_HASH_LEN])
{
	for (size_t i = 0; i < l->n; i++) {
		const struct fent *e = &l->e[i];

		if (strcmp(e->gw, gateway) || e->epoch != epoch ||
		    key_offset >= e->off + e->klen || e->off >= key_offset + key_len)
			continue;
		return memcmp(e->ct, ct_hash, LEDGER_HASH_LEN) ? -EKEYREVOKED : -EALREADY;
	}
	return 0;
}

int ledger_append(struct ledger *l, const struct ledger_record *r,
		  struct ledger_result *res, char *err, size_t errlen)
{
	struct fent *e;
	char hex[2 * 65536 + 2] = "-";
	bool dup = false;

	(void)err;
	(void)errlen;
	for (size_t i = 0; i < l->n && !dup; i++)
		dup = !strcmp(l->e[i].gw, r->gateway) && l->e[i].seq == r->device_seq &&
		      l->e[i].id_len == r->device_id_len &&
		      !memcmp(l->e[i].id, r->device_id, r->device_id_len);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->e = realloc(l->e, l->cap * sizeof(*l->e));
		if (!l->e)
			return -ENOMEM;
	}
	/* The key range is recorded for duplicates too: it was used. */
	e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->gw, sizeof(e->gw), "%s", r->gateway);
	memcpy(e->id, r->device_id, r->device_id_len);
	e->id_len = r->device_id_len;
	e->seq = dup ? UINT64_MAX : r->device_seq;
	e->epoch = r->epoch;
	e->off = r->key_offset;
	e->klen = r->key_len;
	memcpy(e->ct, r->ct_hash, LEDGER_HASH_LEN);
	res->verdict = dup ? LEDGER_DUPLICATE : LEDGER_APPENDED;
	res->flags = 0;
	res->index = l->n - 1;
	if (dup)
		return 0;
	for (uint32_t i = 0; i < r->payload_len; i++)
		sprintf(hex + 2 * i, "%02x", r->payload[i]);
	return stage(l, "E %s %.*s %llu %s\n", r->gateway, (int)r->device_id_len,
		     (const char *)r->device_id, (unsigned long long)r->device_seq, hex);
}

int ledger_event(struct ledger *l, enum ledger_event_kind kind,
		 const char *gateway, const char *detail, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return stage(l, "V %d %s %s\n", (int)kind, gateway ? gateway : "-", detail);
}

int ledger_commit(struct ledger *l, char *err, size_t errlen)
{
	int n = 0;

	if (++l->commits == l->fail_at) {
		seterr(err, errlen, "injected commit failure");
		l->slen = 0;
		return -EIO;
	}
	for (size_t i = 0; i < l->slen; i++)
		n += l->stage[i] == '\n';
	if (l->slen && (fwrite(l->stage, 1, l->slen, l->f) != l->slen || fflush(l->f))) {
		seterr(err, errlen, "write: %s", strerror(errno));
		return -EIO;
	}
	l->slen = 0;
	l->committed = l->n;
	return n;
}

int ledger_sth_due_ms(struct ledger *l)
{
	(void)l;
	return -1;
}

int ledger_sign_now(struct ledger *l, char *err, size_t errlen)
{
	(void)l;
	(void)err;
	(void)errlen;
	return 0;
}

uint64_t ledger_size(struct ledger *l)
{
	return l->committed;
}

int ledger_device_add(struct ledger *l, const char *gateway, const uint8_t *id,
		      uint8_t id_len, char *err, size_t errlen)
{
	(void)l; (void)gateway; (void)id; (void)id_len; (void)err; (void)errlen;
	return 0;
}

int ledger_device_trust(struct ledger *l, const char *gateway, const uint8_t *id,
			uint8_t id_len, char *err, size_t errlen)
{
	(void)l; (void)gateway; (void)id; (void)id_len; (void)err; (void)errlen;
	return 0;
}
