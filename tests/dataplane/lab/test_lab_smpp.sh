#!/usr/bin/env bash
# Lab test: node-smpp ESMEs (3 customers, 2,000 submit_sm with a known mix)
# and a node-smpp SMSC, joined through smsfw-dataplane in the namespace lab,
# with a ruleset swap (SIGHUP) half-way. Cleans the lab up even on failure.
#   test_lab_smpp.sh BUILD_DIR SOURCE_DIR PEERS_DIR CORPUS_DIR
set -uo pipefail
build=$1 src=$2 peers=$3 corpus=$4
here=$src/tests/dataplane/lab
. "$here/lib.sh"
work=$(mktemp -d /tmp/smsfw-labtest.XXXXXX)
export SMPP_MODULE=$peers/node_modules/smpp
smsc_pid=

cleanup() {
	kill_quiet "$smsc_pid"
	lab_down
	rm -rf "$work"
}
trap cleanup EXIT

lab_down
rm -rf /run/smsfw-lab/events.jsonl /run/smsfw-lab/state # a fresh store: no customers or rulesets left by other tests
"$src/scripts/lab" up --build "$build" --config "$here/lab-test.conf" --rules "$here/rules" ||
	fail "lab up"
run=/run/smsfw-lab

ip netns exec smsfw-smsc node "$here/smsc.js" 198.18.0.2 2775 "$work/smsc.json" &
smsc_pid=$!
smsc_listening

# Swap the ruleset (SIGHUP reloads it) when the ESMEs are half-way.
(
	for _ in $(seq 1200); do
		if [ -f "$work/swap" ]; then
			kill -HUP "$(cat $run/dataplane.pid)"
			exit 0
		fi
		sleep 0.1
	done
) &
swapper=$!

ip netns exec smsfw-esme node "$here/esme.js" 198.18.0.2 2775 "$corpus/sms/uci-dev.tsv" \
	"$work/esme.json" "$work/swap"
esme_rc=$?
wait $swapper
kill -TERM "$smsc_pid"
wait "$smsc_pid"
smsc_pid=
sleep 0.5 # the last events leave the worker rings
dp_stop
[ $esme_rc -eq 0 ] || echo "FAIL: esme.js exited $esme_rc"
python3 "$here/check_lab.py" "$work/esme.json" "$work/smsc.json" "$run/events.jsonl" \
	"$run/dataplane.log"
rc=$?
[ $esme_rc -eq 0 ] || rc=1
exit $rc
