// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl: inspect qkdkey links and read key through /dev/qkdkey.
 *
 * This first version speaks only to the character device; link management
 * over the qkdkey generic netlink family comes with that family.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/qkdkey.h>

static const char *device = QKDKEY_DEVICE_PATH;
static bool json;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: qkdctl [-j] [-d DEVICE] OBJECT COMMAND ...\n"
		"\n"
		"  qkdctl link show [NAME]\n"
		"      state, epoch and pool levels of a link (default: the default link)\n"
		"  qkdctl key read [NAME] [tx|rx] [--offset O] [--raw] LEN\n"
		"      take LEN key bytes: TX from the front of the stream, RX at offset O\n"
		"      of the current epoch; --raw writes only the key bytes to stdout\n"
		"\n"
		"Options:\n"
		"  -j, --json          JSON output\n"
		"  -d, --device PATH   character device (default %s)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit status: 0 on success, 1 on a failed operation, 2 on bad usage.\n",
		QKDKEY_DEVICE_PATH);
}

static int fail(const char *what)
{
	int err = errno;

	fprintf(stderr, "qkdctl: %s: %s\n", what, strerror(err));
	return 1;
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "qkdctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'qkdctl -h'.\n");
	return 2;
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case QKDKEY_LINK_DOWN: return "down";
	case QKDKEY_LINK_UP: return "up";
	case QKDKEY_LINK_ALARM: return "alarm";
	case QKDKEY_LINK_GONE: return "gone";
	default: return "unknown";
	}
}

