// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledger: read, prove and verify the ledger that qkd-ledgerd writes,
 * and manage its device registry. Runs beside the daemon: it never takes
 * the writer lock, and its few writes (device add, device trust) are short
 * transactions that wait for the daemon's group commit.
 *
 * Exit status: 0 ok, 1 the ledger (or a proof) did not verify or what was
 * asked for does not exist, 2 usage or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <sodium.h>

#include "qkd_ledger.h"

#define DEFAULT_DB "/var/lib/qkdkey/ledger.db"

static void usage(FILE *f)
{
	fputs("usage: qkd-ledger [-c CONFIG] [-d DB] [-k KEY] COMMAND [ARGS]\n"
	      "\n"
	      "  -c, --config CONFIG  read db= and key= from [ledger] of qkd-ledgerd's\n"
	      "                       INI file\n"
	      "  -d, --db DB          the ledger database (default " DEFAULT_DB ")\n"
	      "  -k, --key KEY        the writer's signing key file: pins its public key\n"
	      "  -h, --help           this help; COMMAND -h for a command's\n"
	      "\n"
	      "commands:\n"
	      "  show [--device D] [--gateway G] [--events] [--from N] [--count N] [-j]\n"
	      "  verify [-j] [--pubkey FILE|HEX]\n"
	      "  proof inclusion N [--size S] [-j]\n"
	      "  proof consistency M N [-j]\n"
	      "  device add GATEWAY DEVICE | device trust GATEWAY DEVICE\n"
	      "  device list [GATEWAY] [-j]\n"
	      "  tree-head [-j]\n"
	      "\n"
	      "exit status: 0 ok, 1 verification failed or not found, 2 usage or I/O error\n",
	      f);
}

struct conf {
	char *db, *key;
};

static int conf_cb(void *user, const char *section, const char *name,
		   const char *value)
{
	struct conf *c = user;
	char **slot = NULL;

	if (strcmp(section, "ledger"))
		return 1;
	if (!strcmp(name, "db"))
		slot = &c->db;
	else if (!strcmp(name, "key"))
		slot = &c->key;
	if (slot) {
		free(*slot);
		*slot = strdup(value);
		return *slot != NULL;
	}
	return 1;	/* the daemon's other settings are not ours */
}

int cli_open(struct cli *c)
{
	char err[512];
	struct ledger_opts o = { .db_path = c->db };

	if (ledger_open(&c->l, &o, err, sizeof(err))) {
		fprintf(stderr, "qkd-ledger: %s\n", err);
		return EX_USAGE;
	}
	return EX_OK;
}

static const struct {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
} cmds[] = {
	{ "show", cmd_show },
	{ "verify", cmd_verify },
	{ "tree-head", cmd_tree_head },
	{ "proof", cmd_proof },
	{ "device", cmd_device },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct conf conf = { 0 };
	struct cli c = { 0 };
	const char *cfg = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+c:d:k:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cfg = optarg;
			break;
		case 'd':
			c.db = optarg;
			break;
		case 'k':
			c.key = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "qkd-ledger: no command\n");
		usage(stderr);
		return EX_USAGE;
	}
	if (cfg) {
		rc = ini_parse(cfg, conf_cb, &conf);
		if (rc) {
			fprintf(stderr, rc < 0 ? "qkd-ledger: cannot read %s\n"
				: "qkd-ledger: %s: syntax error on line %d\n",
				cfg, rc);
			return EX_USAGE;
		}
		if (!c.db)
			c.db = conf.db;
		if (!c.key)
			c.key = conf.key;
	}
	if (!c.db)
		c.db = DEFAULT_DB;
	if (sodium_init() < 0) {
		fprintf(stderr, "qkd-ledger: libsodium failed to initialise\n");
		return EX_USAGE;
	}
	rc = -1;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[optind], cmds[i].name))
			continue;
		argv += optind;
		argc -= optind;
		optind = 0;	/* re-initialise getopt for the command */
		rc = cmds[i].fn(&c, argc, argv);
		break;
	}
	if (rc < 0) {
		fprintf(stderr, "qkd-ledger: unknown command '%s'\n",
			argv[optind]);
		usage(stderr);
		rc = EX_USAGE;
	}
	ledger_close(c.l);
	free(conf.db);
	free(conf.key);
	return rc;
}
