// SPDX-License-Identifier: GPL-2.0
/*
 * Spool encoding of a device record: see record.h for the layout.
 */
#include <errno.h>
#include <string.h>

#include "record.h"

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int qkd_record_check(const struct qkd_record *r)
{
	if (r->device_id_len < 1 || r->device_id_len > QKD_REC_ID_MAX)
		return -EINVAL;
	if (r->payload_len > QKD_REC_PAYLOAD_MAX)
		return -EINVAL;
	if (r->payload_len && !r->payload)
		return -EINVAL;
	return 0;
}

size_t qkd_record_encoded_len(const struct qkd_record *r)
{
	return QKD_REC_FIXED_LEN + (size_t)r->device_id_len + r->payload_len;
}

void qkd_record_encode(const struct qkd_record *r, uint8_t *buf)
{
	buf[0] = QKD_REC_VERSION;
	buf[1] = r->device_id_len;
	put_le16(buf + 2, 0);
	put_le32(buf + 4, r->payload_len);
	put_le64(buf + 8, r->device_seq);
	put_le64(buf + 16, r->device_time_ns);
	memcpy(buf + 24, r->integrity, QKD_REC_ICODE_LEN);
	memcpy(buf + QKD_REC_FIXED_LEN, r->device_id, r->device_id_len);
	if (r->payload_len)
		memcpy(buf + QKD_REC_FIXED_LEN + r->device_id_len, r->payload,
		       r->payload_len);
}

int qkd_record_decode(const uint8_t *buf, size_t len, struct qkd_record *r)
{
	size_t id_len, pl_len;

	if (len < QKD_REC_MIN_LEN || buf[0] != QKD_REC_VERSION ||
	    get_le16(buf + 2) != 0)
		return -EBADMSG;
	id_len = buf[1];
	pl_len = get_le32(buf + 4);
	if (id_len < 1 || id_len > QKD_REC_ID_MAX ||
	    pl_len > QKD_REC_PAYLOAD_MAX ||
	    QKD_REC_FIXED_LEN + id_len + pl_len != len)
		return -EBADMSG;
	r->device_seq = get_le64(buf + 8);
	r->device_time_ns = get_le64(buf + 16);
	memcpy(r->integrity, buf + 24, QKD_REC_ICODE_LEN);
	r->device_id_len = (uint8_t)id_len;
	memcpy(r->device_id, buf + QKD_REC_FIXED_LEN, id_len);
	r->device_id[id_len] = '\0';
	r->payload_len = (uint32_t)pl_len;
	r->payload = buf + QKD_REC_FIXED_LEN + id_len;
	return 0;
}
