// SPDX-License-Identifier: GPL-2.0
/*
 * Telemetry payload format parser and encoder: see payload.h and
 * Documentation/ingest.rst.
 */
#include <string.h>

#include "payload.h"

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static int id_char_ok(uint8_t c)
{
	return c >= 0x21 && c <= 0x7e && c != '/' && c != '+' && c != '#';
}

int qkd_pl_id_valid(const char *id, size_t len)
{
	if (len < 1 || len > QKD_REC_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!id_char_ok((uint8_t)id[i]))
			return 0;
	return 1;
}

static int fail(int code, size_t off, size_t *err_off)
{
	if (err_off)
		*err_off = off;
	return code;
}

int qkd_pl_parse(const void *buf, size_t len, struct qkd_record *rec,
		 size_t *err_off)
{
	const uint8_t *p = buf;
	size_t id_len, pl_len, off, m;

	if (len > QKD_PL_MAX_LEN)
		return fail(QKD_PL_E_TOO_LONG, QKD_PL_MAX_LEN, err_off);

	/* Magic: compared on the bytes present, so that a short message of
	 * another format is reported as such, not as a truncation. */
	m = len < QKD_PL_MAGIC_LEN ? len : QKD_PL_MAGIC_LEN;
	for (size_t i = 0; i < m; i++)
		if (p[i] != (uint8_t)QKD_PL_MAGIC[i])
			return fail(QKD_PL_E_MAGIC, i, err_off);
	if (len < 5)
		return fail(QKD_PL_E_TRUNC_HDR, len, err_off);
	if (p[4] != QKD_PL_VERSION)
		return fail(QKD_PL_E_VERSION, 4, err_off);
	if (len < 6)
		return fail(QKD_PL_E_TRUNC_HDR, len, err_off);
	if (p[5] != 0)
		return fail(QKD_PL_E_FLAGS, 5, err_off);
	if (len < QKD_PL_HDR_LEN)
		return fail(QKD_PL_E_TRUNC_HDR, len, err_off);
	id_len = p[6];
	if (id_len < 1 || id_len > QKD_REC_ID_MAX)
		return fail(QKD_PL_E_ID_LEN, 6, err_off);

	off = QKD_PL_HDR_LEN;
	for (size_t i = 0; i < id_len && off + i < len; i++)
		if (!id_char_ok(p[off + i]))
			return fail(QKD_PL_E_ID_CHARS, off + i, err_off);
	if (len - off < id_len)
		return fail(QKD_PL_E_TRUNC_ID, len, err_off);
	off += id_len;

	if (len - off < QKD_PL_FIXED_LEN)
		return fail(QKD_PL_E_TRUNC_FIXED, len, err_off);
	pl_len = get_be32(p + off + 16 + QKD_REC_ICODE_LEN);
	if (pl_len > QKD_REC_PAYLOAD_MAX)
		return fail(QKD_PL_E_PAYLOAD_LEN, off + 16 + QKD_REC_ICODE_LEN,
			    err_off);
	if (len - off - QKD_PL_FIXED_LEN < pl_len)
		return fail(QKD_PL_E_TRUNC_PAYLOAD, len, err_off);
	if (len - off - QKD_PL_FIXED_LEN > pl_len)
		return fail(QKD_PL_E_TRAILING, off + QKD_PL_FIXED_LEN + pl_len,
			    err_off);

	memset(rec, 0, sizeof(*rec));
	rec->device_id_len = (uint8_t)id_len;
	memcpy(rec->device_id, p + QKD_PL_HDR_LEN, id_len);
	rec->device_id[id_len] = '\0';
	rec->device_seq = get_be64(p + off);
	rec->device_time_ns = get_be64(p + off + 8);
	memcpy(rec->integrity, p + off + 16, QKD_REC_ICODE_LEN);
	rec->payload_len = (uint32_t)pl_len;
	rec->payload = pl_len ? p + off + QKD_PL_FIXED_LEN : NULL;
	return QKD_PL_OK;
}

size_t qkd_pl_encoded_len(const struct qkd_record *rec)
{
	if (!qkd_pl_id_valid(rec->device_id, rec->device_id_len) ||
	    rec->payload_len > QKD_REC_PAYLOAD_MAX ||
	    (rec->payload_len && !rec->payload))
		return 0;
	return QKD_PL_OVERHEAD + (size_t)rec->device_id_len + rec->payload_len;
}

