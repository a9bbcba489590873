// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-devsim: a device simulator for end-to-end tests. M devices publish N
 * records in all over MQTT at QoS 1 to qkd/telemetry/<device id>, in the
 * payload format of payload.h, and the tool waits for every PUBACK.
 *
 * Everything is deterministic, so that a test can say what the ledger must
 * hold: record k of a run (k = 0..N-1) belongs to device k % M with device
 * seq FIRST + k / M; device i is called PREFIX-iii; its integrity code is
 * SHA-256("qkd-devsim integrity 1 " || id) and, with --change-integrity
 * ID@SEQ, SHA-256("qkd-devsim integrity 2 " || id) for that device's seqs
 * >= SEQ (a "firmware change"); the payload is a pseudo-random function of
 * (id, seq). With --list FILE every record is written, once PUBACKed, as
 *
 *   <device id> <device seq> <payload length> <SHA-256 of payload, hex>
 *   <integrity code, hex>        (one line, fields separated by a space)
 *
 * A PUBACK only says the broker has the message; what the gateway does
 * with it is what the test checks against this list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <sodium.h>

#include "payload.h"

#define MID_SLOTS	65536	/* MQTT message ids are 16 bit */

static struct {
	const char *host, *prefix, *list_path, *change_dev;
	char *show;
	int port, keepalive;
	unsigned long devices, records, window;
	unsigned long long first, change_seq;
	long size;
	double rate, timeout;
	bool append, quiet;
} opt = {
	.host = "127.0.0.1", .prefix = "dev", .port = 1883, .keepalive = 60,
	.devices = 100, .records = 10000, .window = 100, .first = 1,
	.size = 100, .timeout = 600,
};

static uint8_t msg[QKD_PL_MAX_LEN], pl[QKD_REC_PAYLOAD_MAX];
static long mid_rec[MID_SLOTS];	/* message id -> record number, -1 free */
static unsigned long acked, inflight;
static FILE *list;
static bool failed;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: qkd-devsim [OPTIONS]\n"
"Publish N telemetry records from M simulated devices over MQTT (QoS 1) and\n"
"wait for every PUBACK. Record k goes to device k %% M with seq FIRST + k / M.\n"
"\n"
"  -H, --host HOST          broker address (default 127.0.0.1)\n"
"  -p, --port N             broker port (default 1883)\n"
"  -m, --devices M          number of devices, 1..100000 (default 100)\n"
"  -n, --records N          records in all (default 10000)\n"
"  -f, --first SEQ          device seq of each device's first record (default 1)\n"
"  -P, --prefix STR         device ids are STR-000, STR-001, ... (default dev)\n"
"  -s, --size BYTES         payload bytes per record, 0..65536 (default 100)\n"
"  -r, --rate R             records per second, 0 = as fast as acked (default 0)\n"
"  -w, --window N           unacknowledged publishes at most (default 100)\n"
"  -c, --change-integrity ID@SEQ\n"
"                           device ID sends another integrity code from SEQ on\n"
"  -l, --list FILE          write each PUBACKed record to FILE (see the source)\n"
"  -a, --append             append to the --list file instead of truncating it\n"
"  -t, --timeout S          give up after S seconds (default 600)\n"
"  -q, --quiet              no summary line\n"
"  -x, --payload-of ID@SEQ  print that record's payload in hex and exit (with\n"
"                           the same --size); publishes nothing\n"
"  -h, --help               this help\n"
"\n"
"Prints a summary (records, devices, seconds, rate) on stdout. Exit status:\n"
"0 if every record was PUBACKed, 1 on failure or timeout, 2 on bad usage.\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void device_id(unsigned long i, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s-%03lu", opt.prefix, i);
}

static void integrity(const char *id, uint64_t seq, uint8_t out[QKD_REC_ICODE_LEN])
{
	bool changed = opt.change_dev && !strcmp(id, opt.change_dev) &&
		       seq >= opt.change_seq;
	char label[128];

	snprintf(label, sizeof(label), "qkd-devsim integrity %d %s", changed ? 2 : 1, id);
	crypto_hash_sha256(out, (const uint8_t *)label, strlen(label));
}

/* splitmix64 seeded from (id, seq): cheap, and the same on every run. */
static void payload(const char *id, uint64_t seq, uint8_t *p, size_t n)
{
	uint64_t x = 0xcbf29ce484222325ull;

	for (; *id; id++)
		x = (x ^ (uint8_t)*id) * 0x100000001b3ull;
	x ^= seq * 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		uint64_t z;

		x += 0x9e3779b97f4a7c15ull;
		z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		p[i] = (uint8_t)(z ^ (z >> 31));
	}
}

