// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl: generic netlink helpers on libmnl. Resolves the "qkdkey" family
 * and its "monitor" group, sends one request at a time and reads its reply
 * up to the ACK (do) or NLMSG_DONE (dump), and turns the kernel's extended
 * ACK into one line on stderr, naming the attribute it points at. Also the
 * attribute tables of the family, used for --dry-run and for error reports.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "qkdctl.h"

#define RXBUF_SIZE	65536

static const struct attr_desc counter_descs[QKDKEY_COUNTER_A_MAX + 1] = {
	[QKDKEY_COUNTER_A_TX_DELIVERED]	= { "TX_DELIVERED", AT_U64, NULL },
	[QKDKEY_COUNTER_A_TX_TAKEN]	= { "TX_TAKEN", AT_U64, NULL },
	[QKDKEY_COUNTER_A_TX_EXPIRED]	= { "TX_EXPIRED", AT_U64, NULL },
	[QKDKEY_COUNTER_A_RX_DELIVERED]	= { "RX_DELIVERED", AT_U64, NULL },
	[QKDKEY_COUNTER_A_RX_TAKEN]	= { "RX_TAKEN", AT_U64, NULL },
	[QKDKEY_COUNTER_A_RX_EXPIRED]	= { "RX_EXPIRED", AT_U64, NULL },
	[QKDKEY_COUNTER_A_ALARMS]	= { "ALARMS", AT_U64, NULL },
	[QKDKEY_COUNTER_A_PAD]		= { "PAD", AT_BIN, NULL },
};

const struct attr_set qkdkey_counter_attrs = {
	"LINK_COUNTERS.", counter_descs, QKDKEY_COUNTER_A_MAX,
};

static const struct attr_desc sim_descs[QKDKEY_SIM_A_MAX + 1] = {
	[QKDKEY_SIM_A_RATE]	= { "RATE", AT_U32, NULL },
	[QKDKEY_SIM_A_QBER]	= { "QBER", AT_U32, NULL },
	[QKDKEY_SIM_A_EVE]	= { "EVE", AT_U32, NULL },
	[QKDKEY_SIM_A_SEED]	= { "SEED", AT_SECRET, NULL },
};

const struct attr_set qkdkey_sim_attrs = {
	"LINK_SIM.", sim_descs, QKDKEY_SIM_A_MAX,
};

static const struct attr_desc link_descs[QKDKEY_A_MAX + 1] = {
	[QKDKEY_A_LINK_ID]		= { "LINK_ID", AT_U32, NULL },
	[QKDKEY_A_LINK_NAME]		= { "LINK_NAME", AT_STR, NULL },
	[QKDKEY_A_LINK_KIND]		= { "LINK_KIND", AT_STR, NULL },
	[QKDKEY_A_LINK_PEER]		= { "LINK_PEER", AT_STR, NULL },
	[QKDKEY_A_LINK_STATE]		= { "LINK_STATE", AT_U32, NULL },
	[QKDKEY_A_LINK_ADMIN_UP]	= { "LINK_ADMIN_UP", AT_U8, NULL },
	[QKDKEY_A_LINK_DEFAULT]		= { "LINK_DEFAULT", AT_FLAG, NULL },
	[QKDKEY_A_LINK_EPOCH]		= { "LINK_EPOCH", AT_U64, NULL },
	[QKDKEY_A_LINK_TX_AVAIL]	= { "LINK_TX_AVAIL", AT_U64, NULL },
	[QKDKEY_A_LINK_RX_AVAIL]	= { "LINK_RX_AVAIL", AT_U64, NULL },
	[QKDKEY_A_LINK_QBER]		= { "LINK_QBER", AT_U32, NULL },
	[QKDKEY_A_LINK_QBER_THRESHOLD]	= { "LINK_QBER_THRESHOLD", AT_U32, NULL },
	[QKDKEY_A_LINK_KEY_RATE]	= { "LINK_KEY_RATE", AT_U32, NULL },
	[QKDKEY_A_LINK_POOL_LIMIT]	= { "LINK_POOL_LIMIT", AT_U32, NULL },
	[QKDKEY_A_LINK_LOW_WATERMARK]	= { "LINK_LOW_WATERMARK", AT_U32, NULL },
	[QKDKEY_A_LINK_COUNTERS]	= { "LINK_COUNTERS", AT_NEST, &qkdkey_counter_attrs },
	[QKDKEY_A_LINK_SIM]		= { "LINK_SIM", AT_NEST, &qkdkey_sim_attrs },
	[QKDKEY_A_KEY_DIR]		= { "KEY_DIR", AT_U32, NULL },
	[QKDKEY_A_KEY_EPOCH]		= { "KEY_EPOCH", AT_U64, NULL },
	[QKDKEY_A_KEY_OFFSET]		= { "KEY_OFFSET", AT_U64, NULL },
	[QKDKEY_A_KEY_LEN]		= { "KEY_LEN", AT_U32, NULL },
	[QKDKEY_A_KEY_DATA]		= { "KEY_DATA", AT_SECRET, NULL },
	[QKDKEY_A_PAD]			= { "PAD", AT_BIN, NULL },
};

