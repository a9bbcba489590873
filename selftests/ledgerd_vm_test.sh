#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Smoke test of qkd-ledgerd, the ledger daemon. Inside the test VM only, as
# root:
#
#   scripts/vm-run --timeout 600 -- selftests/ledgerd_vm_test.sh
#
# Loads qkdkey.ko and qkd_sim.ko (one simulated pair, sim0a/sim0b), joins
# two network namespaces by veth: "gw" (192.0.2.1) runs qkd-agent on sim0a
# with its Unix ingest socket (no MQTT); "ledger" (192.0.2.2) runs
# qkd-ledgerd with one gateway on sim0b. Checks: the session comes up; 50
# records sent with qkd-send are acked by the agent (durable in its spool),
# then acked by the ledger (the agent trims its spool only on a verified
# ack); every record is in the ledger exactly once, byte for byte; a HELLO
# naming an unknown link is refused (connection closed, security event
# recorded); a malicious gateway (qkd-rogue-gw, agent/ledgerd/tests/) that
# breaks one receiver rule per session (session id, seq, epoch, key offset
# beyond key_window and at its edge, tag; HELLO epoch and offset) is
# refused with the right security event and the next session works, and a
# frame waiting for key within the window holds no other session; SIGTERM
# stops the daemon with status 0 and the ledger keeps everything. Prints
# "ok N - ..." / "not ok N - ..." and "N passed, N failed"; exits non-zero
# on any failure. The rogue part stops qkd-agent meanwhile and pauses the
# simulated key for two cases (/sys/module/qkd_sim/parameters/rate).
#
# LEDGERD=path runs another build of the daemon (e.g. the one linked with
# the fake ledger, build/ledgerd-test/qkd-ledgerd-fake, whose "db" is a
# text file).

set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=scripts/netns-pair
. "$repo/scripts/netns-pair"
bin=${AGENT_BIN:-$repo/build/agent}
ledgerd=${LEDGERD:-$bin/qkd-ledgerd}
N=${N_RECORDS:-50}

passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
note() { echo "# $*"; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}

if [ "$(id -u)" != 0 ]; then
	echo "ledgerd_vm_test: must run as root inside the test VM" >&2
	exit 2
fi
if [ "$(cat /proc/sys/kernel/hostname)" != qkdvm ] && [ "${QKD_SELFTEST_IN_VM:-}" != 1 ]; then
	echo "ledgerd_vm_test: not in the test VM (hostname qkdvm): it loads kernel modules" >&2
	exit 2
fi
for f in "$repo/kernel/qkdkey.ko" "$repo/kernel/qkd_sim.ko" "$bin/qkd-agent" \
	 "$bin/qkd-send" "$ledgerd"; do
	[ -r "$f" ] || { echo "ledgerd_vm_test: missing $f (make modules userspace)" >&2; exit 2; }
done
fake=0
case $ledgerd in *fake*) fake=1 ;; esac
if [ "$fake" = 0 ] && ! command -v sqlite3 >/dev/null; then
	echo "ledgerd_vm_test: sqlite3 is not installed" >&2
	exit 2
fi

tmp=$(mktemp -d /tmp/ledgerd-test.XXXXXX)
agent_pid= ledgerd_pid= notify_pid= fake_pid=

