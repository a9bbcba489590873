// SPDX-License-Identifier: GPL-2.0
/*
 * qkdkey core: the registry of links, their lifetime and state, and the
 * card driver API.
 *
 * Lifetime: a link is refcounted. The card driver holds one reference from
 * register to unregister; every open file bound to the link holds one.
 * Unregister marks the link gone, wipes its pools and wakes everyone, so a
 * card module can unload while files stay open; the link memory goes with
 * the last reference.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "qkdkey_internal.h"

/* Guards the link list, the default link and link ids. */
DEFINE_MUTEX(qkd_links_lock);
LIST_HEAD(qkd_links);
static struct qkd_link *qkd_default_link;	/* under qkd_links_lock */
static u32 qkd_next_id = 1;			/* ids are never reused */

static void qkd_link_release(struct kref *ref)
{
	struct qkd_link *link = container_of(ref, struct qkd_link, ref);

	qkd_stream_free(&link->stream[QKDKEY_DIR_TX]);
	qkd_stream_free(&link->stream[QKDKEY_DIR_RX]);
	WARN_ON_ONCE(!list_empty(&link->waiters));
	kfree(link);
}

void qkd_link_put(struct qkd_link *link)
{
	kref_put(&link->ref, qkd_link_release);
}

static struct qkd_link *qkd_link_find_locked(const char *name)
{
	struct qkd_link *link;

	list_for_each_entry(link, &qkd_links, node)
		if (!strcmp(link->name, name))
			return link;
	return NULL;
}

bool qkd_link_name_taken(const char *name)
{
	bool taken;

	mutex_lock(&qkd_links_lock);
	taken = qkd_link_find_locked(name);
	mutex_unlock(&qkd_links_lock);
	return taken;
}
EXPORT_SYMBOL_GPL(qkd_link_name_taken);

struct qkd_link *qkd_link_get_by_name(const char *name)
{
	struct qkd_link *link;

	mutex_lock(&qkd_links_lock);
	link = qkd_link_find_locked(name);
	if (link)
		kref_get(&link->ref);
	mutex_unlock(&qkd_links_lock);
	return link;
}

struct qkd_link *qkd_link_get_by_id(u32 id)
{
	struct qkd_link *link, *found = NULL;

	mutex_lock(&qkd_links_lock);
	list_for_each_entry(link, &qkd_links, node) {
		if (link->id == id) {
			found = link;
			kref_get(&found->ref);
			break;
		}
	}
	mutex_unlock(&qkd_links_lock);
	return found;
}

struct qkd_link *qkd_link_get_default(void)
{
	struct qkd_link *link;

	mutex_lock(&qkd_links_lock);
	link = qkd_default_link;
	if (link)
		kref_get(&link->ref);
	mutex_unlock(&qkd_links_lock);
	return link;
}

bool qkd_link_is_default(struct qkd_link *link)
{
	return READ_ONCE(qkd_default_link) == link;
}

int qkd_link_set_default(const char *name)
{
	struct qkd_link *link;

	mutex_lock(&qkd_links_lock);
	link = qkd_link_find_locked(name);
	if (link)
		WRITE_ONCE(qkd_default_link, link);
	mutex_unlock(&qkd_links_lock);
	return link ? 0 : -ENODEV;
}

