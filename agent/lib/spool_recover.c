// SPDX-License-Identifier: GPL-2.0
/*
 * spool_open(): lock the directory, read the ack cursor, scan and validate
 * the segments, cut a torn tail of the last one. The rule is stated in
 * spool.h ("Recovery rule"); the numbers below refer to it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_int.h"

struct open_ctx {
	struct spool *sp;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct open_ctx *c, int r, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int open_dir(struct open_ctx *c, const char *dir)
{
	char *copy;
	int fd, pfd, r = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : fail(c, -errno, "%s: %s", dir,
					   strerror(errno));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return fail(c, -errno, "mkdir %s: %s", dir, strerror(errno));
	/* Make the new directory's entry durable. */
	copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	pfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || (r = fsync_fd(pfd, false)))
		r = fail(c, pfd < 0 ? -errno : r, "fsync parent of %s", dir);
	if (pfd >= 0)
		close_fd(pfd);
	free(copy);
	if (r)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : fail(c, -errno, "%s: %s", dir, strerror(errno));
}

/* 0, 1 if there is no ack file, or -errno. */
static int read_ack(struct open_ctx *c)
{
	uint8_t buf[ACK_FILE_LEN + 1];
	ssize_t n;
	int fd, r;

	if (unlinkat(c->sp->dirfd, ACK_TMP_NAME, 0) < 0 && errno != ENOENT)
		return fail(c, -errno, "unlink %s: %s", ACK_TMP_NAME,
			    strerror(errno));
	fd = openat(c->sp->dirfd, ACK_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return fail(c, -errno, "%s: %s", ACK_NAME, strerror(errno));
	}
	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : 0;
	close_fd(fd);
	if (r)
		return fail(c, r, "%s: %s", ACK_NAME, strerror(-r));
	if (ack_decode(buf, (size_t)n, &c->sp->ack_seq, &c->sp->salt))
		return fail(c, -EBADMSG, "%s: corrupt ack file", ACK_NAME);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int list_segs(struct open_ctx *c, uint64_t **out, size_t *n)
{
	size_t cap = 0;
	struct dirent *de;
	uint64_t *v = NULL, seq;
	DIR *d;
	int fd = dup(c->sp->dirfd);

	*n = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		int r = -errno;

		if (fd >= 0)
			close_fd(fd);
		return fail(c, r, "readdir: %s", strerror(-r));
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d))) {
		if (!seg_name_parse(de->d_name, &seq))
			continue;
		if (*n == cap) {
			uint64_t *p;

			cap = cap ? cap * 2 : 64;
			p = realloc(v, cap * sizeof(*v));
			if (!p) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = p;
		}
		v[(*n)++] = seq;
	}
	if (errno) {
		int r = -errno;

		closedir(d);
		free(v);
		return fail(c, r, "readdir: %s", strerror(-r));
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_u64);
	*out = v;
	return 0;
}

/*
 * Rule 3: a valid frame at an aligned offset of [from, size) with a group
 * above s. Only candidates whose group field is above s get the CRC.
 */
static bool later_write_at(const uint8_t *buf, size_t size, size_t from,
			   uint64_t salt, uint64_t s, size_t *where,
			   uint64_t *seq)
{
	uint64_t group;

	for (size_t off = (from + 7) & ~(size_t)7;
	     off + SPOOL_FRAME_HDR_LEN <= size; off += 8) {
		if (get_le64(buf + off + 16) <= s)
			continue;
		if (frame_check(buf + off, size - off, salt, seq, &group,
				NULL)) {
			*where = off;
			return true;
		}
	}
	return false;
}

static int cut_tail(struct open_ctx *c, const char *name, int fd,
		    size_t x, size_t size)
{
	struct spool *sp = c->sp;
	int r = 0;

	if (x >= SPOOL_SEG_HDR_LEN) {
		if (ftruncate(fd, (off_t)x) < 0)
			r = -errno;
		else
			r = fsync_fd(fd, false);
	} else {
		if (unlinkat(sp->dirfd, name, 0) < 0)
			r = -errno;
		else
			r = fsync_fd(sp->dirfd, false);
		sp->st.torn_files++;
	}
	if (r)
		return fail(c, r, "%s: cutting torn tail at %zu: %s", name, x,
			    strerror(-r));
	sp->st.torn_bytes += size - x;
	return 0;
}

