// SPDX-License-Identifier: GPL-2.0
/*
 * The "sim" link kind: LINK_NEW creates a simulated pair (or one seeded
 * link), LINK_SET changes its rate, QBER and eavesdropper at run time,
 * LINK_DEL removes the pair. The core has validated every attribute
 * against its policy before these run, under its configuration mutex.
 */
#include <linux/module.h>
#include <net/genetlink.h>

#include "qkd_sim.h"

/* Applies a validated LINK_SIM nest; returns the seed attribute, if any. */
static const struct nlattr *sim_parse(const struct nlattr *nest, struct sim_settings *set)
{
	const struct nlattr *a, *seed = NULL;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		switch (nla_type(a)) {
		case QKDKEY_SIM_A_RATE:
			set->rate = nla_get_u32(a);
			break;
		case QKDKEY_SIM_A_QBER:
			set->qber = nla_get_u32(a);
			break;
		case QKDKEY_SIM_A_EVE:
			set->eve = nla_get_u32(a);
			break;
		case QKDKEY_SIM_A_SEED:
			seed = a;
			break;
		}
	}
	return seed;
}

static int sim_newlink(const struct qkd_link_config *cfg, struct nlattr **tb,
		       struct netlink_ext_ack *extack)
{
	const struct nlattr *seed = NULL;
	struct sim_settings set;
	struct sim_pair *pair;

	if (tb[QKDKEY_A_LINK_EPOCH]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_EPOCH],
				    "sim links choose their own epoch");
		return -EINVAL;
	}
	if (!cfg->peer || !cfg->peer[0]) {
		NL_SET_ERR_MSG(extack, "sim links need LINK_PEER, the other end's name");
		NL_SET_ERR_ATTR_MISS(extack, NULL, QKDKEY_A_LINK_PEER);
		return -EINVAL;
	}
	if (!strcmp(cfg->peer, cfg->name)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_PEER],
				    "LINK_PEER must differ from LINK_NAME");
		return -EINVAL;
	}
	sim_defaults(&set);
	if (tb[QKDKEY_A_LINK_SIM])
		seed = sim_parse(tb[QKDKEY_A_LINK_SIM], &set);
	/* A seeded link's peer lives in another kernel. */
	if (!seed && qkd_link_name_taken(cfg->peer)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[QKDKEY_A_LINK_PEER], "a link of that name exists");
		return -EEXIST;
	}
	pair = sim_pair_create(cfg, &set, seed ? nla_data(seed) : NULL, extack);
	return PTR_ERR_OR_ZERO(pair);
}

static int sim_changelink(struct qkd_link *link, struct nlattr **tb,
			  struct netlink_ext_ack *extack)
{
	struct sim_pair *pair = qkd_link_priv(link);
	struct sim_settings set = {
		.rate = READ_ONCE(pair->set.rate),
		.qber = READ_ONCE(pair->set.qber),
		.eve = READ_ONCE(pair->set.eve),
	};

	if (!tb[QKDKEY_A_LINK_SIM])
		return 0;
	sim_parse(tb[QKDKEY_A_LINK_SIM], &set);
	WRITE_ONCE(pair->set.rate, set.rate);
	WRITE_ONCE(pair->set.qber, set.qber);
	WRITE_ONCE(pair->set.eve, set.eve);
	return 0;
}

static void sim_dellink(struct qkd_link *link)
{
	sim_pair_delete(qkd_link_priv(link));
}

static int sim_fill(struct qkd_link *link, struct sk_buff *skb)
{
	struct sim_pair *pair = qkd_link_priv(link);
	struct nlattr *nest = nla_nest_start(skb, QKDKEY_A_LINK_SIM);

	if (!nest ||
	    nla_put_u32(skb, QKDKEY_SIM_A_RATE, READ_ONCE(pair->set.rate)) ||
	    nla_put_u32(skb, QKDKEY_SIM_A_QBER, READ_ONCE(pair->set.qber)) ||
	    nla_put_u32(skb, QKDKEY_SIM_A_EVE, READ_ONCE(pair->set.eve)))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

struct qkd_link_kind sim_kind = {
	.name = "sim",
	.owner = THIS_MODULE,
	.newlink = sim_newlink,
	.changelink = sim_changelink,
	.dellink = sim_dellink,
	.fill = sim_fill,
	.set_attrs = BIT_ULL(QKDKEY_A_LINK_SIM),
};

int sim_kind_register(void)
{
	return qkd_link_kind_register(&sim_kind);
}

void sim_kind_unregister(void)
{
	qkd_link_kind_unregister(&sim_kind);
}
