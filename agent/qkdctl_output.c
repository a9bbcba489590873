// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl: link attributes out of LINK_GET replies and monitor notifications,
 * printed for people (`ip link` style) or as JSON. Only the attributes a
 * message carries are printed; key bytes never appear in these messages.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "qkdctl.h"

/* ---- JSON ---------------------------------------------------------------- */

void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			/* controls, DEL and non-ASCII: valid JSON whatever the bytes */
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void jw_init(struct jw *w, FILE *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->first[0] = true;
}

static void jw_key(struct jw *w, const char *key)
{
	if (!w->first[w->depth])
		fputc(',', w->out);
	w->first[w->depth] = false;
	if (key) {
		json_string(w->out, key);
		fputc(':', w->out);
	}
}

void jw_open(struct jw *w, const char *key, char brace)
{
	jw_key(w, key);
	fputc(brace, w->out);
	if (w->depth + 1 < (int)(sizeof(w->first) / sizeof(w->first[0])))
		w->depth++;
	w->first[w->depth] = true;
}

void jw_close(struct jw *w, char brace)
{
	fputc(brace, w->out);
	if (w->depth > 0)
		w->depth--;
}

void jw_str(struct jw *w, const char *key, const char *val)
{
	jw_key(w, key);
	json_string(w->out, val);
}

void jw_u64(struct jw *w, const char *key, uint64_t val)
{
	jw_key(w, key);
	fprintf(w->out, "%" PRIu64, val);
}

void jw_bool(struct jw *w, const char *key, bool val)
{
	jw_key(w, key);
	fputs(val ? "true" : "false", w->out);
}

/* ---- parsing ------------------------------------------------------------- */

static const enum mnl_attr_data_type mnl_types[] = {
	[AT_U8] = MNL_TYPE_U8, [AT_U32] = MNL_TYPE_U32, [AT_U64] = MNL_TYPE_U64,
	[AT_STR] = MNL_TYPE_NUL_STRING, [AT_FLAG] = MNL_TYPE_FLAG,
	[AT_NEST] = MNL_TYPE_NESTED, [AT_SECRET] = MNL_TYPE_BINARY, [AT_BIN] = MNL_TYPE_BINARY,
};

/*
 * A known attribute of the wrong size is skipped with a warning (it is a
 * kernel bug worth seeing, not a reason to stop a monitor); unknown ones
 * belong to a newer kernel and are ignored.
 */
static const struct attr_desc *check_attr(const struct nlattr *a, const struct attr_set *set)
{
	unsigned int type = mnl_attr_get_type(a);
	const struct attr_desc *d;

	if (type > set->max || !set->attrs[type].name)
		return NULL;
	d = &set->attrs[type];
	if (mnl_attr_validate(a, mnl_types[d->type]) < 0) {
		fprintf(stderr, "qkdctl: warning: kernel sent a malformed %s%s (%u bytes): ignored\n",
			set->prefix, d->name, (unsigned int)mnl_attr_get_payload_len(a));
		return NULL;
	}
	return d;
}

static uint64_t get_u64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return v;
}

static void get_str(char *dst, const struct nlattr *a)
{
	snprintf(dst, QKDKEY_NAME_LEN, "%s", mnl_attr_get_str(a));
}

