// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-sealbench: seal and open throughput of the qkdkey DATA frame
 * (agent/lib/frame.h: one-time pad + Wegman-Carter Poly1305) next to
 * libsodium's crypto_secretbox_easy()/crypto_secretbox_open_easy()
 * (XSalsa20-Poly1305 with a fresh random 24-byte nonce per record), on the
 * same telemetry payloads, in the same run; plus key and wire bytes per
 * frame. See Documentation/benchmarks.md.
 *
 * This benchmarks the codec, not key delivery: the QKD key bytes come from a
 * buffer filled with randombytes_buf() before the timed loops, not from
 * /dev/qkdkey. Key offsets in the headers advance as a real sender's would
 * (each frame names fresh, never-overlapping offsets), but the bytes behind
 * them come from a ring of NSLOT frames' worth of key that is reused, so that
 * key, payloads and frames stay in cache the way a key just read from the
 * kernel would be.
 *
 * Per case (payload size) each repetition measures, back to back and in a
 * rotated order, qkdkey seal, secretbox seal, qkdkey open and secretbox open
 * for --time seconds each. Frames/s and MB/s (10^6 payload bytes/s) are
 * medians over the repetitions; a ratio qkdkey/secretbox is taken within
 * each repetition, and its median and quartiles are printed.
 *
 * Every return value is checked; a seal or open that fails, or a decrypted
 * payload that differs from the original (checked for every frame in an
 * untimed pass before the timed loops), aborts the benchmark with status 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "frame.h"

#define NSLOT		256	/* distinct records / key slots / frames */
#define BATCH		64	/* frames between two clock reads */
#define MAX_REPS	101
#define MAX_SIZES	8

/* A typical device id, as the ingest side sees it (19 bytes). */
static const char device_id[] = "plant7/pump-0042/t1";

/*
 * A comparable header for the classical scheme: the qkdkey DATA header
 * without what only QKD key needs (epoch 8, key_offset 8). Prefix 8,
 * session 8, seq 8, payload_len 4, id_len 1, reserved 3, device_seq 8,
 * device_time 8, integrity 32 = 80, then the device id; then the 24-byte
 * nonce and the secretbox (payload + 16-byte MAC).
 */
#define SB_HDR_FIXED	(QKD_DATA_FIXED_LEN - 16)
#define SB_WIRE_LEN(id, p) \
	(SB_HDR_FIXED + (size_t)(id) + crypto_secretbox_NONCEBYTES + \
	 crypto_secretbox_MACBYTES + (size_t)(p))

/* NONCE: randombytes_buf() of one nonce alone, to show its share. */
enum meas { Q_SEAL, S_SEAL, Q_OPEN, S_OPEN, NMEAS, NONCE = NMEAS };
static const char *const meas_name[NMEAS] = {
	"qkd seal", "sb seal", "qkd open", "sb open"
};

struct ctx {
	size_t plen, klen;		/* payload bytes, QKD key bytes per frame */
	uint8_t *payload;		/* NSLOT records of plen bytes */
	uint8_t *key;			/* NSLOT slices of klen QKD key bytes */
	uint8_t r[QKD_R_LEN];		/* the session's Poly1305 r */
	uint8_t sbkey[crypto_secretbox_KEYBYTES];
	struct qkd_data_hdr h;		/* the sender's running header */
	/* seal output */
	uint8_t *out;			/* one frame */
	uint8_t *sbout;			/* nonce || box */
	/* open input: NSLOT pre-sealed frames of each kind */
	uint8_t *qframes;		/* NSLOT frames of qlen bytes */
	size_t qlen;
	uint8_t *sbframes;		/* NSLOT (nonce || box) */
	size_t sblen;
	uint8_t *plain;			/* open output */
	uint64_t rx_seq;		/* receiver's expected seq, per pass */
	unsigned long long frames;	/* all frames sealed/opened, checked */
};

