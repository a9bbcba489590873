// SPDX-License-Identifier: GPL-2.0
/*
 * kcov_fuzz_test's mutations of a program (kcov_fuzz.h). Most work inside
 * one record and keep its length field right: bit flips, random bytes,
 * interesting values and small sums at 1, 2, 4 or 8 bytes, inserted,
 * deleted and duplicated bytes; in a netlink record also an attribute's
 * length, set to a wrong value or resized with its payload (the enclosing
 * nest and the message follow). Others work on whole records: drop,
 * duplicate, swap, one from another program, a fresh gen_msg() message,
 * the fix-up bits of the kind byte, a splice of two programs; and rarely a
 * byte anywhere, record headers included.
 */
#include <string.h>

#include "kcov_fuzz.h"
#include "fuzz_util.h"

#define ATTRS_MAX	64

static unsigned char tmp[PROG_MAX];

static const uint64_t interesting[] = {
	0, 1, 2, 3, 4, 7, 8, 16, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
	0x10000, 4095, 4096, 32768, 32769, 65535 + 24, 110000, 1000000, 1000001,
	268435456, 268435457, 0x7fffffff, 0x80000000, 0xffffffff,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
};
#define NINTERESTING (sizeof(interesting) / sizeof(interesting[0]))

void kf_mut_seed(uint64_t seed)
{
	rs = seed;
}

/* @len bytes at @at: inserted from @src (NULL: random) or, @del, removed */
static int splice_bytes(unsigned char *p, size_t *n, size_t at, const void *src,
			size_t len, int del)
{
	if (del) {
		memmove(p + at, p + at + len, *n - at - len);
		*n -= len;
		return 0;
	}
	if (*n + len > PROG_MAX)
		return -1;
	memmove(p + at + len, p + at, *n - at);
	for (size_t i = 0; i < len; i++)
		p[at + i] = src ? ((const unsigned char *)src)[i] : rnd();
	*n += len;
	return 0;
}

static void set_len16(unsigned char *p, size_t len)
{
	p[0] = len;
	p[1] = len >> 8;
}

/* record @r's payload gains @d bytes at @at (or loses -@d from @at) */
static int rec_resize(unsigned char *p, size_t *n, struct rec *r, size_t at,
		      long d, const void *src)
{
	if (d > 0 && (r->len + d > 0xffff || splice_bytes(p, n, at, src, d, 0)))
		return -1;
	if (d < 0)
		splice_bytes(p, n, at, NULL, -d, 1);
	r->len += d;
	set_len16(p + r->off + 1, r->len);
	return 0;
}

/* a netlink record's attributes, top level and one nest down */
struct attr {
	size_t off, parent;	/* parent 0: the message */
};

static int find_attrs(const unsigned char *p, const struct rec *r, struct attr *a)
{
	size_t start = r->off + REC_HDR, end = start + r->len, pos;
	int na = 0, top;

	pos = start + NLMSG_HDRLEN + GENL_HDRLEN;
	for (; pos + 4 <= end && na < ATTRS_MAX; pos += NLA_ALIGN(p[pos] | p[pos + 1] << 8)) {
		if ((p[pos] | p[pos + 1] << 8) < 4)
			break;
		a[na].off = pos;
		a[na++].parent = 0;
	}
	top = na;
	for (int i = 0; i < top; i++) {
		size_t o = a[i].off, alen = p[o] | p[o + 1] << 8, q;

		if (alen < 8 || o + alen > end)
			continue;
		for (q = o + 4; q + 4 <= o + alen && na < ATTRS_MAX;
		     q += NLA_ALIGN(p[q] | p[q + 1] << 8)) {
			if ((p[q] | p[q + 1] << 8) < 4)
				break;
			a[na].off = q;
			a[na++].parent = o;
		}
	}
	return na;
}

static void add_len16(unsigned char *p, long d)
{
	set_len16(p, (p[0] | p[1] << 8) + d);
}

/* a wrong attribute length, or an attribute resized with everything around it */
static void mutate_attr(unsigned char *p, size_t *n, struct rec *r)
{
	struct attr a[ATTRS_MAX];
	int na = find_attrs(p, r, a), i;
	size_t o, alen;
	long d;

	if (!na)
		return;
	i = rn(na);
	o = a[i].off;
	alen = p[o] | p[o + 1] << 8;
	if (rn(2)) {
		static const long v[] = { 0, 3, 4, 5, 8, 0xffff };

		set_len16(p + o, rn(2) ? v[rn(6)] : (long)alen + (long)rn(17) - 8);
		return;
	}
	d = rn(2) ? (long)rn(9) - 4 : (long)interesting[rn(8)] - (long)alen + 4;
	if (d < 0 && (size_t)-d > alen - 4)
		d = -(long)(alen - 4);
	if (!d || o + alen > r->off + REC_HDR + r->len ||
	    rec_resize(p, n, r, o + (d > 0 ? alen : alen + d), d, NULL))
		return;
	add_len16(p + o, d);
	if (a[i].parent)
		add_len16(p + a[i].parent, d);
	/* nlmsg_len, when it described the whole datagram */
	if (r->len - d >= 4) {
		uint32_t nl;

		memcpy(&nl, p + r->off + REC_HDR, 4);
		if (nl == r->len - d) {
			nl += d;
			memcpy(p + r->off + REC_HDR, &nl, 4);
		}
	}
}

