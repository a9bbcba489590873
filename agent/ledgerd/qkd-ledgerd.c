// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd: the ledger role of qkdkey (DESIGN.md §5, qkd-ledgerd(8)).
 * Command line, signals and systemd readiness; the work is done by the
 * event loop (ledgerd_loop.c).
 *
 * Exit status: 0 stopped by SIGTERM/SIGINT, or --check-config, -h, -V
 * succeeded; 1 fatal error (a failed ledger commit among them: systemd
 * restarts the daemon, the gateways resend what was not acked); 2 bad
 * command line; 78 bad configuration (EX_CONFIG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "ledgerd.h"

#ifndef QKD_VERSION
#define QKD_VERSION "0.1.0"
#endif

#define EXIT_USAGE	2
#define EXIT_CONFIG	78

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: qkd-ledgerd [-c FILE] [--check-config] [-f] [-h] [-V]\n"
		"\n"
		"Receive QKD one-time-padded telemetry from gateway agents, verify it\n"
		"and append it to the ledger.\n"
		"\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"      --check-config check the configuration, print it and exit\n"
		"  -f, --foreground   log plain lines to stderr even under systemd\n"
		"                     (the daemon never forks either way)\n"
		"  -h, --help         print this help and exit\n"
		"  -V, --version      print the version and exit\n"
		"\n"
		"See qkd-ledgerd(8).\n", LEDGERD_CONFIG_DEFAULT_PATH);
}

static int ignore_signal(int sig)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	static struct ledgerd_config cfg;
	static struct ledgerd d;
	const char *path = LEDGERD_CONFIG_DEFAULT_PATH;
	bool check = false, fg = false;
	char err[512];
	int c, r;

	while ((c = getopt_long(argc, argv, "c:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'f':
			fg = true;
			break;
		case 'h':
			usage(stdout);
			return fflush(stdout) ? 1 : 0;
		case 'V':
			printf("qkd-ledgerd %s\n", QKD_VERSION);
			return fflush(stdout) ? 1 : 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "qkd-ledgerd: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	r = ledgerd_config_load(path, &cfg, err, sizeof(err));
	if (r) {
		fprintf(stderr, "qkd-ledgerd: %s\n", err);
		return EXIT_CONFIG;
	}
	if (check)
		return ledgerd_config_dump(&cfg, stdout) ? 1 : 0;

	ld_set_log(cfg.log_level, fg);
	if (ignore_signal(SIGPIPE) || ignore_signal(SIGHUP)) {
		ld_log(LOG_ERR, "sigaction: %s", strerror(errno));
		return 1;
	}
	if (sodium_init() < 0) {
		ld_log(LOG_ERR, "libsodium: initialisation failed");
		return 1;
	}
	if (ld_open(&d, &cfg))
		return 1;
	ld_log(LOG_INFO, "ready: %u gateway%s, listening on %s port %u, ledger %s",
	       cfg.ngw, cfg.ngw == 1 ? "" : "s", cfg.listen_addr, cfg.listen_port,
	       cfg.db);
	ld_notify("READY=1");
	ld_status_update(&d);
	r = ld_run(&d);
	ld_close(&d);
	ld_log(LOG_INFO, "stopped%s", r ? " after a fatal error" : "");
	return r;
}
