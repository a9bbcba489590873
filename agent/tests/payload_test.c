// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the telemetry payload parser (agent/lib/payload.h): round
 * trips, a hand-made known answer, every truncation, every value of every
 * length byte, oversize, trailing bytes, header and id errors, the MQTT
 * topic check, and 10,000 seeded random or mutated buffers compared with
 * an independent reference parser written from Documentation/ingest.rst.
 * Every input sits in a heap block of exactly its length, so the ASan
 * build (payload_asan_test) catches any read past it.
 *
 * QKD_PL_SEED=<n> changes the random seed (printed at the start).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

#include "kselftest_harness.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = (rng_state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void seed(uint64_t s)
{
	const char *e = getenv("QKD_PL_SEED");

	rng_state = e ? strtoull(e, NULL, 0) : s;
}

static const char id_chars[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:!~";

/* A valid record with an id of id_len bytes and plen payload bytes in pl. */
static void gen(struct qkd_record *r, unsigned int id_len, uint32_t plen,
		uint8_t *pl)
{
	memset(r, 0, sizeof(*r));
	r->device_id_len = (uint8_t)id_len;
	for (unsigned int i = 0; i < id_len; i++)
		r->device_id[i] = id_chars[rnd() % (sizeof(id_chars) - 1)];
	r->device_seq = rnd();
	r->device_time_ns = rnd();
	for (int i = 0; i < QKD_REC_ICODE_LEN; i++)
		r->integrity[i] = (uint8_t)rnd();
	for (uint32_t i = 0; i < plen; i++)
		pl[i] = (uint8_t)rnd();
	r->payload_len = plen;
	r->payload = plen ? pl : NULL;
}

static bool same(const struct qkd_record *a, const struct qkd_record *b)
{
	return a->device_id_len == b->device_id_len &&
	       !memcmp(a->device_id, b->device_id, a->device_id_len) &&
	       a->device_seq == b->device_seq &&
	       a->device_time_ns == b->device_time_ns &&
	       !memcmp(a->integrity, b->integrity, QKD_REC_ICODE_LEN) &&
	       a->payload_len == b->payload_len &&
	       (!a->payload_len ||
		!memcmp(a->payload, b->payload, a->payload_len));
}

/* len bytes of src in a heap block of exactly len bytes (1 if len is 0,
 * and then the pointer is past that byte's use). */
static uint8_t *exact(const void *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p && len)
		memcpy(p, src, len);
	return p;
}

static int parse_exact(const void *src, size_t len, struct qkd_record *r,
		       size_t *off)
{
	uint8_t *p = exact(src, len);
	int code;

	if (!p)
		abort();
	code = qkd_pl_parse(p, len, r, off);
	/* r->payload points into p: callers only look at it on success,
	 * and compare against src instead. */
	if (code == QKD_PL_OK && r->payload)
		r->payload = (const uint8_t *)src + (r->payload - p);
	free(p);
	return code;
}

/*
 * The reference: Documentation/ingest.rst's rules, read with a cursor.
 * Returns the code and sets *off like qkd_pl_parse().
 */
