// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledger output and argument helpers: a small JSON string escaper (no
 * JSON library needed for what we print), hex, device ids, times, and
 * parsing of numbers, device ids and public keys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "qkd_ledger.h"

void out_json_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void out_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s >= 0x20 && (unsigned char)*s <= 0x7e ?
		      *s : '?', f);
}

void out_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static bool printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	return n > 0 && !(n > 4 && !memcmp(p, "hex:", 4));
}

void out_device(FILE *f, const uint8_t *id, size_t n, bool json)
{
	if (json)
		fputc('"', f);
	if (printable(id, n)) {
		for (size_t i = 0; i < n; i++) {
			if (json && (id[i] == '"' || id[i] == '\\'))
				fputc('\\', f);
			fputc(id[i], f);
		}
	} else {
		fputs("hex:", f);
		out_hex(f, id, n);
	}
	if (json)
		fputc('"', f);
}

void out_time(FILE *f, uint64_t ns)
{
	time_t s = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char buf[32];

	if (gmtime_r(&s, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S",
					  &tm))
		fprintf(f, "%s.%03uZ", buf,
			(unsigned int)(ns % 1000000000ull / 1000000));
	else
		fprintf(f, "%llu", (unsigned long long)ns);
}

const char *event_name(uint32_t kind)
{
	static const char *const names[] = {
		[LEDGER_EV_BAD_TAG] = "BAD_TAG",
		[LEDGER_EV_REPLAY] = "REPLAY",
		[LEDGER_EV_KEY_REUSE] = "KEY_REUSE",
		[LEDGER_EV_WRONG_EPOCH] = "WRONG_EPOCH",
		[LEDGER_EV_UNKNOWN_GATEWAY] = "UNKNOWN_GATEWAY",
		[LEDGER_EV_PROTOCOL] = "PROTOCOL",
		[LEDGER_EV_UNKNOWN_DEVICE] = "UNKNOWN_DEVICE",
		[LEDGER_EV_INTEGRITY] = "INTEGRITY",
		[LEDGER_EV_TRUST] = "TRUST",
	};

	if (kind < sizeof(names) / sizeof(names[0]) && names[kind])
		return names[kind];
	return "UNKNOWN";
}

void out_flags(FILE *f, uint32_t flags, bool json)
{
	static const char *const names[] = { "UNTRUSTED", "INTEGRITY",
					     "REGISTERED" };
	bool first = true;

	if (json)
		fputc('[', f);
	for (unsigned int i = 0; i < 3; i++) {
		if (!(flags & (1u << i)))
			continue;
		fprintf(f, json ? "%s\"%s\"" : "%s%s", first ? "" : ",",
			names[i]);
		first = false;
	}
	if (json)
		fputc(']', f);
	else if (first)
		fputc('-', f);
}

int parse_device(const char *s, uint8_t *id, uint8_t *len)
{
	size_t n;

	if (!strncmp(s, "hex:", 4)) {
		if (sodium_hex2bin(id, LEDGER_DEVICE_ID_MAX, s + 4, strlen(s + 4),
				   NULL, &n, NULL) || n == 0)
			return -1;
	} else {
		n = strlen(s);
		if (n == 0 || n > LEDGER_DEVICE_ID_MAX)
			return -1;
		memcpy(id, s, n);
	}
	*len = (uint8_t)n;
	return 0;
}

int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int hex_key(const char *s, size_t n, uint8_t pk[LEDGER_PK_LEN])
{
	size_t len;

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	return n == 2 * LEDGER_PK_LEN &&
	       !sodium_hex2bin(pk, LEDGER_PK_LEN, s, n, NULL, &len, NULL) &&
	       len == LEDGER_PK_LEN ? 0 : -1;
}

int parse_pubkey(const char *s, uint8_t pk[LEDGER_PK_LEN])
{
	char buf[2 * LEDGER_PK_LEN + 4];
	ssize_t n;
	int fd;

	if (hex_key(s, strlen(s), pk) == 0)
		return 0;
	fd = open(s, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == LEDGER_PK_LEN) {
		memcpy(pk, buf, LEDGER_PK_LEN);
		return 0;
	}
	return n > 0 ? hex_key(buf, (size_t)n, pk) : -1;
}

int key_file_pubkey(const char *path, uint8_t pk[LEDGER_PK_LEN])
{
	uint8_t buf[65], sk[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == 32)
		crypto_sign_seed_keypair(pk, sk, buf);
	else if (n == 64)
		crypto_sign_ed25519_sk_to_pk(pk, buf);
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(sk, sizeof(sk));
	return n == 32 || n == 64 ? 0 : -1;
}
