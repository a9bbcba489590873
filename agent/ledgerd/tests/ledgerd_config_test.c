// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the qkd-ledgerd configuration (agent/ledgerd/
 * ledgerd_config.c): defaults, every key, the [gateway NAME] sections, the
 * dump round trip, the example file and the man page, and malformed input,
 * each of which must fail with one line "PATH:LINE: ..." naming the
 * problem. Built twice: plain and with -fsanitize=address,undefined.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ledgerd_config.h"

#include "kselftest_harness.h"

#ifndef QKD_LEDGERD_CONF_EXAMPLE
#define QKD_LEDGERD_CONF_EXAMPLE "agent/qkd-ledgerd.conf.example"
#endif
#ifndef QKD_LEDGERD_MAN
#define QKD_LEDGERD_MAN "Documentation/qkd-ledgerd.8"
#endif

#define GW1 "[gateway gw1]\nlink = lnk0\n"

static void write_tmp(struct __test_metadata *_metadata, char path[64],
		      const void *data, size_t len)
{
	int fd;

	snprintf(path, 64, "/tmp/qkd-ledgerd-conf-XXXXXX");
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, write(fd, data, len));
	ASSERT_EQ(0, close(fd));
}

static int load_text(struct __test_metadata *_metadata, const char *text,
		     size_t len, struct ledgerd_config *cfg, char *err,
		     size_t errlen, char path[64])
{
	int r;

	write_tmp(_metadata, path, text, len);
	r = ledgerd_config_load(path, cfg, err, errlen);
	unlink(path);
	return r;
}

static void load_ok(struct __test_metadata *_metadata, const char *text,
		    struct ledgerd_config *cfg)
{
	char err[512], path[64];
	int r = load_text(_metadata, text, strlen(text), cfg, err, sizeof(err), path);

	if (r)
		TH_LOG("unexpected error: %s", err);
	ASSERT_EQ(0, r);
	ASSERT_STREQ(path, cfg->source);
}

/* Must fail with -EINVAL and "PATH:LINE: ..." (line 0: "PATH: ...")
 * holding want. */
static void load_bad(struct __test_metadata *_metadata, const char *text,
		     size_t len, unsigned int line, const char *want)
{
	struct ledgerd_config cfg;
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
	ASSERT_NE(NULL, strstr(err, want));
}

