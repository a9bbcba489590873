// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl link show|add|del|set: LINK_GET, LINK_NEW, LINK_DEL, LINK_SET.
 * Keywords follow ip(8): `link add NAME type sim peer PEER qber 2%`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "qkdctl.h"

#define REQ_SIZE	1024

enum kw {
	KW_TYPE, KW_PEER, KW_RATE, KW_QBER, KW_EVE, KW_POOL, KW_THRESHOLD,
	KW_WATERMARK, KW_SEED, KW_EPOCH, KW_KEY_RATE, KW_UP, KW_DOWN, KW_DEFAULT,
	KW_COUNT
};

#define BIT(kw)		(1u << (kw))
/* keywords whose attribute depends on the link's kind */
#define KW_SIM_ONLY	(BIT(KW_RATE) | BIT(KW_EVE) | BIT(KW_SEED))
#define KW_USER_ONLY	(BIT(KW_EPOCH) | BIT(KW_KEY_RATE))
#define KW_BY_KIND	(KW_SIM_ONLY | KW_USER_ONLY | BIT(KW_QBER))

enum kw_val { V_NONE, V_KIND, V_NAME, V_PPM, V_SIZE, V_POOL, V_U64, V_SEED };

static const struct {
	const char *word;
	enum kw_val val;
} kws[KW_COUNT] = {
	[KW_TYPE]	= { "type", V_KIND },
	[KW_PEER]	= { "peer", V_NAME },
	[KW_RATE]	= { "rate", V_SIZE },
	[KW_QBER]	= { "qber", V_PPM },
	[KW_EVE]	= { "eve", V_PPM },
	[KW_POOL]	= { "pool", V_POOL },
	[KW_THRESHOLD]	= { "threshold", V_PPM },
	[KW_WATERMARK]	= { "watermark", V_SIZE },
	[KW_SEED]	= { "seed", V_SEED },
	[KW_EPOCH]	= { "epoch", V_U64 },
	[KW_KEY_RATE]	= { "key-rate", V_SIZE },
	[KW_UP]		= { "up", V_NONE },
	[KW_DOWN]	= { "down", V_NONE },
	[KW_DEFAULT]	= { "default", V_NONE },
};

struct link_args {
	const char *cmd;		/* "link add", for messages */
	const char *name;
	uint32_t given;			/* BIT(KW_*) */
	const char *kind, *peer;
	uint64_t num[KW_COUNT];
	uint8_t seed[QKDKEY_SIM_SEED_LEN];
};

static int bad_value(const struct link_args *a, enum kw k, const char *word)
{
	static const char *const hints[] = {
		[V_KIND] = "a kind name such as sim or user",
		[V_NAME] = "1..15 characters of A-Z a-z 0-9 _ . -",
		[V_PPM] = "a percentage like 11% or 2.5%, or ppm 0..1000000",
		[V_SIZE] = "bytes 0..4294967295, with an optional K, M or G suffix",
		[V_U64] = "an unsigned 64-bit number, decimal or 0x hex",
		[V_SEED] = "exactly 64 hex digits (32 bytes)",
		[V_POOL] = "4096..268435456 bytes, with an optional K, M or G suffix",
	};

	return usage_error("%s: bad %s '%s': expected %s", a->cmd, kws[k].word,
			   k == KW_SEED ? "(not shown)" : word, hints[kws[k].val]);
}

