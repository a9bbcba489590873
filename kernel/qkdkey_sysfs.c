// SPDX-License-Identifier: GPL-2.0
/*
 * qkdkey sysfs: /sys/kernel/qkdkey/default_link and one directory of
 * counters and settings per link under /sys/kernel/qkdkey/links/.
 * Key bytes never appear here.
 *
 * The per-link kobject is a separate small object so that the link keeps
 * a single refcount (its kref): removing the kobject drains every running
 * show/store before qkd_sysfs_del_link() returns, and nothing here is
 * touched after that.
 */
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "qkdkey_internal.h"

struct qkd_link_kobj {
	struct kobject kobj;
	struct qkd_link *link;
};

static struct kobject *qkd_root_kobj;
static struct kobject *qkd_links_kobj;

static struct qkd_link *to_link(struct kobject *kobj)
{
	return container_of(kobj, struct qkd_link_kobj, kobj)->link;
}

static const char * const qkd_state_names[] = {
	[QKDKEY_LINK_DOWN] = "down",
	[QKDKEY_LINK_UP] = "up",
	[QKDKEY_LINK_ALARM] = "alarm",
	[QKDKEY_LINK_GONE] = "gone",
};

/* Reads one u64 field of the link under its lock. */
#define QKD_LINK_U64_ATTR(_name, _expr)					\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	struct qkd_link *link = to_link(kobj);				\
	u64 val;							\
									\
	spin_lock(&link->lock);						\
	val = (_expr);							\
	spin_unlock(&link->lock);					\
	return sysfs_emit(buf, "%llu\n", val);				\
}									\
static struct kobj_attribute qkd_attr_##_name = __ATTR_RO(_name)

QKD_LINK_U64_ATTR(id, link->id);
QKD_LINK_U64_ATTR(epoch, link->epoch);
QKD_LINK_U64_ATTR(qber, link->qber);
QKD_LINK_U64_ATTR(key_rate, link->key_rate);
QKD_LINK_U64_ATTR(pool_limit, link->pool_limit);
QKD_LINK_U64_ATTR(alarms, link->alarms);
QKD_LINK_U64_ATTR(tx_avail, link->stream[QKDKEY_DIR_TX].avail);
QKD_LINK_U64_ATTR(tx_delivered, link->stream[QKDKEY_DIR_TX].delivered);
QKD_LINK_U64_ATTR(tx_taken, link->stream[QKDKEY_DIR_TX].taken);
QKD_LINK_U64_ATTR(tx_expired, link->stream[QKDKEY_DIR_TX].expired);
QKD_LINK_U64_ATTR(rx_avail, link->stream[QKDKEY_DIR_RX].avail);
QKD_LINK_U64_ATTR(rx_delivered, link->stream[QKDKEY_DIR_RX].delivered);
QKD_LINK_U64_ATTR(rx_taken, link->stream[QKDKEY_DIR_RX].taken);
QKD_LINK_U64_ATTR(rx_expired, link->stream[QKDKEY_DIR_RX].expired);

static ssize_t kind_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", to_link(kobj)->kind);
}

static struct kobj_attribute qkd_attr_kind = __ATTR_RO(kind);

static ssize_t peer_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", to_link(kobj)->peer);
}

static struct kobj_attribute qkd_attr_peer = __ATTR_RO(peer);

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct qkd_link *link = to_link(kobj);
	enum qkdkey_link_state state;

	spin_lock(&link->lock);
	state = qkd_link_state_locked(link);
	spin_unlock(&link->lock);
	return sysfs_emit(buf, "%s\n", qkd_state_names[state]);
}

static ssize_t state_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t count)
{
	struct qkd_link *link = to_link(kobj);
	int ret;

	if (sysfs_streq(buf, "up"))
		ret = qkd_link_set_admin(link, true);
	else if (sysfs_streq(buf, "down"))
		ret = qkd_link_set_admin(link, false);
	else
		ret = -EINVAL;
	if (ret)
		return ret;
	qkd_nl_link_event(link, QKDKEY_CMD_LINK_CHANGE_NTF);
	return count;
}

static struct kobj_attribute qkd_attr_state = __ATTR_RW(state);

static ssize_t qber_threshold_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_link(kobj)->qber_threshold));
}

