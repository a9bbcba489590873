// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family qkdkey: strict validation, table-driven. For every
 * attribute of every command: wrong types and lengths, out-of-range values,
 * missing required attributes, unknown attributes, attributes a command or
 * a kind does not take, bad headers and flags. Each rejection must carry the
 * errno Documentation/netlink.rst gives, an extended ACK message, the
 * offending attribute's offset where there is one, and the missing
 * attribute's type where one is missing. Rejected requests change nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "qkd_test_util.h"
#include "qkd_nl_util.h"

/* the case table leaves trailing fields zero on purpose */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

enum { K_NONE, K_U8, K_U16, K_U32, K_U64, K_STR, K_RAW, K_BIN, K_NEST, K_NEND,
       K_NEST_NOFLAG, K_U32_NESTFLAG };

struct at {
	uint16_t type;
	uint8_t kind;
	uint64_t v;
	const char *s;
	int len;
};

#define U8(t, x)	{ t, K_U8, x }
#define U16(t, x)	{ t, K_U16, x }
#define U32(t, x)	{ t, K_U32, x }
#define U64(t, x)	{ t, K_U64, x }
#define STR(t, x)	{ t, K_STR, 0, x }
#define RAW(t, x, l)	{ t, K_RAW, 0, x, l }
#define BIN(t, l)	{ t, K_BIN, 0, NULL, l }
#define FLAG(t)		{ t, K_RAW, 0, "", 0 }
#define NEST(t)		{ t, K_NEST }
#define NEND		{ 0, K_NEND }
#define A(x)		QKDKEY_A_##x
#define S(x)		QKDKEY_SIM_A_##x
#define IN(t)		(0x1000 | (t))	/* an attribute inside a nest */
#define U1_ID		0xdeadbeefULL	/* replaced by u1's id */
#define SEL		STR(A(LINK_NAME), "u1")
#define SEL_SIM		STR(A(LINK_NAME), "sa")
#define SELECTOR	(-2)		/* MISS_TYPE: LINK_ID or LINK_NAME */

/* special message shapes */
enum { SP_TRAILING = 1, SP_RESERVED, SP_TRUNC };

struct pc {
	const char *name;
	uint8_t cmd;
	uint16_t flags;
	struct at a[8];
	int e1, e2;	/* the errno, or either of two */
	int bad;	/* attribute NLMSGERR_ATTR_OFFS must point at */
	int miss;	/* NLMSGERR_ATTR_MISS_TYPE */
	int nomsg;	/* rejected by the genetlink core: no message possible */
	int special;
};

#define GET	QKDKEY_CMD_LINK_GET
#define NEW	QKDKEY_CMD_LINK_NEW
#define DEL	QKDKEY_CMD_LINK_DEL
#define SET	QKDKEY_CMD_LINK_SET
#define PUSH	QKDKEY_CMD_KEY_PUSH
#define RANGE	EINVAL, ERANGE
#define USER	STR(A(LINK_KIND), "user")
#define SIM	STR(A(LINK_KIND), "sim")
#define NAME(x)	STR(A(LINK_NAME), x)
#define PUSH_ALL(d, e, o, l) U32(A(KEY_DIR), d), U64(A(KEY_EPOCH), e), U64(A(KEY_OFFSET), o), BIN(A(KEY_DATA), l)