/* Scans one segment; *expected is the seq it must start with (0: any). */
static int scan_seg(struct open_ctx *c, uint64_t first, bool last,
		    uint64_t *expected)
{
	struct spool *sp = c->sp;
	struct spool_seg *seg = NULL;
	char name[SEG_NAME_LEN];
	uint64_t s = first, hseq = 0, seq, group, lseq;
	size_t size, off = SPOOL_SEG_HDR_LEN, x, where;
	uint8_t *buf = NULL;
	struct stat stb;
	int fd, h, r;

	seg_name(name, first);
	if (*expected && first != *expected)
		return fail(c, -EBADMSG, "%s: expected a segment starting at seq %llu: records %s",
			    name, (unsigned long long)*expected,
			    first > *expected ? "missing" : "overlap");
	fd = openat(sp->dirfd, name, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &stb) < 0) {
		r = fail(c, -errno, "%s: %s", name, strerror(errno));
		goto out;
	}
	if ((uint64_t)stb.st_size > MAX_SEGMENT_BYTES + SPOOL_FRAME_MAX) {
		r = fail(c, -EFBIG, "%s: too large", name);
		goto out;
	}
	size = (size_t)stb.st_size;
	buf = malloc(size ? size : 1);
	seg = seg_new(first);
	if (!buf || !seg) {
		r = -ENOMEM;
		goto out;
	}
	r = read_all(fd, buf, size, 0);
	if (r) {
		r = fail(c, r, "%s: read: %s", name, strerror(-r));
		goto out;
	}
	h = seg_hdr_check(buf, size, &hseq);
	if (h < 0 || (h > 0 && hseq != first)) {
		r = fail(c, -EBADMSG, "%s: header has a valid CRC but wrong contents",
			 name);
		goto out;
	}
	while (h > 0 && off < size) {
		size_t fsz = frame_check(buf + off, size - off, sp->salt,
					 &seq, &group, NULL);

		if (!fsz || seq != s)
			break;
		r = seg_index_add(seg, off + fsz);
		if (r)
			goto out;
		off += fsz;
		s++;
	}
	x = h > 0 ? off : 0;
	if (x < size || h <= 0) {
		if (!last) {
			r = fail(c, -EBADMSG, "%s: bad %s at offset %zu (expected seq %llu) in a segment that is not the last: corrupt accepted data",
				 name, h > 0 ? "frame" : "header", x,
				 (unsigned long long)s);
			goto out;
		}
		if (later_write_at(buf, size, x, sp->salt, s, &where,
				   &lseq)) {
			r = fail(c, -EBADMSG, "%s: bad %s at offset %zu (expected seq %llu) but frame seq %llu at offset %zu was written after it: corrupt accepted data",
				 name, h > 0 ? "frame" : "header", x,
				 (unsigned long long)s,
				 (unsigned long long)lseq, where);
			goto out;
		}
		r = cut_tail(c, name, fd, x, size);
		if (r || h <= 0)
			goto out;	/* whole file torn: gone */
	}
	seg->created = seg->hdr_durable = true;
	seg->ndurable = seg->nrec;
	r = seg_push(sp, seg);
	if (r)
		goto out;
	if (last) {
		seg->fd = fd;
		fd = -1;
	}
	seg = NULL;
	*expected = s;
out:
	if (fd >= 0)
		close_fd(fd);
	seg_free(seg);
	free(buf);
	return r;
}

/*
 * No ack file: a new spool, which gets one (ack seq 0 and a new salt)
 * before any segment may exist. Segments without it mean damage.
 */
