/* SPDX-License-Identifier: GPL-2.0 */
/* qkd_sim internals shared by its main and netlink-kind files. */
#ifndef _QKD_SIM_H
#define _QKD_SIM_H

#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <crypto/chacha.h>

#include "qkdkey_card.h"

struct sim_settings {
	u32 rate;		/* secret-key bytes/s per direction; 0 pauses */
	u32 qber;		/* intrinsic QBER, ppm */
	u32 eve;		/* intercepted fraction, ppm */
};

/*
 * A simulated fibre: two links in this kernel (end[0] TX feeds end[1] RX
 * and back), or, seeded, one link whose peer lives in another kernel that
 * derives the same streams from the same seed.
 */
struct sim_pair {
	struct list_head node;		/* sim_pairs, under sim_lock */
	struct qkd_link *end[2];	/* end[1] is NULL when seeded */
	struct sim_settings set;	/* READ_ONCE/WRITE_ONCE */
	bool seeded;
	bool seed_is_a;			/* our name sorts before the peer's */
	u32 seed_key[CHACHA_KEY_SIZE / sizeof(u32)];
	struct mutex lock;		/* the fields below */
	u64 epoch;
	u64 next[2];			/* next offset of each generated stream */
	u64 credit;			/* unspent byte-nanoseconds of rate */
	ktime_t last;
	u8 *buf;
	struct delayed_work work;
};

struct sim_pair *sim_pair_create(const struct qkd_link_config *cfg,
				 const struct sim_settings *set, const u8 *seed,
				 struct netlink_ext_ack *extack);
void sim_pair_delete(struct sim_pair *pair);
void sim_defaults(struct sim_settings *set);

int sim_kind_register(void);
void sim_kind_unregister(void);
extern struct qkd_link_kind sim_kind;

#endif /* _QKD_SIM_H */