static const struct pc cases[] = {
	/* LINK_GET */
	{ "get no selector", GET, 0, {}, EINVAL, 0, 0, SELECTOR },
	{ "get id as u16", GET, 0, { U16(A(LINK_ID), 1) }, EINVAL, 0, A(LINK_ID) },
	{ "get id as u64", GET, 0, { U64(A(LINK_ID), 1) }, EINVAL, 0, A(LINK_ID) },
	{ "get id empty", GET, 0, { RAW(A(LINK_ID), "", 0) }, EINVAL, 0, A(LINK_ID) },
	{ "get id NLA_F_NESTED", GET, 0, { { A(LINK_ID), K_U32_NESTFLAG, 1 } }, EINVAL, 0, A(LINK_ID) },
	{ "get name unterminated", GET, 0, { RAW(A(LINK_NAME), "u1", 2) }, EINVAL, 0, A(LINK_NAME) },
	{ "get name 16 chars", GET, 0, { NAME("abcdefghijklmnop") }, EINVAL, 0, A(LINK_NAME) },
	{ "get name empty", GET, 0, { NAME("") }, EINVAL, ENODEV },
	{ "get name bad char", GET, 0, { NAME("u/1") }, EINVAL, ENODEV },
	{ "get unknown id", GET, 0, { U32(A(LINK_ID), 999999) }, ENODEV },
	{ "get unknown name", GET, 0, { NAME("nosuch") }, ENODEV },
	{ "get id and name differ", GET, 0, { U32(A(LINK_ID), U1_ID), NAME("sa") }, EINVAL },
	{ "get unknown attr 200", GET, 0, { SEL, U32(200, 1) }, EINVAL, 0, 200 },
	{ "get unknown attr MAX+1", GET, 0, { SEL, U32(QKDKEY_A_MAX + 1, 1) }, EINVAL, 0, QKDKEY_A_MAX + 1 },
	{ "get attr type 0", GET, 0, { SEL, U32(0, 1) }, EINVAL, 0, 0x2000 },
	{ "get with KEY_DATA", GET, 0, { SEL, BIN(A(KEY_DATA), 16) }, EINVAL, 0, A(KEY_DATA) },
	{ "get with LINK_STATE", GET, 0, { SEL, U32(A(LINK_STATE), 1) }, EINVAL, 0, A(LINK_STATE) },
	{ "get trailing bytes", GET, 0, { SEL }, EINVAL, .special = SP_TRAILING },
	{ "get genl reserved", GET, 0, { SEL }, EINVAL, .special = SP_RESERVED },
	{ "get NLM_F_ROOT only", GET, NLM_F_ROOT, { SEL }, EINVAL },
	{ "get NLM_F_CREATE", GET, NLM_F_CREATE, { SEL }, EINVAL },
	/* 6.1 reports a dump's error in NLMSG_DONE: a message, no offset */
	{ "get dump with attr", GET, NLM_F_DUMP, { SEL }, EINVAL },
	{ "truncated genl header", GET, 0, {}, EINVAL, .nomsg = 1, .special = SP_TRUNC },
	{ "unknown cmd 99", 99, 0, { SEL }, EOPNOTSUPP, .nomsg = 1 },
	{ "cmd UNSPEC", QKDKEY_CMD_UNSPEC, 0, { SEL }, EOPNOTSUPP, .nomsg = 1 },
	{ "cmd LINK_ADD_NTF", QKDKEY_CMD_LINK_ADD_NTF, 0, { SEL }, EOPNOTSUPP, .nomsg = 1 },
	{ "cmd KEY_WANT_NTF", QKDKEY_CMD_KEY_WANT_NTF, 0, { SEL }, EOPNOTSUPP, .nomsg = 1 },
	{ "dump of LINK_NEW", NEW, NLM_F_DUMP, {}, EOPNOTSUPP, .nomsg = 1 },
	{ "dump of LINK_DEL", DEL, NLM_F_DUMP, {}, EOPNOTSUPP, .nomsg = 1 },
	{ "dump of LINK_SET", SET, NLM_F_DUMP, {}, EOPNOTSUPP, .nomsg = 1 },
	{ "dump of KEY_PUSH", PUSH, NLM_F_DUMP, {}, EOPNOTSUPP, .nomsg = 1 },

	/* LINK_NEW */
	{ "new no name", NEW, 0, { USER }, EINVAL, 0, 0, A(LINK_NAME) },
	{ "new no kind", NEW, 0, { NAME("n1") }, EINVAL, 0, 0, A(LINK_KIND) },
	{ "new sim no peer", NEW, 0, { NAME("n1"), SIM }, EINVAL, 0, 0, A(LINK_PEER) },
	{ "new name 16 chars", NEW, 0, { NAME("abcdefghijklmnop"), USER }, EINVAL, 0, A(LINK_NAME) },
	{ "new name unterminated", NEW, 0, { RAW(A(LINK_NAME), "n1", 2), USER }, EINVAL, 0, A(LINK_NAME) },
	{ "new name empty", NEW, 0, { NAME(""), USER }, EINVAL, 0, A(LINK_NAME) },
	{ "new name space", NEW, 0, { NAME("n 1"), USER }, EINVAL, 0, A(LINK_NAME) },
	{ "new name slash", NEW, 0, { NAME("n/1"), USER }, EINVAL, 0, A(LINK_NAME) },
	{ "new name as u32", NEW, 0, { U32(A(LINK_NAME), 0x31316e6e), USER }, EINVAL, 0, A(LINK_NAME) },
	{ "new kind 16 chars", NEW, 0, { NAME("n1"), STR(A(LINK_KIND), "userusrusrusrusr") }, EINVAL, 0, A(LINK_KIND) },
	{ "new kind unterminated", NEW, 0, { NAME("n1"), RAW(A(LINK_KIND), "user", 4) }, EINVAL, 0, A(LINK_KIND) },
	{ "new kind unknown", NEW, 0, { NAME("n1"), STR(A(LINK_KIND), "nosuchkind") }, EOPNOTSUPP },
	{ "new peer 16 chars", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "abcdefghijklmnop") }, EINVAL, 0, A(LINK_PEER) },
	{ "new peer bad char", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n 2") }, EINVAL, 0, A(LINK_PEER) },
	{ "new name in use", NEW, 0, { NAME("u1"), USER }, EEXIST },
	{ "new sim peer in use", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "u1") }, EEXIST },
	{ "new sim peer in use, LINK_SIM", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "u1"), NEST(A(LINK_SIM)), U32(S(RATE), 1), NEND }, EEXIST },
	{ "new peer unterminated", NEW, 0, { NAME("n1"), SIM, RAW(A(LINK_PEER), "n2", 2) }, EINVAL, 0, A(LINK_PEER) },
	{ "new kind empty", NEW, 0, { NAME("n1"), STR(A(LINK_KIND), "") }, EINVAL, EOPNOTSUPP },
	{ "new pool 4095", NEW, 0, { NAME("n1"), USER, U32(A(LINK_POOL_LIMIT), 4095) }, RANGE, A(LINK_POOL_LIMIT) },
	{ "new pool 268435457", NEW, 0, { NAME("n1"), USER, U32(A(LINK_POOL_LIMIT), 268435457) }, RANGE, A(LINK_POOL_LIMIT) },
	{ "new pool as u16", NEW, 0, { NAME("n1"), USER, U16(A(LINK_POOL_LIMIT), 8192) }, EINVAL, 0, A(LINK_POOL_LIMIT) },
	{ "new pool as u64", NEW, 0, { NAME("n1"), USER, U64(A(LINK_POOL_LIMIT), 8192) }, EINVAL, 0, A(LINK_POOL_LIMIT) },
	{ "new threshold 1000001", NEW, 0, { NAME("n1"), USER, U32(A(LINK_QBER_THRESHOLD), 1000001) }, RANGE, A(LINK_QBER_THRESHOLD) },
	{ "new threshold as u8", NEW, 0, { NAME("n1"), USER, U8(A(LINK_QBER_THRESHOLD), 1) }, EINVAL, 0, A(LINK_QBER_THRESHOLD) },
	{ "new watermark as u64", NEW, 0, { NAME("n1"), USER, U64(A(LINK_LOW_WATERMARK), 1) }, EINVAL, 0, A(LINK_LOW_WATERMARK) },
	{ "new epoch as u32", NEW, 0, { NAME("n1"), USER, U32(A(LINK_EPOCH), 1) }, EINVAL, 0, A(LINK_EPOCH) },
	{ "new user with LINK_SIM", NEW, 0, { NAME("n1"), USER, NEST(A(LINK_SIM)), U32(S(RATE), 1), NEND }, EINVAL, 0, A(LINK_SIM) },
	{ "new sim with LINK_EPOCH", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), U64(A(LINK_EPOCH), 5) }, EINVAL, 0, A(LINK_EPOCH) },
	{ "new sim rate as u16", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), NEST(A(LINK_SIM)), U16(S(RATE), 1), NEND }, EINVAL, 0, IN(S(RATE)) },
	{ "new sim qber 1000001", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), NEST(A(LINK_SIM)), U32(S(QBER), 1000001), NEND }, RANGE, IN(S(QBER)) },
	{ "new sim eve 1000001", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), NEST(A(LINK_SIM)), U32(S(EVE), 1000001), NEND }, RANGE, IN(S(EVE)) },
	{ "new sim seed 31", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), NEST(A(LINK_SIM)), BIN(S(SEED), 31), NEND }, RANGE, IN(S(SEED)) },
	{ "new sim seed 33", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), NEST(A(LINK_SIM)), BIN(S(SEED), 33), NEND }, RANGE, IN(S(SEED)) },
	{ "new sim nest unknown 9", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), NEST(A(LINK_SIM)), U32(9, 1), NEND }, EINVAL, 0, IN(9) },
	{ "new sim nest no NLA_F_NESTED", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), { A(LINK_SIM), K_NEST_NOFLAG }, U32(S(RATE), 1), NEND }, EINVAL, 0, A(LINK_SIM) },
	{ "new sim as u32", NEW, 0, { NAME("n1"), SIM, STR(A(LINK_PEER), "n2"), U32(A(LINK_SIM), 1) }, EINVAL, 0, A(LINK_SIM) },
	{ "new with LINK_ID", NEW, 0, { NAME("n1"), USER, U32(A(LINK_ID), 5) }, EINVAL, 0, A(LINK_ID) },
	{ "new with LINK_QBER", NEW, 0, { NAME("n1"), USER, U32(A(LINK_QBER), 5) }, EINVAL, 0, A(LINK_QBER) },
	{ "new with ADMIN_UP", NEW, 0, { NAME("n1"), USER, U8(A(LINK_ADMIN_UP), 1) }, EINVAL, 0, A(LINK_ADMIN_UP) },
	{ "new with TX_AVAIL", NEW, 0, { NAME("n1"), USER, U64(A(LINK_TX_AVAIL), 1) }, EINVAL, 0, A(LINK_TX_AVAIL) },
	{ "new with COUNTERS", NEW, 0, { NAME("n1"), USER, NEST(A(LINK_COUNTERS)), NEND }, EINVAL, 0, A(LINK_COUNTERS) },
	{ "new with KEY_DATA", NEW, 0, { NAME("n1"), USER, BIN(A(KEY_DATA), 8) }, EINVAL, 0, A(KEY_DATA) },
	{ "new NLM_F_EXCL", NEW, NLM_F_EXCL, { NAME("n1"), USER }, EINVAL },

	/* LINK_DEL */
	{ "del no selector", DEL, 0, {}, EINVAL, 0, 0, SELECTOR },
	{ "del id as u16", DEL, 0, { U16(A(LINK_ID), 1) }, EINVAL, 0, A(LINK_ID) },
	{ "del name 16 chars", DEL, 0, { NAME("abcdefghijklmnop") }, EINVAL, 0, A(LINK_NAME) },
	{ "del unknown", DEL, 0, { NAME("nosuch") }, ENODEV },
	{ "del id and name differ", DEL, 0, { U32(A(LINK_ID), U1_ID), NAME("sa") }, EINVAL },
	{ "del with QBER", DEL, 0, { SEL, U32(A(LINK_QBER), 1) }, EINVAL, 0, A(LINK_QBER) },
	{ "del unknown attr", DEL, 0, { SEL, U32(100, 1) }, EINVAL, 0, 100 },

	/* LINK_SET */
	{ "set no selector", SET, 0, { U32(A(LINK_QBER_THRESHOLD), 1) }, EINVAL, 0, 0, SELECTOR },
	{ "set nothing", SET, 0, { SEL }, EINVAL },
	{ "set unknown link", SET, 0, { NAME("nosuch"), U32(A(LINK_QBER_THRESHOLD), 1) }, ENODEV },
	{ "set admin_up 2", SET, 0, { SEL, U8(A(LINK_ADMIN_UP), 2) }, RANGE, A(LINK_ADMIN_UP) },
	{ "set admin_up as u32", SET, 0, { SEL, U32(A(LINK_ADMIN_UP), 1) }, EINVAL, 0, A(LINK_ADMIN_UP) },
	{ "set default with payload", SET, 0, { SEL, RAW(A(LINK_DEFAULT), "\1\0\0", 4) }, RANGE, A(LINK_DEFAULT) },
	{ "set threshold 1000001", SET, 0, { SEL, U32(A(LINK_QBER_THRESHOLD), 1000001) }, RANGE, A(LINK_QBER_THRESHOLD) },
	{ "set threshold as u64", SET, 0, { SEL, U64(A(LINK_QBER_THRESHOLD), 1) }, EINVAL, 0, A(LINK_QBER_THRESHOLD) },
	{ "set pool 4095", SET, 0, { SEL, U32(A(LINK_POOL_LIMIT), 4095) }, RANGE, A(LINK_POOL_LIMIT) },
	{ "set pool 268435457", SET, 0, { SEL, U32(A(LINK_POOL_LIMIT), 268435457) }, RANGE, A(LINK_POOL_LIMIT) },
	{ "set watermark as u16", SET, 0, { SEL, U16(A(LINK_LOW_WATERMARK), 1) }, EINVAL, 0, A(LINK_LOW_WATERMARK) },
	{ "set qber 1000001", SET, 0, { SEL, U32(A(LINK_QBER), 1000001) }, RANGE, A(LINK_QBER) },
	{ "set key_rate as u64", SET, 0, { SEL, U64(A(LINK_KEY_RATE), 1) }, EINVAL, 0, A(LINK_KEY_RATE) },
	{ "set epoch as u32", SET, 0, { SEL, U32(A(LINK_EPOCH), 9) }, EINVAL, 0, A(LINK_EPOCH) },
	{ "set epoch not greater", SET, 0, { SEL, U64(A(LINK_EPOCH), 0) }, EINVAL, 0, A(LINK_EPOCH) },
	{ "set threshold and bad admin_up", SET, 0, { SEL, U32(A(LINK_QBER_THRESHOLD), 5), U8(A(LINK_ADMIN_UP), 7) }, RANGE, A(LINK_ADMIN_UP) },
	{ "set kind", SET, 0, { SEL, SIM }, EINVAL, 0, A(LINK_KIND) },
	{ "set peer", SET, 0, { SEL, STR(A(LINK_PEER), "p") }, EINVAL, 0, A(LINK_PEER) },
	{ "set state", SET, 0, { SEL, U32(A(LINK_STATE), 1) }, EINVAL, 0, A(LINK_STATE) },
	{ "set user with LINK_SIM", SET, 0, { SEL, NEST(A(LINK_SIM)), U32(S(RATE), 1), NEND }, EOPNOTSUPP, 0, A(LINK_SIM) },
	{ "set sim with QBER", SET, 0, { SEL_SIM, U32(A(LINK_QBER), 1) }, EOPNOTSUPP, 0, A(LINK_QBER) },
	{ "set sim with KEY_RATE", SET, 0, { SEL_SIM, U32(A(LINK_KEY_RATE), 1) }, EOPNOTSUPP, 0, A(LINK_KEY_RATE) },
	{ "set sim with EPOCH", SET, 0, { SEL_SIM, U64(A(LINK_EPOCH), 99) }, EOPNOTSUPP, 0, A(LINK_EPOCH) },
	{ "set sim seed", SET, 0, { SEL_SIM, NEST(A(LINK_SIM)), BIN(S(SEED), 32), NEND }, EINVAL, EOPNOTSUPP, IN(S(SEED)) },
	{ "set sim rate as u64", SET, 0, { SEL_SIM, NEST(A(LINK_SIM)), U64(S(RATE), 1), NEND }, EINVAL, 0, IN(S(RATE)) },
	{ "set sim qber 1000001", SET, 0, { SEL_SIM, NEST(A(LINK_SIM)), U32(S(QBER), 1000001), NEND }, RANGE, IN(S(QBER)) },
	{ "set sim eve 1000001", SET, 0, { SEL_SIM, NEST(A(LINK_SIM)), U32(S(EVE), 1000001), NEND }, RANGE, IN(S(EVE)) },

	/* KEY_PUSH */
	{ "push no selector", PUSH, 0, { PUSH_ALL(0, 0, 0, 16) }, EINVAL, 0, 0, SELECTOR },
	{ "push no dir", PUSH, 0, { SEL, U64(A(KEY_EPOCH), 0), U64(A(KEY_OFFSET), 0), BIN(A(KEY_DATA), 16) }, EINVAL, 0, 0, A(KEY_DIR) },
	{ "push no epoch", PUSH, 0, { SEL, U32(A(KEY_DIR), 0), U64(A(KEY_OFFSET), 0), BIN(A(KEY_DATA), 16) }, EINVAL, 0, 0, A(KEY_EPOCH) },
	{ "push no offset", PUSH, 0, { SEL, U32(A(KEY_DIR), 0), U64(A(KEY_EPOCH), 0), BIN(A(KEY_DATA), 16) }, EINVAL, 0, 0, A(KEY_OFFSET) },
	{ "push no data", PUSH, 0, { SEL, U32(A(KEY_DIR), 0), U64(A(KEY_EPOCH), 0), U64(A(KEY_OFFSET), 0) }, EINVAL, 0, 0, A(KEY_DATA) },
	{ "push dir 2", PUSH, 0, { SEL, PUSH_ALL(2, 0, 0, 16) }, RANGE, A(KEY_DIR) },
	{ "push dir as u8", PUSH, 0, { SEL, U8(A(KEY_DIR), 0), U64(A(KEY_EPOCH), 0), U64(A(KEY_OFFSET), 0), BIN(A(KEY_DATA), 16) }, EINVAL, 0, A(KEY_DIR) },
	{ "push epoch as u32", PUSH, 0, { SEL, U32(A(KEY_DIR), 0), U32(A(KEY_EPOCH), 0), U64(A(KEY_OFFSET), 0), BIN(A(KEY_DATA), 16) }, EINVAL, 0, A(KEY_EPOCH) },
	{ "push offset as u32", PUSH, 0, { SEL, U32(A(KEY_DIR), 0), U64(A(KEY_EPOCH), 0), U32(A(KEY_OFFSET), 0), BIN(A(KEY_DATA), 16) }, EINVAL, 0, A(KEY_OFFSET) },
	{ "push id as u16", PUSH, 0, { U16(A(LINK_ID), 1), PUSH_ALL(0, 0, 0, 16) }, EINVAL, 0, A(LINK_ID) },
	{ "push data empty", PUSH, 0, { SEL, PUSH_ALL(0, 0, 0, 0) }, RANGE, A(KEY_DATA) },
	{ "push data 32769", PUSH, 0, { SEL, PUSH_ALL(0, 0, 0, 32769) }, RANGE, A(KEY_DATA) },
	{ "push with KEY_LEN", PUSH, 0, { SEL, PUSH_ALL(0, 0, 0, 16), U32(A(KEY_LEN), 16) }, EINVAL, 0, A(KEY_LEN) },
	{ "push with LINK_EPOCH", PUSH, 0, { SEL, PUSH_ALL(0, 0, 0, 16), U64(A(LINK_EPOCH), 0) }, EINVAL, 0, A(LINK_EPOCH) },
	{ "push unknown link", PUSH, 0, { NAME("nosuch"), PUSH_ALL(0, 0, 0, 16) }, ENODEV },
	{ "push into sim", PUSH, 0, { SEL_SIM, PUSH_ALL(0, 0, 0, 16) }, EOPNOTSUPP },
	{ "push unknown attr", PUSH, 0, { SEL, PUSH_ALL(0, 0, 0, 16), U32(QKDKEY_A_MAX + 1, 0) }, EINVAL, 0, QKDKEY_A_MAX + 1 },
};

