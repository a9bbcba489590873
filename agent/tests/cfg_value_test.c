// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the configuration value parsers that qkd-agent and
 * qkd-ledgerd share (agent/lib/cfg_value.c), on their own: every parser
 * with good and malformed input, the 2^32 and 2^64 edges, every suffix and
 * unit, the exact messages, and that nothing is stored on error. The
 * daemons' own tests (agent_config_test, ledgerd_config_test) check the
 * same parsers through whole files. Built twice: plain and with
 * -fsanitize=address,undefined.
 */
#define _GNU_SOURCE	/* the kselftest harness needs POSIX and GNU APIs */
#include <stdio.h>
#include <string.h>

#include "cfg_value.h"

#include "kselftest_harness.h"

#define U32_MAX		4294967295ull
#define U64_MAX		18446744073709551615ull
#define SENTINEL	0x5a5a5a5a5a5a5a5aull

/*
 * One value for a numeric parser: accepted as want when why is NULL, else
 * refused with exactly the message why. unit: cfg_parse_duration's unit
 * of a bare number (0: 1 ms).
 */
struct num_case {
	const char *v;
	uint64_t lo, hi;
	uint64_t want;
	const char *why;
	uint64_t unit;
};

/* Accepted as want, or refused with why; _U: a bare number counts unit. */
#define OK(v, lo, hi, want)		{ v, lo, hi, want, NULL, 0 }
#define NO(v, lo, hi, why)		{ v, lo, hi, 0, why, 0 }
#define OK_U(v, lo, hi, want, unit)	{ v, lo, hi, want, NULL, unit }
#define NO_U(v, lo, hi, why, unit)	{ v, lo, hi, 0, why, unit }

enum num_kind { UINT, SIZE, DURATION };

/* The messages that name the offending part of the value. */
#define SFX(s)		"unknown size suffix \"" s "\" (use K, M or G)"
#define UNIT(s)		"unknown time unit \"" s "\" (use ms, s, min or h)"
#define NUM_BIG		"number too large (overflows 64 bits)"
#define SIZE_BIG	"size too large (overflows 64 bits)"
#define DUR_BIG		"duration too large (overflows 64 bits)"

static void check_num(struct __test_metadata *_metadata, enum num_kind kind,
		      const struct num_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char why[CFG_WHY_SIZE] = "";
		uint64_t out = SENTINEL;
		const char *r;

		switch (kind) {
		case UINT:
			r = cfg_parse_uint(t[i].v, t[i].lo, t[i].hi, &out,
					   why, sizeof(why));
			break;
		case SIZE:
			r = cfg_parse_size(t[i].v, t[i].lo, t[i].hi, &out,
					   why, sizeof(why));
			break;
		default:
			r = cfg_parse_duration(t[i].v, t[i].unit ? t[i].unit : 1,
					       t[i].lo, t[i].hi, &out, why,
					       sizeof(why));
			break;
		}
		TH_LOG("\"%s\" in %llu..%llu: %s", t[i].v,
		       (unsigned long long)t[i].lo, (unsigned long long)t[i].hi,
		       r ? r : "ok");
		if (!t[i].why) {
			ASSERT_EQ(NULL, r);
			ASSERT_EQ(t[i].want, out);
		} else {
			ASSERT_NE(NULL, r);
			ASSERT_STREQ(t[i].why, r);
			ASSERT_EQ(SENTINEL, out);
		}
	}
}

/* ---- unsigned integers ---- */

TEST(uint_good)
{
	static const struct num_case t[] = {
		OK("0", 0, 10, 0),
		OK("7", 0, 10, 7),
		OK("007", 0, 10, 7),
		OK("1", 1, 65535, 1),
		OK("65535", 1, 65535, 65535),
		OK("4294967295", 0, U32_MAX, U32_MAX),
		OK("4294967296", 0, U64_MAX, U32_MAX + 1),
		OK("18446744073709551615", 0, U64_MAX, U64_MAX),
		OK("000000000000000000000000000042", 0, 64, 42),
	};

	check_num(_metadata, UINT, t, ARRAY_SIZE(t));
}

