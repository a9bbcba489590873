// SPDX-License-Identifier: GPL-2.0
/*
 * A device telemetry record as the gateway accepts it, and its byte
 * encoding inside the spool (not the wire format: see §3 of DESIGN.md).
 *
 * Encoding, all integers little-endian, QKD_REC_FIXED_LEN bytes then the
 * variable parts:
 *   0  u8   version (QKD_REC_VERSION)
 *   1  u8   device id length, 1..QKD_REC_ID_MAX
 *   2  u16  reserved, 0
 *   4  u32  payload length, 0..QKD_REC_PAYLOAD_MAX
 *   8  u64  device sequence number
 *  16  u64  device time, ns since the epoch
 *  24  u8[32] integrity code
 *  56  device id bytes, then payload bytes
 */
#ifndef QKD_RECORD_H
#define QKD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define QKD_REC_VERSION		1
#define QKD_REC_ID_MAX		64
#define QKD_REC_ICODE_LEN	32
#define QKD_REC_PAYLOAD_MAX	65536u
#define QKD_REC_FIXED_LEN	56
#define QKD_REC_MIN_LEN		(QKD_REC_FIXED_LEN + 1)
#define QKD_REC_MAX_LEN		(QKD_REC_FIXED_LEN + QKD_REC_ID_MAX + \
				 QKD_REC_PAYLOAD_MAX)

struct qkd_record {
	uint64_t device_seq;
	uint64_t device_time_ns;
	uint8_t integrity[QKD_REC_ICODE_LEN];
	uint8_t device_id_len;
	/* Arbitrary bytes; decode adds a NUL after them for convenience. */
	char device_id[QKD_REC_ID_MAX + 1];
	uint32_t payload_len;
	/* Not owned: the caller's buffer, or the decoded buffer. */
	const uint8_t *payload;
};

/* 0, or -EINVAL if a length is out of range (or payload NULL with len > 0). */
int qkd_record_check(const struct qkd_record *r);

/* Encoded length of a record that passed qkd_record_check(). */
size_t qkd_record_encoded_len(const struct qkd_record *r);

/* Writes qkd_record_encoded_len(r) bytes to buf. */
void qkd_record_encode(const struct qkd_record *r, uint8_t *buf);

/*
 * Parses exactly len bytes; r->payload then points into buf.
 * 0, or -EBADMSG if the bytes are not one well-formed record.
 */
int qkd_record_decode(const uint8_t *buf, size_t len, struct qkd_record *r);

#endif /* QKD_RECORD_H */
