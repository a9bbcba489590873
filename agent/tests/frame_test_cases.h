// SPDX-License-Identifier: GPL-2.0
/*
 * More frame_test cases: malformed and random input, the stream framing,
 * argument checks, Poly1305 against RFC 8439 and the known-answer vectors.
 * Included once by frame_test.c: the kselftest harness keeps its list of
 * tests per translation unit.
 */

/* A valid DATA frame with the given sizes, sealed with fixed bytes. */
static size_t make_data(uint8_t *out, uint32_t plen, uint8_t idl)
{
	static uint8_t key[QKD_PAYLOAD_MAX + QKD_S_LEN], pay[QKD_PAYLOAD_MAX];
	static const uint8_t r[QKD_R_LEN] = { 1, 2, 3 };
	struct ref_rng g = { 4 };
	struct qkd_data_hdr h;

	sample_data(&h, &g, plen, STREAM_BASE);
	h.device_id_len = idl;
	return (size_t)qkd_data_seal(out, QKD_FRAME_MAX, &h, r, key,
				     QKD_DATA_KEY_LEN(plen), pay);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Parses buf[0, len) from an exact heap copy as every message type: 0 if
 * any parser accepts it, else the error of the parser its type byte names.
 */
static int parse_any(const uint8_t *buf, size_t len)
{
	uint8_t *p = ref_exact(buf, len);
	struct qkd_data_hdr d;
	struct qkd_hello h;
	struct qkd_ack a;
	int ed, eh, ea;

	ed = qkd_data_parse(p, len, &d);
	eh = qkd_hello_parse(p, len, &h);
	ea = qkd_ack_parse(p, len, &a);
	ref_exact_free(p, len);
	if (!ed || !eh || !ea)
		return 0;
	if (len > 6 && (buf[6] == QKD_MSG_HELLO || buf[6] == QKD_MSG_ACK_HELLO))
		return eh;
	if (len > 6 && buf[6] == QKD_MSG_ACK)
		return ea;
	return ed;
}

TEST(malformed)
{
	static uint8_t f[QKD_FRAME_MAX + 64];
	uint8_t key[QKD_HELLO_KEY_LEN] = { 0 };
	struct qkd_hello h;
	struct qkd_ack a;
	size_t n;

	/* DATA: length fields beyond their bounds, frames sized to match */
	n = make_data(f, 10, 4);
	ASSERT_EQ(0, parse_any(f, n));
	put32(f + 40, QKD_PAYLOAD_MAX + 1);
	put32(f, (uint32_t)QKD_DATA_LEN(4, QKD_PAYLOAD_MAX + 1));
	EXPECT_EQ(-EMSGSIZE, parse_any(f, QKD_DATA_LEN(4, QKD_PAYLOAD_MAX + 1)));
	n = make_data(f, 10, 4);
	f[44] = QKD_DEVICE_ID_MAX + 1;
	put32(f, (uint32_t)QKD_DATA_LEN(QKD_DEVICE_ID_MAX + 1, 10));
	EXPECT_EQ(-EMSGSIZE, parse_any(f, QKD_DATA_LEN(QKD_DEVICE_ID_MAX + 1,
						       10)));
	n = make_data(f, QKD_PAYLOAD_MAX, QKD_DEVICE_ID_MAX);
	EXPECT_EQ(QKD_FRAME_MAX, n);
	EXPECT_EQ(0, parse_any(f, n));
	put32(f, QKD_FRAME_MAX + 1);
	EXPECT_EQ(-EMSGSIZE, parse_any(f, QKD_FRAME_MAX + 1));
	put32(f, UINT32_MAX);
	EXPECT_EQ(-EMSGSIZE, qkd_frame_peek(f, 8, NULL));
	/* lengths that disagree */
	n = make_data(f, 10, 4);
	put32(f + 40, 11);
	EXPECT_EQ(-EBADMSG, parse_any(f, n));
	n = make_data(f, 10, 4);
	f[44] = 0;
	put32(f, (uint32_t)n - 4);
	EXPECT_EQ(-EBADMSG, parse_any(f, n - 4));
	put32(f, QKD_DATA_MIN_LEN - 1);
	EXPECT_EQ(-EBADMSG, qkd_frame_peek(f, 8, NULL));
	/* prefix: magic, version, type, flags */
	static const struct { int off; uint8_t val; int err; } pre[] = {
		{ 4, 0xca, -EPROTO }, { 5, 0, -EPROTONOSUPPORT },
		{ 5, 2, -EPROTONOSUPPORT }, { 6, 0, -EPROTO }, { 6, 5, -EPROTO },
		{ 6, 0xff, -EPROTO }, { 7, 1, -EPROTO }, { 7, 0x80, -EPROTO },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pre); i++) {
		n = make_data(f, 10, 4);
		f[pre[i].off] = pre[i].val;
		EXPECT_EQ(pre[i].err, qkd_frame_peek(f, n, NULL));
		EXPECT_EQ(pre[i].err, parse_any(f, n));
	}
	/* DATA: reserved bytes, zero session id and seq, offset overflow */
	static const struct { int off; int len; uint8_t val; } bad[] = {
		{ 45, 1, 1 }, { 46, 1, 0x80 }, { 47, 1, 1 },
		{ 8, 8, 0 }, { 16, 8, 0 }, { 32, 8, 0xff },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		n = make_data(f, 10, 4);
		memset(f + bad[i].off, bad[i].val, (size_t)bad[i].len);
		EXPECT_EQ(-EBADMSG, parse_any(f, n)) TH_LOG("case %zu", i);
	}
	/* a DATA frame is not a HELLO or an ACK, and vice versa */
	n = make_data(f, 10, 4);
	EXPECT_EQ(-EPROTO, qkd_hello_parse(f, n, &h));
	EXPECT_EQ(-EPROTO, qkd_ack_parse(f, n, &a));
	/* HELLO: link names, reserved bytes, session id, offset overflow */
	static const char * const names[] = {
		"", "has space", "tab\there", "\x7f", "\xc3\xa9t\xc3\xa9",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		sample_hello(&h, QKD_MSG_HELLO);
		strcpy(h.link_name, names[i]);
		EXPECT_EQ(-EINVAL, qkd_hello_seal(f, QKD_HELLO_LEN, &h, key));
		sample_hello(&h, QKD_MSG_HELLO);
		ASSERT_EQ(QKD_HELLO_LEN, qkd_hello_seal(f, QKD_HELLO_LEN, &h,
							key));
		memset(f + 40, 0, QKD_LINK_NAME_LEN);
		memcpy(f + 40, names[i], strlen(names[i]));
		EXPECT_EQ(-EBADMSG, parse_any(f, QKD_HELLO_LEN));
	}
	sample_hello(&h, QKD_MSG_HELLO);
	memset(h.link_name, 'a', QKD_LINK_NAME_LEN);	/* no NUL */
	EXPECT_EQ(-EINVAL, qkd_hello_seal(f, QKD_HELLO_LEN, &h, key));
	static const struct { int off; int len; uint8_t val; } hbad[] = {
		{ 40, 16, 'a' }, { 50, 1, 'x' }, { 55, 1, 1 }, { 36, 1, 1 },
		{ 39, 1, 1 }, { 8, 8, 0 }, { 24, 8, 0xff },
	};
	for (size_t i = 0; i < ARRAY_SIZE(hbad); i++) {
		sample_hello(&h, QKD_MSG_HELLO);
		qkd_hello_seal(f, QKD_HELLO_LEN, &h, key);
		memset(f + hbad[i].off, hbad[i].val, (size_t)hbad[i].len);
		EXPECT_EQ(-EBADMSG, parse_any(f, QKD_HELLO_LEN))
			TH_LOG("hello case %zu", i);
		EXPECT_EQ(-EBADMSG, qkd_hello_verify(f, QKD_HELLO_LEN, key));
	}
	/* ACK: zero session id, offset overflow; wrong fixed lengths */
	sample_ack(&a);
	qkd_ack_seal(f, QKD_ACK_LEN, &a, key, key);
	memset(f + 32, 0xff, 8);
	EXPECT_EQ(-EBADMSG, parse_any(f, QKD_ACK_LEN));
	memset(f + 8, 0, 8);
	EXPECT_EQ(-EBADMSG, parse_any(f, QKD_ACK_LEN));
	put32(f, QKD_ACK_LEN + 1);
	EXPECT_EQ(-EBADMSG, qkd_frame_peek(f, 8, NULL));
	put32(f, QKD_HELLO_LEN);
	EXPECT_EQ(-EBADMSG, qkd_frame_peek(f, 8, NULL));
}

