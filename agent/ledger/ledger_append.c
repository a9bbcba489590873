// SPDX-License-Identifier: GPL-2.0
/*
 * Appending: the device rules (registration, integrity changes, trust),
 * deduplication, staging into the open transaction, and the group commit
 * that also signs a tree head when one is due.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "ledger_int.h"

static int store_fail(struct ledger *l, char *err, size_t errlen)
{
	lg_err(err, errlen, "%s", l->st->err);
	lg_abort(l);
	return -EIO;
}

int lg_stage(struct ledger *l, struct ledger_entry *e, char *err,
	     size_t errlen)
{
	e->index = l->size;
	ledger_entry_leaf(e, e->leaf);
	ledger_chain_next(l->chain, e->leaf, e->chain);
	if (l->st->ops->entry_add(l->st, e))
		return store_fail(l, err, errlen);
	merkle_frontier_push(&l->fr, e->leaf);
	memcpy(l->chain, e->chain, LEDGER_HASH_LEN);
	l->size++;
	l->staged++;
	return 0;
}

int lg_stage_event(struct ledger *l, enum ledger_event_kind kind,
		   const char *gw, const uint8_t *dev, uint8_t dev_len,
		   const char *detail, char *err, size_t errlen)
{
	struct ledger_entry e;

	memset(&e, 0, sizeof(e));
	e.type = LEDGER_T_EVENT;
	e.recv_ns = lg_now_ns();
	e.kind = kind;
	snprintf(e.gateway, sizeof(e.gateway), "%s", gw ? gw : "");
	if (dev_len)
		memcpy(e.device_id, dev, dev_len);
	e.device_id_len = dev_len;
	snprintf(e.detail, sizeof(e.detail), "%s", detail ? detail : "");
	return lg_stage(l, &e, err, errlen);
}

/* Applies the device rules to record r; returns flags or -errno. */
static int device_rules(struct ledger *l, const struct ledger_record *r,
			struct ledger_device *d, bool *changed, bool *dirty)
{
	struct ledger_device before;
	uint32_t flags = 0;
	uint64_t now;
	int rc;

	*changed = false;
	rc = l->st->ops->device_get(l->st, r->gateway, r->device_id,
				    r->device_id_len, d);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		memset(d, 0, sizeof(*d));
		snprintf(d->gateway, sizeof(d->gateway), "%s", r->gateway);
		memcpy(d->id, r->device_id, r->device_id_len);
		d->id_len = r->device_id_len;
		d->trusted = true;
		d->registered_ns = lg_now_ns();
	}
	before = *d;
	if (!d->has_code) {
		/* New or pre-registered: its first code is its code. */
		memcpy(d->first_code, r->integrity, LEDGER_INTEGRITY_LEN);
		memcpy(d->code, r->integrity, LEDGER_INTEGRITY_LEN);
		memcpy(d->current, r->integrity, LEDGER_INTEGRITY_LEN);
		d->has_code = true;
		flags |= LEDGER_F_REGISTERED;
	} else {
		if (memcmp(r->integrity, d->current, LEDGER_INTEGRITY_LEN)) {
			flags |= LEDGER_F_INTEGRITY;
			*changed = true;
		}
		/* Back to the expected code does not restore trust: only
		 * an operator does (ledger_device_trust). */
		if (memcmp(r->integrity, d->code, LEDGER_INTEGRITY_LEN))
			d->trusted = false;
		memcpy(d->current, r->integrity, LEDGER_INTEGRITY_LEN);
	}
	if (!d->trusted)
		flags |= LEDGER_F_UNTRUSTED;
	/* Rewrite the row only when it changed: last-seen alone is kept to
	 * the second, which saves a B-tree write on most records. */
	now = lg_now_ns();
	*dirty = rc == 1 || before.has_code != d->has_code ||
		 before.trusted != d->trusted ||
		 memcmp(before.current, d->current, LEDGER_INTEGRITY_LEN) ||
		 now - d->seen_ns >= 1000000000ull;
	if (*dirty)
		d->seen_ns = now;
	return (int)flags;
}

static int unknown_device(struct ledger *l, const struct ledger_record *r,
			  struct ledger_result *res, char *err, size_t errlen)
{
	char detail[LEDGER_DETAIL_MAX + 1];

	snprintf(detail, sizeof(detail),
		 "record seq %llu from an unregistered device not appended",
		 (unsigned long long)r->device_seq);
	res->verdict = LEDGER_UNKNOWN_DEVICE;
	return lg_stage_event(l, LEDGER_EV_UNKNOWN_DEVICE, r->gateway,
			      r->device_id, r->device_id_len, detail, err,
			      errlen);
}