TEST(uint_bad)
{
	static const struct num_case t[] = {
		NO("", 0, 10, "empty value"),
		NO("abc", 0, 10, "not a number"),
		NO("+1", 0, 10, "not a number"),
		NO(" 1", 0, 10, "not a number"),
		NO("-1", 0, 10, "negative values are not allowed"),
		NO("-0", 0, 10, "negative values are not allowed"),
		NO("1 ", 0, 10, "not a decimal integer"),
		NO("0x10", 0, 100, "not a decimal integer"),
		NO("1.5", 0, 10, "not a decimal integer"),
		NO("1e3", 0, 10000, "not a decimal integer"),
		NO("5K", 0, 10000, "not a decimal integer"),
		NO("0", 1, 65535, "out of range 1..65535"),
		NO("65536", 1, 65535, "out of range 1..65535"),
		NO("65", 1, 64, "out of range 1..64"),
		NO("4294967296", 0, U32_MAX, "out of range 0..4294967295"),
		NO("18446744073709551616", 0, U64_MAX, NUM_BIG),
		NO("99999999999999999999999", 0, U64_MAX, NUM_BIG),
	};

	check_num(_metadata, UINT, t, ARRAY_SIZE(t));
}

/* ---- sizes ---- */

TEST(size_every_suffix)
{
	static const struct num_case t[] = {
		OK("3", 0, U64_MAX, 3),
		OK("3K", 0, U64_MAX, 3ull << 10),
		OK("3M", 0, U64_MAX, 3ull << 20),
		OK("3G", 0, U64_MAX, 3ull << 30),
		OK("3KiB", 0, U64_MAX, 3ull << 10),
		OK("3MiB", 0, U64_MAX, 3ull << 20),
		OK("3GiB", 0, U64_MAX, 3ull << 30),
		OK("0K", 0, U64_MAX, 0),
		OK("0065537", 0, U64_MAX, 65537),
		/* The bounds belong to the range. */
		OK("4K", 4096, 1ull << 30, 4096),
		OK("1G", 4096, 1ull << 30, 1ull << 30),
		OK("1073741824", 4096, 1ull << 30, 1ull << 30),
	};

	check_num(_metadata, SIZE, t, ARRAY_SIZE(t));
}

TEST(size_bad_suffix)
{
	static const struct num_case t[] = {
		NO("3k", 0, U64_MAX, SFX("k")),
		NO("3m", 0, U64_MAX, SFX("m")),
		NO("3g", 0, U64_MAX, SFX("g")),
		NO("3T", 0, U64_MAX, SFX("T")),
		NO("3B", 0, U64_MAX, SFX("B")),
		NO("3KB", 0, U64_MAX, SFX("KB")),
		NO("3MB", 0, U64_MAX, SFX("MB")),
		NO("3Ki", 0, U64_MAX, SFX("Ki")),
		NO("3KIB", 0, U64_MAX, SFX("KIB")),
		NO("3kib", 0, U64_MAX, SFX("kib")),
		NO("3KK", 0, U64_MAX, SFX("KK")),
		NO("3 K", 0, U64_MAX, SFX(" K")),
		NO("3K ", 0, U64_MAX, SFX("K ")),
		NO("1.5G", 0, U64_MAX, SFX(".5G")),
		NO("3\tK", 0, U64_MAX, SFX("\\x09K")),
	};

	check_num(_metadata, SIZE, t, ARRAY_SIZE(t));
}

TEST(size_bad_number)
{
	static const char nas[] = "not a size (bytes, or with a suffix K, M or G)";
	static const struct num_case t[] = {
		NO("", 0, U64_MAX, "empty value"),
		NO("K", 0, U64_MAX, nas),
		NO("KiB", 0, U64_MAX, nas),
		NO(" 3K", 0, U64_MAX, nas),
		NO("+3K", 0, U64_MAX, nas),
		NO("big", 0, U64_MAX, nas),
		NO("-1", 0, U64_MAX, "negative values are not allowed"),
		NO("-1M", 0, U64_MAX, "negative values are not allowed"),
	};

	check_num(_metadata, SIZE, t, ARRAY_SIZE(t));
}

