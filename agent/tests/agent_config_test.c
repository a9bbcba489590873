// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the qkd-agent configuration (agent/lib/agent_config.c):
 * defaults, every key, units, syntax variants, the dump round trip, the
 * example file and the man page, and every kind of bad input, each of
 * which must fail with one line naming file:line, the key and the value.
 * Built twice: plain and with -fsanitize=address,undefined.
 */
#define _GNU_SOURCE	/* the kselftest harness needs POSIX and GNU APIs */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "agent_config.h"

#include "kselftest_harness.h"

#ifndef QKD_AGENT_CONF_EXAMPLE
#define QKD_AGENT_CONF_EXAMPLE "agent/qkd-agent.conf.example"
#endif
#ifndef QKD_AGENT_MAN
#define QKD_AGENT_MAN "Documentation/qkd-agent.8"
#endif

#define MINIMAL "[link]\nname = lnk0\n[ledger]\nhost = 192.0.2.2\n"

/* Every key, for the documentation checks. */
static const char *const all_keys[][2] = {
	{ "link", "name" }, { "link", "device" },
	{ "ledger", "host" }, { "ledger", "port" },
	{ "ledger", "connect_timeout" }, { "ledger", "reconnect_min" },
	{ "ledger", "reconnect_max" },
	{ "spool", "dir" }, { "spool", "max_bytes" },
	{ "spool", "segment_bytes" }, { "spool", "commit_interval" },
	{ "mqtt", "enabled" }, { "mqtt", "host" }, { "mqtt", "port" },
	{ "mqtt", "client_id" }, { "mqtt", "topic" }, { "mqtt", "qos" },
	{ "mqtt", "keepalive" },
	{ "socket", "enabled" }, { "socket", "path" }, { "socket", "mode" },
	{ "agent", "key_depth" }, { "agent", "max_payload" },
	{ "agent", "stats_socket" }, { "agent", "log_level" },
};

/* Writes len bytes to a new temporary file; its path goes to path. */
static void write_tmp(struct __test_metadata *_metadata, char path[64],
		      const void *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, 64, "%s/qkd-agent-conf-XXXXXX",
		 dir && strlen(dir) < 32 ? dir : "/tmp");
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, write(fd, data, len));
	ASSERT_EQ(0, close(fd));
}

/* Loads len bytes of text as a file; returns agent_config_load()'s value. */
static int load_text(struct __test_metadata *_metadata, const char *text,
		     size_t len, struct agent_config *cfg, char *err,
		     size_t errlen, char path[64])
{
	int r;

	write_tmp(_metadata, path, text, len);
	r = agent_config_load(path, cfg, err, errlen);
	unlink(path);
	return r;
}

static void load_ok(struct __test_metadata *_metadata, const char *text,
		    struct agent_config *cfg)
{
	char err[512], path[64];
	int r = load_text(_metadata, text, strlen(text), cfg, err, sizeof(err),
			  path);

	if (r)
		TH_LOG("unexpected error: %s", err);
	ASSERT_EQ(0, r);
	ASSERT_STREQ("", err);
	ASSERT_STREQ(path, cfg->source);
}

/*
 * text (len bytes) must fail with -EINVAL and a one-line message
 * "PATH:LINE: ..." (line 0: "PATH: ...", no line) holding want1 and want2.
 */
static void load_bad(struct __test_metadata *_metadata, const char *text,
		     size_t len, unsigned int line, const char *want1,
		     const char *want2)
{
	struct agent_config cfg;
	char err[512], path[64], prefix[96];
	int r = load_text(_metadata, text, len, &cfg, err, sizeof(err), path);

	TH_LOG("message: %s", err);
	ASSERT_EQ(-EINVAL, r);
	if (line)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	ASSERT_EQ(0, strncmp(err, prefix, strlen(prefix)));
	ASSERT_EQ(NULL, strchr(err, '\n'));
	if (want1)
		ASSERT_NE(NULL, strstr(err, want1));
	if (want2)
		ASSERT_NE(NULL, strstr(err, want2));
}

