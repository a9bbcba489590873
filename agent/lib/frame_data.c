// SPDX-License-Identifier: GPL-2.0
/*
 * DATA frames: seal (one-time pad, then Poly1305 with the session's r and a
 * fresh s), parse (strict, no key), open (verify, then decrypt).
 */
#include <errno.h>
#include <string.h>

#include "frame.h"
#include "frame_internal.h"

int qkd_data_seal(uint8_t *out, size_t out_size, const struct qkd_data_hdr *h,
		  const uint8_t r[QKD_R_LEN], const uint8_t *key, size_t key_len,
		  const uint8_t *payload)
{
	size_t total, plen, body;
	uint8_t *ct;

	if (!out || !h || !r || !key)
		return -EINVAL;
	if (h->payload_len > QKD_PAYLOAD_MAX ||
	    h->device_id_len > QKD_DEVICE_ID_MAX)
		return -EMSGSIZE;
	plen = h->payload_len;
	if (h->device_id_len == 0 || (plen && !payload) ||
	    key_len != QKD_DATA_KEY_LEN(plen) ||
	    h->session_id == 0 || h->seq == 0 ||
	    !qkd_range_ok(h->key_offset, key_len))
		return -EINVAL;
	total = QKD_DATA_LEN(h->device_id_len, plen);
	if (out_size < total)
		return -ENOBUFS;

	qkd_put_prefix(out, total, QKD_MSG_DATA);
	qkd_put_be64(out + OFF_SESSION, h->session_id);
	qkd_put_be64(out + D_SEQ, h->seq);
	qkd_put_be64(out + D_EPOCH, h->epoch);
	qkd_put_be64(out + D_KEY_OFFSET, h->key_offset);
	qkd_put_be32(out + D_PAYLOAD_LEN, h->payload_len);
	out[D_ID_LEN] = h->device_id_len;
	memset(out + D_RESERVED, 0, D_DEVICE_SEQ - D_RESERVED);
	qkd_put_be64(out + D_DEVICE_SEQ, h->device_seq);
	qkd_put_be64(out + D_DEVICE_TIME, h->device_time);
	memcpy(out + D_INTEGRITY, h->integrity, QKD_INTEGRITY_LEN);
	memcpy(out + D_DEVICE_ID, h->device_id, h->device_id_len);

	/* One-time pad: key [0, plen); then s = key [plen, plen + 16). */
	body = D_DEVICE_ID + h->device_id_len;
	ct = out + body;
	for (size_t i = 0; i < plen; i++)
		ct[i] = payload[i] ^ key[i];
	qkd_tag_compute(ct + plen, out, body + plen, r, key + plen);
	return (int)total;
}

int qkd_data_parse(const uint8_t *frame, size_t len, struct qkd_data_hdr *h)
{
	struct qkd_data_hdr v;
	int err;

	if (!h)
		return -EINVAL;
	err = qkd_check_prefix(frame, len, QKD_MSG_DATA, QKD_MSG_DATA);
	if (err)
		return err;
	/* check_prefix guarantees len >= QKD_DATA_MIN_LEN > D_DEVICE_ID. */
	memset(&v, 0, sizeof(v));
	v.payload_len = qkd_get_be32(frame + D_PAYLOAD_LEN);
	v.device_id_len = frame[D_ID_LEN];
	if (v.payload_len > QKD_PAYLOAD_MAX ||
	    v.device_id_len > QKD_DEVICE_ID_MAX)
		return -EMSGSIZE;
	if (v.device_id_len == 0 ||
	    len != QKD_DATA_LEN(v.device_id_len, v.payload_len) ||
	    !qkd_all_zero(frame + D_RESERVED, D_DEVICE_SEQ - D_RESERVED))
		return -EBADMSG;
	v.session_id = qkd_get_be64(frame + OFF_SESSION);
	v.seq = qkd_get_be64(frame + D_SEQ);
	v.epoch = qkd_get_be64(frame + D_EPOCH);
	v.key_offset = qkd_get_be64(frame + D_KEY_OFFSET);
	v.device_seq = qkd_get_be64(frame + D_DEVICE_SEQ);
	v.device_time = qkd_get_be64(frame + D_DEVICE_TIME);
	if (v.session_id == 0 || v.seq == 0 ||
	    !qkd_range_ok(v.key_offset, QKD_DATA_KEY_LEN(v.payload_len)))
		return -EBADMSG;
	memcpy(v.integrity, frame + D_INTEGRITY, QKD_INTEGRITY_LEN);
	memcpy(v.device_id, frame + D_DEVICE_ID, v.device_id_len);
	*h = v;
	return 0;
}

int qkd_data_open(const uint8_t *frame, size_t len, const uint8_t r[QKD_R_LEN],
		  const uint8_t *key, size_t key_len,
		  uint8_t *payload, size_t payload_size)
{
	struct qkd_data_hdr h;
	const uint8_t *ct;
	size_t plen;
	int err;

	if (!r || !key)
		return -EINVAL;
	err = qkd_data_parse(frame, len, &h);
	if (err)
		return err;
	plen = h.payload_len;
	if (key_len != QKD_DATA_KEY_LEN(plen) || (plen && !payload))
		return -EINVAL;
	if (payload_size < plen)
		return -ENOBUFS;
	ct = frame + D_DEVICE_ID + h.device_id_len;
	err = qkd_tag_check(frame, (size_t)(ct - frame) + plen, r, key + plen);
	if (err)
		return err;
	for (size_t i = 0; i < plen; i++)
		payload[i] = ct[i] ^ key[i];
	return (int)plen;
}