cleanup() {
	for p in $agent_pid $ledgerd_pid $notify_pid $fake_pid; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	netns_pair_down
	[ -e /sys/module/qkd_sim ] && rmmod qkd_sim
	[ -e /sys/module/qkdkey ] && wait_for 10 rmmod qkdkey 2>/dev/null
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

wait_for() {
	local t=$1 end; shift
	end=$(($(date +%s%N) / 1000000 + t * 1000))
	until "$@"; do
		[ $(($(date +%s%N) / 1000000)) -ge "$end" ] && return 1
		sleep 0.1
	done
}
alive() { kill -0 "$1" 2>/dev/null; }
gw() { ip netns exec gw "$@"; }

stat_of() { gw "$bin/qkd-agent" --config "$tmp/agent.conf" --stats 2>/dev/null |
	    awk -v k="$1" '$1 == k { print $2 }'; }
stat_is() { [ "$(stat_of "$1")" = "$2" ]; }

# The ledger's records as "<device id> <device seq> <payload hex or ->",
# the format of qkd-send's output.
records() {
	if [ "$fake" = 1 ]; then
		awk '$1 == "E" { print $3, $4, $5 }' "$tmp/ledger.db"
	else
		sqlite3 -readonly "$tmp/ledger.db" \
			"SELECT CAST(device AS TEXT), device_seq, lower(hex(payload)) FROM entries WHERE type = 1 ORDER BY idx" |
			awk -F'|' '{ print $1, $2, ($3 == "" ? "-" : $3) }'
	fi
}
# Security events of one kind (ledger.h enum ledger_event_kind).
events() {
	if [ "$fake" = 1 ]; then
		awk -v k="$1" '$1 == "V" && $2 == k' "$tmp/ledger.db" | wc -l
	else
		sqlite3 -readonly "$tmp/ledger.db" \
			"SELECT count(*) FROM entries WHERE kind = $1"
	fi
}
all_in_ledger() {
	records >"$tmp/got" && sort -u "$tmp/exp" >"$tmp/want" &&
		sort -u "$tmp/got" | comm -23 "$tmp/want" - >"$tmp/miss" && [ ! -s "$tmp/miss" ]
}
no_dups() { records | cut -d' ' -f1,2 | sort | uniq -d >"$tmp/dups" && [ ! -s "$tmp/dups" ]; }

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

have_py=0
if command -v python3 >/dev/null; then
	have_py=1
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096).replace(b"\n", b" ") + b"\n")
' "$tmp/notify.sock" "$tmp/notify.log" &
	notify_pid=$!
	disown "$notify_pid"
	wait_for 5 test -S "$tmp/notify.sock"
fi
touch "$tmp/notify.log"

cat >"$tmp/ledgerd.conf" <<EOF
[ledger]
listen = 192.0.2.2:7447
db = $tmp/ledger.db
key = $tmp/ledger.key
device = /dev/qkdkey
auto_register = yes
ack_every = 16
ack_ms = 5
key_window = 1M
log_level = debug

[gateway factory-1]
link = sim0b
peer_link = sim0a
EOF
check "qkd-ledgerd --check-config accepts the test configuration" \
	eval '"$ledgerd" -c "$tmp/ledgerd.conf" --check-config >/dev/null'
start_ledgerd() {
	ip netns exec ledger env NOTIFY_SOCKET="$tmp/notify.sock" WATCHDOG_USEC=1000000 \
		"$ledgerd" -c "$tmp/ledgerd.conf" -f 2>>"$tmp/ledgerd.err" &
	ledgerd_pid=$!
	wait_for 10 grep -q "ready:" "$tmp/ledgerd.err" && alive "$ledgerd_pid"
}
check "qkd-ledgerd starts and listens" start_ledgerd

cat >"$tmp/agent.conf" <<EOF
[link]
name = sim0a
[ledger]
host = 192.0.2.2
port = 7447
connect_timeout = 2s
reconnect_min = 100ms
reconnect_max = 1s
[spool]
dir = $tmp/spool
commit_interval = 5ms
[mqtt]
enabled = no
[socket]
path = $tmp/agent.sock
[agent]
stats_socket = $tmp/stats.sock
EOF
start_agent() {
	ip netns exec gw "$bin/qkd-agent" --config "$tmp/agent.conf" 2>>"$tmp/agent.err" &
	agent_pid=$!
	wait_for 10 eval 'alive $agent_pid && test -S "$tmp/stats.sock"'
}
check "qkd-agent starts" start_agent
check "session between qkd-agent and qkd-ledgerd established (ACK_HELLO verified)" \
	wait_for 20 stat_is ledger ready

