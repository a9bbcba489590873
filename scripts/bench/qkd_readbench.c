// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-readbench: throughput of /dev/qkdkey TX reads next to /dev/zero and
 * /dev/urandom, measured the same way in the same run, with read(2) and
 * with io_uring. Meant to run inside the test VM (scripts/bench-keys) with
 * qkdkey.ko and qkd_sim.ko loaded; it never loads anything itself.
 *
 * What is timed is the read path, not the simulator: the link's TX pool is
 * filled (qkd_sim's rate raised) before each case and topped up between
 * repetitions, the simulator is paused (rate 0) whenever reads are timed,
 * and only pooled bytes are read: a count of reads that fits the pool,
 * O_NONBLOCK so a read can never block, each return value and header
 * checked (length, link, epoch, offsets strictly increasing without
 * overlap). A measurement runs until its time budget is spent or the key
 * pooled at its start is read, whichever comes first (then it refills, at
 * most --rounds times); refills and pauses are not timed.
 *
 * The guest's speed under QEMU TCG swings between modes for tenths of a
 * second, so a case is many short repetitions, each measuring the three
 * devices back to back; ratios are taken within a repetition and the
 * median is reported.
 *
 * For qkdkey a read of N bytes means N key bytes: the buffer is
 * sizeof(struct qkdkey_tx_hdr) + N and MB/s counts key bytes only.
 * /dev/zero and /dev/urandom are read with N-byte buffers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <liburing.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/qkdkey.h>

#define HDR		sizeof(struct qkdkey_tx_hdr)
#define MAX_SIZES	8
#define MAX_REPS	99
#define MAX_DEPTH	64
#define SEQ_WINDOW	64	/* >= MAX_DEPTH: offsets awaiting the order check */

enum dev { DEV_ZERO, DEV_URANDOM, DEV_QKD, NDEV };
enum api { API_READ, API_URING, NAPI };

static const char *const dev_name[NDEV] = { "zero", "urandom", "qkdkey" };
static const char *const dev_path[NDEV] = { "/dev/zero", "/dev/urandom", QKDKEY_DEVICE_PATH };
static const char *const api_name[NAPI] = { "read(2)", "io_uring" };

static struct {
	double time;			/* timed seconds per measurement */
	int reps;
	size_t sizes[MAX_SIZES];
	int nsizes;
	unsigned int depth;
	int rounds;			/* pool refills per qkdkey measurement, at most */
	const char *link;
	const char *rate_path;
	unsigned long fill_rate;
	double fill_timeout;
	bool verbose;
	bool strict;
	bool apis[NAPI];
	bool devs[NDEV];
	int perf_ctl, perf_ack;		/* perf record --control fds, or -1 */
	int cpu;			/* pin to this CPU; -1: the last one, -2: none */
} opt = {
	.time = 0.05,
	.reps = 21,
	.sizes = { 32, 4096, 65536 },
	.nsizes = 3,
	.depth = 32,
	.rounds = 4,
	.link = "sim0a",
	.rate_path = "/sys/module/qkd_sim/parameters/rate",
	.fill_rate = 4000000000UL,
	.fill_timeout = 120,
	.apis = { true, true },
	.devs = { true, true, true },
	.perf_ctl = -1,
	.perf_ack = -1,
	.cpu = -1,
};

struct result {
	uint64_t ops;
	uint64_t bytes;		/* payload (key) bytes */
	double secs;		/* timed seconds */
	int rounds;		/* pool refills (qkdkey) */
};

/* What a qkdkey reader has seen so far: the order check spans the run. */
struct checker {
	uint32_t link_id;
	uint64_t epoch;
	bool have_prev;
	uint64_t prev_end;	/* offset + length of the last read, in order */
	uint64_t reads, bytes;	/* reads checked, key bytes in them */
	/* io_uring completions may come out of order: check in issue order */
	uint64_t next_seq;
	uint64_t win_off[SEQ_WINDOW];
	bool win_have[SEQ_WINDOW];
};

static struct {
	double fill_secs;
	uint64_t fill_bytes;
	int fills;
} stats;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("qkd-readbench: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/*
 * With --perf-ctl, `perf record -D -1 --control fifo:CTL,ACK` samples only
 * the timed stretches: enable before, disable after, each acknowledged.
 */
static void perf_ctl(const char *cmd)
{
	char ack[16];
	size_t len = strlen(cmd);

	if (opt.perf_ctl < 0)
		return;
	if (write(opt.perf_ctl, cmd, len) != (ssize_t)len)
		die("perf control: %s", strerror(errno));
	if (read(opt.perf_ack, ack, sizeof(ack)) <= 0)
		die("perf control: no ack");
}

/* ------------------------------------------------------------ the pool */

static void set_rate(unsigned long rate)
{
	char s[32];
	int fd, n;

	fd = open(opt.rate_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s (is qkd_sim.ko loaded?)", opt.rate_path, strerror(errno));
	n = snprintf(s, sizeof(s), "%lu\n", rate);
	if (write(fd, s, n) != n)
		die("write %s: %s", opt.rate_path, strerror(errno));
	close(fd);
}

static void link_info(int fd, struct qkdkey_link_info *info)
{
	memset(info, 0, sizeof(*info));
	if (ioctl(fd, QKDKEY_IOC_LINK_INFO, info))
		die("QKDKEY_IOC_LINK_INFO: %s", strerror(errno));
	if (info->state != QKDKEY_LINK_UP)
		die("link %s is not up (state %u)", opt.link, info->state);
}

/*
 * Tops the TX pool up to its limit, then pauses the simulator and waits
 * until no tick is still delivering. Returns the pooled key bytes.
 */
static uint64_t refill_pool(int fd)
{
	struct qkdkey_link_info info;
	double t0 = now(), last_change;
	uint64_t before, last;
	int same;

	link_info(fd, &info);
	before = last = info.tx_avail;
	if (info.tx_avail < info.pool_limit) {
		set_rate(opt.fill_rate);
		last_change = now();
		for (;;) {
			sleep_s(0.01);
			link_info(fd, &info);
			if (info.tx_avail >= info.pool_limit)
				break;
			if (info.tx_avail != last) {
				last = info.tx_avail;
				last_change = now();
			} else if (now() - last_change > 2.0) {
				break;	/* full as far as memory limits allow */
			}
			if (now() - t0 > opt.fill_timeout)
				die("pool refill: %" PRIu64 " of %u bytes after %.0f s",
				    (uint64_t)info.tx_avail, info.pool_limit, opt.fill_timeout);
		}
	}
	set_rate(0);
	/* A tick that read the old rate may still be delivering. */
	last = info.tx_avail;
	for (same = 0; same < 3;) {
		sleep_s(0.015);
		link_info(fd, &info);
		same = info.tx_avail == last ? same + 1 : 0;
		last = info.tx_avail;
	}
	stats.fill_secs += now() - t0;
	stats.fill_bytes += last - before;
	stats.fills++;
	return last;
}

/* ------------------------------------------------------------ checks */

static void check_key(const unsigned char *buf, ssize_t got, size_t n,
		      struct checker *c, uint64_t seq)
{
	struct qkdkey_tx_hdr h;
	uint64_t head = 0;
	unsigned int slot;

	if (got < 0)
		die("qkdkey read of %zu key bytes: %s%s", n, strerror((int)-got),
		    got == -EAGAIN ? " (pool ran dry: the read count must fit the pool)" : "");
	if ((size_t)got != n + HDR)
		die("qkdkey read returned %zd, want %zu", got, n + HDR);
	memcpy(&h, buf, HDR);
	if (h.length != n || h.link_id != c->link_id || h.epoch != c->epoch)
		die("qkdkey header: link %u epoch %llu length %u, want link %u epoch %llu length %zu",
		    h.link_id, (unsigned long long)h.epoch, h.length, c->link_id,
		    (unsigned long long)c->epoch, n);
	/* Wiped or never-filled key would read as zeros (a cheap probe). */
	memcpy(&head, buf + HDR, n < sizeof(head) ? n : sizeof(head));
	if (!head && n >= sizeof(head))
		die("qkdkey read at offset %llu: the first key bytes are all zero",
		    (unsigned long long)h.offset);

	c->reads++;
	c->bytes += n;
	if (seq != c->next_seq) {
		slot = seq % SEQ_WINDOW;
		if (seq < c->next_seq || seq >= c->next_seq + SEQ_WINDOW || c->win_have[slot])
			die("io_uring completion %" PRIu64 " outside the order window", seq);
		c->win_off[slot] = h.offset;
		c->win_have[slot] = true;
		return;
	}
	for (;;) {
		if (c->have_prev && h.offset < c->prev_end)
			die("qkdkey offsets not strictly increasing: %llu after a read ending at %llu",
			    (unsigned long long)h.offset, (unsigned long long)c->prev_end);
		c->have_prev = true;
		c->prev_end = h.offset + n;
		c->next_seq++;
		slot = c->next_seq % SEQ_WINDOW;
		if (!c->win_have[slot])
			break;
		c->win_have[slot] = false;
		h.offset = c->win_off[slot];
	}
}

/* ------------------------------------------------------------ timed loops */

/*
 * Reads @n-byte payloads until @budget seconds pass or @max_ops reads are
 * done; adds what it did to @r.
 */
static void run_read(int fd, enum dev d, size_t n, uint64_t max_ops, double budget,
		     unsigned char *buf, struct checker *c, struct result *r)
{
	size_t len = n + (d == DEV_QKD ? HDR : 0);
	uint64_t ops = 0, bytes = 0;
	double t0, t1;
	ssize_t got;

	t0 = now();
	while (ops < max_ops) {
		got = read(fd, buf, len);
		if (d == DEV_QKD) {
			check_key(buf, got < 0 ? -errno : got, n, c, c->next_seq);
			bytes += n;
		} else if (got <= 0) {
			die("read %s: %s", dev_path[d], got ? strerror(errno) : "EOF");
		} else {
			bytes += got;
		}
		ops++;
		if (!(ops & 15) && now() - t0 >= budget)
			break;
	}
	t1 = now();
	r->ops += ops;
	r->bytes += bytes;
	r->secs += t1 - t0;
}

static void run_uring(struct io_uring *ring, enum dev d, size_t n, uint64_t max_ops,
		      double budget, unsigned char **bufs, struct checker *c,
		      struct result *r)
{
	size_t len = n + (d == DEV_QKD ? HDR : 0);
	unsigned int freeb[MAX_DEPTH], nfree = 0, i, head, seen;
	uint64_t sub = 0, done = 0, bytes = 0, limit = max_ops;
	uint64_t seq0 = c ? c->next_seq : 0;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	double t0, t1;
	int ret;

	for (i = 0; i < opt.depth; i++)
		freeb[nfree++] = i;
	t0 = now();
	while (done < sub || sub < limit) {
		while (sub < limit && nfree) {
			sqe = io_uring_get_sqe(ring);
			if (!sqe)
				die("io_uring: no free SQE");
			i = freeb[--nfree];
			io_uring_prep_read(sqe, 0, bufs[i], len, 0);
			sqe->flags |= IOSQE_FIXED_FILE;
			io_uring_sqe_set_data64(sqe, (seq0 + sub) << 8 | i);
			sub++;
		}
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0)
			die("io_uring_submit_and_wait: %s", strerror(-ret));
		seen = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			i = cqe->user_data & 0xff;
			if (d == DEV_QKD) {
				check_key(bufs[i], cqe->res, n, c, cqe->user_data >> 8);
				bytes += n;
			} else if (cqe->res <= 0) {
				die("io_uring read %s: %s", dev_path[d],
				    cqe->res ? strerror(-cqe->res) : "EOF");
			} else {
				bytes += cqe->res;
			}
			freeb[nfree++] = i;
			done++;
			seen++;
		}
		io_uring_cq_advance(ring, seen);
		if (sub < limit && now() - t0 >= budget)
			limit = sub;	/* stop issuing; reap what is in flight */
	}
	t1 = now();
	r->ops += done;
	r->bytes += bytes;
	r->secs += t1 - t0;
}

/* ------------------------------------------------------------ one measurement */

static int qkd_open_bound(struct checker *c)
{
	struct qkdkey_bind b = { .dir = QKDKEY_DIR_TX };
	struct qkdkey_link_info info;
	int fd;

	fd = open(QKDKEY_DEVICE_PATH, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", QKDKEY_DEVICE_PATH, strerror(errno));
	if (strlen(opt.link) >= sizeof(b.name))
		die("link name too long");
	strcpy(b.name, opt.link);
	if (ioctl(fd, QKDKEY_IOC_BIND, &b))
		die("bind %s TX: %s", opt.link, strerror(errno));
	link_info(fd, &info);
	if (c->link_id && (c->link_id != info.link_id || c->epoch != info.epoch))
		die("link %s changed id or epoch during the run", opt.link);
	c->link_id = info.link_id;
	c->epoch = info.epoch;
	return fd;
}

static unsigned int ring_flags_used;

static void ring_setup(struct io_uring *ring, int fd)
{
	static const unsigned int try_flags[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct io_uring_params p;
	unsigned int k;
	int ret = -EINVAL;

	for (k = 0; k < sizeof(try_flags) / sizeof(try_flags[0]); k++) {
		memset(&p, 0, sizeof(p));
		p.flags = try_flags[k];
		ret = io_uring_queue_init_params(opt.depth, ring, &p);
		if (!ret) {
			ring_flags_used = try_flags[k];
			break;
		}
	}
	if (ret)
		die("io_uring_queue_init: %s", strerror(-ret));
	ret = io_uring_register_files(ring, &fd, 1);
	if (ret)
		die("io_uring_register_files: %s", strerror(-ret));
}

static void measure(enum dev d, enum api a, size_t n, unsigned char **bufs,
		    struct checker *c, struct result *r)
{
	struct qkdkey_link_info info;
	struct io_uring ring;
	uint64_t avail, max_ops;
	double left;
	int fd;

	memset(r, 0, sizeof(*r));
	if (d == DEV_QKD) {
		fd = qkd_open_bound(c);
	} else {
		fd = open(dev_path[d], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("open %s: %s", dev_path[d], strerror(errno));
	}
	if (a == API_URING)
		ring_setup(&ring, fd);

	if (d != DEV_QKD) {
		perf_ctl("enable\n");
		if (a == API_READ)
			run_read(fd, d, n, UINT64_MAX, opt.time, bufs[0], NULL, r);
		else
			run_uring(&ring, d, n, UINT64_MAX, opt.time, bufs, NULL, r);
		perf_ctl("disable\n");
	} else {
		/*
		 * Rounds of: drain at most what the pool holds, refill with the
		 * sim paused again. The first round reads the pool that was
		 * filled at the start of this repetition.
		 */
		while (r->rounds < opt.rounds && (left = opt.time - r->secs) > 0) {
			if (r->rounds) {
				avail = refill_pool(fd);
			} else {
				link_info(fd, &info);
				avail = info.tx_avail;
			}
			max_ops = avail / n;
			if (!max_ops)
				die("pool holds %" PRIu64 " bytes, less than one read of %zu",
				    avail, n);
			r->rounds++;
			perf_ctl("enable\n");
			if (a == API_READ)
				run_read(fd, d, n, max_ops, left, bufs[0], c, r);
			else
				run_uring(&ring, d, n, max_ops, left, bufs, c, r);
			perf_ctl("disable\n");
		}
	}
	if (a == API_URING)
		io_uring_queue_exit(&ring);
	close(fd);
}

/* ------------------------------------------------------------ report */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double rate_mbs(const struct result *r)
{
	return r->bytes / r->secs / 1e6;
}

struct summary {
	double ops[NDEV];	/* median ops/s */
	double mbs[NDEV];	/* median MB/s (10^6 payload bytes) */
	/* qkdkey over zero and over urandom: median, quartiles of the reps */
	double ratio[2], rmin[2], rmax[2];
};

/*
 * Each repetition measures the three devices back to back, so a ratio is
 * taken within a repetition (drift of the host hits both sides alike) and
 * the median over repetitions is reported.
 */
static void summarize(struct result rs[NDEV][MAX_REPS], int reps, struct summary *s)
{
	double v[MAX_REPS];
	int d, k, b;

	memset(s, 0, sizeof(*s));
	for (d = 0; d < NDEV; d++) {
		if (!opt.devs[d])
			continue;
		for (k = 0; k < reps; k++)
			v[k] = rs[d][k].ops / rs[d][k].secs;
		s->ops[d] = median(v, reps);
		for (k = 0; k < reps; k++)
			v[k] = rate_mbs(&rs[d][k]);
		s->mbs[d] = median(v, reps);
	}
	if (!opt.devs[DEV_QKD])
		return;
	for (b = 0; b < 2; b++) {
		if (!opt.devs[b])
			continue;
		for (k = 0; k < reps; k++)
			v[k] = rate_mbs(&rs[DEV_QKD][k]) / rate_mbs(&rs[b][k]);
		s->ratio[b] = median(v, reps);
		/* quartiles, by the nearest rank */
		s->rmin[b] = v[(reps - 1) / 4];
		s->rmax[b] = v[reps - 1 - (reps - 1) / 4];
	}
}

static const char *size_str(size_t n)
{
	static char s[4][32];
	static int k;

	k = (k + 1) % 4;
	if (n >= 1024 && n % 1024 == 0)
		snprintf(s[k], sizeof(s[k]), "%zu KiB", n / 1024);
	else
		snprintf(s[k], sizeof(s[k]), "%zu B", n);
	return s[k];
}

static const char *num(double v)
{
	static char s[8][32];
	static int k;

	k = (k + 1) % 8;
	if (v >= 100)
		snprintf(s[k], sizeof(s[k]), "%.0f", v);
	else if (v >= 10)
		snprintf(s[k], sizeof(s[k]), "%.1f", v);
	else
		snprintf(s[k], sizeof(s[k]), "%.2f", v);
	return s[k];
}

static int size_index(size_t n)
{
	int i;

	for (i = 0; i < opt.nsizes; i++)
		if (opt.sizes[i] == n)
			return i;
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: qkd-readbench [OPTIONS]\n"
"Read throughput of /dev/qkdkey TX next to /dev/zero and /dev/urandom,\n"
"with read(2) and io_uring. Needs qkdkey.ko and qkd_sim.ko loaded (run it\n"
"through scripts/bench-keys, which does that in a VM).\n"
"\n"
"  -s, --sizes LIST    key bytes per read, comma separated (default 32,4096,65536)\n"
"  -t, --time SEC      timed seconds per measurement (default 0.05)\n"
"  -r, --reps N        repetitions per case, medians are reported (default 21)\n"
"  -R, --rounds N      pool refills per qkdkey measurement, at most (default 4)\n"
"  -d, --depth N       io_uring reads in flight (default 32, max %d)\n"
"  -l, --link NAME     link whose TX stream is read (default sim0a)\n"
"  -c, --cpu N         pin to CPU N (default: the last CPU; 'none': no pinning)\n"
"      --api LIST      read,uring (default both)\n"
"      --dev LIST      zero,urandom,qkdkey (default all; ratios need all)\n"
"      --fill-rate B   qkd_sim rate while refilling, bytes/s (default 4000000000)\n"
"      --strict        exit 2 if a target is not met\n"
"      --perf-ctl C,A  profile only timed reads: perf record -D -1\n"
"                      --control fifo:C,A (C, A: FIFOs made with mkfifo)\n"
"  -v, --verbose       print every measurement\n"
"  -h, --help          this help\n", MAX_DEPTH);
}

static void parse_sizes(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL, *end;
	unsigned long v;

	opt.nsizes = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		errno = 0;
		v = strtoul(tok, &end, 10);
		if (*end == 'k' || *end == 'K')
			v *= 1024, end++;
		if (errno || *end || !v || v > QKDKEY_READ_MAX || opt.nsizes == MAX_SIZES)
			die("bad --sizes entry '%s' (1..%d, at most %d entries)", tok,
			    QKDKEY_READ_MAX, MAX_SIZES);
		opt.sizes[opt.nsizes++] = v;
	}
	free(copy);
	if (!opt.nsizes)
		die("--sizes is empty");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ "reps", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "depth", required_argument, NULL, 'd' },
		{ "link", required_argument, NULL, 'l' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "api", required_argument, NULL, 'A' },
		{ "dev", required_argument, NULL, 'D' },
		{ "fill-rate", required_argument, NULL, 'F' },
		{ "strict", no_argument, NULL, 'S' },
		{ "perf-ctl", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:t:r:R:d:l:c:vh", lo, NULL)) != -1) {
		switch (ch) {
		case 's': parse_sizes(optarg); break;
		case 't': opt.time = atof(optarg); break;
		case 'r': opt.reps = atoi(optarg); break;
		case 'R': opt.rounds = atoi(optarg); break;
		case 'd': opt.depth = atoi(optarg); break;
		case 'l': opt.link = optarg; break;
		case 'c': opt.cpu = strcmp(optarg, "none") ? atoi(optarg) : -2; break;
		case 'A':
			opt.apis[API_READ] = strstr(optarg, "read") != NULL;
			opt.apis[API_URING] = strstr(optarg, "uring") != NULL;
			break;
		case 'D':
			opt.devs[DEV_ZERO] = strstr(optarg, "zero") != NULL;
			opt.devs[DEV_URANDOM] = strstr(optarg, "urandom") != NULL;
			opt.devs[DEV_QKD] = strstr(optarg, "qkd") != NULL;
			break;
		case 'F': opt.fill_rate = strtoul(optarg, NULL, 0); break;
		case 'S': opt.strict = true; break;
		case 'P': {
			char *comma = strchr(optarg, ',');

			if (!comma)
				die("--perf-ctl wants CTL-FIFO,ACK-FIFO");
			*comma = '\0';
			opt.perf_ctl = open(optarg, O_WRONLY | O_CLOEXEC);
			opt.perf_ack = open(comma + 1, O_RDONLY | O_CLOEXEC);
			if (opt.perf_ctl < 0 || opt.perf_ack < 0)
				die("--perf-ctl %s,%s: %s", optarg, comma + 1, strerror(errno));
			break;
		}
		case 'v': opt.verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(1);
		}
	}
	if (optind != argc || opt.time <= 0 || opt.reps < 1 || opt.reps > MAX_REPS ||
	    opt.rounds < 1 || opt.depth < 1 || opt.depth > MAX_DEPTH ||
	    !opt.fill_rate || opt.fill_rate > UINT32_MAX ||
	    !(opt.apis[API_READ] || opt.apis[API_URING]) ||
	    !(opt.devs[DEV_ZERO] || opt.devs[DEV_URANDOM] || opt.devs[DEV_QKD])) {
		usage(stderr);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static struct result res[MAX_SIZES][NAPI][NDEV][MAX_REPS];
	struct summary sum[MAX_SIZES][NAPI];
	struct qkdkey_link_info info;
	struct checker chk = { 0 };
	unsigned char *bufs[MAX_DEPTH];
	size_t maxlen = 0;
	int si, a, d, j, k, fd, ti, missed = 0, judged = 0;
	double t_start = now();
	bool all_devs;

	parse_args(argc, argv);
	all_devs = opt.devs[DEV_ZERO] && opt.devs[DEV_URANDOM] && opt.devs[DEV_QKD];
	if (!all_devs)
		opt.verbose = true;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (opt.cpu != -2) {
		/* One vCPU, away from CPU 0's housekeeping, no migrations. */
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		cpu_set_t set;

		if (opt.cpu == -1)
			opt.cpu = ncpu > 1 ? ncpu - 1 : 0;
		CPU_ZERO(&set);
		CPU_SET(opt.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("pin to CPU %d: %s", opt.cpu, strerror(errno));
		printf("pinned to CPU %d of %ld\n", opt.cpu, ncpu);
	}

	for (si = 0; si < opt.nsizes; si++)
		if (opt.sizes[si] + HDR > maxlen)
			maxlen = opt.sizes[si] + HDR;
	for (k = 0; k < (int)opt.depth; k++) {
		/* Page aligned and touched, so no page fault is timed. */
		bufs[k] = mmap(NULL, maxlen, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (bufs[k] == MAP_FAILED)
			die("mmap: %s", strerror(errno));
		memset(bufs[k], 0xa5, maxlen);
	}

	/* Kept open for refills between repetitions. */
	fd = qkd_open_bound(&chk);
	link_info(fd, &info);
	for (si = 0; si < opt.nsizes; si++)
		if (opt.sizes[si] > info.pool_limit)
			die("read size %zu is above link %s's pool limit %u",
			    opt.sizes[si], opt.link, info.pool_limit);
	printf("link %s (id %u): pool limit %u bytes; filling the pool at rate %lu B/s ...\n",
	       opt.link, info.link_id, info.pool_limit, opt.fill_rate);
	refill_pool(fd);
	link_info(fd, &info);
	printf("pool holds %llu key bytes; filled in %.1f s; simulator paused (rate 0)\n",
	       (unsigned long long)info.tx_avail, stats.fill_secs);

	for (si = 0; si < opt.nsizes; si++)
		for (a = 0; a < NAPI; a++) {
			if (!opt.apis[a])
				continue;
			/* Every case starts with a full pool and the sim paused. */
			if (opt.devs[DEV_QKD])
				refill_pool(fd);
			for (k = 0; k < opt.reps; k++) {
				/*
				 * Top up between repetitions, not inside one, so that
				 * its three measurements run back to back.
				 */
				if (opt.devs[DEV_QKD]) {
					link_info(fd, &info);
					if (info.tx_avail < info.pool_limit / 4)
						refill_pool(fd);
				}
				for (j = 0; j < NDEV; j++) {
					/* Rotate the order so no device always goes first. */
					d = (j + k) % NDEV;
					if (!opt.devs[d])
						continue;
					struct result *r = &res[si][a][d][k];

					measure(d, a, opt.sizes[si], bufs, &chk, r);
					if (opt.verbose)
						printf("  %-8s %-8s %-7s rep %d: %9" PRIu64
						       " ops %7.1f MB in %.3f s (%d pool rounds)\n",
						       size_str(opt.sizes[si]), api_name[a],
						       dev_name[d], k + 1, r->ops, r->bytes / 1e6,
						       r->secs, r->rounds);
				}
			}
			summarize(res[si][a], opt.reps, &sum[si][a]);
		}
	close(fd);
	if (!all_devs) {
		printf("Not every device measured: no ratios.\n");
		return 0;
	}

	printf("\n%d repetitions per case; each measures zero, urandom and qkdkey back to back\n"
	       "for %.2f s each (qkdkey: or until the pooled key is read, if that comes first).\n"
	       "ops/s and MB/s: medians (MB/s = 10^6 payload bytes/s; qkdkey counts key\n"
	       "bytes, each read also returns a %zu-byte header). Ratios: median of the\n"
	       "per-repetition ratios, [lower-upper quartile].\n"
	       "qkdkey: pool filled before each case and topped up between repetitions,\n"
	       "simulator paused (rate 0) throughout the timed reads.\n"
	       "io_uring: %u reads in flight, one ring, registered file, setup flags 0x%x.\n\n",
	       opt.reps, opt.time, HDR, opt.depth, ring_flags_used);
	printf("%-6s %-8s | %9s %7s | %9s %7s | %9s %7s | %-18s | %-18s\n",
	       "size", "api", "zero op/s", "MB/s", "urnd op/s", "MB/s",
	       "qkd op/s", "MB/s", "qkdkey/zero", "qkdkey/urandom");
	printf("%.*s\n", 115, "----------------------------------------------------------------"
	       "----------------------------------------------------------------");
	for (si = 0; si < opt.nsizes; si++)
		for (a = 0; a < NAPI; a++) {
			struct summary *m = &sum[si][a];
			char rz[32], ru[32];

			if (!opt.apis[a])
				continue;
			snprintf(rz, sizeof(rz), "%.2fx [%.2f-%.2f]", m->ratio[0], m->rmin[0], m->rmax[0]);
			snprintf(ru, sizeof(ru), "%.2fx [%.2f-%.2f]", m->ratio[1], m->rmin[1], m->rmax[1]);
			printf("%-6s %-8s | %9s %7s | %9s %7s | %9s %7s | %-18s | %-18s\n",
			       size_str(opt.sizes[si]), api_name[a],
			       num(m->ops[DEV_ZERO]), num(m->mbs[DEV_ZERO]),
			       num(m->ops[DEV_URANDOM]), num(m->mbs[DEV_URANDOM]),
			       num(m->ops[DEV_QKD]), num(m->mbs[DEV_QKD]), rz, ru);
		}

	printf("\nTargets (median ratios):\n");
	{
		static const struct {
			size_t size;
			int api;	/* -1: both */
			enum dev base;
			double min;
		} tg[] = {
			{ 4096, -1, DEV_ZERO, 0.5 },
			{ 4096, -1, DEV_URANDOM, 2.0 },
			{ 32, API_URING, DEV_ZERO, 0.8 },
		};

		for (ti = 0; ti < (int)(sizeof(tg) / sizeof(tg[0])); ti++) {
			si = size_index(tg[ti].size);
			if (si < 0)
				continue;
			for (a = 0; a < NAPI; a++) {
				double ratio;

				if (!opt.apis[a] || (tg[ti].api >= 0 && tg[ti].api != a))
					continue;
				ratio = sum[si][a].ratio[tg[ti].base];
				judged++;
				missed += ratio < tg[ti].min;
				printf("  %-6s %-8s qkdkey/%-7s >= %.1fx: %5.2fx  %s\n",
				       size_str(tg[ti].size), api_name[a], dev_name[tg[ti].base],
				       tg[ti].min, ratio, ratio >= tg[ti].min ? "met" : "NOT MET");
			}
		}
	}
	printf("%d of %d targets met.\n", judged - missed, judged);
	printf("\nqkdkey reads checked: %" PRIu64 " reads, %.1f MB of key; every return value\n"
	       "and header right (length, link, epoch, offsets strictly increasing, no overlap).\n",
	       chk.reads, chk.bytes / 1e6);
	printf("Pool refills: %d, %.1f MB generated in %.1f s (untimed). Total run %.1f s.\n",
	       stats.fills, stats.fill_bytes / 1e6, stats.fill_secs, now() - t_start);
	return opt.strict && missed ? 2 : 0;
}
