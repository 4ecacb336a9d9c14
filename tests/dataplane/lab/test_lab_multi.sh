#!/usr/bin/env bash
# Lab test, inline mode: submit_multi with per-destination verdicts through
# smsfw-dataplane between a node-smpp ESME (esme_multi.js, customer charlie,
# whose session receives the subscriber 447700900999's STOP) and the
# node-smpp SMSC (smsc.js). The SMSC must receive each submit_multi with
# exactly the passed destinations (none of a fully blocked one), the ESME's
# submit_multi_resp must list the blocked destinations with their status
# after the SMSC's own unsuccess entries, and the connection must go on
# (submit_sm, enquire_link, unbind) with no RST. Run under
# flock /tmp/smsfw-lab.lock.
#   test_lab_multi.sh BUILD_DIR SOURCE_DIR PEERS_DIR
set -uo pipefail
build=$1 src=$2 peers=$3
here=$src/tests/dataplane/lab
work=$(mktemp -d /tmp/smsfw-multi.XXXXXX)
export SMPP_MODULE=$peers/node_modules/smpp
smsc_pid=
cleanup() {
	[ -n "$smsc_pid" ] && kill "$smsc_pid" 2>/dev/null
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
run=/run/smsfw-lab
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
python3 - "$work/esme.json" "$work/smsc.json" "$run/events.jsonl" <<'PY'
import json, socket, sys
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
if st.get("smpp_rst", 0) != 0:
    fails.append(f"smpp_rst {st['smpp_rst']}")
print("cases:", ", ".join(f"{c['name']} status {c['status']}" for c in esme["cases"]))
print("smsc got:", [r.get("multi") or r.get("dst") for r in smsc["received"] if r["sid"] == "charlie"])
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
rc=$?
[ $esme_rc -eq 0 ] || { echo "FAIL: esme_multi.js exited $esme_rc"; rc=1; }
exit $rc
