// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-send: test sender for qkd-agent. Makes COUNT records of device ID
 * with device seqs FIRST.. in the payload format of payload.h, sends them
 * and prints each record that was acknowledged, one line
 *
 *   <device id> <device seq> <payload hex, "-" if empty>
 *
 * (the format of qkd-recv's output), so that a test can compare the two.
 *
 *   qkd-send unix --socket PATH --device ID [--first N] [--count N]
 *   qkd-send mqtt [--host H] [--port N] --device ID [--first N] [--count N]
 *   common: [--size N] (payload bytes; default varies 0..300) [--timeout S]
 *
 * unix: one datagram per record from an autobound socket; waits for the
 * agent's "ACK <seq>" (the record is durable), re-sends after "ERR ..." or
 * 2 s without an answer (the agent may be restarting) until --timeout.
 * mqtt: QoS 1 publishes to qkd/telemetry/<ID>; acknowledged = PUBACK from
 * the broker. Exit status 0 if every record was acknowledged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "payload.h"

static const char *dev_id;
static long size = -1;
static uint8_t buf[QKD_PL_MAX_LEN], pl[QKD_REC_PAYLOAD_MAX];
static uint32_t plen;	/* payload length of the last record made */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The record of seq: deterministic from (device id, seq). */
static size_t make(uint64_t seq)
{
	struct qkd_record rec = { .device_seq = seq,
				  .device_time_ns = 1700000000000000000ull + seq };
	uint64_t x = 0xcbf29ce484222325ull ^ seq;

	for (const char *p = dev_id; *p; p++)
		x = (x ^ (uint8_t)*p) * 0x100000001b3ull;
	rec.payload_len = size >= 0 ? (uint32_t)size : (uint32_t)((x >> 7) % 301);
	for (uint32_t i = 0; i < rec.payload_len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pl[i] = (uint8_t)x;
	}
	for (int i = 0; i < QKD_REC_ICODE_LEN; i++)
		rec.integrity[i] = (uint8_t)(i ^ (uint8_t)*dev_id);
	rec.device_id_len = (uint8_t)strlen(dev_id);
	memcpy(rec.device_id, dev_id, rec.device_id_len);
	rec.payload = pl;
	plen = rec.payload_len;
	return qkd_pl_encode(&rec, buf, sizeof(buf));
}

static void print_line(uint64_t seq)
{
	make(seq);
	printf("%s %llu ", dev_id, (unsigned long long)seq);
	for (uint32_t i = 0; i < plen; i++)
		printf("%02x", pl[i]);
	printf(plen ? "\n" : "-\n");
}

static int send_unix(const char *path, uint64_t first, uint64_t count, double limit)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sa_family_t fam = AF_UNIX;
	double end = now_s() + limit;
	char reply[128], want[40];
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* autobind: an abstract address the agent can answer to */
	if (fd < 0 || bind(fd, (struct sockaddr *)&fam, sizeof(fam))) {
		perror("qkd-send: socket");
		return 1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (uint64_t seq = first; seq < first + count; seq++) {
		size_t n = make(seq);
		bool done = false;

		snprintf(want, sizeof(want), "ACK %llu", (unsigned long long)seq);
		while (!done) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t r;

			if (now_s() > end) {
				fprintf(stderr, "qkd-send: %s %llu: no ACK in time\n",
					dev_id, (unsigned long long)seq);
				return 1;
			}
			if (sendto(fd, buf, n, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				usleep(200000);	/* agent not there (restarting?) */
				continue;
			}
			while (poll(&p, 1, 2000) == 1) {
				r = recv(fd, reply, sizeof(reply) - 1, 0);
				if (r < 0)
					break;
				reply[r] = '\0';
				if (!strcmp(reply, want)) {
					done = true;
					break;
				}
				if (!strncmp(reply, "ERR", 3)) {
					usleep(200000);
					break;
				}
				/* a late answer to an earlier try: wait on */
			}
		}
		print_line(seq);
		fflush(stdout);
	}
	return 0;
}

static uint64_t acked;

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	(void)obj;
	(void)mid;
	acked++;
}

static int send_mqtt(const char *host, int port, uint64_t first, uint64_t count,
		     double limit)
{
	struct mosquitto *m;
	double end = now_s() + limit;
	char topic[QKD_PL_TOPIC_MAX];
	int rc;

	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, NULL);
	if (!m)
		return 1;
	mosquitto_publish_callback_set(m, on_publish);
	rc = mosquitto_connect(m, host, port, 60);
	if (rc) {
		fprintf(stderr, "qkd-send: connect %s:%d: %s\n", host, port,
			mosquitto_strerror(rc));
		return 1;
	}
	snprintf(topic, sizeof(topic), "%s%s", QKD_PL_TOPIC_PREFIX, dev_id);
	for (uint64_t seq = first; seq < first + count; seq++) {
		size_t n = make(seq);

		rc = mosquitto_publish(m, NULL, topic, (int)n, buf, 1, false);
		if (rc) {
			fprintf(stderr, "qkd-send: publish: %s\n", mosquitto_strerror(rc));
			return 1;
		}
	}
	while (acked < count && now_s() < end) {
		rc = mosquitto_loop(m, 100, 1);
		if (rc && rc != MOSQ_ERR_NO_CONN) {
			fprintf(stderr, "qkd-send: mqtt: %s\n", mosquitto_strerror(rc));
			return 1;
		}
	}
	mosquitto_disconnect(m);
	mosquitto_loop(m, 100, 1);
	mosquitto_destroy(m);
	if (acked < count) {
		fprintf(stderr, "qkd-send: %llu of %llu PUBACKs\n",
			(unsigned long long)acked, (unsigned long long)count);
		return 1;
	}
	for (uint64_t seq = first; seq < first + count; seq++)
		print_line(seq);
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "first", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'z' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 }
	};
	const char *path = NULL, *host = "127.0.0.1";
	unsigned long long first = 1, count = 1;
	double limit = 60;
	int port = 1883, o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': path = optarg; break;
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'd': dev_id = optarg; break;
		case 'f': first = strtoull(optarg, NULL, 0); break;
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 'z': size = atol(optarg); break;
		case 't': limit = atof(optarg); break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !dev_id ||
	    !qkd_pl_id_valid(dev_id, strlen(dev_id)) || size > (long)QKD_REC_PAYLOAD_MAX) {
		fprintf(stderr, "usage: qkd-send unix|mqtt ... (see the source)\n");
		return 2;
	}
	if (!strcmp(argv[optind], "unix") && path)
		return send_unix(path, first, count, limit);
	if (!strcmp(argv[optind], "mqtt"))
		return send_mqtt(host, port, first, count, limit);
	fprintf(stderr, "qkd-send: unix needs --socket; modes: unix, mqtt\n");
	return 2;
}
