// SPDX-License-Identifier: GPL-2.0
/*
 * The forwarder's key pipeline: records are taken from the spool in order,
 * each gets one TX key read of exactly payload_len + 16 bytes (the hello
 * 32), and is sealed when its key arrives. See forwarder.h.
 *
 * Order. The receiver requires the key offsets of a session to grow with
 * the frame seqs. The key source serves requests strictly in the order
 * they were made (one IOSQE_IO_LINK chain of RWF_NOWAIT reads, see
 * keysrc.h), so entries are asked for in spool order and their keys come
 * back in that order; a key that is not for the head entry, or a failed
 * request, ends the session. Keys of an ended session (older generation
 * in the cookie) are destroyed as they arrive, never used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "forwarder_int.h"

int fwd_pipe_init(struct fwd *f, unsigned int depth)
{
	f->pcap = depth + 1;	/* the hello, then depth records */
	f->pipe = calloc(f->pcap, sizeof(*f->pipe));
	return f->pipe ? 0 : -ENOMEM;
}

void fwd_pipe_free(struct fwd *f)
{
	if (!f->pipe)
		return;
	for (unsigned int i = 0; i < f->pcap; i++)
		free(f->pipe[i].buf);
	free(f->pipe);
	f->pipe = NULL;
}

static struct fwd_entry *pipe_at(struct fwd *f, unsigned int i)
{
	return &f->pipe[(f->phead + i) % f->pcap];
}

static struct fwd_entry *pipe_push(struct fwd *f, uint8_t kind)
{
	struct fwd_entry *e = pipe_at(f, f->pcount++);

	e->kind = kind;
	e->state = FE_WANT;
	e->id = ++f->next_id;
	e->spool_seq = 0;
	return e;
}

static void pipe_pop(struct fwd *f)
{
	f->phead = (f->phead + 1) % f->pcap;
	f->pcount--;
}

void fwd_pipe_reset(struct fwd *f, bool hello)
{
	f->phead = 0;
	f->pcount = 0;
	f->reads = 0;
	if (hello)
		pipe_push(f, FE_HELLO);
}

static unsigned int pipe_records(const struct fwd *f)
{
	unsigned int n = f->pcount;

	if (n && f->pipe[f->phead].kind == FE_HELLO)
		n--;
	return n;
}

/* Takes durable records from the spool while there is room. */
void fwd_pipe_fill(struct fwd *f)
{
	struct qkd_record rec;
	struct fwd_entry *e;
	uint64_t seq;
	int r;

	while (f->state == FS_OPEN && f->pcount < f->pcap &&
	       f->seq - f->acked + pipe_records(f) < FWD_WINDOW - 1 &&
	       f->olen - f->ooff < FWD_OBUF_HIGH) {
		r = spool_iter_next(&f->it, &seq, &rec);
		if (r == 0)
			return;
		if (r < 0) {
			ag_fatal(f->a, "reading the spool", r);
			return;
		}
		if (rec.payload_len > f->a->cfg->agent.max_payload) {
			/* Only after max_payload was lowered over a spool
			 * that holds larger records: they cannot be sealed
			 * with the key buffers we have. */
			ag_log(LOG_ERR,
			       "spool record %llu: payload of %u bytes exceeds max_payload %u; raise max_payload",
			       (unsigned long long)seq, rec.payload_len,
			       f->a->cfg->agent.max_payload);
			ag_fatal(f->a, "spool record too large", -EMSGSIZE);
			return;
		}
		e = pipe_push(f, FE_DATA);
		e->spool_seq = seq;
		if (rec.payload_len > e->cap) {
			uint8_t *p = realloc(e->buf, rec.payload_len);

			if (!p) {
				f->pcount--;
				ag_fatal(f->a, "forwarder buffer", -ENOMEM);
				return;
			}
			e->buf = p;
			e->cap = rec.payload_len;
		}
		if (rec.payload_len)
			memcpy(e->buf, rec.payload, rec.payload_len);
		e->rec = rec;
		e->rec.payload = e->buf;
	}
}

static uint32_t entry_key_len(const struct fwd_entry *e)
{
	return e->kind == FE_HELLO ? QKD_HELLO_KEY_LEN :
	       (uint32_t)QKD_DATA_KEY_LEN(e->rec.payload_len);
}

/*
 * Asks for the key of every entry that has none yet, in pipeline order,
 * while the key source has free buffers. The key source serves requests
 * strictly in the order made (keysrc.h), so key offsets grow with the
 * frame seqs; the loop's qkd_keysrc_kick() sends them.
 */
