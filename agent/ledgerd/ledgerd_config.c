// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd configuration: defaults, strict INI parsing with inih, dump.
 * See ledgerd_config.h.
 *
 * inih is fed line by line through our own reader so that every message
 * can name its line, and so that what inih would silently accept (NUL
 * bytes, control characters, overlong lines cut short, an indented line
 * taken as a continuation, a section without keys) is refused first.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <ini.h>

#include "cfg_value.h"
#include "ledgerd_config.h"
#include "ledgerd_config_int.h"

#define FILE_MAX	(1u << 20)

struct ctx {
	const char *path;
	const char *buf;
	size_t len, pos;
	unsigned int lineno;
	struct ledgerd_config *cfg;
	char *err;
	size_t errlen;
	bool failed;
	unsigned int ledger_line;		/* [ledger] header */
	unsigned int key_line[16];		/* [ledger] keys */
	struct ledgerd_gw_config *gw;		/* the current [gateway] */
	unsigned int gw_key_line[2];		/* link, peer_link */
};

static const char *const ledger_keys[] = {
	"listen", "db", "key", "device", "auto_register", "sth_every",
	"sth_ms", "ack_every", "ack_ms", "log_level", "key_window",
};
#define NLEDGER_KEYS (sizeof(ledger_keys) / sizeof(ledger_keys[0]))

static const struct { const char *name; int level; } levels[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

const char *ledgerd_log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return NULL;
}

static void __attribute__((format(printf, 2, 3)))
fail(struct ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s:%u: %s", c->path, c->lineno, msg);
}

void ledgerd_config_defaults(struct ledgerd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg_set_str(cfg->listen_addr, sizeof(cfg->listen_addr), "0.0.0.0");
	cfg->listen_port = LEDGERD_DEFAULT_PORT;
	cfg_set_str(cfg->db, sizeof(cfg->db), "/var/lib/qkdkey/ledger.db");
	cfg_set_str(cfg->key, sizeof(cfg->key), "/var/lib/qkdkey/ledger.key");
	cfg_set_str(cfg->device, sizeof(cfg->device), "/dev/qkdkey");
	cfg->auto_register = true;
	cfg->sth_every = 1000;
	cfg->sth_ms = 1000;
	cfg->ack_every = 64;
	cfg->ack_ms = 10;
	cfg->key_window = LEDGERD_KEY_WINDOW_DEFAULT;
	cfg->log_level = LOG_INFO;
}

/* A path key: checked, then copied. */
static const char *path_value(const char *v, char *dst, char *why,
			      size_t whylen)
{
	const char *r = cfg_check_path(v, LEDGERD_PATH_SIZE, why, whylen);

	if (!r)
		cfg_set_str(dst, LEDGERD_PATH_SIZE, v);
	return r;
}

/*
 * A numeric key into its 32-bit field (every upper bound fits). The _ms
 * keys are durations: a bare number is milliseconds, as it always was, and
 * "250ms", "2s" or "1min" mean what they do to qkd-agent.
 */
enum num_kind { NUM_UINT, NUM_MS, NUM_SIZE };

static const char *num_value(enum num_kind kind, const char *v, uint32_t lo,
			     uint32_t hi, uint32_t *dst, char *why,
			     size_t whylen)
{
	const char *r;
	uint64_t n;

	if (kind == NUM_MS)
		r = cfg_parse_duration(v, 1, lo, hi, &n, why, whylen);
	else if (kind == NUM_SIZE)
		r = cfg_parse_size(v, lo, hi, &n, why, whylen);
	else
		r = cfg_parse_uint(v, lo, hi, &n, why, whylen);
	if (!r)
		*dst = (uint32_t)n;
	return r;
}