#define BAD(name, text, line, want1, want2) \
	TEST(bad_##name) \
	{ \
		static const char t[] = text; \
		load_bad(_metadata, t, sizeof(t) - 1, line, want1, want2); \
	}

static void expect_defaults(struct __test_metadata *_metadata,
			    const struct agent_config *c)
{
	ASSERT_STREQ("/dev/qkdkey", c->link.device);
	ASSERT_EQ(7447, c->ledger.port);
	ASSERT_EQ(5000, c->ledger.connect_timeout_ms);
	ASSERT_EQ(500, c->ledger.reconnect_min_ms);
	ASSERT_EQ(30000, c->ledger.reconnect_max_ms);
	ASSERT_STREQ("/var/lib/qkdkey/spool", c->spool.dir);
	ASSERT_EQ(64ull << 20, c->spool.max_bytes);
	ASSERT_EQ(4ull << 20, c->spool.segment_bytes);
	ASSERT_EQ(5, c->spool.commit_interval_ms);
	ASSERT_TRUE(c->mqtt.enabled);
	ASSERT_STREQ("localhost", c->mqtt.host);
	ASSERT_EQ(1883, c->mqtt.port);
	ASSERT_STREQ("qkd/telemetry/+", c->mqtt.topic);
	ASSERT_EQ(1, c->mqtt.qos);
	ASSERT_EQ(60, c->mqtt.keepalive_s);
	ASSERT_TRUE(c->socket.enabled);
	ASSERT_STREQ("/run/qkdkey/agent.sock", c->socket.path);
	ASSERT_EQ(0660, c->socket.mode);
	ASSERT_EQ(8, c->agent.key_depth);
	ASSERT_EQ(65536, c->agent.max_payload);
	ASSERT_STREQ("/run/qkdkey/stats.sock", c->agent.stats_socket);
	ASSERT_EQ(LOG_INFO, c->agent.log_level);
}

TEST(defaults_function)
{
	struct agent_config c;

	memset(&c, 0x5a, sizeof(c));
	agent_config_defaults(&c);
	expect_defaults(_metadata, &c);
	ASSERT_STREQ("", c.link.name);
	ASSERT_STREQ("", c.ledger.host);
	ASSERT_STREQ("", c.mqtt.client_id);
	ASSERT_STREQ("", c.source);
}

TEST(defaults_minimal_file)
{
	struct agent_config c;

	load_ok(_metadata, MINIMAL, &c);
	expect_defaults(_metadata, &c);
	ASSERT_STREQ("lnk0", c.link.name);
	ASSERT_STREQ("192.0.2.2", c.ledger.host);
	ASSERT_STREQ("qkd-agent-lnk0", c.mqtt.client_id);
}

static const char full[] =
	"[link]\n"
	"name = gw-1.a_b\n"
	"device = /dev/qkdkey1\n"
	"[ledger]\n"
	"host = ledger.example.org\n"
	"port = 9000\n"
	"connect_timeout = 250ms\n"
	"reconnect_min = 2\n"
	"reconnect_max = 2min\n"
	"[spool]\n"
	"dir = /srv/spool\n"
	"max_bytes = 2G\n"
	"segment_bytes = 128K\n"
	"commit_interval = 20\n"
	"[mqtt]\n"
	"enabled = no\n"
	"host = ::1\n"
	"port = 8883\n"
	"client_id = gw-1\n"
	"topic = site/a b/telemetry/+\n"
	"qos = 1\n"
	"keepalive = 2min\n"
	"[socket]\n"
	"enabled = true\n"
	"path = /run/x/in.sock\n"
	"mode = 0620\n"
	"[agent]\n"
	"key_depth = 64\n"
	"max_payload = 1000\n"
	"stats_socket = none\n"
	"log_level = debug\n";

static void expect_full(struct __test_metadata *_metadata,
			const struct agent_config *c)
{
	ASSERT_STREQ("gw-1.a_b", c->link.name);
	ASSERT_STREQ("/dev/qkdkey1", c->link.device);
	ASSERT_STREQ("ledger.example.org", c->ledger.host);
	ASSERT_EQ(9000, c->ledger.port);
	ASSERT_EQ(250, c->ledger.connect_timeout_ms);
	ASSERT_EQ(2000, c->ledger.reconnect_min_ms);
	ASSERT_EQ(120000, c->ledger.reconnect_max_ms);
	ASSERT_STREQ("/srv/spool", c->spool.dir);
	ASSERT_EQ(2ull << 30, c->spool.max_bytes);
	ASSERT_EQ(128ull << 10, c->spool.segment_bytes);
	ASSERT_EQ(20, c->spool.commit_interval_ms);
	ASSERT_FALSE(c->mqtt.enabled);
	ASSERT_STREQ("::1", c->mqtt.host);
	ASSERT_EQ(8883, c->mqtt.port);
	ASSERT_STREQ("gw-1", c->mqtt.client_id);
	ASSERT_STREQ("site/a b/telemetry/+", c->mqtt.topic);
	ASSERT_EQ(1, c->mqtt.qos);
	ASSERT_EQ(120, c->mqtt.keepalive_s);
	ASSERT_TRUE(c->socket.enabled);
	ASSERT_STREQ("/run/x/in.sock", c->socket.path);
	ASSERT_EQ(0620, c->socket.mode);
	ASSERT_EQ(64, c->agent.key_depth);
	ASSERT_EQ(1000, c->agent.max_payload);
	ASSERT_STREQ("", c->agent.stats_socket);
	ASSERT_EQ(LOG_DEBUG, c->agent.log_level);
}

TEST(every_key)
{
	struct agent_config c;

	load_ok(_metadata, full, &c);
	expect_full(_metadata, &c);
}

TEST(units)
{
	struct agent_config c;

	load_ok(_metadata, MINIMAL
		"connect_timeout = 1min\nreconnect_min = 10ms\n"
		"reconnect_max = 1h\n"
		"[spool]\nmax_bytes = 65680\nsegment_bytes = 1GiB\n"
		"commit_interval = 1s\n"
		"[mqtt]\nkeepalive = 65535\n"
		"[agent]\nmax_payload = 64KiB\n", &c);
	ASSERT_EQ(60000, c.ledger.connect_timeout_ms);
	ASSERT_EQ(10, c.ledger.reconnect_min_ms);
	ASSERT_EQ(3600000, c.ledger.reconnect_max_ms);
	ASSERT_EQ(65680, c.spool.max_bytes);
	ASSERT_EQ(1ull << 30, c.spool.segment_bytes);
	ASSERT_EQ(1000, c.spool.commit_interval_ms);
	ASSERT_EQ(65535, c.mqtt.keepalive_s);
	ASSERT_EQ(65536, c.agent.max_payload);

	load_ok(_metadata, MINIMAL "connect_timeout = 3m\n[spool]\n"
		"max_bytes = 1024G\nsegment_bytes = 64K\ncommit_interval = 0\n"
		"[mqtt]\nkeepalive = 5000ms\n[agent]\nkey_depth = 1\n"
		"max_payload = 1\n", &c);
	ASSERT_EQ(180000, c.ledger.connect_timeout_ms);
	ASSERT_EQ(1024ull << 30, c.spool.max_bytes);
	ASSERT_EQ(64ull << 10, c.spool.segment_bytes);
	ASSERT_EQ(0, c.spool.commit_interval_ms);
	ASSERT_EQ(5, c.mqtt.keepalive_s);
	ASSERT_EQ(1, c.agent.key_depth);
	ASSERT_EQ(1, c.agent.max_payload);
}

TEST(booleans_and_levels)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	static const char *const lv[] = { "error", "warning", "notice",
					  "info", "debug" };
	static const int lvv[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE,
				   LOG_INFO, LOG_DEBUG };
	struct agent_config c;
	char text[256];

	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text),
			 MINIMAL "[mqtt]\nenabled = %s\n[socket]\nenabled = %s\n",
			 no[i], yes[i]);
		load_ok(_metadata, text, &c);
		ASSERT_FALSE(c.mqtt.enabled);
		ASSERT_TRUE(c.socket.enabled);
		snprintf(text, sizeof(text),
			 MINIMAL "[mqtt]\nenabled = %s\n[socket]\nenabled = %s\n",
			 yes[i], no[i]);
		load_ok(_metadata, text, &c);
		ASSERT_TRUE(c.mqtt.enabled);
		ASSERT_FALSE(c.socket.enabled);
	}
	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), MINIMAL "[agent]\nlog_level = %s\n",
			 lv[i]);
		load_ok(_metadata, text, &c);
		ASSERT_EQ(lvv[i], c.agent.log_level);
		ASSERT_STREQ(lv[i], agent_config_log_level_name(lvv[i]));
	}
	ASSERT_EQ(NULL, agent_config_log_level_name(LOG_EMERG));
}