int qlink_parse(const struct nlmsghdr *nlh, struct qlink *l)
{
	const struct nlattr *a, *n;

	memset(l, 0, sizeof(*l));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return EBADMSG;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		unsigned int type = mnl_attr_get_type(a);

		if (!check_attr(a, &qkdkey_attrs))
			continue;
		l->have |= 1u << type;
		switch (type) {
		case QKDKEY_A_LINK_ID:
			l->id = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_LINK_NAME:
			get_str(l->name, a);
			break;
		case QKDKEY_A_LINK_KIND:
			get_str(l->kind, a);
			break;
		case QKDKEY_A_LINK_PEER:
			get_str(l->peer, a);
			break;
		case QKDKEY_A_LINK_STATE:
			l->state = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_LINK_ADMIN_UP:
			l->admin_up = mnl_attr_get_u8(a);
			break;
		case QKDKEY_A_LINK_EPOCH:
			l->epoch = get_u64(a);
			break;
		case QKDKEY_A_LINK_TX_AVAIL:
			l->tx_avail = get_u64(a);
			break;
		case QKDKEY_A_LINK_RX_AVAIL:
			l->rx_avail = get_u64(a);
			break;
		case QKDKEY_A_LINK_QBER:
			l->qber = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_LINK_QBER_THRESHOLD:
			l->threshold = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_LINK_KEY_RATE:
			l->key_rate = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_LINK_POOL_LIMIT:
			l->pool = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_LINK_LOW_WATERMARK:
			l->watermark = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_KEY_DIR:
			l->key_dir = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_KEY_EPOCH:
			l->key_epoch = get_u64(a);
			break;
		case QKDKEY_A_KEY_OFFSET:
			l->key_offset = get_u64(a);
			break;
		case QKDKEY_A_KEY_LEN:
			l->key_len = mnl_attr_get_u32(a);
			break;
		case QKDKEY_A_LINK_COUNTERS:
			mnl_attr_for_each_nested(n, a) {
				unsigned int t = mnl_attr_get_type(n);

				if (t == QKDKEY_COUNTER_A_PAD || !check_attr(n, &qkdkey_counter_attrs))
					continue;
				l->counters_have |= 1u << t;
				l->counters[t] = get_u64(n);
			}
			break;
		case QKDKEY_A_LINK_SIM:
			mnl_attr_for_each_nested(n, a) {
				unsigned int t = mnl_attr_get_type(n);

				/* the kernel never sends the seed; never keep one */
				if (t == QKDKEY_SIM_A_SEED || !check_attr(n, &qkdkey_sim_attrs))
					continue;
				l->sim_have |= 1u << t;
				l->sim[t] = mnl_attr_get_u32(n);
			}
			break;
		case QKDKEY_A_KEY_DATA:
			/* never sent by the kernel; never printed if it were */
			l->have &= ~(1u << type);
			break;
		}
	}
	return 0;
}

/* ---- human output -------------------------------------------------------- */

#define MASK(a)	(1u << (a))

const char *state_name(uint32_t state)
{
	switch (state) {
	case QKDKEY_LINK_DOWN: return "down";
	case QKDKEY_LINK_UP: return "up";
	case QKDKEY_LINK_ALARM: return "alarm";
	case QKDKEY_LINK_GONE: return "gone";
	default: return "unknown";
	}
}

/* A kernel string on a terminal: printable ASCII only. */
static void put_name(FILE *out, const char *s)
{
	if (!*s) {
		fputc('-', out);
		return;
	}
	for (; *s; s++)
		fputc(isprint((unsigned char)*s) ? *s : '?', out);
}

static void put_kv_u64(FILE *out, const char *k, uint64_t v)
{
	fprintf(out, " %s %" PRIu64, k, v);
}

static void put_kv_ppm(FILE *out, const char *k, uint32_t v)
{
	char buf[16];

	fprintf(out, " %s %s", k, fmt_ppm(buf, v));
}