/* Parses "KEYWORD [VALUE]..." allowing the keywords in @allowed. */
static int parse_keywords(struct link_args *a, int argc, char **argv, uint32_t allowed)
{
	for (int i = 0; i < argc; i++) {
		const char *word = argv[i], *val;
		uint64_t v;
		uint32_t ppm;
		int k;

		for (k = 0; k < KW_COUNT; k++)
			if ((allowed & BIT(k)) && !strcmp(word, kws[k].word))
				break;
		if (k == KW_COUNT)
			return usage_error("%s: unknown keyword '%s'", a->cmd, word);
		if (a->given & BIT(k))
			return usage_error("%s: '%s' given twice", a->cmd, word);
		a->given |= BIT(k);
		if (kws[k].val == V_NONE)
			continue;
		if (++i == argc)
			return usage_error("%s: '%s' needs a value", a->cmd, word);
		val = argv[i];
		switch (kws[k].val) {
		case V_KIND:
			if (!valid_link_name(val))
				return bad_value(a, (enum kw)k, val);
			a->kind = val;
			break;
		case V_NAME:
			if (!valid_link_name(val))
				return bad_value(a, (enum kw)k, val);
			a->peer = val;
			break;
		case V_PPM:
			if (parse_ppm(val, &ppm))
				return bad_value(a, (enum kw)k, val);
			a->num[k] = ppm;
			break;
		case V_SIZE:
			if (parse_size(val, UINT32_MAX, &v))
				return bad_value(a, (enum kw)k, val);
			a->num[k] = v;
			break;
		case V_POOL:
			if (parse_size(val, QKDKEY_POOL_MAX, &v) || v < QKDKEY_POOL_MIN)
				return bad_value(a, (enum kw)k, val);
			a->num[k] = v;
			break;
		case V_U64:
			if (parse_u64(val, &v))
				return bad_value(a, (enum kw)k, val);
			a->num[k] = v;
			break;
		case V_SEED:
			if (parse_hex(val, a->seed, sizeof(a->seed))) {
				explicit_bzero(a->seed, sizeof(a->seed));
				return usage_error("%s: bad seed (%zu characters): expected "
						   "exactly %d hex digits (%d bytes)", a->cmd,
						   strlen(val), 2 * QKDKEY_SIM_SEED_LEN,
						   QKDKEY_SIM_SEED_LEN);
			}
			break;
		case V_NONE:
			break;
		}
	}
	return 0;
}

/* The first keyword of @mask that was given, for messages. */
static const char *first_given(const struct link_args *a, uint32_t mask)
{
	for (int k = 0; k < KW_COUNT; k++)
		if (a->given & mask & BIT(k))
			return kws[k].word;
	return NULL;
}

/* Rejects keywords the link's kind does not have. */
static int check_kind(const struct link_args *a, const char *kind, const char *what)
{
	bool sim = !strcmp(kind, "sim"), user = !strcmp(kind, "user");
	const char *w = first_given(a, KW_SIM_ONLY);

	if (!sim && w)
		return usage_error("%s: '%s' applies to sim links only; %s is a %s link%s",
				   a->cmd, w, what, kind,
				   user && !strcmp(w, "rate") ? " (use key-rate)" : "");
	w = first_given(a, KW_USER_ONLY);
	if (!user && w)
		return usage_error("%s: '%s' applies to user links only; %s is a %s link",
				   a->cmd, w, what, kind);
	w = first_given(a, BIT(KW_QBER));
	if (!sim && !user && w)
		return usage_error("%s: '%s' applies to sim and user links only; %s is a %s link",
				   a->cmd, w, what, kind);
	return 0;
}

static void put_common(struct nlmsghdr *nlh, const struct link_args *a)
{
	if (a->given & BIT(KW_POOL))
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, (uint32_t)a->num[KW_POOL]);
	if (a->given & BIT(KW_THRESHOLD))
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, (uint32_t)a->num[KW_THRESHOLD]);
	if (a->given & BIT(KW_WATERMARK))
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_LOW_WATERMARK, (uint32_t)a->num[KW_WATERMARK]);
}

/* The LINK_SIM nest, or nothing when no sim setting was given. */
static void put_sim(struct nlmsghdr *nlh, const struct link_args *a)
{
	struct nlattr *nest;

	if (!(a->given & (BIT(KW_RATE) | BIT(KW_QBER) | BIT(KW_EVE) | BIT(KW_SEED))))
		return;
	nest = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
	if (a->given & BIT(KW_RATE))
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE, (uint32_t)a->num[KW_RATE]);
	if (a->given & BIT(KW_QBER))
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_QBER, (uint32_t)a->num[KW_QBER]);
	if (a->given & BIT(KW_EVE))
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_EVE, (uint32_t)a->num[KW_EVE]);
	if (a->given & BIT(KW_SEED))
		mnl_attr_put(nlh, QKDKEY_SIM_A_SEED, sizeof(a->seed), a->seed);
	mnl_attr_nest_end(nlh, nest);
}

static int need_name(const char *cmd, int argc, char **argv)
{
	if (argc == 0)
		return usage_error("%s: missing link name", cmd);
	if (!valid_link_name(argv[0]))
		return usage_error("%s: bad link name '%s': expected 1..15 characters of "
				   "A-Z a-z 0-9 _ . -", cmd, argv[0]);
	return 0;
}

/* ---- show ---------------------------------------------------------------- */

struct show_ctx {
	struct jw w;
	bool one;
};

