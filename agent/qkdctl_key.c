// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl key push|read. push feeds a "user" link over netlink (KEY_PUSH);
 * read takes key from /dev/qkdkey. Key bytes live only in locked,
 * non-dumpable memory and are wiped as soon as they have been sent or
 * printed; only `key read` ever prints them, because it was asked to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "qkdctl.h"

/* Memory for key bytes: locked (best effort), left out of core dumps. */
static void *key_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)mlock(p, len);	/* may fail for unprivileged users */
	(void)madvise(p, len, MADV_DONTDUMP);
	return p;
}

static void key_free(void *p, size_t len)
{
	explicit_bzero(p, len);
	munlock(p, len);
	munmap(p, len);
}

/* Reads until @len bytes or end of file. */
static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* ---- push ---------------------------------------------------------------- */

#define PUSH_BUF	(QKDCTL_PUSH_CHUNK + 4096)

static int key_push(int argc, char **argv)
{
	static const char *const what[] = { "link name", "direction (tx or rx)",
					    "epoch", "offset" };
	uint64_t epoch, offset, pushed = 0;
	const char *name;
	struct nlmsghdr *nlh;
	struct qnl nl;
	uint32_t dir;
	void *buf;
	int ret = 0;

	if (argc < 4)
		return usage_error("key push: missing %s (key push NAME tx|rx EPOCH OFFSET)",
				   what[argc]);
	if (argc > 4)
		return usage_error("key push: unexpected argument '%s'", argv[4]);
	name = argv[0];
	if (!valid_link_name(name))
		return usage_error("key push: bad link name '%s'", name);
	if (parse_dir(argv[1], &dir))
		return usage_error("key push: bad direction '%s': expected tx or rx", argv[1]);
	if (parse_u64(argv[2], &epoch))
		return usage_error("key push: bad epoch '%s'", argv[2]);
	if (parse_u64(argv[3], &offset))
		return usage_error("key push: bad offset '%s'", argv[3]);

	ret = qnl_open(&nl);
	if (ret)
		return ret;
	buf = key_alloc(PUSH_BUF);
	if (!buf) {
		qnl_close(&nl);
		return fail("key push: memory");
	}
	for (;;) {
		struct nlattr *data;
		ssize_t n;

		nlh = qnl_msg(&nl, buf, PUSH_BUF, QKDKEY_CMD_KEY_PUSH, NLM_F_ACK);
		mnl_attr_put_strz(nlh, QKDKEY_A_LINK_NAME, name);
		mnl_attr_put_u32(nlh, QKDKEY_A_KEY_DIR, dir);
		mnl_attr_put_u64(nlh, QKDKEY_A_KEY_EPOCH, epoch);
		mnl_attr_put_u64(nlh, QKDKEY_A_KEY_OFFSET, offset);
		/* read stdin straight into KEY_DATA: one copy of the key, here */
		data = mnl_nlmsg_get_payload_tail(nlh);
		n = read_full(STDIN_FILENO, (uint8_t *)data + MNL_ATTR_HDRLEN,
			      QKDCTL_PUSH_CHUNK);
		if (n < 0) {
			ret = fail("key push %s: stdin", name);
			break;
		}
		if (n == 0)
			break;
		if (offset > UINT64_MAX - (uint64_t)n) {
			ret = fail_errno(EOVERFLOW, "key push %s: offset", name);
			break;
		}
		data->nla_type = QKDKEY_A_KEY_DATA;
		data->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + (size_t)n);
		nlh->nlmsg_len += MNL_ALIGN(data->nla_len);

		ret = qnl_talk(&nl, nlh, NULL, NULL, "key push %s %s epoch %" PRIu64
			       " offset %" PRIu64 " (%zd bytes)", name, dir_name(dir),
			       epoch, offset, n);
		explicit_bzero(buf, nlh->nlmsg_len);
		if (ret)
			break;
		offset += (uint64_t)n;
		pushed += (uint64_t)n;
		if (n < QKDCTL_PUSH_CHUNK)
			break;
	}
	key_free(buf, PUSH_BUF);
	qnl_close(&nl);
	if (ret && pushed)
		fprintf(stderr, "qkdctl: key push %s: %" PRIu64 " bytes before offset %" PRIu64
			" were stored\n", name, pushed, offset);
	if (!ret && !pushed)
		ret = fail_errno(ENODATA, "key push %s: stdin", name);
	return ret;
}