static unsigned char zeros[40000];

/* Builds case @c into q->req; *bad_off gets the offset of c->bad (or -1). */
static struct nlmsghdr *build(struct qnl *q, const struct pc *c, uint32_t u1_id,
			      long *bad_off)
{
	struct nlmsghdr *nlh = qnl_req(q, c->cmd, c->flags);
	struct nlattr *nest = NULL;
	int inner = 0;

	*bad_off = -1;
	for (const struct at *a = c->a; a < c->a + 8 && a->kind; a++) {
		struct nlattr *at = mnl_nlmsg_get_payload_tail(nlh);
		int want = inner ? IN(a->type) : a->type;

		if (a->type == 0 && a->kind != K_NEND)
			want = 0x2000;
		if (c->bad && c->bad == want && *bad_off < 0)
			*bad_off = (char *)at - (char *)nlh;
		switch (a->kind) {
		case K_U8:  mnl_attr_put_u8(nlh, a->type, a->v); break;
		case K_U16: mnl_attr_put_u16(nlh, a->type, a->v); break;
		case K_U32:
			mnl_attr_put_u32(nlh, a->type, a->v == U1_ID ? u1_id : a->v);
			break;
		case K_U32_NESTFLAG:
			mnl_attr_put_u32(nlh, a->type, a->v);
			at->nla_type |= NLA_F_NESTED;
			break;
		case K_U64: mnl_attr_put_u64(nlh, a->type, a->v); break;
		case K_STR: mnl_attr_put_strz(nlh, a->type, a->s); break;
		case K_RAW: mnl_attr_put(nlh, a->type, a->len, a->s); break;
		case K_BIN: mnl_attr_put(nlh, a->type, a->len, zeros); break;
		case K_NEST:
		case K_NEST_NOFLAG:
			nest = mnl_attr_nest_start(nlh, a->type);
			if (a->kind == K_NEST_NOFLAG)
				nest->nla_type &= ~NLA_F_NESTED;
			inner = 1;
			break;
		case K_NEND:
			mnl_attr_nest_end(nlh, nest);
			inner = 0;
			break;
		}
	}
	if (c->special == SP_TRAILING) {
		memset((char *)nlh + nlh->nlmsg_len, 0xab, 4);
		nlh->nlmsg_len += 2;
	} else if (c->special == SP_RESERVED) {
		((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->reserved = 1;
	} else if (c->special == SP_TRUNC) {
		nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	}
	return nlh;
}

FIXTURE(pol) {
	struct qnl q;
	struct qnl_link u1, sa;
};

FIXTURE_SETUP(pol)
{
	ASSERT_EQ(0, qnl_open(&self->q));
	ASSERT_EQ(0, qnl_del_all(&self->q));
	ASSERT_EQ(0, qnl_new_user(&self->q, "u1", 0, 0, NULL));
	ASSERT_EQ(0, qnl_new_sim(&self->q, "sa", "sb", 1000, NULL));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->u1, NULL));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "sa", &self->sa, NULL));
}

