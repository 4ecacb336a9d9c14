#!/usr/bin/env bash
# Lab test, inline mode: submit_multi with per-destination verdicts through
# smsfw-dataplane between a node-smpp ESME (esme_multi.js, customer charlie,
# whose session receives the subscriber 447700900999's STOP) and the
# node-smpp SMSC (smsc.js). The SMSC must receive each submit_multi with
# exactly the passed destinations (none of a fully blocked one), the ESME's
# submit_multi_resp must list the blocked destinations with their status
# after the SMSC's own unsuccess entries, and the connection must go on
# (submit_sm, enquire_link, unbind) with no RST, and tcpdump captures in
# both namespaces must show no tcp.analysis problem (retransmission,
# duplicate ACK, lost or out-of-order segment, RST). Run under
# flock /tmp/smsfw-lab.lock.
#   test_lab_multi.sh BUILD_DIR SOURCE_DIR PEERS_DIR [VARIANT]
# VARIANT: clean (default); impair-dup (the dataplane's test impairer feeds
# every segment that lost bytes to an edit, the rewritten submit_multi
# included, a second time: retrans_edited must move, the SMSC still gets
# each rewritten PDU once); impair-inj (it drops the first copy of every
# injected answer: inj_resent must move); nft (nftables netdev egress rules
# in both namespaces drop 15 % and duplicate 5 % of the SMPP segments,
# SYN/FIN/RST excepted: the answers stay exact, no RST). The
# impaired variants are not held to the capture check (their
# retransmissions are the point).
set -uo pipefail
build=$1 src=$2 peers=$3 variant=${4:-clean}
case $variant in
clean) ;;
impair-dup) export SMSFW_TEST_IMPAIR=0x2 ;;
impair-inj) export SMSFW_TEST_IMPAIR=0x1 ;;
nft) ;;
*) echo "FAIL: unknown variant $variant"; exit 2 ;;
esac
here=$src/tests/dataplane/lab
work=$(mktemp -d /tmp/smsfw-multi.XXXXXX)
export SMPP_MODULE=$peers/node_modules/smpp
smsc_pid= dump_e= dump_s=
nft_clean() {
	for ns in smsfw-esme smsfw-smsc; do
		ip netns exec $ns nft delete table netdev smsfw_impair 2>/dev/null
	done
}
cleanup() {
	[ -n "$smsc_pid" ] && kill "$smsc_pid" 2>/dev/null
	nft_clean
	[ -n "$dump_e" ] && kill "$dump_e" 2>/dev/null
	[ -n "$dump_s" ] && kill "$dump_s" 2>/dev/null
	"$src/scripts/lab" down >/dev/null 2>&1
	if [ -n "${SMSFW_KEEP:-}" ]; then
		cp /run/smsfw-lab/dataplane.log /run/smsfw-lab/events.jsonl "$work/" 2>/dev/null
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

"$src/scripts/lab" down >/dev/null 2>&1
rm -rf /run/smsfw-lab/events.jsonl /run/smsfw-lab/state
"$src/scripts/lab" up --build "$build" --config "$here/lab-inline.conf" --rules "$here/rules" ||
	{ echo "FAIL: lab up"; exit 1; }
unset SMSFW_TEST_IMPAIR
run=/run/smsfw-lab
if [ "$variant" = nft ]; then
	# The kernel has no netem: netdev egress rules on the peers' veths.
	# Only data segments are duplicated: a duplicated last ACK reaches a
	# peer whose socket is gone, which answers with a RST.
	for ns in smsfw-esme smsfw-smsc; do
		dev=$(ip netns exec $ns ip -o link show | awk -F': ' '$2 !~ /^lo/ {sub(/@.*/, "", $2); print $2; exit}')
		ip netns exec $ns nft -f - <<NFT || { echo "FAIL: nft rules in $ns"; exit 1; }
table netdev smsfw_impair {
	chain egress {
		type filter hook egress device "$dev" priority 0;
		tcp dport 2775 tcp flags & (syn | fin | rst) == 0 numgen random mod 100 < 15 counter drop
		tcp sport 2775 tcp flags & (syn | fin | rst) == 0 numgen random mod 100 < 15 counter drop
		tcp dport 2775 ip length > 64 numgen random mod 100 < 5 counter dup to "$dev"
		tcp sport 2775 ip length > 64 numgen random mod 100 < 5 counter dup to "$dev"
	}
}
NFT
	done
fi
ip netns exec smsfw-esme timeout 120 tcpdump -i any -n -s 512 -c 20000 -w "$work/esme.pcap" \
	'tcp port 2775' 2>/dev/null &
dump_e=$!
ip netns exec smsfw-smsc timeout 120 tcpdump -i any -n -s 512 -c 20000 -w "$work/smsc.pcap" \
	'tcp port 2775' 2>/dev/null &
dump_s=$!
sleep 1
STOP_TO=charlie ip netns exec smsfw-smsc node "$here/smsc.js" 198.18.0.2 2775 "$work/smsc.json" &
smsc_pid=$!
for _ in $(seq 50); do
	ip netns exec smsfw-smsc ss -ltn 2>/dev/null | grep -q '198.18.0.2:2775' && break
	sleep 0.1
done
ip netns exec smsfw-esme node "$here/esme_multi.js" 198.18.0.2 2775 "$work/esme.json"
esme_rc=$?
sleep 0.5
kill -TERM "$smsc_pid"
wait "$smsc_pid"
smsc_pid=
sleep 0.5
nft_hits=0
if [ "$variant" = nft ]; then
	hits=$(for ns in smsfw-esme smsfw-smsc; do ip netns exec $ns nft list table netdev smsfw_impair; done |
		grep -o 'counter packets [0-9]*' | awk '{print $3}')
	echo "nft counters (drop, drop, dup, dup per namespace):" $hits
	nft_hits=$(echo $hits | awk '{for (i = 1; i <= NF; i++) s += $i} END {print s + 0}')
fi
kill -INT "$dump_e" "$dump_s" 2>/dev/null
wait "$dump_e" "$dump_s" 2>/dev/null
dump_e= dump_s=
LAB_DIR=$here python3 - "$work/esme.json" "$work/smsc.json" "$run/events.jsonl" "$work/esme.pcap" \
	"$work/smsc.pcap" "$variant" <<'PY'
import json, os, socket, sys
sys.path.insert(0, os.environ["LAB_DIR"])
import labcheck
esme = json.load(open(sys.argv[1]))
smsc = json.load(open(sys.argv[2]))
fails = list(esme["errors"]) + list(smsc["errors"])
got = {r["seq"]: r for r in smsc["received"] if r["sid"] == "charlie"}
for c in esme["cases"]:
    if "dests" not in c:
        continue
    r = got.get(c["seq"])
    if c["smsc"] is None:
        if r is not None:
            fails.append(f"{c['name']}: reached the SMSC: {r}")
    elif r is None:
        fails.append(f"{c['name']}: never reached the SMSC")
    elif r.get("multi") != c["smsc"]:
        fails.append(f"{c['name']}: SMSC got destinations {r.get('multi')}, want {c['smsc']}")
for r in smsc["received"]:
    if "447700900999" in (r.get("multi") or []) or r.get("dst") == "447700900999":
        fails.append(f"the opted-out subscriber reached the SMSC: {r}")
# a verdict event per destination
ev = [json.loads(l) for l in open(sys.argv[3])]
multi = [e for e in ev if e.get("type") == "verdict" and e.get("command") == "submit_multi"]
want = sum(len(c["dests"]) for c in esme["cases"] if "dests" in c)
if len(multi) != want:
    fails.append(f"{len(multi)} submit_multi verdict events, want one per destination ({want})")
def tel(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect("/var/run/dpdk/smsfw-lab/dpdk_telemetry.v2")
    s.recv(1024)
    s.send(cmd.encode())
    return json.loads(s.recv(1 << 16))[cmd]
st = tel("/smsfw/stats")
if st.get("edit_resets", 0) != 0:
    fails.append(f"edit_resets {st['edit_resets']}")
# every partly blocked submit_multi rewritten toward the SMSC, its answer merged
partial = sum(1 for c in esme["cases"] if c.get("smsc") and len(c["smsc"]) < len(c["dests"]))
for k in ("edit_multi_partial", "edit_multi_merged"):
    if st.get(k) != partial:
        fails.append(f"{k} {st.get(k)}, want {partial}")
for k in ("edit_multi_fallback", "edit_multi_unmerged"):
    if st.get(k) != 0:
        fails.append(f"{k} {st.get(k)}")
# TCP health seen by each peer: the edits caused no retransmission,
# duplicate ACK, lost or out-of-order segment, and no RST.
PROBLEMS = labcheck.PROBLEMS
tshark_count = labcheck.tshark_count
variant = sys.argv[6]
for side, pcap in (("esme", sys.argv[4]), ("smsc", sys.argv[5])):
    frames, bad = tshark_count(pcap, "tcp"), tshark_count(pcap, PROBLEMS)
    if frames < 10:
        fails.append(f"{side} capture has {frames} frames")
    if bad and variant == "clean":
        fails.append(f"{side} capture: {bad} tcp.analysis problems")
    if variant == "nft":
        rt = tshark_count(pcap, "tcp.analysis.retransmission || tcp.analysis.fast_retransmission")
        print(f"{side} capture: {rt} retransmissions")
        retrans_seen = globals().get("retrans_seen", 0) + rt
        globals()["retrans_seen"] = retrans_seen
    print(f"{side} capture: {frames} frames, {bad} problems")
# The kernel's answer to a duplicated last ACK is the only RST allowed.
late = labcheck.check_resets({"esme": sys.argv[4], "smsc": sys.argv[5]}, st.get("smpp_rst", 0), fails)
print("RSTs after a close:", late)
print("cases:", ", ".join(f"{c['name']} status {c['status']}" for c in esme["cases"]))
print("smsc got:", [r.get("multi") or r.get("dst") for r in smsc["received"] if r["sid"] == "charlie"][:6], "...")
print("rewritten and merged:", st.get("edit_multi_partial"), st.get("edit_multi_merged"))
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
rc=$?
[ $esme_rc -eq 0 ] || { echo "FAIL: esme_multi.js exited $esme_rc"; rc=1; }
# The dataplane's final counters (SIGTERM): the impairer had its effect.
kill -TERM "$(cat $run/dataplane.pid)"
for _ in $(seq 50); do
	kill -0 "$(cat $run/dataplane.pid)" 2>/dev/null || break
	sleep 0.1
done
final=$(grep 'smsfw-dataplane final:' "$run/dataplane.log" | tail -1)
cnt() { echo "$final" | grep -o " $1 [0-9]*" | awk '{print $2}'; }
echo "final: removed $(cnt removed) injected $(cnt injected) inj_resent $(cnt inj_resent) retrans_edited $(cnt retrans_edited) edit_resets $(cnt edit_resets)"
[ "$(cnt edit_resets)" = 0 ] || { echo "FAIL: edit_resets $(cnt edit_resets)"; rc=1; }
if [ "$variant" = nft ] && [ "$nft_hits" -eq 0 ]; then
	echo "FAIL: the nftables impairment never hit a segment"; rc=1
fi
if [ "$variant" = impair-dup ] && ! [ "$(cnt retrans_edited)" -gt 0 ]; then
	echo "FAIL: retrans_edited did not move"; rc=1
fi
if [ "$variant" = impair-inj ] && ! [ "$(cnt inj_resent)" -ge 2 ]; then
	echo "FAIL: inj_resent $(cnt inj_resent): the two answers' first copies were dropped"; rc=1
fi
exit $rc
