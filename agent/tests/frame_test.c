// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the wire codec (agent/lib/frame*.c): round trips, every
 * single-bit flip, every truncation, malformed and random input, the key
 * range a seal may read, and known-answer vectors checked against an
 * independent builder and Poly1305 (frame_ref.c). Built twice: plain and
 * with -fsanitize=address,undefined, where every parser input sits in a heap
 * block of exactly its length so that any out-of-bounds read aborts.
 */
#define _GNU_SOURCE	/* the kselftest harness needs POSIX and GNU APIs */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "frame.h"
#include "frame_ref.h"

#include "kselftest_harness.h"

#ifndef QKD_KAT_FILE
#define QKD_KAT_FILE "agent/tests/vectors/frame-kat.txt"
#endif

static void __attribute__((constructor)) init_sodium(void)
{
	if (sodium_init() < 0)
		abort();
}

/* RFC 8439 §2.5.2: the Poly1305 example. */
static const uint8_t rfc_key[32] = {
	0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33,
	0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5, 0x06, 0xa8,
	0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd,
	0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b,
};

static const char rfc_msg[] = "Cryptographic Forum Research Group";
static const uint8_t rfc_tag[16] = {
	0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6,
	0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01, 0x27, 0xa9,
};

/*
 * A simulated key stream: both ends hold these bytes at offsets
 * [STREAM_BASE, STREAM_BASE + len). Returns NULL outside it, like an RX
 * read that fails.
 */
#define STREAM_BASE	1000000ull

static const uint8_t *stream_at(const uint8_t *s, size_t len, uint64_t off,
				size_t n)
{
	if (off < STREAM_BASE || off - STREAM_BASE > len ||
	    n > len - (off - STREAM_BASE))
		return NULL;
	return s + (off - STREAM_BASE);
}

static void sample_hello(struct qkd_hello *h, uint8_t type)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->session_id = 0x1122334455667788ull;
	h->epoch = 42;
	h->r_offset = STREAM_BASE;
	h->link_id = 7;
	strcpy(h->link_name, "sim0a");
}

static void sample_ack(struct qkd_ack *a)
{
	a->session_id = 0x1122334455667788ull;
	a->ack_seq = 99;
	a->epoch = 42;
	a->key_offset = STREAM_BASE + 32;
}

static void sample_data(struct qkd_data_hdr *h, struct ref_rng *g,
			uint32_t plen, uint64_t key_offset)
{
	static const char id[] = "plant-3/boiler-7";

	memset(h, 0, sizeof(*h));
	h->session_id = 0x1122334455667788ull;
	h->seq = 5;
	h->epoch = 42;
	h->key_offset = key_offset;
	h->device_seq = 123456789;
	h->device_time = 1700000000123456789ull;
	h->payload_len = plen;
	h->device_id_len = sizeof(id) - 1;
	memcpy(h->device_id, id, sizeof(id) - 1);
	ref_fill(g, h->integrity, sizeof(h->integrity));
}

static int data_hdr_equal(const struct qkd_data_hdr *a,
			  const struct qkd_data_hdr *b)
{
	return a->session_id == b->session_id && a->seq == b->seq &&
	       a->epoch == b->epoch && a->key_offset == b->key_offset &&
	       a->device_seq == b->device_seq &&
	       a->device_time == b->device_time &&
	       a->payload_len == b->payload_len &&
	       a->device_id_len == b->device_id_len &&
	       !memcmp(a->device_id, b->device_id, a->device_id_len) &&
	       !memcmp(a->integrity, b->integrity, sizeof(a->integrity));
}

/* ---- DATA frames, one variant per payload size ------------------------ */

FIXTURE(data) {
	struct ref_rng g;
	uint8_t r[QKD_R_LEN];
	uint8_t *stream, *payload, *frame;
	size_t stream_len, frame_len, key_len;
	struct qkd_data_hdr h;
};

FIXTURE_VARIANT(data) {
	uint32_t plen;
	unsigned int stride;	/* bit flips: test every stride-th ciphertext bit */
};

FIXTURE_VARIANT_ADD(data, p0) { .plen = 0, .stride = 1 };
FIXTURE_VARIANT_ADD(data, p1) { .plen = 1, .stride = 1 };
FIXTURE_VARIANT_ADD(data, p16) { .plen = 16, .stride = 1 };
FIXTURE_VARIANT_ADD(data, p100) { .plen = 100, .stride = 1 };
FIXTURE_VARIANT_ADD(data, p1024) { .plen = 1024, .stride = 1 };
FIXTURE_VARIANT_ADD(data, p65536) { .plen = 65536, .stride = 127 };

