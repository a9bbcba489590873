// SPDX-License-Identifier: GPL-2.0
/*
 * The "qkdkey" generic netlink family: link status for everyone, link
 * management and key push for CAP_NET_ADMIN, and the "monitor" group.
 * Documentation/netlink/specs/qkdkey.yaml is the contract; the policies
 * below follow it attribute by attribute, one policy per operation so that
 * strict validation rejects attributes an operation does not take.
 *
 * Key bytes never leave the kernel here: replies and notifications carry
 * status only, and KEY_PUSH data is wiped from the request once stored.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <net/genetlink.h>

#include "qkdkey_internal.h"

/* 6.1's nla_policy points to mutable ranges; nothing writes them. */
static struct netlink_range_validation qkd_ppm_range = {
	.max = QKDKEY_QBER_PPM_MAX,
};

static struct netlink_range_validation qkd_pool_range = {
	.min = QKD_POOL_MIN,
	.max = QKD_POOL_MAX,
};

static struct netlink_range_validation qkd_key_data_range = {
	.min = 1,
	.max = QKD_PUSH_MAX,
};

#define QKD_NAME_POLICY { .type = NLA_NUL_STRING, .len = QKDKEY_NAME_LEN - 1 }

static const struct nla_policy qkd_sim_new_policy[QKDKEY_SIM_A_MAX + 1] = {
	[QKDKEY_SIM_A_RATE] = { .type = NLA_U32 },
	[QKDKEY_SIM_A_QBER] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_ppm_range),
	[QKDKEY_SIM_A_EVE] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_ppm_range),
	[QKDKEY_SIM_A_SEED] = NLA_POLICY_EXACT_LEN(QKD_SIM_SEED_LEN),
};

/* The seed is fixed at creation: LINK_SET does not take it. */
static const struct nla_policy qkd_sim_set_policy[QKDKEY_SIM_A_MAX + 1] = {
	[QKDKEY_SIM_A_RATE] = { .type = NLA_U32 },
	[QKDKEY_SIM_A_QBER] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_ppm_range),
	[QKDKEY_SIM_A_EVE] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_ppm_range),
};

static const struct nla_policy qkd_select_policy[QKDKEY_A_MAX + 1] = {
	[QKDKEY_A_LINK_ID] = { .type = NLA_U32 },
	[QKDKEY_A_LINK_NAME] = QKD_NAME_POLICY,
};

static const struct nla_policy qkd_new_policy[QKDKEY_A_MAX + 1] = {
	[QKDKEY_A_LINK_NAME] = QKD_NAME_POLICY,
	[QKDKEY_A_LINK_KIND] = QKD_NAME_POLICY,
	[QKDKEY_A_LINK_PEER] = QKD_NAME_POLICY,
	[QKDKEY_A_LINK_EPOCH] = { .type = NLA_U64 },
	[QKDKEY_A_LINK_QBER_THRESHOLD] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_ppm_range),
	[QKDKEY_A_LINK_POOL_LIMIT] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_pool_range),
	[QKDKEY_A_LINK_LOW_WATERMARK] = { .type = NLA_U32 },
	[QKDKEY_A_LINK_SIM] = NLA_POLICY_NESTED(qkd_sim_new_policy),
};

static const struct nla_policy qkd_set_policy[QKDKEY_A_MAX + 1] = {
	[QKDKEY_A_LINK_ID] = { .type = NLA_U32 },
	[QKDKEY_A_LINK_NAME] = QKD_NAME_POLICY,
	[QKDKEY_A_LINK_ADMIN_UP] = NLA_POLICY_MAX(NLA_U8, 1),
	[QKDKEY_A_LINK_DEFAULT] = { .type = NLA_FLAG },
	[QKDKEY_A_LINK_EPOCH] = { .type = NLA_U64 },
	[QKDKEY_A_LINK_QBER] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_ppm_range),
	[QKDKEY_A_LINK_QBER_THRESHOLD] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_ppm_range),
	[QKDKEY_A_LINK_KEY_RATE] = { .type = NLA_U32 },
	[QKDKEY_A_LINK_POOL_LIMIT] = NLA_POLICY_FULL_RANGE(NLA_U32, &qkd_pool_range),
	[QKDKEY_A_LINK_LOW_WATERMARK] = { .type = NLA_U32 },
	[QKDKEY_A_LINK_SIM] = NLA_POLICY_NESTED(qkd_sim_set_policy),
};