/* Opens the device bound to @name (NULL: default link) and direction. */
static int open_bound(const char *name, uint32_t dir)
{
	struct qkdkey_bind bind = { .dir = dir };
	int fd;

	if (name && strlen(name) >= sizeof(bind.name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(device, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (name)
		strcpy(bind.name, name);
	if (ioctl(fd, QKDKEY_IOC_BIND, &bind) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int link_show(int argc, char **argv)
{
	struct qkdkey_link_info info;
	const char *name = argc > 0 ? argv[0] : NULL;
	int fd;

	if (argc > 1)
		return bad_usage("link show: unexpected argument '%s'", argv[1]);
	fd = open_bound(name, QKDKEY_DIR_TX);
	if (fd < 0)
		return fail(name ? name : "default link");
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, QKDKEY_IOC_LINK_INFO, &info) < 0) {
		close(fd);
		return fail("link info");
	}
	close(fd);
	if (json) {
		printf("{\"id\":%" PRIu32 ",\"name\":\"%s\",\"kind\":\"%s\",\"peer\":\"%s\","
		       "\"state\":\"%s\",\"default\":%s,\"epoch\":%" PRIu64 ","
		       "\"tx_avail\":%" PRIu64 ",\"tx_next\":%" PRIu64 ","
		       "\"rx_avail\":%" PRIu64 ",\"rx_end\":%" PRIu64 ","
		       "\"qber\":%" PRIu32 ",\"qber_threshold\":%" PRIu32 ","
		       "\"key_rate\":%" PRIu32 ",\"pool_limit\":%" PRIu32 "}\n",
		       info.link_id, info.name, info.kind, info.peer,
		       state_name(info.state),
		       info.flags & QKDKEY_INFO_DEFAULT ? "true" : "false",
		       (uint64_t)info.epoch, (uint64_t)info.tx_avail,
		       (uint64_t)info.tx_next, (uint64_t)info.rx_avail,
		       (uint64_t)info.rx_end, info.qber, info.qber_threshold,
		       info.key_rate, info.pool_limit);
		return 0;
	}
	printf("%" PRIu32 ": %s%s: kind %s peer %s state %s\n",
	       info.link_id, info.name,
	       info.flags & QKDKEY_INFO_DEFAULT ? " (default)" : "",
	       info.kind, info.peer[0] ? info.peer : "-", state_name(info.state));
	printf("    epoch %" PRIu64 " qber %.2f%% threshold %.2f%% key-rate %" PRIu32 " B/s\n",
	       (uint64_t)info.epoch, info.qber / 10000.0,
	       info.qber_threshold / 10000.0, info.key_rate);
	printf("    tx avail %" PRIu64 " next %" PRIu64 "  rx avail %" PRIu64
	       " end %" PRIu64 "  pool %" PRIu32 "\n",
	       (uint64_t)info.tx_avail, (uint64_t)info.tx_next,
	       (uint64_t)info.rx_avail, (uint64_t)info.rx_end, info.pool_limit);
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return -1;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* Writes the key and the metadata the peer needs to find the same bytes. */
static int key_print(const char *name, uint32_t dir, const struct qkdkey_tx_hdr *h,
		     const uint8_t *key, bool raw)
{
	if (raw)
		return fwrite(key, 1, h->length, stdout) == h->length ? 0 : fail("stdout");
	if (json)
		printf("{\"link\":\"%s\",\"link_id\":%" PRIu32 ",\"dir\":\"%s\",\"epoch\":%"
		       PRIu64 ",\"offset\":%" PRIu64 ",\"length\":%" PRIu32 ",\"key\":\"",
		       name, h->link_id, dir == QKDKEY_DIR_TX ? "tx" : "rx",
		       (uint64_t)h->epoch, (uint64_t)h->offset, h->length);
	else
		printf("%s %s epoch %" PRIu64 " offset %" PRIu64 " length %" PRIu32 "\nkey ",
		       name, dir == QKDKEY_DIR_TX ? "tx" : "rx",
		       (uint64_t)h->epoch, (uint64_t)h->offset, h->length);
	print_hex(key, h->length);
	printf(json ? "\"}\n" : "\n");
	return 0;
}

static int key_read(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "offset", required_argument, NULL, 'o' },
		{ "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *args[3];
	struct qkdkey_link_info info;
	struct qkdkey_tx_hdr hdr;
	uint64_t len = 0, offset = 0;
	uint32_t dir = QKDKEY_DIR_TX;
	bool have_offset = false, raw = false;
	int nargs = 0, opt, fd, ret = 1;
	uint8_t *buf;
	ssize_t n;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1 || optind < argc) {
		if (opt == -1) {
			if (nargs == 3)
				return bad_usage("key read: unexpected argument '%s'", argv[optind]);
			args[nargs++] = argv[optind++];
			continue;
		}
		if (opt == 'r') {
			raw = true;
		} else if (opt == 'o') {
			if (parse_u64(optarg, &offset))
				return bad_usage("key read: bad offset '%s'", optarg);
			have_offset = true;
		} else {
			return 2;
		}
	}
	if (!nargs || parse_u64(args[nargs - 1], &len) || !len || len > QKDKEY_READ_MAX)
		return bad_usage("key read: LEN must be 1..65536, got '%s'",
				 nargs ? args[nargs - 1] : "nothing");
	for (int i = 0; i < nargs - 1; i++) {
		if (!strcmp(args[i], "tx"))
			dir = QKDKEY_DIR_TX;
		else if (!strcmp(args[i], "rx"))
			dir = QKDKEY_DIR_RX;
		else if (!name)
			name = args[i];
		else
			return bad_usage("key read: unexpected argument '%s'", args[i]);
	}
	if (dir == QKDKEY_DIR_RX && !have_offset)
		return bad_usage("key read: %s needs --offset", "rx");

	fd = open_bound(name, dir);
	if (fd < 0)
		return fail(name ? name : "default link");
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, QKDKEY_IOC_LINK_INFO, &info) < 0) {
		close(fd);
		return fail("link info");
	}
	buf = malloc(sizeof(hdr) + len);
	if (!buf) {
		close(fd);
		return fail("malloc");
	}
	/* Keep key out of swap; best effort for unprivileged users. */
	(void)mlock(buf, sizeof(hdr) + len);

	if (dir == QKDKEY_DIR_TX) {
		n = read(fd, buf, sizeof(hdr) + len);
		if (n == (ssize_t)(sizeof(hdr) + len)) {
			memcpy(&hdr, buf, sizeof(hdr));
			ret = key_print(info.name, dir, &hdr, buf + sizeof(hdr), raw);
		}
	} else {
		n = pread(fd, buf, len, (off_t)offset);
		if (n == (ssize_t)len) {
			hdr = (struct qkdkey_tx_hdr){ .link_id = info.link_id,
				.length = (uint32_t)len, .epoch = info.epoch, .offset = offset };
			ret = key_print(info.name, dir, &hdr, buf, raw);
		}
	}
	if (n < 0)
		ret = fail("read");
	else if (ret == 1)
		fprintf(stderr, "qkdctl: short read: %zd bytes\n", n);
	explicit_bzero(buf, sizeof(hdr) + len);
	free(buf);
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+jd:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'd':
			device = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 2 && !strcmp(argv[0], "link") && !strcmp(argv[1], "show"))
		return link_show(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[0], "key") && !strcmp(argv[1], "read"))
		return key_read(argc - 1, argv + 1);
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	return bad_usage("unknown command '%s'", argv[0]);
}
