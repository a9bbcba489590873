// SPDX-License-Identifier: GPL-2.0
/*
 * Private to the frame codec (frame.c, frame_data.c): field offsets, which
 * are the tables of Documentation/wire-format.rst, and shared helpers.
 */
#ifndef QKD_AGENT_FRAME_INTERNAL_H
#define QKD_AGENT_FRAME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* Common prefix. */
#define OFF_TOTAL	0
#define OFF_MAGIC	4
#define OFF_VERSION	5
#define OFF_TYPE	6
#define OFF_FLAGS	7
#define OFF_SESSION	8

/* HELLO, ACK_HELLO. */
#define H_EPOCH		16
#define H_R_OFFSET	24
#define H_LINK_ID	32
#define H_RESERVED	36
#define H_NAME		40
#define H_TAG		56

/* DATA. */
#define D_SEQ		16
#define D_EPOCH		24
#define D_KEY_OFFSET	32
#define D_PAYLOAD_LEN	40
#define D_ID_LEN	44
#define D_RESERVED	45
#define D_DEVICE_SEQ	48
#define D_DEVICE_TIME	56
#define D_INTEGRITY	64
#define D_DEVICE_ID	96

/* ACK. */
#define A_ACK_SEQ	16
#define A_EPOCH		24
#define A_KEY_OFFSET	32
#define A_TAG		40

_Static_assert(H_TAG + QKD_TAG_LEN == QKD_HELLO_LEN, "hello layout");
_Static_assert(A_TAG + QKD_TAG_LEN == QKD_ACK_LEN, "ack layout");
_Static_assert(D_INTEGRITY + QKD_INTEGRITY_LEN == D_DEVICE_ID, "data layout");
_Static_assert(D_DEVICE_ID == QKD_DATA_FIXED_LEN, "data layout");
_Static_assert(QKD_FRAME_MAX < 0x7fffffff, "lengths fit an int");

static inline void qkd_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void qkd_put_be64(uint8_t *p, uint64_t v)
{
	qkd_put_be32(p, (uint32_t)(v >> 32));
	qkd_put_be32(p + 4, (uint32_t)v);
}

static inline uint32_t qkd_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t qkd_get_be64(const uint8_t *p)
{
	return (uint64_t)qkd_get_be32(p) << 32 | qkd_get_be32(p + 4);
}

static inline int qkd_all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return acc == 0;
}

/* The key range [off, off + n) must not wrap around 2^64. */
static inline int qkd_range_ok(uint64_t off, uint64_t n)
{
	return off <= UINT64_MAX - n;
}

void qkd_put_prefix(uint8_t *out, size_t total, enum qkd_msg_type type);
int qkd_check_prefix(const uint8_t *frame, size_t len,
		     enum qkd_msg_type t1, enum qkd_msg_type t2);
void qkd_tag_compute(uint8_t tag[QKD_TAG_LEN], const uint8_t *msg, size_t len,
		     const uint8_t r[QKD_R_LEN], const uint8_t s[QKD_S_LEN]);
int qkd_tag_check(const uint8_t *msg, size_t len,
		  const uint8_t r[QKD_R_LEN], const uint8_t s[QKD_S_LEN]);

#endif /* QKD_AGENT_FRAME_INTERNAL_H */