static const struct nla_policy qkd_push_policy[QKDKEY_A_MAX + 1] = {
	[QKDKEY_A_LINK_ID] = { .type = NLA_U32 },
	[QKDKEY_A_LINK_NAME] = QKD_NAME_POLICY,
	[QKDKEY_A_KEY_DIR] = NLA_POLICY_MAX(NLA_U32, QKDKEY_DIR_RX),
	[QKDKEY_A_KEY_EPOCH] = { .type = NLA_U64 },
	[QKDKEY_A_KEY_OFFSET] = { .type = NLA_U64 },
	[QKDKEY_A_KEY_DATA] = NLA_POLICY_FULL_RANGE(NLA_BINARY, &qkd_key_data_range),
};

/* LINK_SET attributes that belong to a kind, not to the core. */
static const int qkd_kind_set_attrs[] = {
	QKDKEY_A_LINK_SIM, QKDKEY_A_LINK_QBER, QKDKEY_A_LINK_KEY_RATE,
	QKDKEY_A_LINK_EPOCH,
};

static struct genl_family qkd_nl_family;

enum { QKD_NL_MCGRP_MONITOR };

static int qkd_nl_put_counters(struct sk_buff *skb, const struct qkd_link_status *st)
{
	struct nlattr *nest = nla_nest_start(skb, QKDKEY_A_LINK_COUNTERS);

	if (!nest ||
	    nla_put_u64_64bit(skb, QKDKEY_COUNTER_A_TX_DELIVERED, st->tx.delivered,
			      QKDKEY_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, QKDKEY_COUNTER_A_TX_TAKEN, st->tx.taken,
			      QKDKEY_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, QKDKEY_COUNTER_A_TX_EXPIRED, st->tx.expired,
			      QKDKEY_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, QKDKEY_COUNTER_A_RX_DELIVERED, st->rx.delivered,
			      QKDKEY_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, QKDKEY_COUNTER_A_RX_TAKEN, st->rx.taken,
			      QKDKEY_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, QKDKEY_COUNTER_A_RX_EXPIRED, st->rx.expired,
			      QKDKEY_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, QKDKEY_COUNTER_A_ALARMS, st->alarms,
			      QKDKEY_COUNTER_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* The full status of a link. Caller holds qkd_links_lock. */
static int qkd_nl_fill_link(struct sk_buff *skb, struct qkd_link *link, u8 cmd,
			    u32 portid, u32 seq, int flags)
{
	struct qkd_link_status st;
	void *hdr;

	lockdep_assert_held(&qkd_links_lock);
	hdr = genlmsg_put(skb, portid, seq, &qkd_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	qkd_link_get_status(link, &st);
	if (nla_put_u32(skb, QKDKEY_A_LINK_ID, link->id) ||
	    nla_put_string(skb, QKDKEY_A_LINK_NAME, link->name) ||
	    nla_put_string(skb, QKDKEY_A_LINK_KIND, link->kind) ||
	    nla_put_string(skb, QKDKEY_A_LINK_PEER, link->peer) ||
	    nla_put_u32(skb, QKDKEY_A_LINK_STATE, st.state) ||
	    (qkd_link_is_default(link) && nla_put_flag(skb, QKDKEY_A_LINK_DEFAULT)) ||
	    nla_put_u64_64bit(skb, QKDKEY_A_LINK_EPOCH, st.epoch, QKDKEY_A_PAD) ||
	    nla_put_u64_64bit(skb, QKDKEY_A_LINK_TX_AVAIL, st.tx.avail, QKDKEY_A_PAD) ||
	    nla_put_u64_64bit(skb, QKDKEY_A_LINK_RX_AVAIL, st.rx.avail, QKDKEY_A_PAD) ||
	    nla_put_u32(skb, QKDKEY_A_LINK_QBER, st.qber) ||
	    nla_put_u32(skb, QKDKEY_A_LINK_QBER_THRESHOLD, st.qber_threshold) ||
	    nla_put_u32(skb, QKDKEY_A_LINK_KEY_RATE, st.key_rate) ||
	    nla_put_u32(skb, QKDKEY_A_LINK_POOL_LIMIT, st.pool_limit) ||
	    nla_put_u32(skb, QKDKEY_A_LINK_LOW_WATERMARK, st.low_watermark) ||
	    qkd_nl_put_counters(skb, &st) ||
	    (link->ops && link->ops->fill && link->ops->fill(link, skb)))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static void qkd_nl_multicast(struct sk_buff *skb)
{
	genlmsg_multicast(&qkd_nl_family, skb, 0, QKD_NL_MCGRP_MONITOR, GFP_KERNEL);
}

static bool qkd_nl_listened(void)
{
	return genl_has_listeners(&qkd_nl_family, &init_net, QKD_NL_MCGRP_MONITOR);
}

/* LINK_ADD_NTF and LINK_CHANGE_NTF: the full status, if still listed. */
void qkd_nl_link_event(struct qkd_link *link, u8 cmd)
{
	struct sk_buff *skb;
	int ret = -ENODEV;

	if (!qkd_nl_listened())
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	mutex_lock(&qkd_links_lock);
	if (link->listed)
		ret = qkd_nl_fill_link(skb, link, cmd, 0, 0, 0);
	mutex_unlock(&qkd_links_lock);
	if (ret) {
		nlmsg_free(skb);
		return;
	}
	qkd_nl_multicast(skb);
}

/* Notifications that carry the link's id and name plus a few values. */
static struct sk_buff *qkd_nl_ntf_start(struct qkd_link *link, u8 cmd, void **hdr)
{
	struct sk_buff *skb;

	if (!qkd_nl_listened())
		return NULL;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &qkd_nl_family, 0, cmd);
	if (!*hdr ||
	    nla_put_u32(skb, QKDKEY_A_LINK_ID, link->id) ||
	    nla_put_string(skb, QKDKEY_A_LINK_NAME, link->name)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

static void qkd_nl_ntf_send(struct sk_buff *skb, void *hdr, bool failed)
{
	if (failed) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	qkd_nl_multicast(skb);
}

void qkd_nl_link_del(struct qkd_link *link)
{
	struct sk_buff *skb;
	void *hdr;

	skb = qkd_nl_ntf_start(link, QKDKEY_CMD_LINK_DEL_NTF, &hdr);
	if (skb)
		qkd_nl_ntf_send(skb, hdr, false);
}

void qkd_nl_alarm(struct qkd_link *link, u32 qber, u32 threshold)
{
	struct sk_buff *skb;
	void *hdr;

	skb = qkd_nl_ntf_start(link, QKDKEY_CMD_ALARM_NTF, &hdr);
	if (skb)
		qkd_nl_ntf_send(skb, hdr,
				nla_put_u32(skb, QKDKEY_A_LINK_STATE, QKDKEY_LINK_ALARM) ||
				nla_put_u32(skb, QKDKEY_A_LINK_QBER, qber) ||
				nla_put_u32(skb, QKDKEY_A_LINK_QBER_THRESHOLD, threshold));
}

void qkd_nl_low_watermark(struct qkd_link *link, u64 tx_avail, u32 watermark)
{
	struct sk_buff *skb;
	void *hdr;

	skb = qkd_nl_ntf_start(link, QKDKEY_CMD_LOW_WATERMARK_NTF, &hdr);
	if (skb)
		qkd_nl_ntf_send(skb, hdr,
				nla_put_u64_64bit(skb, QKDKEY_A_LINK_TX_AVAIL, tx_avail,
						  QKDKEY_A_PAD) ||
				nla_put_u32(skb, QKDKEY_A_LINK_LOW_WATERMARK, watermark));
}

void qkd_nl_key_want(struct qkd_link *link, enum qkdkey_dir dir, u64 epoch,
		     u64 offset, u32 len)
{
	struct sk_buff *skb;
	void *hdr;

	skb = qkd_nl_ntf_start(link, QKDKEY_CMD_KEY_WANT_NTF, &hdr);
	if (skb)
		qkd_nl_ntf_send(skb, hdr,
				nla_put_u32(skb, QKDKEY_A_KEY_DIR, dir) ||
				nla_put_u64_64bit(skb, QKDKEY_A_KEY_EPOCH, epoch, QKDKEY_A_PAD) ||
				nla_put_u64_64bit(skb, QKDKEY_A_KEY_OFFSET, offset, QKDKEY_A_PAD) ||
				nla_put_u32(skb, QKDKEY_A_KEY_LEN, len));
}

/* A required attribute: 6.1's GENL_REQ_ATTR_CHECK sets no message. */
#define qkd_nl_missing(info, attr, msg) ({				\
	struct genl_info *__qkd_info = (info);				\
	bool __missing = GENL_REQ_ATTR_CHECK(__qkd_info, attr);		\
									\
	if (__missing)							\
		NL_SET_ERR_MSG(__qkd_info->extack, msg);			\
	__missing;							\
})

/* The link a request names by LINK_ID and/or LINK_NAME, referenced. */
static struct qkd_link *qkd_nl_get_link(struct genl_info *info)
{
	struct nlattr *id_attr = info->attrs[QKDKEY_A_LINK_ID];
	struct nlattr *name_attr = info->attrs[QKDKEY_A_LINK_NAME];
	struct netlink_ext_ack *extack = info->extack;
	struct qkd_link *link;

	if (!id_attr && !name_attr) {
		NL_SET_ERR_MSG(extack, "LINK_ID or LINK_NAME is required");
		NL_SET_ERR_ATTR_MISS(extack, NULL, QKDKEY_A_LINK_NAME);
		return ERR_PTR(-EINVAL);
	}
	if (id_attr)
		link = qkd_link_get_by_id(nla_get_u32(id_attr));
	else
		link = qkd_link_get_by_name(nla_data(name_attr));
	if (!link) {
		NL_SET_ERR_MSG_ATTR(extack, id_attr ? id_attr : name_attr, "no such link");
		return ERR_PTR(-ENODEV);
	}
	if (id_attr && name_attr && strcmp(link->name, nla_data(name_attr))) {
		NL_SET_ERR_MSG_ATTR(extack, name_attr,
				    "LINK_ID and LINK_NAME name different links");
		qkd_link_put(link);
		return ERR_PTR(-EINVAL);
	}
	return link;
}

static int qkd_nl_link_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct qkd_link *link = qkd_nl_get_link(info);
	struct sk_buff *msg;
	int ret = -ENODEV;

	if (IS_ERR(link))
		return PTR_ERR(link);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		qkd_link_put(link);
		return -ENOMEM;
	}
	mutex_lock(&qkd_links_lock);
	if (link->listed)
		ret = qkd_nl_fill_link(msg, link, QKDKEY_CMD_LINK_GET, info->snd_portid,
				       info->snd_seq, 0);
	mutex_unlock(&qkd_links_lock);
	qkd_link_put(link);
	if (ret) {
		nlmsg_free(msg);
		NL_SET_ERR_MSG(info->extack, "link removed while being read");
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/*
 * 6.1 validates a dump against the do policy, so refuse what it let
 * through here: its .start callback has no extack, the dump callback
 * does (the error and message come back in NLMSG_DONE).
 */
static int qkd_nl_dump_check(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	int a;

	for (a = 1; a <= QKDKEY_A_MAX; a++) {
		if (info->attrs && info->attrs[a]) {
			NL_SET_ERR_MSG_ATTR(cb->extack, info->attrs[a],
					    "a LINK_GET dump takes no attributes");
			return -EINVAL;
		}
	}
	return 0;
}

/* The dump cursor in cb->ctx: the last link id sent. Ids only grow. */
static int qkd_nl_link_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	u32 *last_id = (u32 *)cb->ctx;
	struct qkd_link *link;
	int ret = qkd_nl_dump_check(cb);

	if (ret)
		return ret;
	mutex_lock(&qkd_links_lock);
	list_for_each_entry(link, &qkd_links, node) {
		if (link->id <= *last_id)
			continue;
		if (qkd_nl_fill_link(skb, link, QKDKEY_CMD_LINK_GET,
				     NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				     NLM_F_MULTI))
			break;
		*last_id = link->id;
	}
	mutex_unlock(&qkd_links_lock);
	return skb->len;
}

static int qkd_nl_link_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct qkd_link_config cfg = {};
	struct nlattr **tb = info->attrs;
	const struct qkd_link_kind *kind;
	int ret;

	if (qkd_nl_missing(info, QKDKEY_A_LINK_NAME, "LINK_NAME is required") ||
	    qkd_nl_missing(info, QKDKEY_A_LINK_KIND, "LINK_KIND is required"))
		return -EINVAL;
	cfg.name = nla_data(tb[QKDKEY_A_LINK_NAME]);
	cfg.kind = nla_data(tb[QKDKEY_A_LINK_KIND]);
	if (tb[QKDKEY_A_LINK_PEER])
		cfg.peer = nla_data(tb[QKDKEY_A_LINK_PEER]);
	if (!qkd_name_valid(cfg.name, false)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_NAME],
				    "name must be 1-15 characters of [A-Za-z0-9_.-]");
		return -EINVAL;
	}
	if (cfg.peer && !qkd_name_valid(cfg.peer, true)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_PEER],
				    "peer must be up to 15 characters of [A-Za-z0-9_.-]");
		return -EINVAL;
	}
	if (tb[QKDKEY_A_LINK_POOL_LIMIT])
		cfg.pool_limit = nla_get_u32(tb[QKDKEY_A_LINK_POOL_LIMIT]);
	if (tb[QKDKEY_A_LINK_QBER_THRESHOLD])
		cfg.qber_threshold = nla_get_u32(tb[QKDKEY_A_LINK_QBER_THRESHOLD]);
	if (tb[QKDKEY_A_LINK_LOW_WATERMARK])
		cfg.low_watermark = nla_get_u32(tb[QKDKEY_A_LINK_LOW_WATERMARK]);

	kind = qkd_cfg_lock_kind(cfg.kind);
	if (!kind) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_KIND], "unknown link kind");
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (qkd_link_name_taken(cfg.name)) {
		NL_SET_ERR_MSG(extack, "a link of that name exists");
		ret = -EEXIST;
		goto out;
	}
	cfg.ops = kind;
	ret = kind->newlink(&cfg, tb, extack);
	if (ret && !extack->_msg)
		NL_SET_ERR_MSG(extack, "the link kind could not create the link");