/* Seeded random bytes: never accepted, never read out of bounds. */
TEST(random_garbage)
{
	static uint8_t buf[1200], key[QKD_PAYLOAD_MAX + QKD_S_LEN];
	static const uint8_t types[] = { 1, 2, 3, 4 };
	struct ref_rng g = { 0x6172626167ull };
	int parsed = 0, total = 0;

	ref_fill(&g, key, sizeof(key));
	for (int i = 0; i < 6000; i++, total++) {
		size_t len = ref_rand(&g) % sizeof(buf);
		struct qkd_data_hdr d;
		struct qkd_hello h;
		struct qkd_ack a;
		uint8_t out[sizeof(buf)];
		uint8_t *p;

		ref_fill(&g, buf, len);
		if (i % 3 && len >= QKD_PREFIX_LEN) {
			/* a plausible prefix, to get past the first checks */
			uint8_t t = types[ref_rand(&g) % 4];

			if (t == QKD_MSG_HELLO || t == QKD_MSG_ACK_HELLO)
				len = QKD_HELLO_LEN;
			else if (t == QKD_MSG_ACK)
				len = QKD_ACK_LEN;
			else if (len < QKD_DATA_MIN_LEN)
				len = QKD_DATA_MIN_LEN;
			put32(buf, (uint32_t)len);
			buf[4] = QKD_WIRE_MAGIC;
			buf[5] = QKD_WIRE_VERSION;
			buf[6] = t;
			buf[7] = 0;
			if (t == QKD_MSG_DATA && i % 2) {
				/* and consistent DATA lengths, zero reserved */
				buf[44] = (uint8_t)(1 + ref_rand(&g) % 64);
				if (len < QKD_DATA_LEN(buf[44], 0))
					len = QKD_DATA_LEN(buf[44], 0);
				put32(buf, (uint32_t)len);
				put32(buf + 40, (uint32_t)(len -
					QKD_DATA_LEN(buf[44], 0)));
				memset(buf + 45, 0, 3);
			} else if (i % 2) {
				memset(buf + 36, 0, 4);	/* HELLO reserved */
				memcpy(buf + 40, "x\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
				       16);
			}
		}
		p = ref_exact(buf, len);
		qkd_frame_peek(p, len, NULL);
		if (!qkd_data_parse(p, len, &d)) {
			parsed++;
			size_t klen = QKD_DATA_KEY_LEN(d.payload_len);

			ASSERT_EQ(-EKEYREJECTED, qkd_data_open(p, len, key, key,
							       klen, out,
							       sizeof(out)));
		}
		if (!qkd_hello_parse(p, len, &h)) {
			parsed++;
			ASSERT_EQ(-EKEYREJECTED, qkd_hello_verify(p, len, key));
		}
		if (!qkd_ack_parse(p, len, &a)) {
			parsed++;
			ASSERT_EQ(-EKEYREJECTED, qkd_ack_verify(p, len, key,
								key + 16));
		}
		/* and with key for the wrong type or length */
		ASSERT_GT(0, qkd_data_open(p, len, key, key, 16, out, 0));
		ASSERT_GT(0, qkd_hello_verify(p, len, key));
		ASSERT_GT(0, qkd_ack_verify(p, len, key, key));
		ref_exact_free(p, len);
	}
	TH_LOG("%d random buffers, %d parsed, 0 verified", total, parsed);
	EXPECT_GT(parsed, 100);
}