# ---- records -------------------------------------------------------------
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device dev-1 --count "$N" \
	--timeout 60 >"$tmp/exp"
check "$N records accepted by qkd-agent" [ "$(wc -l <"$tmp/exp")" = "$N" ]
check "ledger acks verified by the agent: its spool is trimmed" \
	wait_for 30 stat_is spool_pending_records 0
check "all $N records are in the ledger, byte for byte" all_in_ledger
check "each exactly once" no_dups
acks=$(stat_of acks)
# How many frames share a commit (and so an ack) depends on timing: only
# reported. That acks are cumulative shows in the spool trimmed above.
check "the agent verified at least one ledger ack" \
	eval '[ -n "$acks" ] && [ "$acks" -ge 1 ] && [ "$acks" -le "$N" ]'
note "acks verified for $N records: $acks (group commit)"

# ---- an unknown gateway ----------------------------------------------------
# A well-formed HELLO for a link no [gateway] names: the ledger must close
# the connection before spending key, and record the event.
if [ "$have_py" = 1 ]; then
	gw python3 - >"$tmp/rogue.out" 2>&1 <<'EOF'
import socket, struct
h = struct.pack(">IBBBBQQQII16s", 72, 0xcb, 1, 1, 0, 0x1234, 1, 0, 7, 0,
                b"rogue0".ljust(16, b"\0")) + b"\x55" * 16
s = socket.create_connection(("192.0.2.2", 7447), timeout=10)
s.sendall(h)
print("closed" if s.recv(100) == b"" else "answered")
EOF
	check "HELLO naming an unknown link: connection closed" grep -qx closed "$tmp/rogue.out"
	check "unknown gateway recorded as a security event" \
		wait_for 5 eval '[ "$(events 5)" -ge 1 ]'
else
	ok "unknown gateway # SKIP no python3"
	ok "unknown gateway event # SKIP no python3"
fi
check "the daemon logged the refusal" grep -q "unknown gateway" "$tmp/ledgerd.err"
check "the gateway's own session survives it" stat_is ledger ready

# More records after the refusal: the session goes on.
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device dev-2 --count 10 \
	--timeout 60 >>"$tmp/exp"
check "10 more records arrive after the refusal" wait_for 30 all_in_ledger

# ---- a malicious gateway ---------------------------------------------------
# qkd-rogue-gw holds the gateway's end of the link (sim0a): it opens real
# sessions, then breaks one rule. For each case the ledger must close the
# connection, record the right security event, and a new session must then
# work, its records committed. "beyond-window" names key 1 GiB past what is
# delivered (key_window is 1M here): the ledger must refuse it without
# reading, or the RX read would wait and stall the next session's HELLO.
# The rogue's --window must be the ledger's key_window.
# qkd-agent is stopped meanwhile: its own session would replace the rogue's.
rogue=${ROGUE_GW:-$repo/build/ledgerd-test/qkd-rogue-gw}
lcli() { "$bin/qkd-ledger" -d "$tmp/ledger.db" show "$@"; }
# The newest event as "KIND detail", and the number of events of a kind.
last_event() {
	lcli --events -j | grep '"kind":' | tail -1 |
		sed 's/.*"kind":"\([A-Z_]*\)","detail":"\([^"]*\)".*/\1 \2/'
}
kind_count() { lcli --events -j | grep -c "\"kind\":\"$1\""; }
dev_records() { lcli --device "$1" -j | grep -c '"type":"record"'; }
event_after() {	# KIND COUNT_BEFORE DETAIL
	[ "$(kind_count "$1")" -gt "$2" ] && last_event | grep -q "^$1 .*$3"
}
if [ "$fake" = 0 ] && [ -x "$rogue" ] && [ -x "$bin/qkd-ledger" ]; then
	kill -TERM "$agent_pid"
	wait_for 10 eval '! alive "$agent_pid"'
	agent_pid=
	check "rogue gateway: a valid session of 3 records is acked" \
		eval 'gw "$rogue" --host 192.0.2.2 --link sim0a --id rogue-valid \
			--count 3 valid >"$tmp/rogue-valid.out" 2>&1'
	check "rogue gateway: its 3 records are committed" \
		eval '[ "$(dev_records rogue-valid)" = 3 ]'
	rogue_case() {	# CASE KIND DETAIL RECORDS: one bad frame, as above
		local c=$1 kind=$2 want=$3 nrec=$4 before
		before=$(kind_count "$kind")
		check "rogue $c: connection closed, then a new session works" \
			eval 'gw "$rogue" --host 192.0.2.2 --link sim0a --id "rogue-$c" \
				--window $((1 << 20)) "$c" >"$tmp/rogue-$c.out" 2>&1'
		check "rogue $c: event $kind (${want//./ })" \
			wait_for 5 event_after "$kind" "$before" "$want"
		check "rogue $c: the $nrec valid records of its sessions are committed" \
			eval '[ "$(dev_records "rogue-$c")" = "$nrec" ]'
		[ "${VERBOSE:-0}" = 1 ] && sed 's/^/#   /' "$tmp/rogue-$c.out"
	}
	while read -r c kind want nrec; do
		rogue_case "$c" "$kind" "$want" "$nrec"
	done <<'EOF'