static void die(const char *what, int err)
{
	fprintf(stderr, "qkd-sealbench: %s failed: %s (%d)\n", what,
		err < 0 ? strerror(-err) : "bad result", err);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		die("clock_gettime", -errno);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Telemetry records of exactly n bytes: JSON text, the kind a device
 * sends (16 B is a bare reading, 100 B one record, 1 KiB a small batch).
 */
static void make_record(uint8_t *p, size_t n, unsigned int i)
{
	char buf[2048];
	size_t len = 0;

	if (n <= 24) {
		len = (size_t)snprintf(buf, sizeof(buf), "{\"t\":%u,\"h\":%u}",
				       180 + i % 90, 40 + i % 50);
	} else {
		unsigned int k = 0;

		len = (size_t)snprintf(buf, sizeof(buf), "[");
		while (len < n && len < sizeof(buf) - 160) {
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				"%s{\"ts\":%u,\"temp_c\":%u.%02u,\"rh\":%u.%u,"
				"\"p_kpa\":%u.%u,\"vbat\":3.%02u,\"st\":\"ok\"}",
				k ? "," : "", 1732492800u + 10 * (i + k),
				18 + (i + k) % 9, (i * 7 + k) % 100,
				40 + (i + k) % 50, k % 10, 98 + k % 5, i % 10,
				60 + (i + k) % 40);
			k++;
		}
	}
	/* Cut or pad with spaces to exactly n bytes. */
	if (len > n)
		len = n;
	memcpy(p, buf, len);
	memset(p + len, ' ', n - len);
}

static void ctx_init(struct ctx *c, size_t plen)
{
	uint8_t fw[4096];

	memset(c, 0, sizeof(*c));
	c->plen = plen;
	c->klen = QKD_DATA_KEY_LEN(plen);
	c->qlen = QKD_DATA_LEN(sizeof(device_id) - 1, plen);
	c->sblen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
	c->payload = malloc(NSLOT * plen + 1);
	c->key = malloc(NSLOT * c->klen);
	c->out = malloc(c->qlen);
	c->sbout = malloc(c->sblen);
	c->qframes = malloc(NSLOT * c->qlen);
	c->sbframes = malloc(NSLOT * c->sblen);
	c->plain = malloc(plen + 1);
	if (!c->payload || !c->key || !c->out || !c->sbout || !c->qframes ||
	    !c->sbframes || !c->plain)
		die("malloc", -ENOMEM);
	for (unsigned int i = 0; i < NSLOT; i++)
		make_record(c->payload + i * plen, plen, i);
	/* The QKD key: pre-generated, not read from /dev/qkdkey. */
	randombytes_buf(c->key, NSLOT * c->klen);
	randombytes_buf(c->r, sizeof(c->r));
	crypto_secretbox_keygen(c->sbkey);

	c->h.session_id = 0x5eb1c0de00000001ull;
	c->h.seq = 0;
	c->h.epoch = 3;
	c->h.key_offset = 32;	/* after the HELLO's r || s_hello */
	c->h.device_seq = 1000;
	c->h.device_time = 1732492800000000000ull;
	c->h.payload_len = (uint32_t)plen;
	c->h.device_id_len = sizeof(device_id) - 1;
	memcpy(c->h.device_id, device_id, sizeof(device_id) - 1);
	/* The device's integrity code: SHA-256 of its "firmware". */
	for (size_t i = 0; i < sizeof(fw); i++)
		fw[i] = (uint8_t)(i * 131 + 7);
	crypto_hash_sha256(c->h.integrity, fw, sizeof(fw));
}

static void ctx_free(struct ctx *c)
{
	sodium_memzero(c->key, NSLOT * c->klen);
	sodium_memzero(c->r, sizeof(c->r));
	sodium_memzero(c->sbkey, sizeof(c->sbkey));
	free(c->payload);
	free(c->key);
	free(c->out);
	free(c->sbout);
	free(c->qframes);
	free(c->sbframes);
	free(c->plain);
}

/* The sender: next header, key slice i, payload i. */
static inline void qkd_seal_one(struct ctx *c, uint8_t *out, unsigned int i)
{
	int n;

	c->h.seq++;
	c->h.device_seq++;
	c->h.device_time += 10000000;
	n = qkd_data_seal(out, c->qlen, &c->h, c->r,
			  c->key + (size_t)i * c->klen, c->klen,
			  c->payload + (size_t)i * c->plen);
	if (n != (int)c->qlen)
		die("qkd_data_seal", n);
	c->h.key_offset += c->klen;
}

