// SPDX-License-Identifier: GPL-2.0
/*
 * nl_fuzz_test's message generator: every command and unknown ones, random
 * attribute types, lengths, nesting and payloads, plausible values around
 * every limit, well-formed requests with one thing wrong, corrupt lengths
 * and random flags (Documentation/netlink.rst is what it aims at). Also the
 * health check the netlink fuzzers (nl_fuzz_test, kcov_fuzz_test) share.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "nl_fuzz.h"
#include "fuzz_util.h"

const char *const names[NNAMES] = {
	"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "fuzz-long.name1",
};
static const char *const bad_names[] = {
	"", "f/0", "f 0", "abcdefghijklmnop", "f\n", "..",
};

void nlf_seed(uint64_t seed)
{
	rs = seed;
}

static uint32_t ppm_value(void)
{
	static const uint32_t v[] = { 0, 1, 20000, 109999, 110000, 110001, 999999,
				      1000000, 1000001, 0xffffffff };

	return rn(8) ? v[rn(10)] : (uint32_t)rnd();
}

static void put_name(struct nlmsghdr *nlh, int type)
{
	if (rn(10))
		mnl_attr_put_strz(nlh, type, names[rn(NNAMES)]);
	else if (rn(4))
		mnl_attr_put_strz(nlh, type, bad_names[rn(6)]);
	else
		mnl_attr_put(nlh, type, 2, "f1");	/* not NUL-terminated */
}

static void put_random_attrs(struct fz *f, struct nlmsghdr *nlh, int n, int depth);

/* one random attribute of a random type, length and payload */
static void put_random_attr(struct fz *f, struct nlmsghdr *nlh, int depth)
{
	uint16_t type = rn(4) ? rn(QKDKEY_A_MAX + 3) : (uint16_t)rnd();
	struct nlattr *n;

	if (depth < 3 && !rn(5)) {
		n = mnl_attr_nest_start(nlh, type & NLA_TYPE_MASK);
		if (rn(4))
			n->nla_type &= ~NLA_F_NESTED;
		put_random_attrs(f, nlh, rn(4), depth + 1);
		mnl_attr_nest_end(nlh, n);
		return;
	}
	mnl_attr_put(nlh, type, rn(3) ? rn(17) : rn(64), f->data);
}

static void put_random_attrs(struct fz *f, struct nlmsghdr *nlh, int n, int depth)
{
	while (n-- > 0)
		put_random_attr(f, nlh, depth);
}

static void put_sim_nest(struct fz *f, struct nlmsghdr *nlh)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);

	for (int i = rn(4); i > 0; i--) {
		switch (rn(6)) {
		case 0: mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE,
					 rn(20) ? rn(65536) : rn(2) ? 0 : (uint32_t)rnd()); break;
		case 1: mnl_attr_put_u32(nlh, QKDKEY_SIM_A_QBER, ppm_value()); break;
		case 2: mnl_attr_put_u32(nlh, QKDKEY_SIM_A_EVE, ppm_value()); break;
		case 3: mnl_attr_put(nlh, QKDKEY_SIM_A_SEED, rn(20) ? 31 + rn(3) : 32, f->data); break;
		default: put_random_attr(f, nlh, 2); break;
		}
	}
	mnl_attr_nest_end(nlh, n);
}