FIXTURE_TEARDOWN(pol)
{
	qnl_del_all(&self->q);
	qnl_close(&self->q);
}

/* One case; returns 0 or logs what is wrong and returns 1. */
static int run_case(struct __test_metadata *_metadata, struct qnl *q,
		    const struct pc *c, uint32_t u1_id)
{
	struct qnl_err e;
	long bad_off;
	struct nlmsghdr *nlh = build(q, c, u1_id, &bad_off);
	int r, dump = (c->flags & NLM_F_DUMP) == NLM_F_DUMP;
	const char *why = NULL;

	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	r = qnl_talk_raw(q, nlh, c->special == SP_TRUNC ? NLMSG_HDRLEN + 4 :
			 MNL_ALIGN(nlh->nlmsg_len), nlh->nlmsg_seq, dump, NULL, NULL, &e);
	if (r != -c->e1 && (!c->e2 || r != -c->e2))
		why = "errno";
	else if (!c->nomsg && !e.has_msg)
		why = "no extack message";
	else if (bad_off >= 0 && (!e.has_offs || e.offs != bad_off))
		why = "NLMSGERR_ATTR_OFFS";
	else if (c->miss == SELECTOR && (!e.has_miss ||
		 (e.miss_type != QKDKEY_A_LINK_ID && e.miss_type != QKDKEY_A_LINK_NAME)))
		why = "NLMSGERR_ATTR_MISS_TYPE";
	else if (c->miss > 0 && (!e.has_miss || e.miss_type != c->miss))
		why = "NLMSGERR_ATTR_MISS_TYPE";
	if (!why)
		return 0;
	TH_LOG("FAIL [%s] %s: want %s%s%s got %s (%d); msg \"%s\"; offs %s%ld got %s%u; miss want %d got %s%u",
	       c->name, why, strerror(c->e1), c->e2 ? " or " : "",
	       c->e2 ? strerror(c->e2) : "", r ? strerror(-r) : "success", r,
	       e.has_msg ? e.msg : "(none)", bad_off >= 0 ? "" : "n/a ", bad_off,
	       e.has_offs ? "" : "none ", e.offs, c->miss,
	       e.has_miss ? "" : "none ", e.miss_type);
	return 1;
}