FIXTURE_SETUP(data)
{
	int n;

	self->g.s = 0x5eed0000ull + variant->plen;
	ref_fill(&self->g, self->r, sizeof(self->r));
	self->key_len = QKD_DATA_KEY_LEN(variant->plen);
	/* key range in the middle of the stream, key bytes on both sides */
	self->stream_len = self->key_len + 2048;
	self->stream = malloc(self->stream_len);
	self->payload = malloc(variant->plen + 1);
	self->frame = malloc(QKD_FRAME_MAX);
	ASSERT_TRUE(self->stream && self->payload && self->frame);
	ref_fill(&self->g, self->stream, self->stream_len);
	ref_fill(&self->g, self->payload, variant->plen);
	sample_data(&self->h, &self->g, variant->plen, STREAM_BASE + 1024);
	n = qkd_data_seal(self->frame, QKD_FRAME_MAX, &self->h, self->r,
			  self->stream + 1024, self->key_len, self->payload);
	ASSERT_EQ((int)QKD_DATA_LEN(self->h.device_id_len, variant->plen), n);
	self->frame_len = (size_t)n;
}

FIXTURE_TEARDOWN(data)
{
	free(self->stream);
	free(self->payload);
	free(self->frame);
}

/* open with whatever key the stream holds at the frame's own offset */
static int open_from_stream(FIXTURE_DATA(data) *self, const uint8_t *frame,
			    size_t len, uint8_t *out, size_t out_size)
{
	struct qkd_data_hdr h;
	const uint8_t *key;
	int err = qkd_data_parse(frame, len, &h);

	if (err)
		return err;
	key = stream_at(self->stream, self->stream_len, h.key_offset,
			QKD_DATA_KEY_LEN(h.payload_len));
	if (!key)
		return -ENOKEY;
	return qkd_data_open(frame, len, self->r, key,
			     QKD_DATA_KEY_LEN(h.payload_len), out, out_size);
}

TEST_F(data, round_trip)
{
	uint32_t plen = variant->plen;
	uint8_t *frame = ref_exact(self->frame, self->frame_len);
	uint8_t *key = ref_exact(self->stream + 1024, self->key_len);
	uint8_t *out = malloc(plen + 1), *ref = malloc(QKD_FRAME_MAX);
	struct qkd_data_hdr h;
	enum qkd_msg_type type;

	ASSERT_TRUE(out && ref);
	EXPECT_EQ((int)self->frame_len,
		  qkd_frame_peek(frame, QKD_PREFIX_LEN, &type));
	EXPECT_EQ(QKD_MSG_DATA, type);
	ASSERT_EQ(0, qkd_data_parse(frame, self->frame_len, &h));
	EXPECT_TRUE(data_hdr_equal(&self->h, &h));
	EXPECT_EQ((int)plen, qkd_data_open(frame, self->frame_len, self->r, key,
					   self->key_len, out, plen));
	EXPECT_EQ(0, memcmp(out, self->payload, plen));
	/* the ciphertext is payload XOR pad, and matches the reference */
	for (size_t i = 0; i < plen; i++)
		ASSERT_EQ(self->payload[i] ^ key[i],
			  frame[QKD_DATA_FIXED_LEN + h.device_id_len + i]);
	EXPECT_EQ(self->frame_len, ref_data(ref, &self->h, self->r, key,
					    self->payload));
	EXPECT_EQ(0, memcmp(ref, frame, self->frame_len));
	/* output buffers one byte short */
	EXPECT_EQ(-ENOBUFS, qkd_data_seal(ref, self->frame_len - 1, &self->h,
					  self->r, key, self->key_len,
					  self->payload));
	if (plen)
		EXPECT_EQ(-ENOBUFS, qkd_data_open(frame, self->frame_len,
						  self->r, key, self->key_len,
						  out, plen - 1));
	ref_exact_free(frame, self->frame_len);
	ref_exact_free(key, self->key_len);
	free(out);
	free(ref);
}