#define BAD(name, text, line, want) \
	TEST(bad_##name) \
	{ \
		static const char t[] = text; \
		load_bad(_metadata, t, sizeof(t) - 1, line, want); \
	}

TEST(defaults)
{
	struct ledgerd_config c;

	load_ok(_metadata, GW1, &c);
	ASSERT_STREQ("0.0.0.0", c.listen_addr);
	ASSERT_EQ(7447, c.listen_port);
	ASSERT_STREQ("/var/lib/qkdkey/ledger.db", c.db);
	ASSERT_STREQ("/var/lib/qkdkey/ledger.key", c.key);
	ASSERT_STREQ("/dev/qkdkey", c.device);
	ASSERT_TRUE(c.auto_register);
	ASSERT_EQ(1000, c.sth_every);
	ASSERT_EQ(1000, c.sth_ms);
	ASSERT_EQ(64, c.ack_every);
	ASSERT_EQ(10, c.ack_ms);
	ASSERT_EQ(4u << 20, c.key_window);
	ASSERT_EQ(LOG_INFO, c.log_level);
	ASSERT_EQ(1, c.ngw);
	ASSERT_STREQ("gw1", c.gw[0].name);
	ASSERT_STREQ("lnk0", c.gw[0].link);
	ASSERT_STREQ("lnk0", c.gw[0].peer_link);	/* defaults to link */
	ASSERT_EQ(1, c.gw[0].line);
}

static const char full[] =
	"; comment\n"
	"[ledger]\n"
	"  listen = [::1]:9000 ; inline comment\n"
	"db = /srv/l.db\n"
	"key = /srv/l.key\n"
	"device = /dev/qkdkey2\n"
	"auto_register = no\n"
	"sth_every = 5\n"
	"sth_ms = 250\n"
	"ack_every = 1\n"
	"ack_ms = 0\n"
	"key_window = 96K\n"
	"log_level = debug\n"
	"\n"
	"[gateway hub-A.1_x]\r\n"
	"link = sim0b\n"
	"peer_link = sim0a\n"
	"[gateway hub-B]\n"
	"peer_link = far.end\n"
	"link = sim1b\n";

static void expect_full(struct __test_metadata *_metadata,
			const struct ledgerd_config *c)
{
	ASSERT_STREQ("::1", c->listen_addr);
	ASSERT_EQ(9000, c->listen_port);
	ASSERT_STREQ("/srv/l.db", c->db);
	ASSERT_STREQ("/srv/l.key", c->key);
	ASSERT_STREQ("/dev/qkdkey2", c->device);
	ASSERT_FALSE(c->auto_register);
	ASSERT_EQ(5, c->sth_every);
	ASSERT_EQ(250, c->sth_ms);
	ASSERT_EQ(1, c->ack_every);
	ASSERT_EQ(0, c->ack_ms);
	ASSERT_EQ(96u << 10, c->key_window);
	ASSERT_EQ(LOG_DEBUG, c->log_level);
	ASSERT_EQ(2, c->ngw);
	ASSERT_STREQ("hub-A.1_x", c->gw[0].name);
	ASSERT_STREQ("sim0b", c->gw[0].link);
	ASSERT_STREQ("sim0a", c->gw[0].peer_link);
	ASSERT_STREQ("hub-B", c->gw[1].name);
	ASSERT_STREQ("sim1b", c->gw[1].link);
	ASSERT_STREQ("far.end", c->gw[1].peer_link);
}

TEST(every_key)
{
	struct ledgerd_config c;

	load_ok(_metadata, full, &c);
	expect_full(_metadata, &c);
}

TEST(listen_forms)
{
	struct ledgerd_config c;

	load_ok(_metadata, "[ledger]\nlisten = 192.0.2.2:7700\n" GW1, &c);
	ASSERT_STREQ("192.0.2.2", c.listen_addr);
	ASSERT_EQ(7700, c.listen_port);
	load_ok(_metadata, "[ledger]\nlisten = 127.0.0.1\n" GW1, &c);
	ASSERT_STREQ("127.0.0.1", c.listen_addr);
	ASSERT_EQ(7447, c.listen_port);
	load_ok(_metadata, "[ledger]\nlisten = [fe80::1]\n" GW1, &c);
	ASSERT_STREQ("fe80::1", c.listen_addr);
}

/* Sizes: bytes or K/M/G (KiB/MiB/GiB), powers of 1024, bounds included. */
TEST(key_window_sizes)
{
	static const struct { const char *v; uint32_t want; } ok[] = {
		{ "4096", 4096 }, { "4K", 4096 }, { "4KiB", 4096 },
		{ "1M", 1u << 20 }, { "3MiB", 3u << 20 }, { "1G", 1u << 30 },
		{ "1GiB", 1u << 30 }, { "1073741824", 1u << 30 }, { "65537", 65537 },
	};
	struct ledgerd_config c;
	char text[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[ledger]\nkey_window = %s\n" GW1, ok[i].v);
		TH_LOG("key_window = %s", ok[i].v);
		load_ok(_metadata, text, &c);
		ASSERT_EQ(ok[i].want, c.key_window);
	}
}

/* Every spelling qkd-agent accepts for a boolean, on/off included. */
TEST(booleans)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	struct ledgerd_config c;
	char text[128];

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "[ledger]\nauto_register = %s\n" GW1, no[i]);
		load_ok(_metadata, text, &c);
		ASSERT_FALSE(c.auto_register);
		snprintf(text, sizeof(text), "[ledger]\nauto_register = %s\n" GW1, yes[i]);
		load_ok(_metadata, text, &c);
		ASSERT_TRUE(c.auto_register);
	}
}