/* A TCP byte stream cut anywhere: the prefix says how much to read. */
TEST(stream_framing)
{
	static uint8_t stream[4 * QKD_FRAME_MAX];
	uint8_t key[QKD_HELLO_KEY_LEN] = { 9 };
	size_t lens[6], n = 0, pos = 0, k = 0;
	struct qkd_hello h;
	struct qkd_ack a;

	sample_hello(&h, QKD_MSG_HELLO);
	sample_ack(&a);
	lens[0] = (size_t)qkd_hello_seal(stream, QKD_HELLO_LEN, &h, key);
	n += lens[0];
	lens[1] = make_data(stream + n, 0, 1);
	n += lens[1];
	lens[2] = make_data(stream + n, QKD_PAYLOAD_MAX, QKD_DEVICE_ID_MAX);
	n += lens[2];
	lens[3] = (size_t)qkd_ack_seal(stream + n, QKD_ACK_LEN, &a, key, key);
	n += lens[3];
	lens[4] = make_data(stream + n, 100, 64);
	n += lens[4];
	while (pos < n) {
		int total = qkd_frame_peek(stream + pos, QKD_PREFIX_LEN - 1,
					   NULL);

		ASSERT_EQ(-EAGAIN, total);
		total = qkd_frame_peek(stream + pos, n - pos, NULL);
		ASSERT_EQ((int)lens[k], total);
		ASSERT_EQ(0, parse_any(stream + pos, (size_t)total));
		pos += (size_t)total;
		k++;
	}
	EXPECT_EQ(5, k);
}

