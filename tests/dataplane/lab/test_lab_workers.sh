#!/usr/bin/env bash
# Lab test: two workers on one CPU (--lcores), af_packet with two queue
# pairs (the kernel's symmetric fanout hash). 24 SMPP connections: each flow
# must be created once and both of its directions handled by one worker —
# a split flow would show as two half flows picked up mid-stream.
#   test_lab_workers.sh BUILD_DIR SOURCE_DIR PEERS_DIR
set -uo pipefail
build=$1 src=$2 peers=$3
here=$src/tests/dataplane/lab
. "$here/lib.sh"
export SMPP_MODULE=$peers/node_modules/smpp
smsc_pid=
cleanup() {
	kill_quiet "$smsc_pid"
	lab_down
}
trap cleanup EXIT
N=24 K=5

lab_down
rm -rf /run/smsfw-lab/events.jsonl /run/smsfw-lab/state # a fresh store: no customers or rulesets left by other tests
"$src/scripts/lab" up --build "$build" --workers 2 --rules "$here/rules" || fail "lab up"
ip netns exec smsfw-smsc node "$here/smsc.js" 198.18.0.2 2775 /dev/null &
smsc_pid=$!
smsc_listening
ip netns exec smsfw-esme node "$here/esme_many.js" 198.18.0.2 2775 $N $K || fail "ESMEs"
sleep 0.5
python3 - "$N" "$K" <<'PY'
import json, socket, sys
n, k = int(sys.argv[1]), int(sys.argv[2])
def tel(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect("/var/run/dpdk/smsfw-lab/dpdk_telemetry.v2")
    s.recv(1024)
    s.send(cmd.encode())
    return json.loads(s.recv(1 << 16))[cmd]
st, fl = tel("/smsfw/stats"), tel("/smsfw/flows")
fails = []
if st["workers"] != 2: fails.append(f"workers {st['workers']}")
if fl["created"] != n: fails.append(f"{fl['created']} flows created for {n} connections")
if fl["resync"] != 0: fails.append(f"{fl['resync']} resyncs (a flow split between workers?)")
if st["bind_ok"] != n: fails.append(f"bind_ok {st['bind_ok']} != {n}")
if st["submits"] != n * k: fails.append(f"submits {st['submits']} != {n * k}")
if min(fl["worker0_active"] + st["worker0_rx_frames"], st["worker1_rx_frames"]) == 0:
    fails.append("one worker saw no traffic")
per = {}
for line in open("/run/smsfw-lab/events.jsonl"):
    e = json.loads(line)
    if e["type"] == "verdict":
        per.setdefault(e["system_id"], set()).add(e["worker"])
if len(per) != n: fails.append(f"verdicts for {len(per)} sessions, not {n}")
if any(len(w) != 1 for w in per.values()): fails.append("a session's verdicts came from two workers")
ws = {next(iter(w)) for w in per.values()}
print(f"flows {fl['created']} resync {fl['resync']} binds {st['bind_ok']} submits {st['submits']} "
      f"worker0 rx {st['worker0_rx_frames']} worker1 rx {st['worker1_rx_frames']} sessions on workers {sorted(ws)}")
for f in fails: print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