/* "1: sim0a: <UP,DEFAULT> kind sim peer sim0b epoch 0" */
static void print_head(FILE *out, const struct qlink *l)
{
	if (HAVE(l, QKDKEY_A_LINK_ID))
		fprintf(out, "%u: ", l->id);
	put_name(out, HAVE(l, QKDKEY_A_LINK_NAME) ? l->name : "");
	/* "del 1: sim0a" has nothing more to say */
	if (l->have & ~(MASK(QKDKEY_A_LINK_ID) | MASK(QKDKEY_A_LINK_NAME)))
		fputc(':', out);
	if (HAVE(l, QKDKEY_A_LINK_STATE) || HAVE(l, QKDKEY_A_LINK_DEFAULT)) {
		const char *sep = "";
		char up[16];

		fputs(" <", out);
		if (HAVE(l, QKDKEY_A_LINK_STATE)) {
			size_t i;
			const char *s = state_name(l->state);

			for (i = 0; i < sizeof(up) - 1 && s[i]; i++)
				up[i] = (char)toupper((unsigned char)s[i]);
			up[i] = '\0';
			fputs(up, out);
			sep = ",";
		}
		if (HAVE(l, QKDKEY_A_LINK_DEFAULT))
			fprintf(out, "%sDEFAULT", sep);
		fputc('>', out);
	}
	if (HAVE(l, QKDKEY_A_LINK_KIND)) {
		fputs(" kind ", out);
		put_name(out, l->kind);
	}
	if (HAVE(l, QKDKEY_A_LINK_PEER) && l->peer[0]) {
		fputs(" peer ", out);
		put_name(out, l->peer);
	}
	if (HAVE(l, QKDKEY_A_LINK_EPOCH))
		put_kv_u64(out, "epoch", l->epoch);
}

/* pool, watermark, qber, threshold, key-rate, admin state; with @lng the alarm count too */
static bool print_settings(FILE *out, const struct qlink *l, bool lng)
{
	bool alarms = lng && (l->counters_have >> QKDKEY_COUNTER_A_ALARMS & 1);

	if (HAVE(l, QKDKEY_A_LINK_POOL_LIMIT))
		put_kv_u64(out, "pool", l->pool);
	if (HAVE(l, QKDKEY_A_LINK_LOW_WATERMARK))
		put_kv_u64(out, "watermark", l->watermark);
	if (HAVE(l, QKDKEY_A_LINK_QBER))
		put_kv_ppm(out, "qber", l->qber);
	if (HAVE(l, QKDKEY_A_LINK_QBER_THRESHOLD))
		put_kv_ppm(out, "threshold", l->threshold);
	if (HAVE(l, QKDKEY_A_LINK_KEY_RATE))
		put_kv_u64(out, "key-rate", l->key_rate);
	if (HAVE(l, QKDKEY_A_LINK_ADMIN_UP))
		fprintf(out, " admin %s", l->admin_up ? "up" : "down");
	if (alarms)
		put_kv_u64(out, "alarms", l->counters[QKDKEY_COUNTER_A_ALARMS]);
	return alarms || (l->have & (MASK(QKDKEY_A_LINK_POOL_LIMIT) |
				     MASK(QKDKEY_A_LINK_LOW_WATERMARK) | MASK(QKDKEY_A_LINK_QBER) |
				     MASK(QKDKEY_A_LINK_QBER_THRESHOLD) |
				     MASK(QKDKEY_A_LINK_KEY_RATE) | MASK(QKDKEY_A_LINK_ADMIN_UP)));
}

static bool long_settings(FILE *out, const struct qlink *l)
{
	return print_settings(out, l, true);
}

/* "tx avail 13250 delivered 13250 taken 0 expired 0" */
static bool print_stream(FILE *out, const struct qlink *l, uint32_t dir)
{
	bool tx = dir == QKDKEY_DIR_TX;
	unsigned int avail = tx ? QKDKEY_A_LINK_TX_AVAIL : QKDKEY_A_LINK_RX_AVAIL;
	unsigned int first = tx ? QKDKEY_COUNTER_A_TX_DELIVERED : QKDKEY_COUNTER_A_RX_DELIVERED;
	static const char *const words[] = { "delivered", "taken", "expired" };
	uint32_t mask = 7u << first;

	if (!HAVE(l, avail) && !(l->counters_have & mask))
		return false;
	fputs(tx ? " tx" : " rx", out);
	if (HAVE(l, avail))
		put_kv_u64(out, "avail", tx ? l->tx_avail : l->rx_avail);
	for (unsigned int i = 0; i < 3; i++)
		if (l->counters_have >> (first + i) & 1)
			put_kv_u64(out, words[i], l->counters[first + i]);
	return true;
}