static int new_spool(struct open_ctx *c, size_t nsegs)
{
	uint8_t s[8];
	ssize_t n;
	int r;

	if (nsegs)
		return fail(c, -EBADMSG, "%s: missing, but there are segments",
			    ACK_NAME);
	do
		n = getrandom(s, sizeof(s), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(s))
		return fail(c, n < 0 ? -errno : -EIO, "getrandom failed");
	c->sp->salt = get_le64(s);
	r = spool_write_ack(c->sp, 0);
	if (r)
		return fail(c, r, "%s: %s", ACK_NAME, strerror(-r));
	return 0;
}

static int recover(struct open_ctx *c)
{
	struct spool *sp = c->sp;
	uint64_t *firsts = NULL, expected = 0;
	size_t n, f = 0;
	int r, fresh;

	fresh = read_ack(c);
	if (fresh < 0)
		return fresh;
	r = list_segs(c, &firsts, &n);
	if (r)
		return r;
	if (fresh) {
		r = new_spool(c, n);
		if (r)
			goto out;
	}
	if (n && firsts[0] > sp->ack_seq + 1) {
		r = fail(c, -EBADMSG, "first segment starts at seq %llu but only seqs up to %llu are acked: records missing",
			 (unsigned long long)firsts[0],
			 (unsigned long long)sp->ack_seq);
		goto out;
	}
	/* Rule 1: segments before F hold only acked records. */
	while (f + 1 < n && firsts[f + 1] <= sp->ack_seq + 1)
		f++;
	for (size_t i = 0; i < f; i++) {
		char name[SEG_NAME_LEN];

		seg_name(name, firsts[i]);
		if (unlinkat(sp->dirfd, name, 0) < 0 && errno != ENOENT)
			sp->st.trim_errors++;
	}
	for (size_t i = f; i < n && !r; i++)
		r = scan_seg(c, firsts[i], i + 1 == n, &expected);
	if (r)
		goto out;
	if (!expected)
		expected = n ? firsts[n - 1] : 1;
	if (sp->nsegs && expected - 1 < sp->ack_seq) {
		r = fail(c, -EBADMSG, "ack seq %llu is beyond the last record %llu",
			 (unsigned long long)sp->ack_seq,
			 (unsigned long long)(expected - 1));
		goto out;
	}
	sp->next_seq = expected > sp->ack_seq ? expected : sp->ack_seq + 1;
	sp->durable_seq = sp->next_seq - 1;
	spool_trim(sp);
	sp->pending_bytes = spool_bytes_between(sp, sp->ack_seq + 1,
						sp->durable_seq);
	sp->st.recovered_records = sp->durable_seq - sp->ack_seq;
out:
	free(firsts);
	return r;
}

int spool_open(const char *dir, const struct spool_opts *opts,
	       struct spool **out, char *err, size_t errlen)
{
	struct open_ctx c = { .err = err, .errlen = errlen };
	struct spool *sp;
	int r;

	if (err && errlen)
		err[0] = '\0';
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	c.sp = sp;
	sp->rd_fd = -1;
	if (opts)
		sp->opts = *opts;
	if (!sp->opts.segment_bytes)
		sp->opts.segment_bytes = DEF_SEGMENT_BYTES;
	if (!sp->opts.max_pending_bytes)
		sp->opts.max_pending_bytes = DEF_PENDING_BYTES;
	sp->dirfd = -1;
	if (sp->opts.segment_bytes < MIN_SEGMENT_BYTES ||
	    sp->opts.segment_bytes > MAX_SEGMENT_BYTES ||
	    sp->opts.max_pending_bytes < SPOOL_FRAME_MAX) {
		r = fail(&c, -EINVAL, "bad spool options");
		goto out;
	}
	r = sp->dirfd = open_dir(&c, dir);
	if (r < 0)
		goto out;
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) < 0) {
		r = fail(&c, -errno, "%s: locked by another process: %s", dir,
			 strerror(errno));
		goto out;
	}
	r = recover(&c);
out:
	if (r < 0) {
		spool_close(sp);
		return r;
	}
	*out = sp;
	return 0;
}
