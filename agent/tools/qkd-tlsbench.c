// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-tlsbench: the baseline of scripts/bench-pipeline. The same device
 * records that qkd-agent one-time-pads to qkd-ledgerd are forwarded here
 * over TLS (OpenSSL, the library's default TLS 1.3 suite) into the same
 * ledger store, with the same group commit:
 *
 *   qkd-tlsbench ledger --listen ADDR:PORT --cert C --key K --db DB
 *                       --ledger-key F [--count N]
 *   qkd-tlsbench forward --connect ADDR:PORT [--host H] [--port P]
 *
 * forward subscribes to qkd/telemetry/+ (QoS 1) on the local broker and
 * writes every message as a u32 big-endian length plus the payload bytes
 * (agent/lib/payload.h) to the TLS connection. ledger accepts one
 * connection, parses each record, appends it to the ledger and commits
 * whenever the connection has nothing more to read (or every 256 records);
 * with --count it prints "committed N records in S s" and exits once N
 * records are durable.
 *
 * Not a product: no spool on the forwarding side, no acks, no reconnects.
 * It favours the baseline, which is what a benchmark baseline should do.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "ledger.h"
#include "payload.h"

#define BATCH_MAX	256

static void die(const char *what)
{
	fprintf(stderr, "qkd-tlsbench: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int ssl_read_full(SSL *ssl, void *buf, size_t n)
{
	size_t got = 0;
	int r;

	while (got < n) {
		r = SSL_read(ssl, (char *)buf + got, (int)(n - got));
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* True if a record is already buffered or the socket is readable now. */
static int more_ready(SSL *ssl, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return SSL_pending(ssl) > 0 || poll(&p, 1, 0) > 0;
}

static int run_ledger(const char *listen_at, const char *cert, const char *key,
		      const char *db, const char *ledger_key, long count)
{
	static uint8_t buf[QKD_PL_MAX_LEN];
	struct ledger_opts o = { .db_path = db, .key_path = ledger_key,
				 .writer = true, .auto_register = true };
	struct sockaddr_in sa;
	struct ledger *l;
	char err[256];
	long done = 0, staged = 0;
	uint64_t key_off = 0;	/* a stand-in key range per record */
	double t0 = 0;
	int lfd, fd, one = 1;
	SSL_CTX *ctx;
	SSL *ssl;

	if (parse_addr(listen_at, &sa))
		die("--listen wants IPV4:PORT");
	if (ledger_open(&l, &o, err, sizeof(err)))
		die(err);
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		die("cannot load the TLS certificate or key");
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		die("cannot listen");
	printf("listening\n");
	fflush(stdout);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept failed");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1)
		die("TLS handshake failed");
	fprintf(stderr, "qkd-tlsbench: %s, %s\n", SSL_get_version(ssl),
		SSL_get_cipher_name(ssl));

	while (count <= 0 || done < count) {
		struct ledger_record r = { .gateway = "tls-gw" };
		struct ledger_result res;
		struct qkd_record rec;
		uint32_t len;

		if (ssl_read_full(ssl, &len, sizeof(len)))
			break;
		len = ntohl(len);
		if (len > sizeof(buf) || ssl_read_full(ssl, buf, len))
			die("bad length or truncated record");
		if (qkd_pl_parse(buf, len, &rec, NULL) != QKD_PL_OK)
			die("malformed record");
		if (!t0)
			t0 = now_s();
		r.key_offset = key_off;
		r.key_len = rec.payload_len + 16;
		key_off += r.key_len;
		crypto_hash_sha256(r.ct_hash, rec.payload, rec.payload_len);
		r.device_id = (const uint8_t *)rec.device_id;
		r.device_id_len = rec.device_id_len;
		r.device_seq = rec.device_seq;
		r.device_time = rec.device_time_ns;
		memcpy(r.integrity, rec.integrity, sizeof(r.integrity));
		r.payload = rec.payload;
		r.payload_len = rec.payload_len;
		if (ledger_append(l, &r, &res, err, sizeof(err)))
			die(err);
		staged++;
		if (staged >= BATCH_MAX || !more_ready(ssl, fd)) {
			if (ledger_commit(l, err, sizeof(err)) < 0)
				die(err);
			done += staged;
			staged = 0;
		}
	}
	if (staged && ledger_commit(l, err, sizeof(err)) >= 0)
		done += staged;
	printf("committed %ld records in %.3f s\n", done, t0 ? now_s() - t0 : 0.0);
	ledger_close(l);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	close(lfd);
	return 0;
}

struct fwd {
	SSL *ssl;
	long sent;
};

static void on_message(struct mosquitto *m, void *arg,
		       const struct mosquitto_message *msg)
{
	struct fwd *f = arg;
	uint32_t len = htonl((uint32_t)msg->payloadlen);

	(void)m;
	if (SSL_write(f->ssl, &len, sizeof(len)) != sizeof(len) ||
	    SSL_write(f->ssl, msg->payload, msg->payloadlen) != msg->payloadlen)
		die("TLS write failed");
	f->sent++;
}

static int run_forward(const char *connect_to, const char *host, int port)
{
	struct sockaddr_in sa;
	struct fwd f = { 0 };
	struct mosquitto *m;
	SSL_CTX *ctx;
	int fd, one = 1;

	if (parse_addr(connect_to, &sa))
		die("--connect wants IPV4:PORT");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("cannot connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The baseline trusts any certificate: authentication is not measured. */
	ctx = SSL_CTX_new(TLS_client_method());
	f.ssl = ctx ? SSL_new(ctx) : NULL;
	if (!f.ssl || SSL_set_fd(f.ssl, fd) != 1 || SSL_connect(f.ssl) != 1)
		die("TLS handshake failed");

	mosquitto_lib_init();
	m = mosquitto_new("qkd-tlsbench", true, &f);
	if (!m)
		die("mosquitto_new failed");
	mosquitto_message_callback_set(m, on_message);
	if (mosquitto_connect(m, host, port, 30) != MOSQ_ERR_SUCCESS ||
	    mosquitto_subscribe(m, NULL, QKD_PL_TOPIC_FILTER, 1) != MOSQ_ERR_SUCCESS)
		die("cannot subscribe at the MQTT broker");
	printf("forwarding\n");
	fflush(stdout);
	mosquitto_loop_forever(m, -1, 1);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: qkd-tlsbench ledger --listen ADDR:PORT --cert PEM --key PEM\n"
		"                           --db DB --ledger-key FILE [--count N]\n"
		"       qkd-tlsbench forward --connect ADDR:PORT [--host H] [--port P]\n"
		"\n"
		"The TLS baseline of scripts/bench-pipeline: device records from the\n"
		"MQTT broker forwarded over TLS into the qkdkey ledger store.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'C' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "db", required_argument, NULL, 'd' },
		{ "ledger-key", required_argument, NULL, 'K' },
		{ "count", required_argument, NULL, 'n' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *listen_at = NULL, *connect_to = NULL, *cert = NULL,
		   *key = NULL, *db = NULL, *ledger_key = NULL, *host = "127.0.0.1";
	long count = 0;
	int port = 1883, c;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_at = optarg; break;
		case 'C': connect_to = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'd': db = optarg; break;
		case 'K': ledger_key = optarg; break;
		case 'n': count = atol(optarg); break;
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (sodium_init() < 0)
		die("sodium_init failed");
	if (!strcmp(argv[1], "ledger") && listen_at && cert && key && db && ledger_key)
		return run_ledger(listen_at, cert, key, db, ledger_key, count);
	if (!strcmp(argv[1], "forward") && connect_to)
		return run_forward(connect_to, host, port);
	usage(stderr);
	return 2;
}
