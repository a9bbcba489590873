// SPDX-License-Identifier: GPL-2.0
/* qkd-ledger verify, tree-head and device. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "qkd_ledger.h"

/* Parses just -j/--json and -h/--help; returns -1 to go on, else exit. */
static int simple_opts(int argc, char **argv, bool *json,
		       void (*help)(FILE *))
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'j') {
			*json = true;
		} else if (opt == 'h') {
			help(stdout);
			return EX_OK;
		} else {
			help(stderr);
			return EX_USAGE;
		}
	}
	return -1;
}

static void verify_usage(FILE *f)
{
	fputs("usage: qkd-ledger verify [-j] [--pubkey FILE|HEX]\n"
	      "  Recomputes every entry's leaf hash from its columns, the hash\n"
	      "  chain, and the root and signature of every signed tree head.\n"
	      "  --pubkey (or -k KEYFILE) pins the signing key instead of the\n"
	      "  one recorded in the ledger. Exit 0 intact, 1 tampered (the\n"
	      "  first bad entry is named), 2 usage or I/O error.\n", f);
}

int cmd_verify(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct ledger_verify_report rep;
	uint8_t pk[LEDGER_PK_LEN];
	bool json = false, pin = false;
	char err[512];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 'p') {
			if (parse_pubkey(optarg, pk)) {
				fprintf(stderr, "qkd-ledger: --pubkey needs 64 hex"
					" digits or a file of 32 bytes or 64 hex"
					" digits\n");
				return EX_USAGE;
			}
			pin = true;
		} else if (opt == 'h') {
			verify_usage(stdout);
			return EX_OK;
		} else {
			verify_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		verify_usage(stderr);
		return EX_USAGE;
	}
	if (!pin && c->key) {
		if (key_file_pubkey(c->key, pk)) {
			fprintf(stderr, "qkd-ledger: cannot read key file %s\n",
				c->key);
			return EX_USAGE;
		}
		pin = true;
	}
	rc = cli_open(c);
	if (rc)
		return rc;
	if (ledger_verify(c->l, pin ? pk : NULL, &rep, err, sizeof(err))) {
		fprintf(stderr, "qkd-ledger: %s\n", err);
		return EX_USAGE;
	}
	if (json) {
		printf("{\"ok\":%s,\"entries\":%llu,\"tree_heads\":%llu,"
		       "\"pinned\":%s,\"root\":\"", rep.ok ? "true" : "false",
		       (unsigned long long)rep.entries,
		       (unsigned long long)rep.tree_heads,
		       pin ? "true" : "false");
		out_hex(stdout, rep.root, LEDGER_HASH_LEN);
		printf("\"");
		if (!rep.ok) {
			if (rep.have_bad_index)
				printf(",\"bad_index\":%llu",
				       (unsigned long long)rep.bad_index);
			printf(",\"error\":");
			out_json_str(stdout, rep.what, strlen(rep.what));
		}
		printf("}\n");
	} else if (rep.ok) {
		printf("ledger OK: %llu entries, %llu signed tree heads%s\n"
		       "root: ", (unsigned long long)rep.entries,
		       (unsigned long long)rep.tree_heads,
		       pin ? " (pinned key)" : "");
		out_hex(stdout, rep.root, LEDGER_HASH_LEN);
		printf("\n");
	} else {
		printf("ledger TAMPERED: %s\n", rep.what);
		printf("checked: %llu entries, %llu signed tree heads\n",
		       (unsigned long long)rep.entries,
		       (unsigned long long)rep.tree_heads);
	}
	return rep.ok ? EX_OK : EX_BAD;
}

static void th_usage(FILE *f)
{
	fputs("usage: qkd-ledger tree-head [-j]\n"
	      "  Prints the latest signed tree head and the ledger's public\n"
	      "  key, and checks the signature. Exit 1 if none was signed yet\n"
	      "  or the signature does not verify.\n", f);
}

int cmd_tree_head(struct cli *c, int argc, char **argv)
{
	struct ledger_tree_head th;
	uint8_t pk[LEDGER_PK_LEN];
	bool json = false, have_pk, ok;
	char err[512];
	int rc = simple_opts(argc, argv, &json, th_usage);

	if (rc >= 0)
		return rc;
	if (optind < argc) {
		th_usage(stderr);
		return EX_USAGE;
	}
	rc = cli_open(c);
	if (rc)
		return rc;
	have_pk = ledger_public_key(c->l, pk, err, sizeof(err)) == 0;
	rc = ledger_tree_head(c->l, &th, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "qkd-ledger: %s\n", err);
		return EX_USAGE;
	}
	if (rc == 1 || !have_pk) {
		fprintf(stderr, "qkd-ledger: no tree head signed yet\n");
		return EX_BAD;
	}
	ok = ledger_sth_verify(&th, pk);
	printf(json ? "{\"tree_size\":%llu,\"timestamp_ns\":%llu,\"root\":\""
		    : "tree size: %llu\ntimestamp: %llu (",
	       (unsigned long long)th.size,
	       (unsigned long long)th.timestamp_ns);
	if (!json)
		out_time(stdout, th.timestamp_ns);
	printf(json ? "" : ")\nroot: ");
	out_hex(stdout, th.root, LEDGER_HASH_LEN);
	printf(json ? "\",\"signature\":\"" : "\nsignature: ");
	out_hex(stdout, th.sig, LEDGER_SIG_LEN);
	printf(json ? "\",\"public_key\":\"" : "\npublic key: ");
	out_hex(stdout, pk, LEDGER_PK_LEN);
	printf(json ? "\",\"verified\":%s}\n" : "\nverified: %s\n",
	       ok ? "true" : "false");
	return ok ? EX_OK : EX_BAD;
}