static int show_cb(const struct nlmsghdr *nlh, void *data)
{
	struct show_ctx *c = data;
	struct qlink l;
	int err = qlink_parse(nlh, &l);

	if (err)
		return err;
	if (opt_json) {
		jw_open(&c->w, NULL, '{');
		qlink_json_members(&c->w, &l);
		jw_close(&c->w, '}');
		if (c->one)
			fputc('\n', stdout);
	} else {
		qlink_print_long(stdout, &l);
	}
	return 0;
}

static int link_show(int argc, char **argv)
{
	struct show_ctx c = { .one = argc > 0 };
	char buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	struct qnl nl;
	int ret;

	if (argc > 0 && need_name("link show", argc, argv))
		return EXIT_USAGE;
	if (argc > 1)
		return usage_error("link show: unexpected argument '%s'", argv[1]);
	ret = qnl_open(&nl);
	if (ret)
		return ret;
	jw_init(&c.w, stdout);
	if (c.one) {
		nlh = qnl_msg(&nl, buf, sizeof(buf), QKDKEY_CMD_LINK_GET, NLM_F_ACK);
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, argv[0]);
		ret = qnl_talk(&nl, nlh, show_cb, &c, "link show %s", argv[0]);
	} else {
		nlh = qnl_msg(&nl, buf, sizeof(buf), QKDKEY_CMD_LINK_GET, NLM_F_DUMP);
		if (opt_json && !opt_dry_run)
			jw_open(&c.w, NULL, '[');
		ret = qnl_talk(&nl, nlh, show_cb, &c, "link show");
		if (opt_json && !opt_dry_run) {
			jw_close(&c.w, ']');
			fputc('\n', stdout);
		}
	}
	qnl_close(&nl);
	return ret;
}

/* ---- add, del ------------------------------------------------------------ */

static int link_add(int argc, char **argv)
{
	struct link_args a = { .cmd = "link add" };
	char buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	struct qnl nl;
	int ret;

	if (need_name(a.cmd, argc, argv))
		return EXIT_USAGE;
	a.name = argv[0];
	ret = parse_keywords(&a, argc - 1, argv + 1,
			     BIT(KW_TYPE) | BIT(KW_PEER) | BIT(KW_RATE) | BIT(KW_QBER) |
			     BIT(KW_EVE) | BIT(KW_POOL) | BIT(KW_THRESHOLD) |
			     BIT(KW_WATERMARK) | BIT(KW_SEED) | BIT(KW_EPOCH));
	if (!ret && !a.kind)
		ret = usage_error("link add: missing 'type sim' or 'type user'");
	if (!ret)
		ret = check_kind(&a, a.kind, a.name);
	if (!ret && !strcmp(a.kind, "sim") && !a.peer)
		ret = usage_error("link add: type sim needs 'peer NAME' (the other end of the pair)");
	if (!ret)
		ret = qnl_open(&nl);
	if (ret) {
		explicit_bzero(a.seed, sizeof(a.seed));
		return ret;
	}
	nlh = qnl_msg(&nl, buf, sizeof(buf), QKDKEY_CMD_LINK_NEW, NLM_F_ACK);
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, a.name);
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, a.kind);
	if (a.peer)
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_PEER, a.peer);
	put_common(nlh, &a);
	if (a.given & BIT(KW_EPOCH))
		mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, a.num[KW_EPOCH]);
	put_sim(nlh, &a);
	explicit_bzero(a.seed, sizeof(a.seed));
	ret = qnl_talk(&nl, nlh, NULL, NULL, "link add %s", a.name);
	explicit_bzero(buf, sizeof(buf));
	qnl_close(&nl);
	return ret;
}

static int link_del(int argc, char **argv)
{
	char buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	struct qnl nl;
	int ret;

	if (need_name("link del", argc, argv))
		return EXIT_USAGE;
	if (argc > 1)
		return usage_error("link del: unexpected argument '%s'", argv[1]);
	ret = qnl_open(&nl);
	if (ret)
		return ret;
	nlh = qnl_msg(&nl, buf, sizeof(buf), QKDKEY_CMD_LINK_DEL, NLM_F_ACK);
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, argv[0]);
	ret = qnl_talk(&nl, nlh, NULL, NULL, "link del %s", argv[0]);
	qnl_close(&nl);
	return ret;
}

/* ---- set ----------------------------------------------------------------- */

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	return qlink_parse(nlh, data);
}