int ledger_append(struct ledger *l, const struct ledger_record *r,
		  struct ledger_result *res, char *err, size_t errlen)
{
	const struct store_ops *o = l->st->ops;
	char detail[LEDGER_DETAIL_MAX + 1], hex[2 * LEDGER_INTEGRITY_LEN + 1];
	struct ledger_device d;
	struct ledger_entry e;
	bool changed, dirty;
	int rc;

	if (!l->writer) {
		lg_err(err, errlen, "ledger opened read-only: not the writer");
		return -EPERM;
	}
	if (!res) {
		lg_err(err, errlen, "no result buffer");
		return -EINVAL;
	}
	memset(res, 0, sizeof(*res));
	rc = ledger_check_record(r, err, errlen);
	if (rc)
		return rc;
	rc = lg_begin(l, err, errlen);
	if (rc)
		return rc;
	/* The staged rows are visible to this query, so a duplicate
	 * within one group commit is caught as well. */
	rc = o->record_exists(l->st, r->gateway, r->device_id,
			      r->device_id_len, r->device_seq);
	if (rc < 0)
		return store_fail(l, err, errlen);
	if (rc == 1) {
		res->verdict = LEDGER_DUPLICATE;
		return 0;
	}
	if (!l->auto_register) {
		rc = o->device_get(l->st, r->gateway, r->device_id,
				   r->device_id_len, &d);
		if (rc < 0)
			return store_fail(l, err, errlen);
		if (rc == 1)
			return unknown_device(l, r, res, err, errlen);
	}
	rc = device_rules(l, r, &d, &changed, &dirty);
	if (rc < 0)
		return store_fail(l, err, errlen);

	memset(&e, 0, sizeof(e));
	e.type = LEDGER_T_RECORD;
	e.recv_ns = lg_now_ns();
	snprintf(e.gateway, sizeof(e.gateway), "%s", r->gateway);
	e.epoch = r->epoch;
	e.key_offset = r->key_offset;
	e.key_len = r->key_len;
	memcpy(e.ct_hash, r->ct_hash, LEDGER_HASH_LEN);
	memcpy(e.device_id, r->device_id, r->device_id_len);
	e.device_id_len = r->device_id_len;
	e.device_seq = r->device_seq;
	e.device_time = r->device_time;
	memcpy(e.integrity, r->integrity, LEDGER_INTEGRITY_LEN);
	e.flags = (uint32_t)rc;
	e.payload = r->payload;
	e.payload_len = r->payload_len;
	rc = lg_stage(l, &e, err, errlen);
	if (rc)
		return rc;
	if (o->key_add(l->st, r->gateway, r->epoch, r->key_offset, r->key_len,
		       r->ct_hash, e.index) ||
	    (dirty && o->device_put(l->st, &d)))
		return store_fail(l, err, errlen);
	res->verdict = LEDGER_APPENDED;
	res->flags = e.flags;
	res->index = e.index;
	if (!changed)
		return 0;
	sodium_bin2hex(hex, sizeof(hex), r->integrity, LEDGER_INTEGRITY_LEN);
	snprintf(detail, sizeof(detail),
		 "integrity code changed at entry %llu to %s; device untrusted",
		 (unsigned long long)e.index, hex);
	return lg_stage_event(l, LEDGER_EV_INTEGRITY, r->gateway,
			      r->device_id, r->device_id_len, detail, err,
			      errlen);
}

int ledger_event(struct ledger *l, enum ledger_event_kind kind,
		 const char *gateway, const char *detail,
		 char *err, size_t errlen)
{
	int rc;

	if (!l->writer) {
		lg_err(err, errlen, "ledger opened read-only: not the writer");
		return -EPERM;
	}
	if (kind < LEDGER_EV_BAD_TAG || kind > LEDGER_EV_TRUST) {
		lg_err(err, errlen, "unknown event kind %d", (int)kind);
		return -EINVAL;
	}
	if (gateway && *gateway && !ledger_gateway_valid(gateway)) {
		lg_err(err, errlen, "gateway name must be 1..%d characters of"
		       " [A-Za-z0-9._-]", LEDGER_NAME_MAX);
		return -EINVAL;
	}
	rc = ledger_check_detail(detail, err, errlen);
	if (!rc)
		rc = lg_begin(l, err, errlen);
	if (!rc)
		rc = lg_stage_event(l, kind, gateway, NULL, 0, detail, err,
				    errlen);
	return rc;
}