static int ref_parse(const uint8_t *p, size_t n, size_t *off)
{
	static const uint8_t magic[4] = { 'Q', 'K', 'D', 'T' };
	size_t c, id_len, pl_len;

	if (n > 65659) {
		*off = 65659;
		return QKD_PL_E_TOO_LONG;
	}
	for (c = 0; c < 4; c++) {
		if (c == n)
			goto trunc_hdr;
		if (p[c] != magic[c]) {
			*off = c;
			return QKD_PL_E_MAGIC;
		}
	}
	if (c == n)
		goto trunc_hdr;
	if (p[c] != 1) {
		*off = c;
		return QKD_PL_E_VERSION;
	}
	if (++c == n)
		goto trunc_hdr;
	if (p[c] != 0) {
		*off = c;
		return QKD_PL_E_FLAGS;
	}
	if (++c == n)
		goto trunc_hdr;
	id_len = p[c];
	if (id_len == 0 || id_len > 64) {
		*off = c;
		return QKD_PL_E_ID_LEN;
	}
	c++;
	for (size_t i = 0; i < id_len; i++, c++) {
		if (c == n) {
			*off = n;
			return QKD_PL_E_TRUNC_ID;
		}
		if (p[c] < '!' || p[c] > '~' || p[c] == '/' || p[c] == '+' ||
		    p[c] == '#') {
			*off = c;
			return QKD_PL_E_ID_CHARS;
		}
	}
	if (n - c < 8 + 8 + 32 + 4) {
		*off = n;
		return QKD_PL_E_TRUNC_FIXED;
	}
	c += 48;
	pl_len = (size_t)p[c] << 24 | (size_t)p[c + 1] << 16 |
		 (size_t)p[c + 2] << 8 | p[c + 3];
	if (pl_len > 65536) {
		*off = c;
		return QKD_PL_E_PAYLOAD_LEN;
	}
	c += 4;
	if (n - c < pl_len) {
		*off = n;
		return QKD_PL_E_TRUNC_PAYLOAD;
	}
	if (n - c > pl_len) {
		*off = c + pl_len;
		return QKD_PL_E_TRAILING;
	}
	*off = 0;
	return QKD_PL_OK;
trunc_hdr:
	*off = n;
	return QKD_PL_E_TRUNC_HDR;
}

static uint8_t big_pl[QKD_REC_PAYLOAD_MAX];
static uint8_t enc[QKD_PL_MAX_LEN + 64];
static uint8_t enc2[QKD_PL_MAX_LEN];

TEST(known_answer)
{
	/* Written out by hand from the format description. */
	static const uint8_t v[] = {
		'Q', 'K', 'D', 'T', 0x01, 0x00, 0x03, 'd', 'e', 'v',
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* seq */
		0x17, 0x9d, 0x4e, 0x5b, 0x1a, 0x2b, 0x3c, 0x4d,	/* time */
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
		0x00, 0x00, 0x00, 0x02,				/* len */
		0xab, 0xcd,
	};
	struct qkd_record r;
	size_t off = 99;

	ASSERT_EQ(sizeof(v), (size_t)(QKD_PL_OVERHEAD + 3 + 2));
	ASSERT_EQ(QKD_PL_OK, parse_exact(v, sizeof(v), &r, &off));
	EXPECT_EQ(3, r.device_id_len);
	EXPECT_STREQ("dev", r.device_id);
	EXPECT_EQ(0x0102030405060708ull, r.device_seq);
	EXPECT_EQ(0x179d4e5b1a2b3c4dull, r.device_time_ns);
	for (int i = 0; i < 32; i++)
		EXPECT_EQ(i, r.integrity[i]);
	ASSERT_EQ(2, r.payload_len);
	EXPECT_EQ(0xab, r.payload[0]);
	EXPECT_EQ(0xcd, r.payload[1]);
	ASSERT_EQ(sizeof(v), qkd_pl_encode(&r, enc, sizeof(enc)));
	EXPECT_EQ(0, memcmp(v, enc, sizeof(v)));
	EXPECT_EQ(65659, QKD_PL_MAX_LEN);
	EXPECT_EQ(60, QKD_PL_MIN_LEN);
}

TEST(round_trips)
{
	static const unsigned int ids[] = { 1, 2, 17, 63, 64 };
	static const uint32_t pls[] = { 0, 1, 2, 255, 256, 1000, 65535, 65536 };
	struct qkd_record r, got;
	size_t n, off;

	seed(1);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (size_t j = 0; j < sizeof(pls) / sizeof(pls[0]); j++) {
			gen(&r, ids[i], pls[j], big_pl);
			if (j == 0) {
				r.device_seq = 0;
				r.device_time_ns = 0;
			} else if (j == 1) {
				r.device_seq = UINT64_MAX;
				r.device_time_ns = UINT64_MAX;
			}
			n = qkd_pl_encoded_len(&r);
			ASSERT_EQ(QKD_PL_OVERHEAD + ids[i] + pls[j], n);
			ASSERT_EQ(n, qkd_pl_encode(&r, enc, n));
			ASSERT_EQ(QKD_PL_OK, parse_exact(enc, n, &got, &off));
			ASSERT_TRUE(same(&r, &got));
			ASSERT_EQ('\0', got.device_id[got.device_id_len]);
			/* The record also fits record.h's limits. */
			ASSERT_EQ(0, qkd_record_check(&got));
		}
	}
}

