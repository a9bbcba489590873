#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end test, gateway to ledger. Inside the test VM only, as root:
#
#   scripts/vm-run --timeout 900 -- selftests/ledger_e2e_test.sh
#
# Loads qkdkey.ko and qkd_sim.ko (one simulated pair: sim0a at the gateway,
# sim0b at the ledger) and joins two network namespaces by veth: "gw"
# (192.0.2.1) runs Mosquitto, qkd-agent and qkd-tap, a man in the middle on
# the agent's ledger connection; "ledger" (192.0.2.2) runs qkd-ledgerd.
# qkd-devsim publishes E2E_RECORDS records (default 10000) from E2E_DEVICES
# devices (default 100) in ten slices of device seqs, and around the slices:
#
#   - one device changes its integrity code in slice 2: an integrity event,
#     the device untrusted, its later records flagged;
#   - slice 3 is published while the eavesdropper holds the link in ALARM:
#     the ledger does not grow, the records wait in the agent's spool, and
#     arrive once eve is off and qkdctl has cleared the ALARM;
#   - qkd-ledgerd (slice 4) and qkd-agent (slice 5) are killed with SIGKILL
#     in mid-stream and restarted;
#   - in slice 6 qkd-tap forges a frame, replays a frame within its session
#     and replays an earlier session's HELLO and first DATA frame on a new
#     connection: each is rejected and recorded as a security event, and
#     delivery goes on;
#   - slices 7-10 in one run (timed);
#   - at the end every published record is in the ledger exactly once, with
#     its payload (SHA-256) and integrity code, and `qkd-ledger verify`
#     passes; then one payload byte is changed in the SQLite file with the
#     daemon stopped, and verify exits 1 naming that entry.
#
# Prints "ok N - ..." / "not ok N - ..." and "N passed, N failed"; exits
# non-zero on any failure. Logs are in a directory under /tmp (kept with
# KEEP_TMP=1, copied to DIR with E2E_SAVE=DIR); their tails are printed on
# failure (or with VERBOSE=1). E2E_RECORDS, E2E_DEVICES (records per device
# a multiple of 20) and E2E_SIZE (payload bytes) make quicker runs.
#
# Needs: make modules userspace (qkd-agent, qkd-ledgerd, qkd-ledger, qkdctl,
# qkd-devsim, qkd-tap); mosquitto; python3; iproute2; the veth module.

set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=scripts/netns-pair
. "$repo/scripts/netns-pair"
bin=${AGENT_BIN:-$repo/build/agent}
N=${E2E_RECORDS:-10000}
M=${E2E_DEVICES:-100}
SIZE=${E2E_SIZE:-100}
GW=gw1			# the gateway's name at the ledger
CHG_DEV=dev-007		# the device whose integrity code changes
sim=/sys/module/qkd_sim/parameters
links=/sys/kernel/qkdkey/links

passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"
	save
}
# E2E_SAVE=DIR (in the shared tree): the guest's /tmp goes with the VM, so
# copy the logs and the database there at each failure and at the end.
save() {
	[ -n "${E2E_SAVE:-}" ] || return 0
	diag >"$tmp/diag.txt" 2>&1
	mkdir -p "$E2E_SAVE/${tmp##*/}" &&
		find "$tmp" -maxdepth 1 -type f -exec cp {} "$E2E_SAVE/${tmp##*/}/" \;
}
# State of both ends when something did not arrive.
diag() {
	echo "agent stats:"; gw "$bin/qkd-agent" --config "$tmp/agent.conf" --stats
	echo "links:"; "$bin/qkdctl" link show
}
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
note() { echo "# $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "ledger_e2e_test: must run as root inside the test VM" >&2
	exit 2
fi
if [ "$(cat /proc/sys/kernel/hostname)" != qkdvm ] && [ "${QKD_SELFTEST_IN_VM:-}" != 1 ]; then
	echo "ledger_e2e_test: not in the test VM (hostname qkdvm): it loads kernel modules" >&2
	exit 2
fi
for f in "$repo/kernel/qkdkey.ko" "$repo/kernel/qkd_sim.ko" "$bin/qkd-agent" \
	 "$bin/qkd-ledgerd" "$bin/qkd-ledger" "$bin/qkdctl" "$bin/qkd-devsim" "$bin/qkd-tap"; do
	[ -r "$f" ] || { echo "ledger_e2e_test: missing $f (make modules userspace)" >&2; exit 2; }
done
mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$mosq" ] || { echo "ledger_e2e_test: mosquitto is not installed" >&2; exit 2; }
command -v python3 >/dev/null || { echo "ledger_e2e_test: needs python3" >&2; exit 2; }
S=$((N / M))		# records per device
K=$((S / 10))		# device seqs per slice
SLICE=$((K * M))	# records per slice
if [ $((K * 10 * M)) != "$N" ] || [ "$K" -lt 2 ]; then
	echo "ledger_e2e_test: E2E_RECORDS must be a multiple of 20 x E2E_DEVICES" >&2
	exit 2
fi
CHG_SEQ=$((K + K / 2 + 1))	# in slice 2

tmp=$(mktemp -d /tmp/ledger-e2e.XXXXXX)
run=$tmp/run	# sockets and the tap's FIFO: not copied by save
mkdir -p "$run"
chmod 0755 "$tmp" "$run"
agent_pid= ledgerd_pid= tap_pid= mosq_pid= dev_pid=
gw() { ip netns exec gw "$@"; }
lg() { ip netns exec ledger "$@"; }

# Waits up to $1 seconds for the command to succeed.
wait_for() {
	local t=$1 end; shift
	end=$(($(date +%s%N) / 1000000 + t * 1000))
	until "$@"; do
		[ $(($(date +%s%N) / 1000000)) -ge "$end" ] && return 1
		sleep 0.2
	done
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

cleanup() {
	for p in $dev_pid $agent_pid $ledgerd_pid $tap_pid $mosq_pid; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	netns_pair_down
	[ -e /sys/module/qkd_sim ] && rmmod qkd_sim
	[ -e /sys/module/qkdkey ] && wait_for 10 rmmod qkdkey 2>/dev/null
	save && [ -n "${E2E_SAVE:-}" ] && echo "# saved $tmp to $E2E_SAVE"
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

logs() {
	local f
	diag >"$tmp/diag.txt" 2>&1
	for f in diag.txt ledgerd.err agent.err tap.err devsim.err mosquitto.log; do
		[ -s "$tmp/$f" ] || continue
		note "---- $f (last 30 lines)"
		tail -30 "$tmp/$f" | sed 's/^/# /'
	done
}
finish() {
	if [ "$failed" != 0 ] || [ "${VERBOSE:-0}" = 1 ]; then logs; fi
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}

# ---- the ledger as the CLI shows it ---------------------------------------
cli() { lg "$bin/qkd-ledger" --db "$tmp/ledger.db" "$@"; }
# The ledger's JSON (show -j) turned into lines by $tmp/ledger.py:
#   records: "<device> <seq> <payload len> <sha256 hex> <integrity hex>"
#   as the devsim list; others: see the script.
ledger_py() { cli show -j 2>>"$tmp/cli.err" | python3 "$tmp/ledger.py" "$@"; }
ledger_records() { ledger_py records; }
ledger_count() { ledger_py count; }
count_is() { [ "$(ledger_count)" = "$1" ]; }
# The sorted records of the ledger against those devsim listed: equal.
exact() {
	ledger_records | sort >"$tmp/got" && sort "$tmp/list" >"$tmp/want" &&
		cmp -s "$tmp/want" "$tmp/got"
}
delivered() { count_is "$(wc -l <"$tmp/list")"; }
events_of() { cli show --events -j 2>>"$tmp/cli.err" | python3 "$tmp/ledger.py" events | grep -c -- "$1"; }
event_count() { local c; c=$(events_of "$1"); [ "${c:-0}" -ge "$2" ]; }

cat >"$tmp/ledger.py" <<'EOF'
# Reads `qkd-ledger show -j` on stdin; argv[1] says what to print.
import hashlib, json, sys

doc = json.load(sys.stdin)
entries = doc.get("entries", doc) if isinstance(doc, dict) else doc

def is_record(e):
    return e.get("type") == "record"

what = sys.argv[1]
if what == "count":
    print(sum(1 for e in entries if is_record(e)))
elif what == "records":
    for e in entries:
        if is_record(e):
            p = bytes.fromhex(e["payload"])
            print(e["device"], e["seq"], len(p), hashlib.sha256(p).hexdigest(),
                  e["integrity"])
elif what == "flags":		# device seq flags index; "registered" left out
    for e in entries:
        if is_record(e):
            f = [x.lower() for x in e.get("flags") or [] if x.lower() != "registered"]
            print(e["device"], e["seq"], ",".join(f) or "-", e["index"])
elif what == "events":		# kind device detail
    for e in entries:
        if not is_record(e):
            print(str(e.get("kind")).lower(), e.get("device") or "-",
                  e.get("detail", ""))
EOF

# ---- setup ---------------------------------------------------------------
dmesg -C
[ -e /sys/module/qkd_sim ] && rmmod qkd_sim
[ -e /sys/module/qkdkey ] && rmmod qkdkey
if ! insmod "$repo/kernel/qkdkey.ko" || ! insmod "$repo/kernel/qkd_sim.ko" pairs=1; then
	not_ok "load qkdkey.ko and qkd_sim.ko pairs=1"
	finish
fi
wait_for 5 test -c /dev/qkdkey
netns_pair_up

cat >"$tmp/ledgerd.conf" <<EOF
[ledger]
listen = 192.0.2.2:7447
db = $tmp/ledger.db
key = $tmp/ledger.key
auto_register = yes

[gateway $GW]
link = sim0b
peer_link = sim0a
EOF
ledgerd_listening() { lg bash -c 'exec 3<>/dev/tcp/192.0.2.2/7447' 2>/dev/null; }
start_ledgerd() {
	ip netns exec ledger "$bin/qkd-ledgerd" -f --config "$tmp/ledgerd.conf" \
		2>>"$tmp/ledgerd.err" &
	ledgerd_pid=$!
	wait_for 20 ledgerd_listening && alive "$ledgerd_pid"
}
check "qkd-ledgerd starts and listens on 192.0.2.2:7447" start_ledgerd
check "namespaces gw and ledger joined by veth: gw reaches qkd-ledgerd" \
	gw bash -c 'exec 3<>/dev/tcp/192.0.2.2/7447'

port=$((20000 + RANDOM % 20000))
cat >"$tmp/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 100000
log_dest stderr
EOF
ip netns exec gw "$mosq" -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
mosq_pid=$!
disown "$mosq_pid"	# no job notice when it is killed at the end
wait_for 10 gw bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null

ip netns exec gw "$bin/qkd-tap" --listen 127.0.0.1:7000 --upstream 192.0.2.2:7447 \
	--control "$run/tap.ctl" 2>"$tmp/tap.err" &
tap_pid=$!
disown "$tap_pid"
wait_for 10 grep -q listening "$tmp/tap.err"
tap_cmd() { echo "$1" >"$run/tap.ctl"; }
tap_log() { grep -c -- "$1" "$tmp/tap.err"; }

cat >"$tmp/agent.conf" <<EOF
[link]
name = sim0a
[ledger]
host = 127.0.0.1
port = 7000
connect_timeout = 2s
reconnect_min = 100ms
reconnect_max = 1s
[spool]
dir = $tmp/spool
commit_interval = 5ms
[mqtt]
host = 127.0.0.1
port = $port
client_id = qkd-agent-ledger-e2e
[socket]
path = $run/agent.sock
[agent]
stats_socket = $run/stats.sock
EOF
stat_of() { gw "$bin/qkd-agent" --config "$tmp/agent.conf" --stats 2>/dev/null |
	    awk -v k="$1" '$1 == k { print $2 }'; }
stat_is() { [ "$(stat_of "$1")" = "$2" ]; }
start_agent() {
	ip netns exec gw "$bin/qkd-agent" --config "$tmp/agent.conf" 2>>"$tmp/agent.err" &
	agent_pid=$!
	wait_for 20 stat_is mqtt_ready 1 && alive "$agent_pid"
}
check "qkd-agent starts and subscribes to MQTT" start_agent
check "agent -> tap -> qkd-ledgerd: session ready" wait_for 20 stat_is ledger ready

# Slice i (1..10): device seqs (i-1)K+1 .. iK of every device. Extra
# arguments go to qkd-devsim (--rate).
devsim() {
	local first=$(( ($1 - 1) * K + 1 )) count=$(($2 * SLICE)); shift 2
	gw "$bin/qkd-devsim" --port "$port" --devices "$M" --records "$count" \
		--first "$first" --size "$SIZE" --change-integrity "$CHG_DEV@$CHG_SEQ" \
		--list "$tmp/list" --append "$@" 2>>"$tmp/devsim.err"
}
# Runs slice(s) in the background; devsim_wait collects the status.
devsim_bg() { devsim "$@" >>"$tmp/devsim.out" & dev_pid=$!; }
devsim_wait() { wait "$dev_pid"; local r=$?; dev_pid=; return $r; }
: >"$tmp/list"
# A rate that stretches one slice over about 8 s: time to act in mid-stream.
RATE=$(( SLICE / 8 > 0 ? SLICE / 8 : 1 ))

# ---- slice 1 --------------------------------------------------------------
t0=$(now_ms)
check "slice 1: $SLICE records from $M devices published (PUBACK)" devsim 1 1
check "slice 1: all in the ledger, exactly once, payloads intact" \
	wait_for 120 exact
note "slice 1: $SLICE records published and in the ledger in $(secs $(($(now_ms) - t0))) s"

# ---- slice 2: an integrity code changes -------------------------------------
check "slice 2: published; $CHG_DEV changes its integrity code at seq $CHG_SEQ" devsim 2 1
check "slice 2: all in the ledger" wait_for 120 exact
untrusted() {
	cli device list -j 2>>"$tmp/cli.err" | python3 -c '
import json, sys
devs = json.load(sys.stdin)
devs = devs.get("devices", devs) if isinstance(devs, dict) else devs
bad = sorted(d["device"] for d in devs if not d.get("trusted"))
print(" ".join(bad) or "-")'
}
check "device list: $CHG_DEV untrusted, every other device trusted" \
	eval '[ "$(untrusted)" = "$CHG_DEV" ]'
check "an integrity event for $CHG_DEV is in the ledger" event_count "integrity $CHG_DEV" 1

# ---- slice 3: ALARM ------------------------------------------------------------
state_is() { [ "$(cat "$links/$1/state")" = "$2" ]; }
echo 600000 >"$sim/eve"
check "eavesdropper on: sim0a goes to ALARM" wait_for 10 state_is sim0a alarm
before=$(ledger_count)
check "slice 3: published during ALARM (the agent spools them)" devsim 3 1
sleep 3
check "during ALARM the ledger does not grow ($before records)" count_is "$before"
check "the slice waits in the agent's spool" \
	eval '[ "$(stat_of spool_pending_records)" -ge "$SLICE" ]'
echo 0 >"$sim/eve"
clear_alarm() {
	"$bin/qkdctl" link set sim0a up >/dev/null 2>&1 &&
		"$bin/qkdctl" link set sim0b up >/dev/null 2>&1 &&
		state_is sim0a up && state_is sim0b up
}
check "eve off, ALARM cleared with qkdctl link set ... up" wait_for 10 clear_alarm
check "slice 3: all delivered after the ALARM, exactly once" wait_for 120 exact

# ---- slice 4: SIGKILL the ledger ------------------------------------------------
# Waits until the agent has had an eighth of a slice acked by the ledger
# since $1 (its records_acked: cheap to ask, unlike a ledger dump).
acked_ge() { local a; a=$(stat_of records_acked) && [ -n "$a" ] && [ "$a" -ge "$1" ]; }
mid_stream() { wait_for 60 acked_ge $(($1 + SLICE / 8)); }
devsim_bg 4 1 --rate "$RATE"
mid_stream "$(stat_of records_acked)"
kill -9 "$ledgerd_pid"
wait "$ledgerd_pid" 2>/dev/null
check "qkd-ledgerd killed (SIGKILL) in mid-stream at $(ledger_count) records" \
	eval '! alive "$ledgerd_pid"'
sleep 1
check "qkd-ledgerd restarts on the same database" start_ledgerd
check "slice 4: published" devsim_wait
check "slice 4: all delivered, nothing lost, nothing twice" wait_for 120 exact

# ---- slice 5: SIGKILL the agent --------------------------------------------------
devsim_bg 5 1 --rate "$RATE"
mid_stream "$(stat_of records_acked)"
kill -9 "$agent_pid"
wait "$agent_pid" 2>/dev/null
check "qkd-agent killed (SIGKILL) in mid-stream at $(ledger_count) records" \
	eval '! alive "$agent_pid"'
sleep 0.5
check "qkd-agent restarts on the same spool" start_agent
check "slice 5: published" devsim_wait
check "slice 5: all delivered, nothing lost, nothing twice" wait_for 120 exact

# ---- slice 6: forged and replayed frames -----------------------------------------
# In two halves, each attack armed before its half is published, so that
# the tap has frames to attack whatever the speed of the machine.
devsim_seqs() {	# FIRST_SEQ NSEQS: NSEQS device seqs of every device
	gw "$bin/qkd-devsim" --port "$port" --devices "$M" --records $(($2 * M)) \
		--first "$1" --size "$SIZE" --change-integrity "$CHG_DEV@$CHG_SEQ" \
		--list "$tmp/list" --append 2>>"$tmp/devsim.err"
}
ev_bad=$(events_of bad_tag) ev_replay=$(events_of replay)
tap_cmd forge
check "slice 6a: published, the tap armed to forge the next DATA frame" \
	devsim_seqs $((5 * K + 1)) $((K / 2))
check "tap: a DATA frame forged (one ciphertext bit flipped)" \
	wait_for 20 eval '[ "$(tap_log "forged DATA")" = 1 ]'
check "the forged frame is rejected and recorded as a bad-tag event" \
	wait_for 30 event_count bad_tag $((ev_bad + 1))
check "delivery goes on: slice 6a all in the ledger, exactly once" wait_for 120 exact
tap_cmd dup
check "slice 6b: published, the tap armed to send the next DATA frame twice" \
	devsim_seqs $((5 * K + K / 2 + 1)) $((K - K / 2))
check "tap: a DATA frame replayed within its session" \
	wait_for 20 eval '[ "$(tap_log "replayed DATA")" = 1 ]'
check "the replayed frame is rejected and recorded as a replay event" \
	wait_for 30 event_count replay $((ev_replay + 1))
check "delivery goes on: slice 6b all in the ledger, exactly once" wait_for 120 exact
ev_all=$(cli show --events -j 2>>"$tmp/cli.err" | python3 "$tmp/ledger.py" events | wc -l)
tap_cmd replay
check "tap: the first session's HELLO and DATA sent again on a new connection" \
	wait_for 20 eval '[ "$(tap_log "replay: ledger")" = 1 ]'
replay_events() {
	[ "$(cli show --events -j 2>>"$tmp/cli.err" | python3 "$tmp/ledger.py" events |
	     wc -l)" -gt "$ev_all" ]
}
check "the replayed session is rejected and recorded as a security event" \
	wait_for 30 replay_events
check "the ledger closed the replayed connection" \
	grep -q "replay: ledger closed the connection" "$tmp/tap.err"
check "no record was added by the replayed session" exact

# ---- slices 7-10: the rest, timed -------------------------------------------------
t0=$(now_ms)
check "slices 7-10: $((4 * SLICE)) records published" devsim 7 4
t1=$(now_ms)
check "slices 7-10: all in the ledger" wait_for 300 delivered
t2=$(now_ms)
note "slices 7-10: $((4 * SLICE)) records published in $(secs $((t1 - t0))) s, in the ledger after $(secs $((t2 - t0))) s"

# ---- the whole ledger ----------------------------------------------------------------
check "all $N records in the ledger exactly once, payload and integrity code intact" exact
if [ -s "$tmp/want" ] && ! cmp -s "$tmp/want" "$tmp/got"; then
	note "missing from the ledger: $(comm -23 "$tmp/want" "$tmp/got" | wc -l)," \
	     "unexpected: $(comm -13 "$tmp/want" "$tmp/got" | wc -l)," \
	     "twice: $(uniq -d "$tmp/got" | wc -l)"
	comm -3 "$tmp/want" "$tmp/got" | head -5 | sed 's/^/# /'
fi
ledger_py flags >"$tmp/flags"
# Every record of CHG_DEV from CHG_SEQ on is flagged untrusted, the first
# one also as the integrity change; no other record is flagged.
flags_ok() {
	awk -v d="$CHG_DEV" -v s="$CHG_SEQ" '
		{ want = ($1 == d && $2 >= s) }
		want && $3 !~ /untrusted/ { bad++ }
		!want && $3 != "-" { bad++ }
		$1 == d && $2 == s && $3 !~ /integrity/ { bad++ }
		END { exit bad > 0 }' "$tmp/flags"
}
check "$CHG_DEV's records from seq $CHG_SEQ on are flagged, no other record is" flags_ok
check "qkd-ledger verify passes" eval 'cli verify >"$tmp/verify0.out" 2>&1'
sed 's/^/# verify: /' "$tmp/verify0.out" | head -3
note "security events: $(cli show --events -j 2>/dev/null | python3 "$tmp/ledger.py" events |
	awk '{ print $1 }' | sort | uniq -c | tr -s ' \n' ' ')"

# ---- stop, tamper with one payload byte, verify -------------------------------------------
kill -TERM "$agent_pid" "$ledgerd_pid"
check "SIGTERM: qkd-agent and qkd-ledgerd stop" \
	wait_for 15 eval '! alive "$agent_pid" && ! alive "$ledgerd_pid"'
wait "$ledgerd_pid"; r=$?
check "SIGTERM: qkd-ledgerd exit status 0" [ "$r" = 0 ]
agent_pid= ledgerd_pid=
T_DEV=dev-013 T_SEQ=$((K * 5 + 3))
t_index=$(awk -v d=$T_DEV -v s=$T_SEQ '$1 == d && $2 == s { print $4 }' "$tmp/flags")
gw "$bin/qkd-devsim" --size "$SIZE" --payload-of "$T_DEV@$T_SEQ" >"$tmp/t_payload"
# One byte of that payload changed in place in the database file: not an
# SQL update, the bytes on disk, as an intruder with the file would.
tamper() {
	python3 - "$tmp/ledger.db" "$(cat "$tmp/t_payload")" <<'EOF'
import sys
path, want = sys.argv[1], bytes.fromhex(sys.argv[2])
data = bytearray(open(path, "rb").read())
at = data.find(want)
if at < 0 or data.find(want, at + 1) >= 0:
    sys.exit("payload not found exactly once in the database file")
data[at + len(want) // 2] ^= 0x20
with open(path, "r+b") as f:
    f.seek(at + len(want) // 2)
    f.write(data[at + len(want) // 2:at + len(want) // 2 + 1])
print("changed byte", at + len(want) // 2)
EOF
}
check "no -wal/-journal left beside the database after a clean stop" \
	eval '! [ -s "$tmp/ledger.db-wal" ] && ! [ -s "$tmp/ledger.db-journal" ]'
check "one payload byte of $T_DEV seq $T_SEQ (entry $t_index) changed in the db file" \
	eval '[ -n "$t_index" ] && tamper >>"$tmp/tamper.out" 2>&1'
cli verify >"$tmp/verify.out" 2>&1
r=$?
check "qkd-ledger verify exits 1 after the edit" [ "$r" = 1 ]
check "and names entry $t_index" grep -qE "entry $t_index([^0-9]|\$)" "$tmp/verify.out"
sed 's/^/# verify: /' "$tmp/verify.out" | head -5

# ---- teardown ---------------------------------------------------------------------------
kill -9 "$tap_pid" "$mosq_pid" 2>/dev/null
wait_for 5 eval '! alive "$tap_pid" && ! alive "$mosq_pid"'
tap_pid= mosq_pid=
unload() { rmmod qkd_sim 2>/dev/null; ! [ -e /sys/module/qkd_sim ] && rmmod qkdkey 2>/dev/null; }
check "modules unload: no key file left open" wait_for 10 unload
bad=$(dmesg | grep -E 'BUG|WARNING|Oops|general protection|UBSAN|KASAN')
check "no kernel warnings" [ -z "$bad" ]
grep -h 'qkd-devsim:' "$tmp/devsim.out" 2>/dev/null | sed 's/^/# /'
finish
