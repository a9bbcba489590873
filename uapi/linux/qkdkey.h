/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qkdkey: quantum key distribution key streams as a system service.
 *
 * This header is the whole contract between qkdkey.ko and userspace:
 * the /dev/qkdkey read formats and ioctls, link states, and the generic
 * netlink family "qkdkey" (see Documentation/netlink/specs/qkdkey.yaml).
 *
 * Every structure here has explicit padding; reserved fields and unknown
 * flags must be zero or the kernel rejects the call with EINVAL, so they
 * can be given a meaning later without breaking old binaries.
 */
#ifndef _UAPI_LINUX_QKDKEY_H
#define _UAPI_LINUX_QKDKEY_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define QKDKEY_DEVICE_PATH	"/dev/qkdkey"

/* Link and kind names, including the terminating NUL. */
#define QKDKEY_NAME_LEN		16

/* Largest number of key bytes a single read(2)/pread(2) can return. */
#define QKDKEY_READ_MAX		65536

/* Per-stream pool limits (QKDKEY_A_LINK_POOL_LIMIT), bytes. */
#define QKDKEY_POOL_MIN		4096
#define QKDKEY_POOL_MAX		268435456

/* Most key bytes one KEY_PUSH carries (QKDKEY_A_KEY_DATA). */
#define QKDKEY_PUSH_MAX		32768

/* Length of the seed of an insecure seeded sim link (QKDKEY_SIM_A_SEED). */
#define QKDKEY_SIM_SEED_LEN	32

/* QBER is expressed in parts per million; 110000 is 11 %. */
#define QKDKEY_QBER_PPM_MAX		1000000
#define QKDKEY_QBER_THRESHOLD_DEFAULT	110000

/* Key stream direction, seen from this host. A peer's TX is our RX. */
enum qkdkey_dir {
	QKDKEY_DIR_TX = 0,	/* keys for what this host sends */
	QKDKEY_DIR_RX = 1,	/* keys for what this host receives */
};

enum qkdkey_link_state {
	QKDKEY_LINK_DOWN = 0,	/* administratively down: no key handed out */
	QKDKEY_LINK_UP = 1,	/* key flows */
	QKDKEY_LINK_ALARM = 2,	/* QBER above threshold: no key until cleared */
	QKDKEY_LINK_GONE = 3,	/* the card removed the link; readers get ENODEV */
};

/*
 * A TX read(2) of n bytes returns this header followed by exactly
 * n - sizeof(struct qkdkey_tx_hdr) key bytes. The peer needs link, epoch and
 * offset (not the key) to fetch the same bytes from its RX stream.
 */
struct qkdkey_tx_hdr {
	__u32 link_id;
	__u32 length;		/* key bytes that follow */
	__u64 epoch;
	__u64 offset;		/* stream offset of the first key byte */
};

/*
 * QKDKEY_IOC_BIND: bind an open file to one stream of one link.
 * The link is named by link_id, or, when link_id is 0, by name; with both
 * zero/empty the default link is used. Binding records the link's current
 * epoch: RX reads fail with ESTALE once the epoch changes, until re-bound.
 */
struct qkdkey_bind {
	__u32 link_id;
	__u32 dir;			/* enum qkdkey_dir */
	char name[QKDKEY_NAME_LEN];	/* NUL-terminated, or all zero */
	__u32 flags;			/* must be 0 */
	__u32 reserved;			/* must be 0 */
};

/*
 * QKDKEY_IOC_LINK_INFO: describe a link. On input link_id selects the link
 * (0: the file's bound link, or the default link for an unbound file) and
 * every other byte must be zero. On output all fields are filled.
 */
struct qkdkey_link_info {
	__u32 link_id;
	__u32 state;			/* enum qkdkey_link_state */
	__u64 epoch;
	__u64 tx_avail;			/* key bytes ready for TX reads now */
	__u64 tx_next;			/* offset the next TX read starts at */
	__u64 rx_avail;			/* RX key bytes held, not yet read */
	__u64 rx_end;			/* one past the highest RX offset received */
	__u32 qber;			/* last reported QBER, ppm */
	__u32 qber_threshold;		/* ppm */
	__u32 key_rate;			/* last reported secret-key rate, bytes/s */
	__u32 pool_limit;		/* per-stream limit, bytes */
	__u32 bound_dir;		/* this file's direction (enum qkdkey_dir) */
	__u32 flags;			/* QKDKEY_INFO_* */
	char name[QKDKEY_NAME_LEN];
	char peer[QKDKEY_NAME_LEN];
	char kind[QKDKEY_NAME_LEN];
	__u64 reserved[2];
};

#define QKDKEY_INFO_BOUND	0x1	/* the file is bound explicitly */
#define QKDKEY_INFO_DEFAULT	0x2	/* the link is the default link */
#define QKDKEY_INFO_STALE	0x4	/* the link's epoch moved since bind */

#define QKDKEY_IOC_MAGIC	0xB8
#define QKDKEY_IOC_BIND		_IOW(QKDKEY_IOC_MAGIC, 1, struct qkdkey_bind)
#define QKDKEY_IOC_LINK_INFO	_IOWR(QKDKEY_IOC_MAGIC, 2, struct qkdkey_link_info)