static const char *ledger_value(struct ledgerd_config *cfg, size_t k,
				const char *v, char *why, size_t whylen)
{
	switch (k) {
	case 0: return ld_cfg_parse_listen(v, cfg, why, whylen);
	case 1: return path_value(v, cfg->db, why, whylen);
	case 2: return path_value(v, cfg->key, why, whylen);
	case 3: return path_value(v, cfg->device, why, whylen);
	case 4: return cfg_parse_bool(v, &cfg->auto_register);
	case 5: return num_value(NUM_UINT, v, 1, 1000000, &cfg->sth_every, why, whylen);
	case 6: return num_value(NUM_MS, v, 1, 3600000, &cfg->sth_ms, why, whylen);
	case 7: return num_value(NUM_UINT, v, 1, 4096, &cfg->ack_every, why, whylen);
	case 8: return num_value(NUM_MS, v, 0, 10000, &cfg->ack_ms, why, whylen);
	case 9:
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			if (!strcmp(v, levels[i].name)) {
				cfg->log_level = levels[i].level;
				return NULL;
			}
		}
		return "not a log level (error, warning, notice, info, debug)";
	case 10:
		return num_value(NUM_SIZE, v, LEDGERD_KEY_WINDOW_MIN,
				 LEDGERD_KEY_WINDOW_MAX, &cfg->key_window, why,
				 whylen);
	}
	return "unknown key";
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct ctx *c = user;
	unsigned int *seen = NULL;
	char buf[CFG_WHY_SIZE];
	const char *why;
	size_t k;

	if (c->failed)
		return 0;
	if (!*section) {
		fail(c, "key \"%.40s\" outside any section", name);
		return 0;
	}
	if (!strcmp(section, "ledger")) {
		for (k = 0; k < NLEDGER_KEYS && strcmp(name, ledger_keys[k]); k++)
			;
		if (k == NLEDGER_KEYS) {
			fail(c, "[ledger] \"%.40s\": unknown key", name);
			return 0;
		}
		seen = &c->key_line[k];
	} else {
		k = !strcmp(name, "link") ? 0 : !strcmp(name, "peer_link") ? 1 : 2;
		if (k == 2) {
			fail(c, "[%s] \"%.40s\": unknown key (known: link, peer_link)",
			     section, name);
			return 0;
		}
		seen = &c->gw_key_line[k];
	}
	if (*seen) {
		fail(c, "[%s] %s: set twice (first at line %u)", section, name, *seen);
		return 0;
	}
	*seen = c->lineno;
	if (!*value) {
		fail(c, "[%s] %s: empty value", section, name);
		return 0;
	}
	if (!strcmp(section, "ledger"))
		why = ledger_value(c->cfg, k, value, buf, sizeof(buf));
	else
		why = ld_cfg_parse_link(value, k ? c->gw->peer_link : c->gw->link,
					buf, sizeof(buf));
	if (why)
		fail(c, "[%s] %s = \"%.60s\": %s", section, name, value, why);
	return !why;
}

/* Checks the previous [gateway] once its keys are in. */
static void gw_finish(struct ctx *c)
{
	struct ledgerd_gw_config *g = c->gw;

	if (!g || c->failed)
		return;
	if (!g->link[0]) {
		c->lineno = g->line;
		fail(c, "[gateway %s]: required key link missing", g->name);
		return;
	}
	if (!g->peer_link[0])
		cfg_set_str(g->peer_link, sizeof(g->peer_link), g->link);
	for (unsigned int i = 0; i + 1 < c->cfg->ngw; i++) {
		const struct ledgerd_gw_config *o = &c->cfg->gw[i];

		c->lineno = g->line;
		if (!strcmp(o->link, g->link))
			fail(c, "[gateway %s]: link %s is also gateway %s's (line %u)",
			     g->name, g->link, o->name, o->line);
		else if (!strcmp(o->peer_link, g->peer_link))
			fail(c, "[gateway %s]: peer_link %s is also gateway %s's (line %u)",
			     g->name, g->peer_link, o->name, o->line);
	}
}

/* A section header (left-stripped line, no newline). */
static void header(struct ctx *c, const char *l, size_t len)
{
	const char *end = memchr(l, ']', len);
	size_t n = end ? (size_t)(end - l - 1) : 0;
	char name[80];

	gw_finish(c);
	c->gw = NULL;
	if (!end) {
		fail(c, "section header without ']'");
		return;
	}
	for (const char *s = end + 1; s < l + len; s++) {
		if (*s == ';' || *s == '#')
			break;
		if (*s != ' ' && *s != '\t') {
			fail(c, "text after the section header");
			return;
		}
	}
	if (n >= sizeof(name)) {
		fail(c, "section name too long");
		return;
	}
	memcpy(name, l + 1, n);
	name[n] = '\0';
	if (!strcmp(name, "ledger")) {
		if (c->ledger_line)
			fail(c, "section [ledger] appears twice (first at line %u)",
			     c->ledger_line);
		c->ledger_line = c->lineno;
		return;
	}
	if (strncmp(name, "gateway ", 8)) {
		fail(c, "unknown section [%s] (known: [ledger], [gateway NAME])", name);
		return;
	}
	if (!cfg_name_ok(name + 8, LEDGERD_GWNAME_SIZE - 1)) {
		fail(c, "[%s]: a gateway name is 1-64 of A-Z a-z 0-9 _ . -", name);
		return;
	}
	for (unsigned int i = 0; i < c->cfg->ngw; i++) {
		if (!strcmp(c->cfg->gw[i].name, name + 8)) {
			fail(c, "section [%s] appears twice (first at line %u)",
			     name, c->cfg->gw[i].line);
			return;
		}
	}
	if (c->cfg->ngw == LEDGERD_GW_MAX) {
		fail(c, "more than %u gateways", LEDGERD_GW_MAX);
		return;
	}
	c->gw = &c->cfg->gw[c->cfg->ngw++];
	cfg_set_str(c->gw->name, sizeof(c->gw->name), name + 8);
	c->gw->line = c->lineno;
	c->gw_key_line[0] = c->gw_key_line[1] = 0;
}

