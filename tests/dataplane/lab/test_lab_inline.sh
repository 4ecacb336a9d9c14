#!/usr/bin/env bash
# Lab test, inline mode: node-smpp ESMEs (3 customers, 2,000 submit_sm with
# the known mix of test_lab_smpp.sh) and a node-smpp SMSC through
# smsfw-dataplane in mode = inline. Blocked submits never reach the SMSC and
# are answered by the dataplane; tcpdump runs in both namespaces (bounded,
# stopped by PID) and tshark checks the captures. Cleans up even on failure.
#   test_lab_inline.sh BUILD_DIR SOURCE_DIR PEERS_DIR CORPUS_DIR [VARIANT]
# VARIANT: clean (default: charlie 50 outstanding, the others 10), window50
# (every ESME 50 outstanding); a +tcp suffix also requires captures free of
# any tcp.analysis problem (known to fail, see dataplane/README.md); nft (window50 plus nftables netdev egress
# impairment in both namespaces: 2 % loss, 1 % duplication), impair-inj
# (the dataplane's test impairer drops the first copy of every injected
# response), impair-dup (it delivers segments that lost a blocked PDU twice),
# impair-reorder (it holds back the ESME's next segment after one that lost a
# blocked PDU and feeds it after the segment that follows it), swap (a new
# ruleset published through the control plane when half the submits are
# answered: rule 9002 comes back as 9012; telemetry is sampled meanwhile).
set -uo pipefail
build=$1 src=$2 peers=$3 corpus=$4 variant=${5:-clean}
here=$src/tests/dataplane/lab
work=$(mktemp -d /tmp/smsfw-inline.XXXXXX)
export SMPP_MODULE=$peers/node_modules/smpp
smsc_pid= dump_e= dump_s= sampler= swapper=

nft_clean() {
	for ns in smsfw-esme smsfw-smsc; do
		ip netns exec $ns nft delete table netdev smsfw_impair 2>/dev/null
	done
}
cleanup() {
	[ -n "$smsc_pid" ] && kill "$smsc_pid" 2>/dev/null
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	[ -n "$swapper" ] && kill "$swapper" 2>/dev/null
	[ -n "$dump_e" ] && kill "$dump_e" 2>/dev/null
	[ -n "$dump_s" ] && kill "$dump_s" 2>/dev/null
	nft_clean
	"$src/scripts/lab" down >/dev/null 2>&1
	unset SMSFW_TEST_IMPAIR
	if [ -n "${SMSFW_KEEP:-}" ]; then
		cp /run/smsfw-lab/dataplane.log /run/smsfw-lab/events.jsonl "$work/" 2>/dev/null
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

case ${variant%+tcp} in
clean) ;;
window50 | nft) export ESME_WINDOW=50 ;;
impair-inj) export SMSFW_TEST_IMPAIR=0x1 ;;
impair-dup) export SMSFW_TEST_IMPAIR=0x2 ;;
impair-reorder) export SMSFW_TEST_IMPAIR=0x4 ;;
swap) ;;
*) echo "FAIL: unknown variant $variant"; exit 2 ;;
esac

"$src/scripts/lab" down >/dev/null 2>&1
rm -rf /run/smsfw-lab/events.jsonl /run/smsfw-lab/state
rules_opt=$here/rules
[ "${variant%+tcp}" = swap ] && rules_opt= # the rules come from the control plane
if ! "$src/scripts/lab" up --build "$build" --config "$here/lab-inline.conf" --rules "$rules_opt"; then
	echo "FAIL: lab up"
	exit 1
fi
unset SMSFW_TEST_IMPAIR
run=/run/smsfw-lab
tel_sock=/var/run/dpdk/smsfw-lab/dpdk_telemetry.v2
swap_arg=()

