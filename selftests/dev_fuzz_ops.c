// SPDX-License-Identifier: GPL-2.0
/*
 * dev_fuzz_test's calls: ioctl, read and friends, poll, write, lseek, mmap
 * and re-opens on /dev/qkdkey with random arguments and bad pointers, each
 * checked against what Documentation/qkdkey.rst says it may answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "dev_fuzz.h"
#include "fuzz_util.h"

const char *const op_name[NOPS] = { "ioctl-other", "ioctl-0xB8",
	"bind", "link-info", "read", "pread", "readv", "preadv2", "poll",
	"write", "lseek", "mmap", "reopen", "blocking-read" };

/* read errors (the table in Documentation/qkdkey.rst) */
#define READ_ERRS (E(EBADF) | E(EFAULT) | E(EINVAL) | E(ENODEV) | E(ESTALE) | E(ENOKEY) | E(EAGAIN))
const uint64_t allowed[NOPS] = {
	[OP_IOC_OTHER] = E(ENOTTY),
	[OP_IOC_MAGIC] = E(ENOTTY),
	[OP_BIND] = E(EFAULT) | E(EINVAL) | E(ENODEV),
	[OP_INFO] = E(EFAULT) | E(EINVAL) | E(ENODEV),
	[OP_READ] = READ_ERRS, [OP_PREAD] = READ_ERRS, [OP_READV] = READ_ERRS,
	/* EOPNOTSUPP: unknown RWF_* flags (VFS) */
	[OP_PREADV2] = READ_ERRS | E(EOPNOTSUPP),
	[OP_WRITE] = E(EBADF) | E(EINVAL) | E(EFAULT),
	[OP_LSEEK] = E(EINVAL),
	[OP_MMAP] = E(ENODEV) | E(EACCES) | E(EINVAL),
	[OP_BLOCKING] = (READ_ERRS & ~E(EAGAIN)) | E(EINTR),
};

const char *const names[] = { "d0", "d1", "d2", "s0", "s1" };

void dz_seed(uint64_t seed)
{
	rs = seed;
}

/* a pointer for a @len-byte argument: mostly good, sometimes not */
static void *arg_ptr(struct dz *z, size_t len, int out)
{
	switch (rn(out ? 14 : 12)) {
	case 0: return NULL;
	case 1: return (void *)-1L;
	case 2: return z->hole;
	case 3: return z->hole - (len > 8 ? len / 2 : 1);	/* runs into the hole */
	case 4: return (void *)(uintptr_t)(0xffff800000000000ULL + rn(1 << 20));
	case 12: case 13: return z->ro;	/* read-only: fails only on output */
	default: return z->buf + rn(64);
	}
}

static void rand_name(char *n)
{
	static const char *const bad[] = { "", "nosuch", "d0/", "s0 ", "..", "d00" };

	memset(n, 0, QKDKEY_NAME_LEN);
	switch (rn(10)) {
	case 0: for (int i = 0; i < QKDKEY_NAME_LEN; i++) n[i] = rnd() | 1; break;
	case 1: strcpy(n, bad[rn(6)]); break;
	case 2: for (int i = rn(QKDKEY_NAME_LEN); i < QKDKEY_NAME_LEN; i++) n[i] = rnd(); break;
	default: strcpy(n, names[rn(NNAMES)]); break;
	}
}

/*
 * A random ioctl command that reaches the driver. The ones the VFS handles
 * itself are left out: FIONBIO would turn O_NONBLOCK off under us (and the
 * next read would block), FIOASYNC would start SIGIO, and none of them is
 * the driver's code.
 */
static unsigned int other_cmd(void)
{
	for (;;) {
		unsigned int c = rnd(), t = _IOC_TYPE(c);

		if (rn(3))
			c = _IOC(rn(4), t, rn(16), rn(300));
		/* FIONBIO & co ('T'), FIFREEZE/FSGETXATTR ('X'), FS_IOC_* ('f'),
		 * FICLONE (0x94), FIGETBSZ (0): handled above the driver */
		if (t != 'T' && t != 'X' && t != 'f' && t != 0x94 && t && t != QKDKEY_IOC_MAGIC)
			return c;
	}
}

static void fill_bind(struct qkdkey_bind *b)
{
	memset(b, 0, sizeof(*b));
	b->link_id = rn(3) ? 0 : rn(2) ? rn(16) : (uint32_t)rnd();
	b->dir = rn(20) ? rn(2) : (uint32_t)rnd();
	rand_name(b->name);
	if (!rn(30))
		b->flags = 1U << rn(32);
	if (!rn(30))
		b->reserved = rnd();
}