bool qkd_name_valid(const char *name, bool may_be_empty)
{
	size_t len = name ? strnlen(name, QKDKEY_NAME_LEN) : 0;
	size_t i;

	if (len >= QKDKEY_NAME_LEN || (!len && !may_be_empty))
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

enum qkdkey_link_state qkd_link_state_locked(struct qkd_link *link)
{
	if (link->gone)
		return QKDKEY_LINK_GONE;
	if (link->alarm)
		return QKDKEY_LINK_ALARM;
	if (link->admin_down)
		return QKDKEY_LINK_DOWN;
	return QKDKEY_LINK_UP;
}

bool qkd_link_is_up(struct qkd_link *link)
{
	bool up;

	spin_lock(&link->lock);
	up = qkd_link_state_locked(link) == QKDKEY_LINK_UP;
	spin_unlock(&link->lock);
	return up;
}
EXPORT_SYMBOL_GPL(qkd_link_is_up);

/*
 * Blocked readers recheck on every change; pollers are woken only when
 * their read would now end (see qkd_file_poll_ready()), or with @mask for
 * a terminal event.
 */
static void qkd_link_wake_mask(struct qkd_link *link, __poll_t mask)
{
	struct qkd_waiter *w;

	spin_lock(&link->lock);
	list_for_each_entry(w, &link->waiters, node) {
		wake_up_interruptible_all(&w->wait);
		if (mask)
			wake_up_interruptible_poll(&w->poll, mask);
		else if (w->poll_ready(w, link))
			wake_up_interruptible_poll(&w->poll, EPOLLIN | EPOLLRDNORM);
	}
	spin_unlock(&link->lock);
}

void qkd_link_wake(struct qkd_link *link)
{
	qkd_link_wake_mask(link, 0);
}

void qkd_link_attach(struct qkd_link *link, struct qkd_waiter *w)
{
	spin_lock(&link->lock);
	list_add_tail(&w->node, &link->waiters);
	spin_unlock(&link->lock);
}

void qkd_link_detach(struct qkd_link *link, struct qkd_waiter *w)
{
	spin_lock(&link->lock);
	list_del_init(&w->node);
	spin_unlock(&link->lock);
}

struct qkd_link *qkd_link_register(const struct qkd_link_config *cfg)
{
	u32 pool = cfg->pool_limit ? cfg->pool_limit : QKD_POOL_DEFAULT;
	u32 threshold = cfg->qber_threshold ? cfg->qber_threshold :
			QKDKEY_QBER_THRESHOLD_DEFAULT;
	struct qkd_link *link;
	int ret;

	if (!qkd_name_valid(cfg->name, false) ||
	    !qkd_name_valid(cfg->peer, true) ||
	    !qkd_name_valid(cfg->kind, false) ||
	    pool < QKD_POOL_MIN || pool > QKD_POOL_MAX ||
	    threshold > QKDKEY_QBER_PPM_MAX)
		return ERR_PTR(-EINVAL);

	link = kzalloc(sizeof(*link), GFP_KERNEL);
	if (!link)
		return ERR_PTR(-ENOMEM);
	kref_init(&link->ref);
	mutex_init(&link->deliver_lock);
	spin_lock_init(&link->lock);
	INIT_LIST_HEAD(&link->waiters);
	strscpy(link->name, cfg->name, sizeof(link->name));
	if (cfg->peer)
		strscpy(link->peer, cfg->peer, sizeof(link->peer));
	strscpy(link->kind, cfg->kind, sizeof(link->kind));
	link->epoch = cfg->epoch;
	link->pool_limit = pool;
	link->qber_threshold = threshold;
	link->low_watermark = cfg->low_watermark;
	link->ops = cfg->ops;
	link->priv = cfg->priv;

	/*
	 * RX holds twice the pool: key the peer already took but whose
	 * frames are still in flight, plus what the peer may take next.
	 */
	ret = qkd_stream_alloc(&link->stream[QKDKEY_DIR_TX],
			       qkd_pool_blocks_for(pool));
	if (!ret)
		ret = qkd_stream_alloc(&link->stream[QKDKEY_DIR_RX],
				       2 * qkd_pool_blocks_for(pool));
	if (ret)
		goto err_free;
	link->stream[QKDKEY_DIR_TX].limit_bytes = pool;

	mutex_lock(&qkd_links_lock);
	if (qkd_link_find_locked(link->name)) {
		ret = -EEXIST;
		goto err_unlock;
	}
	link->id = qkd_next_id++;
	ret = qkd_sysfs_add_link(link);
	if (ret)
		goto err_unlock;
	list_add_tail(&link->node, &qkd_links);
	link->listed = true;
	if (!qkd_default_link)
		WRITE_ONCE(qkd_default_link, link);
	mutex_unlock(&qkd_links_lock);
	qkd_nl_link_event(link, QKDKEY_CMD_LINK_ADD_NTF);
	return link;

err_unlock:
	mutex_unlock(&qkd_links_lock);
err_free:
	qkd_link_put(link);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(qkd_link_register);

void qkd_link_unregister(struct qkd_link *link)
{
	struct qkd_block *tx, *rx;

	mutex_lock(&qkd_links_lock);
	list_del(&link->node);
	link->listed = false;
	if (qkd_default_link == link)
		WRITE_ONCE(qkd_default_link,
			   list_first_entry_or_null(&qkd_links, struct qkd_link, node));
	mutex_unlock(&qkd_links_lock);

	/* After this no sysfs handler runs on the link. */
	qkd_sysfs_del_link(link);

	mutex_lock(&link->deliver_lock);
	spin_lock(&link->lock);
	link->gone = true;
	tx = qkd_stream_detach_all(&link->stream[QKDKEY_DIR_TX]);
	rx = qkd_stream_detach_all(&link->stream[QKDKEY_DIR_RX]);
	spin_unlock(&link->lock);
	mutex_unlock(&link->deliver_lock);
	qkd_blocks_expire(tx);
	qkd_blocks_expire(rx);

	qkd_link_wake_mask(link, EPOLLIN | EPOLLERR | EPOLLHUP);
	qkd_nl_link_del(link);
	qkd_link_put(link);
}
EXPORT_SYMBOL_GPL(qkd_link_unregister);

/* The part of [offset, offset + len) that spans at most @max blocks. */
static u32 qkd_fill_step(u64 offset, size_t len, u32 max_blocks)
{
	u64 span = (u64)max_blocks * QKD_BLOCK_BYTES - offset % QKD_BLOCK_BYTES;

	return min_t(u64, len, span);
}

int qkd_link_deliver(struct qkd_link *link, enum qkdkey_dir dir, u64 epoch,
		     u64 offset, const void *buf, size_t len)
{
	struct qkd_prealloc pre = { .nr = 0 };
	struct qkd_stream *s;
	const u8 *p = buf;
	bool delivered = false;
	u32 step, max_blocks;
	int need, ret = 0;

	if (dir != QKDKEY_DIR_TX && dir != QKDKEY_DIR_RX)
		return -EINVAL;
	if (offset + len < offset)
		return -EINVAL;
	s = &link->stream[dir];
	max_blocks = min_t(u32, QKD_FILL_BLOCKS, s->max_blocks);

	mutex_lock(&link->deliver_lock);
	/* TX is all or nothing: a partial push would strand its peer's copy. */
	if (dir == QKDKEY_DIR_TX) {
		spin_lock(&link->lock);
		if (len > qkd_stream_room(s))
			ret = -ENOSPC;
		spin_unlock(&link->lock);
		if (ret)
			len = 0;
	}
	while (len) {
		step = qkd_fill_step(offset, len, max_blocks);
		spin_lock(&link->lock);
		need = qkd_stream_fill_need(s, offset, step);
		spin_unlock(&link->lock);
		ret = qkd_prealloc_get(&pre, need);
		if (ret)
			break;
		spin_lock(&link->lock);
		if (link->gone)
			ret = -ENODEV;
		else if (link->alarm)
			ret = -EKEYREJECTED;
		else if (epoch != link->epoch)
			ret = -ESTALE;
		else
			ret = qkd_stream_fill(s, dir == QKDKEY_DIR_RX, offset, p,
					      step, &pre);
		spin_unlock(&link->lock);
		/* A reader emptied the tail block meanwhile: allocate again. */
		if (ret == -EAGAIN)
			continue;
		if (ret)
			break;
		delivered = true;
		offset += step;
		p += step;
		len -= step;
	}
	mutex_unlock(&link->deliver_lock);
	qkd_prealloc_put(&pre);
	if (delivered) {
		spin_lock(&link->lock);
		if (link->tx_low && link->stream[QKDKEY_DIR_TX].avail >= link->low_watermark)
			link->tx_low = false;
		spin_unlock(&link->lock);
		qkd_link_wake(link);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(qkd_link_deliver);

/* False in ALARM or gone: deliveries would be rejected. */
bool qkd_link_accepts_key(struct qkd_link *link)
{
	bool ok;

	spin_lock(&link->lock);
	ok = !link->gone && !link->alarm;
	spin_unlock(&link->lock);
	return ok;
}

size_t qkd_link_tx_room(struct qkd_link *link)
{
	size_t room = 0;

	spin_lock(&link->lock);
	if (qkd_link_state_locked(link) == QKDKEY_LINK_UP ||
	    qkd_link_state_locked(link) == QKDKEY_LINK_DOWN)
		room = qkd_stream_room(&link->stream[QKDKEY_DIR_TX]);
	spin_unlock(&link->lock);
	return room;
}
EXPORT_SYMBOL_GPL(qkd_link_tx_room);

int __qkd_link_new_epoch(struct qkd_link *link, u64 epoch, bool notify)
{
	struct qkd_block *tx = NULL, *rx = NULL;
	int ret = 0;

	mutex_lock(&link->deliver_lock);
	spin_lock(&link->lock);
	if (link->gone) {
		ret = -ENODEV;
	} else {
		tx = qkd_stream_detach_all(&link->stream[QKDKEY_DIR_TX]);
		rx = qkd_stream_detach_all(&link->stream[QKDKEY_DIR_RX]);
		link->epoch = epoch;
	}
	spin_unlock(&link->lock);
	mutex_unlock(&link->deliver_lock);
	qkd_blocks_expire(tx);
	qkd_blocks_expire(rx);
	/* RX readers waiting on the old epoch must see ESTALE now. */
	qkd_link_wake(link);
	if (!ret && notify)
		qkd_nl_link_event(link, QKDKEY_CMD_LINK_CHANGE_NTF);
	return ret;
}

int qkd_link_new_epoch(struct qkd_link *link, u64 epoch)
{
	return __qkd_link_new_epoch(link, epoch, true);
}
EXPORT_SYMBOL_GPL(qkd_link_new_epoch);

/* Returns true if this call raised the alarm. Caller holds link->lock. */
static bool qkd_link_check_alarm_locked(struct qkd_link *link)
{
	if (link->alarm || link->qber <= link->qber_threshold)
		return false;
	link->alarm = true;
	link->alarms++;
	return true;
}

static void qkd_link_alarm_raised(struct qkd_link *link, u32 qber, u32 threshold)
{
	pr_warn("link %s: QBER %u ppm above threshold %u ppm, key delivery stopped\n",
		link->name, qber, threshold);
	qkd_nl_alarm(link, qber, threshold);
}

void qkd_link_report(struct qkd_link *link, u32 qber, u32 key_rate)
{
	u32 threshold;
	bool raised;

	spin_lock(&link->lock);
	link->qber = min_t(u32, qber, QKDKEY_QBER_PPM_MAX);
	link->key_rate = key_rate;
	raised = qkd_link_check_alarm_locked(link);
	threshold = link->qber_threshold;
	spin_unlock(&link->lock);
	if (raised)
		qkd_link_alarm_raised(link, min_t(u32, qber, QKDKEY_QBER_PPM_MAX),
				      threshold);
}
EXPORT_SYMBOL_GPL(qkd_link_report);

void qkd_link_set_threshold(struct qkd_link *link, u32 qber_threshold)
{
	u32 qber;
	bool raised;

	spin_lock(&link->lock);
	link->qber_threshold = qber_threshold;
	raised = qkd_link_check_alarm_locked(link);
	qber = link->qber;
	spin_unlock(&link->lock);
	if (raised)
		qkd_link_alarm_raised(link, qber, qber_threshold);
}

int qkd_link_clear_alarm(struct qkd_link *link)
{
	int ret = 0;

	spin_lock(&link->lock);
	if (link->gone)
		ret = -ENODEV;
	else if (link->qber > link->qber_threshold)
		ret = -EBUSY;
	else
		link->alarm = false;
	spin_unlock(&link->lock);
	if (!ret)
		qkd_link_wake(link);
	return ret;
}
EXPORT_SYMBOL_GPL(qkd_link_clear_alarm);

bool qkd_link_may_clear(struct qkd_link *link, u32 new_threshold)
{
	bool ok;

	spin_lock(&link->lock);
	ok = link->qber <= (new_threshold == U32_MAX ? link->qber_threshold :
			    new_threshold);
	spin_unlock(&link->lock);
	return ok;
}

void qkd_link_set_low_watermark(struct qkd_link *link, u32 bytes)
{
	spin_lock(&link->lock);
	link->low_watermark = bytes;
	link->tx_low = false;
	spin_unlock(&link->lock);
}

/*
 * Resizes both pools. Shrinking expires the oldest key that no longer
 * fits; the rings are allocated before and freed after the lock.
 */
int qkd_link_set_pool(struct qkd_link *link, u32 bytes)
{
	u32 tx_blocks = qkd_pool_blocks_for(bytes);
	struct qkd_block **tx, **rx;

	if (bytes < QKD_POOL_MIN || bytes > QKD_POOL_MAX)
		return -EINVAL;
	tx = qkd_ring_alloc(tx_blocks);
	rx = qkd_ring_alloc(2 * tx_blocks);
	if (!tx || !rx) {
		kvfree(tx);
		kvfree(rx);
		return -ENOMEM;
	}
	mutex_lock(&link->deliver_lock);
	spin_lock(&link->lock);
	tx = qkd_stream_resize(&link->stream[QKDKEY_DIR_TX], tx, tx_blocks);
	rx = qkd_stream_resize(&link->stream[QKDKEY_DIR_RX], rx, 2 * tx_blocks);
	link->stream[QKDKEY_DIR_TX].limit_bytes = bytes;
	link->pool_limit = bytes;
	spin_unlock(&link->lock);
	mutex_unlock(&link->deliver_lock);
	kvfree(tx);
	kvfree(rx);
	return 0;
}

static void qkd_stream_status(struct qkd_stream *s, struct qkd_link_status *st,
			      enum qkdkey_dir dir)
{
	typeof(st->tx) *out = dir == QKDKEY_DIR_TX ? &st->tx : &st->rx;

	out->avail = s->avail;
	out->delivered = s->delivered;
	out->taken = s->taken;
	out->expired = s->expired;
}

void qkd_link_get_status(struct qkd_link *link, struct qkd_link_status *st)
{
	spin_lock(&link->lock);
	st->state = qkd_link_state_locked(link);
	st->epoch = link->epoch;
	st->qber = link->qber;
	st->qber_threshold = link->qber_threshold;
	st->key_rate = link->key_rate;
	st->pool_limit = link->pool_limit;
	st->low_watermark = link->low_watermark;
	st->alarms = link->alarms;
	st->tx_next = link->stream[QKDKEY_DIR_TX].head;
	st->rx_end = link->stream[QKDKEY_DIR_RX].end;
	qkd_stream_status(&link->stream[QKDKEY_DIR_TX], st, QKDKEY_DIR_TX);
	qkd_stream_status(&link->stream[QKDKEY_DIR_RX], st, QKDKEY_DIR_RX);
	spin_unlock(&link->lock);
}

u64 qkd_link_epoch(struct qkd_link *link)
{
	u64 epoch;

	spin_lock(&link->lock);
	epoch = link->epoch;
	spin_unlock(&link->lock);
	return epoch;
}
EXPORT_SYMBOL_GPL(qkd_link_epoch);

void *qkd_link_priv(struct qkd_link *link)
{
	return link->priv;
}
EXPORT_SYMBOL_GPL(qkd_link_priv);

const char *qkd_link_name(struct qkd_link *link)
{
	return link->name;
}
EXPORT_SYMBOL_GPL(qkd_link_name);

int qkd_link_set_admin(struct qkd_link *link, bool up)
{
	int ret = 0;

	if (up)
		ret = qkd_link_clear_alarm(link);
	if (ret)
		return ret;
	spin_lock(&link->lock);
	link->admin_down = !up;
	spin_unlock(&link->lock);
	qkd_link_wake(link);
	return 0;
}

static int __init qkd_init(void)
{
	int ret;

	ret = qkd_pool_init();
	if (ret)
		return ret;
	ret = qkd_sysfs_init();
	if (ret)
		goto err_pool;
	ret = qkd_chr_init();
	if (ret)
		goto err_sysfs;
	ret = qkd_user_init();
	if (ret)
		goto err_chr;
	ret = qkd_nl_init();
	if (ret)
		goto err_user;
	return 0;

err_user:
	qkd_user_exit();
err_chr:
	qkd_chr_exit();
err_sysfs:
	qkd_sysfs_exit();
err_pool:
	qkd_pool_exit();
	return ret;
}

static void __exit qkd_exit(void)
{
	/* No request runs after this; then the core's own links go. */
	qkd_nl_exit();
	qkd_user_exit();
	/* Card modules depend on us, so every link is gone by now. */
	WARN_ON(!list_empty(&qkd_links));
	qkd_chr_exit();
	qkd_sysfs_exit();
	qkd_pool_exit();
}

module_init(qkd_init);
module_exit(qkd_exit);

MODULE_DESCRIPTION("Quantum key distribution key streams: /dev/qkdkey");
MODULE_AUTHOR("qkdkey developers");
MODULE_LICENSE("GPL");