out:
	qkd_cfg_unlock();
	return ret;
}

static int qkd_nl_link_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct qkd_link *link;
	int ret = 0;

	qkd_cfg_lock();
	link = qkd_nl_get_link(info);
	if (IS_ERR(link)) {
		qkd_cfg_unlock();
		return PTR_ERR(link);
	}
	if (!link->ops) {
		NL_SET_ERR_MSG(info->extack, "this link is managed by its driver");
		ret = -EOPNOTSUPP;
	} else if (link->listed) {
		link->ops->dellink(link);
	}
	qkd_cfg_unlock();
	qkd_link_put(link);
	return ret;
}

/* Rejects, before anything changes, a LINK_SET that cannot fully apply. */
static int qkd_nl_link_set_check(struct qkd_link *link, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **tb = info->attrs;
	bool any = false;
	int i, a;

	for (a = QKDKEY_A_LINK_ADMIN_UP; a <= QKDKEY_A_MAX; a++)
		any |= !!tb[a];
	if (!any) {
		NL_SET_ERR_MSG(extack, "nothing to change");
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(qkd_kind_set_attrs); i++) {
		a = qkd_kind_set_attrs[i];
		if (tb[a] && !(link->ops && (link->ops->set_attrs & BIT_ULL(a)))) {
			NL_SET_ERR_MSG_ATTR(extack, tb[a], "not supported by this link kind");
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static int qkd_nl_link_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **tb = info->attrs;
	struct qkd_link *link;
	int ret;

	qkd_cfg_lock();
	link = qkd_nl_get_link(info);
	if (IS_ERR(link)) {
		qkd_cfg_unlock();
		return PTR_ERR(link);
	}
	ret = qkd_nl_link_set_check(link, info);
	if (!ret && tb[QKDKEY_A_LINK_ADMIN_UP] && nla_get_u8(tb[QKDKEY_A_LINK_ADMIN_UP]) &&
	    !qkd_link_may_clear(link, tb[QKDKEY_A_LINK_QBER_THRESHOLD] ?
				nla_get_u32(tb[QKDKEY_A_LINK_QBER_THRESHOLD]) : U32_MAX)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_ADMIN_UP],
				    "QBER still above threshold: alarm cannot be cleared");
		ret = -EBUSY;
	}
	/* changelink checks before it changes; after it only -ENOMEM fails. */
	if (!ret && link->ops && link->ops->changelink)
		ret = link->ops->changelink(link, tb, extack);
	if (!ret && tb[QKDKEY_A_LINK_POOL_LIMIT])
		ret = qkd_link_set_pool(link, nla_get_u32(tb[QKDKEY_A_LINK_POOL_LIMIT]));
	if (!ret && tb[QKDKEY_A_LINK_QBER_THRESHOLD])
		qkd_link_set_threshold(link, nla_get_u32(tb[QKDKEY_A_LINK_QBER_THRESHOLD]));
	if (!ret && tb[QKDKEY_A_LINK_LOW_WATERMARK])
		qkd_link_set_low_watermark(link, nla_get_u32(tb[QKDKEY_A_LINK_LOW_WATERMARK]));
	if (!ret && tb[QKDKEY_A_LINK_ADMIN_UP]) {
		ret = qkd_link_set_admin(link, nla_get_u8(tb[QKDKEY_A_LINK_ADMIN_UP]));
		if (ret)
			NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_ADMIN_UP],
					    "QBER still above threshold: alarm cannot be cleared");
	}
	if (!ret && tb[QKDKEY_A_LINK_DEFAULT])
		ret = qkd_link_set_default(link->name);
	qkd_cfg_unlock();
	if (!ret)
		qkd_nl_link_event(link, QKDKEY_CMD_LINK_CHANGE_NTF);
	else if (!extack->_msg)
		NL_SET_ERR_MSG(extack, "link settings could not be changed");
	qkd_link_put(link);
	return ret;
}