TEST(every_truncation)
{
	struct qkd_record r, got;
	unsigned int id_len = 5;
	size_t n, off;
	int code, want;

	seed(2);
	gen(&r, id_len, 40, big_pl);
	n = qkd_pl_encode(&r, enc, sizeof(enc));
	ASSERT_EQ(QKD_PL_OVERHEAD + id_len + 40, n);
	for (size_t k = 0; k < n; k++) {
		if (k < QKD_PL_HDR_LEN)
			want = QKD_PL_E_TRUNC_HDR;
		else if (k < QKD_PL_HDR_LEN + id_len)
			want = QKD_PL_E_TRUNC_ID;
		else if (k < QKD_PL_OVERHEAD + id_len)
			want = QKD_PL_E_TRUNC_FIXED;
		else
			want = QKD_PL_E_TRUNC_PAYLOAD;
		off = 12345;
		code = parse_exact(enc, k, &got, &off);
		ASSERT_EQ(want, code) TH_LOG("truncated at %zu", k);
		ASSERT_EQ(k, off);
	}
	ASSERT_EQ(QKD_PL_OK, parse_exact(enc, n, &got, &off));
}

TEST(every_length_byte_value)
{
	struct qkd_record r, got;
	const unsigned int id_len = 12;
	const uint32_t plen = 300;
	const size_t lpos = QKD_PL_HDR_LEN + id_len + 48;
	size_t n, off, roff;
	uint8_t *buf;
	int code;

	seed(3);
	gen(&r, id_len, plen, big_pl);
	n = qkd_pl_encode(&r, enc, sizeof(enc));
	ASSERT_EQ(QKD_PL_OVERHEAD + id_len + plen, n);
	buf = malloc(n);
	ASSERT_NE(NULL, buf);

	/* The id length byte: every value. */
	for (unsigned int v = 0; v < 256; v++) {
		memcpy(buf, enc, n);
		buf[6] = (uint8_t)v;
		code = qkd_pl_parse(buf, n, &got, &off);
		ASSERT_EQ(ref_parse(buf, n, &roff), code) TH_LOG("id len %u", v);
		if (code) {
			ASSERT_EQ(roff, off);
		}
		if (v == id_len) {
			ASSERT_EQ(QKD_PL_OK, code);
		} else {
			ASSERT_NE(QKD_PL_OK, code) TH_LOG("id len %u", v);
		}
		if (v == 0 || v > 64) {
			ASSERT_EQ(QKD_PL_E_ID_LEN, code);
		}
	}

	/* Each byte of the payload length: every value. */
	for (int b = 0; b < 4; b++) {
		for (unsigned int v = 0; v < 256; v++) {
			uint32_t pl;

			memcpy(buf, enc, n);
			buf[lpos + b] = (uint8_t)v;
			pl = (uint32_t)buf[lpos] << 24 |
			     (uint32_t)buf[lpos + 1] << 16 |
			     (uint32_t)buf[lpos + 2] << 8 | buf[lpos + 3];
			code = qkd_pl_parse(buf, n, &got, &off);
			if (pl > QKD_REC_PAYLOAD_MAX) {
				ASSERT_EQ(QKD_PL_E_PAYLOAD_LEN, code);
				ASSERT_EQ(lpos, off);
			} else if (pl > plen) {
				ASSERT_EQ(QKD_PL_E_TRUNC_PAYLOAD, code);
				ASSERT_EQ(n, off);
			} else if (pl < plen) {
				ASSERT_EQ(QKD_PL_E_TRAILING, code);
				ASSERT_EQ(lpos + 4 + pl, off);
			} else {
				ASSERT_EQ(QKD_PL_OK, code);
				ASSERT_TRUE(same(&r, &got));
			}
		}
	}
	free(buf);
}

