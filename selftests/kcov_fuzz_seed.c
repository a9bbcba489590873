// SPDX-License-Identifier: GPL-2.0
/*
 * kcov_fuzz_test's built-in seed programs, the initial corpus: one
 * well-formed call of each netlink command and each ioctl, key pushed and
 * then read back through /dev/qkdkey in both directions, the sim pair
 * read, and programs of one to three gen_msg() messages (nl_fuzz_gen.c).
 */
#include <string.h>
#include <sys/ioctl.h>

#include "kcov_fuzz.h"
#include "qkd_test_util.h"

#define NGEN_SEEDS	64

/* seed building blocks */
static size_t put_req(unsigned char *p, size_t n, struct nlmsghdr *nlh)
{
	return rec_put(p, n, K_NL | K_FIX_ALL, nlh, nlh->nlmsg_len);
}

static struct nlmsghdr *req_name(struct kf *k, int cmd, const char *name)
{
	struct nlmsghdr *nlh = qnl_req(&k->q, cmd, NLM_F_ACK);

	mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
	return nlh;
}

static size_t put_ioctl(unsigned char *p, size_t n, int slot, int sel,
			uint32_t cmd, const void *arg, size_t alen)
{
	unsigned char b[IOC_HDR + sizeof(struct qkdkey_link_info)] = { slot, sel,
		cmd, cmd >> 8, cmd >> 16, cmd >> 24 };

	memcpy(b + IOC_HDR, arg, alen);
	return rec_put(p, n, K_IOCTL, b, IOC_HDR + alen);
}

static size_t put_bind(unsigned char *p, size_t n, int slot, const char *name, int dir)
{
	struct qkdkey_bind b = { .dir = dir };

	strncpy(b.name, name, sizeof(b.name) - 1);
	return put_ioctl(p, n, slot, 0, 0, &b, sizeof(b));
}

static size_t put_read(unsigned char *p, size_t n, int slot, int mode, uint32_t len,
		       uint32_t off)
{
	unsigned char b[14] = { slot, mode, len, len >> 8, len >> 16, len >> 24,
				off, off >> 8, off >> 16, off >> 24 };

	return rec_put(p, n, K_READ, b, sizeof(b));
}

static size_t put_sysfs(unsigned char *p, size_t n, int file, int link, const char *wr)
{
	unsigned char b[3 + 16] = { file, link, !!wr };
	size_t len = wr ? strlen(wr) : 0;

	memcpy(b + 3, wr ? wr : "", len);
	return rec_put(p, n, K_SYSFS, b, 3 + len);
}

static size_t put_push(struct kf *k, unsigned char *p, size_t n, const char *name,
		       int dir, uint64_t off, size_t len)
{
	struct nlmsghdr *nlh = req_name(k, QKDKEY_CMD_KEY_PUSH, name);

	mnl_attr_put_u32(nlh, QKDKEY_A_KEY_DIR, dir);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_EPOCH, 0);
	mnl_attr_put_u64(nlh, QKDKEY_A_KEY_OFFSET, off);
	mnl_attr_put(nlh, QKDKEY_A_KEY_DATA, len, k->gen->data);
	return put_req(p, n, nlh);
}

