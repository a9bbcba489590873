#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end test of the gateway agent. Inside the test VM only, as root:
#
#   scripts/vm-run --timeout 600 -- selftests/agent_e2e_test.sh
#
# Loads qkdkey.ko and qkd_sim.ko (one simulated pair, sim0a/sim0b), joins
# two network namespaces by veth: "gw" (192.0.2.1) runs Mosquitto on
# 127.0.0.1 and qkd-agent on sim0a; "ledger" (192.0.2.2) runs qkd-recv, the
# test receiver, on sim0b. Records go in by MQTT and by the Unix socket
# (qkd-send prints every record that was acknowledged); the receiver prints
# every record it decrypted. Checks: every acknowledged record arrives,
# byte for byte, in order per device, exactly once; nothing arrives while
# the link is in ALARM and the records wait in the spool; everything
# arrives once the link is cleared; after kill -9 of the agent and a
# restart, nothing acknowledged is lost. Prints "ok N - ..." / "not ok N -
# ..." and "N passed, N failed"; exits non-zero on any failure.
#
# Needs: make modules and the agent tools (build/agent/qkd-agent, qkd-recv,
# qkd-send); mosquitto; iproute2; the veth module.

set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=scripts/netns-pair
. "$repo/scripts/netns-pair"
bin=${AGENT_BIN:-$repo/build/agent}
N_MQTT=${N_MQTT:-40}
M_UNIX=${M_UNIX:-40}
K_ALARM=${K_ALARM:-20}
KILL_UNIX=${KILL_UNIX:-150}
KILL_MQTT=${KILL_MQTT:-100}
sim=/sys/module/qkd_sim/parameters
links=/sys/kernel/qkdkey/links

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
	echo "agent_e2e_test: must run as root inside the test VM" >&2
	exit 2
fi
if [ "$(cat /proc/sys/kernel/hostname)" != qkdvm ] && [ "${QKD_SELFTEST_IN_VM:-}" != 1 ]; then
	echo "agent_e2e_test: not in the test VM (hostname qkdvm): it loads kernel modules" >&2
	exit 2
fi
for f in "$repo/kernel/qkdkey.ko" "$repo/kernel/qkd_sim.ko" "$bin/qkd-agent" \
	 "$bin/qkd-recv" "$bin/qkd-send"; do
	[ -r "$f" ] || { echo "agent_e2e_test: missing $f (make modules userspace)" >&2; exit 2; }
done
mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$mosq" ] || { echo "agent_e2e_test: mosquitto is not installed" >&2; exit 2; }

tmp=$(mktemp -d /tmp/agent-e2e.XXXXXX)
agent_pid= recv_pid= mosq_pid= notify_pid=
gw() { ip netns exec gw "$@"; }