void fwd_pipe_issue(struct fwd *f)
{
	struct agent *a = f->a;
	int r;

	if (f->state != FS_OPEN || a->stopping)
		return;
	for (unsigned int i = 0; i < f->pcount; i++) {
		struct fwd_entry *e = pipe_at(f, i);

		if (e->state != FE_WANT)
			continue;
		if (!qkd_keysrc_free_slots(a->ktx))
			return;
		r = qkd_keysrc_request(a->ktx, entry_key_len(e),
				       fwd_cookie(f->gen, e->id));
		if (r) {
			char why[96];

			snprintf(why, sizeof(why), "TX key request of %u bytes: %s",
				 entry_key_len(e), strerror(-r));
			fwd_drop(f, why, true);
			return;
		}
		e->state = FE_READING;
		f->reads++;
	}
}

static int seal_hello(struct fwd *f, const struct qkd_key *key)
{
	struct qkd_hello h = {
		.type = QKD_MSG_HELLO,
		.session_id = f->sid,
		.epoch = key->epoch,
		.r_offset = key->offset,
		.link_id = key->link_id,
	};
	int n;

	memcpy(h.link_name, f->a->cfg->link.name,
	       strnlen(f->a->cfg->link.name, QKD_LINK_NAME_LEN - 1));
	if (fwd_obuf_reserve(f, QKD_HELLO_LEN))
		return -ENOMEM;
	n = qkd_hello_seal(f->obuf + f->olen, f->ocap - f->olen, &h, key->bytes);
	if (n < 0)
		return n;
	f->olen += (size_t)n;
	memcpy(f->r, key->bytes, QKD_R_LEN);
	f->epoch = key->epoch;
	f->have_r = true;
	return 0;
}

static int seal_data(struct fwd *f, const struct fwd_entry *e,
		     const struct qkd_key *key)
{
	struct qkd_data_hdr h;
	size_t len = QKD_DATA_LEN(e->rec.device_id_len, e->rec.payload_len);
	int n;

	memset(&h, 0, sizeof(h));
	h.session_id = f->sid;
	h.seq = f->seq + 1;
	h.epoch = f->epoch;
	h.key_offset = key->offset;
	h.device_seq = e->rec.device_seq;
	h.device_time = e->rec.device_time_ns;
	h.payload_len = e->rec.payload_len;
	h.device_id_len = e->rec.device_id_len;
	memcpy(h.device_id, e->rec.device_id, e->rec.device_id_len);
	memcpy(h.integrity, e->rec.integrity, QKD_INTEGRITY_LEN);
	if (fwd_obuf_reserve(f, len))
		return -ENOMEM;
	n = qkd_data_seal(f->obuf + f->olen, f->ocap - f->olen, &h, f->r,
			  key->bytes, key->len, e->rec.payload);
	if (n < 0)
		return n;
	f->olen += (size_t)n;
	f->seq++;
	f->map[f->seq % FWD_WINDOW] = e->spool_seq;
	f->st.frames++;
	f->st.frame_bytes += (uint64_t)n;
	return 0;
}

static void discard(struct fwd *f, struct qkd_key *key)
{
	f->st.key_discarded++;
	f->st.key_bytes_discarded += key->len;
	qkd_keysrc_release(f->a->ktx, key);
}

void fwd_on_key_tx(struct fwd *f, const struct io_uring_cqe *cqe)
{
	struct qkd_key key;
	struct fwd_entry *e = NULL;
	uint32_t id;
	char why[96];
	int r;

	r = qkd_keysrc_complete(f->a->ktx, cqe, &key);
	if (r == 0 || r == -ENOENT)
		return;
	if ((uint32_t)(key.cookie >> 32) != f->gen || f->state != FS_OPEN) {
		if (r == 1)
			discard(f, &key);
		return;
	}
	f->reads--;
	id = (uint32_t)key.cookie;
	for (unsigned int i = 0; i < f->pcount; i++)
		if (pipe_at(f, i)->id == id)
			e = pipe_at(f, i);
	if (r < 0) {
		/* Later requests of the session may still get key: in order
		 * no more. End the session; the next one starts afresh. */
		f->st.key_errors++;
		snprintf(why, sizeof(why), "TX key read of %u bytes: %s",
			 key.len, strerror(-r));
		if (e)
			e->state = FE_WANT;
		if (r != -ECANCELED)
			fwd_drop(f, why, true);
		return;
	}
	if (!e || e != pipe_at(f, 0)) {
		discard(f, &key);
		fwd_drop(f, "key arrived out of order", true);
		return;
	}
	if (e->kind == FE_HELLO) {
		r = seal_hello(f, &key);
	} else if (key.epoch != f->epoch) {
		snprintf(why, sizeof(why), "link epoch changed to %llu",
			 (unsigned long long)key.epoch);
		discard(f, &key);
		f->st.epoch_changes++;
		fwd_drop(f, why, false);
		return;
	} else {
		r = seal_data(f, e, &key);
	}
	if (r) {
		discard(f, &key);
		if (r == -ENOMEM)
			ag_fatal(f->a, "sealing", r);
		else
			fwd_drop(f, "sealing failed", true);
		return;
	}
	f->st.tx_key_bytes += key.len;
	qkd_keysrc_release(f->a->ktx, &key);
	pipe_pop(f);
	fwd_flush(f);
}