TEST(size_range)
{
	static const struct num_case t[] = {
		NO("4095", 4096, 1ull << 30, "out of range 4K..1G (bytes)"),
		NO("0", 4096, 1ull << 30, "out of range 4K..1G (bytes)"),
		NO("1073741825", 4096, 1ull << 30, "out of range 4K..1G (bytes)"),
		NO("2G", 4096, 1ull << 30, "out of range 4K..1G (bytes)"),
		NO("1025M", 4096, 1ull << 30, "out of range 4K..1G (bytes)"),
		NO("64K", 65680, 1024ull << 30, "out of range 65680..1024G (bytes)"),
		NO("65537", 1, 65536, "out of range 1..64K (bytes)"),
	};

	check_num(_metadata, SIZE, t, ARRAY_SIZE(t));
}

/*
 * Multiplying by the suffix must not wrap: the last value that fits in
 * 64 bits, and the first that does not, for every unit.
 */
TEST(size_edges_2_32_and_2_64)
{
	static const struct num_case t[] = {
		OK("4294967295", 0, U32_MAX, U32_MAX),
		NO("4294967296", 0, U32_MAX, "out of range 0..4294967295 (bytes)"),
		NO("4G", 0, U32_MAX, "out of range 0..4294967295 (bytes)"),
		NO("4194304K", 0, U32_MAX, "out of range 0..4294967295 (bytes)"),
		NO("4294967296K", 4096, 1ull << 30, "out of range 4K..1G (bytes)"),
		OK("4G", 0, U64_MAX, 4ull << 30),
		OK("18446744073709551615", 0, U64_MAX, U64_MAX),
		NO("18446744073709551616", 0, U64_MAX, NUM_BIG),
		OK("18014398509481983K", 0, U64_MAX, U64_MAX - 1023),
		NO("18014398509481984K", 0, U64_MAX, SIZE_BIG),
		NO("18014398509481984KiB", 0, U64_MAX, SIZE_BIG),
		OK("17592186044415M", 0, U64_MAX, (17592186044415ull << 20)),
		NO("17592186044416M", 0, U64_MAX, SIZE_BIG),
		OK("17179869183G", 0, U64_MAX, (17179869183ull << 30)),
		NO("17179869184G", 0, U64_MAX, SIZE_BIG),
		NO("17179869184GiB", 0, U64_MAX, SIZE_BIG),
	};

	check_num(_metadata, SIZE, t, ARRAY_SIZE(t));
}

/* ---- durations ---- */

#define S	1000ull
#define MIN	(60 * S)
#define H	(60 * MIN)

TEST(duration_every_unit)
{
	static const struct num_case t[] = {
		OK("5ms", 0, U64_MAX, 5),
		OK("5s", 0, U64_MAX, 5 * S),
		OK("5min", 0, U64_MAX, 5 * MIN),
		OK("5m", 0, U64_MAX, 5 * MIN),
		OK("5h", 0, U64_MAX, 5 * H),
		OK("0ms", 0, U64_MAX, 0),
		/* A bare number counts in the key's unit. */
		OK("5", 0, U64_MAX, 5),
		OK_U("5", 0, U64_MAX, 5 * S, S),
		OK_U("5", 0, U64_MAX, 5 * MIN, MIN),
		OK_U("5ms", 0, U64_MAX, 5, S),
		/* The bounds belong to the range. */
		OK("100ms", 100, 5 * MIN, 100),
		OK("300s", 100, 5 * MIN, 5 * MIN),
		OK("1h", 1, 3600000, 3600000),
		OK("10000", 0, 10000, 10000),
	};

	check_num(_metadata, DURATION, t, ARRAY_SIZE(t));
}

TEST(duration_bad)
{
	static const struct num_case t[] = {
		NO("", 0, U64_MAX, "empty value"),
		NO("s", 0, U64_MAX, "not a number"),
		NO(" 5s", 0, U64_MAX, "not a number"),
		NO("-5s", 0, U64_MAX, "negative values are not allowed"),
		NO("5sec", 0, U64_MAX, UNIT("sec")),
		NO("5S", 0, U64_MAX, UNIT("S")),
		NO("5M", 0, U64_MAX, UNIT("M")),
		NO("5H", 0, U64_MAX, UNIT("H")),
		NO("5d", 0, U64_MAX, UNIT("d")),
		NO("5us", 0, U64_MAX, UNIT("us")),
		NO("5 s", 0, U64_MAX, UNIT(" s")),
		NO("5s ", 0, U64_MAX, UNIT("s ")),
		NO("1.5s", 0, U64_MAX, UNIT(".5s")),
		NO("99ms", 100, 5 * MIN, "out of range 100ms..5min"),
		NO("300001ms", 100, 5 * MIN, "out of range 100ms..5min"),
		NO("2h", 10, H, "out of range 10ms..1h"),
		NO("10001", 0, 10000, "out of range 0ms..10s"),
		NO("0", 1, 3600000, "out of range 1ms..1h"),
		NO_U("4", 5 * S, 65535 * S, "out of range 5s..65535s", S),
	};

	check_num(_metadata, DURATION, t, ARRAY_SIZE(t));
}

