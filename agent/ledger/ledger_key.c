// SPDX-License-Identifier: GPL-2.0
/*
 * The tree-head signing key and signed tree heads. The key file holds a
 * 32-byte Ed25519 seed or a 64-byte libsodium secret key, and nothing
 * else; the writer creates it (a new seed, mode 0600) when it is missing
 * and refuses one that others can read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger_int.h"

static const char sth_label[13] = "qkdkey-sth-v1";

static int create_key(const char *path, uint8_t seed[32], char *err,
		      size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0) {
		lg_err(err, errlen, "cannot create key file %s: %s", path,
		       strerror(errno));
		return -errno;
	}
	randombytes_buf(seed, 32);
	n = write(fd, seed, 32);
	if (n != 32 || fsync(fd)) {
		lg_err(err, errlen, "cannot write key file %s: %s", path,
		       n < 0 ? strerror(errno) : "short write");
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	return 0;
}

int lg_key_load(struct ledger *l, const char *path, bool create, char *err,
		size_t errlen)
{
	uint8_t buf[65], seed[32];
	struct stat sb;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		rc = create_key(path, seed, err, errlen);
		if (rc)
			return rc;
		crypto_sign_seed_keypair(l->pk, l->sk, seed);
		sodium_memzero(seed, sizeof(seed));
		l->have_sk = true;
		return 0;
	}
	if (fd < 0) {
		lg_err(err, errlen, "cannot open key file %s: %s", path,
		       strerror(errno));
		return -errno;
	}
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077)) {
		lg_err(err, errlen, "key file %s is readable by others"
		       " (mode %03o); chmod 600 it", path,
		       (unsigned int)(sb.st_mode & 0777));
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == 32) {
		crypto_sign_seed_keypair(l->pk, l->sk, buf);
	} else if (n == 64) {
		memcpy(l->sk, buf, 64);
		crypto_sign_ed25519_sk_to_pk(l->pk, l->sk);
	} else {
		lg_err(err, errlen, "key file %s must hold a 32-byte seed or"
		       " a 64-byte secret key", path);
		rc = -EINVAL;
	}
	sodium_memzero(buf, sizeof(buf));
	l->have_sk = rc == 0;
	return rc;
}

void ledger_sth_message(const struct ledger_tree_head *th,
			uint8_t msg[LEDGER_STH_MSG_LEN])
{
	memcpy(msg, sth_label, sizeof(sth_label));
	for (int i = 0; i < 8; i++) {
		msg[13 + i] = (uint8_t)(th->size >> (56 - 8 * i));
		msg[21 + i] = (uint8_t)(th->timestamp_ns >> (56 - 8 * i));
	}
	memcpy(msg + 29, th->root, LEDGER_HASH_LEN);
}

bool ledger_sth_verify(const struct ledger_tree_head *th,
		       const uint8_t pk[LEDGER_PK_LEN])
{
	uint8_t msg[LEDGER_STH_MSG_LEN];

	ledger_sth_message(th, msg);
	return crypto_sign_verify_detached(th->sig, msg, sizeof(msg), pk) == 0;
}

/* Signs the tip (staged entries included) into the open transaction. */
int lg_sign_head(struct ledger *l, char *err, size_t errlen)
{
	uint8_t msg[LEDGER_STH_MSG_LEN];
	struct ledger_tree_head th = {
		.size = l->size,
		.timestamp_ns = lg_now_ns(),
	};

	if (!l->have_sk) {
		lg_err(err, errlen, "no signing key");
		return -ENOKEY;
	}
	merkle_frontier_root(&l->fr, th.root);
	ledger_sth_message(&th, msg);
	crypto_sign_detached(th.sig, NULL, msg, sizeof(msg), l->sk);
	if (l->st->ops->sth_add(l->st, &th)) {
		lg_err(err, errlen, "%s", l->st->err);
		return -EIO;
	}
	return 0;
}
