// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-agent configuration: defaults, strict INI parsing with inih, dump.
 * See agent_config.h, agent/qkd-agent.conf.example and qkd-agent(8).
 *
 * The file is read into memory and handed to inih line by line through
 * our own reader, which (a) counts lines, so that every message names one,
 * (b) rejects NUL bytes, control characters and overlong lines before inih
 * sees them (inih would cut such lines silently), (c) checks section
 * headers (inih ignores a section without keys and keeps spaces inside the
 * brackets) and lines that are not "key = value", and (d) strips leading
 * whitespace, so that an indented line is never taken as a continuation of
 * the previous value (inih's multi-line mode). Parsing stops at the first
 * error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <ini.h>

#include "agent_config.h"
#include "cfg_value.h"
#include "errbuf.h"
#include "record.h"
#include "spool.h"

_Static_assert(AGENT_CONFIG_SOCK_SIZE ==
	       sizeof(((struct sockaddr_un *)0)->sun_path),
	       "socket path size is sun_path");
_Static_assert(AGENT_CONFIG_PATH_SIZE > AGENT_CONFIG_LINE_MAX &&
	       AGENT_CONFIG_HOST_SIZE > AGENT_CONFIG_LINE_MAX &&
	       AGENT_CONFIG_TOPIC_SIZE > AGENT_CONFIG_LINE_MAX,
	       "a value that fits on a line fits its field");

enum section {
	S_LINK,
	S_LEDGER,
	S_SPOOL,
	S_MQTT,
	S_SOCKET,
	S_AGENT,
	S_COUNT
};

static const char *const section_names[S_COUNT] = {
	[S_LINK] = "link",
	[S_LEDGER] = "ledger",
	[S_SPOOL] = "spool",
	[S_MQTT] = "mqtt",
	[S_SOCKET] = "socket",
	[S_AGENT] = "agent",
};

enum kind {
	V_LINKNAME,	/* 1-15 of [A-Za-z0-9_.-] */
	V_PATH,		/* absolute path */
	V_SOCKPATH,	/* absolute path that fits sun_path */
	V_SOCKPATH_NONE,/* the same, or "none" (stored as "") */
	V_HOST,		/* host name, IPv4 or IPv6 literal */
	V_UINT,		/* decimal integer in [min, max] */
	V_SIZE,		/* bytes with an optional K/M/G suffix, [min, max] */
	V_DURATION,	/* number with optional ms/s/min/h; bare: unit_ms */
	V_BOOL,
	V_MODE,		/* octal permission bits, not world-writable */
	V_QOS,		/* 1 */
	V_CLIENTID,	/* 1-64 of [A-Za-z0-9_.-] */
	V_TOPIC,	/* MQTT topic filter */
	V_LOGLEVEL,
};

struct key_desc {
	enum section section;
	const char *name;
	enum kind kind;
	size_t off;		/* in struct agent_config */
	size_t size;		/* of the field */
	uint64_t min, max;	/* V_UINT, V_SIZE; V_DURATION in ms */
	uint64_t unit_ms;	/* V_DURATION: unit of a bare number */
	uint64_t store_div;	/* V_DURATION: stored in ms / store_div */
	bool required;
};

#define FIELD(sec, f) \
	.off = offsetof(struct agent_config, sec.f), \
	.size = sizeof(((struct agent_config *)0)->sec.f)

/* KEY(section, struct member, key and field name, kind[, .min =, ...]) */
#define KEY(s, sec, f, ...) \
	{ .section = s, .name = #f, FIELD(sec, f), .kind = __VA_ARGS__ }

/* A duration whose field name differs from the key name. */
#define DUR(s, sec, f, field, lo, hi, unit, div) \
	{ .section = s, .name = #f, .kind = V_DURATION, FIELD(sec, field), \
	  .min = lo, .max = hi, .unit_ms = unit, .store_div = div }

static const struct key_desc keys[] = {
	KEY(S_LINK, link, name, V_LINKNAME, .required = true),
	KEY(S_LINK, link, device, V_PATH),

	KEY(S_LEDGER, ledger, host, V_HOST, .required = true),
	KEY(S_LEDGER, ledger, port, V_UINT, .min = 1, .max = 65535),
	DUR(S_LEDGER, ledger, connect_timeout, connect_timeout_ms,
	    100, 5 * CFG_MS_PER_MIN, CFG_MS_PER_S, 1),
	DUR(S_LEDGER, ledger, reconnect_min, reconnect_min_ms,
	    10, CFG_MS_PER_H, CFG_MS_PER_S, 1),
	DUR(S_LEDGER, ledger, reconnect_max, reconnect_max_ms,
	    10, CFG_MS_PER_H, CFG_MS_PER_S, 1),

	KEY(S_SPOOL, spool, dir, V_PATH),
	KEY(S_SPOOL, spool, max_bytes, V_SIZE,
	    .min = SPOOL_FRAME_MAX, .max = 1024 * CFG_GIB),
	KEY(S_SPOOL, spool, segment_bytes, V_SIZE,
	    .min = 64 * CFG_KIB, .max = CFG_GIB),
	DUR(S_SPOOL, spool, commit_interval, commit_interval_ms,
	    0, CFG_MS_PER_S, 1, 1),

	KEY(S_MQTT, mqtt, enabled, V_BOOL),
	KEY(S_MQTT, mqtt, host, V_HOST),
	KEY(S_MQTT, mqtt, port, V_UINT, .min = 1, .max = 65535),
	KEY(S_MQTT, mqtt, client_id, V_CLIENTID),
	KEY(S_MQTT, mqtt, topic, V_TOPIC),
	KEY(S_MQTT, mqtt, qos, V_QOS),
	DUR(S_MQTT, mqtt, keepalive, keepalive_s,
	    5 * CFG_MS_PER_S, 65535 * CFG_MS_PER_S, CFG_MS_PER_S, CFG_MS_PER_S),

	KEY(S_SOCKET, socket, enabled, V_BOOL),
	KEY(S_SOCKET, socket, path, V_SOCKPATH),
	KEY(S_SOCKET, socket, mode, V_MODE),

	KEY(S_AGENT, agent, key_depth, V_UINT, .min = 1, .max = 64),
	KEY(S_AGENT, agent, max_payload, V_SIZE,
	    .min = 1, .max = QKD_REC_PAYLOAD_MAX),
	KEY(S_AGENT, agent, stats_socket, V_SOCKPATH_NONE),
	KEY(S_AGENT, agent, log_level, V_LOGLEVEL),
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

const char *agent_config_log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return NULL;
}

void agent_config_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg_set_str(cfg->link.device, sizeof(cfg->link.device), "/dev/qkdkey");

	cfg->ledger.port = 7447;
	cfg->ledger.connect_timeout_ms = 5 * CFG_MS_PER_S;
	cfg->ledger.reconnect_min_ms = 500;
	cfg->ledger.reconnect_max_ms = 30 * CFG_MS_PER_S;

	cfg_set_str(cfg->spool.dir, sizeof(cfg->spool.dir),
		    "/var/lib/qkdkey/spool");
	cfg->spool.max_bytes = 64 * CFG_MIB;
	cfg->spool.segment_bytes = 4 * CFG_MIB;
	cfg->spool.commit_interval_ms = 5;

	cfg->mqtt.enabled = true;
	cfg_set_str(cfg->mqtt.host, sizeof(cfg->mqtt.host), "localhost");
	cfg->mqtt.port = 1883;
	/* client_id "": qkd-agent-<link name>, resolved by the load. */
	cfg_set_str(cfg->mqtt.topic, sizeof(cfg->mqtt.topic), "qkd/telemetry/+");
	cfg->mqtt.qos = 1;
	cfg->mqtt.keepalive_s = 60;

	cfg->socket.enabled = true;
	cfg_set_str(cfg->socket.path, sizeof(cfg->socket.path),
		    "/run/qkdkey/agent.sock");
	cfg->socket.mode = 0660;

	cfg->agent.key_depth = 8;
	cfg->agent.max_payload = QKD_REC_PAYLOAD_MAX;
	cfg_set_str(cfg->agent.stats_socket, sizeof(cfg->agent.stats_socket),
		    "/run/qkdkey/stats.sock");
	cfg->agent.log_level = LOG_INFO;
}

/* ------------------------------------------------------------------ */
/* Parsing state and messages                                          */

struct ctx {
	const char *path;
	const char *buf;
	size_t len;
	size_t pos;
	unsigned int lineno;
	struct agent_config *cfg;
	char *err;
	size_t errlen;
	bool failed;
	unsigned int section_line[S_COUNT];
	unsigned int key_line[NKEYS];
};

/* First error wins; later ones are dropped. */
static void __attribute__((format(printf, 2, 3)))
fail(struct ctx *c, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	qkd_seterr(c->err, c->errlen, "%s:%u: %s", c->path, c->lineno, msg);
}

/* ------------------------------------------------------------------ */
/* Value parsers: NULL on success, else the reason (static or in why). */
/* Only the agent's own kinds: the generic ones are in cfg_value.c.    */

/*
 * The reader lets tabs through as blanks and inih strips only those around
 * the value: one inside a path is a typo. Not in cfg_check_path() because
 * qkd-ledgerd has always taken it.
 */
static const char *check_path(const char *v, size_t size, char *why,
			      size_t whylen)
{
	if (v[0] == '/') {
		for (const char *s = v; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				return "control character in path";
	}
	return cfg_check_path(v, size, why, whylen);
}

static const char *check_host(const char *v, size_t size)
{
	struct in6_addr a6;
	char tmp[AGENT_CONFIG_HOST_SIZE];
	size_t n = strlen(v);

	if (n >= size || n > 253)
		return "host name too long";
	if (strchr(v, ':')) {
		/* An IPv6 literal, with an optional %zone (an interface). */
		char *zone;

		memcpy(tmp, v, n + 1);
		zone = strchr(tmp, '%');
		if (zone)
			*zone = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1 ||
		    (zone && !cfg_name_ok(zone + 1, 15)))
			return "not a host name or IP address (without "
			       "brackets; the port goes in \"port\")";
		return NULL;
	}
	if (v[0] == '-' || v[0] == '.' || strstr(v, ".."))
		return "not a valid host name";
	for (const char *s = v; *s; s++)
		if (!cfg_name_char(*s) || *s == '_')
			return "not a valid host name (letters, digits, "
			       "'.' and '-' only)";
	return NULL;
}

/*
 * An MQTT topic filter of the form PREFIX/+: the '+' level is the device
 * id (payload.h: the topic must name the device of the payload), PREFIX is
 * one or more literal levels.
 */
static const char *check_topic(const char *v, size_t size)
{
	size_t n = strlen(v);

	if (n >= size)
		return "topic filter too long";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		bool level_start = i == 0 || v[i - 1] == '/';
		bool level_end = i + 1 == n || v[i + 1] == '/';

		if (ch < 0x20 || ch == 0x7f)
			return "control character in topic filter";
		if (ch == '+' && !(level_start && level_end))
			return "'+' must be a whole topic level";
		if (ch == '#' && !(level_start && i + 1 == n))
			return "'#' must be the whole last topic level";
	}
	if (n < 3 || strcmp(v + n - 2, "/+") || strpbrk(v, "#") ||
	    memchr(v, '+', n - 1) || v[0] == '/' || strstr(v, "//") ||
	    v[0] == '$')
		return "must be PREFIX/+ (literal levels, then '+' for the "
		       "device id), e.g. qkd/telemetry/+";
	return NULL;
}