static bool long_tx(FILE *out, const struct qlink *l)
{
	return print_stream(out, l, QKDKEY_DIR_TX);
}

static bool long_rx(FILE *out, const struct qlink *l)
{
	return print_stream(out, l, QKDKEY_DIR_RX);
}

static bool print_sim(FILE *out, const struct qlink *l)
{
	if (!l->sim_have)
		return false;
	fputs(" sim", out);
	if (l->sim_have >> QKDKEY_SIM_A_RATE & 1)
		put_kv_u64(out, "rate", l->sim[QKDKEY_SIM_A_RATE]);
	if (l->sim_have >> QKDKEY_SIM_A_QBER & 1)
		put_kv_ppm(out, "qber", l->sim[QKDKEY_SIM_A_QBER]);
	if (l->sim_have >> QKDKEY_SIM_A_EVE & 1)
		put_kv_ppm(out, "eve", l->sim[QKDKEY_SIM_A_EVE]);
	return true;
}

static bool print_key(FILE *out, const struct qlink *l)
{
	if (!(l->have & (1u << QKDKEY_A_KEY_DIR | 1u << QKDKEY_A_KEY_EPOCH |
			 1u << QKDKEY_A_KEY_OFFSET | 1u << QKDKEY_A_KEY_LEN)))
		return false;
	fputs(" key", out);
	if (HAVE(l, QKDKEY_A_KEY_DIR))
		fprintf(out, " %s", dir_name(l->key_dir));
	if (HAVE(l, QKDKEY_A_KEY_EPOCH))
		put_kv_u64(out, "epoch", l->key_epoch);
	if (HAVE(l, QKDKEY_A_KEY_OFFSET))
		put_kv_u64(out, "offset", l->key_offset);
	if (HAVE(l, QKDKEY_A_KEY_LEN))
		put_kv_u64(out, "len", l->key_len);
	return true;
}

/* Starts an indented line, runs @fn, ends the line if @fn printed anything. */
static void print_detail_line(FILE *out, const struct qlink *l,
			      bool (*fn)(FILE *, const struct qlink *))
{
	char *buf = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&buf, &size);

	if (!mem)
		return;
	if (fn(mem, l)) {
		fclose(mem);
		fprintf(out, "   %s\n", buf);
	} else {
		fclose(mem);
	}
	free(buf);
}

void qlink_print_long(FILE *out, const struct qlink *l)
{
	print_head(out, l);
	fputc('\n', out);
	print_detail_line(out, l, long_settings);
	print_detail_line(out, l, long_tx);
	print_detail_line(out, l, long_rx);
	print_detail_line(out, l, print_sim);
	print_detail_line(out, l, print_key);
}

void qlink_print_line(FILE *out, const struct qlink *l)
{
	print_head(out, l);
	print_settings(out, l, false);
	if (HAVE(l, QKDKEY_A_LINK_TX_AVAIL))
		put_kv_u64(out, "tx-avail", l->tx_avail);
	if (HAVE(l, QKDKEY_A_LINK_RX_AVAIL))
		put_kv_u64(out, "rx-avail", l->rx_avail);
	print_sim(out, l);
	print_key(out, l);
}

/* ---- JSON output --------------------------------------------------------- */

static const char *const counter_keys[QKDKEY_COUNTER_A_MAX + 1] = {
	[QKDKEY_COUNTER_A_TX_DELIVERED] = "tx_delivered",
	[QKDKEY_COUNTER_A_TX_TAKEN] = "tx_taken",
	[QKDKEY_COUNTER_A_TX_EXPIRED] = "tx_expired",
	[QKDKEY_COUNTER_A_RX_DELIVERED] = "rx_delivered",
	[QKDKEY_COUNTER_A_RX_TAKEN] = "rx_taken",
	[QKDKEY_COUNTER_A_RX_EXPIRED] = "rx_expired",
	[QKDKEY_COUNTER_A_ALARMS] = "alarms",
};