/* Commits the open transaction; signs first if forced or due. */
static int commit(struct ledger *l, bool force, char *err, size_t errlen)
{
	const struct store_ops *o = l->st->ops;
	uint8_t buf[STORE_META_MAX];
	uint64_t n, now;
	bool sign;
	size_t len;
	int rc;

	if (!l->txn) {
		if (!force && (!l->writer || ledger_sth_due_ms(l) != 0))
			return 0;
		rc = lg_begin(l, err, errlen);
		if (rc)
			return rc;
	}
	n = l->staged;
	now = lg_mono_ms();
	sign = l->writer && l->size > l->sth_size &&
	       (force || l->size - l->sth_size >= l->sth_every ||
		now >= l->sth_mono_ms + l->sth_ms);
	if (sign) {
		rc = lg_sign_head(l, err, errlen);
		if (rc) {
			lg_abort(l);
			return rc;
		}
	}
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(l->size >> (56 - 8 * i));
	len = 8 + merkle_frontier_bytes(&l->fr, buf + 8);
	if (o->meta_put(l->st, "frontier", buf, len) || o->commit(l->st))
		return store_fail(l, err, errlen);
	l->txn = false;
	l->staged = 0;
	if (sign) {
		l->sth_size = l->size;
		l->sth_mono_ms = now;
	}
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int ledger_commit(struct ledger *l, char *err, size_t errlen)
{
	if (!l->writer) {
		lg_err(err, errlen, "ledger opened read-only: not the writer");
		return -EPERM;
	}
	return commit(l, false, err, errlen);
}

int ledger_sign_now(struct ledger *l, char *err, size_t errlen)
{
	uint64_t before = l->sth_size;
	int rc;

	if (!l->writer) {
		lg_err(err, errlen, "ledger opened read-only: not the writer");
		return -EPERM;
	}
	rc = commit(l, true, err, errlen);
	return rc < 0 ? rc : l->sth_size != before;
}

/*
 * Device registry changes. The writer stages them with its records (they
 * become durable at its next ledger_commit); any other handle (qkd-ledger)
 * commits them at once, waiting for the writer's transaction if needed.
 */
static int device_change(struct ledger *l, const char *gw, const uint8_t *id,
			 uint8_t id_len, bool trust, char *err, size_t errlen)
{
	const struct store_ops *o = l->st->ops;
	char detail[LEDGER_DETAIL_MAX + 1], hex[2 * LEDGER_INTEGRITY_LEN + 1];
	struct ledger_device d;
	int rc = ledger_check_device(gw, id, id_len, err, errlen);

	if (rc)
		return rc;
	rc = lg_begin(l, err, errlen);
	if (rc)
		return rc;
	rc = o->device_get(l->st, gw, id, id_len, &d);
	if (rc < 0)
		return store_fail(l, err, errlen);
	if (!trust && rc == 0) {
		lg_err(err, errlen, "device is already registered");
		rc = -EEXIST;
		goto out;
	}
	if (trust && rc == 1) {
		lg_err(err, errlen, "no such device");
		rc = -ENOENT;
		goto out;
	}
	if (!trust) {
		memset(&d, 0, sizeof(d));
		snprintf(d.gateway, sizeof(d.gateway), "%s", gw);
		memcpy(d.id, id, id_len);
		d.id_len = id_len;
		d.trusted = true;
		d.registered_ns = lg_now_ns();
	} else {
		d.trusted = true;
		memcpy(d.code, d.current, LEDGER_INTEGRITY_LEN);
	}
	if (o->device_put(l->st, &d))
		return store_fail(l, err, errlen);
	rc = 0;
	if (trust) {
		if (d.has_code)
			sodium_bin2hex(hex, sizeof(hex), d.code, sizeof(d.code));
		snprintf(detail, sizeof(detail),
			 "operator trusted the device; expected code %s",
			 d.has_code ? hex : "(none yet)");
		rc = lg_stage_event(l, LEDGER_EV_TRUST, gw, id, id_len, detail,
				    err, errlen);
		if (rc)
			return rc;
	}
out:
	if (l->writer)
		return rc;
	if (rc) {
		lg_abort(l);
		return rc;
	}
	rc = commit(l, false, err, errlen);
	return rc < 0 ? rc : 0;
}

int ledger_device_add(struct ledger *l, const char *gateway,
		      const uint8_t *id, uint8_t id_len, char *err,
		      size_t errlen)
{
	return device_change(l, gateway, id, id_len, false, err, errlen);
}

int ledger_device_trust(struct ledger *l, const char *gateway,
			const uint8_t *id, uint8_t id_len, char *err,
			size_t errlen)
{
	return device_change(l, gateway, id, id_len, true, err, errlen);
}