/* Record k of this run into msg; its topic into topic. Returns the length. */
static size_t make(unsigned long k, char *topic, size_t tcap, struct qkd_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	device_id(k % opt.devices, rec->device_id, sizeof(rec->device_id));
	rec->device_id_len = (uint8_t)strlen(rec->device_id);
	rec->device_seq = opt.first + k / opt.devices;
	rec->device_time_ns = 1700000000000000000ull + rec->device_seq * 1000000ull;
	integrity(rec->device_id, rec->device_seq, rec->integrity);
	rec->payload_len = (uint32_t)opt.size;
	payload(rec->device_id, rec->device_seq, pl, rec->payload_len);
	rec->payload = pl;
	if (topic && !qkd_pl_topic(rec, topic, tcap))
		return 0;
	return qkd_pl_encode(rec, msg, sizeof(msg));
}

static void hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

static void write_line(unsigned long k)
{
	struct qkd_record rec;
	uint8_t h[crypto_hash_sha256_BYTES];

	make(k, NULL, 0, &rec);
	crypto_hash_sha256(h, rec.payload, rec.payload_len);
	fprintf(list, "%s %llu %u ", rec.device_id, (unsigned long long)rec.device_seq,
		rec.payload_len);
	hex(list, h, sizeof(h));
	fputc(' ', list);
	hex(list, rec.integrity, sizeof(rec.integrity));
	fputc('\n', list);
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	(void)obj;
	if (mid < 0 || mid >= MID_SLOTS || mid_rec[mid] < 0) {
		fprintf(stderr, "qkd-devsim: PUBACK for unknown message id %d\n", mid);
		failed = true;
		return;
	}
	if (list)
		write_line((unsigned long)mid_rec[mid]);
	mid_rec[mid] = -1;
	acked++;
	inflight--;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	(void)obj;
	if (rc) {
		/* unacked publishes would need a session to survive: keep it simple */
		fprintf(stderr, "qkd-devsim: broker connection lost (%d)\n", rc);
		failed = true;
	}
}

/* --payload-of: the payload of ID@SEQ, in hex, for a test that must find
 * those bytes somewhere (e.g. in the ledger's database file). */