TEST(duration_edges_2_32_and_2_64)
{
	static const struct num_case t[] = {
		OK("4294967295ms", 0, U32_MAX, U32_MAX),
		NO("4294967296", 0, U32_MAX, "out of range 0ms..4294967295ms"),
		OK("18446744073709551615ms", 0, U64_MAX, U64_MAX),
		NO("18446744073709551616ms", 0, U64_MAX, NUM_BIG),
		OK("18446744073709551s", 0, U64_MAX, 18446744073709551ull * S),
		NO("18446744073709552s", 0, U64_MAX, DUR_BIG),
		OK("307445734561825min", 0, U64_MAX, 307445734561825ull * MIN),
		NO("307445734561826min", 0, U64_MAX, DUR_BIG),
		NO("307445734561826m", 0, U64_MAX, DUR_BIG),
		OK("5124095576030h", 0, U64_MAX, 5124095576030ull * H),
		NO("5124095576031h", 0, U64_MAX, DUR_BIG),
		NO("18446744073709551615h", 0, U64_MAX, DUR_BIG),
		/* A bare number times its unit overflows the same way. */
		NO_U("18446744073709552", 0, U64_MAX, DUR_BIG, S),
	};

	check_num(_metadata, DURATION, t, ARRAY_SIZE(t));
}

/* ---- booleans ---- */

TEST(bool_every_spelling)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	bool b;

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		b = false;
		ASSERT_EQ(NULL, cfg_parse_bool(yes[i], &b)) TH_LOG("%s", yes[i]);
		ASSERT_TRUE(b);
		b = true;
		ASSERT_EQ(NULL, cfg_parse_bool(no[i], &b)) TH_LOG("%s", no[i]);
		ASSERT_FALSE(b);
	}
}

TEST(bool_bad)
{
	static const char *const bad[] = {
		"", "YES", "Yes", "TRUE", "True", "ON", "Off", "y", "n", "t",
		"f", "2", "01", "00", "-1", "yes ", " yes", "no\t", "enable",
		"enabled", "disabled", "nope", "yess", "of", "onn",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		bool b = true;

		TH_LOG("\"%s\"", bad[i]);
		ASSERT_STREQ("not a boolean (use yes or no)",
			     cfg_parse_bool(bad[i], &b));
		ASSERT_TRUE(b);
		b = false;
		ASSERT_NE(NULL, cfg_parse_bool(bad[i], &b));
		ASSERT_FALSE(b);
	}
}

/* ---- paths ---- */

TEST(path)
{
	static const char *const relative[] = {
		"", "var/lib", "./x", "~/x", " /x", "qkdkey",
		"aaaaaaaaaa",	/* too long as well: the first problem wins */
	};
	char why[CFG_WHY_SIZE], sock[120];

	ASSERT_EQ(NULL, cfg_check_path("/", 8, why, sizeof(why)));
	ASSERT_EQ(NULL, cfg_check_path("/dev/qkdkey", 192, why, sizeof(why)));
	ASSERT_EQ(NULL, cfg_check_path("/a b/c", 192, why, sizeof(why)));
	/* A tab is the caller's business (qkd-agent refuses it). */
	ASSERT_EQ(NULL, cfg_check_path("/a\tb", 192, why, sizeof(why)));
	/* Exactly size - 1 bytes fit; one more does not. */
	ASSERT_EQ(NULL, cfg_check_path("/234567", 8, why, sizeof(why)));
	ASSERT_STREQ("path longer than 7 bytes",
		     cfg_check_path("/2345678", 8, why, sizeof(why)));
	/* A Unix socket path: sun_path holds 107 bytes and the NUL. */
	memset(sock, 'a', sizeof(sock));
	sock[0] = '/';
	sock[107] = '\0';
	ASSERT_EQ(NULL, cfg_check_path(sock, 108, why, sizeof(why)));
	sock[107] = 'a';
	sock[108] = '\0';
	ASSERT_STREQ("path longer than 107 bytes",
		     cfg_check_path(sock, 108, why, sizeof(why)));
	for (size_t i = 0; i < ARRAY_SIZE(relative); i++) {
		TH_LOG("\"%s\"", relative[i]);
		ASSERT_STREQ("not an absolute path",
			     cfg_check_path(relative[i], 8, why, sizeof(why)));
	}
}