TEST(syntax_variants)
{
	struct agent_config c;

	/* BOM, CRLF, comments of both kinds, inline comment, indentation,
	 * ':' as separator, no newline at the end, sections in any order. */
	load_ok(_metadata,
		"\xef\xbb\xbf# comment\r\n"
		"; another\r\n"
		"\r\n"
		"[ledger] ; the peer\r\n"
		"   host = 2001:db8::2%eth0   ; inline comment\r\n"
		"\tport: 7000\r\n"
		"  # indented comment\n"
		"[link]\n"
		"name=lnk0\n"
		"    device = /dev/qkdkey\n"
		"[mqtt]\n"
		"topic = x/+", &c);
	ASSERT_STREQ("2001:db8::2%eth0", c.ledger.host);
	ASSERT_EQ(7000, c.ledger.port);
	ASSERT_STREQ("lnk0", c.link.name);
	ASSERT_STREQ("x/+", c.mqtt.topic);

	/* An indented key is a key, not a continuation of the one above. */
	load_ok(_metadata, MINIMAL "  port = 1\n", &c);
	ASSERT_STREQ("192.0.2.2", c.ledger.host);
	ASSERT_EQ(1, c.ledger.port);

	/* Lines of exactly AGENT_CONFIG_LINE_MAX bytes are fine. */
	{
		char text[512];
		int n = snprintf(text, sizeof(text), MINIMAL "#");

		memset(text + n, 'x', AGENT_CONFIG_LINE_MAX - 1);
		strcpy(text + n + AGENT_CONFIG_LINE_MAX - 1, "\n");
		load_ok(_metadata, text, &c);
	}
}

