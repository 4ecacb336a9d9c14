#!/usr/bin/env bash
# Lab test of the control plane with the dataplane inline (issue 6, section
# 7): automatic suspension on fraud (next submits and binds refused, the
# delay from the commit measured), a complaint flood warning the customer,
# a rule directory with a syntax error refused while traffic runs on the old
# rules, and an old signed bundle refused as a downgrade. The steps are in
# check_policy.py; this script owns the lab and cleans up even on failure.
#   test_lab_policy.sh BUILD_DIR SOURCE_DIR PEERS_DIR
set -uo pipefail
build=$1 src=$2 peers=$3
here=$src/tests/controlplane/lab
export SMPP_MODULE=$peers/node_modules/smpp
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
[ -x "$build/controlplane/smsfw-controld" ] || { echo "controld not built"; exit 77; }
command -v node >/dev/null || { echo "node not installed"; exit 77; }
work=$(mktemp -d /tmp/smsfw-labpol.XXXXXX)
smsc_pid= lab_mine=
cleanup() {
	[ -n "$smsc_pid" ] && kill "$smsc_pid" 2>/dev/null && wait "$smsc_pid" 2>/dev/null
	if [ -n "$lab_mine" ]; then
		"$src/scripts/lab" down >/dev/null 2>&1
		rm -rf /run/smsfw-lab/state
	fi
	if [ -n "${SMSFW_KEEP:-}" ]; then
		cp /run/smsfw-lab/*.log /run/smsfw-lab/events.jsonl "$work/" 2>/dev/null
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The lab is one shared resource: never tear down a lab someone else runs.
busy() { ip netns list 2>/dev/null | grep -q '^smsfw-' || pgrep -f smsfw-dataplane >/dev/null; }
for _ in $(seq 60); do busy || break; sleep 1; done
busy && fail "the lab is in use (or stale: scripts/lab down)"

lab_mine=1
rm -rf /run/smsfw-lab/state /run/smsfw-lab/events.jsonl
"$src/scripts/lab" up --build "$build" --config "$here/lab-policy.conf" --rules "" ||
	fail "lab up"

ip netns exec smsfw-smsc node "$here/smsc_policy.js" 198.18.0.2 2775 >"$work/smsc.tsv" \
	2>"$work/smsc.log" &
smsc_pid=$!
for _ in $(seq 50); do
	ip netns exec smsfw-smsc ss -ltn 2>/dev/null | grep -q '198.18.0.2:2775' && break
	sleep 0.1
done

python3 "$here/check_policy.py" "$build" "$here" "$work" "$here/lab-policy.conf" "$work/smsc.tsv"