TEST_F(pol, table)
{
	struct qnl_link all[8];
	int fails = 0, n = sizeof(cases) / sizeof(cases[0]);

	for (int i = 0; i < n; i++)
		fails += run_case(_metadata, &self->q, &cases[i], self->u1.id);
	TH_LOG("%d of %d cases wrong", fails, n);
	EXPECT_EQ(0, fails);

	/* nothing of it took effect */
	ASSERT_EQ(3, qnl_dump(&self->q, all, 8, NULL));
	EXPECT_STREQ("u1", all[0].name);
	EXPECT_EQ(self->u1.id, all[0].id);
	EXPECT_EQ(QKDKEY_QBER_THRESHOLD_DEFAULT, all[0].threshold);
	EXPECT_EQ(1048576, all[0].pool);
	EXPECT_EQ(0, all[0].epoch);
	EXPECT_EQ(QKDKEY_LINK_UP, all[0].state);
	EXPECT_EQ(0, all[0].cnt[QKDKEY_COUNTER_A_TX_DELIVERED]);
	EXPECT_EQ(0, all[0].cnt[QKDKEY_COUNTER_A_RX_DELIVERED]);
	EXPECT_STREQ("sa", all[1].name);
	EXPECT_EQ(1000, all[1].sim_rate);
	EXPECT_EQ(20000, all[1].sim_qber);
	EXPECT_EQ(0, all[1].sim_eve);
	EXPECT_STREQ("sb", all[2].name);
}