TEST(oversize)
{
	struct qkd_record r, got;
	size_t n, off;
	uint8_t *buf;

	seed(4);
	gen(&r, QKD_REC_ID_MAX, QKD_REC_PAYLOAD_MAX, big_pl);
	n = qkd_pl_encode(&r, enc, sizeof(enc));
	ASSERT_EQ((size_t)QKD_PL_MAX_LEN, n);
	ASSERT_EQ(QKD_PL_OK, parse_exact(enc, n, &got, &off));
	ASSERT_TRUE(same(&r, &got));

	/* One byte more than the largest record, however it is made. */
	buf = calloc(1, n + 1);
	ASSERT_NE(NULL, buf);
	memcpy(buf, enc, n);
	ASSERT_EQ(QKD_PL_E_TOO_LONG, qkd_pl_parse(buf, n + 1, &got, &off));
	ASSERT_EQ((size_t)QKD_PL_MAX_LEN, off);
	free(buf);

	/* A payload length of 65537 with the bytes present. */
	gen(&r, 1, QKD_REC_PAYLOAD_MAX, big_pl);
	n = qkd_pl_encode(&r, enc, sizeof(enc));
	ASSERT_NE(0, n);
	enc[QKD_PL_HDR_LEN + 1 + 48 + 3] = 0x01;	/* 0x00010001 */
	enc[n] = 0x5a;
	ASSERT_EQ(QKD_PL_E_PAYLOAD_LEN, parse_exact(enc, n + 1, &got, &off));

	/* The encoder refuses records above the limits. */
	gen(&r, 4, 1, big_pl);
	r.payload_len = QKD_REC_PAYLOAD_MAX + 1;
	r.payload = big_pl;
	ASSERT_EQ(0, qkd_pl_encoded_len(&r));
	ASSERT_EQ(0, qkd_pl_encode(&r, enc, sizeof(enc)));
}

TEST(trailing_garbage)
{
	struct qkd_record r, got;
	size_t n, off;

	seed(5);
	for (unsigned int extra = 1; extra <= 64; extra++) {
		gen(&r, 1 + extra % 64, extra * 7, big_pl);
		n = qkd_pl_encode(&r, enc, sizeof(enc));
		ASSERT_NE(0, n);
		for (unsigned int i = 0; i < extra; i++)
			enc[n + i] = (uint8_t)rnd();
		ASSERT_EQ(QKD_PL_E_TRAILING,
			  parse_exact(enc, n + extra, &got, &off));
		ASSERT_EQ(n, off);
	}
}

TEST(header_errors)
{
	static const uint8_t bad_id[] = { 0x00, 0x20, '/', '+', '#', 0x7f,
					  0x80, 0xff };
	struct qkd_record r, got;
	size_t n, off;
	uint8_t *buf;

	seed(6);
	gen(&r, 8, 16, big_pl);
	n = qkd_pl_encode(&r, enc, sizeof(enc));
	buf = malloc(n);
	ASSERT_NE(NULL, buf);

	for (int i = 0; i < 4; i++) {
		memcpy(buf, enc, n);
		buf[i] ^= 0x20;
		ASSERT_EQ(QKD_PL_E_MAGIC, qkd_pl_parse(buf, n, &got, &off));
		ASSERT_EQ((size_t)i, off);
		/* A short message of another format is "bad magic". */
		ASSERT_EQ(QKD_PL_E_MAGIC, parse_exact(buf, i + 1, &got, &off));
	}
	ASSERT_EQ(QKD_PL_E_MAGIC, parse_exact("{\"id\":1}", 8, &got, &off));
	for (unsigned int v = 0; v < 256; v++) {
		memcpy(buf, enc, n);
		buf[4] = (uint8_t)v;
		ASSERT_EQ(v == 1 ? QKD_PL_OK : QKD_PL_E_VERSION,
			  qkd_pl_parse(buf, n, &got, &off));
		memcpy(buf, enc, n);
		buf[5] = (uint8_t)v;
		ASSERT_EQ(v == 0 ? QKD_PL_OK : QKD_PL_E_FLAGS,
			  qkd_pl_parse(buf, n, &got, &off));
	}
	for (unsigned int pos = 0; pos < 8; pos++) {
		for (size_t b = 0; b < sizeof(bad_id); b++) {
			memcpy(buf, enc, n);
			buf[QKD_PL_HDR_LEN + pos] = bad_id[b];
			ASSERT_EQ(QKD_PL_E_ID_CHARS,
				  qkd_pl_parse(buf, n, &got, &off));
			ASSERT_EQ(QKD_PL_HDR_LEN + pos, off);
			/* Also when the input ends right after it. */
			ASSERT_EQ(QKD_PL_E_ID_CHARS,
				  parse_exact(buf, QKD_PL_HDR_LEN + pos + 1,
					      &got, &off));
		}
	}
	free(buf);

	/* The encoder refuses what the parser would. */
	gen(&r, 8, 0, big_pl);
	r.device_id[3] = '/';
	ASSERT_EQ(0, qkd_pl_encode(&r, enc, sizeof(enc)));
	gen(&r, 8, 0, big_pl);
	r.device_id_len = 0;
	ASSERT_EQ(0, qkd_pl_encode(&r, enc, sizeof(enc)));
	r.device_id_len = 65;
	ASSERT_EQ(0, qkd_pl_encode(&r, enc, sizeof(enc)));
	gen(&r, 8, 0, big_pl);
	r.payload_len = 3;
	r.payload = NULL;
	ASSERT_EQ(0, qkd_pl_encode(&r, enc, sizeof(enc)));
	gen(&r, 8, 10, big_pl);
	ASSERT_EQ(0, qkd_pl_encode(&r, enc, QKD_PL_OVERHEAD + 8 + 9));
	ASSERT_EQ(QKD_PL_OVERHEAD + 8 + 10,
		  qkd_pl_encode(&r, enc, QKD_PL_OVERHEAD + 8 + 10));
}