/* one change inside the payload of record @r */
static void mutate_payload(unsigned char *p, size_t *n, struct rec *r)
{
	size_t ps = r->off + REC_HDR, len = r->len, w = 1 << rn(4), k, at, src;
	uint64_t v = 0;

	switch (rn(9)) {
	case 0:
		if (len)
			p[ps + rn(len)] ^= 1 << rn(8);
		break;
	case 1:
		if (len)
			p[ps + rn(len)] = rnd();
		break;
	case 2:
	case 3:		/* an interesting value, or a small sum */
		if (len < w)
			break;
		at = ps + rn(len - w + 1);
		memcpy(&v, p + at, w);
		v = rn(2) ? interesting[rn(NINTERESTING)] : v + rn(33) - 16;
		memcpy(p + at, &v, w);	/* little endian, like netlink */
		break;
	case 4:
		k = 1 + rn(rn(4) ? 4 : 64);
		rec_resize(p, n, r, ps + rn(len + 1), k, NULL);
		break;
	case 5:
		if (!len)
			break;
		k = 1 + rn(len < 16 ? len : 16);
		rec_resize(p, n, r, ps + rn(len - k + 1), -(long)k, NULL);
		break;
	case 6:		/* duplicate a range */
		if (!len)
			break;
		k = 1 + rn(len < 64 ? len : 64);
		src = ps + rn(len - k + 1);
		memcpy(tmp, p + src, k);
		rec_resize(p, n, r, ps + rn(len + 1), k, tmp);
		break;
	default:
		if (((p[r->off] & 7) % NKINDS) == K_NL)
			mutate_attr(p, n, r);
		else if (len)
			p[ps + rn(len)] = rn(2) ? rn(NSLOT) : rn(8);	/* slot, sel, mode */
		break;
	}
}

/* inserts record @j of program @o before record @i of @p */
static void insert_rec(unsigned char *p, size_t *n, const struct rec *r, int nr, int i,
		       const unsigned char *o, const struct rec *rj)
{
	size_t at = i < nr ? r[i].off : *n;

	splice_bytes(p, n, at, o + rj->off, REC_HDR + rj->len, 0);
	set_len16(p + at + 1, rj->len);
}

/* the first @a records of @p, then the records of @o from its @b-th on */
static size_t splice_progs(unsigned char *p, size_t n, const struct rec *r, int nr,
			   const unsigned char *o, size_t on)
{
	struct rec ro[REC_MAX];
	int nro = rec_parse(o, on, ro, REC_MAX), a = rn(nr + 1), b;
	size_t len = a < nr ? r[a].off : n;

	if (!nro)
		return n;
	for (b = rn(nro); b < nro && a++ < REC_MAX; b++)
		len = rec_put(p, len, o[ro[b].off], o + ro[b].off + REC_HDR, ro[b].len);
	return len;
}

size_t kf_mutate(struct kf *k, unsigned char *p, size_t n,
		 const unsigned char *o, size_t on)
{
	for (int m = 1 + rn(rn(3) ? 3 : 8); m > 0; m--) {
		struct rec r[REC_MAX], ro[REC_MAX];
		int nr = rec_parse(p, n, r, REC_MAX), i = rn(nr), nro, t = rn(100);
		size_t g;

		if (!nr || t < 3) {		/* a fresh message */
			g = rec_gen_msg(k, tmp, 0);
			if (nr < REC_MAX && g)
				splice_bytes(p, &n, nr ? r[i].off : n, tmp, g, 0);
		} else if (t < 60) {
			mutate_payload(p, &n, &r[i]);
		} else if (t < 66) {		/* replace a record by a fresh message */
			g = rec_gen_msg(k, tmp, 0);
			if (g && n - REC_HDR - r[i].len + g <= PROG_MAX) {
				splice_bytes(p, &n, r[i].off, NULL, REC_HDR + r[i].len, 1);
				splice_bytes(p, &n, r[i].off, tmp, g, 0);
			}
		} else if (t < 72) {
			if (nr > 1)
				splice_bytes(p, &n, r[i].off, NULL, REC_HDR + r[i].len, 1);
		} else if (t < 76) {		/* duplicate a record */
			if (nr < REC_MAX) {
				memcpy(tmp, p + r[i].off, REC_HDR + r[i].len);
				insert_rec(p, &n, r, nr, rn(nr + 1), tmp,
					   &(struct rec){ 0, r[i].len });
			}
		} else if (t < 80) {		/* swap two neighbours */
			if (i + 1 < nr) {
				size_t l0 = REC_HDR + r[i].len;

				memcpy(tmp, p + r[i].off, l0);
				memmove(p + r[i].off, p + r[i + 1].off, REC_HDR + r[i + 1].len);
				memcpy(p + r[i].off + REC_HDR + r[i + 1].len, tmp, l0);
			}
		} else if (t < 87) {		/* a record from another program */
			nro = rec_parse(o, on, ro, REC_MAX);
			if (nro && nr < REC_MAX)
				insert_rec(p, &n, r, nr, rn(nr + 1), o, &ro[rn(nro)]);
		} else if (t < 92) {
			n = splice_progs(p, n, r, nr, o, on);
		} else if (t < 97) {		/* the kind, or its fix-up bits */
			p[r[i].off] ^= rn(2) ? K_FIX_TYPE << rn(3) : 1 << rn(3);
		} else {
			p[rn(n)] = rnd();
		}
	}
	return n;
}
