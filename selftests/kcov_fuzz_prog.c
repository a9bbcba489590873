// SPDX-License-Identifier: GPL-2.0
/*
 * kcov_fuzz_test's programs (the format is in kcov_fuzz.h): running one,
 * call by call, in the calling task so that KCOV sees all of it; parsing
 * and appending records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "kcov_fuzz.h"
#include "qkd_test_util.h"

#define RBUF_SZ		(QKD_HDR + QKDKEY_READ_MAX + 4096)
#define ARG_SZ		(_IOC_SIZEMASK + 1 + 64)	/* any _IOC_SIZE() fits */

static uint32_t get_le(const unsigned char *b, int bytes)
{
	uint32_t v = 0;

	while (bytes--)
		v = v << 8 | b[bytes];
	return v;
}

int kf_init(struct kf *k, struct fz *gen)
{
	int big = 4 << 20;

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < NSLOT; i++)
		k->fd[i] = -1;
	k->gen = gen;
	k->sbuf = aligned_alloc(8, PROG_MAX);
	k->rbuf = aligned_alloc(8, RBUF_SZ);
	k->arg = aligned_alloc(8, ARG_SZ);
	k->tmp = aligned_alloc(8, MSG_MAX);
	if (!k->sbuf || !k->rbuf || !k->arg || !k->tmp)
		return -ENOMEM;
	if (qnl_open(&k->q))
		return -ENOENT;
	k->nl = mnl_socket_get_fd(k->q.nl);
	if (qnl_join_monitor(&k->q))
		return -EPROTO;
	setsockopt(k->nl, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	return 0;
}

void kf_fini(struct kf *k)
{
	if (k->q.nl)
		qnl_close(&k->q);
	free(k->sbuf);
	free(k->rbuf);
	free(k->arg);
	free(k->tmp);
}

/* everything the kernel sent back, which also runs the rest of a dump */
static void drain(struct kf *k)
{
	for (int i = 0; i < 1024; i++)
		if (recv(k->nl, k->rbuf, RBUF_SZ, MSG_DONTWAIT) < 0 &&
		    errno != ENOBUFS && errno != EINTR)
			break;
}

static void run_nl(struct kf *k, int fix, const unsigned char *p, size_t n)
{
	struct nlmsghdr *nlh = (void *)k->sbuf;

	memcpy(k->sbuf, p, n);
	if (fix & K_FIX_LEN && n >= NLMSG_HDRLEN)
		nlh->nlmsg_len = n;
	/* (a length near 4 GiB wraps NLMSG_ALIGN() to 0) */
	for (size_t pos = 0; pos + NLMSG_HDRLEN <= n; pos += ((size_t)nlh->nlmsg_len + 3) & ~3UL) {
		nlh = (void *)(k->sbuf + pos);
		if (fix & K_FIX_TYPE)
			nlh->nlmsg_type = k->q.family;
		if (fix & K_FIX_SEQ)
			nlh->nlmsg_seq = ++k->seq;
		if (nlh->nlmsg_len < NLMSG_HDRLEN)
			break;
	}
	send(k->nl, k->sbuf, n, 0);
	drain(k);
}

static int slot_fd(struct kf *k, unsigned int s)
{
	s %= NSLOT;
	if (k->fd[s] < 0)
		k->fd[s] = qkd_open(O_NONBLOCK);
	return k->fd[s];
}

/* the commands above the driver (FIONBIO & co, FS_IOC_*, FICLONE, ...) */
static int vfs_cmd(unsigned int cmd)
{
	unsigned int t = _IOC_TYPE(cmd);

	return t == 'T' || t == 'X' || t == 'f' || t == 0x94 || t == 0;
}

static void run_ioctl(struct kf *k, const unsigned char *p, size_t n)
{
	unsigned char b[IOC_HDR] = { 0 };
	unsigned int cmd;

	memcpy(b, p, n < IOC_HDR ? n : IOC_HDR);
	switch (b[1] % 8) {
	case 0: case 1: case 2:
		cmd = QKDKEY_IOC_BIND;
		break;
	case 6:
		cmd = _IOC((unsigned int)b[2] & 3, QKDKEY_IOC_MAGIC, b[3], get_le(b + 4, 2) & _IOC_SIZEMASK);
		break;
	case 7:
		cmd = get_le(b + 2, 4);
		if (!vfs_cmd(cmd))
			break;
		/* fall through */
	default:
		cmd = QKDKEY_IOC_LINK_INFO;
		break;
	}
	memset(k->arg, 0, ARG_SZ);
	if (n > IOC_HDR)
		memcpy(k->arg, p + IOC_HDR, n - IOC_HDR < ARG_SZ ? n - IOC_HDR : ARG_SZ);
	ioctl(slot_fd(k, b[0]), cmd, k->arg);
}

