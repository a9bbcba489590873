#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# qkdctl command-line tests on the host, without the module: help, version,
# usage errors (exit 2, message naming the bad word) and how values are
# understood, checked with --dry-run, which prints the netlink request
# instead of sending it. Nothing here talks to the kernel: every command
# either fails in argument parsing or runs with --dry-run.
#
#   selftests/host/qkdctl_cli_test.sh      (QKDCTL=path overrides the binary)
#
# Prints "ok N - ..." / "not ok N - ..." and "N passed, N failed".

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
q=${QKDCTL:-$top/build/agent/qkdctl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 passed=0 failed=0

ok() {
	n=$((n + 1)) passed=$((passed + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for line in "$@"; do
		echo "#   $line"
	done
}

# run ARGS...: runs qkdctl with stdin from $stdin (default /dev/null);
# sets rc, out, err.
stdin=/dev/null
run() {
	"$q" "$@" <"$stdin" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# usage DESC WORD ARGS...: exit status 2 and a message on stderr naming WORD
usage() {
	local desc=$1 word=$2
	shift 2
	run "$@"
	if [ "$rc" -eq 2 ] && grep -qF -- "$word" <<<"$err" && [ -z "$out" ]; then
		ok "$desc"
	else
		not_ok "$desc" "qkdctl $*" "exit $rc (want 2), stderr: $err" "stdout: $out"
	fi
}

# dry DESC LINE ARGS...: --dry-run exits 0 and prints the exact line LINE
dry() {
	local desc=$1 line=$2
	shift 2
	run --dry-run "$@"
	if [ "$rc" -eq 0 ] && grep -qxF -- "$line" <<<"$out"; then
		ok "$desc"
	else
		not_ok "$desc" "qkdctl --dry-run $*" "exit $rc, want line '$line'" \
			"stdout: $out" "stderr: $err"
	fi
}

if [ ! -x "$q" ]; then
	not_ok "qkdctl is built ($q)"
	echo "$passed passed, $failed failed"
	exit 1
fi

# ---- help, version -----------------------------------------------------------
run -h
if [ "$rc" -eq 0 ] && grep -q '^Usage: qkdctl' <<<"$out" && [ -z "$err" ]; then
	ok "-h prints usage to stdout, exit 0"
else
	not_ok "-h prints usage to stdout, exit 0" "exit $rc" "stdout: $out" "stderr: $err"
fi
run --help
if [ "$rc" -eq 0 ] && grep -q 'link add NAME type sim' <<<"$out"; then
	ok "--help lists the commands"
else
	not_ok "--help lists the commands" "exit $rc" "stdout: $out"
fi
run -V
if [ "$rc" -eq 0 ] && grep -qE '^qkdctl [0-9]' <<<"$out"; then
	ok "-V prints the version"
else
	not_ok "-V prints the version" "exit $rc" "stdout: $out"
fi

# ---- usage errors ------------------------------------------------------------
usage "no arguments" "missing object"
usage "unknown object" "'frob'" frob
usage "unknown link command" "'frob'" link frob
usage "unknown key command" "'frob'" key frob
usage "key without command" "missing command" key
usage "unknown option" "'--bogus'" --bogus link show
usage "unknown short option" "'-x'" -x link show
usage "-d without a path" "'-d'" -d
usage "link show: two names" "'b'" link show a b
usage "link show: bad name" "'bad/name'" link show bad/name
usage "link add: no name" "missing link name" link add
usage "link add: name too long" "'sixteen-chars-xx'" link add sixteen-chars-xx type user
usage "link add: no type" "missing 'type" link add a
usage "link add: sim without peer" "peer" link add a type sim
usage "link add: unknown keyword" "'colour'" link add a type sim peer b colour red
usage "link add: keyword without value" "'qber' needs a value" link add a type sim peer b qber
usage "link add: keyword twice" "'pool' given twice" link add a type user pool 8K pool 16K
usage "link add: eve on a user link" "'eve'" link add a type user eve 1%
usage "link add: seed on a user link" "'seed'" link add a type user \
	seed 0000000000000000000000000000000000000000000000000000000000000000
usage "link add: epoch on a sim link" "'epoch'" link add a type sim peer b epoch 3
usage "link add: bad peer name" "'b b'" link add a type sim peer "b b"
usage "link add: qber 101% is out of range" "'101%'" link add a type sim peer b qber 101%
usage "link add: qber 1000001 ppm is out of range" "'1000001'" link add a type sim peer b qber 1000001
usage "link add: qber finer than 1 ppm" "'11.00001%'" link add a type sim peer b qber 11.00001%
usage "link add: negative qber" "'-1'" link add a type sim peer b qber -1
usage "link add: qber 'abc'" "'abc'" link add a type sim peer b qber abc
usage "link add: threshold '%'" "'%'" link add a type sim peer b threshold %
usage "link add: pool with a bad suffix" "'5X'" link add a type user pool 5X
usage "link add: pool 4G overflows u32" "'4G'" link add a type user pool 4G
usage "link add: pool below 4096" "'1K'" link add a type user pool 1K
usage "link add: pool above 256M" "'257M'" link add a type user pool 257M
usage "link set: pool 0" "'0'" link set a pool 0
usage "link add: pool with a sign" "'+5'" link add a type user pool +5
usage "link add: rate with a fraction" "'1.5M'" link add a type sim peer b rate 1.5M
usage "link add: epoch overflows u64" "'18446744073709551616'" \
	link add a type user epoch 18446744073709551616
usage "link add: seed of 63 hex digits" "seed" link add a type sim peer b \
	seed 000000000000000000000000000000000000000000000000000000000000000
usage "link add: seed of 65 hex digits" "seed" link add a type sim peer b \
	seed 00000000000000000000000000000000000000000000000000000000000000000
usage "link add: seed with a non-hex digit" "seed" link add a type sim peer b \
	seed 000000000000000000000000000000000000000000000000000000000000000g
usage "link del: no name" "missing link name" link del
usage "link del: extra argument" "'b'" link del a b
usage "link set: no name" "missing link name" link set
usage "link set: nothing to change" "nothing to change" link set a
usage "link set: up and down" "'up' and 'down'" link set a up down
usage "link set: eve on a user link" "'eve'" link set a type user eve 1%
usage "link set: key-rate on a sim link" "'key-rate'" link set a type sim key-rate 1K
usage "link set: --dry-run qber needs the kind" "'qber'" --dry-run link set a qber 3%
usage "link set: bad threshold" "'eleven'" link set a threshold eleven
usage "key read: LEN 0" "'0'" key read 0
usage "key read: LEN 70000" "'70000'" key read 70000
usage "key read: LEN missing" "LEN" key read
usage "key read: LEN not a number" "'12ab'" key read sim0a tx 12ab
usage "key read: rx without --offset" "--offset" key read sim0b rx 16
usage "key read: bad --offset" "'x1'" key read sim0b rx --offset x1 16
usage "key read: too many arguments" "'extra'" key read sim0a tx 16 extra
usage "key read: unknown option" "'--bogus'" key read --bogus 16
usage "key push: no arguments" "missing link name" key push
usage "key push: missing offset" "missing offset" key push u0 tx 1
usage "key push: bad direction" "'up'" key push u0 up 1 0
usage "key push: bad epoch" "'e1'" key push u0 tx e1 0
usage "key push: bad offset" "'-4'" key push u0 tx 1 -4
usage "key push: extra argument" "'more'" key push u0 tx 1 0 more
usage "monitor: extra argument" "'x'" monitor x

# ---- values, as the kernel would receive them --------------------------------
dry "qber 11% is 110000 ppm" "    QBER 110000" link add a type sim peer b qber 11%
dry "qber 2.5% is 25000 ppm" "    QBER 25000" link add a type sim peer b qber 2.5%
dry "qber 0.0001% is 1 ppm" "    QBER 1" link add a type sim peer b qber 0.0001%
dry "qber 100% is 1000000 ppm" "    QBER 1000000" link add a type sim peer b qber 100%
dry "a raw ppm qber is kept" "    QBER 110000" link add a type sim peer b qber 110000
dry "eve 60% goes in LINK_SIM" "    EVE 600000" link add a type sim peer b eve 60%
dry "threshold 11.5% is LINK_QBER_THRESHOLD 115000" "  LINK_QBER_THRESHOLD 115000" \
	link add a type user threshold 11.5%
dry "pool 1M is 1048576" "  LINK_POOL_LIMIT 1048576" link add a type user pool 1M
dry "pool 64KiB is 65536" "  LINK_POOL_LIMIT 65536" link add a type user pool 64KiB
dry "pool 256M is the maximum" "  LINK_POOL_LIMIT 268435456" link add a type user pool 256M
dry "pool 0x1000 is 4096" "  LINK_POOL_LIMIT 4096" link add a type user pool 0x1000
dry "watermark 3k is 3072" "  LINK_LOW_WATERMARK 3072" link add a type user watermark 3k
dry "rate 2G fits u32" "    RATE 2147483648" link add a type sim peer b rate 2G
dry "epoch 010 is decimal" "  LINK_EPOCH 10" link add a type user epoch 010
dry "epoch 0x10 is 16" "  LINK_EPOCH 16" link add a type user epoch 0x10
dry "link add sends LINK_KIND" '  LINK_KIND "sim"' link add a type sim peer b
dry "link add sends LINK_PEER" '  LINK_PEER "b"' link add a type sim peer b
dry "a valid seed is sent, not shown" "    SEED <32 bytes, not shown>" link add a type sim peer b \
	seed 00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF
run --dry-run link add a type sim peer b seed 00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF
if ! grep -qi '00112233' <<<"$out$err"; then
	ok "the seed never appears in the output"
else
	not_ok "the seed never appears in the output" "$out"
fi
dry "link set sim: qber goes in LINK_SIM" "    QBER 30000" link set a type sim qber 3%
dry "link set user: qber is LINK_QBER" "  LINK_QBER 30000" link set a type user qber 3%
dry "link set user: key-rate is LINK_KEY_RATE" "  LINK_KEY_RATE 2048" link set a type user key-rate 2K
dry "link set user: epoch is LINK_EPOCH" "  LINK_EPOCH 9" link set a type user epoch 9
dry "link set up is LINK_ADMIN_UP 1" "  LINK_ADMIN_UP 1" link set a up
dry "link set down is LINK_ADMIN_UP 0" "  LINK_ADMIN_UP 0" link set a down
dry "link set default is LINK_DEFAULT" "  LINK_DEFAULT" link set a default
dry "link set pool without a kind" "  LINK_POOL_LIMIT 8192" link set a pool 8K
dry "link show NAME is a LINK_GET do" "request LINK_GET ack" link show sim0a
dry "link show is a LINK_GET dump" "request LINK_GET dump" link show
dry "-j after the command is accepted" "request LINK_GET dump" link show -j
dry "link del is LINK_DEL" "request LINK_DEL ack" link del sim0a
dry "key read TX" "read 16 key bytes" key read sim0a tx 16
dry "key read RX at an offset" "pread 16 key bytes at offset 4096" key read sim0b rx --offset 4096 16
dry "monitor joins the monitor group" 'join multicast group "monitor" of family "qkdkey"' monitor

# key push: chunks of at most 32768 bytes with increasing offsets
head -c 70000 /dev/zero | tr '\0' 'K' >"$tmp/key"
stdin=$tmp/key
run --dry-run key push u0 rx 3 100
stdin=/dev/null
offsets=$(grep '^  KEY_OFFSET ' <<<"$out" | awk '{print $2}' | tr '\n' ' ')
lens=$(grep '^  KEY_DATA ' <<<"$out" | tr -dc '0-9 \n' | awk '{print $1}' | tr '\n' ' ')
if [ "$rc" -eq 0 ] && [ "$offsets" = "100 32868 65636 " ] && [ "$lens" = "32768 32768 4464 " ]; then
	ok "key push splits 70000 bytes into 32768+32768+4464 at offsets 100, 32868, 65636"
else
	not_ok "key push splits 70000 bytes into 32768+32768+4464" "exit $rc" \
		"offsets: $offsets" "lengths: $lens"
fi
if ! grep -q 'KKKK' <<<"$out$err" && ! grep -qi '4b4b4b4b' <<<"$out$err"; then
	ok "key push never prints key bytes"
else
	not_ok "key push never prints key bytes"
fi
printf 'abc' >"$tmp/key3"
stdin=$tmp/key3
dry "key push of 3 bytes sends KEY_DIR 0 for tx" "  KEY_DIR 0" key push u0 tx 1 0
stdin=/dev/null
run --dry-run key push u0 tx 1 0
if [ "$rc" -eq 1 ] && grep -q 'stdin' <<<"$err"; then
	ok "key push of empty input fails (exit 1)"
else
	not_ok "key push of empty input fails (exit 1)" "exit $rc, stderr: $err"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
