#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# qkd-ledger end to end on a ledger written by build/host/ledger-fixture:
# help and usage errors, exit statuses, well-formed JSON, proofs that
# verify, device trust beside the data, and verify catching tampering
# (an SQL UPDATE, a raw byte on disk, a deleted entry, a forged head).
# Needs `make userspace host-tests` first. Prints TAP lines and a closing
# "N passed, N failed".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
Q=$top/build/agent/qkd-ledger
FIX=$top/build/host/ledger-fixture
pass=0 fail=0 n=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qkd-ledger-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

ok() {	# ok CONDITION-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"; pass=$((pass + 1))
	else
		echo "not ok $n - $2"; fail=$((fail + 1))
	fi
}
status() {	# status WANT DESCRIPTION -- COMMAND...
	local want=$1 desc=$2 got
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || { echo "# $desc: exit $got, want $want"; sed 's/^/# /' "$tmp/err" | head -5; }
	ok $(( got != want )) "$desc (exit $want)"
}
json() { python3 -m json.tool "$tmp/out" >/dev/null 2>&1; }
sql() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit(); c.close()' "$@"; }

if [ ! -x "$Q" ] || [ ! -x "$FIX" ]; then
	echo "not ok 1 - build qkd-ledger and ledger-fixture first (make userspace host-tests)"
	echo "0 passed, 1 failed"
	exit 1
fi

db=$tmp/l.db key=$tmp/l.key
"$FIX" "$db" "$key" 12
ok $? "fixture ledger written"
L=("$Q" -d "$db")

# Help and usage errors.
status 0 "-h" -- "$Q" -h
grep -q '^usage: qkd-ledger' "$tmp/out"; ok $? "-h prints the usage on stdout"
for c in show verify tree-head "proof" "device"; do
	status 0 "$c -h" -- "${L[@]}" $c -h
done
status 2 "no command" -- "$Q"
status 2 "unknown command" -- "${L[@]}" frobnicate
status 2 "unknown option" -- "${L[@]}" show --bogus
status 2 "show --from not a number" -- "${L[@]}" show --from x1
status 2 "show --gateway with a bad name" -- "${L[@]}" show --gateway 'a b'
status 2 "proof without a kind" -- "${L[@]}" proof
status 2 "proof inclusion without N" -- "${L[@]}" proof inclusion
status 2 "proof consistency with one size" -- "${L[@]}" proof consistency 3
status 2 "device add with a bad gateway" -- "${L[@]}" device add 'x/y' d1
status 2 "device add with a 65-byte id" -- "${L[@]}" device add gw1 "$(printf 'd%.0s' {1..65})"
status 2 "missing ledger file" -- "$Q" -d "$tmp/none.db" verify
grep -q 'cannot open ledger' "$tmp/err"; ok $? "missing ledger: clear message"

# Reading.
status 0 "verify a clean ledger" -- "${L[@]}" verify
grep -q '^ledger OK: 14 entries' "$tmp/out"; ok $? "14 entries (12 records, 2 events)"
status 0 "verify -j" -- "${L[@]}" verify -j
json && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["ok"] and d["entries"]==14))' "$tmp/out"
ok $? "verify -j: well-formed, ok true"
status 0 "show -j" -- "${L[@]}" show -j
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(len(d)!=14 or d[3]["payload"]!=b"PAYLOAD#000003#sensor-1#".hex())' "$tmp/out"
ok $? "show -j: 14 entries, payloads in hex"
status 0 "show filtered" -- "${L[@]}" show -j --gateway gw2 --device sensor-2
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not d or any(e["gateway"]!="gw2" or e["device"]!="sensor-2" for e in d))' "$tmp/out"
ok $? "--gateway gw2 --device sensor-2 shows only those"
status 0 "show --events" -- "${L[@]}" show --events -j
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit([e["kind"] for e in d]!=["BAD_TAG","INTEGRITY"])' "$tmp/out"
ok $? "--events: BAD_TAG and INTEGRITY"
status 0 "show --from 2 --count 3" -- "${L[@]}" show --from 2 --count 3
[ "$(cut -d' ' -f1 "$tmp/out" | tr '\n' ' ')" = "2 3 4 " ]; ok $? "--from/--count window"

# Proofs.
bad=0
for i in $(seq 0 13); do
	"${L[@]}" proof inclusion "$i" -j >"$tmp/out" 2>&1 || bad=1
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not d["verified"] or d["tree_head"]!="verified")' "$tmp/out" || bad=1
done
ok $bad "inclusion proofs of all 14 entries verify against the signed head"
status 0 "proof inclusion 2 --size 8 (a signed size)" -- "${L[@]}" proof inclusion 2 --size 8
grep -q 'tree_head: verified' "$tmp/out"; ok $? "and the head of size 8 verifies"
status 2 "proof inclusion beyond the tree" -- "${L[@]}" proof inclusion 14
status 0 "proof consistency 4 14" -- "${L[@]}" proof consistency 4 14 -j
json; ok $? "consistency -j well-formed"
status 2 "proof consistency backwards" -- "${L[@]}" proof consistency 9 5