TEST(file_of_exactly_max_size)
{
	struct agent_config c;
	char err[512], path[64];
	size_t len = AGENT_CONFIG_FILE_MAX, n = strlen(MINIMAL);
	char *buf = malloc(len);

	ASSERT_NE(NULL, buf);
	memcpy(buf, MINIMAL, n);
	for (size_t i = n; i < len; i += 64) {
		size_t l = len - i < 64 ? len - i : 64;

		memset(buf + i, '#', l);
		buf[i + l - 1] = '\n';
	}
	ASSERT_EQ(0, load_text(_metadata, buf, len, &c, err, sizeof(err), path));
	ASSERT_STREQ("lnk0", c.link.name);

	buf = realloc(buf, len + 1);
	ASSERT_NE(NULL, buf);
	buf[len] = '\n';
	ASSERT_EQ(-EFBIG, load_text(_metadata, buf, len + 1, &c, err,
				    sizeof(err), path));
	ASSERT_NE(NULL, strstr(err, path));
	ASSERT_NE(NULL, strstr(err, "larger than"));
	free(buf);
}

static void dump_roundtrip(struct __test_metadata *_metadata,
			   const char *text)
{
	struct agent_config a, b;
	char err[512], path[64], *out = NULL;
	size_t outlen = 0;
	FILE *f;

	load_ok(_metadata, text, &a);
	f = open_memstream(&out, &outlen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, agent_config_dump(&a, f));
	ASSERT_EQ(0, fclose(f));
	ASSERT_NE(NULL, strstr(out, "no secrets"));
	ASSERT_EQ(0, load_text(_metadata, out, outlen, &b, err, sizeof(err),
			       path));
	free(out);
	memcpy(b.source, a.source, sizeof(a.source));
	ASSERT_EQ(0, memcmp(&a, &b, sizeof(a)));
}

TEST(dump_round_trip)
{
	dump_roundtrip(_metadata, MINIMAL);
	dump_roundtrip(_metadata, full);
	dump_roundtrip(_metadata, MINIMAL "connect_timeout = 1500ms\n"
		       "[spool]\nmax_bytes = 65680\nsegment_bytes = 65537K\n");
}

TEST(dump_defaults)
{
	struct agent_config c;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);

	ASSERT_NE(NULL, f);
	agent_config_defaults(&c);
	ASSERT_EQ(0, agent_config_dump(&c, f));
	ASSERT_EQ(0, fclose(f));
	ASSERT_NE(NULL, strstr(out, "(defaults)"));
	ASSERT_NE(NULL, strstr(out, "[link]\nname = (required)\n"));
	ASSERT_NE(NULL, strstr(out, "max_bytes = 64M\n"));
	ASSERT_NE(NULL, strstr(out, "reconnect_min = 500ms\n"));
	ASSERT_NE(NULL, strstr(out, "mode = 0660\n"));
	free(out);
}

static char *slurp(struct __test_metadata *_metadata, const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 17);
	size_t n;

	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_NE(NULL, buf);
	n = fread(buf, 1, (1 << 17) - 1, f);
	fclose(f);
	ASSERT_LT(0, n);
	return buf;
}

TEST(example_file)
{
	struct agent_config c, d;
	char err[512], key[64];
	char *text;
	int r = agent_config_load(QKD_AGENT_CONF_EXAMPLE, &c, err, sizeof(err));

	if (r)
		TH_LOG("%s", err);
	ASSERT_EQ(0, r);
	/* It lists the defaults: it equals the defaults plus the required
	 * keys it must set. */
	agent_config_defaults(&d);
	memcpy(d.link.name, c.link.name, sizeof(d.link.name));
	memcpy(d.ledger.host, c.ledger.host, sizeof(d.ledger.host));
	snprintf(d.mqtt.client_id, sizeof(d.mqtt.client_id), "qkd-agent-%s",
		 c.link.name);
	memcpy(d.source, c.source, sizeof(d.source));
	ASSERT_EQ(0, memcmp(&c, &d, sizeof(c)));

	/* Every key is in it, under its section. */
	text = slurp(_metadata, QKD_AGENT_CONF_EXAMPLE);
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		char sec[32];
		const char *s;

		snprintf(sec, sizeof(sec), "\n[%s]\n", all_keys[i][0]);
		s = strstr(text, sec);
		ASSERT_NE(NULL, s) TH_LOG("no section %s", sec);
		snprintf(key, sizeof(key), "\n%s = ", all_keys[i][1]);
		if (!strstr(s, key))
			snprintf(key, sizeof(key), "\n#%s = ", all_keys[i][1]);
		ASSERT_NE(NULL, strstr(s, key))
			TH_LOG("key %s missing", all_keys[i][1]);
	}
	free(text);
}

TEST(man_page_documents_every_key)
{
	char *text = slurp(_metadata, QKD_AGENT_MAN);
	char key[64];

	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		snprintf(key, sizeof(key), "\\fB%s\\fR", all_keys[i][1]);
		ASSERT_NE(NULL, strstr(text, key))
			TH_LOG("key %s missing", all_keys[i][1]);
	}
	free(text);
}