/* ---- names ---- */

TEST(name_char_set)
{
	size_t n = 0;

	for (int ch = -128; ch < 128; ch++) {
		bool want = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
			    ch == '-';

		ASSERT_EQ(want, cfg_name_char((char)ch)) TH_LOG("byte %d", ch);
		n += want;
	}
	ASSERT_EQ(65, n);
}

TEST(name_ok)
{
	char gw[66];

	ASSERT_TRUE(cfg_name_ok("a", 15));
	ASSERT_TRUE(cfg_name_ok("gw-1.a_B9", 15));
	ASSERT_TRUE(cfg_name_ok("abcdefghijklmno", 15));	/* 15 */
	ASSERT_FALSE(cfg_name_ok("abcdefghijklmnop", 15));	/* 16 */
	ASSERT_FALSE(cfg_name_ok("", 15));
	ASSERT_FALSE(cfg_name_ok("a b", 15));
	ASSERT_FALSE(cfg_name_ok("a/b", 15));
	ASSERT_FALSE(cfg_name_ok("a:b", 15));
	ASSERT_FALSE(cfg_name_ok("a\tb", 15));
	ASSERT_FALSE(cfg_name_ok("caf\xc3\xa9", 15));
	/* A gateway name: 64 fit, 65 do not. */
	memset(gw, 'a', 64);
	gw[64] = '\0';
	ASSERT_TRUE(cfg_name_ok(gw, 64));
	gw[64] = 'a';
	gw[65] = '\0';
	ASSERT_FALSE(cfg_name_ok(gw, 64));
}