static inline void sb_seal_one(struct ctx *c, uint8_t *out, unsigned int i)
{
	int rc;

	/* A fresh random nonce per record, as a real sender would. */
	randombytes_buf(out, crypto_secretbox_NONCEBYTES);
	rc = crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES,
				   c->payload + (size_t)i * c->plen, c->plen,
				   out, c->sbkey);
	if (rc)
		die("crypto_secretbox_easy", rc);
}

/*
 * The receiver: the stream reader's prefix check, the key-free parse and
 * the header checks (session, epoch, seq), then verify + decrypt with the
 * key bytes the header names. Frame i of the pre-sealed set has seq i + 1
 * and key slice i.
 */
static inline void qkd_open_one(struct ctx *c, unsigned int i)
{
	const uint8_t *f = c->qframes + (size_t)i * c->qlen;
	struct qkd_data_hdr h;
	enum qkd_msg_type type;
	int n;

	n = qkd_frame_peek(f, QKD_PREFIX_LEN, &type);
	if (n != (int)c->qlen || type != QKD_MSG_DATA)
		die("qkd_frame_peek", n);
	n = qkd_data_parse(f, (size_t)n, &h);
	if (n)
		die("qkd_data_parse", n);
	if (h.session_id != c->h.session_id || h.epoch != c->h.epoch ||
	    h.seq != (uint64_t)i + 1 || h.payload_len != c->plen)
		die("header check", 1);
	n = qkd_data_open(f, c->qlen, c->r, c->key + (size_t)i * c->klen,
			  QKD_DATA_KEY_LEN(h.payload_len), c->plain, c->plen);
	if (n != (int)c->plen)
		die("qkd_data_open", n);
}

static inline void sb_open_one(struct ctx *c, unsigned int i)
{
	const uint8_t *f = c->sbframes + (size_t)i * c->sblen;
	int rc;

	rc = crypto_secretbox_open_easy(c->plain, f + crypto_secretbox_NONCEBYTES,
					c->sblen - crypto_secretbox_NONCEBYTES,
					f, c->sbkey);
	if (rc)
		die("crypto_secretbox_open_easy", rc);
}

/* Seal the NSLOT frames the open loops use and check they open right. */
static void ctx_presel(struct ctx *c)
{
	struct qkd_data_hdr saved = c->h;

	c->h.seq = 0;
	c->h.key_offset = 32;
	for (unsigned int i = 0; i < NSLOT; i++) {
		qkd_seal_one(c, c->qframes + (size_t)i * c->qlen, i);
		sb_seal_one(c, c->sbframes + (size_t)i * c->sblen, i);
	}
	for (unsigned int i = 0; i < NSLOT; i++) {
		const uint8_t *p = c->payload + (size_t)i * c->plen;

		qkd_open_one(c, i);
		if (memcmp(c->plain, p, c->plen))
			die("qkdkey round trip", 1);
		/* The payload must not be on the wire in clear. */
		if (c->plen >= 16 &&
		    !memcmp(c->qframes + (size_t)i * c->qlen +
			    QKD_DATA_FIXED_LEN + c->h.device_id_len, p, 16))
			die("qkdkey ciphertext check", 1);
		sb_open_one(c, i);
		if (memcmp(c->plain, p, c->plen))
			die("secretbox round trip", 1);
	}
	/* A flipped bit must be rejected (and is not counted as a frame). */
	c->qframes[QKD_DATA_FIXED_LEN] ^= 1;
	if (qkd_data_open(c->qframes, c->qlen, c->r, c->key, c->klen,
			  c->plain, c->plen) != -EKEYREJECTED)
		die("qkdkey forgery check", 1);
	c->qframes[QKD_DATA_FIXED_LEN] ^= 1;
	c->h = saved;
}

