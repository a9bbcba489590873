// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only references for frame_test.c, written from the specifications
 * (RFC 8439 and Documentation/wire-format.rst), sharing no code with
 * agent/lib: a Poly1305, a byte-by-byte frame builder, a seeded PRNG and a
 * reader for the known-answer vectors in agent/tests/vectors/.
 */
#ifndef QKD_FRAME_REF_H
#define QKD_FRAME_REF_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* Poly1305 as RFC 8439 §2.5.1 defines it, schoolbook on 32-bit limbs. */
void ref_poly1305(uint8_t tag[16], const uint8_t *msg, size_t len,
		  const uint8_t key[32]);

/* The documented layouts, built field by field. Return the length. */
size_t ref_hello(uint8_t *out, const struct qkd_hello *h,
		 const uint8_t key[32]);
size_t ref_data(uint8_t *out, const struct qkd_data_hdr *h,
		const uint8_t r[16], const uint8_t *key,
		const uint8_t *payload);
size_t ref_ack(uint8_t *out, const struct qkd_ack *a, const uint8_t r[16],
	       const uint8_t s[16]);

/* xorshift64*: deterministic test data from a seed. */
struct ref_rng {
	uint64_t s;
};

uint64_t ref_rand(struct ref_rng *g);
void ref_fill(struct ref_rng *g, uint8_t *p, size_t n);

/*
 * A copy of buf in a heap block of exactly n bytes (the pointer is one past
 * a 1-byte block when n is 0), so that AddressSanitizer traps any access
 * outside [p, p + n). Free with ref_exact_free().
 */
uint8_t *ref_exact(const void *buf, size_t n);
void ref_exact_free(uint8_t *p, size_t n);

/*
 * Under AddressSanitizer, makes [p, p + len) addressable and the rest of a
 * cap-byte heap block p not, so that one block serves every truncation of a
 * long frame; call ref_window(p, cap, cap) before freeing. A no-op without
 * ASan.
 */
void ref_window(uint8_t *p, size_t cap, size_t len);

/* Known-answer vectors: "[name]" starts a record, then "field value". */
#define KAT_FIELDS_MAX	24

struct kat_record {
	char name[64];
	int nfields;
	char *key[KAT_FIELDS_MAX];
	char *val[KAT_FIELDS_MAX];
};

/* Reads all records of a file; returns the count or -1. */
int kat_load(const char *path, struct kat_record *recs, int max);
void kat_free(struct kat_record *recs, int n);
const char *kat_str(const struct kat_record *r, const char *field);
/* Returns 0 and sets *v, or -1 if the field is missing or malformed. */
int kat_u64(const struct kat_record *r, const char *field, uint64_t *v);
/* Returns the decoded length (the field may be "-" for none), or -1. */
long kat_hex(const struct kat_record *r, const char *field, uint8_t *out,
	     size_t max);

#endif /* QKD_FRAME_REF_H */