/* A seal reads key bytes [off, off + len + 16) and nothing else. */
TEST_F(data, key_range)
{
	size_t klen = self->key_len, flen = self->frame_len;
	uint8_t *key = ref_exact(self->stream + 1024, klen);
	uint8_t *r = ref_exact(self->r, QKD_R_LEN);
	uint8_t *pay = ref_exact(self->payload, variant->plen);
	uint8_t *out = ref_exact(self->frame, flen), *again = malloc(flen);
	size_t ct = QKD_DATA_FIXED_LEN + self->h.device_id_len;
	size_t step = klen > 4096 ? 251 : 1;

	ASSERT_TRUE(again != NULL);
	/* exact-size key, r, payload and output: ASan traps any overrun */
	ASSERT_EQ((int)flen, qkd_data_seal(out, flen, &self->h, r, key, klen,
					   pay));
	EXPECT_EQ(0, memcmp(out, self->frame, flen));
	/* changing every stream byte outside the range changes nothing */
	for (size_t i = 0; i < self->stream_len; i++)
		if (i < 1024 || i >= 1024 + klen)
			self->stream[i] ^= 0xa5;
	ASSERT_EQ((int)flen, qkd_data_seal(again, flen, &self->h, self->r,
					   self->stream + 1024, klen,
					   self->payload));
	EXPECT_EQ(0, memcmp(again, self->frame, flen));
	/*
	 * every byte inside matters: a pad byte changes its ciphertext byte and
	 * the tag, an s byte the tag alone
	 */
	for (size_t i = 0; i < klen; i += step) {
		self->stream[1024 + i] ^= 0x01;
		qkd_data_seal(again, flen, &self->h, self->r,
			      self->stream + 1024, klen, self->payload);
		self->stream[1024 + i] ^= 0x01;
		if (i < variant->plen)
			ASSERT_EQ(self->frame[ct + i] ^ 0x01, again[ct + i]);
		ASSERT_EQ(0, memcmp(again, self->frame, flen - QKD_TAG_LEN -
				    (i < variant->plen ? variant->plen - i : 0)));
		ASSERT_NE(0, memcmp(again + flen - QKD_TAG_LEN,
				    self->frame + flen - QKD_TAG_LEN,
				    QKD_TAG_LEN));
	}
	ref_exact_free(key, klen);
	ref_exact_free(r, QKD_R_LEN);
	ref_exact_free(pay, variant->plen);
	ref_exact_free(out, flen);
	free(again);
}

/* Every single-bit flip of header, ciphertext and tag is rejected. */
TEST_F(data, bit_flips)
{
	size_t flen = self->frame_len, klen = self->key_len;
	size_t ct = QKD_DATA_FIXED_LEN + self->h.device_id_len;
	size_t tag = flen - QKD_TAG_LEN, tested = 0;
	const uint8_t *key = self->stream + 1024;
	uint8_t *out = malloc(variant->plen + 1);
	uint8_t *canary = malloc(variant->plen + 1);
	struct qkd_data_hdr h;

	ASSERT_TRUE(out && canary);
	memset(canary, 0x5a, variant->plen + 1);
	memcpy(out, canary, variant->plen + 1);
	for (size_t bit = 0; bit < 8 * flen; bit++) {
		size_t byte = bit / 8;
		int err;

		if (byte >= ct && byte < tag && (bit - 8 * ct) % variant->stride)
			continue;
		self->frame[byte] ^= (uint8_t)(1u << (bit % 8));
		err = qkd_data_parse(self->frame, flen, &h);
		if (!err) {
			/* the key the sender used, and the one now named */
			err = qkd_data_open(self->frame, flen, self->r, key,
					    klen, out, variant->plen);
			ASSERT_EQ(-EKEYREJECTED, err) TH_LOG("bit %zu", bit);
			err = open_from_stream(self, self->frame, flen, out,
					       variant->plen);
			ASSERT_TRUE(err == -EKEYREJECTED || err == -ENOKEY);
		}
		ASSERT_LT(err, 0) TH_LOG("bit %zu accepted", bit);
		/* nothing decrypted on failure */
		ASSERT_EQ(0, memcmp(out, canary, variant->plen + 1));
		self->frame[byte] ^= (uint8_t)(1u << (bit % 8));
		tested++;
	}
	TH_LOG("%zu of %zu bits flipped, all rejected", tested, 8 * flen);
	EXPECT_EQ((int)variant->plen, open_from_stream(self, self->frame, flen,
						       out, variant->plen));
	free(out);
	free(canary);
}