static long do_ioctl(struct dz *z, int fd, enum op *op)
{
	unsigned int cmd;
	void *p;

	if (*op == OP_IOC_OTHER)
		return ioctl(fd, other_cmd(), rn(2) ? z->buf : arg_ptr(z, 64, 1));
	if (*op == OP_IOC_MAGIC) {
		cmd = _IOC(rn(4), QKDKEY_IOC_MAGIC, rn(4) ? rn(4) : rnd() & 0xff,
			   rn(2) ? rn(4) ? 32 : 136 : rn(1 << 14));
		if (cmd == QKDKEY_IOC_BIND)
			*op = OP_BIND;
		else if (cmd == QKDKEY_IOC_LINK_INFO)
			*op = OP_INFO;
		else
			return ioctl(fd, cmd, arg_ptr(z, 136, 1));
	}
	if (*op == OP_BIND) {
		p = arg_ptr(z, sizeof(struct qkdkey_bind), 0);
		if (p == z->ro || (p >= (void *)z->buf && p < (void *)(z->buf + BUFSZ)))
			fill_bind(p == z->ro ? (void *)z->buf : p);
		if (p == z->ro) {	/* the same bytes, from a read-only page */
			mprotect(z->ro, z->page, PROT_READ | PROT_WRITE);
			memcpy(z->ro, z->buf, sizeof(struct qkdkey_bind));
			mprotect(z->ro, z->page, PROT_READ);
		}
		return ioctl(fd, QKDKEY_IOC_BIND, p);
	}
	p = arg_ptr(z, sizeof(struct qkdkey_link_info), 1);
	if (p >= (void *)z->buf && p < (void *)(z->buf + BUFSZ)) {
		struct qkdkey_link_info *li = p;
		int r;

		memset(li, 0, sizeof(*li));
		li->link_id = rn(2) ? 0 : rn(2) ? rn(16) : (uint32_t)rnd();
		if (!rn(20))
			((unsigned char *)li)[4 + rn(sizeof(*li) - 4)] = 1 + rn(255);
		r = ioctl(fd, QKDKEY_IOC_LINK_INFO, li);
		/* well formed: a known state, NUL-terminated strings, zero reserved */
		if (!r && (li->state > QKDKEY_LINK_GONE || li->reserved[0] || li->reserved[1] ||
			   !memchr(li->name, 0, QKDKEY_NAME_LEN) ||
			   !memchr(li->peer, 0, QKDKEY_NAME_LEN) || li->flags & ~7U))
			z->bad++;
		return r;
	}
	return ioctl(fd, QKDKEY_IOC_LINK_INFO, p);
}

static size_t rand_len(void)
{
	switch (rn(10)) {
	case 0: return rn(QKD_HDR + 2);
	case 1: return QKDKEY_READ_MAX + QKD_HDR - 2 + rn(4);
	case 2: return rn(2) ? 1UL << (20 + rn(11)) : rnd() >> 1;
	default: return 1 + rn(rn(4) ? 200 : 8192);
	}
}

static off_t rand_off(void)
{
	return rn(6) ? (off_t)rn(20000) : rn(2) ? -(off_t)rn(100) : (off_t)(rnd() >> rn(64));
}

static void *read_buf(struct dz *z, size_t len)
{
	if (rn(10))
		return z->buf + (len <= BUFSZ - 64 ? rn(64) : 0);
	return arg_ptr(z, len, 1);
}

/* a read-type call on file @i; returns its result and checks success */
static ssize_t do_read(struct dz *z, int i, enum op *opp)
{
	int fd = z->fd[i], nb = z->fl[i] & O_NONBLOCK;
	size_t len = rand_len();
	void *p = read_buf(z, len);
	struct iovec iov[4];
	int flags, n;
	enum op op = *opp;
	ssize_t r;

	if (!nb && (op == OP_READ || op == OP_PREAD || op == OP_READV))
		*opp = op = OP_PREADV2;	/* a blocking file reads with RWF_NOWAIT */
	switch (op) {
	case OP_READ:
		r = read(fd, p, len);
		break;
	case OP_PREAD:
		r = pread(fd, p, len, rand_off());
		break;
	case OP_READV:
		n = rn(10) ? 1 + rn(4) : 0;
		for (int k = 0; k < n; k++) {
			iov[k].iov_len = rn(3) ? rn(300) : rand_len();
			iov[k].iov_base = read_buf(z, iov[k].iov_len);
		}
		r = readv(fd, iov, n);
		len = 0;
		for (int k = 0; k < n; k++)
			len += iov[k].iov_len;
		break;
	default:
		flags = rn(4) ? RWF_NOWAIT : rn(2) ? RWF_HIPRI | RWF_NOWAIT : (int)rnd();
		if (!nb && !(flags & RWF_NOWAIT))
			flags |= RWF_NOWAIT;
		iov[0].iov_base = p;
		iov[0].iov_len = len;
		r = preadv2(fd, iov, 1, rn(2) ? -1 : rand_off(), flags);
		break;
	}
	/* all or nothing: a read never returns fewer bytes than asked */
	if (r >= 0 && (size_t)r != len)
		z->bad++;
	return r;
}

