// SPDX-License-Identifier: GPL-2.0
/*
 * The "user" link kind: a link fed from userspace with KEY_PUSH. This is
 * how a bridge to a real key-management entity (ETSI GS QKD 014 REST API)
 * or to a vendor SDK brings its key into the kernel; the bridge also
 * reports QBER and key rate with LINK_SET, and moves to a new epoch with
 * LINK_SET or by pushing key of a newer epoch.
 */
#include <linux/module.h>
#include <net/genetlink.h>

#include "qkdkey_internal.h"

static struct qkd_link_kind qkd_user_kind;

static int qkd_user_newlink(const struct qkd_link_config *cfg, struct nlattr **tb,
			    struct netlink_ext_ack *extack)
{
	struct qkd_link_config c = *cfg;
	struct qkd_link *link;

	if (tb[QKDKEY_A_LINK_SIM]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_SIM], "LINK_SIM is for sim links");
		return -EINVAL;
	}
	if (tb[QKDKEY_A_LINK_EPOCH])
		c.epoch = nla_get_u64(tb[QKDKEY_A_LINK_EPOCH]);
	link = qkd_link_register(&c);
	if (IS_ERR(link)) {
		if (PTR_ERR(link) == -EEXIST)
			NL_SET_ERR_MSG(extack, "a link of that name exists");
		else
			NL_SET_ERR_MSG(extack, "cannot register the link");
		return PTR_ERR(link);
	}
	/* The registration reference is dropped by qkd_link_unregister(). */
	return 0;
}

static int qkd_user_changelink(struct qkd_link *link, struct nlattr **tb,
			       struct netlink_ext_ack *extack)
{
	struct nlattr *epoch = tb[QKDKEY_A_LINK_EPOCH];
	struct qkd_link_status st;
	int ret;

	if (epoch) {
		if (nla_get_u64(epoch) <= qkd_link_epoch(link)) {
			NL_SET_ERR_MSG_ATTR(extack, epoch,
					    "LINK_EPOCH must be greater than the current epoch");
			return -EINVAL;
		}
		ret = __qkd_link_new_epoch(link, nla_get_u64(epoch), false);
		if (ret)
			return ret;
	}
	if (tb[QKDKEY_A_LINK_QBER] || tb[QKDKEY_A_LINK_KEY_RATE]) {
		qkd_link_get_status(link, &st);
		qkd_link_report(link,
				tb[QKDKEY_A_LINK_QBER] ?
				nla_get_u32(tb[QKDKEY_A_LINK_QBER]) : st.qber,
				tb[QKDKEY_A_LINK_KEY_RATE] ?
				nla_get_u32(tb[QKDKEY_A_LINK_KEY_RATE]) : st.key_rate);
	}
	return 0;
}

static void qkd_user_dellink(struct qkd_link *link)
{
	qkd_link_unregister(link);
}

static struct qkd_link_kind qkd_user_kind = {
	.name = "user",
	.owner = THIS_MODULE,
	.newlink = qkd_user_newlink,
	.changelink = qkd_user_changelink,
	.dellink = qkd_user_dellink,
	.set_attrs = BIT_ULL(QKDKEY_A_LINK_EPOCH) | BIT_ULL(QKDKEY_A_LINK_QBER) |
		     BIT_ULL(QKDKEY_A_LINK_KEY_RATE),
};

int qkd_user_push(struct qkd_link *link, u32 dir, u64 epoch, u64 offset,
		  const void *data, u32 len, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **tb = info->attrs;
	u64 current_epoch;
	int ret;

	if (link->ops != &qkd_user_kind) {
		NL_SET_ERR_MSG(extack, "KEY_PUSH feeds user links only");
		return -EOPNOTSUPP;
	}
	/* Rejected pushes change nothing, not even the epoch. */
	if (!qkd_link_accepts_key(link)) {
		NL_SET_ERR_MSG(extack, "link is in ALARM: key rejected");
		return -EKEYREJECTED;
	}
	current_epoch = qkd_link_epoch(link);
	if (epoch < current_epoch) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_KEY_EPOCH],
				    "KEY_EPOCH is older than the link's epoch");
		return -ESTALE;
	}
	if (epoch > current_epoch) {
		ret = qkd_link_new_epoch(link, epoch);
		if (ret) {
			NL_SET_ERR_MSG(extack, "link removed");
			return ret;
		}
	}
	ret = qkd_link_deliver(link, dir, epoch, offset, data, len);
	switch (ret) {
	case 0:
		break;
	case -EEXIST:
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_KEY_OFFSET],
				    "KEY_OFFSET overlaps key already pushed (streams are append-only)");
		break;
	case -ENOSPC:
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_KEY_DATA],
				    "no room for KEY_DATA in the pool");
		break;
	case -EKEYREJECTED:
		NL_SET_ERR_MSG(extack, "link is in ALARM: key rejected");
		break;
	case -ESTALE:
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_KEY_EPOCH],
				    "the link moved to another epoch meanwhile");
		break;
	default:
		NL_SET_ERR_MSG(extack, "key could not be stored");
		break;
	}
	return ret;
}

int qkd_user_init(void)
{
	return qkd_link_kind_register(&qkd_user_kind);
}

void qkd_user_exit(void)
{
	qkd_link_kind_unregister(&qkd_user_kind);
}
