// SPDX-License-Identifier: GPL-2.0
/*
 * qkd_sim: a simulated QKD card.
 *
 * A simulated link is a pair of links in this kernel joined the way two
 * QKD devices on one fibre are: whatever key one end's TX stream gets, the
 * other end's RX stream gets at the same epoch and offset. Key comes from
 * the kernel RNG at a configured secret-key rate, in ticks, and only while
 * the sending pool has room: a real device with a full key store stops
 * distilling too.
 *
 * The simulated QBER is the intrinsic value plus an optional intercept-
 * resend eavesdropper on a fraction f of pulses, which adds about f/4 (Eve
 * guesses the wrong basis half the time, and then Bob's result is wrong
 * half the time). It is reported every tick, so raising it above a link's
 * threshold puts both ends in ALARM.
 *
 * Seeded mode (insecure, for tests across two VMs): one link whose streams
 * are ChaCha20 keystreams of a shared seed, so that the link of the same
 * seed with swapped names in another kernel holds the same bytes.
 *
 * Pairs come from module parameters (pairs=N: sim<i>a/sim<i>b) and from
 * netlink LINK_NEW (qkd_sim_kind.c). Writing rate, qber or eve under
 * /sys/module/qkd_sim/parameters/ sets every pair.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "qkd_sim.h"

#define SIM_TICK_MS		10
#define SIM_CHUNK		4096
#define SIM_MAX_PAIRS		64
/* Caps one tick's output so a stalled tick cannot flood the pools. */
#define SIM_MAX_TICK_BYTES	(8U << 20)
/* The seeded keystream's 32-bit block counter covers this much per epoch. */
#define SIM_SEEDED_MAX_OFFSET	((u64)CHACHA_BLOCK_SIZE << 32)

static unsigned int pairs = 1;
module_param(pairs, uint, 0444);
MODULE_PARM_DESC(pairs, "Simulated link pairs to create at load (0-64, default 1)");

static unsigned int pool = 1U << 20;
module_param(pool, uint, 0444);
MODULE_PARM_DESC(pool, "Pool limit per stream of those pairs, bytes (default 1 MiB)");

static LIST_HEAD(sim_pairs);
static DEFINE_MUTEX(sim_lock);
static struct sim_settings sim_default = {
	.rate = 1U << 20,
	.qber = 20000,
};

void sim_defaults(struct sim_settings *set)
{
	set->rate = READ_ONCE(sim_default.rate);
	set->qber = READ_ONCE(sim_default.qber);
	set->eve = READ_ONCE(sim_default.eve);
}

/* A parameter write sets the default for new pairs and every pair now. */
static int sim_set_param(const char *val, const struct kernel_param *kp, u32 max)
{
	size_t field = (size_t)kp->arg;
	struct sim_pair *pair;
	u32 v;
	int ret;

	ret = kstrtou32(val, 0, &v);
	if (ret)
		return ret;
	if (v > max)
		return -ERANGE;
	mutex_lock(&sim_lock);
	WRITE_ONCE(*(u32 *)((u8 *)&sim_default + field), v);
	list_for_each_entry(pair, &sim_pairs, node)
		WRITE_ONCE(*(u32 *)((u8 *)&pair->set + field), v);
	mutex_unlock(&sim_lock);
	return 0;
}

static int sim_set_ppm(const char *val, const struct kernel_param *kp)
{
	return sim_set_param(val, kp, QKDKEY_QBER_PPM_MAX);
}

static int sim_set_rate(const char *val, const struct kernel_param *kp)
{
	return sim_set_param(val, kp, U32_MAX);
}

static int sim_get(char *buf, const struct kernel_param *kp)
{
	size_t field = (size_t)kp->arg;

	return sysfs_emit(buf, "%u\n", READ_ONCE(*(u32 *)((u8 *)&sim_default + field)));
}

static const struct kernel_param_ops sim_ppm_ops = {
	.set = sim_set_ppm,
	.get = sim_get,
};

static const struct kernel_param_ops sim_rate_ops = {
	.set = sim_set_rate,
	.get = sim_get,
};

module_param_cb(rate, &sim_rate_ops, (void *)offsetof(struct sim_settings, rate), 0644);
MODULE_PARM_DESC(rate, "Secret-key rate per direction, bytes/s; 0 pauses (default 1 MiB/s)");
module_param_cb(qber, &sim_ppm_ops, (void *)offsetof(struct sim_settings, qber), 0644);
MODULE_PARM_DESC(qber, "Intrinsic QBER in ppm (default 20000 = 2 %)");
module_param_cb(eve, &sim_ppm_ops, (void *)offsetof(struct sim_settings, eve), 0644);
MODULE_PARM_DESC(eve, "Fraction of pulses an eavesdropper intercepts, ppm (default 0)");