void qlink_json_members(struct jw *w, const struct qlink *l)
{
	/* a full description (it has the kind) says "default": false too */
	bool full = HAVE(l, QKDKEY_A_LINK_KIND);

	if (HAVE(l, QKDKEY_A_LINK_ID))
		jw_u64(w, "id", l->id);
	if (HAVE(l, QKDKEY_A_LINK_NAME))
		jw_str(w, "name", l->name);
	if (HAVE(l, QKDKEY_A_LINK_KIND))
		jw_str(w, "kind", l->kind);
	if (HAVE(l, QKDKEY_A_LINK_PEER))
		jw_str(w, "peer", l->peer);
	if (HAVE(l, QKDKEY_A_LINK_STATE))
		jw_str(w, "state", state_name(l->state));
	if (HAVE(l, QKDKEY_A_LINK_ADMIN_UP))
		jw_bool(w, "admin_up", l->admin_up);
	if (full || HAVE(l, QKDKEY_A_LINK_DEFAULT))
		jw_bool(w, "default", HAVE(l, QKDKEY_A_LINK_DEFAULT));
	if (HAVE(l, QKDKEY_A_LINK_EPOCH))
		jw_u64(w, "epoch", l->epoch);
	if (HAVE(l, QKDKEY_A_LINK_TX_AVAIL))
		jw_u64(w, "tx_avail", l->tx_avail);
	if (HAVE(l, QKDKEY_A_LINK_RX_AVAIL))
		jw_u64(w, "rx_avail", l->rx_avail);
	if (HAVE(l, QKDKEY_A_LINK_QBER))
		jw_u64(w, "qber", l->qber);
	if (HAVE(l, QKDKEY_A_LINK_QBER_THRESHOLD))
		jw_u64(w, "qber_threshold", l->threshold);
	if (HAVE(l, QKDKEY_A_LINK_KEY_RATE))
		jw_u64(w, "key_rate", l->key_rate);
	if (HAVE(l, QKDKEY_A_LINK_POOL_LIMIT))
		jw_u64(w, "pool_limit", l->pool);
	if (HAVE(l, QKDKEY_A_LINK_LOW_WATERMARK))
		jw_u64(w, "low_watermark", l->watermark);
	if (HAVE(l, QKDKEY_A_LINK_COUNTERS)) {
		jw_open(w, "counters", '{');
		for (unsigned int t = 0; t <= QKDKEY_COUNTER_A_MAX; t++)
			if (counter_keys[t] && (l->counters_have >> t & 1))
				jw_u64(w, counter_keys[t], l->counters[t]);
		jw_close(w, '}');
	}
	if (HAVE(l, QKDKEY_A_LINK_SIM)) {
		jw_open(w, "sim", '{');
		if (l->sim_have >> QKDKEY_SIM_A_RATE & 1)
			jw_u64(w, "rate", l->sim[QKDKEY_SIM_A_RATE]);
		if (l->sim_have >> QKDKEY_SIM_A_QBER & 1)
			jw_u64(w, "qber", l->sim[QKDKEY_SIM_A_QBER]);
		if (l->sim_have >> QKDKEY_SIM_A_EVE & 1)
			jw_u64(w, "eve", l->sim[QKDKEY_SIM_A_EVE]);
		jw_close(w, '}');
	}
	if (HAVE(l, QKDKEY_A_KEY_DIR))
		jw_str(w, "key_dir", dir_name(l->key_dir));
	if (HAVE(l, QKDKEY_A_KEY_EPOCH))
		jw_u64(w, "key_epoch", l->key_epoch);
	if (HAVE(l, QKDKEY_A_KEY_OFFSET))
		jw_u64(w, "key_offset", l->key_offset);
	if (HAVE(l, QKDKEY_A_KEY_LEN))
		jw_u64(w, "key_len", l->key_len);
}