/* a blocking read that a periodic SIGALRM interrupts if it waits */
static ssize_t do_blocking(struct dz *z, int i)
{
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } }, off = {};
	size_t len = QKD_HDR + 1 + rn(100);
	ssize_t r;

	setitimer(ITIMER_REAL, &it, NULL);
	r = rn(2) ? read(z->fd[i], z->buf, len) : pread(z->fd[i], z->buf, len - QKD_HDR, rn(4096));
	setitimer(ITIMER_REAL, &off, NULL);
	return r;
}

void dz_reopen(struct dz *z, int i)
{
	static const int acc[] = { O_RDONLY, O_RDONLY, O_RDONLY, O_RDWR, O_WRONLY };

	if (z->fd[i] >= 0)
		close(z->fd[i]);
	z->fl[i] = acc[rn(5)] | (rn(5) ? O_NONBLOCK : 0) | O_CLOEXEC;
	z->fd[i] = open(QKDKEY_DEVICE_PATH, z->fl[i]);
	if (z->fd[i] < 0)	/* open fails only with ENOMEM */
		z->bad++;
	else if (rn(3)) {	/* most files start bound somewhere */
		struct qkdkey_bind b = { .dir = rn(2) };

		strcpy(b.name, names[rn(NNAMES)]);
		ioctl(z->fd[i], QKDKEY_IOC_BIND, &b);
	}
}

/* one random call; returns 0 or -errno */
int dz_one_op(struct dz *z)
{
	static const uint8_t weight[] = { 10, 8, 14, 10, 14, 12, 6, 8, 8, 2, 4, 1, 2 };
	unsigned int w = rn(99), i = rn(NFD), k = 0;
	enum op op;
	long r;
	void *m;
	struct pollfd pfd;

	while (w >= weight[k]) {
		w -= weight[k];
		k++;
	}
	op = k;
	if (!rn(4000) && !(z->fl[i] & O_NONBLOCK) && (z->fl[i] & O_ACCMODE) != O_WRONLY)
		op = OP_BLOCKING;
	switch (op) {
	case OP_IOC_OTHER: case OP_IOC_MAGIC: case OP_BIND: case OP_INFO:
		r = do_ioctl(z, z->fd[i], &op);
		break;
	case OP_POLL:
		pfd.fd = z->fd[i];
		pfd.events = rn(4) ? POLLIN : (short)rnd();
		r = poll(&pfd, 1, 0);
		if (r < 0 || (r && pfd.revents & ~(POLLIN | POLLRDNORM | POLLERR | POLLHUP)))
			z->bad++;
		break;
	case OP_WRITE:
		r = write(z->fd[i], rn(4) ? z->buf : arg_ptr(z, 64, 0), rn(3) ? rn(100) : rand_len());
		if (r >= 0)
			z->bad++;
		break;
	case OP_LSEEK:
		r = lseek(z->fd[i], rand_off(), rn(4) ? rn(2) : rn(8));
		break;
	case OP_MMAP:
		m = mmap(NULL, z->page, rn(2) ? PROT_READ : PROT_READ | PROT_WRITE,
			 rn(2) ? MAP_PRIVATE : MAP_SHARED, z->fd[i], 0);
		r = m == MAP_FAILED ? -1 : 0;
		if (!r) {
			z->bad++;
			munmap(m, z->page);
		}
		break;
	case OP_OPEN:
		dz_reopen(z, i);
		r = 0;
		break;
	case OP_BLOCKING:
		r = do_blocking(z, i);
		break;
	default:
		r = do_read(z, i, &op);
		break;
	}
	z->n[op]++;
	if (r < 0) {
		int e = errno;

		z->errs[op][e < 127 ? e : 127]++;
		if (!(allowed[op] & E(e)))
			z->bad++;
		return -e;
	}
	z->ok[op]++;
	return 0;
}