TEST(seal_arguments)
{
	static uint8_t out[QKD_FRAME_MAX], key[QKD_PAYLOAD_MAX + 32];
	uint8_t r[QKD_R_LEN] = { 0 };
	struct ref_rng g = { 5 };
	struct qkd_data_hdr d;
	struct qkd_hello h;
	struct qkd_ack a;

	sample_data(&d, &g, 10, 0);
	ASSERT_GT(qkd_data_seal(out, sizeof(out), &d, r, key, 26, key), 0);
	EXPECT_EQ(-EINVAL, qkd_data_seal(out, sizeof(out), &d, r, key, 25, key));
	EXPECT_EQ(-EINVAL, qkd_data_seal(out, sizeof(out), &d, r, key, 27, key));
	EXPECT_EQ(-EINVAL, qkd_data_seal(out, sizeof(out), &d, r, key, 26, NULL));
	EXPECT_EQ(-EINVAL, qkd_data_seal(out, sizeof(out), &d, NULL, key, 26, key));
	EXPECT_EQ(-EINVAL, qkd_data_seal(NULL, sizeof(out), &d, r, key, 26, key));
	d.key_offset = UINT64_MAX - 25;
	EXPECT_EQ(-EINVAL, qkd_data_seal(out, sizeof(out), &d, r, key, 26, key));
	d.key_offset = UINT64_MAX - 26;
	EXPECT_GT(qkd_data_seal(out, sizeof(out), &d, r, key, 26, key), 0);
	d.seq = 0;
	EXPECT_EQ(-EINVAL, qkd_data_seal(out, sizeof(out), &d, r, key, 26, key));
	sample_data(&d, &g, 10, 0);
	d.session_id = 0;
	EXPECT_EQ(-EINVAL, qkd_data_seal(out, sizeof(out), &d, r, key, 26, key));
	sample_data(&d, &g, 10, 0);
	d.device_id_len = 0;
	EXPECT_EQ(-EINVAL, qkd_data_seal(out, sizeof(out), &d, r, key, 26, key));
	d.device_id_len = QKD_DEVICE_ID_MAX + 1;
	EXPECT_EQ(-EMSGSIZE, qkd_data_seal(out, sizeof(out), &d, r, key, 26, key));
	sample_data(&d, &g, QKD_PAYLOAD_MAX + 1, 0);
	EXPECT_EQ(-EMSGSIZE, qkd_data_seal(out, sizeof(out), &d, r, key,
					   QKD_DATA_KEY_LEN(d.payload_len), key));
	sample_data(&d, &g, 0, 0);
	EXPECT_GT(qkd_data_seal(out, sizeof(out), &d, r, key, 16, NULL), 0);

	sample_hello(&h, QKD_MSG_DATA);
	EXPECT_EQ(-EINVAL, qkd_hello_seal(out, sizeof(out), &h, key));
	sample_hello(&h, QKD_MSG_HELLO);
	h.session_id = 0;
	EXPECT_EQ(-EINVAL, qkd_hello_seal(out, sizeof(out), &h, key));
	sample_hello(&h, QKD_MSG_HELLO);
	h.r_offset = UINT64_MAX - 31;
	EXPECT_EQ(-EINVAL, qkd_hello_seal(out, sizeof(out), &h, key));
	EXPECT_EQ(-EINVAL, qkd_hello_seal(out, sizeof(out), &h, NULL));

	sample_ack(&a);
	a.session_id = 0;
	EXPECT_EQ(-EINVAL, qkd_ack_seal(out, sizeof(out), &a, r, key));
	sample_ack(&a);
	a.key_offset = UINT64_MAX - 15;
	EXPECT_EQ(-EINVAL, qkd_ack_seal(out, sizeof(out), &a, r, key));
	EXPECT_EQ(-EINVAL, qkd_ack_seal(out, sizeof(out), &a, r, NULL));
}