TEST(check_name)
{
	char why[CFG_WHY_SIZE], id[80];

	ASSERT_EQ(NULL, cfg_check_name("lnk0", 15, "a link name", why,
				       sizeof(why)));
	ASSERT_EQ(NULL, cfg_check_name("abcdefghijklmno", 15, "a link name",
				       why, sizeof(why)));
	ASSERT_STREQ("a link name longer than 15 characters",
		     cfg_check_name("abcdefghijklmnop", 15, "a link name", why,
				    sizeof(why)));
	ASSERT_STREQ("a link name may hold only A-Z a-z 0-9 _ . -",
		     cfg_check_name("my link", 15, "a link name", why,
				    sizeof(why)));
	/* A bad character is named first, whatever the length. */
	memset(id, 'b', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	ASSERT_STREQ("a client id longer than 64 characters",
		     cfg_check_name(id, 64, "a client id", why, sizeof(why)));
	id[1] = '/';
	ASSERT_STREQ("a client id may hold only A-Z a-z 0-9 _ . -",
		     cfg_check_name(id, 64, "a client id", why, sizeof(why)));
	ASSERT_STREQ("a link name may not be empty",
		     cfg_check_name("", 15, "a link name", why, sizeof(why)));
}

/* ---- strings ---- */

TEST(set_str)
{
	char dst[4];

	memset(dst, 'x', sizeof(dst));
	ASSERT_TRUE(cfg_set_str(dst, sizeof(dst), "abc"));
	ASSERT_STREQ("abc", dst);
	ASSERT_FALSE(cfg_set_str(dst, sizeof(dst), "wxyz"));
	ASSERT_STREQ("abc", dst);	/* untouched */
	ASSERT_TRUE(cfg_set_str(dst, sizeof(dst), ""));
	ASSERT_STREQ("", dst);
	ASSERT_FALSE(cfg_set_str(dst, 0, ""));
}

TEST(quote)
{
	char q[CFG_QUOTE_SIZE], in[200];

	ASSERT_STREQ("\"\"", cfg_quote(q, ""));
	ASSERT_STREQ("\"lnk0\"", cfg_quote(q, "lnk0"));
	ASSERT_STREQ("\"a\\\"b\\\\c\"", cfg_quote(q, "a\"b\\c"));
	ASSERT_STREQ("\"\\x09\\x1b\\x7f\\xff\"", cfg_quote(q, "\t\x1b\x7f\xff"));
	ASSERT_STREQ("\"a\\x00b\"", cfg_quote_n(q, "a\0b", 3));

	/* CFG_QUOTE_MAX bytes are shown whole, one more is cut. */
	memset(in, 'a', CFG_QUOTE_MAX);
	in[CFG_QUOTE_MAX] = '\0';
	ASSERT_EQ(CFG_QUOTE_MAX + 2, strlen(cfg_quote(q, in)));
	ASSERT_EQ(NULL, strstr(q, "..."));
	in[CFG_QUOTE_MAX] = 'b';
	in[CFG_QUOTE_MAX + 1] = '\0';
	ASSERT_EQ(CFG_QUOTE_MAX + 5, strlen(cfg_quote(q, in)));
	ASSERT_EQ(NULL, strchr(q, 'b'));
	ASSERT_STREQ("...\"", q + CFG_QUOTE_MAX + 1);

	/* The worst case fits the buffer. */
	memset(in, 0xff, sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	ASSERT_EQ(4 * CFG_QUOTE_MAX + 5, strlen(cfg_quote(q, in)));
	ASSERT_GT(CFG_QUOTE_SIZE, strlen(q));
}

/* ---- formatting, and reading the text back ---- */

TEST(fmt_size)
{
	static const struct { uint64_t v; const char *s; } t[] = {
		{ 0, "0" }, { 1, "1" }, { 1023, "1023" }, { 1024, "1K" },
		{ 1536, "1536" }, { 65537, "65537" }, { 65680, "65680" },
		{ 1025 << 10, "1025K" }, { 1 << 20, "1M" }, { 4 << 20, "4M" },
		{ 1ull << 30, "1G" }, { 1024ull << 30, "1024G" },
		{ U32_MAX, "4294967295" }, { U64_MAX, "18446744073709551615" },
		{ U64_MAX - 1023, "18014398509481983K" },
	};
	char buf[32], why[CFG_WHY_SIZE];
	uint64_t back;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		ASSERT_STREQ(t[i].s, cfg_fmt_size(buf, sizeof(buf), t[i].v));
		ASSERT_EQ(NULL, cfg_parse_size(buf, 0, U64_MAX, &back, why,
					       sizeof(why)));
		ASSERT_EQ(t[i].v, back);
	}
}

TEST(fmt_duration)
{
	static const struct { uint64_t ms; const char *s; } t[] = {
		{ 0, "0ms" }, { 1, "1ms" }, { 500, "500ms" }, { 1500, "1500ms" },
		{ 5 * S, "5s" }, { 90 * S, "90s" }, { 2 * MIN, "2min" },
		{ 90 * MIN, "90min" }, { H, "1h" }, { 24 * H, "24h" },
		{ U32_MAX, "4294967295ms" },
	};
	char buf[32], why[CFG_WHY_SIZE];
	uint64_t back;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		ASSERT_STREQ(t[i].s, cfg_fmt_duration(buf, sizeof(buf), t[i].ms));
		/* Whatever the unit of a bare number: the text names one. */
		ASSERT_EQ(NULL, cfg_parse_duration(buf, S, 0, U64_MAX, &back,
						   why, sizeof(why)));
		ASSERT_EQ(t[i].ms, back);
	}
}

/* A message cut to a small buffer stays a terminated string. */
TEST(small_why_buffer)
{
	char why[8];
	uint64_t out = SENTINEL;

	memset(why, 'x', sizeof(why));
	ASSERT_EQ(&why[0], cfg_parse_uint("0", 1, 64, &out, why, sizeof(why)));
	ASSERT_STREQ("out of ", why);
	ASSERT_EQ(SENTINEL, out);
}

TEST_HARNESS_MAIN