size_t qkd_pl_encode(const struct qkd_record *rec, void *buf, size_t cap)
{
	size_t n = qkd_pl_encoded_len(rec), off;
	uint8_t *p = buf;

	if (!n || cap < n)
		return 0;
	memcpy(p, QKD_PL_MAGIC, QKD_PL_MAGIC_LEN);
	p[4] = QKD_PL_VERSION;
	p[5] = 0;
	p[6] = rec->device_id_len;
	memcpy(p + QKD_PL_HDR_LEN, rec->device_id, rec->device_id_len);
	off = QKD_PL_HDR_LEN + rec->device_id_len;
	put_be64(p + off, rec->device_seq);
	put_be64(p + off + 8, rec->device_time_ns);
	memcpy(p + off + 16, rec->integrity, QKD_REC_ICODE_LEN);
	put_be32(p + off + 16 + QKD_REC_ICODE_LEN, rec->payload_len);
	if (rec->payload_len)
		memcpy(p + off + QKD_PL_FIXED_LEN, rec->payload,
		       rec->payload_len);
	return n;
}

int qkd_pl_check_topic(const char *topic, const struct qkd_record *rec)
{
	const size_t plen = sizeof(QKD_PL_TOPIC_PREFIX) - 1;
	size_t n;

	if (!topic || strncmp(topic, QKD_PL_TOPIC_PREFIX, plen))
		return QKD_PL_E_TOPIC;
	topic += plen;
	/* Bounded: a topic level longer than an id is invalid anyway. */
	for (n = 0; n <= QKD_REC_ID_MAX && topic[n]; n++)
		;
	if (!qkd_pl_id_valid(topic, n))
		return QKD_PL_E_TOPIC;
	if (n != rec->device_id_len || memcmp(topic, rec->device_id, n))
		return QKD_PL_E_ID_MISMATCH;
	return QKD_PL_OK;
}

size_t qkd_pl_topic(const struct qkd_record *rec, char *buf, size_t cap)
{
	const size_t plen = sizeof(QKD_PL_TOPIC_PREFIX) - 1;
	size_t n = plen + rec->device_id_len;

	if (!qkd_pl_id_valid(rec->device_id, rec->device_id_len) || cap <= n)
		return 0;
	memcpy(buf, QKD_PL_TOPIC_PREFIX, plen);
	memcpy(buf + plen, rec->device_id, rec->device_id_len);
	buf[n] = '\0';
	return n;
}

static const struct {
	const char *name;
	const char *msg;
} pl_errs[QKD_PL_E_MAX] = {
	[QKD_PL_OK] = { "ok", "ok" },
	[QKD_PL_E_MAGIC] = { "bad_magic", "bad magic: not a QKDT record" },
	[QKD_PL_E_TRUNC_HDR] = { "trunc_header",
				 "truncated in the 7-byte header" },
	[QKD_PL_E_VERSION] = { "bad_version", "unsupported version" },
	[QKD_PL_E_FLAGS] = { "bad_flags", "reserved flags byte is not 0" },
	[QKD_PL_E_ID_LEN] = { "bad_id_len",
			      "device id length is not in 1..64" },
	[QKD_PL_E_TRUNC_ID] = { "trunc_id", "truncated in the device id" },
	[QKD_PL_E_ID_CHARS] = { "bad_id_chars",
				"device id byte outside 0x21..0x7e or / + #" },
	[QKD_PL_E_TRUNC_FIXED] = { "trunc_fixed",
				   "truncated in seq, time, integrity code or payload length" },
	[QKD_PL_E_PAYLOAD_LEN] = { "bad_payload_len",
				   "payload length above 65536" },
	[QKD_PL_E_TRUNC_PAYLOAD] = { "trunc_payload",
				     "truncated in the payload" },
	[QKD_PL_E_TRAILING] = { "trailing", "trailing bytes after the payload" },
	[QKD_PL_E_TOO_LONG] = { "too_long",
				"longer than the largest record (65659 bytes)" },
	[QKD_PL_E_TOPIC] = { "bad_topic",
			     "topic is not qkd/telemetry/<device id>" },
	[QKD_PL_E_ID_MISMATCH] = { "id_mismatch",
				   "device id of topic and payload differ" },
	[QKD_PL_E_SPOOL_FULL] = { "spool_full",
				  "gateway spool full, retry later" },
	[QKD_PL_E_SPOOL] = { "spool_error", "gateway spool error, retry later" },
};

const char *qkd_pl_err_name(int code)
{
	if (code < 0 || code >= QKD_PL_E_MAX || !pl_errs[code].name)
		return "unknown";
	return pl_errs[code].name;
}

const char *qkd_pl_strerror(int code)
{
	if (code < 0 || code >= QKD_PL_E_MAX || !pl_errs[code].msg)
		return "unknown error";
	return pl_errs[code].msg;
}
