// SPDX-License-Identifier: GPL-2.0
/*
 * The wire codec: the common prefix, tags, HELLO/ACK_HELLO and ACK.
 * Documentation/wire-format.rst is the specification. Parsing reads only
 * bytes the caller handed in, after the total length has been matched
 * against the buffer length.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "frame.h"
#include "frame_internal.h"

_Static_assert(crypto_onetimeauth_poly1305_KEYBYTES == QKD_R_LEN + QKD_S_LEN,
	       "poly1305 key is r || s");
_Static_assert(crypto_onetimeauth_poly1305_BYTES == QKD_TAG_LEN, "tag size");

void qkd_put_prefix(uint8_t *out, size_t total, enum qkd_msg_type type)
{
	qkd_put_be32(out + OFF_TOTAL, (uint32_t)total);
	out[OFF_MAGIC] = QKD_WIRE_MAGIC;
	out[OFF_VERSION] = QKD_WIRE_VERSION;
	out[OFF_TYPE] = (uint8_t)type;
	out[OFF_FLAGS] = 0;
}

/* Poly1305 with the one-time key r || s; the joined key is wiped. */
void qkd_tag_compute(uint8_t tag[QKD_TAG_LEN], const uint8_t *msg, size_t len,
		     const uint8_t r[QKD_R_LEN], const uint8_t s[QKD_S_LEN])
{
	uint8_t k[crypto_onetimeauth_poly1305_KEYBYTES];

	memcpy(k, r, QKD_R_LEN);
	memcpy(k + QKD_R_LEN, s, QKD_S_LEN);
	crypto_onetimeauth_poly1305(tag, msg, len, k);
	sodium_memzero(k, sizeof(k));
}

/* Constant-time comparison of the tag at msg + len. */
int qkd_tag_check(const uint8_t *msg, size_t len,
		  const uint8_t r[QKD_R_LEN], const uint8_t s[QKD_S_LEN])
{
	uint8_t t[QKD_TAG_LEN];
	int bad;

	qkd_tag_compute(t, msg, len, r, s);
	bad = crypto_verify_16(t, msg + len);
	sodium_memzero(t, sizeof(t));
	return bad ? -EKEYREJECTED : 0;
}

int qkd_frame_peek(const uint8_t *buf, size_t len, enum qkd_msg_type *type)
{
	uint32_t total;
	uint8_t t;

	if (len < QKD_PREFIX_LEN)
		return -EAGAIN;
	if (!buf)
		return -EINVAL;
	if (buf[OFF_MAGIC] != QKD_WIRE_MAGIC)
		return -EPROTO;
	if (buf[OFF_VERSION] != QKD_WIRE_VERSION)
		return -EPROTONOSUPPORT;
	if (buf[OFF_FLAGS] != 0)
		return -EPROTO;
	total = qkd_get_be32(buf + OFF_TOTAL);
	if (total > QKD_FRAME_MAX)
		return -EMSGSIZE;
	t = buf[OFF_TYPE];
	switch (t) {
	case QKD_MSG_HELLO:
	case QKD_MSG_ACK_HELLO:
		if (total != QKD_HELLO_LEN)
			return -EBADMSG;
		break;
	case QKD_MSG_ACK:
		if (total != QKD_ACK_LEN)
			return -EBADMSG;
		break;
	case QKD_MSG_DATA:
		if (total < QKD_DATA_MIN_LEN)
			return -EBADMSG;
		break;
	default:
		return -EPROTO;
	}
	if (type)
		*type = (enum qkd_msg_type)t;
	return (int)total;
}

/*
 * A complete message of one of the given types, exactly len bytes long.
 * After this, every fixed-offset field of that type lies inside the buffer.
 */
int qkd_check_prefix(const uint8_t *frame, size_t len,
		     enum qkd_msg_type t1, enum qkd_msg_type t2)
{
	enum qkd_msg_type t;
	int total;

	if (!frame)
		return -EINVAL;
	total = qkd_frame_peek(frame, len, &t);
	if (total == -EAGAIN)
		return -EBADMSG;
	if (total < 0)
		return total;
	if (t != t1 && t != t2)
		return -EPROTO;
	if ((size_t)total != len)
		return -EBADMSG;
	return 0;
}

/* 1..15 printable ASCII characters, then NUL bytes only. */
static int link_name_len(const char *name, int strict)
{
	size_t n = 0;

	while (n < QKD_LINK_NAME_LEN && name[n])
		n++;
	if (n == 0 || n == QKD_LINK_NAME_LEN)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			return -1;
	if (strict && !qkd_all_zero((const uint8_t *)name + n,
				    QKD_LINK_NAME_LEN - n))
		return -1;
	return (int)n;
}