cleanup() {
	for p in $agent_pid $recv_pid $mosq_pid $notify_pid; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	netns_pair_down
	[ -e /sys/module/qkd_sim ] && rmmod qkd_sim
	[ -e /sys/module/qkdkey ] && wait_for 10 rmmod qkdkey 2>/dev/null
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# Waits up to $1 seconds for the command to succeed.
wait_for() {
	local t=$1 end; shift
	end=$(($(date +%s%N) / 1000000 + t * 1000))
	until "$@"; do
		[ $(($(date +%s%N) / 1000000)) -ge "$end" ] && return 1
		sleep 0.1
	done
}

stat_of() { gw "$bin/qkd-agent" --config "$tmp/agent.conf" --stats 2>/dev/null |
	    awk -v k="$1" '$1 == k { print $2 }'; }
stat_is() { [ "$(stat_of "$1")" = "$2" ]; }
# Lines of the files given that are not in the receiver's output, into
# $tmp/miss (no process substitution: the guest may lack /dev/fd).
missing() {
	sort -u "$@" >"$tmp/want" && sort -u "$tmp/recv.out" >"$tmp/got" &&
		comm -23 "$tmp/want" "$tmp/got" >"$tmp/miss"
}
arrived() { missing "$@" && [ ! -s "$tmp/miss" ]; }
no_dups() {
	cut -d' ' -f1,2 "$tmp/recv.out" | sort | uniq -d >"$tmp/dups" && [ ! -s "$tmp/dups" ]
}
in_order() {	# device seqs grow, per device, in the receiver's output
	awk '{ if (($1 in last) && $2 <= last[$1]) bad = 1; last[$1] = $2 }
	     END { exit bad }' "$tmp/recv.out"
}
nothing_unexpected() {
	sort -u "$tmp"/exp.* >"$tmp/want" && sort -u "$tmp/recv.out" >"$tmp/got" &&
		comm -13 "$tmp/want" "$tmp/got" >"$tmp/extra" && [ ! -s "$tmp/extra" ]
}
state_is() { [ "$(cat "$links/$1/state")" = "$2" ]; }

alive() { kill -0 "$1" 2>/dev/null; }
start_agent() {
	# not through gw(): a backgrounded function is a subshell, and $!
	# must be the agent itself (ip netns exec execs it)
	ip netns exec gw env NOTIFY_SOCKET="$tmp/notify.sock" WATCHDOG_USEC=1000000 \
		"$bin/qkd-agent" --config "$tmp/agent.conf" 2>>"$tmp/agent.err" &
	agent_pid=$!
	wait_for 20 stat_is mqtt_ready 1 && alive "$agent_pid"
}

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

# Acks held back 100 ms: frames are in flight unacked when the agent is
# killed, so the restart must resend them (qkd-recv drops the duplicates).
# The 3rd ack goes out with a bad tag: the agent must end the session and
# resend what was not acked. Resent frames pass qkd-recv only if sealed
# with fresh key: /dev/qkdkey never hands out an RX byte twice.
ip netns exec ledger "$bin/qkd-recv" --link sim0b --listen 192.0.2.2 --port 7447 \
	--ack-delay 100 --corrupt-ack 3 --out "$tmp/recv.out" 2>"$tmp/recv.err" &
recv_pid=$!
disown "$recv_pid"	# no job notice when it is killed at the end
touch "$tmp/recv.out"
wait_for 10 grep -q listening "$tmp/recv.err"
check "namespaces gw and ledger joined by veth: gw reaches qkd-recv" \
	gw bash -c 'exec 3<>/dev/tcp/192.0.2.2/7447'

port=$((20000 + RANDOM % 20000))
cat >"$tmp/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 10000
log_dest stderr
EOF
chmod 0755 "$tmp"
ip netns exec gw "$mosq" -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
mosq_pid=$!
disown "$mosq_pid"
wait_for 10 gw bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null

# A stand-in for systemd's notify socket: every datagram is one line.
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
host = 127.0.0.1
port = $port
client_id = qkd-agent-e2e
[socket]
path = $tmp/agent.sock
[agent]
stats_socket = $tmp/stats.sock
key_depth = 8
EOF
check_config() { gw "$bin/qkd-agent" --config "$tmp/agent.conf" --check-config >/dev/null; }
check "qkd-agent --check-config accepts the test configuration" check_config
check "qkd-agent starts, subscribes to MQTT and answers --stats" start_agent
check "session with qkd-recv established" wait_for 20 stat_is ledger ready

# ---- 1: MQTT and the Unix socket -----------------------------------------
gw "$bin/qkd-send" mqtt --port "$port" --device mq-1 --count "$N_MQTT" >"$tmp/exp.mq1" &
p1=$!
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device ux-1 --count "$M_UNIX" \
	>"$tmp/exp.ux1" &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "$N_MQTT records published over MQTT (PUBACK)" [ "$r1" = 0 -a "$(wc -l <"$tmp/exp.mq1")" = "$N_MQTT" ]
check "$M_UNIX records sent over the Unix socket (ACK: durable)" [ "$r2" = 0 -a "$(wc -l <"$tmp/exp.ux1")" = "$M_UNIX" ]
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device sz-0 --size 0 --count 2 \
	>"$tmp/exp.sz0"
# 65520 + 16 key bytes: the most one key read returns (QKDKEY_READ_MAX)
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device sz-max --size 65520 \
	--count 2 >"$tmp/exp.szmax"
check "qkd-recv decrypted all $((N_MQTT + M_UNIX)) records byte for byte" \
	wait_for 60 arrived "$tmp/exp.mq1" "$tmp/exp.ux1"
check "empty payloads and payloads of 65520 bytes arrive" \
	wait_for 30 arrived "$tmp/exp.sz0" "$tmp/exp.szmax"
check "every record exactly once, in order per device" eval 'no_dups && in_order'
check "spool trimmed: every record acked" wait_for 20 stat_is spool_pending_records 0
check "a forged ACK ended the session (auth_failures 1)" stat_is auth_failures 1
check "and the agent went on in a new session" \
	eval '[ "$(stat_of sessions_ready)" -ge 2 ]'

# ---- 2: ALARM ------------------------------------------------------------
echo 600000 >"$sim/eve"
check "eavesdropper: sim0a goes to ALARM" wait_for 5 state_is sim0a alarm
before=$(wc -l <"$tmp/recv.out")
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device ux-2 --count "$K_ALARM" \
	--timeout 30 >"$tmp/exp.ux2"
check "$K_ALARM records accepted during ALARM" [ "$(wc -l <"$tmp/exp.ux2")" = "$K_ALARM" ]
sleep 2
check "nothing reaches qkd-recv during ALARM" [ "$(wc -l <"$tmp/recv.out")" = "$before" ]
check "the $K_ALARM records wait in the spool" \
	[ "$(stat_of spool_pending_records)" -ge "$K_ALARM" ]
check "--stats reports the link in ALARM" stat_is link_state ALARM
echo 0 >"$sim/eve"
clear_alarm() {
	echo up 2>/dev/null >"$links/sim0a/state" && echo up 2>/dev/null >"$links/sim0b/state"
}
check "link cleared (eve 0, state up at both ends)" wait_for 5 clear_alarm
check "all $K_ALARM records arrive after the ALARM is cleared" \
	wait_for 60 arrived "$tmp/exp.ux2"
check "spool trimmed after the ALARM" wait_for 20 stat_is spool_pending_records 0

# ---- 2b: new epoch ---------------------------------------------------------
sessions=$(stat_of sessions)
echo 1 >"$sim/rekey"
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device ux-4 --count 10 \
	--timeout 30 >"$tmp/exp.ux4"
check "new epoch (rekey): records arrive in a new session" \
	wait_for 60 arrived "$tmp/exp.ux4"
check "new epoch: the agent started a new session" \
	[ "$(stat_of sessions)" -gt "$sessions" ]

# ---- 3: kill -9 mid-stream -----------------------------------------------
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device ux-3 --count "$KILL_UNIX" \
	--timeout 90 >"$tmp/exp.ux3" &
p1=$!
gw "$bin/qkd-send" mqtt --port "$port" --device mq-3 --count "$KILL_MQTT" \
	--timeout 90 >"$tmp/exp.mq3" &
p2=$!
wait_for 30 eval '[ "$(wc -l <"$tmp/exp.ux3")" -ge 30 ]'
kill -9 "$agent_pid"
wait "$agent_pid" 2>/dev/null
check "kill -9 after $(wc -l <"$tmp/exp.ux3") of $KILL_UNIX Unix records were acked" \
	eval '! alive "$agent_pid"'
sleep 0.5
check "qkd-agent restarts on the same spool" start_agent
wait $p1; r1=$?
wait $p2; r2=$?
check "every Unix record acked across the restart" [ "$r1" = 0 -a "$(wc -l <"$tmp/exp.ux3")" = "$KILL_UNIX" ]
check "every MQTT record published across the restart" [ "$r2" = 0 -a "$(wc -l <"$tmp/exp.mq3")" = "$KILL_MQTT" ]
check "nothing accepted was lost: all records arrive after kill -9" \
	wait_for 90 arrived "$tmp"/exp.*
check "every record exactly once, in order per device" eval 'no_dups && in_order'
check "qkd-recv output holds only records that were sent" nothing_unexpected
check "spool trimmed after the restart" wait_for 20 stat_is spool_pending_records 0

# ---- 3b: kill -9 while records wait in the spool (ALARM) -----------------
echo 600000 >"$sim/eve"
wait_for 5 state_is sim0a alarm
gw "$bin/qkd-send" unix --socket "$tmp/agent.sock" --device ux-5 --count "$K_ALARM" \
	--timeout 30 >"$tmp/exp.ux5"
kill -9 "$agent_pid"
wait "$agent_pid" 2>/dev/null
check "kill -9 with $K_ALARM records waiting for key" eval '! alive "$agent_pid"'
check "restart: the spool still holds them" eval \
	'start_agent && [ "$(stat_of spool_pending_records)" -ge "$K_ALARM" ]'
echo 0 >"$sim/eve"
wait_for 5 clear_alarm
check "they arrive once key flows again" wait_for 60 arrived "$tmp/exp.ux5"
check "every record exactly once, in order per device" eval 'no_dups && in_order'
check "spool trimmed" wait_for 20 stat_is spool_pending_records 0

# ---- stop ----------------------------------------------------------------
kill -TERM "$agent_pid"
check "SIGTERM: qkd-agent stops" wait_for 10 eval '! alive "$agent_pid"'
wait "$agent_pid"; r=$?
check "SIGTERM: exit status 0" [ "$r" = 0 ]
agent_pid=
check "no fatal error in the agent's log" eval '! grep -q fatal "$tmp/agent.err"'
notified() { grep -q -- "$1" "$tmp/notify.log"; }
for m in READY=1 "STATUS=spool: .*; link sim0a: up" "STATUS=.*link sim0a: ALARM" \
	 WATCHDOG=1 STOPPING=1; do
	if [ "$have_py" = 1 ]; then
		check "sd_notify: $m" notified "$m"
	else
		ok "sd_notify: $m # SKIP no python3 for a notify socket"
	fi
done
kill -9 "$recv_pid" "$mosq_pid" 2>/dev/null
wait_for 5 eval '! alive "$recv_pid" && ! alive "$mosq_pid"'
recv_pid= mosq_pid=
unload() { rmmod qkd_sim 2>/dev/null; ! [ -e /sys/module/qkd_sim ] && rmmod qkdkey 2>/dev/null; }
check "modules unload: no key file left open" wait_for 10 unload
missing "$tmp"/exp.*
note "records missing at qkd-recv: $(wc -l <"$tmp/miss"); resent frames (after the forged ack and the kills) dropped there as duplicates: $(awk '/duplicates/ { s += $(NF - 3) } END { print s + 0 }' "$tmp/recv.err")"
bad=$(dmesg | grep -E 'BUG|WARNING|Oops|general protection|UBSAN|KASAN')
check "no kernel warnings" [ -z "$bad" ]
if [ "$failed" != 0 ] || [ "${VERBOSE:-0}" = 1 ]; then
	note "---- agent log"; sed 's/^/# /' "$tmp/agent.err" | tail -40
	note "---- qkd-recv log"; sed 's/^/# /' "$tmp/recv.err" | tail -20
fi
finish
