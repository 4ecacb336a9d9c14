#!/usr/bin/env bash
# Lab test, inline mode: the dataplane is killed (SIGKILL) and started again
# while two node-smpp ESMEs stay bound. alpha had a message blocked before
# (its sequence spaces differ by the removed and the injected bytes); bravo
# only had messages passed. After the restart bravo's next submits are
# answered on the same connection (resynchronised, no reset; its spam is
# blocked); alpha's first
# submit makes the dataplane reset its flow toward both ends (RST at the ESME
# and at the SMSC, counted in probe_resets and logged), alpha rebinds at once
# and its next submits are answered (one blocked again). tcpdump runs in
# both namespaces; check_restart.py judges. Cleans up even on failure.
#   test_lab_restart.sh BUILD_DIR SOURCE_DIR PEERS_DIR
set -uo pipefail
build=$1 src=$2 peers=$3
here=$src/tests/dataplane/lab
. "$here/lib.sh"
work=$(mktemp -d /tmp/smsfw-restart.XXXXXX)
export SMPP_MODULE=$peers/node_modules/smpp
run=/run/smsfw-lab
smsc_pid= dump_e= dump_s= a_pid= b_pid=

cleanup() {
	exec 3>&- 4>&- 2>/dev/null
	kill_quiet $a_pid $b_pid $smsc_pid $dump_e $dump_s
	lab_down
	keep_or_remove "$work"
}
trap cleanup EXIT

lab_down
rm -rf $run/events.jsonl $run/state $run/dataplane2.log
# Standalone: the restart concerns the dataplane alone.
SMSFW_LAB_NO_CONTROLD=1 "$src/scripts/lab" up --build "$build" --config "$here/lab-inline.conf" \
	--rules "$here/rules" || fail "lab up"

ip netns exec smsfw-esme timeout 120 tcpdump -i any -n -s 256 -c 20000 -w "$work/esme.pcap" \
	'tcp port 2775' 2>/dev/null &
dump_e=$!
ip netns exec smsfw-smsc timeout 120 tcpdump -i any -n -s 256 -c 20000 -w "$work/smsc.pcap" \
	'tcp port 2775' 2>/dev/null &
dump_s=$!
sleep 1

STOP_TO=nobody ip netns exec smsfw-smsc node "$here/smsc.js" 198.18.0.2 2775 "$work/smsc.json" &
smsc_pid=$!
smsc_listening

mkfifo "$work/a.in" "$work/b.in"
ip netns exec smsfw-esme node "$here/esme_session.js" 198.18.0.2 2775 alpha <"$work/a.in" >"$work/a.out" &
a_pid=$!
ip netns exec smsfw-esme node "$here/esme_session.js" 198.18.0.2 2775 bravo <"$work/b.in" >"$work/b.out" &
b_pid=$!
exec 3>"$work/a.in" 4>"$work/b.in"
wait_for "$work/a.out" '"ev":"bound"' 1 10
wait_for "$work/b.out" '"ev":"bound"' 1 10

# Before the restart: alpha has a message blocked (its flow is edited),
# bravo only passed messages.
echo "send Lunch at noon tomorrow? Table for two booked" >&3
echo "send Congratulations! WIN a FREE iPhone today, reply YES to claim" >&3
echo "send Running ten minutes late, start without me" >&3
echo "send Meeting moved to room 4, bring the slides" >&4
echo "send The parcel is at the front desk" >&4
wait_for "$work/a.out" '"ev":"resp"' 3 10
wait_for "$work/b.out" '"ev":"resp"' 2 10
sleep 0.3 # the ESMEs' ACKs of the last responses cross too

# Kill the dataplane and start it again with the same command line.
pid=$(cat $run/dataplane.pid)
mapfile -d '' cmd <"/proc/$pid/cmdline"
kill -KILL "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the dataplane survived SIGKILL"
cp $run/dataplane.log "$work/dataplane1.log"
"${cmd[@]}" >$run/dataplane2.log 2>&1 &
echo $! >$run/dataplane.pid
dp_up || fail "no traffic through the restarted dataplane"
echo "restarted: $(grep -c . $run/dataplane2.log) log lines"

# bravo first: resynchronised, answered on the same connection, and still
# enforced: its spam is blocked (its flow's first edit after the restart).
echo "send Can you call me back after six" >&4
wait_for "$work/b.out" '"ev":"resp"' 3 5
echo "send Congratulations! WIN a FREE iPhone now, reply YES" >&4
wait_for "$work/b.out" '"ev":"resp"' 4 5
# alpha's first submit after the restart: its flow is reset toward both
# ends; it rebinds and goes on.
date +%s.%N >"$work/a_restart_send"
echo "send Happy birthday, see you at the party" >&3
wait_for "$work/a.out" '"ev":"closed"' 1 5
date +%s.%N >"$work/a_closed_at"
wait_for "$work/a.out" '"ev":"bound"' 2 10
echo "send Your table is ready, please come to the desk" >&3
echo "send Congratulations! WIN a FREE prize today, reply YES to claim" >&3
echo "send Thanks, got it" >&3
echo "send Train delayed, home by nine" >&4
wait_for "$work/a.out" '"ev":"resp"' 6 10
wait_for "$work/b.out" '"ev":"resp"' 5 10
python3 "$here/tel_sample.py" --once /var/run/dpdk/smsfw-lab/dpdk_telemetry.v2 >"$work/tel.json" ||
	echo "{}" >"$work/tel.json"
echo quit >&3
echo quit >&4
exec 3>&- 4>&-
wait_for "$work/a.out" '"ev":"unbound"' 1 5
wait_for "$work/b.out" '"ev":"unbound"' 1 5
wait $a_pid $b_pid
a_pid= b_pid=
sleep 0.3
kill -TERM "$smsc_pid"
wait "$smsc_pid"
smsc_pid=
sleep 0.3
kill -INT "$dump_e" "$dump_s" 2>/dev/null
wait "$dump_e" "$dump_s" 2>/dev/null
dump_e= dump_s=
dp_stop
cp $run/dataplane2.log "$work/dataplane2.log"
cp $run/events.jsonl "$work/events.jsonl"
python3 "$here/check_restart.py" "$work"