/* The Poly1305 under the tags, and the reference, against RFC 8439. */
TEST(poly1305_rfc8439)
{
	static uint8_t msg[4096 + 17], key[32];
	struct ref_rng g = { 6 };
	uint8_t t1[16], t2[16];

	crypto_onetimeauth_poly1305(t1, (const uint8_t *)rfc_msg,
				    sizeof(rfc_msg) - 1, rfc_key);
	EXPECT_EQ(0, memcmp(t1, rfc_tag, 16));
	ref_poly1305(t2, (const uint8_t *)rfc_msg, sizeof(rfc_msg) - 1,
		     rfc_key);
	EXPECT_EQ(0, memcmp(t2, rfc_tag, 16));
	/* RFC 8439 A.3 #1: zero key, zero message */
	memset(msg, 0, 64);
	ref_poly1305(t2, msg, 64, msg);
	EXPECT_EQ(0, memcmp(t2, msg, 16));
	/*
	 * the reference agrees with libsodium at every length, and on the
	 * carries: all-0xff keys and messages
	 */
	for (size_t len = 0; len < sizeof(msg); len += len < 80 ? 1 : 97) {
		for (int ff = 0; ff < 2; ff++) {
			if (ff) {
				memset(msg, 0xff, len);
				memset(key, 0xff, sizeof(key));
			} else {
				ref_fill(&g, msg, len);
				ref_fill(&g, key, sizeof(key));
			}
			crypto_onetimeauth_poly1305(t1, msg, len, key);
			ref_poly1305(t2, msg, len, key);
			ASSERT_EQ(0, memcmp(t1, t2, 16)) TH_LOG("len %zu", len);
		}
	}
}