static int show_payload(char *arg)
{
	char *at = strrchr(arg, '@'), *end;
	unsigned long long seq;

	if (!at || at == arg)
		goto bad;
	*at = '\0';
	errno = 0;
	seq = strtoull(at + 1, &end, 10);
	if (errno || !at[1] || *end || !qkd_pl_id_valid(arg, strlen(arg)))
		goto bad;
	payload(arg, seq, pl, (size_t)opt.size);
	hex(stdout, pl, (size_t)opt.size);
	putchar('\n');
	return fflush(stdout) ? 1 : 0;
bad:
	fprintf(stderr, "qkd-devsim: --payload-of wants ID@SEQ\n");
	return 2;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "devices", required_argument, NULL, 'm' },
		{ "records", required_argument, NULL, 'n' },
		{ "first", required_argument, NULL, 'f' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "size", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "change-integrity", required_argument, NULL, 'c' },
		{ "list", required_argument, NULL, 'l' },
		{ "append", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "payload-of", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char *end, *at, id[QKD_REC_ID_MAX + 8];
	int o;

	while ((o = getopt_long(argc, argv, "H:p:m:n:f:P:s:r:w:c:l:at:qx:h", lo, NULL)) != -1) {
		errno = 0;
		end = NULL;
		switch (o) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = (int)strtol(optarg, &end, 10); break;
		case 'm': opt.devices = strtoul(optarg, &end, 10); break;
		case 'n': opt.records = strtoul(optarg, &end, 10); break;
		case 'f': opt.first = strtoull(optarg, &end, 10); break;
		case 'P': opt.prefix = optarg; break;
		case 's': opt.size = strtol(optarg, &end, 10); break;
		case 'r': opt.rate = strtod(optarg, &end); break;
		case 'w': opt.window = strtoul(optarg, &end, 10); break;
		case 'l': opt.list_path = optarg; break;
		case 'a': opt.append = true; break;
		case 't': opt.timeout = strtod(optarg, &end); break;
		case 'q': opt.quiet = true; break;
		case 'x': opt.show = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'c':
			at = strrchr(optarg, '@');
			if (!at || at == optarg) {
				fprintf(stderr, "qkd-devsim: --change-integrity wants ID@SEQ\n");
				return -1;
			}
			*at = '\0';
			opt.change_dev = optarg;
			opt.change_seq = strtoull(at + 1, &end, 10);
			break;
		default: return -1;
		}
		if (errno || (end && *end)) {
			fprintf(stderr, "qkd-devsim: bad number for -%c: %s\n", o, optarg);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "qkd-devsim: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	device_id(opt.devices ? opt.devices - 1 : 0, id, sizeof(id));
	if (opt.devices < 1 || opt.devices > 100000 || strlen(id) > QKD_REC_ID_MAX ||
	    !qkd_pl_id_valid(id, strlen(id))) {
		fprintf(stderr, "qkd-devsim: bad --devices or --prefix (ids like %s)\n", id);
		return -1;
	}
	if (opt.size < 0 || opt.size > (long)QKD_REC_PAYLOAD_MAX || opt.port <= 0 ||
	    opt.port > 65535 || opt.window < 1 || opt.window > MID_SLOTS / 2 ||
	    opt.rate < 0 || opt.timeout <= 0) {
		fprintf(stderr, "qkd-devsim: bad --size, --port, --window, --rate or --timeout\n");
		return -1;
	}
	return 0;
}

/* Publishes records next..; returns how many it published now. */
static unsigned long publish_some(struct mosquitto *m, unsigned long next, double t0)
{
	unsigned long n = 0;
	char topic[QKD_PL_TOPIC_MAX];
	struct qkd_record rec;

	while (next + n < opt.records && inflight < opt.window) {
		unsigned long k = next + n;
		size_t len;
		int mid, rc;

		if (opt.rate > 0 && now_s() < t0 + k / opt.rate)
			break;
		len = make(k, topic, sizeof(topic), &rec);
		if (!len) {
			fprintf(stderr, "qkd-devsim: cannot encode record %lu\n", k);
			failed = true;
			break;
		}
		rc = mosquitto_publish(m, &mid, topic, (int)len, msg, 1, false);
		if (rc) {
			fprintf(stderr, "qkd-devsim: publish: %s\n", mosquitto_strerror(rc));
			failed = true;
			break;
		}
		if (mid_rec[mid] >= 0) {
			fprintf(stderr, "qkd-devsim: message id %d reused while in flight\n", mid);
			failed = true;
			break;
		}
		mid_rec[mid] = (long)k;
		inflight++;
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	struct mosquitto *m;
	unsigned long next = 0;
	double t0, t1, end;
	int rc;

	if (parse_args(argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "qkd-devsim: sodium_init failed\n");
		return 1;
	}
	if (opt.show)
		return show_payload(opt.show);
	if (opt.list_path) {
		list = fopen(opt.list_path, opt.append ? "a" : "w");
		if (!list) {
			fprintf(stderr, "qkd-devsim: %s: %s\n", opt.list_path, strerror(errno));
			return 1;
		}
	}
	memset(mid_rec, 0xff, sizeof(mid_rec));
	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, NULL);
	if (!m) {
		fprintf(stderr, "qkd-devsim: mosquitto_new: %s\n", strerror(errno));
		return 1;
	}
	mosquitto_publish_callback_set(m, on_publish);
	mosquitto_disconnect_callback_set(m, on_disconnect);
	rc = mosquitto_connect(m, opt.host, opt.port, opt.keepalive);
	if (rc) {
		fprintf(stderr, "qkd-devsim: connect %s:%d: %s\n", opt.host, opt.port,
			rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		return 1;
	}
	t0 = now_s();
	end = t0 + opt.timeout;
	while (!failed && acked < opt.records && now_s() < end) {
		next += publish_some(m, next, t0);
		/* short waits when rate-limited, so the schedule is kept */
		rc = mosquitto_loop(m, opt.rate > 0 ? 5 : 100, 1);
		if (rc && !failed) {
			fprintf(stderr, "qkd-devsim: mqtt: %s\n", mosquitto_strerror(rc));
			failed = true;
		}
	}
	t1 = now_s();
	if (!failed && acked < opt.records)
		fprintf(stderr, "qkd-devsim: timeout: %lu of %lu records PUBACKed\n",
			acked, opt.records);
	mosquitto_disconnect(m);
	mosquitto_loop(m, 100, 1);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	if (list && fclose(list)) {
		fprintf(stderr, "qkd-devsim: %s: %s\n", opt.list_path, strerror(errno));
		failed = true;
	}
	if (!opt.quiet)
		printf("qkd-devsim: %lu of %lu records from %lu devices PUBACKed in %.3f s (%.0f records/s)\n",
		       acked, opt.records, opt.devices, t1 - t0,
		       t1 > t0 ? acked / (t1 - t0) : 0.0);
	return failed || acked < opt.records ? 1 : 0;
}