const struct attr_set qkdkey_attrs = { "", link_descs, QKDKEY_A_MAX };

static const char *const cmd_names[QKDKEY_CMD_MAX + 1] = {
	[QKDKEY_CMD_LINK_GET]		= "LINK_GET",
	[QKDKEY_CMD_LINK_NEW]		= "LINK_NEW",
	[QKDKEY_CMD_LINK_DEL]		= "LINK_DEL",
	[QKDKEY_CMD_LINK_SET]		= "LINK_SET",
	[QKDKEY_CMD_KEY_PUSH]		= "KEY_PUSH",
	[QKDKEY_CMD_LINK_ADD_NTF]	= "LINK_ADD_NTF",
	[QKDKEY_CMD_LINK_DEL_NTF]	= "LINK_DEL_NTF",
	[QKDKEY_CMD_LINK_CHANGE_NTF]	= "LINK_CHANGE_NTF",
	[QKDKEY_CMD_ALARM_NTF]		= "ALARM_NTF",
	[QKDKEY_CMD_LOW_WATERMARK_NTF]	= "LOW_WATERMARK_NTF",
	[QKDKEY_CMD_KEY_WANT_NTF]	= "KEY_WANT_NTF",
};

const char *cmd_name(uint8_t cmd)
{
	return cmd <= QKDKEY_CMD_MAX && cmd_names[cmd] ? cmd_names[cmd] : "UNKNOWN";
}

static const struct attr_desc *attr_desc(const struct attr_set *set, unsigned int type)
{
	if (!set || type > set->max || !set->attrs[type].name)
		return NULL;
	return &set->attrs[type];
}

/* What the kernel said when it rejected a request. */
struct qnl_err {
	int err;			/* positive errno, 0: success */
	bool dump_intr;
	bool have_offs, have_miss, have_miss_nest;
	uint32_t offs, miss_type, miss_nest;
	char msg[256];
};

static int extack_cb(const struct nlattr *a, void *data)
{
	struct qnl_err *e = data;
	size_t len;

	switch (mnl_attr_get_type(a)) {
	case NLMSGERR_ATTR_MSG:
		len = mnl_attr_get_payload_len(a);
		if (len >= sizeof(e->msg))
			len = sizeof(e->msg) - 1;
		memcpy(e->msg, mnl_attr_get_payload(a), len);
		e->msg[len] = '\0';
		/* one line, printable: it goes straight to a terminal */
		for (char *p = e->msg; *p; p++)
			if (!isprint((unsigned char)*p))
				*p = '?';
		break;
	case NLMSGERR_ATTR_OFFS:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			e->offs = mnl_attr_get_u32(a);
			e->have_offs = true;
		}
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			e->miss_type = mnl_attr_get_u32(a);
			e->have_miss = true;
		}
		break;
	case NLMSGERR_ATTR_MISS_NEST:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			e->miss_nest = mnl_attr_get_u32(a);
			e->have_miss_nest = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static void parse_ack(const struct nlmsghdr *nlh, struct qnl_err *e)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t hlen = sizeof(*err);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		e->err = EBADMSG;
		return;
	}
	e->err = -err->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		hlen += mnl_nlmsg_get_payload_len(&err->msg);
	if (hlen < mnl_nlmsg_get_payload_len(nlh))
		mnl_attr_parse(nlh, (unsigned int)hlen, extack_cb, e);
}

static void parse_done(const struct nlmsghdr *nlh, struct qnl_err *e)
{
	int error;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(error))
		return;
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	if (error >= 0)
		return;
	e->err = -error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_parse(nlh, sizeof(error), extack_cb, e);
}

/* Sends @req, reads its reply. 0, or -1 with @e filled. */
static int talk(struct qnl *nl, const struct nlmsghdr *req, qnl_cb cb, void *data,
		struct qnl_err *e)
{
	uint32_t seq = req->nlmsg_seq;