/*
 * Every proper prefix, and one byte too many, is rejected without a read
 * past its end: under ASan the bytes beyond the length are poisoned.
 */
TEST_F(data, truncation)
{
	size_t flen = self->frame_len, klen = self->key_len;
	const uint8_t *key = self->stream + 1024;
	uint8_t *out = malloc(variant->plen + 1), *p;
	struct qkd_data_hdr h;

	ASSERT_TRUE(out != NULL);
	self->frame[flen] = 0;
	p = ref_exact(self->frame, flen + 1);
	for (size_t len = 0; len <= flen + 1; len++) {
		if (len == flen)
			continue;
		ref_window(p, flen + 1, len);
		EXPECT_NE(0, qkd_data_parse(p, len, &h)) TH_LOG("len %zu", len);
		EXPECT_GT(0, qkd_data_open(p, len, self->r, key, klen, out,
					   variant->plen));
		EXPECT_NE(0, qkd_hello_parse(p, len, &(struct qkd_hello){0}));
		EXPECT_NE(0, qkd_ack_parse(p, len, &(struct qkd_ack){0}));
		EXPECT_EQ(len < QKD_PREFIX_LEN ? -EAGAIN : (int)flen,
			  qkd_frame_peek(p, len, NULL));
	}
	ref_window(p, flen + 1, flen + 1);
	ref_exact_free(p, flen + 1);
	free(out);
}

/* ---- HELLO, ACK_HELLO, ACK -------------------------------------------- */

TEST(hello_round_trip)
{
	static const uint8_t types[] = { QKD_MSG_HELLO, QKD_MSG_ACK_HELLO };
	uint8_t key[QKD_HELLO_KEY_LEN], buf[QKD_HELLO_LEN], ref[QKD_HELLO_LEN];
	struct ref_rng g = { 1 };

	for (int t = 0; t < 2; t++) {
		struct qkd_hello h, got;
		enum qkd_msg_type type;
		uint8_t *p, *k;

		sample_hello(&h, types[t]);
		ref_fill(&g, key, sizeof(key));
		ASSERT_EQ(QKD_HELLO_LEN, qkd_hello_seal(buf, sizeof(buf), &h,
							key));
		EXPECT_EQ(-ENOBUFS, qkd_hello_seal(ref, QKD_HELLO_LEN - 1, &h,
						   key));
		ref_hello(ref, &h, key);
		EXPECT_EQ(0, memcmp(ref, buf, sizeof(buf)));
		p = ref_exact(buf, sizeof(buf));
		k = ref_exact(key, sizeof(key));
		EXPECT_EQ(QKD_HELLO_LEN, qkd_frame_peek(p, QKD_PREFIX_LEN,
							&type));
		EXPECT_EQ(types[t], type);
		ASSERT_EQ(0, qkd_hello_parse(p, QKD_HELLO_LEN, &got));
		EXPECT_EQ(h.type, got.type);
		EXPECT_EQ(h.session_id, got.session_id);
		EXPECT_EQ(h.epoch, got.epoch);
		EXPECT_EQ(h.r_offset, got.r_offset);
		EXPECT_EQ(h.link_id, got.link_id);
		EXPECT_EQ(0, memcmp(h.link_name, got.link_name,
				    QKD_LINK_NAME_LEN));
		EXPECT_EQ(0, qkd_hello_verify(p, QKD_HELLO_LEN, k));
		/* wrong r or wrong s_hello */
		k[0] ^= 0x01;	/* not a clamped bit of r */
		EXPECT_EQ(-EKEYREJECTED, qkd_hello_verify(p, QKD_HELLO_LEN, k));
		k[0] ^= 0x01;
		k[QKD_R_LEN] ^= 0x80;
		EXPECT_EQ(-EKEYREJECTED, qkd_hello_verify(p, QKD_HELLO_LEN, k));
		ref_exact_free(p, sizeof(buf));
		ref_exact_free(k, sizeof(key));
	}
}

