// SPDX-License-Identifier: GPL-2.0
/*
 * qkd_sim: a simulated QKD card.
 *
 * Each simulated link is a pair of links in this kernel, sim<i>a and
 * sim<i>b, joined the way two QKD devices on one fibre are: whatever key
 * one end's TX stream gets, the other end's RX stream gets at the same
 * epoch and offset. Key comes from the kernel RNG at a configured
 * secret-key rate, in ticks, and only while the sending pool has room: a
 * real device with a full key store stops distilling too.
 *
 * The simulated QBER is the configured intrinsic value plus an optional
 * intercept-resend eavesdropper on a fraction f of pulses, which adds
 * about f/4 (Eve guesses the wrong basis half the time, and then Bob's
 * result is wrong half the time). It is reported every tick, so raising
 * it above the link's threshold puts both ends in ALARM.
 *
 * Links are created from module parameters for now; netlink LINK_NEW
 * will create them on demand.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "qkdkey_card.h"

#define SIM_TICK_MS		10
#define SIM_CHUNK		4096
#define SIM_MAX_PAIRS		64
/* Caps one tick's output so a stalled tick cannot flood the pools. */
#define SIM_MAX_TICK_BYTES	(8U << 20)

static unsigned int pairs = 1;
module_param(pairs, uint, 0444);
MODULE_PARM_DESC(pairs, "Simulated link pairs to create (0-64, default 1)");

static unsigned int pool = 1U << 20;
module_param(pool, uint, 0444);
MODULE_PARM_DESC(pool, "Pool limit per stream in bytes (default 1 MiB)");

static unsigned int rate = 1U << 20;
module_param(rate, uint, 0644);
MODULE_PARM_DESC(rate, "Secret-key rate per direction, bytes/s; 0 pauses (default 1 MiB/s)");

