// SPDX-License-Identifier: GPL-2.0
/* qkd-ledger show: list entries, as text or as a JSON array. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "qkd_ledger.h"

static void show_usage(FILE *f)
{
	fputs("usage: qkd-ledger show [--device D] [--gateway G] [--events]\n"
	      "                       [--from N] [--count N] [-j]\n"
	      "  Lists entries in index order. D is a device id as text or\n"
	      "  hex:HEX; --events lists only security and integrity events;\n"
	      "  -j prints a JSON array. Payloads are printed in hex.\n", f);
}

struct show {
	bool json;
	unsigned long long n;
};

static void show_text(const struct ledger_entry *e)
{
	printf("%llu ", (unsigned long long)e->index);
	out_time(stdout, e->recv_ns);
	if (e->type == LEDGER_T_RECORD) {
		printf(" record gw=");
		out_text(stdout, e->gateway);
		printf(" dev=");
		out_device(stdout, e->device_id, e->device_id_len, false);
		printf(" seq=%llu epoch=%llu key=%llu+%u flags=",
		       (unsigned long long)e->device_seq,
		       (unsigned long long)e->epoch,
		       (unsigned long long)e->key_offset, e->key_len);
		out_flags(stdout, e->flags, false);
		printf(" code=");
		out_hex(stdout, e->integrity, 8);
		printf("... payload=%u bytes\n", e->payload_len);
	} else {
		printf(" event %s gw=", event_name(e->kind));
		out_text(stdout, e->gateway[0] ? e->gateway : "-");
		if (e->device_id_len) {
			printf(" dev=");
			out_device(stdout, e->device_id, e->device_id_len,
				   false);
		}
		putchar(' ');
		out_text(stdout, e->detail);
		putchar('\n');
	}
}

static void show_json(const struct ledger_entry *e)
{
	printf("{\"index\":%llu,\"type\":\"%s\",\"recv_ns\":%llu,"
	       "\"gateway\":", (unsigned long long)e->index,
	       e->type == LEDGER_T_RECORD ? "record" : "event",
	       (unsigned long long)e->recv_ns);
	out_json_str(stdout, e->gateway, strlen(e->gateway));
	printf(",\"device\":");
	if (e->device_id_len)
		out_device(stdout, e->device_id, e->device_id_len, true);
	else
		printf("null");
	if (e->type == LEDGER_T_RECORD) {
		printf(",\"seq\":%llu,\"device_time_ns\":%llu,"
		       "\"epoch\":%llu,\"key_offset\":%llu,\"key_len\":%u,"
		       "\"ct_hash\":\"", (unsigned long long)e->device_seq,
		       (unsigned long long)e->device_time,
		       (unsigned long long)e->epoch,
		       (unsigned long long)e->key_offset, e->key_len);
		out_hex(stdout, e->ct_hash, LEDGER_HASH_LEN);
		printf("\",\"integrity\":\"");
		out_hex(stdout, e->integrity, LEDGER_INTEGRITY_LEN);
		printf("\",\"flags\":");
		out_flags(stdout, e->flags, true);
		printf(",\"payload\":\"");
		out_hex(stdout, e->payload, e->payload_len);
		printf("\"");
	} else {
		printf(",\"kind\":\"%s\",\"detail\":", event_name(e->kind));
		out_json_str(stdout, e->detail, strlen(e->detail));
	}
	printf(",\"leaf\":\"");
	out_hex(stdout, e->leaf, LEDGER_HASH_LEN);
	printf("\",\"chain\":\"");
	out_hex(stdout, e->chain, LEDGER_HASH_LEN);
	printf("\"}");
}

static int show_cb(const struct ledger_entry *e, void *ctx)
{
	struct show *s = ctx;

	if (s->json) {
		printf("%s\n  ", s->n ? "," : "");
		show_json(e);
	} else {
		show_text(e);
	}
	s->n++;
	return 0;
}

int cmd_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'D' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "events", no_argument, NULL, 'e' },
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint8_t dev[LEDGER_DEVICE_ID_MAX];
	struct ledger_filter f = { 0 };
	struct show s = { 0 };
	char err[512];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'D':
			if (parse_device(optarg, dev, &f.device_id_len)) {
				fprintf(stderr, "qkd-ledger: bad device id '%s'\n",
					optarg);
				return EX_USAGE;
			}
			f.device_id = dev;
			break;
		case 'g':
			if (!ledger_gateway_valid(optarg)) {
				fprintf(stderr, "qkd-ledger: bad gateway name '%s'\n",
					optarg);
				return EX_USAGE;
			}
			f.gateway = optarg;
			break;
		case 'e':
			f.events_only = true;
			break;
		case 'f':
		case 'n':
			if (parse_u64(optarg, opt == 'f' ? &f.from : &f.count)) {
				fprintf(stderr, "qkd-ledger: bad number '%s'\n",
					optarg);
				return EX_USAGE;
			}
			break;
		case 'j':
			s.json = true;
			break;
		case 'h':
			show_usage(stdout);
			return EX_OK;
		default:
			show_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "qkd-ledger: show: unexpected '%s'\n",
			argv[optind]);
		return EX_USAGE;
	}
	rc = cli_open(c);
	if (rc)
		return rc;
	if (s.json)
		printf("[");
	rc = ledger_entries(c->l, &f, show_cb, &s, err, sizeof(err));
	if (s.json)
		printf("%s]\n", s.n ? "\n" : "");
	if (rc) {
		fprintf(stderr, "qkd-ledger: %s\n", err);
		return EX_USAGE;
	}
	return EX_OK;
}