static void device_usage(FILE *f)
{
	fputs("usage: qkd-ledger device add GATEWAY DEVICE\n"
	      "       qkd-ledger device trust GATEWAY DEVICE\n"
	      "       qkd-ledger device list [GATEWAY] [-j]\n"
	      "  add registers a device before its first record (needed when\n"
	      "  qkd-ledgerd does not register devices itself); its first\n"
	      "  record's integrity code becomes the expected one. trust\n"
	      "  accepts a device's current code after an integrity change and\n"
	      "  records a TRUST event. DEVICE is text or hex:HEX.\n", f);
}

static int list_cb(const struct ledger_device *d, void *ctx)
{
	bool *json = ctx;
	bool first = json[1];

	json[1] = false;
	if (json[0]) {
		printf("%s\n  {\"gateway\":", first ? "" : ",");
		out_json_str(stdout, d->gateway, strlen(d->gateway));
		printf(",\"device\":");
		out_device(stdout, d->id, d->id_len, true);
		printf(",\"trusted\":%s,\"registered_ns\":%llu,\"seen_ns\":%llu",
		       d->trusted ? "true" : "false",
		       (unsigned long long)d->registered_ns,
		       (unsigned long long)d->seen_ns);
		if (d->has_code) {
			printf(",\"code\":\"");
			out_hex(stdout, d->code, LEDGER_INTEGRITY_LEN);
			printf("\",\"current\":\"");
			out_hex(stdout, d->current, LEDGER_INTEGRITY_LEN);
			printf("\",\"first_code\":\"");
			out_hex(stdout, d->first_code, LEDGER_INTEGRITY_LEN);
			printf("\"");
		}
		printf("}");
		return 0;
	}
	out_text(stdout, d->gateway);
	putchar(' ');
	out_device(stdout, d->id, d->id_len, false);
	printf(" %s code=", d->trusted ? "trusted" : "UNTRUSTED");
	if (d->has_code) {
		out_hex(stdout, d->code, 8);
		printf("... current=");
		out_hex(stdout, d->current, 8);
		printf("...");
	} else {
		printf("(none yet)");
	}
	printf(" seen=");
	if (d->seen_ns)
		out_time(stdout, d->seen_ns);
	else
		printf("never");
	printf("\n");
	return 0;
}

int cmd_device(struct cli *c, int argc, char **argv)
{
	bool json[2] = { false, true };
	uint8_t id[LEDGER_DEVICE_ID_MAX], id_len;
	char err[512];
	int rc = simple_opts(argc, argv, &json[0], device_usage);
	bool add, list;

	if (rc >= 0)
		return rc;
	argv += optind;
	argc -= optind;
	list = argc >= 1 && !strcmp(argv[0], "list");
	add = argc >= 1 && !strcmp(argv[0], "add");
	if (list ? argc > 2 : (argc != 3 || (!add && strcmp(argv[0], "trust")))) {
		device_usage(stderr);
		return EX_USAGE;
	}
	if (argc > 1 && !ledger_gateway_valid(argv[1])) {
		fprintf(stderr, "qkd-ledger: bad gateway name '%s'\n", argv[1]);
		return EX_USAGE;
	}
	if (!list && parse_device(argv[2], id, &id_len)) {
		fprintf(stderr, "qkd-ledger: device id must be 1..%d bytes\n",
			LEDGER_DEVICE_ID_MAX);
		return EX_USAGE;
	}
	rc = cli_open(c);
	if (rc)
		return rc;
	if (list) {
		if (json[0])
			printf("[");
		rc = ledger_devices(c->l, argc > 1 ? argv[1] : NULL, list_cb,
				    json, err, sizeof(err));
		if (json[0])
			printf("%s]\n", json[1] ? "" : "\n");
	} else if (add) {
		rc = ledger_device_add(c->l, argv[1], id, id_len, err,
				       sizeof(err));
	} else {
		rc = ledger_device_trust(c->l, argv[1], id, id_len, err,
					 sizeof(err));
	}
	if (rc) {
		fprintf(stderr, "qkd-ledger: device %s: %s\n", argv[0], err);
		return rc == -EEXIST || rc == -ENOENT ? EX_BAD : EX_USAGE;
	}
	if (!list)
		printf("%s %s %s\n", add ? "registered" : "trusted", argv[1],
		       argv[2]);
	return EX_OK;
}