static int qkd_nl_key_push_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct nlattr *data = tb[QKDKEY_A_KEY_DATA];
	struct qkd_link *link;
	int ret;

	if (qkd_nl_missing(info, QKDKEY_A_KEY_DIR, "KEY_DIR is required") ||
	    qkd_nl_missing(info, QKDKEY_A_KEY_EPOCH, "KEY_EPOCH is required") ||
	    qkd_nl_missing(info, QKDKEY_A_KEY_OFFSET, "KEY_OFFSET is required") ||
	    qkd_nl_missing(info, QKDKEY_A_KEY_DATA, "KEY_DATA is required")) {
		ret = -EINVAL;
		goto wipe;
	}
	link = qkd_nl_get_link(info);
	if (IS_ERR(link)) {
		ret = PTR_ERR(link);
		goto wipe;
	}
	ret = qkd_user_push(link, nla_get_u32(tb[QKDKEY_A_KEY_DIR]),
			    nla_get_u64(tb[QKDKEY_A_KEY_EPOCH]),
			    nla_get_u64(tb[QKDKEY_A_KEY_OFFSET]),
			    nla_data(data), nla_len(data), info);
	qkd_link_put(link);
wipe:
	if (data)
		memzero_explicit(nla_data(data), nla_len(data));
	return ret;
}