static const char *parse_mode(const char *v, uint32_t *out)
{
	uint32_t m = 0;
	size_t n = strlen(v);

	if (n > 4)
		return "not an octal mode such as 0660";
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '7')
			return "not an octal mode such as 0660";
		m = m * 8 + (uint32_t)(v[i] - '0');
	}
	if (m > 0777)
		return "only permission bits (at most 0777) are allowed";
	if (m & 0002)
		return "world-writable: any local user could inject records "
		       "(use group permissions)";
	*out = m;
	return NULL;
}

static void store_uint(void *dst, size_t size, uint64_t v)
{
	switch (size) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(dst, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(dst, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(dst, &x, 4); break; }
	default: memcpy(dst, &v, 8); break;
	}
}

static uint64_t load_uint(const void *src, size_t size)
{
	uint8_t x8;
	uint16_t x16;
	uint32_t x32;
	uint64_t x64;

	switch (size) {
	case 1: memcpy(&x8, src, 1); return x8;
	case 2: memcpy(&x16, src, 2); return x16;
	case 4: memcpy(&x32, src, 4); return x32;
	default: memcpy(&x64, src, 8); return x64;
	}
}

/* V_UINT, V_SIZE, V_DURATION: in the unit of the field. */
static const char *parse_number(const struct key_desc *k, const char *v,
				uint64_t *out, char *why, size_t whylen)
{
	const char *r;

	switch (k->kind) {
	case V_UINT:
		return cfg_parse_uint(v, k->min, k->max, out, why, whylen);
	case V_SIZE:
		return cfg_parse_size(v, k->min, k->max, out, why, whylen);
	default:
		r = cfg_parse_duration(v, k->unit_ms, k->min, k->max, out, why,
				       whylen);
		if (r)
			return r;
		if (*out % k->store_div)
			return "must be a whole number of seconds";
		*out /= k->store_div;
		return NULL;
	}
}