/* Generic netlink family "qkdkey". */
#define QKDKEY_GENL_NAME		"qkdkey"
#define QKDKEY_GENL_VERSION		1
#define QKDKEY_MCGRP_MONITOR		"monitor"

enum qkdkey_cmd {
	QKDKEY_CMD_UNSPEC,
	QKDKEY_CMD_LINK_GET,		/* do and dump */
	QKDKEY_CMD_LINK_NEW,		/* admin */
	QKDKEY_CMD_LINK_DEL,		/* admin */
	QKDKEY_CMD_LINK_SET,		/* admin */
	QKDKEY_CMD_KEY_PUSH,		/* admin: feed a "user" link */
	/* notifications on the "monitor" group */
	QKDKEY_CMD_LINK_ADD_NTF,
	QKDKEY_CMD_LINK_DEL_NTF,
	QKDKEY_CMD_LINK_CHANGE_NTF,
	QKDKEY_CMD_ALARM_NTF,
	QKDKEY_CMD_LOW_WATERMARK_NTF,
	QKDKEY_CMD_KEY_WANT_NTF,

	__QKDKEY_CMD_MAX,
	QKDKEY_CMD_MAX = __QKDKEY_CMD_MAX - 1
};

enum qkdkey_attr {
	QKDKEY_A_UNSPEC,
	QKDKEY_A_LINK_ID,		/* u32 */
	QKDKEY_A_LINK_NAME,		/* string, < QKDKEY_NAME_LEN */
	QKDKEY_A_LINK_KIND,		/* string: "sim", "user" */
	QKDKEY_A_LINK_PEER,		/* string */
	QKDKEY_A_LINK_STATE,		/* u32, enum qkdkey_link_state */
	QKDKEY_A_LINK_ADMIN_UP,		/* u8, 0 or 1 */
	QKDKEY_A_LINK_DEFAULT,		/* flag */
	QKDKEY_A_LINK_EPOCH,		/* u64 */
	QKDKEY_A_LINK_TX_AVAIL,		/* u64 */
	QKDKEY_A_LINK_RX_AVAIL,		/* u64 */
	QKDKEY_A_LINK_QBER,		/* u32, ppm */
	QKDKEY_A_LINK_QBER_THRESHOLD,	/* u32, ppm */
	QKDKEY_A_LINK_KEY_RATE,		/* u32, bytes/s */
	QKDKEY_A_LINK_POOL_LIMIT,	/* u32, bytes per stream */
	QKDKEY_A_LINK_LOW_WATERMARK,	/* u32, bytes */
	QKDKEY_A_LINK_COUNTERS,		/* nest, enum qkdkey_counter_attr */
	QKDKEY_A_LINK_SIM,		/* nest, enum qkdkey_sim_attr */
	QKDKEY_A_KEY_DIR,		/* u32, enum qkdkey_dir */
	QKDKEY_A_KEY_EPOCH,		/* u64 */
	QKDKEY_A_KEY_OFFSET,		/* u64 */
	QKDKEY_A_KEY_LEN,		/* u32 */
	QKDKEY_A_KEY_DATA,		/* binary; never sent by the kernel */
	QKDKEY_A_PAD,

	__QKDKEY_A_MAX,
	QKDKEY_A_MAX = __QKDKEY_A_MAX - 1
};

enum qkdkey_counter_attr {
	QKDKEY_COUNTER_A_UNSPEC,
	QKDKEY_COUNTER_A_TX_DELIVERED,	/* u64: bytes the card delivered */
	QKDKEY_COUNTER_A_TX_TAKEN,	/* u64: bytes handed to readers */
	QKDKEY_COUNTER_A_TX_EXPIRED,	/* u64: bytes wiped unread */
	QKDKEY_COUNTER_A_RX_DELIVERED,
	QKDKEY_COUNTER_A_RX_TAKEN,
	QKDKEY_COUNTER_A_RX_EXPIRED,
	QKDKEY_COUNTER_A_ALARMS,	/* u64: times the link entered ALARM */
	QKDKEY_COUNTER_A_PAD,

	__QKDKEY_COUNTER_A_MAX,
	QKDKEY_COUNTER_A_MAX = __QKDKEY_COUNTER_A_MAX - 1
};

enum qkdkey_sim_attr {
	QKDKEY_SIM_A_UNSPEC,
	QKDKEY_SIM_A_RATE,		/* u32, secret-key bytes/s; 0: paused */
	QKDKEY_SIM_A_QBER,		/* u32, intrinsic QBER, ppm */
	QKDKEY_SIM_A_EVE,		/* u32, intercepted fraction, ppm */
	QKDKEY_SIM_A_SEED,		/* binary, 32 bytes: insecure seeded mode */

	__QKDKEY_SIM_A_MAX,
	QKDKEY_SIM_A_MAX = __QKDKEY_SIM_A_MAX - 1
};

#endif /* _UAPI_LINUX_QKDKEY_H */