static const struct genl_ops qkd_nl_ops[] = {
	{
		.cmd = QKDKEY_CMD_LINK_GET,
		.doit = qkd_nl_link_get_doit,
		.dumpit = qkd_nl_link_get_dumpit,
		.policy = qkd_select_policy,
		.maxattr = QKDKEY_A_MAX,
	},
	{
		.cmd = QKDKEY_CMD_LINK_NEW,
		.doit = qkd_nl_link_new_doit,
		.policy = qkd_new_policy,
		.maxattr = QKDKEY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QKDKEY_CMD_LINK_DEL,
		.doit = qkd_nl_link_del_doit,
		.policy = qkd_select_policy,
		.maxattr = QKDKEY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QKDKEY_CMD_LINK_SET,
		.doit = qkd_nl_link_set_doit,
		.policy = qkd_set_policy,
		.maxattr = QKDKEY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QKDKEY_CMD_KEY_PUSH,
		.doit = qkd_nl_key_push_doit,
		.policy = qkd_push_policy,
		.maxattr = QKDKEY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group qkd_nl_mcgrps[] = {
	[QKD_NL_MCGRP_MONITOR] = {
		.name = QKDKEY_MCGRP_MONITOR,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family qkd_nl_family __ro_after_init = {
	.name = QKDKEY_GENL_NAME,
	.version = QKDKEY_GENL_VERSION,
	.maxattr = QKDKEY_A_MAX,
	.module = THIS_MODULE,
	.ops = qkd_nl_ops,
	.n_ops = ARRAY_SIZE(qkd_nl_ops),
	.mcgrps = qkd_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(qkd_nl_mcgrps),
	/* Handlers lock what they touch: qkd_cfg_lock, qkd_links_lock. */
	.parallel_ops = true,
};

int qkd_nl_init(void)
{
	return genl_register_family(&qkd_nl_family);
}

void qkd_nl_exit(void)
{
	genl_unregister_family(&qkd_nl_family);
}

MODULE_ALIAS_GENL_FAMILY(QKDKEY_GENL_NAME);