TEST(topics)
{
	struct qkd_record r;
	char topic[QKD_PL_TOPIC_MAX], t[128];

	seed(7);
	gen(&r, 6, 0, big_pl);
	memcpy(r.device_id, "pump-7", 7);
	ASSERT_EQ(strlen("qkd/telemetry/pump-7"),
		  qkd_pl_topic(&r, topic, sizeof(topic)));
	ASSERT_STREQ("qkd/telemetry/pump-7", topic);
	ASSERT_EQ(QKD_PL_OK, qkd_pl_check_topic(topic, &r));
	ASSERT_EQ(QKD_PL_E_ID_MISMATCH,
		  qkd_pl_check_topic("qkd/telemetry/pump-8", &r));
	ASSERT_EQ(QKD_PL_E_ID_MISMATCH,
		  qkd_pl_check_topic("qkd/telemetry/pump-77", &r));
	ASSERT_EQ(QKD_PL_E_ID_MISMATCH,
		  qkd_pl_check_topic("qkd/telemetry/pump-", &r));
	ASSERT_EQ(QKD_PL_E_TOPIC, qkd_pl_check_topic("qkd/telemetry/", &r));
	ASSERT_EQ(QKD_PL_E_TOPIC, qkd_pl_check_topic("qkd/telemetry", &r));
	ASSERT_EQ(QKD_PL_E_TOPIC,
		  qkd_pl_check_topic("qkd/telemetry/pump-7/x", &r));
	ASSERT_EQ(QKD_PL_E_TOPIC,
		  qkd_pl_check_topic("qkd/telemetryX/pump-7", &r));
	ASSERT_EQ(QKD_PL_E_TOPIC, qkd_pl_check_topic("/qkd/telemetry/pump-7",
						     &r));
	ASSERT_EQ(QKD_PL_E_TOPIC, qkd_pl_check_topic("qkd/telemetry/pu mp",
						     &r));
	ASSERT_EQ(QKD_PL_E_TOPIC, qkd_pl_check_topic(NULL, &r));
	/* 64 is the longest id; 65 is no id at all. */
	gen(&r, 64, 0, big_pl);
	snprintf(t, sizeof(t), "qkd/telemetry/%s", r.device_id);
	ASSERT_EQ(QKD_PL_OK, qkd_pl_check_topic(t, &r));
	ASSERT_EQ(strlen(t), qkd_pl_topic(&r, topic, sizeof(topic)));
	ASSERT_EQ(0, qkd_pl_topic(&r, topic, strlen(t)));
	strcat(t, "x");
	ASSERT_EQ(QKD_PL_E_TOPIC, qkd_pl_check_topic(t, &r));
}