/* One timed stretch of about tsec seconds; returns frames per second. */
static double measure(struct ctx *c, enum meas m, double tsec)
{
	unsigned long long n = 0;
	unsigned int i = 0;
	double t0 = now(), t;

	do {
		for (int b = 0; b < BATCH; b++) {
			switch (m) {
			case Q_SEAL:
				qkd_seal_one(c, c->out, i);
				break;
			case S_SEAL:
				sb_seal_one(c, c->sbout, i);
				break;
			case Q_OPEN:
				qkd_open_one(c, i);
				break;
			case S_OPEN:
				sb_open_one(c, i);
				break;
			case NONCE:
				randombytes_buf(c->sbout, crypto_secretbox_NONCEBYTES);
				break;
			default:
				break;
			}
			if (++i == NSLOT)
				i = 0;
		}
		n += BATCH;
		t = now() - t0;
	} while (t < tsec);
	if (m != NONCE)
		c->frames += n;
	return (double)n / t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Quantile q of v[0..n), nearest rank on a sorted copy. */
static double quant(const double *v, int n, double q)
{
	double s[MAX_REPS];
	int k;

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	k = (int)(q * (n - 1) + 0.5);
	return s[k];
}

static const char *size_str(size_t n, char *buf, size_t len)
{
	if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n / 1024);
	else
		snprintf(buf, len, "%zu B", n);
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: qkd-sealbench [-t SEC] [-r N] [-s LIST] [-v]\n"
"\n"
"Seal and open throughput of the qkdkey DATA frame (one-time pad +\n"
"Poly1305, agent/lib/frame.h) against libsodium crypto_secretbox_easy /\n"
"crypto_secretbox_open_easy (fresh random nonce per record) on the same\n"
"telemetry payloads, plus key and wire bytes per frame. QKD key bytes come\n"
"from a pre-generated buffer: this measures the codec, not key delivery.\n"
"\n"
"  -t SEC    timed seconds per measurement (default 0.2)\n"
"  -r N      repetitions per case, medians reported (default 9, max %d)\n"
"  -s LIST   payload sizes in bytes (default 16,100,1024)\n"
"  -v        print every single measurement\n"
"  -h        this help\n", MAX_REPS);
}