if [ "${variant%+tcp}" = swap ]; then
	ctl=$build/controlplane/smsfwctl
	[ -x "$build/controlplane/smsfw-controld" ] || { echo "controld not built"; exit 77; }
	sctl() { "$ctl" --config "$here/lab-inline.conf" "$@"; }
	# The second ruleset decides every message of the mix as the first, but
	# its prize-spam rule is 9012: the events show which one judged.
	mkdir "$work/rules-v2"
	sed 's/^rule id=9002 /rule id=9012 /' "$here/rules/lab.rules" >"$work/rules-v2/lab.rules"
	grep -q '^rule id=9012 ' "$work/rules-v2/lab.rules" || { echo "FAIL: rules-v2"; exit 1; }
	for _ in $(seq 100); do [ -S "$run/controld.sock" ] && break; sleep 0.1; done
	sctl rules publish "$here/rules" >/dev/null || { echo "FAIL: rules publish (first)"; exit 1; }
	for _ in $(seq 100); do
		python3 "$here/tel_sample.py" --once "$tel_sock" 2>/dev/null | grep -q '"source": "store"' && break
		sleep 0.1
	done
	python3 "$here/tel_sample.py" --once "$tel_sock" | grep -q '"source": "store"' ||
		{ echo "FAIL: the published ruleset is not active"; exit 1; }
	python3 "$here/tel_sample.py" "$tel_sock" "$work/samples.jsonl" 20 &
	sampler=$!
	# Publish the second ruleset when the ESMEs are half-way.
	(
		for _ in $(seq 1200); do
			if [ -f "$work/swap" ]; then
				sctl rules publish "$work/rules-v2" >"$work/publish.out" 2>&1
				echo $? >"$work/publish.rc"
				exit 0
			fi
			sleep 0.05
		done
	) &
	swapper=$!
	swap_arg=("$work/swap")
fi

if [ "${variant%+tcp}" = nft ]; then
	# The kernel has no netem: netdev egress rules on the peers' veths.
	for ns in smsfw-esme smsfw-smsc; do
		dev=$(ip netns exec $ns ip -o link show | awk -F': ' '$2 !~ /^lo/ {sub(/@.*/, "", $2); print $2; exit}')
		ip netns exec $ns nft -f - <<NFT || { echo "FAIL: nft rules in $ns"; exit 1; }
table netdev smsfw_impair {
	chain egress {
		type filter hook egress device "$dev" priority 0;
		tcp dport 2775 numgen random mod 100 < 2 counter drop
		tcp sport 2775 numgen random mod 100 < 2 counter drop
		tcp dport 2775 numgen random mod 100 < 1 counter dup to "$dev"
		tcp sport 2775 numgen random mod 100 < 1 counter dup to "$dev"
	}
}
NFT
	done
fi

# Captures in both namespaces: bounded in packets and size, stopped by PID.
ip netns exec smsfw-esme timeout 300 tcpdump -i any -n -s 256 -c 200000 -w "$work/esme.pcap" \
	'tcp port 2775' 2>/dev/null &
dump_e=$!
ip netns exec smsfw-smsc timeout 300 tcpdump -i any -n -s 256 -c 200000 -w "$work/smsc.pcap" \
	'tcp port 2775' 2>/dev/null &
dump_s=$!
sleep 1

ip netns exec smsfw-smsc node "$here/smsc.js" 198.18.0.2 2775 "$work/smsc.json" &
smsc_pid=$!
for _ in $(seq 50); do
	ip netns exec smsfw-smsc ss -ltn 2>/dev/null | grep -q '198.18.0.2:2775' && break
	sleep 0.1
done

ip netns exec smsfw-esme node "$here/esme.js" 198.18.0.2 2775 "$corpus/sms/uci-dev.tsv" \
	"$work/esme.json" "${swap_arg[@]}"
esme_rc=$?
if [ -n "$swapper" ]; then
	wait "$swapper"
	swapper=
	[ "$(cat "$work/publish.rc" 2>/dev/null)" = 0 ] ||
		{ echo "FAIL: rules publish (mid-run): $(cat "$work/publish.out" 2>/dev/null)"; esme_rc=1; }
fi
if [ -n "$sampler" ]; then
	kill -TERM "$sampler"
	wait "$sampler"
	sampler=
fi
sleep 0.5
kill -TERM "$smsc_pid"
wait "$smsc_pid"
smsc_pid=
sleep 0.5
kill -INT "$dump_e" "$dump_s" 2>/dev/null
wait "$dump_e" "$dump_s" 2>/dev/null
dump_e= dump_s=
nft_out=
if [ "${variant%+tcp}" = nft ]; then
	nft_out=$(for ns in smsfw-esme smsfw-smsc; do ip netns exec $ns nft list table netdev smsfw_impair; done)
fi
kill -TERM "$(cat $run/dataplane.pid)"
for _ in $(seq 50); do
	kill -0 "$(cat $run/dataplane.pid)" 2>/dev/null || break
	sleep 0.1
done
[ $esme_rc -eq 0 ] || echo "FAIL: esme.js exited $esme_rc"
echo "$nft_out" | grep -o 'counter packets [0-9]*' | tr '\n' ' '; echo
python3 "$here/check_inline.py" "$variant" "$work/esme.json" "$work/smsc.json" \
	"$run/events.jsonl" "$run/dataplane.log" "$work/esme.pcap" "$work/smsc.pcap" \
	"$work/samples.jsonl"
rc=$?
[ $esme_rc -eq 0 ] || rc=1
exit $rc