/* Parses v for key k into cfg: NULL or the reason. */
static const char *parse_value(const struct key_desc *k, const char *v,
			       struct agent_config *cfg, char *why,
			       size_t whylen)
{
	char *field = (char *)cfg + k->off;
	const char *r = NULL;
	uint64_t n;
	size_t i;

	switch (k->kind) {
	case V_LINKNAME:
		r = cfg_check_name(v, AGENT_CONFIG_NAME_SIZE - 1, "a link name",
				   why, whylen);
		break;
	case V_PATH:
	case V_SOCKPATH:
		r = check_path(v, k->size, why, whylen);
		break;
	case V_SOCKPATH_NONE:
		if (!strcmp(v, "none")) {
			field[0] = '\0';
			return NULL;
		}
		r = check_path(v, k->size, why, whylen);
		break;
	case V_HOST:
		r = check_host(v, k->size);
		break;
	case V_CLIENTID:
		r = cfg_check_name(v, AGENT_CONFIG_ID_SIZE - 1, "a client id",
				   why, whylen);
		break;
	case V_TOPIC:
		r = check_topic(v, k->size);
		break;
	case V_UINT:
	case V_SIZE:
	case V_DURATION:
		r = parse_number(k, v, &n, why, whylen);
		if (!r)
			store_uint(field, k->size, n);
		return r;
	case V_BOOL:
		return cfg_parse_bool(v, (bool *)field);
	case V_MODE:
		return parse_mode(v, (uint32_t *)field);
	case V_QOS:
		if (strcmp(v, "1"))
			return "must be 1 (QoS 0 lets the broker drop messages, "
			       "QoS 2 is not supported)";
		*(uint8_t *)field = 1;
		return NULL;
	case V_LOGLEVEL:
		for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
			if (!strcmp(v, log_levels[i].name)) {
				*(int *)field = log_levels[i].level;
				return NULL;
			}
		}
		return "unknown log level (use error, warning, notice, info "
		       "or debug)";
	}
	if (r)
		return r;
	/* The string kinds: checked to fit above. */
	if (!cfg_set_str(field, k->size, v))
		return "value too long";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* inih callbacks                                                      */