static int sim_set_ppm(const char *val, const struct kernel_param *kp)
{
	u32 v;
	int ret;

	ret = kstrtou32(val, 0, &v);
	if (ret)
		return ret;
	if (v > QKDKEY_QBER_PPM_MAX)
		return -ERANGE;
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops sim_ppm_ops = {
	.set = sim_set_ppm,
	.get = param_get_uint,
};

static unsigned int qber = 20000;
module_param_cb(qber, &sim_ppm_ops, &qber, 0644);
MODULE_PARM_DESC(qber, "Intrinsic QBER in ppm (default 20000 = 2 %)");

static unsigned int eve;
module_param_cb(eve, &sim_ppm_ops, &eve, 0644);
MODULE_PARM_DESC(eve, "Fraction of pulses an eavesdropper intercepts, ppm (default 0)");

struct sim_pair {
	struct list_head node;		/* sim_pairs, under sim_lock */
	struct qkd_link *end[2];	/* end[i] TX feeds end[!i] RX */
	struct mutex lock;		/* the fields below */
	u64 epoch;
	u64 next[2];			/* next offset of end[i]'s TX stream */
	u64 credit;			/* unspent byte-nanoseconds of rate */
	ktime_t last;
	u8 *buf;
	struct delayed_work work;
};

static LIST_HEAD(sim_pairs);
static DEFINE_MUTEX(sim_lock);

static u32 sim_qber(void)
{
	u32 q = READ_ONCE(qber) + READ_ONCE(eve) / 4;

	return min_t(u32, q, QKDKEY_QBER_PPM_MAX);
}

/* Sends up to @bytes of fresh key from end[i] to end[!i]. */
static void sim_generate(struct sim_pair *pair, int i, u64 bytes)
{
	struct qkd_link *tx = pair->end[i], *rx = pair->end[!i];
	size_t n = min_t(u64, bytes, qkd_link_tx_room(tx));
	size_t chunk;
	int ret;

	/* Rechecking the rate per chunk makes rate=0 a prompt pause. */
	while (n && READ_ONCE(rate)) {
		chunk = min_t(size_t, n, SIM_CHUNK);
		get_random_bytes(pair->buf, chunk);
		/* RX first: key the receiver cannot hold must not be sent. */
		ret = qkd_link_deliver(rx, QKDKEY_DIR_RX, pair->epoch,
				       pair->next[i], pair->buf, chunk);
		if (!ret) {
			ret = qkd_link_deliver(tx, QKDKEY_DIR_TX, pair->epoch,
					       pair->next[i], pair->buf, chunk);
			pair->next[i] += chunk;
		}
		memzero_explicit(pair->buf, chunk);
		if (ret)
			break;
		n -= chunk;
	}
}

static void sim_tick(struct work_struct *work)
{
	struct sim_pair *pair = container_of(to_delayed_work(work),
					     struct sim_pair, work);
	u32 r = READ_ONCE(rate), q = sim_qber();
	ktime_t now = ktime_get();
	u64 elapsed, bytes;

	/* Both ends see the same error rate, as both devices measure it. */
	qkd_link_report(pair->end[0], q, r);
	qkd_link_report(pair->end[1], q, r);

	mutex_lock(&pair->lock);
	elapsed = min_t(u64, ktime_to_ns(ktime_sub(now, pair->last)), NSEC_PER_SEC);
	pair->last = now;
	pair->credit += (u64)r * elapsed;
	bytes = min_t(u64, pair->credit / NSEC_PER_SEC, SIM_MAX_TICK_BYTES);
	/* A full store discards what it could not take. */
	pair->credit %= NSEC_PER_SEC;
	if (bytes) {
		sim_generate(pair, 0, bytes);
		sim_generate(pair, 1, bytes);
	}
	mutex_unlock(&pair->lock);

	schedule_delayed_work(&pair->work, msecs_to_jiffies(SIM_TICK_MS));
}

static void sim_rekey(struct sim_pair *pair)
{
	mutex_lock(&pair->lock);
	pair->epoch++;
	pair->next[0] = 0;
	pair->next[1] = 0;
	qkd_link_new_epoch(pair->end[0], pair->epoch);
	qkd_link_new_epoch(pair->end[1], pair->epoch);
	mutex_unlock(&pair->lock);
}

static int sim_set_rekey(const char *val, const struct kernel_param *kp)
{
	struct sim_pair *pair;
	bool doit;
	int ret;

	ret = kstrtobool(val, &doit);
	if (ret || !doit)
		return ret;
	mutex_lock(&sim_lock);
	list_for_each_entry(pair, &sim_pairs, node)
		sim_rekey(pair);
	mutex_unlock(&sim_lock);
	return 0;
}

static const struct kernel_param_ops sim_rekey_ops = {
	.set = sim_set_rekey,
};
module_param_cb(rekey, &sim_rekey_ops, NULL, 0200);
MODULE_PARM_DESC(rekey, "Write 1: every pair starts a new epoch (pooled key is wiped)");

static void sim_pair_destroy(struct sim_pair *pair)
{
	cancel_delayed_work_sync(&pair->work);
	if (pair->end[1])
		qkd_link_unregister(pair->end[1]);
	if (pair->end[0])
		qkd_link_unregister(pair->end[0]);
	kfree_sensitive(pair->buf);
	kfree(pair);
}

static int sim_pair_create(unsigned int index)
{
	char name[2][QKDKEY_NAME_LEN];
	struct qkd_link_config cfg = {
		.kind = "sim",
		.pool_limit = pool,
	};
	struct sim_pair *pair;
	int i, ret;

	pair = kzalloc(sizeof(*pair), GFP_KERNEL);
	if (!pair)
		return -ENOMEM;
	mutex_init(&pair->lock);
	INIT_DELAYED_WORK(&pair->work, sim_tick);
	pair->buf = kmalloc(SIM_CHUNK, GFP_KERNEL);
	if (!pair->buf) {
		ret = -ENOMEM;
		goto err;
	}
	/* A random first epoch: offsets from before a reload never match. */
	pair->epoch = get_random_u64() >> 1;
	cfg.epoch = pair->epoch;
	snprintf(name[0], sizeof(name[0]), "sim%ua", index);
	snprintf(name[1], sizeof(name[1]), "sim%ub", index);
	for (i = 0; i < 2; i++) {
		cfg.name = name[i];
		cfg.peer = name[!i];
		pair->end[i] = qkd_link_register(&cfg);
		if (IS_ERR(pair->end[i])) {
			ret = PTR_ERR(pair->end[i]);
			pair->end[i] = NULL;
			goto err;
		}
	}
	pair->last = ktime_get();
	mutex_lock(&sim_lock);
	list_add_tail(&pair->node, &sim_pairs);
	mutex_unlock(&sim_lock);
	schedule_delayed_work(&pair->work, 0);
	return 0;

err:
	pr_err("cannot create pair %u: %d\n", index, ret);
	sim_pair_destroy(pair);
	return ret;
}

static void sim_destroy_all(void)
{
	struct sim_pair *pair, *tmp;
	LIST_HEAD(dying);

	mutex_lock(&sim_lock);
	list_splice_init(&sim_pairs, &dying);
	mutex_unlock(&sim_lock);
	list_for_each_entry_safe(pair, tmp, &dying, node)
		sim_pair_destroy(pair);
}

static int __init sim_init(void)
{
	unsigned int i;
	int ret;

	if (pairs > SIM_MAX_PAIRS) {
		pr_err("pairs=%u: at most %u\n", pairs, SIM_MAX_PAIRS);
		return -EINVAL;
	}
	for (i = 0; i < pairs; i++) {
		ret = sim_pair_create(i);
		if (ret) {
			sim_destroy_all();
			return ret;
		}
	}
	return 0;
}

static void __exit sim_exit(void)
{
	sim_destroy_all();
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_DESCRIPTION("Simulated QKD card for qkdkey");
MODULE_AUTHOR("qkdkey developers");
MODULE_LICENSE("GPL");
