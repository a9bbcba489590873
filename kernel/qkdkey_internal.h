/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qkdkey core internals, shared by the core, pool, sysfs and char device
 * files of qkdkey.ko. Card drivers use qkdkey_card.h only.
 */
#ifndef _QKDKEY_INTERNAL_H
#define _QKDKEY_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include "qkdkey_card.h"

/*
 * Key bytes live in blocks that cover aligned offset ranges
 * [index * QKD_BLOCK_BYTES, (index + 1) * QKD_BLOCK_BYTES) of one stream,
 * sized so a whole block, bitmap included, fits one 4 KiB slab object.
 */
#define QKD_BLOCK_BYTES		3584

#define QKD_POOL_DEFAULT	SZ_1M
#define QKD_POOL_MIN		QKDKEY_POOL_MIN
#define QKD_POOL_MAX		QKDKEY_POOL_MAX
/* The most key one KEY_PUSH carries: well inside a 64 KiB attribute. */
#define QKD_PUSH_MAX		QKDKEY_PUSH_MAX
#define QKD_SIM_SEED_LEN	QKDKEY_SIM_SEED_LEN

struct qkd_block {
	refcount_t ref;		/* the stream's slot, plus readers copying out */
	u32 live;		/* bits set in present[] */
	u64 index;
	struct qkd_block *next;	/* on a flush list, off the ring */
	/* a set bit: byte delivered and neither handed out nor expired */
	unsigned long present[BITS_TO_LONGS(QKD_BLOCK_BYTES)];
	u8 data[QKD_BLOCK_BYTES];
};

/*
 * One direction of a link. The blocks of the current epoch sit in a ring
 * indexed by block index, so lookups are O(1) and nothing is allocated
 * under the link lock. Everything here is protected by qkd_link.lock.
 */
struct qkd_stream {
	struct qkd_block **ring;
	u32 ring_mask;
	u32 max_blocks;		/* pool limit, in blocks */
	u64 limit_bytes;	/* TX: the pool limit to the byte; 0: blocks only */
	u32 nblocks;		/* blocks in the ring */
	u64 head;		/* no byte below this offset is present */
	u64 end;		/* one past the highest delivered offset */
	u64 avail;		/* present bytes */
	u64 delivered;
	u64 taken;
	u64 expired;
};

/* The most blocks one delivery step may need (see qkd_stream_fill()). */
#define QKD_FILL_BLOCKS		16

/* Blocks allocated before taking the link lock, for one delivery step. */
struct qkd_prealloc {
	u32 nr;
	struct qkd_block *block[QKD_FILL_BLOCKS];
};

/* The largest number of blocks one read can touch. */
#define QKD_TAKE_MAX_EXTENTS	(QKDKEY_READ_MAX / QKD_BLOCK_BYTES + 2)

/*
 * Key bytes reserved by one reader under the link lock and copied out
 * after it is dropped: each extent pins its block with a reference.
 */
struct qkd_take {
	u64 epoch;
	u64 offset;
	u32 len;
	u32 nr;
	bool low;		/* TX fell below the low watermark */
	struct {
		struct qkd_block *block;
		u16 lo, hi;
	} ext[QKD_TAKE_MAX_EXTENTS];
};

struct genl_info;
struct qkd_link_kobj;

/*
 * An open file's wait queue. Files bound to a link are on its waiter list
 * and are woken on every change; because the queue belongs to the file,
 * pollers never sit on a wait queue that a re-bind could free.
 */
struct qkd_waiter {
	struct list_head node;		/* on qkd_link.waiters */
	wait_queue_head_t wait;		/* blocked readers: every change */
	wait_queue_head_t poll;		/* pollers: only when poll_ready */
	/* Called under the link lock: would the file's read now end? */
	bool (*poll_ready)(struct qkd_waiter *w, struct qkd_link *link);
};

struct qkd_link {
	struct kref ref;
	struct list_head node;		/* qkd_links, under qkd_links_lock */
	u32 id;
	char name[QKDKEY_NAME_LEN];
	char peer[QKDKEY_NAME_LEN];
	char kind[QKDKEY_NAME_LEN];

	struct mutex deliver_lock;	/* serialises deliveries and epochs */
	spinlock_t lock;		/* everything below */
	struct list_head waiters;	/* struct qkd_waiter */
	u64 epoch;
	bool gone;
	bool admin_down;
	bool alarm;
	u32 qber;
	u32 qber_threshold;
	u32 key_rate;
	u32 pool_limit;
	u32 low_watermark;
	bool tx_low;			/* below the watermark, event sent */
	u64 alarms;
	struct qkd_stream stream[2];	/* indexed by enum qkdkey_dir */

	bool listed;			/* on qkd_links, under qkd_links_lock */
	const struct qkd_link_kind *ops;
	void *priv;
	struct qkd_link_kobj *kobj;
};