size_t kf_seed(struct kf *k, int i, unsigned char *p)
{
	struct qkdkey_link_info li = { 0 };
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	size_t n = 0;

	switch (i) {
	case 0:
		return put_req(p, n, req_name(k, QKDKEY_CMD_LINK_GET, "f0"));
	case 1:
		return put_req(p, n, qnl_req(&k->q, QKDKEY_CMD_LINK_GET, NLM_F_DUMP));
	case 2:
		nlh = qnl_req(&k->q, QKDKEY_CMD_LINK_GET, NLM_F_DUMP);
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, "f2");
		return put_req(p, n, nlh);
	case 3:
		nlh = req_name(k, QKDKEY_CMD_LINK_NEW, "k0");
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "user");
		mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, 2);
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 8192);
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, 50000);
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_LOW_WATERMARK, 100);
		n = put_req(p, n, nlh);
		return put_req(p, n, req_name(k, QKDKEY_CMD_LINK_DEL, "k0"));
	case 4:
		nlh = req_name(k, QKDKEY_CMD_LINK_NEW, "k1");
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "sim");
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_PEER, "k2");
		nest = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE, 1000);
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_EVE, 0);
		mnl_attr_put(nlh, QKDKEY_SIM_A_SEED, QKDKEY_SIM_SEED_LEN, k->gen->data);
		mnl_attr_nest_end(nlh, nest);
		n = put_req(p, n, nlh);
		return put_req(p, n, req_name(k, QKDKEY_CMD_LINK_DEL, "k1"));
	case 5:
		nlh = req_name(k, QKDKEY_CMD_LINK_SET, "f0");
		mnl_attr_put_u8(nlh, QKDKEY_A_LINK_ADMIN_UP, 0);
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_QBER_THRESHOLD, 120000);
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 65536);
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_LOW_WATERMARK, 64);
		mnl_attr_put(nlh, QKDKEY_A_LINK_DEFAULT, 0, NULL);
		n = put_req(p, n, nlh);
		nlh = req_name(k, QKDKEY_CMD_LINK_SET, "f0");
		mnl_attr_put_u8(nlh, QKDKEY_A_LINK_ADMIN_UP, 1);
		return put_req(p, n, nlh);
	case 6:
		nlh = req_name(k, QKDKEY_CMD_LINK_SET, "f2");
		nest = mnl_attr_nest_start(nlh, QKDKEY_A_LINK_SIM);
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_RATE, 2000);
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_QBER, 1000);
		mnl_attr_put_u32(nlh, QKDKEY_SIM_A_EVE, 0);
		mnl_attr_nest_end(nlh, nest);
		n = put_req(p, n, nlh);
		nlh = req_name(k, QKDKEY_CMD_LINK_SET, "f1");
		mnl_attr_put_u64(nlh, QKDKEY_A_LINK_EPOCH, 1);
		return put_req(p, n, nlh);
	case 7:		/* TX key pushed, then read with its header */
		n = put_push(k, p, n, "f0", QKDKEY_DIR_TX, 0, 256);
		n = put_bind(p, n, 0, "f0", QKDKEY_DIR_TX);
		n = put_read(p, n, 0, 0, QKD_HDR + 64, 0);
		return put_ioctl(p, n, 0, 3, 0, &li, sizeof(li));
	case 8:		/* RX key pushed, then read by offset */
		n = put_push(k, p, n, "f1", QKDKEY_DIR_RX, 0, 256);
		n = put_bind(p, n, 1, "f1", QKDKEY_DIR_RX);
		n = put_read(p, n, 1, 1, 64, 0);
		n = put_read(p, n, 1, 1, 64, 128);
		return put_read(p, n, 1, 2, 0, 0);
	case 9:		/* the sim pair */
		n = put_bind(p, n, 2, "f2", QKDKEY_DIR_TX);
		n = put_read(p, n, 2, 0, QKD_HDR + 32, 0);
		n = put_bind(p, n, 3, "f3", QKDKEY_DIR_RX);
		n = put_read(p, n, 3, 1, 32, 0);
		n = rec_put(p, n, K_CLOSE, "\2", 1);
		return rec_put(p, n, K_OPEN, "\2\2", 2);
	case 10:
		n = put_ioctl(p, n, 0, 3, 0, &li, sizeof(li));
		li.link_id = k->gen->nids ? k->gen->ids[0] : 1;
		return put_ioctl(p, n, 1, 3, 0, &li, sizeof(li));
	case 11:
		n = put_ioctl(p, n, 0, 6, 3 | 3 << 8 | 32 << 16, &li, 32);
		return put_ioctl(p, n, 0, 7, 0x1234, &li, 8);
	case 12:	/* sysfs reads (names[] starts f0, f1, f2, f3) */
		n = put_sysfs(p, n, SYS_STATE, 0, NULL);
		n = put_sysfs(p, n, SYS_THRESHOLD, 2, NULL);
		n = put_sysfs(p, n, SYS_TX_AVAIL, 1, NULL);
		n = put_sysfs(p, n, SYS_DEFAULT, 0, NULL);
		return put_sysfs(p, n, SYS_QBER, 0, NULL);
	case 13:	/* sysfs writes */
		n = put_sysfs(p, n, SYS_STATE, 0, "down");
		n = put_sysfs(p, n, SYS_STATE, 0, "up\n");
		n = put_sysfs(p, n, SYS_THRESHOLD, 0, "100000");
		n = put_sysfs(p, n, SYS_DEFAULT, 0, "f0\n");
		n = put_sysfs(p, n, SYS_EVE, 0, "0");
		return put_sysfs(p, n, SYS_REKEY, 0, "1");
	case 14:	/* RX past its pool (twice TX's), far ahead; TX too big */
		nlh = req_name(k, QKDKEY_CMD_LINK_NEW, "k3");
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_KIND, "user");
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_POOL_LIMIT, 4096);
		n = put_req(p, n, nlh);
		for (int j = 0; j < 3; j++)
			n = put_push(k, p, n, "k3", QKDKEY_DIR_RX, j * 3000, 3000);
		n = put_push(k, p, n, "k3", QKDKEY_DIR_RX, 40000, 3000);
		n = put_bind(p, n, 0, "k3", QKDKEY_DIR_RX);
		n = put_read(p, n, 0, 1, 100, 5000);
		n = put_read(p, n, 0, 1, 100, 0);
		n = put_push(k, p, n, "k3", QKDKEY_DIR_TX, 0, 5000);
		return put_req(p, n, req_name(k, QKDKEY_CMD_LINK_DEL, "k3"));
	case 15:	/* RX key wanted far ahead: KEY_WANT */
		n = put_bind(p, n, 0, "f3", QKDKEY_DIR_RX);
		return put_read(p, n, 0, 1, 64, 1 << 20);
	case 16:
		nlh = qnl_req(&k->q, QKDKEY_CMD_LINK_GET, NLM_F_ACK);
		mnl_attr_put_u32(nlh, QKDKEY_A_LINK_ID, k->gen->nids ? k->gen->ids[0] : 1);
		return put_req(p, n, nlh);
	}
	if (i >= 17 + NGEN_SEEDS)
		return 0;
	for (int j = i % 3; j >= 0; j--)
		n = rec_gen_msg(k, p, n);
	return n;
}