int qkd_hello_seal(uint8_t *out, size_t out_size, const struct qkd_hello *h,
		   const uint8_t key[QKD_HELLO_KEY_LEN])
{
	int n;

	if (!out || !h || !key)
		return -EINVAL;
	if (h->type != QKD_MSG_HELLO && h->type != QKD_MSG_ACK_HELLO)
		return -EINVAL;
	if (h->session_id == 0 || !qkd_range_ok(h->r_offset, QKD_HELLO_KEY_LEN))
		return -EINVAL;
	n = link_name_len(h->link_name, 0);
	if (n < 0)
		return -EINVAL;
	if (out_size < QKD_HELLO_LEN)
		return -ENOBUFS;

	qkd_put_prefix(out, QKD_HELLO_LEN, (enum qkd_msg_type)h->type);
	qkd_put_be64(out + OFF_SESSION, h->session_id);
	qkd_put_be64(out + H_EPOCH, h->epoch);
	qkd_put_be64(out + H_R_OFFSET, h->r_offset);
	qkd_put_be32(out + H_LINK_ID, h->link_id);
	qkd_put_be32(out + H_RESERVED, 0);
	memset(out + H_NAME, 0, QKD_LINK_NAME_LEN);
	memcpy(out + H_NAME, h->link_name, (size_t)n);
	/* The hello's tag: r itself as hash key, s_hello right after r. */
	qkd_tag_compute(out + H_TAG, out, H_TAG, key, key + QKD_R_LEN);
	return QKD_HELLO_LEN;
}

int qkd_hello_parse(const uint8_t *frame, size_t len, struct qkd_hello *h)
{
	struct qkd_hello v;
	int err;

	if (!h)
		return -EINVAL;
	err = qkd_check_prefix(frame, len, QKD_MSG_HELLO, QKD_MSG_ACK_HELLO);
	if (err)
		return err;
	memset(&v, 0, sizeof(v));
	v.type = frame[OFF_TYPE];
	v.session_id = qkd_get_be64(frame + OFF_SESSION);
	v.epoch = qkd_get_be64(frame + H_EPOCH);
	v.r_offset = qkd_get_be64(frame + H_R_OFFSET);
	v.link_id = qkd_get_be32(frame + H_LINK_ID);
	memcpy(v.link_name, frame + H_NAME, QKD_LINK_NAME_LEN);
	if (v.session_id == 0 || !qkd_range_ok(v.r_offset, QKD_HELLO_KEY_LEN) ||
	    !qkd_all_zero(frame + H_RESERVED, 4) ||
	    link_name_len(v.link_name, 1) < 0)
		return -EBADMSG;
	*h = v;
	return 0;
}

int qkd_hello_verify(const uint8_t *frame, size_t len,
		     const uint8_t key[QKD_HELLO_KEY_LEN])
{
	struct qkd_hello h;
	int err;

	if (!key)
		return -EINVAL;
	err = qkd_hello_parse(frame, len, &h);
	if (err)
		return err;
	return qkd_tag_check(frame, H_TAG, key, key + QKD_R_LEN);
}

int qkd_ack_seal(uint8_t *out, size_t out_size, const struct qkd_ack *a,
		 const uint8_t r[QKD_R_LEN], const uint8_t s[QKD_S_LEN])
{
	if (!out || !a || !r || !s)
		return -EINVAL;
	if (a->session_id == 0 || !qkd_range_ok(a->key_offset, QKD_ACK_KEY_LEN))
		return -EINVAL;
	if (out_size < QKD_ACK_LEN)
		return -ENOBUFS;
	qkd_put_prefix(out, QKD_ACK_LEN, QKD_MSG_ACK);
	qkd_put_be64(out + OFF_SESSION, a->session_id);
	qkd_put_be64(out + A_ACK_SEQ, a->ack_seq);
	qkd_put_be64(out + A_EPOCH, a->epoch);
	qkd_put_be64(out + A_KEY_OFFSET, a->key_offset);
	qkd_tag_compute(out + A_TAG, out, A_TAG, r, s);
	return QKD_ACK_LEN;
}

int qkd_ack_parse(const uint8_t *frame, size_t len, struct qkd_ack *a)
{
	struct qkd_ack v;
	int err;

	if (!a)
		return -EINVAL;
	err = qkd_check_prefix(frame, len, QKD_MSG_ACK, QKD_MSG_ACK);
	if (err)
		return err;
	v.session_id = qkd_get_be64(frame + OFF_SESSION);
	v.ack_seq = qkd_get_be64(frame + A_ACK_SEQ);
	v.epoch = qkd_get_be64(frame + A_EPOCH);
	v.key_offset = qkd_get_be64(frame + A_KEY_OFFSET);
	if (v.session_id == 0 || !qkd_range_ok(v.key_offset, QKD_ACK_KEY_LEN))
		return -EBADMSG;
	*a = v;
	return 0;
}

int qkd_ack_verify(const uint8_t *frame, size_t len,
		   const uint8_t r[QKD_R_LEN], const uint8_t s[QKD_S_LEN])
{
	struct qkd_ack a;
	int err;

	if (!r || !s)
		return -EINVAL;
	err = qkd_ack_parse(frame, len, &a);
	if (err)
		return err;
	return qkd_tag_check(frame, A_TAG, r, s);
}