/* an attribute of type @t with a plausible payload */
static void put_sensible(struct fz *f, struct nlmsghdr *nlh, int t)
{
	uint32_t len;

	switch (t) {
	case QKDKEY_A_LINK_ID:
		mnl_attr_put_u32(nlh, t, f->nids && rn(4) ? f->ids[rn(f->nids)] : rn(2) ? rn(64) : (uint32_t)rnd());
		break;
	case QKDKEY_A_LINK_NAME:
	case QKDKEY_A_LINK_PEER:
		put_name(nlh, t);
		break;
	case QKDKEY_A_LINK_KIND:
		mnl_attr_put_strz(nlh, t, rn(10) ? (rn(2) ? "user" : "sim") : rn(2) ? "nosuch" : "");
		break;
	case QKDKEY_A_LINK_ADMIN_UP:
		mnl_attr_put_u8(nlh, t, rn(3));
		break;
	case QKDKEY_A_LINK_DEFAULT:
		mnl_attr_put(nlh, t, rn(10) ? 0 : rn(8), f->data);
		break;
	case QKDKEY_A_LINK_EPOCH:
	case QKDKEY_A_KEY_EPOCH:
	case QKDKEY_A_LINK_TX_AVAIL:
	case QKDKEY_A_LINK_RX_AVAIL:
		mnl_attr_put_u64(nlh, t, rn(10) ? rn(4) : rnd());
		break;
	case QKDKEY_A_KEY_OFFSET:
		mnl_attr_put_u64(nlh, t, rn(10) ? rn(100000) : rnd());
		break;
	case QKDKEY_A_LINK_POOL_LIMIT: {
		static const uint32_t v[] = { 4095, 4096, 8192, 65536, 1 << 20, 268435456, 268435457 };

		mnl_attr_put_u32(nlh, t, rn(8) ? v[rn(7)] : (uint32_t)rnd());
		break;
	}
	case QKDKEY_A_KEY_DIR:
		mnl_attr_put_u32(nlh, t, rn(10) ? rn(2) : (uint32_t)rnd());
		break;
	case QKDKEY_A_KEY_DATA:
		len = rn(20) ? 1 + rn(4096) : rn(2) ? 0 : 32768 + rn(2);
		mnl_attr_put(nlh, t, len, f->data);
		break;
	case QKDKEY_A_LINK_SIM:
		put_sim_nest(f, nlh);
		break;
	case QKDKEY_A_LINK_COUNTERS:
		put_random_attr(f, nlh, 2);
		break;
	default:	/* the u32s: STATE, QBER, THRESHOLD, KEY_RATE, WATERMARK, LEN */
		mnl_attr_put_u32(nlh, t, rn(2) ? ppm_value() : rn(65536));
		break;
	}
}

/* attributes each command takes (Documentation/netlink.rst) */
static const uint8_t cmd_attrs[][12] = {
	[QKDKEY_CMD_LINK_GET] = { 1, 2 },
	[QKDKEY_CMD_LINK_NEW] = { 2, 3, 4, 8, 12, 14, 15, 17 },
	[QKDKEY_CMD_LINK_DEL] = { 1, 2 },
	[QKDKEY_CMD_LINK_SET] = { 1, 2, 6, 7, 8, 11, 12, 13, 14, 15, 17 },
	[QKDKEY_CMD_KEY_PUSH] = { 1, 2, 18, 19, 20, 22 },
};

/* a well-formed KEY_PUSH into a fuzz link, to reach the storage paths */
static void gen_push(struct fz *f, struct nlmsghdr *nlh)
{
	int n = rn(NNAMES), d = rn(2);
	uint32_t len = 1 + rn(rn(10) ? 2048 : 32768);

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, names[n]);
	mnl_attr_put_u32(nlh, QKDKEY_A_KEY_DIR, d);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_EPOCH, rn(20) ? rn(2) : rn(6));
	if (!rn(10))
		f->next[n][d] = rn(2) ? 0 : f->next[n][d] + rn(5000);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_OFFSET, f->next[n][d]);
	mnl_attr_put(nlh, QKDKEY_A_KEY_DATA, len, f->data);
	f->next[n][d] += len;
}

void put_sel(struct fz *f, struct nlmsghdr *nlh)
{
	if (f->nids && !rn(4))
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, f->ids[rn(f->nids)]);
	else
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, names[rn(NNAMES)]);
}