	memset(e, 0, sizeof(*e));
	if (mnl_socket_sendto(nl->sk, req, req->nlmsg_len) < 0) {
		e->err = errno;
		return -1;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, nl->rxbuf, nl->rxlen);
		const struct nlmsghdr *nlh = nl->rxbuf;
		int len = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			e->err = errno;
			return -1;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != nl->portid)
				continue;	/* a stale reply */
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				e->dump_intr = true;
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
				continue;
			case NLMSG_ERROR:
				parse_ack(nlh, e);
				return e->err ? -1 : 0;
			case NLMSG_DONE:
				parse_done(nlh, e);
				return e->err ? -1 : 0;
			case NLMSG_OVERRUN:
				e->err = ENOBUFS;
				return -1;
			}
			if (cb) {
				int err = cb(nlh, data);

				if (err) {
					e->err = err;
					return -1;
				}
			}
		}
	}
}

/* Bytes from @a to the end of the @len bytes of attributes at @first. */
static int attrs_left(const struct nlattr *first, const struct nlattr *a, size_t len)
{
	return (int)len - (int)((const char *)a - (const char *)first);
}

/* Names the attribute of @req that starts at byte @offs of the message. */
static bool attr_at(const struct nlattr *first, size_t len, const char *base,
		    uint32_t offs, const struct attr_set *set, char *name, size_t size,
		    const struct attr_set **nest_set)
{
	const struct nlattr *a;

	for (a = first; mnl_attr_ok(a, attrs_left(first, a, len)); a = mnl_attr_next(a)) {
		uint32_t at = (uint32_t)((const char *)a - base);
		const struct attr_desc *d = attr_desc(set, mnl_attr_get_type(a));
		char own[64];

		if (offs < at || offs >= at + a->nla_len)
			continue;
		if (d)
			snprintf(own, sizeof(own), "%s%s", set->prefix, d->name);
		else
			snprintf(own, sizeof(own), "%s%u", set->prefix, mnl_attr_get_type(a));
		if (offs == at || !d || d->type != AT_NEST) {
			snprintf(name, size, "%s", own);
			if (nest_set)
				*nest_set = d && d->type == AT_NEST ? d->nest : NULL;
			return true;
		}
		return attr_at(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), base,
			       offs, d->nest, name, size, nest_set);
	}
	return false;
}

static void name_offset(const struct nlmsghdr *req, uint32_t offs, char *name, size_t size,
			const struct attr_set **nest_set)
{
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));

	if (nest_set)
		*nest_set = NULL;
	if (req->nlmsg_len > hdr &&
	    attr_at((const struct nlattr *)((const char *)req + hdr), req->nlmsg_len - hdr,
		    (const char *)req, offs, &qkdkey_attrs, name, size, nest_set))
		return;
	snprintf(name, size, "at byte %u", offs);
}

static int report(const struct qnl_err *e, const struct nlmsghdr *req, const char *what,
		  const char *hint)
{
	char name[96];

	fflush(stdout);
	fprintf(stderr, "qkdctl: %s: %s", what, strerror(e->err));
	if (e->msg[0])
		fprintf(stderr, ": %s", e->msg);
	if (e->have_offs && req) {
		name_offset(req, e->offs, name, sizeof(name), NULL);
		fprintf(stderr, " (attribute %s)", name);
	}
	if (e->have_miss) {
		const struct attr_set *set = &qkdkey_attrs;
		const struct attr_desc *d;
		char nest[96] = "";

		if (e->have_miss_nest && req) {
			name_offset(req, e->miss_nest, nest, sizeof(nest), &set);
			if (!set)
				set = &qkdkey_attrs;
		}
		d = attr_desc(set, e->miss_type);
		if (d)
			fprintf(stderr, " (missing attribute %s%s)", set->prefix, d->name);
		else
			fprintf(stderr, " (missing attribute %u%s%s)", e->miss_type,
				nest[0] ? " in " : "", nest);
	}
	if (hint)
		fprintf(stderr, " (%s)", hint);
	fputc('\n', stderr);
	return EXIT_FAILED;
}

static int family_grp_cb(const struct nlattr *grp, struct qnl *nl)
{
	const struct nlattr *a;
	const char *name = NULL;
	uint32_t id = 0;

	mnl_attr_for_each_nested(a, grp) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			name = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
			 mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			id = mnl_attr_get_u32(a);
	}
	if (name && !strcmp(name, QKDKEY_MCGRP_MONITOR))
		nl->mcgrp_monitor = id;
	return 0;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct qnl *nl = data;
	const struct nlattr *a, *grp;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
				nl->family = mnl_attr_get_u16(a);
			break;
		case CTRL_ATTR_VERSION:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				nl->version = mnl_attr_get_u32(a);
			break;
		case CTRL_ATTR_MCAST_GROUPS:
			mnl_attr_for_each_nested(grp, a)
				family_grp_cb(grp, nl);
			break;
		}
	}
	return 0;
}