static u32 sim_qber(struct sim_pair *pair)
{
	u32 q = READ_ONCE(pair->set.qber) + READ_ONCE(pair->set.eve) / 4;

	return min_t(u32, q, QKDKEY_QBER_PPM_MAX);
}

/* Bytes [offset, offset + len) of seeded stream @stream; len % 64 == 0. */
static void sim_seeded_bytes(struct sim_pair *pair, u32 stream, u64 epoch,
			     u64 offset, u8 *buf, size_t len)
{
	u32 state[CHACHA_STATE_WORDS];
	u8 iv[CHACHA_IV_SIZE];
	size_t i;

	put_unaligned_le32(offset / CHACHA_BLOCK_SIZE, iv);
	put_unaligned_le64(epoch, iv + 4);
	put_unaligned_le32(stream, iv + 12);
	chacha_init_generic(state, pair->seed_key, iv);
	for (i = 0; i < len; i += CHACHA_BLOCK_SIZE)
		chacha20_block(state, buf + i);
	memzero_explicit(state, sizeof(state));
}

/* Sends up to @bytes of fresh key from end[i] to end[!i]. */
static void sim_generate(struct sim_pair *pair, int i, u64 bytes)
{
	struct qkd_link *tx = pair->end[i], *rx = pair->end[!i];
	size_t n = min_t(u64, bytes, qkd_link_tx_room(tx));
	size_t chunk;
	int ret;

	/* Rechecking the rate per chunk makes rate=0 a prompt pause. */
	while (n && READ_ONCE(pair->set.rate)) {
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

/*
 * Seeded: derive both streams of our one link. Stream 0 runs from the end
 * whose name sorts first to the other; next[0] is our TX, next[1] our RX.
 */
static void sim_generate_seeded(struct sim_pair *pair, u64 bytes)
{
	struct qkd_link *link = pair->end[0];
	u32 tx_stream = pair->seed_is_a ? 0 : 1;
	size_t n, chunk;
	int dir, ret;

	for (dir = QKDKEY_DIR_TX; dir <= QKDKEY_DIR_RX; dir++) {
		n = bytes;
		if (dir == QKDKEY_DIR_TX)
			n = min_t(u64, n, qkd_link_tx_room(link));
		n = round_down(n, CHACHA_BLOCK_SIZE);
		while (n && READ_ONCE(pair->set.rate) &&
		       pair->next[dir] + n <= SIM_SEEDED_MAX_OFFSET) {
			chunk = min_t(size_t, n, SIM_CHUNK);
			sim_seeded_bytes(pair, dir == QKDKEY_DIR_TX ? tx_stream : !tx_stream,
					 pair->epoch, pair->next[dir], pair->buf, chunk);
			ret = qkd_link_deliver(link, dir, pair->epoch, pair->next[dir],
					       pair->buf, chunk);
			memzero_explicit(pair->buf, chunk);
			if (ret)
				break;
			pair->next[dir] += chunk;
			n -= chunk;
		}
	}
}

static void sim_tick(struct work_struct *work)
{
	struct sim_pair *pair = container_of(to_delayed_work(work),
					     struct sim_pair, work);
	u32 r = READ_ONCE(pair->set.rate), q = sim_qber(pair);
	ktime_t now = ktime_get();
	u64 elapsed, bytes;

	/* Both ends see the same error rate, as both devices measure it. */
	qkd_link_report(pair->end[0], q, r);
	if (pair->end[1])
		qkd_link_report(pair->end[1], q, r);

	mutex_lock(&pair->lock);
	elapsed = min_t(u64, ktime_to_ns(ktime_sub(now, pair->last)), NSEC_PER_SEC);
	pair->last = now;
	pair->credit += (u64)r * elapsed;
	bytes = min_t(u64, pair->credit / NSEC_PER_SEC, SIM_MAX_TICK_BYTES);
	/* A full store discards what it could not take. */
	pair->credit %= NSEC_PER_SEC;
	if (bytes && pair->seeded) {
		sim_generate_seeded(pair, bytes);
	} else if (bytes) {
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
	if (pair->end[1])
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

static void sim_pair_free(struct sim_pair *pair)
{
	cancel_delayed_work_sync(&pair->work);
	if (pair->end[1])
		qkd_link_unregister(pair->end[1]);
	if (pair->end[0])
		qkd_link_unregister(pair->end[0]);
	kfree_sensitive(pair->buf);
	kfree_sensitive(pair);
}

void sim_pair_delete(struct sim_pair *pair)
{
	mutex_lock(&sim_lock);
	list_del(&pair->node);
	mutex_unlock(&sim_lock);
	sim_pair_free(pair);
}

static void sim_seed(struct sim_pair *pair, const char *name, const char *peer,
		     const u8 *seed)
{
	u8 block[CHACHA_BLOCK_SIZE];
	int i;

	for (i = 0; i < ARRAY_SIZE(pair->seed_key); i++)
		pair->seed_key[i] = get_unaligned_le32(seed + 4 * i);
	pair->seeded = true;
	pair->seed_is_a = strcmp(name, peer) < 0;
	/* Both kernels must agree on the epoch: derive it (stream 2). */
	sim_seeded_bytes(pair, 2, 0, 0, block, sizeof(block));
	pair->epoch = get_unaligned_le64(block) >> 1;
	memzero_explicit(block, sizeof(block));
}

/*
 * Creates a pair (cfg->name and cfg->peer) or, with @seed, one seeded
 * link. Returns the pair or an ERR_PTR; the message goes to @extack.
 */
struct sim_pair *sim_pair_create(const struct qkd_link_config *cfg,
				 const struct sim_settings *set, const u8 *seed,
				 struct netlink_ext_ack *extack)
{
	struct qkd_link_config c = *cfg;
	struct sim_pair *pair;
	int i, n = seed ? 1 : 2, ret;

	pair = kzalloc(sizeof(*pair), GFP_KERNEL);
	if (!pair)
		return ERR_PTR(-ENOMEM);
	mutex_init(&pair->lock);
	INIT_DELAYED_WORK(&pair->work, sim_tick);
	pair->set = *set;
	pair->buf = kmalloc(SIM_CHUNK, GFP_KERNEL);
	if (!pair->buf) {
		ret = -ENOMEM;
		goto err;
	}
	if (seed) {
		sim_seed(pair, cfg->name, cfg->peer, seed);
		pr_warn("link %s: seeded simulation: anyone with the seed has the key\n",
			cfg->name);
	} else {
		/* A random first epoch: offsets from before a reload never match. */
		pair->epoch = get_random_u64() >> 1;
	}
	c.kind = "sim";
	c.epoch = pair->epoch;
	c.ops = &sim_kind;
	c.priv = pair;
	for (i = 0; i < n; i++) {
		c.name = i ? cfg->peer : cfg->name;
		c.peer = i ? cfg->name : cfg->peer;
		pair->end[i] = qkd_link_register(&c);
		if (IS_ERR(pair->end[i])) {
			ret = PTR_ERR(pair->end[i]);
			pair->end[i] = NULL;
			if (ret == -EEXIST)
				NL_SET_ERR_MSG(extack, "a link of that name exists");
			goto err;
		}
	}
	pair->last = ktime_get();
	mutex_lock(&sim_lock);
	list_add_tail(&pair->node, &sim_pairs);
	mutex_unlock(&sim_lock);
	schedule_delayed_work(&pair->work, 0);
	return pair;

err:
	sim_pair_free(pair);
	return ERR_PTR(ret);
}

static int __init sim_init(void)
{
	char name[2][QKDKEY_NAME_LEN];
	struct qkd_link_config cfg = { .pool_limit = pool };
	struct sim_settings set;
	struct sim_pair *pair;
	unsigned int i;
	int ret;

	if (pairs > SIM_MAX_PAIRS) {
		pr_err("pairs=%u: at most %u\n", pairs, SIM_MAX_PAIRS);
		return -EINVAL;
	}
	ret = sim_kind_register();
	if (ret)
		return ret;
	sim_defaults(&set);
	/*
	 * Our links are visible to netlink as soon as they register: hold
	 * the configuration mutex so that no LINK_DEL or LINK_SET reaches a
	 * pair before it is complete and on sim_pairs.
	 */
	qkd_cfg_lock();
	for (i = 0; i < pairs; i++) {
		snprintf(name[0], sizeof(name[0]), "sim%ua", i);
		snprintf(name[1], sizeof(name[1]), "sim%ub", i);
		cfg.name = name[0];
		cfg.peer = name[1];
		pair = sim_pair_create(&cfg, &set, NULL, NULL);
		if (IS_ERR(pair)) {
			ret = PTR_ERR(pair);
			pr_err("cannot create pair %u: %d\n", i, ret);
			break;
		}
	}
	qkd_cfg_unlock();
	if (ret)
		sim_kind_unregister();
	return ret;
}

static void __exit sim_exit(void)
{
	/* Deletes every pair through sim_kind.dellink. */
	sim_kind_unregister();
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_DESCRIPTION("Simulated QKD card for qkdkey");
MODULE_AUTHOR("qkdkey developers");
MODULE_LICENSE("GPL");
MODULE_ALIAS("qkd-kind-sim");