wrong-session PROTOCOL DATA.of.session 2
seq-gap PROTOCOL DATA.seq.3.* 2
wrong-epoch WRONG_EPOCH DATA.epoch 2
beyond-window PROTOCOL key.offset.beyond.the.delivered.stream.+.window 2
bad-tag BAD_TAG tag.does.not.verify 2
hello-wrong-epoch WRONG_EPOCH HELLO.epoch 1
hello-beyond-window PROTOCOL key.offset.beyond.the.delivered.stream.+.window 1
EOF
	# The window's edge: a key range ending one byte past delivered +
	# key_window is refused (with the key paused, so that the delivered
	# end stays where the rogue saw it); one ending exactly there is read
	# once the rogue has taken enough TX key for it to be delivered, and
	# fails only on its (random) tag.
	rate_file=/sys/module/qkd_sim/parameters/rate
	rate=$(cat "$rate_file")
	echo 0 >"$rate_file"
	rogue_case window-edge-beyond PROTOCOL key.offset.beyond.the.delivered.stream.+.window 2
	# Within the window but never delivered (the key stays paused): the
	# ledger must wait for that key without asking the key source for it,
	# so that the gateway's next session is served meanwhile; that session
	# replaces the waiting one, which is no security event.
	nev=$(lcli --events -j | grep -c '"kind":')
	check "rogue window-wait: a frame waiting for key holds no other session" \
		eval 'gw "$rogue" --host 192.0.2.2 --link sim0a --id rogue-window-wait \
			--window $((1 << 20)) window-wait >"$tmp/rogue-window-wait.out" 2>&1'
	check "rogue window-wait: the waiting session was replaced, no security event" \
		eval '[ "$(lcli --events -j | grep -c "\"kind\":")" = "$nev" ]'
	check "rogue window-wait: the 2 valid records of its sessions are committed" \
		eval '[ "$(dev_records rogue-window-wait)" = 2 ]'
	[ "${VERBOSE:-0}" = 1 ] && sed 's/^/#   /' "$tmp/rogue-window-wait.out"
	echo "$rate" >"$rate_file"
	rogue_case window-edge BAD_TAG tag.does.not.verify 2
	check "qkd-agent restarts and opens a session again" \
		eval 'start_agent && wait_for 20 stat_is ledger ready'
else
	ok "rogue gateway # SKIP fake ledger, or no $rogue / qkd-ledger"
fi

