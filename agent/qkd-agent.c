// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-agent: the gateway role of qkdkey (DESIGN.md §4, qkd-agent(8)).
 * Command line, signals and systemd readiness; the work is done by the
 * event loop in agent/lib/agent_loop.c.
 *
 * Exit status (qkd-agent(8)): 0 stopped by SIGTERM/SIGINT, or --check-config,
 * --stats, -h, -V succeeded; 1 fatal error at run time or --stats could not
 * reach the agent; 2 bad command line; 78 bad configuration (EX_CONFIG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "agent_config.h"
#include "agent_loop.h"

#ifndef QKD_VERSION
#define QKD_VERSION "0.1.0"
#endif

#define EXIT_USAGE	2
#define EXIT_CONFIG	78

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: qkd-agent [--config FILE] [--check-config] [--stats] [-h] [-V]\n"
		"\n"
		"Forward IoT telemetry to the ledger under QKD one-time pads.\n"
		"\n"
		"  --config FILE   configuration file (default %s)\n"
		"  --check-config  check the configuration, print it and exit\n"
		"  --stats         print the running agent's counters and exit\n"
		"  -h, --help      print this help and exit\n"
		"  -V, --version   print the version and exit\n"
		"\n"
		"See qkd-agent(8).\n", AGENT_CONFIG_DEFAULT_PATH);
}

/* Reads the counters from the running agent's stats socket. */
static int show_stats(const struct agent_config *cfg)
{
	const char *path = cfg->agent.stats_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t n;
	int fd, rc = 0;

	if (!path[0]) {
		fprintf(stderr, "qkd-agent: stats_socket is none in %s\n",
			cfg->source);
		return 1;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "qkd-agent: %s: path too long\n", path);
		return 1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "qkd-agent: %s: %s (is the agent running?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "qkd-agent: %s: %s\n", path, strerror(errno));
			rc = 1;
			break;
		}
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			rc = 1;
			break;
		}
	}
	close(fd);
	if (fflush(stdout))
		rc = 1;
	return rc;
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
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	static struct agent_config cfg;
	static struct agent ag;
	const char *path = AGENT_CONFIG_DEFAULT_PATH;
	bool check = false, stats = false;
	char err[512];
	int c, r;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 's':
			stats = true;
			break;
		case 'h':
			usage(stdout);
			return fflush(stdout) ? 1 : 0;
		case 'V':
			printf("qkd-agent %s\n", QKD_VERSION);
			return fflush(stdout) ? 1 : 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || (check && stats)) {
		fprintf(stderr, "qkd-agent: %s\n", optind < argc ?
			"unexpected argument" : "--check-config and --stats exclude each other");
		usage(stderr);
		return EXIT_USAGE;
	}

	r = agent_config_load(path, &cfg, err, sizeof(err));
	if (r) {
		fprintf(stderr, "qkd-agent: %s\n", err);
		return EXIT_CONFIG;
	}
	if (check) {
		if (agent_config_dump(&cfg, stdout) || fflush(stdout))
			return 1;
		return 0;
	}
	if (stats)
		return show_stats(&cfg);

	ag_set_log_level(cfg.agent.log_level);
	if (ignore_signal(SIGPIPE) || ignore_signal(SIGHUP)) {
		ag_log(LOG_ERR, "sigaction: %s", strerror(errno));
		return 1;
	}
	if (sodium_init() < 0) {
		ag_log(LOG_ERR, "libsodium: initialisation failed");
		return 1;
	}
	r = ag_open(&ag, &cfg);
	if (r)
		return 1;
	ag_log(LOG_INFO, "ready: link %s, ledger %s:%u, spool %s",
	       cfg.link.name, cfg.ledger.host, cfg.ledger.port, cfg.spool.dir);
	ag_notify("READY=1");
	ag_status_update(&ag);
	r = ag_run(&ag);
	ag_close(&ag);
	ag_log(LOG_INFO, "stopped%s", r ? " after a fatal error" : "");
	return r;
}