/* Known answers: agent/lib, the vectors and the reference all agree. */
TEST(known_answers)
{
	static struct kat_record recs[32];
	static uint8_t frame[QKD_FRAME_MAX], out[QKD_FRAME_MAX];
	static uint8_t key[QKD_FRAME_MAX], pay[QKD_PAYLOAD_MAX];
	const char *path = getenv("QKD_KAT_FILE");
	int n, types[5] = { 0 };

	if (!path)
		path = QKD_KAT_FILE;
	n = kat_load(path, recs, 32);

	ASSERT_GT(n, 0) TH_LOG("cannot read %s", path);
	for (int i = 0; i < n; i++) {
		const struct kat_record *v = &recs[i];
		uint8_t r[QKD_R_LEN];
		uint64_t t, x;
		long flen, klen;

		ASSERT_EQ(0, kat_u64(v, "type", &t)) TH_LOG("%s", v->name);
		ASSERT_LT(t, 5);
		types[t]++;
		flen = kat_hex(v, "frame", frame, sizeof(frame));
		klen = kat_hex(v, "key", key, sizeof(key));
		ASSERT_GT(flen, 0);
		ASSERT_GT(klen, 0);
		if (t == QKD_MSG_DATA) {
			struct qkd_data_hdr d = { 0 }, got;
			long plen = kat_hex(v, "payload", pay, sizeof(pay));

			ASSERT_EQ(QKD_R_LEN, kat_hex(v, "r", r, sizeof(r)));
			ASSERT_EQ(0, kat_u64(v, "session_id", &d.session_id));
			ASSERT_EQ(0, kat_u64(v, "seq", &d.seq));
			ASSERT_EQ(0, kat_u64(v, "epoch", &d.epoch));
			ASSERT_EQ(0, kat_u64(v, "key_offset", &d.key_offset));
			ASSERT_EQ(0, kat_u64(v, "device_seq", &d.device_seq));
			ASSERT_EQ(0, kat_u64(v, "device_time", &d.device_time));
			d.device_id_len = (uint8_t)kat_hex(v, "device_id",
						d.device_id, QKD_DEVICE_ID_MAX);
			ASSERT_EQ(QKD_INTEGRITY_LEN, kat_hex(v, "integrity",
						d.integrity, QKD_INTEGRITY_LEN));
			ASSERT_GE(plen, 0);
			d.payload_len = (uint32_t)plen;
			ASSERT_EQ(klen, plen + QKD_S_LEN);
			ASSERT_EQ(flen, qkd_data_seal(out, sizeof(out), &d, r,
						      key, (size_t)klen, pay));
			EXPECT_EQ(0, memcmp(out, frame, (size_t)flen));
			ASSERT_EQ(0, qkd_data_parse(frame, (size_t)flen, &got));
			EXPECT_TRUE(data_hdr_equal(&d, &got));
			ASSERT_EQ(plen, qkd_data_open(frame, (size_t)flen, r,
					key, (size_t)klen, out, sizeof(out)));
			EXPECT_EQ(0, memcmp(out, pay, (size_t)plen));
			EXPECT_EQ((size_t)flen, ref_data(out, &d, r, key, pay));
		} else if (t == QKD_MSG_ACK) {
			struct qkd_ack a, got;

			ASSERT_EQ(QKD_R_LEN, kat_hex(v, "r", r, sizeof(r)));
			ASSERT_EQ(QKD_S_LEN, klen);
			ASSERT_EQ(0, kat_u64(v, "session_id", &a.session_id));
			ASSERT_EQ(0, kat_u64(v, "ack_seq", &a.ack_seq));
			ASSERT_EQ(0, kat_u64(v, "epoch", &a.epoch));
			ASSERT_EQ(0, kat_u64(v, "key_offset", &a.key_offset));
			ASSERT_EQ(flen, qkd_ack_seal(out, sizeof(out), &a, r,
						     key));
			EXPECT_EQ(0, memcmp(out, frame, (size_t)flen));
			ASSERT_EQ(0, qkd_ack_parse(frame, (size_t)flen, &got));
			EXPECT_EQ(a.ack_seq, got.ack_seq);
			EXPECT_EQ(0, qkd_ack_verify(frame, (size_t)flen, r, key));
			EXPECT_EQ((size_t)flen, ref_ack(out, &a, r, key));
		} else {
			struct qkd_hello h = { .type = (uint8_t)t }, got;
			const char *name = kat_str(v, "link_name");

			ASSERT_EQ(QKD_HELLO_KEY_LEN, klen);
			ASSERT_EQ(0, kat_u64(v, "session_id", &h.session_id));
			ASSERT_EQ(0, kat_u64(v, "epoch", &h.epoch));
			ASSERT_EQ(0, kat_u64(v, "r_offset", &h.r_offset));
			ASSERT_EQ(0, kat_u64(v, "link_id", &x));
			h.link_id = (uint32_t)x;
			ASSERT_TRUE(name && strlen(name) < QKD_LINK_NAME_LEN);
			strcpy(h.link_name, name);
			ASSERT_EQ(flen, qkd_hello_seal(out, sizeof(out), &h,
						       key));
			EXPECT_EQ(0, memcmp(out, frame, (size_t)flen));
			ASSERT_EQ(0, qkd_hello_parse(frame, (size_t)flen, &got));
			EXPECT_EQ(h.r_offset, got.r_offset);
			EXPECT_EQ(0, qkd_hello_verify(frame, (size_t)flen, key));
			EXPECT_EQ((size_t)flen, ref_hello(out, &h, key));
		}
		/* the independent builder and Poly1305 give the same bytes */
		EXPECT_EQ(0, memcmp(out, frame, (size_t)flen))
			TH_LOG("%s: reference disagrees", v->name);
	}
	EXPECT_EQ(1, types[QKD_MSG_HELLO]);
	EXPECT_EQ(1, types[QKD_MSG_ACK_HELLO]);
	EXPECT_GE(types[QKD_MSG_DATA], 5);
	EXPECT_GE(types[QKD_MSG_ACK], 2);
	TH_LOG("%d vectors from %s", n, path);
	kat_free(recs, n);
}