/* sth_ms and ack_ms: a bare number is milliseconds; qkd-agent's units are
 * accepted too. */
TEST(durations)
{
	static const struct { const char *sth, *ack; uint32_t sth_ms, ack_ms; } ok[] = {
		{ "1", "0", 1, 0 }, { "3600000", "10000", 3600000, 10000 },
		{ "250ms", "5ms", 250, 5 }, { "2s", "10s", 2000, 10000 },
		{ "1min", "0s", 60000, 0 }, { "59m", "1s", 59u * 60000, 1000 },
		{ "1h", "0ms", 3600000, 0 }, { "0001000", "010", 1000, 10 },
	};
	struct ledgerd_config c;
	char text[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[ledger]\nsth_ms = %s\nack_ms = %s\n" GW1,
			 ok[i].sth, ok[i].ack);
		TH_LOG("sth_ms = %s, ack_ms = %s", ok[i].sth, ok[i].ack);
		load_ok(_metadata, text, &c);
		ASSERT_EQ(ok[i].sth_ms, c.sth_ms);
		ASSERT_EQ(ok[i].ack_ms, c.ack_ms);
	}
}

/* ... and refuse what qkd-agent's durations refuse. */
TEST(bad_durations)
{
	static const struct { const char *line, *want; } bad[] = {
		{ "ack_ms = 11s", "out of range 0ms..10s" },
		{ "ack_ms = 10001ms", "out of range 0ms..10s" },
		{ "sth_ms = 0s", "out of range 1ms..1h" },
		{ "sth_ms = 61min", "out of range 1ms..1h" },
		{ "sth_ms = 2h", "out of range 1ms..1h" },
		{ "sth_ms = 5sec", "unknown time unit \"sec\"" },
		{ "sth_ms = 5 s", "unknown time unit \" s\"" },
		{ "sth_ms = 5S", "unknown time unit \"S\"" },
		{ "ack_ms = 1.5s", "unknown time unit \".5s\"" },
		{ "ack_ms = s", "not a number" },
		{ "ack_ms = -5ms", "negative values are not allowed" },
		{ "ack_ms = 18446744073709551615h", "duration too large (overflows 64 bits)" },
		{ "sth_ms = 18446744073709551616ms", "number too large (overflows 64 bits)" },
	};
	char text[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[ledger]\n%s\n" GW1, bad[i].line);
		load_bad(_metadata, text, strlen(text), 2, bad[i].want);
	}
}

TEST(dump_round_trip)
{
	struct ledgerd_config a, b;
	char path[64], err[512], *text = NULL;
	size_t len = 0;
	FILE *f;

	load_ok(_metadata, full, &a);
	f = open_memstream(&text, &len);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, ledgerd_config_dump(&a, f));
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, load_text(_metadata, text, len, &b, err, sizeof(err), path));
	free(text);
	expect_full(_metadata, &b);
}

/* The example file loads, and every key is in it and in the man page. */
TEST(example_and_man_page)
{
	static const char *const keys[] = {
		"listen", "db", "key", "device", "auto_register", "sth_every",
		"sth_ms", "ack_every", "ack_ms", "log_level", "key_window",
		"link", "peer_link",
	};
	struct ledgerd_config c;
	char err[512], *man = NULL, *ex = NULL;
	size_t n = 0;
	FILE *f;

	ASSERT_EQ(0, ledgerd_config_load(QKD_LEDGERD_CONF_EXAMPLE, &c, err, sizeof(err)));
	ASSERT_EQ(1, c.ngw);
	ASSERT_EQ(7447, c.listen_port);
	f = fopen(QKD_LEDGERD_MAN, "r");
	ASSERT_NE(NULL, f);
	ASSERT_LT(0, getdelim(&man, &n, '\0', f));
	fclose(f);
	n = 0;
	f = fopen(QKD_LEDGERD_CONF_EXAMPLE, "r");
	ASSERT_NE(NULL, f);
	ASSERT_LT(0, getdelim(&ex, &n, '\0', f));
	fclose(f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "\n%s = ", keys[i]);
		TH_LOG("key %s", keys[i]);
		ASSERT_NE(NULL, strstr(ex, want));
		ASSERT_NE(NULL, strstr(man, keys[i]));
	}
	free(man);
	free(ex);
}