static int link_set(int argc, char **argv)
{
	struct link_args a = { .cmd = "link set" };
	struct qlink cur = { 0 };
	char buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	const char *kind;
	struct qnl nl;
	int ret;

	if (need_name(a.cmd, argc, argv))
		return EXIT_USAGE;
	a.name = argv[0];
	ret = parse_keywords(&a, argc - 1, argv + 1,
			     BIT(KW_TYPE) | BIT(KW_RATE) | BIT(KW_QBER) | BIT(KW_EVE) |
			     BIT(KW_POOL) | BIT(KW_THRESHOLD) | BIT(KW_WATERMARK) |
			     BIT(KW_EPOCH) | BIT(KW_KEY_RATE) | BIT(KW_UP) | BIT(KW_DOWN) |
			     BIT(KW_DEFAULT));
	if (ret)
		return ret;
	if ((a.given & BIT(KW_UP)) && (a.given & BIT(KW_DOWN)))
		return usage_error("link set: 'up' and 'down' together");
	if (!(a.given & ~BIT(KW_TYPE)))
		return usage_error("link set %s: nothing to change", a.name);
	kind = a.kind;
	if (kind) {
		ret = check_kind(&a, kind, a.name);
		if (ret)
			return ret;
	}
	if (!kind && (a.given & KW_BY_KIND) && opt_dry_run)
		return usage_error("link set: --dry-run does not ask the kernel; add 'type sim' "
				   "or 'type user' to say where '%s' goes",
				   first_given(&a, KW_BY_KIND));
	ret = qnl_open(&nl);
	if (ret)
		return ret;
	if (!kind && (a.given & KW_BY_KIND)) {
		/* where qber, rate, ... go depends on the kind: ask */
		nlh = qnl_msg(&nl, buf, sizeof(buf), QKDKEY_CMD_LINK_GET, NLM_F_ACK);
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, a.name);
		ret = qnl_talk(&nl, nlh, get_cb, &cur, "link set %s: link show", a.name);
		if (!ret && !HAVE(&cur, QKDKEY_A_LINK_KIND))
			ret = fail_errno(EPROTO, "link set %s: the kernel did not say the kind",
					 a.name);
		kind = cur.kind;
		if (!ret)
			ret = check_kind(&a, kind, a.name);
	}
	if (ret) {
		qnl_close(&nl);
		return ret;
	}

	nlh = qnl_msg(&nl, buf, sizeof(buf), QKDKEY_CMD_LINK_SET, NLM_F_ACK);
	/* with both, the kernel refuses if the name moved to another link */
	if (HAVE(&cur, QKDKEY_A_LINK_ID))
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, cur.id);
	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, a.name);
	if (a.given & (BIT(KW_UP) | BIT(KW_DOWN)))
		mnl_attr_put_u8(nlh, QKDKEY_A_LINK_ADMIN_UP, !!(a.given & BIT(KW_UP)));
	if (a.given & BIT(KW_DEFAULT))
		mnl_attr_put(nlh, QKDKEY_A_LINK_DEFAULT, 0, NULL);
	put_common(nlh, &a);
	if (kind && !strcmp(kind, "sim")) {
		put_sim(nlh, &a);
	} else {
		if (a.given & BIT(KW_QBER))
			mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER, (uint32_t)a.num[KW_QBER]);
		if (a.given & BIT(KW_KEY_RATE))
			mnl_attr_put_u32(nlh, QKDKEY_A_LINK_KEY_RATE, (uint32_t)a.num[KW_KEY_RATE]);
		if (a.given & BIT(KW_EPOCH))
			mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, a.num[KW_EPOCH]);
	}
	ret = qnl_talk(&nl, nlh, NULL, NULL, "link set %s", a.name);
	qnl_close(&nl);
	return ret;
}

int cmd_link(int argc, char **argv)
{
	if (argc == 0)
		return link_show(0, argv);
	if (!strcmp(argv[0], "show") || !strcmp(argv[0], "list") || !strcmp(argv[0], "ls"))
		return link_show(argc - 1, argv + 1);
	if (!strcmp(argv[0], "add"))
		return link_add(argc - 1, argv + 1);
	if (!strcmp(argv[0], "del") || !strcmp(argv[0], "delete"))
		return link_del(argc - 1, argv + 1);
	if (!strcmp(argv[0], "set"))
		return link_set(argc - 1, argv + 1);
	return usage_error("link: unknown command '%s': expected show, add, del or set", argv[0]);
}
