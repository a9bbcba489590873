// SPDX-License-Identifier: GPL-2.0
/*
 * The canonical byte encoding of an entry: what the leaf hash covers and
 * what verify recomputes from the stored columns. Big-endian integers,
 * variable fields length-prefixed, no optional parts except as zero
 * lengths, so one entry has exactly one encoding.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "ledger_int.h"

struct enc {
	uint8_t *buf;			/* NULL: measure only */
	size_t len;
	crypto_hash_sha256_state *h;	/* non-NULL: hash as we go */
};

static void put(struct enc *x, const void *p, size_t n)
{
	if (!n)
		return;
	if (x->buf)
		memcpy(x->buf + x->len, p, n);
	if (x->h)
		crypto_hash_sha256_update(x->h, p, n);
	x->len += n;
}

static void put_be(struct enc *x, uint64_t v, unsigned int bytes)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(x, b, bytes);
}

static void encode(struct enc *x, const struct ledger_entry *e)
{
	size_t gl = strlen(e->gateway), dl;

	put_be(x, LEDGER_ENTRY_VERSION, 1);
	put_be(x, e->type, 1);
	put_be(x, e->index, 8);
	put_be(x, e->recv_ns, 8);
	put_be(x, gl, 1);
	put(x, e->gateway, gl);
	if (e->type == LEDGER_T_RECORD) {
		put_be(x, e->epoch, 8);
		put_be(x, e->key_offset, 8);
		put_be(x, e->key_len, 4);
		put(x, e->ct_hash, LEDGER_HASH_LEN);
		put_be(x, e->device_id_len, 1);
		put(x, e->device_id, e->device_id_len);
		put_be(x, e->device_seq, 8);
		put_be(x, e->device_time, 8);
		put(x, e->integrity, LEDGER_INTEGRITY_LEN);
		put_be(x, e->flags, 4);
		put_be(x, e->payload_len, 4);
		put(x, e->payload, e->payload_len);
	} else {
		dl = strlen(e->detail);
		put_be(x, e->kind, 4);
		put_be(x, e->device_id_len, 1);
		put(x, e->device_id, e->device_id_len);
		put_be(x, dl, 2);
		put(x, e->detail, dl);
	}
}

size_t ledger_entry_encode(const struct ledger_entry *e, uint8_t *buf)
{
	struct enc x = { .buf = buf };

	encode(&x, e);
	return x.len;
}

void ledger_entry_leaf(const struct ledger_entry *e,
		       uint8_t leaf[LEDGER_HASH_LEN])
{
	crypto_hash_sha256_state st;
	struct enc x = { .h = &st };
	static const uint8_t zero;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	encode(&x, e);
	crypto_hash_sha256_final(&st, leaf);
}

void ledger_chain_next(const uint8_t prev[LEDGER_HASH_LEN],
		       const uint8_t leaf[LEDGER_HASH_LEN],
		       uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t buf[2 * LEDGER_HASH_LEN];

	memcpy(buf, prev, LEDGER_HASH_LEN);
	memcpy(buf + LEDGER_HASH_LEN, leaf, LEDGER_HASH_LEN);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

bool ledger_gateway_valid(const char *gw)
{
	size_t n;

	if (!gw)
		return false;
	n = strlen(gw);
	if (n < 1 || n > LEDGER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = gw[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

int ledger_check_device(const char *gateway, const uint8_t *id,
			uint8_t id_len, char *err, size_t errlen)
{
	if (!ledger_gateway_valid(gateway)) {
		lg_err(err, errlen,
			   "gateway name must be 1..%d characters of [A-Za-z0-9._-]",
			   LEDGER_NAME_MAX);
		return -EINVAL;
	}
	if (id_len < 1 || id_len > LEDGER_DEVICE_ID_MAX || !id) {
		lg_err(err, errlen, "device id must be 1..%d bytes (got %u)",
			   LEDGER_DEVICE_ID_MAX, id_len);
		return -EINVAL;
	}
	return 0;
}

int ledger_check_record(const struct ledger_record *r, char *err,
			size_t errlen)
{
	int rc;

	if (!r) {
		lg_err(err, errlen, "no record");
		return -EINVAL;
	}
	rc = ledger_check_device(r->gateway, r->device_id, r->device_id_len,
				 err, errlen);
	if (rc)
		return rc;
	if (r->payload_len > LEDGER_PAYLOAD_MAX) {
		lg_err(err, errlen, "payload of %u bytes exceeds %u",
			   r->payload_len, LEDGER_PAYLOAD_MAX);
		return -EINVAL;
	}
	if (r->payload_len && !r->payload) {
		lg_err(err, errlen, "payload is NULL but its length is %u",
			   r->payload_len);
		return -EINVAL;
	}
	/* Key ranges are stored as SQLite integers: keep them below 2^63. */
	if (r->key_len == 0 || r->key_offset > (uint64_t)INT64_MAX - r->key_len ||
	    r->epoch > (uint64_t)INT64_MAX) {
		lg_err(err, errlen,
			   "key range must be non-empty and end below 2^63");
		return -EINVAL;
	}
	return 0;
}

int ledger_check_detail(const char *detail, char *err, size_t errlen)
{
	size_t n = detail ? strlen(detail) : 0;

	if (n > LEDGER_DETAIL_MAX) {
		lg_err(err, errlen, "event detail of %zu bytes exceeds %d",
			   n, LEDGER_DETAIL_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)detail[i] < 0x20 ||
		    (unsigned char)detail[i] > 0x7e) {
			lg_err(err, errlen,
				   "event detail byte %zu is not printable ASCII",
				   i);
			return -EINVAL;
		}
	return 0;
}