/* a well-formed request with random valid values; returns its command */
static uint8_t gen_valid(struct fz *f, struct nlmsghdr *nlh)
{
	uint32_t r = rn(100);
	struct nlattr *n;

	if (r < 10) {
		put_sel(f, nlh);
		return QKDKEY_CMD_LINK_GET;
	}
	if (r < 18) {
		put_sel(f, nlh);
		return QKDKEY_CMD_LINK_DEL;
	}
	if (r < 45) {
		gen_push(f, nlh);
		return QKDKEY_CMD_KEY_PUSH;
	}
	if (r < 65) {
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, names[rn(NNAMES)]);
		if (!rn(8))
			mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 4096 + rn(1 << 20));
		if (!rn(8))
			mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, rn(1000001));
		if (!rn(8))
			mnl_attr_put_u32(nlh, QKDKEY_A_LINK_LOW_WATERMARK, rn(65536));
		if (rn(2)) {
			mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "user");
			if (rn(2))
				mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, rn(4));
			return QKDKEY_CMD_LINK_NEW;
		}
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "sim");
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_PEER, names[rn(NNAMES)]);
		n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE, rn(65536));
		if (rn(2))
			mnl_attr_put_u32(nlh, QKDKEY_SIM_A_EVE, rn(1000001));
		if (!rn(10))
			mnl_attr_put(nlh, QKDKEY_SIM_A_SEED, 32, f->data);
		mnl_attr_nest_end(nlh, n);
		return QKDKEY_CMD_LINK_NEW;
	}
	put_sel(f, nlh);
	for (int i = 1 + rn(3); i > 0; i--) {
		switch (rn(10)) {
		case 0: mnl_attr_put_u8(nlh, QKDKEY_A_LINK_ADMIN_UP, rn(2)); break;
		case 1: mnl_attr_put(nlh, QKDKEY_A_LINK_DEFAULT, 0, NULL); break;
		case 2: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, rn(1000001)); break;
		case 3: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 4096 + rn(1 << 20)); break;
		case 4: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_LOW_WATERMARK, rn(65536)); break;
		case 5: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER, rn(200000)); break;
		case 6: mnl_attr_put_u32(nlh, QKDKEY_A_LINK_KEY_RATE, rnd()); break;
		case 7: mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, rn(8)); break;
		default:
			n = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
			mnl_attr_put_u32(nlh, 1 + rn(3), rn(2) ? rn(65536) : rn(1000001));
			mnl_attr_nest_end(nlh, n);
			break;
		}
	}
	return QKDKEY_CMD_LINK_SET;
}

/* writes one message at @buf; returns its length on the wire */
size_t gen_msg(struct fz *f, char *buf, uint32_t seq)
{
	static const uint16_t odd_flags[] = { NLM_F_ROOT, NLM_F_MATCH, NLM_F_ATOMIC,
		NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_APPEND, NLM_F_ECHO };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	uint32_t r = rn(100), cmd;
	size_t len;

	nlh->nlmsg_type = rn(200) ? f->family : 0xfff0;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (r < 6)
		nlh->nlmsg_flags |= NLM_F_DUMP;
	else if (r < 9)
		nlh->nlmsg_flags = rnd();
	else if (r < 11)
		nlh->nlmsg_flags &= ~NLM_F_ACK;
	else if (r < 14)
		nlh->nlmsg_flags |= odd_flags[rn(8)];
	r = rn(100);
	cmd = r < 90 ? 1 + rn(5) : r < 97 ? rn(QKDKEY_CMD_MAX + 3) : rnd() & 0xff;
	g->cmd = cmd;
	g->version = rn(20) ? QKDKEY_GENL_VERSION : rnd();
	g->reserved = rn(50) ? 0 : rnd();

	if (rn(100) < 40) {
		g->cmd = gen_valid(f, nlh);
		if (!rn(4))	/* a valid message with one thing wrong with it */
			put_random_attr(f, nlh, 0);
	} else {
		for (int i = rn(8); i > 0; i--) {
			if (cmd >= 1 && cmd <= 5 && rn(10) < 7) {
				const uint8_t *a = cmd_attrs[cmd];
				int n = 0;

				while (n < 12 && a[n])
					n++;
				put_sensible(f, nlh, a[rn(n)]);
			} else if (rn(2)) {
				put_sensible(f, nlh, 1 + rn(QKDKEY_A_MAX));
			} else {
				put_random_attr(f, nlh, 0);
			}
		}
	}
	len = MNL_ALIGN(nlh->nlmsg_len);
	/* corruptions: a bad attribute length, a bad message length */
	r = rn(100);
	if (r < 2 && nlh->nlmsg_len > NLMSG_HDRLEN + GENL_HDRLEN + 4) {
		struct nlattr *a = (void *)(buf + NLMSG_HDRLEN + GENL_HDRLEN);

		a->nla_len = rn(2) ? rn(4) : a->nla_len + 4 + rn(64);
	} else if (r < 4) {
		nlh->nlmsg_len = rn(nlh->nlmsg_len);
	} else if (r < 5) {
		nlh->nlmsg_len -= rn(8);
	}
	return len;
}

int fz_healthy(struct qnl *q, struct qnl_link *all, int max, struct fz *f)
{
	int n = qnl_dump(q, all, max, NULL);

	if (n < 0)
		return n;
	f->nids = 0;
	for (int i = 0; i < n; i++) {
		if (qnl_check_counters(&all[i]))
			return -EUCLEAN;
		if (f->nids < 32)
			f->ids[f->nids++] = all[i].id;
	}
	return 0;
}