/* ---- files that cannot be read ---- */

TEST(missing_file)
{
	struct agent_config c;
	char err[512];

	ASSERT_EQ(-ENOENT, agent_config_load("/nonexistent/agent.conf", &c,
					     err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "/nonexistent/agent.conf: cannot open"));
	/* err may be NULL. */
	ASSERT_EQ(-ENOENT, agent_config_load("/nonexistent/agent.conf", &c,
					     NULL, 0));
}

TEST(directory)
{
	struct agent_config c;
	char err[512];

	ASSERT_EQ(-EINVAL, agent_config_load("/", &c, err, sizeof(err)));
	ASSERT_STREQ("/: not a regular file", err);
}

TEST(small_error_buffer)
{
	struct agent_config c;
	char path[64];
	char err[8];
	static const char t[] = "[bogus]\n";

	memset(err, 'x', sizeof(err));
	ASSERT_EQ(-EINVAL, load_text(_metadata, t, sizeof(t) - 1, &c, err,
				     sizeof(err), path));
	ASSERT_EQ(7, strlen(err));
	ASSERT_EQ(-EINVAL, load_text(_metadata, t, sizeof(t) - 1, &c, NULL, 0,
				     path));
}

/* ---- structure ---- */

BAD(unknown_section, MINIMAL "[bogus]\nx = 1\n", 5, "unknown section \"bogus\"",
    "(known: link, ledger, spool, mqtt, socket, agent)")
BAD(unknown_section_without_keys, MINIMAL "\n[tls]\n", 6, "unknown section",
    "\"tls\"")
BAD(section_with_spaces, "[ link ]\nname = a\n", 1, "unknown section",
    "\" link \"")
BAD(section_upper_case, "[Link]\n", 1, "unknown section", "Link")
BAD(section_unclosed, "[link\nname = a\n", 1, "without ']'", NULL)
BAD(section_trailing_text, "[link] x\n", 1, "text after section header",
    "[link]")
BAD(duplicate_section, MINIMAL "[link]\n", 5, "[link] appears twice",
    "first at line 1")
BAD(unknown_key, MINIMAL "colour = blue\n", 5, "[ledger] \"colour\"",
    "unknown key (known: host, port, connect_timeout, reconnect_min, "
    "reconnect_max)")
BAD(unknown_key_tls, MINIMAL "tls = yes\n", 5, "\"tls\": unknown key",
    "no TLS")
BAD(key_upper_case, "[link]\nName = a\n", 2, "\"Name\"", "unknown key")
BAD(key_in_wrong_section, MINIMAL "[mqtt]\nkey_depth = 4\n", 6,
    "[mqtt] \"key_depth\"", "unknown key")
BAD(duplicate_key, "[link]\nname = a\n\nname = b\n", 4, "[link] name",
    "set twice (first at line 2)")
BAD(key_outside_section, "name = a\n[link]\n", 1, "\"name\"",
    "outside any section")
BAD(no_equals, MINIMAL "host 192.0.2.1\n", 5, "expected \"key = value\"",
    "\"host 192.0.2.1\"")
BAD(no_key_name, MINIMAL "= 5\n", 5, "[ledger]", "missing key name")
BAD(empty_value, "[link]\nname =\n", 2, "[link] name", "empty value")
BAD(empty_value_comment, MINIMAL "port = ; none\n", 5, "[ledger] port",
    "empty value")

/* ---- bytes ---- */

BAD(nul_byte, MINIMAL "port = 80\0 81\n", 5, "NUL byte at column 10", NULL)
BAD(nul_byte_in_comment, "# a\0b\n" MINIMAL, 1, "NUL byte at column 4", NULL)
BAD(control_char, MINIMAL "port = \x1b[31m\n", 5,
    "control character 0x1b at column 8", NULL)
BAD(lone_cr, "[link]\rname = a\n", 1, "control character 0x0d", NULL)

TEST(bad_overlong_line)
{
	char text[512];
	int n = snprintf(text, sizeof(text), MINIMAL "#");

	memset(text + n, 'x', AGENT_CONFIG_LINE_MAX);
	strcpy(text + n + AGENT_CONFIG_LINE_MAX, "\n");
	load_bad(_metadata, text, strlen(text), 5, "line too long (191 bytes, "
		 "at most 190)", NULL);
}

TEST(bad_overlong_value)
{
	char text[2048];
	int n = snprintf(text, sizeof(text), MINIMAL "[spool]\ndir = /");

	memset(text + n, 'a', 1000);
	strcpy(text + n + 1000, "\n");
	load_bad(_metadata, text, strlen(text), 6, "line too long", NULL);
}

/* ---- values ---- */

BAD(bad_integer, MINIMAL "port = 80x\n", 5, "[ledger] port = \"80x\"",
    "not a decimal integer")