TEST(missing_file)
{
	struct ledgerd_config c;
	char err[512];

	ASSERT_EQ(-ENOENT, ledgerd_config_load("/nonexistent/qkd.conf", &c, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "/nonexistent/qkd.conf"));
}

BAD(no_gateway, "[ledger]\nack_ms = 5\n", 0, "no [gateway NAME] section")
BAD(empty_file, "", 0, "no [gateway NAME] section")
BAD(unknown_section, GW1 "[spool]\n", 3, "unknown section [spool]")
BAD(unknown_ledger_key, "[ledger]\nlisten_port = 1\n" GW1, 2, "\"listen_port\": unknown key")
BAD(unknown_gateway_key, GW1 "host = x\n", 3, "unknown key (known: link, peer_link)")
BAD(key_outside_section, "db = /x\n" GW1, 1, "outside any section")
BAD(duplicate_key, "[ledger]\nack_ms = 1\nack_ms = 2\n" GW1, 3, "set twice (first at line 2)")
BAD(duplicate_gw_key, GW1 "link = lnk1\n", 3, "set twice (first at line 2)")
BAD(duplicate_ledger, "[ledger]\n[ledger]\n" GW1, 2, "[ledger] appears twice")
BAD(duplicate_gateway, GW1 "[gateway gw1]\nlink = lnk1\n", 3, "appears twice (first at line 1)")
BAD(same_link, GW1 "[gateway gw2]\nlink = lnk0\npeer_link = other\n", 3,
    "link lnk0 is also gateway gw1's")
BAD(same_peer_link, "[gateway gw1]\nlink = a\npeer_link = p\n"
    "[gateway gw2]\nlink = b\npeer_link = p\n", 4, "peer_link p is also gateway gw1's")
BAD(peer_link_defaults_clash, "[gateway gw1]\nlink = a\npeer_link = b\n"
    "[gateway gw2]\nlink = b\n", 4, "peer_link b is also")
BAD(gateway_without_link, "[gateway gw1]\npeer_link = x\n", 1, "required key link missing")
BAD(gateway_without_name, "[gateway ]\nlink = a\n", 1, "a gateway name is 1-64")
BAD(gateway_bad_name, "[gateway a/b]\nlink = a\n", 1, "a gateway name is 1-64")
BAD(gateway_long_name, "[gateway "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\nlink = a\n",
    1, "a gateway name is 1-64")
BAD(link_too_long, "[gateway g]\nlink = abcdefghijklmnop\n", 2,
    "a link name longer than 15 characters")
BAD(link_bad_char, "[gateway g]\nlink = a b\n", 2,
    "a link name may hold only A-Z a-z 0-9 _ . -")
BAD(peer_link_bad_char, "[gateway g]\nlink = a\npeer_link = a:b\n", 3,
    "[gateway g] peer_link = \"a:b\": a link name may hold only")