static int find_section(const char *name, size_t n)
{
	for (int s = 0; s < S_COUNT; s++)
		if (strlen(section_names[s]) == n &&
		    !memcmp(section_names[s], name, n))
			return s;
	return -1;
}

/* "host, port, ..." for section s, cut to fit buf. */
static const char *known_keys(int s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		int n;

		if (keys[i].section != (enum section)s)
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
			     keys[i].name);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	return buf;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct ctx *c = user;
	char qn[CFG_QUOTE_SIZE], qv[CFG_QUOTE_SIZE], why[CFG_WHY_SIZE];
	const struct key_desc *k = NULL;
	const char *r;
	int s;
	size_t i;

	if (c->failed)
		return 0;
	if (!*section) {
		fail(c, "key %s outside any section (start with [link])",
		     cfg_quote(qn, name));
		return 0;
	}
	s = find_section(section, strlen(section));
	if (s < 0) {	/* the reader checked every header: cannot happen */
		fail(c, "unknown section %s", cfg_quote(qn, section));
		return 0;
	}
	if (!*name) {
		fail(c, "[%s] missing key name before '='", section);
		return 0;
	}
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].section == (enum section)s &&
		    !strcmp(keys[i].name, name)) {
			k = &keys[i];
			break;
		}
	}
	if (!k) {
		if (s == S_LEDGER && !strncmp(name, "tls", 3))
			fail(c, "[ledger] %s: unknown key: there is no TLS: "
			     "payloads are one-time-padded and every message "
			     "is authenticated with QKD key (qkd-agent(8))",
			     cfg_quote(qn, name));
		else
			fail(c, "[%s] %s: unknown key (known: %s)", section,
			     cfg_quote(qn, name), known_keys(s, qv, sizeof(qv)));
		return 0;
	}
	if (c->key_line[i]) {
		fail(c, "[%s] %s: set twice (first at line %u)", section,
		     k->name, c->key_line[i]);
		return 0;
	}
	c->key_line[i] = c->lineno;
	if (!*value) {
		fail(c, "[%s] %s: empty value", section, k->name);
		return 0;
	}
	why[0] = '\0';
	r = parse_value(k, value, c->cfg, why, sizeof(why));
	if (r) {
		fail(c, "[%s] %s = %s: %s", section, k->name,
		     cfg_quote(qv, value), r);
		return 0;
	}
	return 1;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * Checks a section header "[name]" (already left-stripped, len bytes, no
 * newline): a known section, not seen before, nothing but a comment after.
 */