BAD(integer_hex, MINIMAL "port = 0x50\n", 5, "port = \"0x50\"",
    "not a decimal integer")
BAD(integer_word, MINIMAL "port = http\n", 5, "port = \"http\"",
    "not a number")
BAD(integer_plus, MINIMAL "port = +80\n", 5, "port = \"+80\"", "not a number")
BAD(integer_negative, MINIMAL "port = -1\n", 5, "port = \"-1\"", "negative")
BAD(integer_overflow, MINIMAL "port = 99999999999999999999999\n", 5,
    "port = \"99999999999999999999999\"", "overflows 64 bits")
BAD(port_zero, MINIMAL "port = 0\n", 5, "port = \"0\"", "out of range 1..65535")
BAD(port_too_big, MINIMAL "port = 65536\n", 5, "port = \"65536\"",
    "out of range 1..65535")
BAD(key_depth_zero, MINIMAL "[agent]\nkey_depth = 0\n", 6,
    "[agent] key_depth = \"0\"", "out of range 1..64")
BAD(key_depth_too_big, MINIMAL "[agent]\nkey_depth = 65\n", 6,
    "key_depth = \"65\"", "out of range 1..64")
BAD(size_negative, MINIMAL "[spool]\nmax_bytes = -1M\n", 6,
    "[spool] max_bytes = \"-1M\"", "negative")
BAD(size_word, MINIMAL "[spool]\nmax_bytes = lots\n", 6,
    "[spool] max_bytes = \"lots\"",
    "not a size (bytes, or with a suffix K, M or G)")
BAD(size_suffix_only, MINIMAL "[spool]\nmax_bytes = G\n", 6,
    "max_bytes = \"G\"", "not a size")
BAD(size_bad_suffix, MINIMAL "[spool]\nmax_bytes = 10X\n", 6,
    "max_bytes = \"10X\"", "unknown size suffix \"X\" (use K, M or G)")
BAD(size_lower_case_suffix, MINIMAL "[spool]\nmax_bytes = 10m\n", 6,
    "max_bytes = \"10m\"", "unknown size suffix \"m\"")
BAD(size_space_before_suffix, MINIMAL "[spool]\nmax_bytes = 10 M\n", 6,
    "max_bytes = \"10 M\"", "unknown size suffix \" M\"")
BAD(size_fraction, MINIMAL "[spool]\nmax_bytes = 1.5G\n", 6,
    "max_bytes = \"1.5G\"", "unknown size suffix \".5G\"")
BAD(size_overflow, MINIMAL "[spool]\nmax_bytes = 17179869184G\n", 6,
    "max_bytes = \"17179869184G\"", "overflows 64 bits")
BAD(size_digits_overflow, MINIMAL "[spool]\nmax_bytes = 18446744073709551616\n",
    6, "max_bytes = \"18446744073709551616\"", "overflows 64 bits")
BAD(size_too_small, MINIMAL "[spool]\nmax_bytes = 64K\n", 6,
    "max_bytes = \"64K\"", "out of range 65680..1024G")
BAD(size_too_big, MINIMAL "[spool]\nmax_bytes = 1025G\n", 6,
    "max_bytes = \"1025G\"", "out of range")
BAD(segment_too_small, MINIMAL "[spool]\nsegment_bytes = 1K\n", 6,
    "segment_bytes = \"1K\"", "out of range 64K..1G")
BAD(max_payload_too_big, MINIMAL "[agent]\nmax_payload = 65537\n", 6,
    "max_payload = \"65537\"", "out of range 1..64K")
BAD(max_payload_zero, MINIMAL "[agent]\nmax_payload = 0\n", 6,
    "max_payload = \"0\"", "out of range")
BAD(duration_bad_unit, MINIMAL "connect_timeout = 5sec\n", 5,
    "[ledger] connect_timeout = \"5sec\"", "unknown time unit \"sec\"")
BAD(duration_negative, MINIMAL "connect_timeout = -5s\n", 5,
    "connect_timeout = \"-5s\"", "negative")
BAD(duration_overflow, MINIMAL "connect_timeout = 18446744073709551615h\n", 5,
    "connect_timeout", "overflows 64 bits")
BAD(duration_too_short, MINIMAL "connect_timeout = 99ms\n", 5,
    "connect_timeout = \"99ms\"", "out of range 100ms..5min")
BAD(duration_too_long, MINIMAL "reconnect_max = 2h\n", 5,
    "reconnect_max = \"2h\"", "out of range 10ms..1h")
BAD(commit_interval_too_long, MINIMAL "[spool]\ncommit_interval = 1001\n", 6,
    "commit_interval = \"1001\"", "out of range 0ms..1s")
BAD(keepalive_fraction, MINIMAL "[mqtt]\nkeepalive = 5500ms\n", 6,
    "keepalive = \"5500ms\"", "whole number of seconds")
