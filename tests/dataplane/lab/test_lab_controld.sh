#!/usr/bin/env bash
# Lab test with smsfw-controld: a standing change committed by the control
# plane reaches a live session (measured), a ruleset published through
# smsfwctl replaces the standalone one, and verdict facts and observations
# reach controld. Skipped (77) when controld is not built.
#   test_lab_controld.sh BUILD_DIR SOURCE_DIR PEERS_DIR
set -uo pipefail
build=$1 src=$2 peers=$3
here=$src/tests/dataplane/lab
. "$here/lib.sh"
export SMPP_MODULE=$peers/node_modules/smpp
ctl=$build/controlplane/smsfwctl
[ -x "$build/controlplane/smsfw-controld" ] || { echo "controld not built"; exit 77; }
work=$(mktemp -d /tmp/smsfw-labctl.XXXXXX)
smsc_pid= esme_pid=
cleanup() {
	kill_quiet "$esme_pid" "$smsc_pid"
	lab_down
	rm -rf /run/smsfw-lab/state "$work"
}
trap cleanup EXIT

lab_down
rm -rf /run/smsfw-lab/state /run/smsfw-lab/events.jsonl
conf=$src/scripts/lab.d/lab.conf
"$src/scripts/lab" up --build "$build" --config "$conf" --rules "" || fail "lab up"
sctl() { "$ctl" --config "$conf" "$@"; }

sctl customers add acme --senders 447700900001 >/dev/null || fail "customers add"
sctl rules publish "$here/rules" >/dev/null || fail "rules publish"
for _ in $(seq 50); do [ "$(tel /smsfw/ruleset source)" = store ] && [ "$(tel /smsfw/ruleset rules)" = 4 ] && break; sleep 0.1; done
[ "$(tel /smsfw/ruleset rules)" = 4 ] || fail "published ruleset not loaded from the store"
[ "$(tel /smsfw/customers acme)" = active ] || fail "customer acme not in the snapshot"

STOP_TO=latecomer ip netns exec smsfw-smsc node "$here/smsc.js" 198.18.0.2 2775 /dev/null >/dev/null &
smsc_pid=$!
smsc_listening
mkfifo "$work/in"
ip netns exec smsfw-esme node "$here/esme_steps.js" 198.18.0.2 2775 acme <"$work/in" >"$work/out" &
esme_pid=$!
exec 3>"$work/in"
echo "hello, dinner at eight?" >&3
echo "WIN a FREE iPhone now" >&3
sleep 1
# Suspend acme while its session is live; time from the commit (smsfwctl
# returns) until the dataplane's snapshot has it: the issue asks <= 100 ms.
python3 - "$ctl" "$conf" <<'PY' || fail "standing change too slow or lost"
import json, socket, subprocess, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect("/var/run/dpdk/smsfw-lab/dpdk_telemetry.v2"); s.recv(1024)
def standing():
    s.send(b"/smsfw/customers")
    return json.loads(s.recv(1 << 16))["/smsfw/customers"].get("acme")
subprocess.run([sys.argv[1], "--config", sys.argv[2], "customers", "suspend", "acme",
                "--reason", "lab test"], check=True, stdout=subprocess.DEVNULL)
t0 = time.monotonic()
while standing() != "suspended" and time.monotonic() - t0 < 2:
    time.sleep(0.002)
ms = (time.monotonic() - t0) * 1000
print(f"standing change visible to the dataplane {ms:.0f} ms after the commit")
sys.exit(0 if standing() == "suspended" and ms <= 100 else 1)
PY
echo "see you tomorrow" >&3
sleep 1
echo quit >&3
exec 3>&-
wait "$esme_pid"; esme_pid=
sleep 0.5
python3 - /run/smsfw-lab/events.jsonl <<'PY' || exit 1
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"verdict"' in l]
ev = [e for e in ev if e["type"] == "verdict" and e["system_id"] == "acme"]
got = [(e["verdict"], e["category"], e["rule"]) for e in ev]
want = [("pass", "none", ""), ("block", "content", "9002"), ("block", "standing", "builtin:standing")]
print("acme verdicts:", got)
sys.exit(0 if got == want else 1)
PY
# Observations reached controld's message log.
for _ in $(seq 30); do
	[ "$(tel /smsfw/stats controld_observations_sent)" -ge 3 ] 2>/dev/null && break; sleep 0.1
done
[ "$(tel /smsfw/stats controld_observations_sent)" -ge 3 ] || fail "observations not sent to controld"
[ "$(tel /smsfw/stats controld_connected)" = 1 ] || fail "not connected to controld"
sctl events tail --customer acme --count 10 || fail "smsfwctl events tail"

# controld goes away; a subscriber's STOP (a fact) is spooled, on disk too,
# and delivered exactly once when controld is back.
kill -TERM "$(cat /run/smsfw-lab/controld.pid)"
for _ in $(seq 50); do [ "$(tel /smsfw/stats controld_connected)" = 0 ] && break; sleep 0.1; done
[ "$(tel /smsfw/stats controld_connected)" = 0 ] || fail "controld still connected"
mkfifo "$work/in2"
ip netns exec smsfw-esme node "$here/esme_steps.js" 198.18.0.2 2775 latecomer <"$work/in2" >"$work/out2" &
esme_pid=$!
exec 4>"$work/in2"
for _ in $(seq 50); do [ "$(tel /smsfw/stats controld_facts_spooled)" = 1 ] && break; sleep 0.1; done
[ "$(tel /smsfw/stats controld_facts_spooled)" = 1 ] || fail "the STOP was not spooled"
size=$(stat -c %s /run/smsfw-lab/state/dataplane.spool)
[ "$size" -gt 24 ] || fail "the spool file holds no fact ($size bytes)"
echo quit >&4
exec 4>&-
wait "$esme_pid"; esme_pid=
"$build/controlplane/smsfw-controld" --foreground --config "$conf" >>/run/smsfw-lab/controld.log 2>&1 &
echo $! >/run/smsfw-lab/controld.pid
for _ in $(seq 50); do [ "$(tel /smsfw/stats controld_facts_spooled)" = 0 ] && break; sleep 0.1; done
[ "$(tel /smsfw/stats controld_facts_spooled)" = 0 ] || fail "the spooled fact was not acknowledged"
[ "$(stat -c %s /run/smsfw-lab/state/dataplane.spool)" = 24 ] || fail "the spool file was not emptied"
sctl optouts list --customer latecomer --unmask | grep -q 447700900999 || fail "the opt-out is not in the store"
echo ok