TEST(ack_round_trip)
{
	static const uint64_t seqs[] = { 0, 1, 99, UINT64_MAX };
	uint8_t r[QKD_R_LEN], s[QKD_S_LEN], buf[QKD_ACK_LEN], ref[QKD_ACK_LEN];
	struct ref_rng g = { 2 };

	for (size_t i = 0; i < ARRAY_SIZE(seqs); i++) {
		struct qkd_ack a, got;
		uint8_t *p, *rr, *ss;

		sample_ack(&a);
		a.ack_seq = seqs[i];
		ref_fill(&g, r, sizeof(r));
		ref_fill(&g, s, sizeof(s));
		ASSERT_EQ(QKD_ACK_LEN, qkd_ack_seal(buf, sizeof(buf), &a, r, s));
		EXPECT_EQ(-ENOBUFS, qkd_ack_seal(ref, QKD_ACK_LEN - 1, &a, r, s));
		ref_ack(ref, &a, r, s);
		EXPECT_EQ(0, memcmp(ref, buf, sizeof(buf)));
		p = ref_exact(buf, sizeof(buf));
		rr = ref_exact(r, sizeof(r));
		ss = ref_exact(s, sizeof(s));
		ASSERT_EQ(0, qkd_ack_parse(p, QKD_ACK_LEN, &got));
		EXPECT_EQ(a.session_id, got.session_id);
		EXPECT_EQ(a.ack_seq, got.ack_seq);
		EXPECT_EQ(a.epoch, got.epoch);
		EXPECT_EQ(a.key_offset, got.key_offset);
		EXPECT_EQ(0, qkd_ack_verify(p, QKD_ACK_LEN, rr, ss));
		EXPECT_EQ(-EKEYREJECTED, qkd_ack_verify(p, QKD_ACK_LEN, ss, rr));
		ss[15] ^= 1;
		EXPECT_EQ(-EKEYREJECTED, qkd_ack_verify(p, QKD_ACK_LEN, rr, ss));
		ref_exact_free(p, sizeof(buf));
		ref_exact_free(rr, sizeof(r));
		ref_exact_free(ss, sizeof(s));
	}
}

/* Fixed-size messages: every bit flip, every truncation, one byte more. */
TEST(hello_ack_flips_and_truncation)
{
	uint8_t key[QKD_HELLO_KEY_LEN], hello[QKD_HELLO_LEN + 1];
	uint8_t ack[QKD_ACK_LEN + 1];
	struct ref_rng g = { 3 };
	struct qkd_hello h;
	struct qkd_ack a;
	int flips = 0;

	ref_fill(&g, key, sizeof(key));
	sample_hello(&h, QKD_MSG_HELLO);
	sample_ack(&a);
	ASSERT_EQ(QKD_HELLO_LEN, qkd_hello_seal(hello, sizeof(hello), &h, key));
	ASSERT_EQ(QKD_ACK_LEN, qkd_ack_seal(ack, sizeof(ack), &a, key,
					    key + QKD_R_LEN));
	for (size_t bit = 0; bit < 8 * QKD_HELLO_LEN; bit++, flips++) {
		hello[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ASSERT_NE(0, qkd_hello_verify(hello, QKD_HELLO_LEN, key))
			TH_LOG("hello bit %zu", bit);
		hello[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 8 * QKD_ACK_LEN; bit++, flips++) {
		ack[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ASSERT_NE(0, qkd_ack_verify(ack, QKD_ACK_LEN, key,
					    key + QKD_R_LEN))
			TH_LOG("ack bit %zu", bit);
		ack[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	EXPECT_EQ(0, qkd_hello_verify(hello, QKD_HELLO_LEN, key));
	EXPECT_EQ(0, qkd_ack_verify(ack, QKD_ACK_LEN, key, key + QKD_R_LEN));
	for (size_t len = 0; len <= QKD_HELLO_LEN + 1; len++) {
		uint8_t *p = ref_exact(hello, len);

		if (len != QKD_HELLO_LEN) {
			EXPECT_NE(0, qkd_hello_parse(p, len, &h));
			EXPECT_NE(0, qkd_hello_verify(p, len, key));
		}
		ref_exact_free(p, len);
	}
	for (size_t len = 0; len <= QKD_ACK_LEN + 1; len++) {
		uint8_t *p = ref_exact(ack, len);

		if (len != QKD_ACK_LEN) {
			EXPECT_NE(0, qkd_ack_parse(p, len, &a));
			EXPECT_NE(0, qkd_ack_verify(p, len, key,
						    key + QKD_R_LEN));
		}
		ref_exact_free(p, len);
	}
	TH_LOG("%d hello/ack bit flips rejected", flips);
}

#include "frame_test_cases.h"

TEST_HARNESS_MAIN
