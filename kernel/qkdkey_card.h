/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qkdkey card driver API.
 *
 * A card driver owns QKD hardware (or a simulation of it) and provides one
 * or more links to the qkdkey core, much as an hwrng driver provides a
 * random source: the driver registers, pushes key bytes in, reports link
 * quality, and unregisters. The core owns everything userspace touches.
 */
#ifndef _QKDKEY_CARD_H
#define _QKDKEY_CARD_H

#include <linux/types.h>
#include <linux/qkdkey.h>

struct nlattr;
struct netlink_ext_ack;
struct qkd_link;
struct qkd_link_kind;
struct sk_buff;

struct qkd_link_config {
	const char *name;	/* unique, < QKDKEY_NAME_LEN */
	const char *peer;	/* the remote end's name, informational */
	const char *kind;	/* "sim", "user", a vendor name */
	u64 epoch;		/* first key-generation session */
	u32 pool_limit;		/* bytes per stream; 0: core default */
	u32 qber_threshold;	/* ppm; 0: QKDKEY_QBER_THRESHOLD_DEFAULT */
	u32 low_watermark;	/* TX bytes; 0: no low-watermark events */
	const struct qkd_link_kind *ops;	/* NULL: not managed by netlink */
	void *priv;		/* the driver's, see qkd_link_priv() */
};

/*
 * A kind of link that LINK_NEW can create, registered the way
 * rtnl_link_ops are. The core validates the request against its policy
 * and passes the parsed QKDKEY_A_* attributes. newlink, changelink and
 * dellink run under the core's configuration mutex, so they never race
 * each other or qkd_link_kind_unregister(); fill runs with the link list
 * locked, so the link is registered while it runs.
 */
struct qkd_link_kind {
	const char *name;
	struct module *owner;
	/* LINK_NEW: @cfg holds the common attributes; register the link(s). */
	int (*newlink)(const struct qkd_link_config *cfg, struct nlattr **tb,
		       struct netlink_ext_ack *extack);
	/* LINK_SET attributes the kind owns; may be NULL. */
	int (*changelink)(struct qkd_link *link, struct nlattr **tb,
			  struct netlink_ext_ack *extack);
	/* LINK_DEL, and every link of the kind at unregister. */
	void (*dellink)(struct qkd_link *link);
	/* LINK_GET: add kind attributes (never key material); may be NULL. */
	int (*fill)(struct qkd_link *link, struct sk_buff *skb);
	/* BIT_ULL(QKDKEY_A_*) of the LINK_SET attributes changelink takes. */
	u64 set_attrs;
	struct list_head node;
};

int qkd_link_kind_register(struct qkd_link_kind *kind);
/* Deletes every link of the kind, then unregisters it. May sleep. */
void qkd_link_kind_unregister(struct qkd_link_kind *kind);
/*
 * The configuration mutex newlink, changelink and dellink run under. A
 * card that creates links of its kind by itself (module parameters) holds
 * it across the creation, so that no LINK_DEL or LINK_SET sees a link of
 * the kind before the card has finished setting it up.
 */
void qkd_cfg_lock(void);
void qkd_cfg_unlock(void);

void *qkd_link_priv(struct qkd_link *link);
bool qkd_link_name_taken(const char *name);
const char *qkd_link_name(struct qkd_link *link);

/*
 * Returns the new link or an ERR_PTR. The link starts UP. May sleep.
 */
struct qkd_link *qkd_link_register(const struct qkd_link_config *cfg);

/*
 * Removes the link: wakes every blocked reader with -ENODEV, wipes the
 * pools and drops the driver's reference. Open files keep the (now empty)
 * link object alive until they close; the driver may unload at once.
 * May sleep.
 */
void qkd_link_unregister(struct qkd_link *link);

/*
 * Appends key bytes to one stream at @epoch/@offset. Streams are
 * append-only: @offset must be at or past the end of what was delivered
 * before in this epoch (a gap is lost key). May sleep.
 *
 * Returns 0, or -ESTALE (wrong epoch), -EEXIST (overlaps delivered bytes),
 * -ENOSPC (TX pool or global limit full), -EKEYREJECTED (link in ALARM),
 * -ENODEV (link removed), -ENOMEM.
 */
int qkd_link_deliver(struct qkd_link *link, enum qkdkey_dir dir, u64 epoch,
		     u64 offset, const void *buf, size_t len);

/* Bytes the TX stream can take now without -ENOSPC; 0 in ALARM or gone. */
size_t qkd_link_tx_room(struct qkd_link *link);

/*
 * Starts a new key-generation session: all pooled key of both streams is
 * wiped, offsets restart at 0, RX files bound to the old epoch get ESTALE.
 */
int qkd_link_new_epoch(struct qkd_link *link, u64 epoch);

/*
 * Reports the link's measured quantum bit error rate (ppm) and secret-key
 * rate (bytes/s). A QBER above the threshold puts the link in ALARM, which
 * latches until qkd_link_clear_alarm() or an operator clears it.
 */
void qkd_link_report(struct qkd_link *link, u32 qber, u32 key_rate);

/* Returns the current epoch. */
u64 qkd_link_epoch(struct qkd_link *link);

/* Returns -EBUSY while the last reported QBER is above the threshold. */
int qkd_link_clear_alarm(struct qkd_link *link);

/* True while key may be handed out (UP, not ALARM, not down, not gone). */
bool qkd_link_is_up(struct qkd_link *link);

#endif /* _QKDKEY_CARD_H */