static char *reader(char *str, int num, void *stream)
{
	struct ctx *c = stream;
	const char *line, *nl;
	size_t len;

	if (c->failed || c->pos >= c->len)
		return NULL;
	line = c->buf + c->pos;
	nl = memchr(line, '\n', c->len - c->pos);
	len = nl ? (size_t)(nl - line) : c->len - c->pos;
	c->pos += len + (nl ? 1 : 0);
	c->lineno++;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > LEDGERD_LINE_MAX || (num > 0 && len + 2 > (size_t)num)) {
		fail(c, "line too long (%zu bytes, at most %u)", len, LEDGERD_LINE_MAX);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			fail(c, "control character 0x%02x at column %zu", ch, i + 1);
			return NULL;
		}
	}
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len && *line == '[') {
		header(c, line, len);
	} else if (len && *line != ';' && *line != '#') {
		if (!memchr(line, '=', len)) {
			fail(c, "expected \"key = value\" or \"[section]\"");
		} else if (!c->ledger_line && !c->gw) {
			fail(c, "key outside any section");
		}
	}
	if (c->failed)
		return NULL;
	memcpy(str, line, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int read_file(const char *path, char **bufp, size_t *lenp,
		     char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), e;

	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	while ((n = read(fd, buf + len, FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (len += (size_t)n) > FILE_MAX) {
			e = n < 0 ? errno : EFBIG;
			snprintf(err, errlen, "%s: %s", path, n < 0 ?
				 strerror(e) : "larger than 1 MiB");
			free(buf);
			close(fd);
			return -e;
		}
	}
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
}

int ledgerd_config_load(const char *path, struct ledgerd_config *cfg,
			char *err, size_t errlen)
{
	char dummy[8];
	struct ctx c = { .path = path, .cfg = cfg, .err = err, .errlen = errlen };
	char *buf = NULL;
	int r;

	if (!err || !errlen) {
		c.err = err = dummy;
		c.errlen = errlen = sizeof(dummy);
	}
	err[0] = '\0';
	ledgerd_config_defaults(cfg);
	r = read_file(path, &buf, &c.len, err, errlen);
	if (r)
		return r;
	c.buf = buf;
	r = ini_parse_stream(reader, &c, handler, &c);
	free(buf);
	if (!c.failed && r > 0) {
		c.lineno = (unsigned int)r;
		fail(&c, "syntax error");
	}
	if (!c.failed && r == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	gw_finish(&c);
	if (c.failed)
		return -EINVAL;
	if (!cfg->ngw) {
		snprintf(err, errlen, "%s: no [gateway NAME] section: nothing to receive",
			 path);
		return -EINVAL;
	}
	cfg_set_str(cfg->source, sizeof(cfg->source), path);
	return 0;
}

int ledgerd_config_dump(const struct ledgerd_config *c, FILE *out)
{
	bool v6 = strchr(c->listen_addr, ':') != NULL;

	fprintf(out, "# qkd-ledgerd: effective configuration%s%s\n\n[ledger]\n",
		c->source[0] ? " from " : "", c->source);
	fprintf(out, "listen = %s%s%s:%u\n", v6 ? "[" : "", c->listen_addr,
		v6 ? "]" : "", c->listen_port);
	fprintf(out, "db = %s\nkey = %s\ndevice = %s\nauto_register = %s\n",
		c->db, c->key, c->device, c->auto_register ? "yes" : "no");
	fprintf(out, "sth_every = %u\nsth_ms = %u\nack_every = %u\nack_ms = %u\n",
		c->sth_every, c->sth_ms, c->ack_every, c->ack_ms);
	fprintf(out, "key_window = %u\n", c->key_window);
	fprintf(out, "log_level = %s\n", ledgerd_log_level_name(c->log_level) ?
		ledgerd_log_level_name(c->log_level) : "info");
	for (unsigned int i = 0; i < c->ngw; i++)
		fprintf(out, "\n[gateway %s]\nlink = %s\npeer_link = %s\n",
			c->gw[i].name, c->gw[i].link, c->gw[i].peer_link);
	return fflush(out) || ferror(out) ? -EIO : 0;
}