TEST(error_strings)
{
	static const int codes[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
				     13, 14, 32, 33 };
	const size_t nc = sizeof(codes) / sizeof(codes[0]);

	for (size_t i = 0; i < nc; i++) {
		ASSERT_STRNE("unknown", qkd_pl_err_name(codes[i]));
		ASSERT_STRNE("unknown error", qkd_pl_strerror(codes[i]));
		ASSERT_EQ(NULL, strchr(qkd_pl_strerror(codes[i]), '\n'));
		for (size_t j = 0; j < i; j++)
			ASSERT_STRNE(qkd_pl_err_name(codes[j]),
				     qkd_pl_err_name(codes[i]));
	}
	ASSERT_STREQ("unknown", qkd_pl_err_name(15));
	ASSERT_STREQ("unknown", qkd_pl_err_name(-1));
	ASSERT_STREQ("unknown", qkd_pl_err_name(QKD_PL_E_MAX));
	ASSERT_STREQ("unknown error", qkd_pl_strerror(1000));
}

/* 10,000 inputs: pure random bytes, and valid records with random
 * damage (byte changes, cuts, extensions). */
TEST(random_buffers)
{
	struct qkd_record r, got;
	unsigned int ok = 0, by_code[QKD_PL_E_MAX] = { 0 };
	size_t n, off, roff;
	int code, rcode;

	seed(0x5eed);
	TH_LOG("seed %#llx", (unsigned long long)rng_state);
	for (int iter = 0; iter < 10000; iter++) {
		uint64_t kind = rnd() % 8;

		if (kind == 0) {
			n = rnd() % 200;
			for (size_t i = 0; i < n; i++)
				enc[i] = (uint8_t)rnd();
		} else {
			gen(&r, 1 + rnd() % 64, (uint32_t)(rnd() % 600),
			    big_pl);
			if (rnd() % 64 == 0) {
				r.payload_len = (uint32_t)(rnd() %
					(QKD_REC_PAYLOAD_MAX + 1));
				r.payload = big_pl;
			}
			n = qkd_pl_encode(&r, enc, sizeof(enc));
			ASSERT_NE(0, n);
			switch (kind) {
			case 1: case 2: case 3: {
				int k = 1 + (int)(rnd() % 3);

				for (int i = 0; i < k; i++)
					enc[rnd() % n] = (uint8_t)rnd();
				break;
			}
			case 4:
				n = rnd() % n;
				break;
			case 5: {
				size_t k = 1 + rnd() % 40;

				if (n + k > sizeof(enc))
					k = sizeof(enc) - n;
				for (size_t i = 0; i < k; i++)
					enc[n + i] = (uint8_t)rnd();
				n += k;
				break;
			}
			case 6:
				/* A byte of the first 7 or of the lengths. */
				enc[rnd() % 7] = (uint8_t)rnd();
				break;
			default:
				break;	/* left valid */
			}
		}
		off = roff = 0;
		code = parse_exact(enc, n, &got, &off);
		rcode = ref_parse(enc, n, &roff);
		ASSERT_EQ(rcode, code) TH_LOG("iteration %d, %zu bytes", iter, n);
		ASSERT_TRUE(code >= 0 && code <= QKD_PL_E_TOO_LONG);
		by_code[code]++;
		if (code) {
			ASSERT_EQ(roff, off);
			ASSERT_TRUE(off <= n || code == QKD_PL_E_TOO_LONG);
			continue;
		}
		/* Accepted: canonical, so it encodes back to the same bytes. */
		ok++;
		ASSERT_EQ(n, qkd_pl_encoded_len(&got));
		ASSERT_EQ(n, qkd_pl_encode(&got, enc2, sizeof(enc2)));
		ASSERT_EQ(0, memcmp(enc2, enc, n));
	}
	TH_LOG("accepted %u; magic %u hdr %u id_len %u id_chars %u fixed %u pl_len %u trunc_pl %u trailing %u",
	       ok, by_code[1], by_code[2], by_code[5], by_code[7], by_code[8],
	       by_code[9], by_code[10], by_code[11]);
	ASSERT_GT(ok, 1000);
}

TEST_HARNESS_MAIN