static bool check_header(struct ctx *c, const char *l, size_t len)
{
	char q[CFG_QUOTE_SIZE];
	const char *close = memchr(l, ']', len);
	const char *rest;
	int s;

	if (!close) {
		fail(c, "section header without ']'");
		return false;
	}
	s = find_section(l + 1, (size_t)(close - l - 1));
	if (s < 0) {
		fail(c, "unknown section %s (known: link, ledger, spool, "
		     "mqtt, socket, agent)",
		     cfg_quote_n(q, l + 1, (size_t)(close - l - 1)));
		return false;
	}
	for (rest = close + 1; rest < l + len && is_blank(*rest); rest++)
		;
	if (rest < l + len && *rest != ';' && *rest != '#') {
		fail(c, "text after section header [%s]", section_names[s]);
		return false;
	}
	if (c->section_line[s]) {
		fail(c, "section [%s] appears twice (first at line %u)",
		     section_names[s], c->section_line[s]);
		return false;
	}
	c->section_line[s] = c->lineno;
	return true;
}

/* fgets-like: the next line of c->buf, checked and left-stripped. */
static char *reader(char *str, int num, void *stream)
{
	struct ctx *c = stream;
	const char *line, *nl;
	size_t len, max;

	if (c->failed || c->pos >= c->len)
		return NULL;
	line = c->buf + c->pos;
	nl = memchr(line, '\n', c->len - c->pos);
	len = nl ? (size_t)(nl - line) : c->len - c->pos;
	c->pos += len + (nl ? 1 : 0);
	c->lineno++;

	if (c->lineno == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;	/* UTF-8 byte order mark */
		len -= 3;
	}
	if (len && line[len - 1] == '\r')
		len--;

	max = AGENT_CONFIG_LINE_MAX;
	if (num < 3)
		max = 0;
	else if ((size_t)num - 3 < max)
		max = (size_t)num - 3;	/* inih built with a smaller limit */
	if (len > max) {
		fail(c, "line too long (%zu bytes, at most %zu)", len, max);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (!ch) {
			fail(c, "NUL byte at column %zu", i + 1);
			return NULL;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			fail(c, "control character 0x%02x at column %zu", ch,
			     i + 1);
			return NULL;
		}
	}
	while (len && is_blank(*line)) {
		line++;
		len--;
	}

	if (len && *line == '[') {
		if (!check_header(c, line, len))
			return NULL;
	} else if (len && *line != ';' && *line != '#') {
		const char *eq = memchr(line, '=', len);
		const char *colon = memchr(line, ':', len);

		if (!eq && !colon) {
			char q[CFG_QUOTE_SIZE];

			fail(c, "expected \"key = value\" or \"[section]\", "
			     "got %s", cfg_quote_n(q, line, len));
			return NULL;
		}
	}
	memcpy(str, line, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/* ------------------------------------------------------------------ */

static int read_file(const char *path, char **bufp, size_t *lenp, char *err,
		     size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		qkd_seterr(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		e = errno;
		qkd_seterr(err, errlen, "%s: %s", path, strerror(e));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		qkd_seterr(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* Read at most one byte more than allowed: the size may change. */
	cap = AGENT_CONFIG_FILE_MAX + 1;
	buf = malloc(cap);
	if (!buf) {
		e = ENOMEM;
		qkd_seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			qkd_seterr(err, errlen, "%s: read: %s", path, strerror(e));
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
		if (len == cap) {
			e = EFBIG;
			qkd_seterr(err, errlen, "%s: larger than %u bytes", path,
				AGENT_CONFIG_FILE_MAX);
			goto out;
		}
	}
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
out:
	free(buf);
	close(fd);
	return -e;
}

/* After the file: required keys, defaults that depend on others, keys
 * that contradict. Errors name the file but no line. */
static int finish(struct ctx *c)
{
	struct agent_config *cfg = c->cfg;
	char dur1[32], dur2[32];

	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].required && !c->key_line[i]) {
			qkd_seterr(c->err, c->errlen,
				"%s: [%s] %s: required key missing", c->path,
				section_names[keys[i].section], keys[i].name);
			return -EINVAL;
		}
	}
	if (cfg->ledger.reconnect_min_ms > cfg->ledger.reconnect_max_ms) {
		qkd_seterr(c->err, c->errlen,
			"%s: [ledger] reconnect_min (%s) is above reconnect_max (%s)",
			c->path,
			cfg_fmt_duration(dur1, sizeof(dur1), cfg->ledger.reconnect_min_ms),
			cfg_fmt_duration(dur2, sizeof(dur2), cfg->ledger.reconnect_max_ms));
		return -EINVAL;
	}
	if (!cfg->mqtt.enabled && !cfg->socket.enabled) {
		qkd_seterr(c->err, c->errlen,
			"%s: [mqtt] enabled and [socket] enabled are both no: "
			"the agent would have no input", c->path);
		return -EINVAL;
	}
	if (!strcmp(cfg->socket.path, cfg->agent.stats_socket)) {
		qkd_seterr(c->err, c->errlen,
			"%s: [socket] path and [agent] stats_socket are the same "
			"file", c->path);
		return -EINVAL;
	}
	if (!cfg->mqtt.client_id[0])
		snprintf(cfg->mqtt.client_id, sizeof(cfg->mqtt.client_id),
			 "qkd-agent-%s", cfg->link.name);
	return 0;
}

int agent_config_load(const char *path, struct agent_config *cfg,
		      char *err, size_t errlen)
{
	struct ctx c = {
		.path = path, .cfg = cfg, .err = err, .errlen = errlen,
	};
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (err && errlen)
		err[0] = '\0';
	agent_config_defaults(cfg);
	r = read_file(path, &buf, &len, err, errlen);
	if (r)
		return r;
	c.buf = buf;
	c.len = len;
	r = ini_parse_stream(reader, &c, handler, &c);
	free(buf);
	if (c.failed)
		return -EINVAL;
	if (r == -2) {
		qkd_seterr(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (r) {
		/* inih found a line it cannot parse that the reader let by. */
		c.lineno = r > 0 ? (unsigned int)r : 0;
		fail(&c, "syntax error (expected \"key = value\")");
		return -EINVAL;
	}
	r = finish(&c);
	if (r)
		return r;
	if (!cfg_set_str(cfg->source, sizeof(cfg->source), path))
		cfg->source[0] = '\0';
	return 0;
}

int agent_config_dump(const struct agent_config *cfg, FILE *out)
{
	const char *p = (const char *)cfg;
	int last = -1;
	char buf[48];

	fprintf(out,
		"# qkd-agent: effective configuration%s%s\n"
		"# It holds no secrets: key material comes from the QKD device at run\n"
		"# time, never from this file.\n",
		cfg->source[0] ? " from " : " (defaults)",
		cfg->source);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key_desc *k = &keys[i];
		const char *field = p + k->off;
		uint32_t mode;

		if ((int)k->section != last) {
			last = (int)k->section;
			fprintf(out, "\n[%s]\n", section_names[last]);
		}
		fprintf(out, "%s = ", k->name);
		switch (k->kind) {
		case V_SOCKPATH_NONE:
			fprintf(out, "%s\n", field[0] ? field : "none");
			break;
		case V_LINKNAME:
		case V_PATH:
		case V_SOCKPATH:
		case V_HOST:
		case V_CLIENTID:
		case V_TOPIC:
			/* Required keys may be empty in defaults only. */
			fprintf(out, "%s\n", field[0] ? field : "(required)");
			break;
		case V_UINT:
			fprintf(out, "%llu\n",
				(unsigned long long)load_uint(field, k->size));
			break;
		case V_SIZE:
			fprintf(out, "%s\n", cfg_fmt_size(buf, sizeof(buf),
					load_uint(field, k->size)));
			break;
		case V_DURATION:
			fprintf(out, "%s\n", cfg_fmt_duration(buf, sizeof(buf),
					load_uint(field, k->size) * k->store_div));
			break;
		case V_BOOL:
			fprintf(out, "%s\n", *(const bool *)field ? "yes" : "no");
			break;
		case V_MODE:
			memcpy(&mode, field, sizeof(mode));
			fprintf(out, "%04o\n", (unsigned int)mode);
			break;
		case V_QOS:
			fprintf(out, "%u\n", (unsigned int)*(const uint8_t *)field);
			break;
		case V_LOGLEVEL: {
			const char *n = agent_config_log_level_name(*(const int *)field);

			fprintf(out, "%s\n", n ? n : "info");
			break;
		}
		}
	}
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}