# Tree head and key pinning.
status 0 "tree-head -j" -- "${L[@]}" tree-head -j
pk=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["verified"] and d["tree_size"]==14; print(d["public_key"])' "$tmp/out")
ok $? "tree-head: size 14, verified"
status 0 "verify --pubkey HEX (the right key)" -- "${L[@]}" verify --pubkey "$pk"
status 0 "verify with -k KEYFILE" -- "$Q" -d "$db" -k "$key" verify
status 1 "verify --pubkey with another key" -- "${L[@]}" verify --pubkey "$(printf '%064d' 7)"
status 2 "verify --pubkey garbage" -- "${L[@]}" verify --pubkey nothex
printf '[ledger]\ndb = %s\nkey = %s\n[other]\nx = 1\n' "$db" "$key" >"$tmp/conf.ini"
status 0 "-c CONFIG reads [ledger] db= and key=" -- "$Q" -c "$tmp/conf.ini" verify
status 0 "--db and --key long options" -- "$Q" --db "$db" --key "$key" verify

# Devices.
status 0 "device trust gw2 sensor-2" -- "${L[@]}" device trust gw2 sensor-2
status 0 "device list gw2 -j" -- "${L[@]}" device list gw2 -j
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=[x for x in d if x["device"]=="sensor-2"][0]; sys.exit(not s["trusted"] or s["code"]!=s["current"] or any(x["gateway"]!="gw2" for x in d))' "$tmp/out"
ok $? "sensor-2 trusted again with its new code"
status 0 "TRUST event recorded" -- "${L[@]}" show --events
grep -q 'event TRUST gw=gw2 dev=sensor-2' "$tmp/out"; ok $? "show --events lists the TRUST event"
status 1 "device trust of an unknown device" -- "${L[@]}" device trust gw1 nosuch
status 0 "device add" -- "${L[@]}" device add gw1 sensor-9
status 1 "device add again" -- "${L[@]}" device add gw1 sensor-9
status 0 "verify after trust (15 entries)" -- "${L[@]}" verify
grep -q '^ledger OK: 15 entries' "$tmp/out"; ok $? "the TRUST event is in the chain"

# Tampering: each on its own copy.
t1=$tmp/t1.db; cp "$db" "$t1"
sql "$t1" "UPDATE entries SET payload = CAST('PAYLOAD#000006#sensor-1X' AS BLOB) WHERE idx = 7"
status 1 "verify after an SQL UPDATE of entry 7's payload" -- "$Q" -d "$t1" verify
grep -q 'entry 7: its contents do not match' "$tmp/out"; ok $? "names entry 7"
status 1 "verify -j on it" -- "$Q" -d "$t1" verify -j
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["ok"] or d["bad_index"]!=7)' "$tmp/out"
ok $? "JSON: ok false, bad_index 7"

t2=$tmp/t2.db; cp "$db" "$t2"
python3 - "$t2" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
pat = b'PAYLOAD#000005#sensor-3#'
assert b.count(pat) == 1, b.count(pat)
b[b.index(pat) + 13] ^= 0x01
open(p, 'wb').write(b)
PY
ok $? "one raw byte of entry 6's payload flipped in the file"
status 1 "verify after the raw edit" -- "$Q" -d "$t2" verify
grep -q 'entry 6: its contents do not match' "$tmp/out"; ok $? "names entry 6"

t3=$tmp/t3.db; cp "$db" "$t3"
sql "$t3" "DELETE FROM entries WHERE idx = 10"
status 1 "verify after deleting entry 10" -- "$Q" -d "$t3" verify
grep -q 'entry 10 is missing' "$tmp/out"; ok $? "names entry 10 missing"

t4=$tmp/t4.db; cp "$db" "$t4"
sql "$t4" "UPDATE tree_heads SET sig = randomblob(64) WHERE size = 14"
status 1 "verify after forging the last head's signature" -- "$Q" -d "$t4" verify
grep -q 'size 14: signature does not verify' "$tmp/out"; ok $? "names the head"
status 1 "tree-head on a forged head" -- "$Q" -d "$t4" tree-head

# Text from a tampered database is escaped in JSON and made safe in text.
t5=$tmp/t5.db; cp "$db" "$t5"
sql "$t5" "UPDATE entries SET detail = 'q\"b\\s' || char(10) || char(27) || '[31m' WHERE idx = 5"
status 0 "show -j of a hostile detail" -- "$Q" -d "$t5" show -j --events
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d[0]["detail"]!="q\"b\\s\n\x1b[31m")' "$tmp/out"
ok $? "JSON escapes quotes, backslashes and control characters"
status 0 "show of a hostile detail" -- "$Q" -d "$t5" show --events
! grep -q $'\x1b' "$tmp/out"; ok $? "text output carries no escape character"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
