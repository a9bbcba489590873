// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only references (see frame_ref.h). Deliberately simple and slow:
 * they exist to disagree with agent/lib if either is wrong.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_ref.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(a, n)		((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n)	((void)(a), (void)(n))
#endif

/* ---- Poly1305, RFC 8439 §2.5.1 ---------------------------------------- */

#define NW 9	/* 288-bit numbers: room for a 132-bit by 124-bit product */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* a += b, both NW words. */
static void big_add(uint32_t *a, const uint32_t *b)
{
	uint64_t c = 0;

	for (int i = 0; i < NW; i++) {
		c += (uint64_t)a[i] + b[i];
		a[i] = (uint32_t)c;
		c >>= 32;
	}
}

/* p = a * b: a has 5 significant words, b 4; the product fits NW words. */
static void big_mul(uint32_t *p, const uint32_t *a, const uint32_t *b)
{
	memset(p, 0, NW * sizeof(*p));
	for (int i = 0; i < 5; i++) {
		uint64_t carry = 0;

		for (int j = 0; j < 4; j++) {
			uint64_t t = (uint64_t)a[i] * b[j] + p[i + j] + carry;

			p[i + j] = (uint32_t)t;
			carry = t >> 32;
		}
		p[i + 4] = (uint32_t)carry;
	}
}

/* x mod (2^130 - 5), leaving x < 2^130: fold x = hi * 2^130 + lo. */
static void big_fold(uint32_t *x)
{
	for (;;) {
		uint32_t hi[NW] = { 0 }, hi5[NW];
		int nonzero = 0;

		for (int i = 0; i + 4 < NW; i++) {
			hi[i] = x[i + 4] >> 2;
			if (i + 5 < NW)
				hi[i] |= x[i + 5] << 30;
			nonzero |= hi[i] != 0;
		}
		if (!nonzero)
			return;
		x[4] &= 3;
		for (int i = 5; i < NW; i++)
			x[i] = 0;
		/* hi * 5 = hi * 4 + hi */
		memcpy(hi5, hi, sizeof(hi));
		for (int k = 0; k < 2; k++)
			big_add(hi5, hi5);	/* doubles: hi5 = 4 * hi */
		big_add(hi5, hi);
		big_add(x, hi5);
	}
}

void ref_poly1305(uint8_t tag[16], const uint8_t *msg, size_t len,
		  const uint8_t key[32])
{
	uint32_t r[NW] = { 0 }, s[NW] = { 0 }, acc[NW] = { 0 }, t[NW];

	for (int i = 0; i < 4; i++) {
		r[i] = le32(key + 4 * i);
		s[i] = le32(key + 16 + 4 * i);
	}
	/* clamp */
	r[0] &= 0x0fffffff;
	r[1] &= 0x0ffffffc;
	r[2] &= 0x0ffffffc;
	r[3] &= 0x0ffffffc;

	while (len) {
		size_t n = len < 16 ? len : 16;
		uint8_t b[20] = { 0 };
		uint32_t blk[NW] = { 0 };

		memcpy(b, msg, n);
		b[n] = 1;	/* the block with a 1 byte appended */
		for (int i = 0; i < 5; i++)
			blk[i] = le32(b + 4 * i);
		big_add(acc, blk);
		big_mul(t, acc, r);
		memcpy(acc, t, sizeof(t));
		big_fold(acc);
		msg += n;
		len -= n;
	}
	/* acc < 2^130 now; subtract p once if acc >= p, i.e. acc + 5 >= 2^130 */
	memset(t, 0, sizeof(t));
	t[0] = 5;
	big_add(t, acc);
	if (t[4] >> 2)
		memcpy(acc, t, sizeof(t));
	acc[4] &= 3;
	big_add(acc, s);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			tag[4 * i + k] = (uint8_t)(acc[i] >> (8 * k));
}

/* ---- the documented layouts ------------------------------------------- */

static void be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void prefix(uint8_t *out, size_t total, int type)
{
	be(out, total, 4);
	out[4] = 0xcb;		/* magic */
	out[5] = 1;		/* version */
	out[6] = (uint8_t)type;
	out[7] = 0;		/* flags */
}

static void tag(uint8_t *out, size_t n, const uint8_t r[16],
		const uint8_t s[16])
{
	uint8_t k[32];

	memcpy(k, r, 16);
	memcpy(k + 16, s, 16);
	ref_poly1305(out + n, out, n, k);
}

size_t ref_hello(uint8_t *out, const struct qkd_hello *h,
		 const uint8_t key[32])
{
	memset(out, 0, 72);
	prefix(out, 72, h->type);
	be(out + 8, h->session_id, 8);
	be(out + 16, h->epoch, 8);
	be(out + 24, h->r_offset, 8);
	be(out + 32, h->link_id, 4);
	strncpy((char *)out + 40, h->link_name, 16);
	tag(out, 56, key, key + 16);
	return 72;
}

size_t ref_data(uint8_t *out, const struct qkd_data_hdr *h,
		const uint8_t r[16], const uint8_t *key,
		const uint8_t *payload)
{
	size_t idl = h->device_id_len, plen = h->payload_len;
	size_t n = 96 + idl + plen;

	memset(out, 0, 96);
	prefix(out, n + 16, 2);
	be(out + 8, h->session_id, 8);
	be(out + 16, h->seq, 8);
	be(out + 24, h->epoch, 8);
	be(out + 32, h->key_offset, 8);
	be(out + 40, plen, 4);
	out[44] = (uint8_t)idl;
	be(out + 48, h->device_seq, 8);
	be(out + 56, h->device_time, 8);
	memcpy(out + 64, h->integrity, 32);
	memcpy(out + 96, h->device_id, idl);
	for (size_t i = 0; i < plen; i++)
		out[96 + idl + i] = payload[i] ^ key[i];
	tag(out, n, r, key + plen);
	return n + 16;
}

size_t ref_ack(uint8_t *out, const struct qkd_ack *a, const uint8_t r[16],
	       const uint8_t s[16])
{
	prefix(out, 56, 4);
	be(out + 8, a->session_id, 8);
	be(out + 16, a->ack_seq, 8);
	be(out + 24, a->epoch, 8);
	be(out + 32, a->key_offset, 8);
	tag(out, 40, r, s);
	return 56;
}

/* ---- test data -------------------------------------------------------- */

uint64_t ref_rand(struct ref_rng *g)
{
	uint64_t x = g->s ? g->s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	g->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void ref_fill(struct ref_rng *g, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(ref_rand(g) >> 56);
}

uint8_t *ref_exact(const void *buf, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		abort();
	if (!n)
		return p + 1;
	memcpy(p, buf, n);
	return p;
}

void ref_exact_free(uint8_t *p, size_t n)
{
	free(n ? p : p - 1);
}

void ref_window(uint8_t *p, size_t cap, size_t len)
{
	ASAN_UNPOISON_MEMORY_REGION(p, len);
	ASAN_POISON_MEMORY_REGION(p + len, cap - len);
}

/* ---- known-answer vector files ---------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int kat_load(const char *path, struct kat_record *recs, int max)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *l, *sp;
	size_t cap = 0;
	int n = 0;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		l = trim(line);
		if (!*l || *l == '#')
			continue;
		if (*l == '[') {
			if (n == max)
				break;
			memset(&recs[n], 0, sizeof(recs[n]));
			snprintf(recs[n].name, sizeof(recs[n].name), "%.*s",
				 (int)strcspn(l + 1, "]"), l + 1);
			n++;
			continue;
		}
		sp = strpbrk(l, " \t");
		if (!n || !sp || recs[n - 1].nfields == KAT_FIELDS_MAX)
			continue;
		*sp = 0;
		recs[n - 1].key[recs[n - 1].nfields] = strdup(l);
		recs[n - 1].val[recs[n - 1].nfields] = strdup(trim(sp + 1));
		recs[n - 1].nfields++;
	}
	free(line);
	fclose(f);
	return n;
}

void kat_free(struct kat_record *recs, int n)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < recs[i].nfields; k++) {
			free(recs[i].key[k]);
			free(recs[i].val[k]);
		}
}

const char *kat_str(const struct kat_record *r, const char *field)
{
	for (int k = 0; k < r->nfields; k++)
		if (!strcmp(r->key[k], field))
			return r->val[k];
	return NULL;
}

int kat_u64(const struct kat_record *r, const char *field, uint64_t *v)
{
	const char *s = kat_str(r, field);
	char *end;

	if (!s)
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end || end == s ? -1 : 0;
}

long kat_hex(const struct kat_record *r, const char *field, uint8_t *out,
	     size_t max)
{
	const char *s = kat_str(r, field);
	size_t n, i;

	if (!s)
		return -1;
	if (!strcmp(s, "-"))
		return 0;
	n = strlen(s);
	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int b;

		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	return (long)i;
}