BAD(empty_value, "[ledger]\ndb =\n" GW1, 2, "empty value")
BAD(relative_path, "[ledger]\ndb = ledger.db\n" GW1, 2, "not an absolute path")
BAD(bad_bool, "[ledger]\nauto_register = maybe\n" GW1, 2, "not a boolean")
BAD(bool_upper_case, "[ledger]\nauto_register = On\n" GW1, 2, "not a boolean (use yes or no)")
BAD(negative, "[ledger]\nack_every = -1\n" GW1, 2, "negative values are not allowed")
BAD(not_a_number, "[ledger]\nsth_every = many\n" GW1, 2, "not a number")
BAD(trailing_junk, "[ledger]\nsth_every = 10x\n" GW1, 2, "not a decimal integer")
BAD(sth_every_2_32, "[ledger]\nsth_every = 4294967296\n" GW1, 2, "out of range 1..1000000")
BAD(zero_ack_every, "[ledger]\nack_every = 0\n" GW1, 2, "out of range 1..4096")
BAD(huge_number, "[ledger]\nsth_ms = 99999999999999999999\n" GW1, 2, "number too large")
BAD(ack_ms_range, "[ledger]\nack_ms = 10001\n" GW1, 2, "out of range 0ms..10s")
BAD(key_window_small, "[ledger]\nkey_window = 4095\n" GW1, 2,
    "out of range 4K..1G (bytes)")
BAD(key_window_zero, "[ledger]\nkey_window = 0\n" GW1, 2, "out of range 4K..")
BAD(key_window_big, "[ledger]\nkey_window = 2G\n" GW1, 2, "out of range 4K..1G (bytes)")
BAD(key_window_big_bytes, "[ledger]\nkey_window = 1073741825\n" GW1, 2, "out of range")
BAD(key_window_2_32, "[ledger]\nkey_window = 4294967296K\n" GW1, 2,
    "out of range 4K..1G (bytes)")
BAD(key_window_overflow, "[ledger]\nkey_window = 17179869184G\n" GW1, 2,
    "size too large (overflows 64 bits)")
BAD(key_window_suffix, "[ledger]\nkey_window = 4MB\n" GW1, 2, "unknown size suffix")
BAD(key_window_lower_suffix, "[ledger]\nkey_window = 4m\n" GW1, 2, "unknown size suffix")
BAD(key_window_space, "[ledger]\nkey_window = 4 M\n" GW1, 2, "unknown size suffix")
BAD(key_window_negative, "[ledger]\nkey_window = -1\n" GW1, 2, "negative values are not allowed")
BAD(key_window_suffix_only, "[ledger]\nkey_window = M\n" GW1, 2, "not a size")
BAD(key_window_twice, "[ledger]\nkey_window = 1M\nkey_window = 2M\n" GW1, 3,
    "set twice (first at line 2)")
BAD(bad_level, "[ledger]\nlog_level = loud\n" GW1, 2, "not a log level")
BAD(listen_hostname, "[ledger]\nlisten = ledger.example:7447\n" GW1, 2,
    "not a numeric IPv4 or IPv6 address")
BAD(listen_port_zero, "[ledger]\nlisten = 0.0.0.0:0\n" GW1, 2, "out of range 1..65535")
BAD(listen_port_big, "[ledger]\nlisten = 0.0.0.0:65536\n" GW1, 2, "out of range 1..65535")
BAD(listen_port_text, "[ledger]\nlisten = 0.0.0.0:http\n" GW1, 2, "not a number")
BAD(listen_port_empty, "[ledger]\nlisten = 0.0.0.0:\n" GW1, 2, "empty value")
BAD(listen_port_junk, "[ledger]\nlisten = [::1]:80x\n" GW1, 2, "not a decimal integer")
BAD(listen_v6_unbracketed, "[ledger]\nlisten = ::1:7447\n" GW1, 2, "needs brackets")
BAD(listen_v6_junk, "[ledger]\nlisten = [::1]x\n" GW1, 2, "bad [IPv6]:PORT")
BAD(not_key_value, GW1 "just words\n", 3, "expected \"key = value\"")
BAD(header_unclosed, "[ledger\n" GW1, 1, "without ']'")
BAD(header_trailing, "[ledger] x\n" GW1, 1, "text after the section header")
BAD(control_char, "[ledger]\ndb = /a\x01" "b\n" GW1, 2, "control character 0x01")
BAD(nul_byte, "[ledger]\ndb = /a\0b\n" GW1, 2, "control character 0x00")
BAD(long_line, "[ledger]\ndb = /"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaa\n" GW1, 2, "line too long")

TEST_HARNESS_MAIN