# ---- stop ----------------------------------------------------------------
kill -TERM "$ledgerd_pid"
check "SIGTERM: qkd-ledgerd stops" wait_for 10 eval '! alive "$ledgerd_pid"'
wait "$ledgerd_pid"; r=$?
check "SIGTERM: exit status 0" [ "$r" = 0 ]
ledgerd_pid=
check "after the stop the ledger holds every record once" eval 'all_in_ledger && no_dups'

# ---- a failed commit: nothing is acked -------------------------------------
# The daemon linked with the fake ledger, told to fail its first commit:
# it must exit with status 1 without acking; the records stay in the
# agent's spool and reach the real ledger after the restart below.
fake_bin=${LEDGERD_FAKE:-$repo/build/ledgerd-test/qkd-ledgerd-fake}
if [ "$fake" = 0 ] && [ -x "$fake_bin" ]; then
	sed "s|^db = .*|db = $tmp/fake.db|" "$tmp/ledgerd.conf" >"$tmp/fake.conf"
	ip netns exec ledger env LEDGER_FAKE_FAIL_COMMIT=1 "$fake_bin" \
		-c "$tmp/fake.conf" -f 2>>"$tmp/fake.err" &
	fake_pid=$!
	gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device dev-f --count 5 \
		--timeout 60 >>"$tmp/exp"
	check "a failed ledger commit stops the daemon" wait_for 20 eval '! alive "$fake_pid"'
	wait "$fake_pid"; r=$?
	fake_pid=
	check "... with exit status 1" [ "$r" = 1 ]
	check "... logging the failure" grep -q "ledger commit" "$tmp/fake.err"
	check "nothing was acked: all 5 records wait in the agent's spool" \
		stat_is spool_pending_records 5
else
	ok "failed commit # SKIP no $fake_bin"
fi
acks=$(stat_of acks)
check "restart on the same ledger" start_ledgerd
check "records sent while the ledger was down arrive after the restart" \
	wait_for 30 all_in_ledger
note "acks for the 5 records resent at once after the restart: $(($(stat_of acks) - acks))"
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device dev-3 --count 10 \
	--timeout 60 >>"$tmp/exp"
check "the agent reconnects and 10 more records arrive" wait_for 30 all_in_ledger
check "nothing left in the agent's spool" wait_for 20 stat_is spool_pending_records 0
check "no fatal error in qkd-ledgerd's log" eval '! grep -q fatal "$tmp/ledgerd.err"'
notified() { grep -q -- "$1" "$tmp/notify.log"; }
for m in READY=1 "STATUS=ledger: " WATCHDOG=1 STOPPING=1; do
	if [ "$have_py" = 1 ]; then
		check "sd_notify: $m" notified "$m"
	else
		ok "sd_notify: $m # SKIP no python3 for a notify socket"
	fi
done
acks=$(stat_of acks)
kill -TERM "$agent_pid" "$ledgerd_pid"
wait_for 10 eval '! alive "$agent_pid" && ! alive "$ledgerd_pid"'
agent_pid= ledgerd_pid=
unload() { rmmod qkd_sim 2>/dev/null; ! [ -e /sys/module/qkd_sim ] && rmmod qkdkey 2>/dev/null; }
check "modules unload: no key file left open" wait_for 10 unload
bad=$(dmesg | grep -E 'BUG|WARNING|Oops|general protection|UBSAN|KASAN')
check "no kernel warnings" [ -z "$bad" ]
note "ledger: $(records | wc -l) records; acks verified by qkd-agent: $acks"
if [ "$failed" != 0 ] || [ "${VERBOSE:-0}" = 1 ]; then
	note "---- qkd-ledgerd log"; sed 's/^/# /' "$tmp/ledgerd.err" | tail -40
	[ -e "$tmp/fake.err" ] && { note "---- fake ledger daemon"; sed 's/^/# /' "$tmp/fake.err" | tail -10; }
	note "---- agent log"; sed 's/^/# /' "$tmp/agent.err" | tail -20
fi
finish