int main(int argc, char **argv)
{
	size_t sizes[MAX_SIZES] = { 16, 100, 1024 };
	int nsizes = 3, reps = 9, verbose = 0, opt;
	double tsec = 0.2, t_start;
	unsigned long long all_frames = 0;
	char sb[32];

	while ((opt = getopt(argc, argv, "t:r:s:vh")) != -1) {
		switch (opt) {
		case 't':
			tsec = strtod(optarg, NULL);
			if (!(tsec > 0 && tsec <= 60)) {
				fprintf(stderr, "qkd-sealbench: bad -t %s\n", optarg);
				return 2;
			}
			break;
		case 'r':
			reps = atoi(optarg);
			if (reps < 1 || reps > MAX_REPS) {
				fprintf(stderr, "qkd-sealbench: bad -r %s\n", optarg);
				return 2;
			}
			break;
		case 's': {
			char *s = optarg, *end;

			nsizes = 0;
			while (*s) {
				unsigned long v = strtoul(s, &end, 10);

				if (end == s || v < 1 || v > QKD_PAYLOAD_MAX ||
				    nsizes == MAX_SIZES || (*end && *end != ',')) {
					fprintf(stderr, "qkd-sealbench: bad -s %s\n",
						optarg);
					return 2;
				}
				sizes[nsizes++] = v;
				s = *end ? end + 1 : end;
			}
			if (!nsizes) {
				fprintf(stderr, "qkd-sealbench: bad -s\n");
				return 2;
			}
			break;
		}
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		die("sodium_init", -EIO);

	printf("qkd-sealbench: libsodium %s, %d reps x %.3g s per measurement, "
	       "device id \"%s\" (%zu B), %d records/key slots per case\n",
	       sodium_version_string(), reps, tsec, device_id,
	       sizeof(device_id) - 1, NSLOT);
	printf("QKD key from a pre-generated buffer (codec only, not key delivery); "
	       "MB/s = 10^6 payload bytes/s; ratio = qkdkey/secretbox per rep, "
	       "median [quartiles]\n\n");

	double res[MAX_SIZES][NMEAS][MAX_REPS];
	double ratio[MAX_SIZES][2][MAX_REPS];
	double nonce[MAX_REPS];

	t_start = now();
	for (int si = 0; si < nsizes; si++) {
		struct ctx c;

		ctx_init(&c, sizes[si]);
		ctx_presel(&c);
		/* Warm-up, untimed in the results. */
		for (int m = 0; m < NMEAS; m++)
			measure(&c, (enum meas)m, 0.02);
		for (int r = 0; r < reps; r++) {
			for (int k = 0; k < NMEAS; k++) {
				int m = (k + r) % NMEAS;

				res[si][m][r] = measure(&c, (enum meas)m, tsec);
				if (verbose)
					fprintf(stderr, "%s rep %d %-8s %.0f frames/s\n",
						size_str(sizes[si], sb, sizeof(sb)),
						r, meas_name[m], res[si][m][r]);
			}
			ratio[si][0][r] = res[si][Q_SEAL][r] / res[si][S_SEAL][r];
			ratio[si][1][r] = res[si][Q_OPEN][r] / res[si][S_OPEN][r];
		}
		if (si == 0) {
			/* The secretbox sender's nonce alone, for scale. */
			for (int r = 0; r < reps; r++)
				nonce[r] = measure(&c, NONCE, tsec / 4);
		}
		all_frames += c.frames;
		ctx_free(&c);
	}

	printf("payload op   | qkdkey frames/s    MB/s | secretbox frames/s    MB/s | qkdkey/secretbox\n");
	printf("---------------------------------------------------------------------------------------------\n");
	for (int si = 0; si < nsizes; si++) {
		for (int op = 0; op < 2; op++) {
			int mq = op ? Q_OPEN : Q_SEAL, ms = op ? S_OPEN : S_SEAL;
			double fq = quant(res[si][mq], reps, 0.5);
			double fs = quant(res[si][ms], reps, 0.5);

			printf("%-7s %-4s | %15.0f %7.1f | %18.0f %7.1f | %.2fx [%.2f-%.2f]\n",
			       size_str(sizes[si], sb, sizeof(sb)),
			       op ? "open" : "seal",
			       fq, fq * (double)sizes[si] / 1e6,
			       fs, fs * (double)sizes[si] / 1e6,
			       quant(ratio[si][op], reps, 0.5),
			       quant(ratio[si][op], reps, 0.25),
			       quant(ratio[si][op], reps, 0.75));
		}
	}

	printf("\nper frame  | key bytes: qkdkey secretbox | wire bytes: qkdkey secretbox  qkdkey/secretbox\n");
	printf("-----------------------------------------------------------------------------------------\n");
	for (int si = 0; si < nsizes; si++) {
		size_t idl = sizeof(device_id) - 1;
		size_t qw = QKD_DATA_LEN(idl, sizes[si]);
		size_t sw = SB_WIRE_LEN(idl, sizes[si]);

		printf("%-10s | %17zu %9d | %18zu %9zu  %.2fx\n",
		       size_str(sizes[si], sb, sizeof(sb)),
		       QKD_DATA_KEY_LEN(sizes[si]), 0, qw, sw,
		       (double)qw / (double)sw);
	}
	printf("\nkey: qkdkey = payload + 16 (pad + Poly1305 s) of QKD key per frame, plus 32 per\n"
	       "session (r, s_hello); secretbox = 0 per record after one 32-byte key.\n"
	       "wire: qkdkey = %d + id + payload (header %d, tag 16); secretbox = comparable\n"
	       "header %d + id, nonce %d, payload + MAC %d.\n",
	       QKD_DATA_FIXED_LEN + QKD_TAG_LEN, QKD_DATA_FIXED_LEN, SB_HDR_FIXED,
	       crypto_secretbox_NONCEBYTES, crypto_secretbox_MACBYTES);
	printf("secretbox seal includes one randombytes_buf() of %d bytes per record: "
	       "alone %.0f ns (median)\n", crypto_secretbox_NONCEBYTES,
	       1e9 / quant(nonce, reps, 0.5));
	printf("\nframes sealed/opened: %llu, every return value checked, round trips "
	       "verified; %.1f s\n", all_frames, now() - t_start);
	return 0;
}