BAD(keepalive_too_short, MINIMAL "[mqtt]\nkeepalive = 4\n", 6,
    "keepalive = \"4\"", "out of range 5s..65535s")
BAD(boolean, MINIMAL "[mqtt]\nenabled = maybe\n", 6,
    "[mqtt] enabled = \"maybe\"", "not a boolean")
BAD(boolean_upper_case, MINIMAL "[mqtt]\nenabled = YES\n", 6,
    "enabled = \"YES\"", "not a boolean")
BAD(qos_0, MINIMAL "[mqtt]\nqos = 0\n", 6, "[mqtt] qos = \"0\"", "must be 1")
BAD(qos_2, MINIMAL "[mqtt]\nqos = 2\n", 6, "[mqtt] qos = \"2\"",
    "QoS 2 is not supported")
BAD(qos_01, MINIMAL "[mqtt]\nqos = 01\n", 6, "qos = \"01\"", "must be 1")
BAD(log_level, MINIMAL "[agent]\nlog_level = verbose\n", 6,
    "log_level = \"verbose\"", "unknown log level")
BAD(mode_not_octal, MINIMAL "[socket]\nmode = 0680\n", 6,
    "[socket] mode = \"0680\"", "not an octal mode")
BAD(mode_world_writable, MINIMAL "[socket]\nmode = 0666\n", 6,
    "mode = \"0666\"", "world-writable")
BAD(mode_sticky, MINIMAL "[socket]\nmode = 1660\n", 6, "mode = \"1660\"",
    "only permission bits")
BAD(mode_long, MINIMAL "[socket]\nmode = 00660\n", 6, "mode = \"00660\"",
    "not an octal mode")

/* ---- names, hosts, topics ---- */

BAD(link_name_space, "[link]\nname = my link\n", 2,
    "[link] name = \"my link\"", "A-Z a-z 0-9 _ . -")
BAD(link_name_too_long, "[link]\nname = abcdefghijklmnop\n", 2,
    "name = \"abcdefghijklmnop\"", "longer than 15")
BAD(client_id_bad, MINIMAL "[mqtt]\nclient_id = a/b\n", 6,
    "client_id = \"a/b\"", "may hold only")
BAD(host_with_port, "[ledger]\nhost = ledger.example:7447\n", 2,
    "[ledger] host = \"ledger.example:7447\"", "the port goes in")
BAD(host_brackets, "[ledger]\nhost = [2001:db8::1]\n", 2,
    "host = \"[2001:db8::1]\"", "without brackets")
BAD(host_bad_zone, "[ledger]\nhost = fe80::1%\n", 2, "host = \"fe80::1%\"",
    "not a host name")
BAD(host_dash, "[ledger]\nhost = -oProxy\n", 2, "host = \"-oProxy\"",
    "not a valid host name")
BAD(host_chars, "[ledger]\nhost = a b\n", 2, "host = \"a b\"",
    "not a valid host name")
BAD(host_quotes, "[ledger]\nhost = \"x\\\n", 2, "host = \"\\\"x\\\\\"",
    "not a valid host name")
BAD(host_dots, "[ledger]\nhost = a..b\n", 2, "host = \"a..b\"",
    "not a valid host name")
BAD(topic_plus, MINIMAL "[mqtt]\ntopic = a/b+/c\n", 6,
    "[mqtt] topic = \"a/b+/c\"", "'+' must be a whole topic level")
BAD(topic_hash, MINIMAL "[mqtt]\ntopic = a/#/c\n", 6, "topic = \"a/#/c\"",
    "'#' must be the whole last topic level")
BAD(topic_hash_suffix, MINIMAL "[mqtt]\ntopic = a/b#\n", 6,
    "topic = \"a/b#\"", "'#'")
BAD(topic_tab, MINIMAL "[mqtt]\ntopic = a\tb\n", 6, "topic = \"a\\x09b\"",
    "control character")
BAD(topic_hash_last, MINIMAL "[mqtt]\ntopic = qkd/#\n", 6,
    "topic = \"qkd/#\"", "must be PREFIX/+")
BAD(topic_no_wildcard, MINIMAL "[mqtt]\ntopic = qkd/telemetry\n", 6,
    "topic = \"qkd/telemetry\"", "must be PREFIX/+")
BAD(topic_two_wildcards, MINIMAL "[mqtt]\ntopic = qkd/+/+\n", 6,
    "topic = \"qkd/+/+\"", "must be PREFIX/+")
BAD(topic_plus_alone, MINIMAL "[mqtt]\ntopic = +\n", 6, "topic = \"+\"",
    "must be PREFIX/+")
BAD(topic_empty_level, MINIMAL "[mqtt]\ntopic = qkd//+\n", 6,
    "topic = \"qkd//+\"", "must be PREFIX/+")
BAD(topic_sys, MINIMAL "[mqtt]\ntopic = $SYS/+\n", 6, "topic = \"$SYS/+\"",
    "must be PREFIX/+")

/* ---- paths ---- */