static ssize_t run_read(struct kf *k, const unsigned char *p, size_t n)
{
	unsigned char b[14] = { 0 };
	struct pollfd pfd;
	uint64_t off;
	uint32_t len;
	int fd;

	memcpy(b, p, n < sizeof(b) ? n : sizeof(b));
	fd = slot_fd(k, b[0]);
	len = get_le(b + 2, 4);
	off = (uint64_t)get_le(b + 10, 4) << 32 | get_le(b + 6, 4);
	/* any length: the driver never copies more than QKD_HDR + QKDKEY_READ_MAX */
	switch (b[1] % 3) {
	case 0:
		return read(fd, k->rbuf, len);
	case 1:
		return pread(fd, k->rbuf, len, (off_t)off);
	}
	pfd.fd = fd;
	pfd.events = POLLIN | POLLOUT | POLLPRI;
	return poll(&pfd, 1, 0);
}

static const char *const sys_link[NSYS_LINK] = {
	"state", "qber_threshold", "tx_avail", "id", "epoch", "qber", "key_rate",
	"pool_limit", "alarms", "tx_delivered", "tx_taken", "tx_expired",
	"rx_avail", "rx_delivered", "rx_taken", "rx_expired", "kind", "peer",
};
static const char *const sys_other[NSYSFS - NSYS_LINK] = {
	QKD_SYSFS_DIR "/default_link", QKD_SIM_PARAMS "/qber",
	QKD_SIM_PARAMS "/eve", QKD_SIM_PARAMS "/rekey",
};

static ssize_t run_sysfs(struct kf *k, const unsigned char *p, size_t n)
{
	unsigned char b[3] = { 0 };
	unsigned int f, wr;
	char path[256];
	ssize_t r;
	int fd;

	memcpy(b, p, n < sizeof(b) ? n : sizeof(b));
	f = b[0] % NSYSFS;
	wr = b[2] & 1;
	if (f < NSYS_LINK)
		snprintf(path, sizeof(path), "%s/%s/%s", QKD_LINKS_DIR, names[b[1] % NNAMES],
			 sys_link[f]);
	else
		snprintf(path, sizeof(path), "%s", sys_other[f - NSYS_LINK]);
	fd = open(path, (wr ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = n > sizeof(b) ? n - sizeof(b) : 0;
	if (wr)
		r = write(fd, p + sizeof(b), n < 64 ? n : 64);
	else
		r = read(fd, k->rbuf, 4096);
	close(fd);
	return r;
}

static void slot_close(struct kf *k, unsigned int s)
{
	s %= NSLOT;
	if (k->fd[s] >= 0)
		close(k->fd[s]);
	k->fd[s] = -1;
}

void kf_run(struct kf *k, const unsigned char *p, size_t n)
{
	struct rec r[REC_MAX];
	int nr = rec_parse(p, n, r, REC_MAX);

	for (int i = 0; i < nr; i++) {
		const unsigned char *pl = p + r[i].off + REC_HDR;
		unsigned int kind = p[r[i].off], s = r[i].len ? pl[0] : 0;

		k->calls[(kind & 7) % NKINDS]++;
		switch ((kind & 7) % NKINDS) {
		case K_NL:
			run_nl(k, kind, pl, r[i].len);
			break;
		case K_IOCTL:
			run_ioctl(k, pl, r[i].len);
			break;
		case K_READ:
			run_read(k, pl, r[i].len);
			break;
		case K_OPEN:
			slot_close(k, s);
			k->fd[s % NSLOT] = qkd_open(O_NONBLOCK |
						    (r[i].len > 1 ? pl[1] & O_ACCMODE : 0));
			break;
		case K_CLOSE:
			slot_close(k, s);
			break;
		default:
			run_sysfs(k, pl, r[i].len);
			break;
		}
		if (k->after_call)
			k->after_call(k->after_arg);
	}
	for (int s = 0; s < NSLOT; s++)
		slot_close(k, s);
	if (k->after_call)
		k->after_call(k->after_arg);
}

int rec_parse(const unsigned char *p, size_t n, struct rec *r, int max)
{
	size_t pos = 0;
	int nr = 0;

	while (nr < max && pos + REC_HDR <= n) {
		r[nr].off = pos;
		r[nr].len = get_le(p + pos + 1, 2);
		pos += REC_HDR;
		if (r[nr].len > n - pos)
			r[nr].len = n - pos;
		pos += r[nr++].len;
	}
	return nr;
}

size_t rec_put(unsigned char *p, size_t n, int kind, const void *pl, size_t plen)
{
	if (plen > 0xffff || n + REC_HDR + plen > PROG_MAX)
		return n;
	p[n] = kind;
	p[n + 1] = plen;
	p[n + 2] = plen >> 8;
	memcpy(p + n + REC_HDR, pl, plen);
	return n + REC_HDR + plen;
}

size_t rec_gen_msg(struct kf *k, unsigned char *p, size_t n)
{
	size_t len = gen_msg(k->gen, (char *)k->tmp, 0);
	struct nlmsghdr *nlh = (void *)k->tmp;
	int fix = K_FIX_SEQ;

	/* keep what the generator got wrong on purpose */
	if (nlh->nlmsg_type == k->q.family)
		fix |= K_FIX_TYPE;
	if (nlh->nlmsg_len == len)
		fix |= K_FIX_LEN;
	return rec_put(p, n, K_NL | fix, k->tmp, len);
}