TEST_F(pol, admin_up_busy_while_qber_high)
{
	struct qnl_err e;

	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 200000, &e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->u1, NULL));
	ASSERT_EQ(QKDKEY_LINK_ALARM, self->u1.state);
	EXPECT_EQ(-EBUSY, qnl_set(&self->q, "u1", QKDKEY_A_LINK_ADMIN_UP, 1, &e));
	EXPECT_TRUE(e.has_msg);
	TH_LOG("EBUSY message: \"%s\"", e.msg);
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER, 1000, &e));
	EXPECT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_ADMIN_UP, 1, &e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->u1, NULL));
	EXPECT_EQ(QKDKEY_LINK_UP, self->u1.state);
	/* a threshold below the current QBER raises ALARM at once */
	ASSERT_EQ(0, qnl_set(&self->q, "u1", QKDKEY_A_LINK_QBER_THRESHOLD, 999, &e));
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->u1, NULL));
	EXPECT_EQ(QKDKEY_LINK_ALARM, self->u1.state);
}

/* a LINK_SET that is rejected applies none of its attributes */
TEST_F(pol, set_rejected_changes_nothing)
{
	struct nlmsghdr *nlh = qnl_req(&self->q, QKDKEY_CMD_LINK_SET, 0);
	struct qnl_err e;

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, "u1");
	mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 8192);
	mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, 5000);
	mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, 0);	/* not greater: EINVAL */
	EXPECT_EQ(-EINVAL, qnl_talk(&self->q, nlh, NULL, NULL, &e));
	TH_LOG("extack \"%s\"", e.msg);
	ASSERT_EQ(0, qnl_get(&self->q, 0, "u1", &self->u1, NULL));
	EXPECT_EQ(1048576, self->u1.pool);
	EXPECT_EQ(QKDKEY_QBER_THRESHOLD_DEFAULT, self->u1.threshold);
	EXPECT_EQ(0, self->u1.epoch);
}

TEST_HARNESS_MAIN
