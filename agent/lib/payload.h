// SPDX-License-Identifier: GPL-2.0
/*
 * The telemetry payload format: the bytes a device sends to the gateway,
 * the same for MQTT (the PUBLISH payload) and for the Unix datagram socket
 * (one datagram). Documentation/ingest.rst is the reference; in short, all
 * integers big-endian:
 *
 *   off      size  field
 *   0        4     magic "QKDT" (51 4b 44 54)
 *   4        1     version, QKD_PL_VERSION (1)
 *   5        1     flags, 0 (reserved: anything else is rejected)
 *   6        1     device id length L, 1..64
 *   7        L     device id: bytes 0x21..0x7e except '/', '+', '#'
 *   7+L      8     device seq, u64
 *   15+L     8     device time, u64 nanoseconds since 1970-01-01 UTC
 *   23+L     32    integrity code (boot or firmware digest), opaque
 *   55+L     4     payload length P, u32, 0..65536
 *   59+L     P     payload, opaque
 *   total: exactly 59 + L + P bytes, nothing after the payload.
 *
 * MQTT topic: qkd/telemetry/<device id>, and the device id of the topic
 * must equal the one of the payload.
 *
 * The parser does not allocate, reads only [buf, buf + len) and reports the
 * first problem in byte order as one of the codes below (stable numbers:
 * they appear in "ERR <code> <reason>" replies and in counters). Its
 * messages never quote input bytes.
 */
#ifndef QKD_PAYLOAD_H
#define QKD_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define QKD_PL_MAGIC		"QKDT"
#define QKD_PL_MAGIC_LEN	4
#define QKD_PL_VERSION		1
/* Bytes before the device id: magic, version, flags, id length. */
#define QKD_PL_HDR_LEN		7
/* Bytes after the device id and before the payload: seq, time, icode, len. */
#define QKD_PL_FIXED_LEN	(8 + 8 + QKD_REC_ICODE_LEN + 4)
#define QKD_PL_OVERHEAD		(QKD_PL_HDR_LEN + QKD_PL_FIXED_LEN)	/* 59 */
#define QKD_PL_MIN_LEN		(QKD_PL_OVERHEAD + 1)			/* 60 */
#define QKD_PL_MAX_LEN		(QKD_PL_OVERHEAD + QKD_REC_ID_MAX + \
				 QKD_REC_PAYLOAD_MAX)			/* 65659 */

#define QKD_PL_TOPIC_PREFIX	"qkd/telemetry/"
#define QKD_PL_TOPIC_FILTER	"qkd/telemetry/+"
/* Longest topic: the prefix, the longest device id, NUL. */
#define QKD_PL_TOPIC_MAX	(sizeof(QKD_PL_TOPIC_PREFIX) + QKD_REC_ID_MAX)

/*
 * Why a record was rejected. 1..15 are the parser's and the topic check's;
 * 32.. are the gateway's own (the record was well formed but not taken).
 */
enum qkd_pl_err {
	QKD_PL_OK = 0,
	QKD_PL_E_MAGIC = 1,		/* bytes 0..3 are not "QKDT" */
	QKD_PL_E_TRUNC_HDR = 2,		/* ends before the id length byte */
	QKD_PL_E_VERSION = 3,		/* version is not 1 */
	QKD_PL_E_FLAGS = 4,		/* flags byte is not 0 */
	QKD_PL_E_ID_LEN = 5,		/* device id length 0 or above 64 */
	QKD_PL_E_TRUNC_ID = 6,		/* ends inside the device id */
	QKD_PL_E_ID_CHARS = 7,		/* a device id byte is not allowed */
	QKD_PL_E_TRUNC_FIXED = 8,	/* ends inside seq/time/icode/length */
	QKD_PL_E_PAYLOAD_LEN = 9,	/* payload length above 65536 */
	QKD_PL_E_TRUNC_PAYLOAD = 10,	/* ends inside the payload */
	QKD_PL_E_TRAILING = 11,		/* bytes after the payload */
	QKD_PL_E_TOO_LONG = 12,		/* longer than QKD_PL_MAX_LEN */
	QKD_PL_E_TOPIC = 13,		/* topic not qkd/telemetry/<valid id> */
	QKD_PL_E_ID_MISMATCH = 14,	/* topic id differs from payload id */
	QKD_PL_E_SPOOL_FULL = 32,	/* spool refused it (-ENOSPC): retry */
	QKD_PL_E_SPOOL = 33,		/* spool failed: retry later */
	QKD_PL_E_MAX = 34		/* bound for counter arrays */
};

/*
 * Parses exactly len bytes of buf into rec: rec->payload points into buf,
 * rec->device_id is copied and NUL-terminated. Returns QKD_PL_OK (0) or a
 * positive enum qkd_pl_err; on error rec is unspecified and, if err_off is
 * not NULL, *err_off is the offset of the first byte found wrong (len for
 * a truncation).
 */
int qkd_pl_parse(const void *buf, size_t len, struct qkd_record *rec,
		 size_t *err_off);

/* 1 if the len bytes are a valid device id (length and characters). */
int qkd_pl_id_valid(const char *id, size_t len);

/* Encoded size of rec, or 0 if rec is not encodable (bad id or lengths). */
size_t qkd_pl_encoded_len(const struct qkd_record *rec);

/* Writes rec to buf; returns the length, or 0 if rec is not encodable or
 * cap is too small. */
size_t qkd_pl_encode(const struct qkd_record *rec, void *buf, size_t cap);

/*
 * MQTT: QKD_PL_OK if topic is QKD_PL_TOPIC_PREFIX followed by exactly the
 * device id of rec, QKD_PL_E_TOPIC if it is not of that form with a valid
 * id, QKD_PL_E_ID_MISMATCH if it names another device.
 */
int qkd_pl_check_topic(const char *topic, const struct qkd_record *rec);

/* Writes the topic of rec's device (NUL-terminated) to buf: its length,
 * or 0 if cap is too small or the id is invalid. */
size_t qkd_pl_topic(const struct qkd_record *rec, char *buf, size_t cap);

/* Short stable token for counters and logs ("bad_magic", ...), and a
 * one-line reason ("bad magic: not QKDT"); "unknown" for other codes. */
const char *qkd_pl_err_name(int code);
const char *qkd_pl_strerror(int code);

/*
 * The ingest side's hand-off to the spool, shared by ingest_unix and
 * ingest_mqtt: append rec (spool_append()) and store its spool seq in
 * *spool_seq. 0, or a negative errno: -ENOSPC means "spool full, the record
 * was not taken" (the sender is told to retry), anything else is a spool
 * failure. Seqs returned must grow strictly.
 */
typedef int (*qkd_ingest_submit_fn)(void *ctx, const struct qkd_record *rec,
				    uint64_t *spool_seq);

/* Optional log sink: prio is a syslog priority (LOG_ERR...), msg one line
 * without payload bytes. */
typedef void (*qkd_ingest_log_fn)(void *ctx, int prio, const char *msg);

#endif /* QKD_PAYLOAD_H */
