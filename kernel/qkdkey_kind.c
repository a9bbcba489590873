// SPDX-License-Identifier: GPL-2.0
/*
 * Link kinds: the registry LINK_NEW looks kinds up in, and the
 * configuration mutex that serialises every link-management operation
 * (new, set, delete, kind unregister) the way RTNL does for netdevs. A
 * kind's module cannot unload under a running operation: its unregister
 * waits for the mutex, then deletes the kind's links.
 */
#include <linux/kmod.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>

#include "qkdkey_internal.h"

static DEFINE_MUTEX(qkd_cfg_mutex);
static LIST_HEAD(qkd_kinds);	/* under qkd_cfg_mutex */

void qkd_cfg_lock(void)
{
	mutex_lock(&qkd_cfg_mutex);
}
EXPORT_SYMBOL_GPL(qkd_cfg_lock);

void qkd_cfg_unlock(void)
{
	mutex_unlock(&qkd_cfg_mutex);
}
EXPORT_SYMBOL_GPL(qkd_cfg_unlock);

static struct qkd_link_kind *qkd_kind_find(const char *name)
{
	struct qkd_link_kind *kind;

	lockdep_assert_held(&qkd_cfg_mutex);
	list_for_each_entry(kind, &qkd_kinds, node)
		if (!strcmp(kind->name, name))
			return kind;
	return NULL;
}

/*
 * Takes the configuration mutex and finds kind @name, loading module
 * "qkd-kind-<name>" on first use. The mutex is held on return either way.
 */
const struct qkd_link_kind *qkd_cfg_lock_kind(const char *name)
{
	struct qkd_link_kind *kind;

	qkd_cfg_lock();
	kind = qkd_kind_find(name);
	if (!kind && qkd_name_valid(name, false)) {
		qkd_cfg_unlock();
		request_module("qkd-kind-%s", name);
		qkd_cfg_lock();
		kind = qkd_kind_find(name);
	}
	return kind;
}

int qkd_link_kind_register(struct qkd_link_kind *kind)
{
	int ret = 0;

	if (!kind->name || !kind->newlink || !kind->dellink)
		return -EINVAL;
	qkd_cfg_lock();
	if (qkd_kind_find(kind->name))
		ret = -EEXIST;
	else
		list_add_tail(&kind->node, &qkd_kinds);
	qkd_cfg_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(qkd_link_kind_register);

static struct qkd_link *qkd_first_link_of(const struct qkd_link_kind *kind)
{
	struct qkd_link *link;

	mutex_lock(&qkd_links_lock);
	list_for_each_entry(link, &qkd_links, node) {
		if (link->ops == kind) {
			kref_get(&link->ref);
			mutex_unlock(&qkd_links_lock);
			return link;
		}
	}
	mutex_unlock(&qkd_links_lock);
	return NULL;
}

void qkd_link_kind_unregister(struct qkd_link_kind *kind)
{
	struct qkd_link *link;

	qkd_cfg_lock();
	list_del(&kind->node);
	/* dellink unlists the link (a sim pair: both), so this ends. */
	while ((link = qkd_first_link_of(kind))) {
		kind->dellink(link);
		qkd_link_put(link);
	}
	qkd_cfg_unlock();
}
EXPORT_SYMBOL_GPL(qkd_link_kind_unregister);