/* A consistent snapshot of a link's numbers, for netlink. */
struct qkd_link_status {
	enum qkdkey_link_state state;
	u64 epoch;
	u32 qber;
	u32 qber_threshold;
	u32 key_rate;
	u32 pool_limit;
	u32 low_watermark;
	u64 alarms;
	u64 tx_next;		/* TX head: where the next read starts */
	u64 rx_end;		/* one past the highest RX offset received */
	struct {
		u64 avail, delivered, taken, expired;
	} tx, rx;
};

extern struct mutex qkd_links_lock;
extern struct list_head qkd_links;

/* qkdkey_core.c */
bool qkd_name_valid(const char *name, bool may_be_empty);
struct qkd_link *qkd_link_get_by_id(u32 id);
struct qkd_link *qkd_link_get_by_name(const char *name);
struct qkd_link *qkd_link_get_default(void);
bool qkd_link_is_default(struct qkd_link *link);
int qkd_link_set_default(const char *name);
void qkd_link_put(struct qkd_link *link);
enum qkdkey_link_state qkd_link_state_locked(struct qkd_link *link);
int qkd_link_set_admin(struct qkd_link *link, bool up);
void qkd_link_set_threshold(struct qkd_link *link, u32 qber_threshold);
void qkd_link_set_low_watermark(struct qkd_link *link, u32 bytes);
int qkd_link_set_pool(struct qkd_link *link, u32 bytes);
bool qkd_link_may_clear(struct qkd_link *link, u32 new_threshold);
bool qkd_link_accepts_key(struct qkd_link *link);
/* For LINK_SET, which sends one change notification for everything. */
int __qkd_link_new_epoch(struct qkd_link *link, u64 epoch, bool notify);
void qkd_link_get_status(struct qkd_link *link, struct qkd_link_status *st);
void qkd_link_wake(struct qkd_link *link);
void qkd_link_attach(struct qkd_link *link, struct qkd_waiter *w);
void qkd_link_detach(struct qkd_link *link, struct qkd_waiter *w);

/* qkdkey_pool.c */
int qkd_pool_init(void);
void qkd_pool_exit(void);
int qkd_stream_alloc(struct qkd_stream *s, u32 max_blocks);
void qkd_stream_free(struct qkd_stream *s);
struct qkd_block *qkd_stream_detach_all(struct qkd_stream *s);
void qkd_blocks_expire(struct qkd_block *list);
int qkd_stream_fill_need(struct qkd_stream *s, u64 offset, u32 len);
u32 qkd_pool_blocks_for(u32 bytes);
size_t qkd_stream_room(struct qkd_stream *s);
int qkd_prealloc_get(struct qkd_prealloc *p, u32 nr);
void qkd_prealloc_put(struct qkd_prealloc *p);
int qkd_stream_fill(struct qkd_stream *s, bool expire_oldest, u64 offset,
		    const u8 *buf, u32 len, struct qkd_prealloc *p);
int qkd_stream_take_front(struct qkd_stream *s, u32 len, struct qkd_take *t);
int qkd_stream_take_at(struct qkd_stream *s, u64 offset, u32 len,
		       struct qkd_take *t);
bool qkd_stream_has_front(struct qkd_stream *s, u32 len);
int qkd_stream_probe_at(struct qkd_stream *s, u64 offset, u32 len);
size_t qkd_take_copy_out(struct qkd_take *t, struct iov_iter *to);
void qkd_take_discard(struct qkd_take *t);

struct qkd_block **qkd_stream_resize(struct qkd_stream *s, struct qkd_block **ring,
				     u32 max_blocks);
struct qkd_block **qkd_ring_alloc(u32 max_blocks);

/* qkdkey_kind.c */
const struct qkd_link_kind *qkd_cfg_lock_kind(const char *name);

/* qkdkey_user.c */
int qkd_user_init(void);
void qkd_user_exit(void);
int qkd_user_push(struct qkd_link *link, u32 dir, u64 epoch, u64 offset,
		  const void *data, u32 len, struct genl_info *info);

/* qkdkey_netlink.c */
int qkd_nl_init(void);
void qkd_nl_exit(void);
void qkd_nl_link_event(struct qkd_link *link, u8 cmd);
void qkd_nl_link_del(struct qkd_link *link);
void qkd_nl_alarm(struct qkd_link *link, u32 qber, u32 threshold);
void qkd_nl_low_watermark(struct qkd_link *link, u64 tx_avail, u32 watermark);
void qkd_nl_key_want(struct qkd_link *link, enum qkdkey_dir dir, u64 epoch,
		     u64 offset, u32 len);

/* qkdkey_sysfs.c */
int qkd_sysfs_init(void);
void qkd_sysfs_exit(void);
int qkd_sysfs_add_link(struct qkd_link *link);
void qkd_sysfs_del_link(struct qkd_link *link);

/* qkdkey_chr.c */
int qkd_chr_init(void);
void qkd_chr_exit(void);

#endif /* _QKDKEY_INTERNAL_H */