/* ---- read ---------------------------------------------------------------- */

/* Opens the device bound to @name (NULL: default link) and direction. */
static int open_bound(const char *name, uint32_t dir)
{
	struct qkdkey_bind bind = { .dir = dir };
	int fd;

	fd = open(opt_device, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (name)
		strcpy(bind.name, name);	/* valid_link_name(): fits */
	if (ioctl(fd, QKDKEY_IOC_BIND, &bind) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
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
	if (opt_json) {
		fputs("{\"link\":", stdout);
		json_string(stdout, name);
		printf(",\"link_id\":%" PRIu32 ",\"dir\":\"%s\",\"epoch\":%" PRIu64
		       ",\"offset\":%" PRIu64 ",\"length\":%" PRIu32 ",\"key\":\"",
		       h->link_id, dir_name(dir), (uint64_t)h->epoch, (uint64_t)h->offset,
		       h->length);
	} else {
		printf("%s %s epoch %" PRIu64 " offset %" PRIu64 " length %" PRIu32 "\nkey ",
		       name, dir_name(dir), (uint64_t)h->epoch, (uint64_t)h->offset, h->length);
	}
	print_hex(key, h->length);
	printf(opt_json ? "\"}\n" : "\n");
	/* stdio's buffer held the key in hex: push it out now */
	fflush(stdout);
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
	size_t size;
	uint8_t *buf;
	ssize_t n;

	optind = 0;	/* glibc: start afresh, argv[0] is "read" */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:", opts, NULL)) != -1 || optind < argc) {
		if (opt == -1) {
			if (nargs == 3)
				return usage_error("key read: unexpected argument '%s'", argv[optind]);
			args[nargs++] = argv[optind++];
			continue;
		}
		if (opt == 'r') {
			raw = true;
		} else if (opt == 'o') {
			if (parse_u64(optarg, &offset))
				return usage_error("key read: bad offset '%s'", optarg);
			have_offset = true;
		} else if (opt == ':') {
			return usage_error("key read: option '%s' needs an argument",
					   argv[optind - 1]);
		} else {
			return usage_error("key read: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!nargs || parse_u64(args[nargs - 1], &len) || !len || len > QKDKEY_READ_MAX)
		return usage_error("key read: LEN must be 1..%d, got '%s'", QKDKEY_READ_MAX,
				   nargs ? args[nargs - 1] : "nothing");
	for (int i = 0; i < nargs - 1; i++) {
		if (!parse_dir(args[i], &dir))
			continue;
		if (name)
			return usage_error("key read: unexpected argument '%s'", args[i]);
		if (!valid_link_name(args[i]))
			return usage_error("key read: bad link name '%s'", args[i]);
		name = args[i];
	}
	if (dir == QKDKEY_DIR_RX && !have_offset)
		return usage_error("key read: %s needs --offset", "rx");
	if (opt_dry_run) {
		printf("open %s\nbind %s %s\n", opt_device, name ? name : "(default link)",
		       dir_name(dir));
		if (dir == QKDKEY_DIR_TX)
			printf("read %" PRIu64 " key bytes\n", len);
		else
			printf("pread %" PRIu64 " key bytes at offset %" PRIu64 "\n", len, offset);
		return 0;
	}

	fd = open_bound(name, dir);
	if (fd < 0)
		return fail("%s", name ? name : "default link");
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, QKDKEY_IOC_LINK_INFO, &info) < 0) {
		ret = fail("link info");
		close(fd);
		return ret;
	}
	size = sizeof(hdr) + len;
	buf = key_alloc(size);
	if (!buf) {
		ret = fail("key read: memory");
		close(fd);
		return ret;
	}
	if (dir == QKDKEY_DIR_TX) {
		n = read(fd, buf, size);
		if (n == (ssize_t)size) {
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
	key_free(buf, size);
	close(fd);
	return ret;
}

int cmd_key(int argc, char **argv)
{
	if (argc == 0)
		return usage_error("key: missing command: push or read");
	if (!strcmp(argv[0], "push"))
		return key_push(argc - 1, argv + 1);
	if (!strcmp(argv[0], "read"))
		return key_read(argc, argv);
	return usage_error("key: unknown command '%s': expected push or read", argv[0]);
}