static ssize_t qber_threshold_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	u32 val;
	int ret;

	ret = kstrtou32(buf, 0, &val);
	if (ret)
		return ret;
	if (val > QKDKEY_QBER_PPM_MAX)
		return -ERANGE;
	qkd_link_set_threshold(to_link(kobj), val);
	qkd_nl_link_event(to_link(kobj), QKDKEY_CMD_LINK_CHANGE_NTF);
	return count;
}

static struct kobj_attribute qkd_attr_qber_threshold = __ATTR_RW(qber_threshold);

static struct attribute *qkd_link_attrs[] = {
	&qkd_attr_id.attr,
	&qkd_attr_kind.attr,
	&qkd_attr_peer.attr,
	&qkd_attr_state.attr,
	&qkd_attr_epoch.attr,
	&qkd_attr_qber.attr,
	&qkd_attr_qber_threshold.attr,
	&qkd_attr_key_rate.attr,
	&qkd_attr_pool_limit.attr,
	&qkd_attr_alarms.attr,
	&qkd_attr_tx_avail.attr,
	&qkd_attr_tx_delivered.attr,
	&qkd_attr_tx_taken.attr,
	&qkd_attr_tx_expired.attr,
	&qkd_attr_rx_avail.attr,
	&qkd_attr_rx_delivered.attr,
	&qkd_attr_rx_taken.attr,
	&qkd_attr_rx_expired.attr,
	NULL,
};
ATTRIBUTE_GROUPS(qkd_link);

static void qkd_link_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct qkd_link_kobj, kobj));
}

static const struct kobj_type qkd_link_ktype = {
	.release = qkd_link_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = qkd_link_groups,
};

int qkd_sysfs_add_link(struct qkd_link *link)
{
	struct qkd_link_kobj *lk;
	int ret;

	lk = kzalloc(sizeof(*lk), GFP_KERNEL);
	if (!lk)
		return -ENOMEM;
	lk->link = link;
	ret = kobject_init_and_add(&lk->kobj, &qkd_link_ktype, qkd_links_kobj,
				   "%s", link->name);
	if (ret) {
		kobject_put(&lk->kobj);
		return ret;
	}
	link->kobj = lk;
	return 0;
}

void qkd_sysfs_del_link(struct qkd_link *link)
{
	struct qkd_link_kobj *lk = link->kobj;

	link->kobj = NULL;
	kobject_del(&lk->kobj);
	kobject_put(&lk->kobj);
}

static ssize_t default_link_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	struct qkd_link *link = qkd_link_get_default();
	ssize_t ret;

	if (!link)
		return sysfs_emit(buf, "\n");
	ret = sysfs_emit(buf, "%s\n", link->name);
	qkd_link_put(link);
	return ret;
}

static ssize_t default_link_store(struct kobject *kobj,
				  struct kobj_attribute *attr,
				  const char *buf, size_t count)
{
	char name[QKDKEY_NAME_LEN + 1];
	int ret;

	/* Room for the longest name and a newline; longer never matches. */
	if (count >= sizeof(name))
		return -EINVAL;
	memcpy(name, buf, count);
	name[count] = '\0';
	ret = qkd_link_set_default(strim(name));
	return ret ? ret : count;
}

static struct kobj_attribute qkd_attr_default_link = __ATTR_RW(default_link);

static struct attribute *qkd_root_attrs[] = {
	&qkd_attr_default_link.attr,
	NULL,
};

static const struct attribute_group qkd_root_group = {
	.attrs = qkd_root_attrs,
};

int qkd_sysfs_init(void)
{
	int ret;

	qkd_root_kobj = kobject_create_and_add("qkdkey", kernel_kobj);
	if (!qkd_root_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(qkd_root_kobj, &qkd_root_group);
	if (ret)
		goto err_root;
	qkd_links_kobj = kobject_create_and_add("links", qkd_root_kobj);
	if (!qkd_links_kobj) {
		ret = -ENOMEM;
		goto err_root;
	}
	return 0;

err_root:
	kobject_put(qkd_root_kobj);
	return ret;
}

void qkd_sysfs_exit(void)
{
	kobject_put(qkd_links_kobj);
	kobject_put(qkd_root_kobj);
}