int qnl_open(struct qnl *nl)
{
	char buf[256];
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;
	struct qnl_err e;
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	if (opt_dry_run)
		return 0;
	nl->rxlen = RXBUF_SIZE;
	nl->rxbuf = malloc(nl->rxlen);
	if (!nl->rxbuf)
		return fail("malloc");
	nl->sk = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sk) {
		int ret = fail("netlink socket");

		qnl_close(nl);
		return ret;
	}
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = fail("netlink bind");

		qnl_close(nl);
		return ret;
	}
	/*
	 * Extended ACKs carry the kernel's reason; capped ACKs do not echo the
	 * request back, so a rejected KEY_PUSH never returns its key bytes.
	 * Both are best effort: an old kernel just says less.
	 */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)time(NULL);

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = CTRL_CMD_GETFAMILY;
	genl->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, QKDKEY_GENL_NAME);
	if (talk(nl, nlh, family_cb, nl, &e) < 0) {
		int ret = report(&e, NULL, "netlink family " QKDKEY_GENL_NAME,
				 e.err == ENOENT ? "is qkdkey.ko loaded?" : NULL);

		qnl_close(nl);
		return ret;
	}
	if (!nl->family) {
		qnl_close(nl);
		return fail_errno(EPROTO, "netlink family " QKDKEY_GENL_NAME);
	}
	return 0;
}

void qnl_close(struct qnl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	free(nl->rxbuf);
	nl->sk = NULL;
	nl->rxbuf = NULL;
}

struct nlmsghdr *qnl_msg(struct qnl *nl, void *buf, size_t size, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	memset(buf, 0, size);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = nl->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = QKDKEY_GENL_VERSION;
	return nlh;
}

int qnl_talk(struct qnl *nl, struct nlmsghdr *req, qnl_cb cb, void *data, const char *fmt, ...)
{
	struct qnl_err e;
	char what[256];
	va_list ap;

	if (opt_dry_run) {
		qnl_print_request(stdout, req);
		return 0;
	}
	if (talk(nl, req, cb, data, &e) == 0) {
		if (e.dump_intr)
			fprintf(stderr, "qkdctl: warning: links changed during the dump; "
				"the list may be inconsistent\n");
		if (e.msg[0])
			fprintf(stderr, "qkdctl: warning: %s\n", e.msg);
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return report(&e, req, what, NULL);
}

static void print_attrs(FILE *out, const struct nlattr *first, size_t len,
			const struct attr_set *set, int depth)
{
	const struct nlattr *a;

	for (a = first; mnl_attr_ok(a, attrs_left(first, a, len)); a = mnl_attr_next(a)) {
		const struct attr_desc *d = attr_desc(set, mnl_attr_get_type(a));
		size_t plen = mnl_attr_get_payload_len(a);
		const void *p = mnl_attr_get_payload(a);

		fprintf(out, "%*s", 2 * depth, "");
		if (!d) {
			fprintf(out, "%u <%zu bytes>\n", mnl_attr_get_type(a), plen);
			continue;
		}
		fputs(d->name, out);
		switch (d->type) {
		case AT_U8:
			fprintf(out, " %u\n", plen >= 1 ? *(const uint8_t *)p : 0);
			break;
		case AT_U32:
			fprintf(out, " %u\n", plen >= 4 ? mnl_attr_get_u32(a) : 0);
			break;
		case AT_U64: {
			uint64_t v = 0;

			if (plen >= 8)
				memcpy(&v, p, sizeof(v));
			fprintf(out, " %llu\n", (unsigned long long)v);
			break;
		}
		case AT_STR:
			fputc(' ', out);
			json_string(out, mnl_attr_get_str(a));
			fputc('\n', out);
			break;
		case AT_FLAG:
			fputc('\n', out);
			break;
		case AT_NEST:
			fputc('\n', out);
			print_attrs(out, p, plen, d->nest, depth + 1);
			break;
		case AT_SECRET:
			fprintf(out, " <%zu bytes, not shown>\n", plen);
			break;
		default:
			fprintf(out, " <%zu bytes>\n", plen);
			break;
		}
	}
}

void qnl_print_request(FILE *out, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*genl));
	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;

	fprintf(out, "request %s%s%s\n", cmd_name(genl->cmd), dump ? " dump" : "",
		nlh->nlmsg_flags & NLM_F_ACK ? " ack" : "");
	if (nlh->nlmsg_len > hdr)
		print_attrs(out, (const struct nlattr *)((const char *)nlh + hdr),
			    nlh->nlmsg_len - hdr, &qkdkey_attrs, 1);
}