BAD(device_relative, "[link]\nname = a\ndevice = qkdkey\n", 3,
    "[link] device = \"qkdkey\"", "not an absolute path")
BAD(spool_dir_relative, MINIMAL "[spool]\ndir = var/spool\n", 6,
    "[spool] dir = \"var/spool\"", "not an absolute path")
BAD(socket_path_relative, MINIMAL "[socket]\npath = ./agent.sock\n", 6,
    "[socket] path = \"./agent.sock\"", "not an absolute path")
BAD(stats_socket_relative, MINIMAL "[agent]\nstats_socket = stats\n", 6,
    "[agent] stats_socket = \"stats\"", "not an absolute path")
BAD(socket_path_too_long, MINIMAL "[socket]\npath = /run/"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", 6, "[socket] path = ",
    "path longer than 107 bytes")

/* ---- the file as a whole ---- */

BAD(missing_link_name, "[link]\ndevice = /dev/qkdkey\n[ledger]\nhost = x\n", 0,
    "[link] name: required key missing", NULL)
BAD(missing_link_section, "[ledger]\nhost = x\n", 0,
    "[link] name: required key missing", NULL)
BAD(missing_ledger_host, "[link]\nname = a\n", 0,
    "[ledger] host: required key missing", NULL)
BAD(empty_file, "", 0, "[link] name: required key missing", NULL)
BAD(reconnect_min_above_max,
    MINIMAL "reconnect_min = 10s\nreconnect_max = 5s\n", 0,
    "reconnect_min (10s) is above reconnect_max (5s)", NULL)
BAD(no_input, MINIMAL "[mqtt]\nenabled = no\n[socket]\nenabled = no\n", 0,
    "no input", NULL)
BAD(same_sockets, MINIMAL "[agent]\nstats_socket = /run/qkdkey/agent.sock\n",
    0, "same file", NULL)
BAD(first_error_wins, "[link]\nname = a b\n[bogus]\n", 2, "[link] name", NULL)

/* 1 MiB of garbage: random bytes, then random printable lines. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void garbage(struct __test_metadata *_metadata, bool printable,
		    int seed)
{
	size_t len = AGENT_CONFIG_FILE_MAX;
	char *buf = malloc(len);
	struct agent_config c;
	char err[512], path[64];
	int r;

	ASSERT_NE(NULL, buf);
	rng_state = 0x9e3779b97f4a7c15ull * (uint64_t)(seed + 1);
	for (size_t i = 0; i < len; i++) {
		uint64_t x = rnd();

		if (!printable)
			buf[i] = (char)(x >> 24);
		else if (x % 61 == 0)
			buf[i] = '\n';
		else
			buf[i] = (char)(0x20 + (x >> 24) % 95);
	}
	r = load_text(_metadata, buf, len, &c, err, sizeof(err), path);
	free(buf);
	TH_LOG("message: %s", err);
	ASSERT_EQ(-EINVAL, r);
	ASSERT_EQ(0, strncmp(err, path, strlen(path)));
	ASSERT_EQ(':', err[strlen(path)]);
	ASSERT_EQ(NULL, strchr(err, '\n'));
	for (const char *s = err; *s; s++)
		ASSERT_TRUE(*s >= 0x20 && *s < 0x7f);
}

TEST(garbage_binary)
{
	for (int seed = 0; seed < 8; seed++)
		garbage(_metadata, false, seed);
}

TEST(garbage_printable)
{
	for (int seed = 0; seed < 8; seed++)
		garbage(_metadata, true, seed);
}

/* Every prefix of a valid file either loads or fails cleanly. */
TEST(every_truncation)
{
	struct agent_config c;
	char err[512], path[64];
	size_t len = strlen(full);

	for (size_t n = 0; n <= len; n++) {
		int r = load_text(_metadata, full, n, &c, err, sizeof(err), path);

		ASSERT_TRUE(r == 0 || r == -EINVAL);
		if (r)
			ASSERT_EQ(0, strncmp(err, path, strlen(path)));
	}
}

/* Every single byte of a valid file replaced by each of a few bytes. */
TEST(every_byte_mutation)
{
	static const char subst[] = { '\0', '\n', '[', ']', '=', ';', '#',
				      ' ', '-', '9', 'x', '\xff', '\x01' };
	char buf[sizeof(full)];
	struct agent_config c;
	char err[512], path[64];
	size_t len = strlen(full);

	for (size_t i = 0; i < len; i++) {
		for (size_t j = 0; j < sizeof(subst); j++) {
			int r;

			memcpy(buf, full, len);
			buf[i] = subst[j];
			r = load_text(_metadata, buf, len, &c, err,
				      sizeof(err), path);
			ASSERT_TRUE(r == 0 || r == -EINVAL);
			if (r)
				ASSERT_EQ(0, strncmp(err, path, strlen(path)));
		}
	}
}

TEST_HARNESS_MAIN
