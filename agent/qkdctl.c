// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl: administer qkdkey links (generic netlink family "qkdkey") and read
 * key through /dev/qkdkey. This file: global options, dispatch, usage and
 * the error helpers every command uses. See Documentation/qkdctl.8.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qkdctl.h"

const char *opt_device = QKDKEY_DEVICE_PATH;
bool opt_json;
bool opt_dry_run;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: qkdctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"\n"
		"  qkdctl link show [NAME]\n"
		"  qkdctl link add NAME type sim peer PEER [rate RATE] [qber PPM] [eve PPM]\n"
		"                  [pool SIZE] [threshold PPM] [watermark SIZE] [seed HEX]\n"
		"  qkdctl link add NAME type user [peer PEER] [epoch EPOCH] [pool SIZE]\n"
		"                  [threshold PPM] [watermark SIZE]\n"
		"  qkdctl link del NAME\n"
		"  qkdctl link set NAME [up|down] [default] [threshold PPM] [pool SIZE]\n"
		"                  [watermark SIZE] [qber PPM] [eve PPM] [rate RATE]\n"
		"                  [epoch EPOCH] [key-rate RATE] [type sim|user]\n"
		"  qkdctl key push NAME tx|rx EPOCH OFFSET < KEY-BYTES\n"
		"  qkdctl key read [NAME] [tx|rx] [--offset O] [--raw] LEN\n"
		"  qkdctl monitor\n"
		"\n"
		"PPM is a percentage (11%%, 2.5%%) or parts per million (110000).\n"
		"SIZE and RATE are bytes (per second) with an optional suffix K, M or G\n"
		"(also KiB, MiB, GiB; all 1024-based). LEN is 1..%d.\n"
		"\n"
		"Options:\n"
		"  -j, --json          JSON output (also accepted after the command)\n"
		"  -d, --device PATH   character device for key read (default %s)\n"
		"  -h, --help          this help\n"
		"  -V, --version       print the version\n"
		"\n"
		"Exit status: 0 on success, 1 on a failed operation, 2 on bad usage.\n"
		"See qkdctl(8).\n",
		QKDKEY_READ_MAX, QKDKEY_DEVICE_PATH);
}

static int vfail(int err, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("qkdctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", strerror(err));
	return EXIT_FAILED;
}

int fail(const char *fmt, ...)
{
	int err = errno, ret;
	va_list ap;

	va_start(ap, fmt);
	ret = vfail(err, fmt, ap);
	va_end(ap);
	return ret;
}

int fail_errno(int err, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(err, fmt, ap);
	va_end(ap);
	return ret;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("qkdctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'qkdctl -h'.\n", stderr);
	return EXIT_USAGE;
}

/*
 * -j/--json and --dry-run may also follow the command (`link show sim0a -j`,
 * like ip(8)): take them out of argv, up to a "--".
 */
static int strip_global_flags(int argc, char **argv)
{
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			opt_json = true;
		else if (!strcmp(argv[i], "--dry-run"))
			opt_dry_run = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

static int finish(int ret)
{
	if (fflush(stdout) || ferror(stdout)) {
		int err = errno ? errno : EIO;

		return fail_errno(err, "stdout");
	}
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* not in -h: print requests instead of sending them */
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:jd:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			opt_json = true;
			break;
		case 'd':
			if (!*optarg)
				return usage_error("option '-d' needs a path");
			opt_device = optarg;
			break;
		case 'n':
			opt_dry_run = true;
			break;
		case 'h':
			usage(stdout);
			return finish(EXIT_OK);
		case 'V':
			printf("qkdctl %s (netlink family %s version %d)\n",
			       QKDCTL_VERSION, QKDKEY_GENL_NAME, QKDKEY_GENL_VERSION);
			return finish(EXIT_OK);
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	argc = strip_global_flags(argc, argv);

	if (argc == 0)
		return usage_error("missing object: link, key or monitor");
	if (!strcmp(argv[0], "link"))
		return finish(cmd_link(argc - 1, argv + 1));
	if (!strcmp(argv[0], "key"))
		return finish(cmd_key(argc - 1, argv + 1));
	if (!strcmp(argv[0], "monitor"))
		return finish(cmd_monitor(argc - 1, argv + 1));
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return finish(EXIT_OK);
	}
	return usage_error("unknown object '%s': expected link, key or monitor", argv[0]);
}
