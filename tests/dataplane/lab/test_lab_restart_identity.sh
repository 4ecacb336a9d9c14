#!/usr/bin/env bash
# Lab test, inline mode, with controld: a session that continues across a
# dataplane restart is judged as its customer again (dataplane/dp_sessions.h,
# [dataplane] sessions_file). carol binds and passes a message; the dataplane
# writes its session file (each second); it is SIGKILLed; carol is suspended
# through smsfwctl while it is down; it starts again with the same command
# line. carol's connection continues (it never rebinds): its next submit —
# the first segment the restarted dataplane sees of the flow — is refused
# with the suspended status (0x45) on the same connection (no reset: the
# edit state is started from that one segment, its ACK giving the SMSC's
# side), judged as system_id carol (standing), never reaching the SMSC; an
# enquire_link after it is answered. The restarted dataplane logged and
# counted the remembered session
# (sessions_loaded 1, sessions_restored 1); the file never holds the bind
# password. Without the file the submit would be judged as "" and passed.
# Then, with [dataplane] unknown_session = reset and no session file, an ESME
# whose bind went before the restart (dave) is reset toward both ends on its
# first submit after it (unknown_session_resets 1), never reaching the SMSC.
# Skipped (77) when controld is not built.
#   test_lab_restart_identity.sh BUILD_DIR SOURCE_DIR PEERS_DIR
set -uo pipefail
build=$1 src=$2 peers=$3
here=$src/tests/dataplane/lab
. "$here/lib.sh"
export SMPP_MODULE=$peers/node_modules/smpp
ctl=$build/controlplane/smsfwctl
[ -x "$build/controlplane/smsfw-controld" ] || { echo "controld not built"; exit 77; }
run=/run/smsfw-lab
conf=$here/lab-inline.conf
work=$(mktemp -d /tmp/smsfw-restart-id.XXXXXX)
smsc_pid= esme_pid=

cleanup() {
	exec 3>&- 2>/dev/null
	kill_quiet $esme_pid $smsc_pid
	lab_down
	keep_or_remove "$work"
	rm -rf $run/state
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -5 "$work/out" 2>/dev/null; exit 1; }
sctl() { "$ctl" --config "$conf" "$@"; }

lab_down
rm -rf $run/state $run/events.jsonl $run/dataplane2.log $run/dataplane3.log
"$src/scripts/lab" up --build "$build" --config "$conf" --rules "$here/rules" || fail "lab up"
sctl customers add carol >/dev/null || fail "customers add"
for _ in $(seq 50); do [ "$(tel /smsfw/customers carol)" = active ] && break; sleep 0.1; done
[ "$(tel /smsfw/customers carol)" = active ] || fail "customer carol not in the snapshot"

STOP_TO=nobody ip netns exec smsfw-smsc node "$here/smsc.js" 198.18.0.2 2775 "$work/smsc.json" &
smsc_pid=$!
smsc_listening
mkfifo "$work/in"
ip netns exec smsfw-esme node "$here/esme_restart_id.js" 198.18.0.2 2775 carol Xq7pass9 \
	<"$work/in" >"$work/out" &
esme_pid=$!
exec 3>"$work/in"
wait_for "$work/out" '"ev":"bound","status":0' 1 10
echo "send Lunch at noon tomorrow? Table for two booked" >&3
wait_for "$work/out" '"ev":"resp"' 1 10
grep -q '"status":0,"text":"Lunch' "$work/out" || fail "carol's first message was not passed"

# The session file is rewritten each second: wait until it names carol.
sf=$run/state/dataplane.sessions
for _ in $(seq 40); do grep -q carol "$sf" 2>/dev/null && break; sleep 0.1; done
grep -q carol "$sf" 2>/dev/null || fail "$sf does not name carol"
grep -q Xq7pass9 "$sf" && fail "the bind password is in $sf"
echo "session file: $(stat -c %s "$sf") bytes"

pid=$(cat $run/dataplane.pid)
mapfile -d '' cmd <"/proc/$pid/cmdline"
kill -KILL "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the dataplane survived SIGKILL"
cp $run/dataplane.log "$work/dataplane1.log"
# While the dataplane is down the control plane suspends carol.
sctl customers suspend carol --reason "lab restart test" >/dev/null || fail "customers suspend"
"${cmd[@]}" >$run/dataplane2.log 2>&1 &
echo $! >$run/dataplane.pid
dp_up || fail "no traffic through the restarted dataplane"
for _ in $(seq 50); do [ "$(tel /smsfw/customers carol)" = suspended ] && break; sleep 0.1; done
[ "$(tel /smsfw/customers carol)" = suspended ] || fail "carol not suspended in the new snapshot"

# The same connection goes on, and its VERY FIRST segment after the restart
# is a submit refused for standing: removed and answered (0x45) at the
# sequence number the ESME's ACK expects, not reset. Then an enquire_link
# (answered by the SMSC) crosses with the sequence numbers translated.
echo "send See you at the station at six" >&3
wait_for "$work/out" '"ev":"resp"' 2 10
echo link >&3
wait_for "$work/out" '"ev":"link_resp"' 1 10
echo quit >&3
exec 3>&-
wait_for "$work/out" '"ev":"unbound"' 1 5
wait "$esme_pid"
esme_pid=
for k in sessions_restored unknown_session_submits edit_resp_injected edit_resets \
	edit_probe_resets sessions_loaded sessions_file_refused edit_mid_unplaced_resets \
	edit_mid_acked_resets; do
	echo "$k $(tel /smsfw/stats $k)"
done >"$work/tel2"

# Part 2, [dataplane] unknown_session = reset: dave binds and passes a
# message; the dataplane is SIGKILLed, its session file removed, and it
# starts with unknown_session = reset. dave's next submit (no known bind)
# goes nowhere: its connection is reset (ECONNRESET), the SMSC's end too.
mkfifo "$work/in2"
ip netns exec smsfw-esme node "$here/esme_restart_id.js" 198.18.0.2 2775 dave pw \
	<"$work/in2" >"$work/out2" &
esme_pid=$!
exec 3>"$work/in2"
wait_for "$work/out2" '"ev":"bound","status":0' 1 10
echo "send Parcel left with the neighbour" >&3
wait_for "$work/out2" '"ev":"resp"' 1 10
pid=$(cat $run/dataplane.pid)
kill -KILL "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
cp $run/dataplane2.log "$work/dataplane2.log"
rm -f "$sf"
{ cat "$conf"; printf '\n[dataplane]\nunknown_session = reset\n'; } >"$work/reset.conf"
for i in "${!cmd[@]}"; do [ "${cmd[$i]}" = "$conf" ] && cmd[$i]=$work/reset.conf; done
"${cmd[@]}" >$run/dataplane3.log 2>&1 &
echo $! >$run/dataplane.pid
dp_up || fail "no traffic through the dataplane started again"
echo "send Unknown after the restart" >&3
wait_for "$work/out2" '"ev":"closed"' 1 10
exec 3>&-
wait "$esme_pid"
esme_pid=
sleep 0.3
kill -TERM "$smsc_pid"
wait "$smsc_pid"
smsc_pid=
dp_stop
cp $run/dataplane3.log "$work/dataplane3.log"
cp $run/events.jsonl "$work/events.jsonl"

python3 - "$work" <<'PY'
import json, os, re, sys
w = sys.argv[1]
fails = []
out = [json.loads(l) for l in open(os.path.join(w, "out")) if l.strip()]
kinds = [e["ev"] for e in out]
resp = [e for e in out if e["ev"] == "resp"]
if [e["ev"] for e in out if e["ev"] in ("bound", "closed")] != ["bound", "closed"] or \
        "unbound" not in kinds or kinds.index("closed") < kinds.index("unbound"):
    fails.append(f"carol's one connection did not live until its unbind: {kinds}")
closed = [e for e in out if e["ev"] == "closed"]
if closed and closed[0].get("error") is not None:
    fails.append(f"carol's connection ended with an error (reset?): {closed[0]}")
if "resp" in kinds and "link_resp" in kinds and \
        kinds.index("link_resp") < len(kinds) - 1 - kinds[::-1].index("resp"):
    fails.append(f"the enquire_link was answered before the refused submit: {kinds}")
got = [(e["text"][:10], e["status"]) for e in resp]
if got != [("Lunch at n", 0), ("See you at", 0x45)]:
    fails.append(f"carol's answers {got}, expected the second refused with 0x45 (suspended)")
ev = [json.loads(l) for l in open(os.path.join(w, "events.jsonl")) if '"verdict"' in l]
# (a standing block records no text: matched by sequence and destination)
last = resp[-1] if resp else {}
after = [e for e in ev if e.get("type") == "verdict" and e.get("sequence") == last.get("seq") and
         e.get("dst") == last.get("dst")]
if len(after) != 1 or after[0]["system_id"] != "carol" or after[0]["verdict"] != "block" or \
        after[0]["category"] != "standing":
    fails.append("the submit after the restart was not judged as carol/block/standing: "
                 + str([(e["system_id"], e["verdict"], e["category"]) for e in after]))
smsc = json.load(open(os.path.join(w, "smsc.json")))
texts = [m["message"] for m in smsc["received"]]
if any(t.startswith("See you") for t in texts) or not any(t.startswith("Lunch") for t in texts):
    fails.append(f"the SMSC received {texts}")
log2 = open(os.path.join(w, "dataplane2.log")).read()
c = dict(l.split() for l in open(os.path.join(w, "tel2")) if len(l.split()) == 2)
for k, v in (("sessions_restored", "1"), ("unknown_session_submits", "0"),
             ("edit_resp_injected", "1"), ("edit_resets", "0"), ("edit_probe_resets", "0"),
             ("sessions_loaded", "1"), ("sessions_file_refused", "0"),
             ("edit_mid_unplaced_resets", "0"), ("edit_mid_acked_resets", "0")):
    if c.get(k) != v:
        fails.append(f"telemetry {k} {c.get(k)}, expected {v}")
print("\n".join(l for l in log2.splitlines() if "dataplane.sessions" in l))
if "1 bound session(s) remembered" not in log2:
    fails.append("the restarted dataplane did not log the remembered session")
# Part 2: dave reset on its submit after the restart with unknown_session = reset.
out2 = [json.loads(l) for l in open(os.path.join(w, "out2")) if l.strip()]
dres = [(e["text"][:10], e["status"]) for e in out2 if e["ev"] == "resp"]
dclosed = [e for e in out2 if e["ev"] == "closed"]
if dres != [("Parcel lef", 0)]:
    fails.append(f"dave's answers {dres}, expected one pass before the restart and none after")
if len(dclosed) != 1 or dclosed[0]["error"] != "ECONNRESET":
    fails.append(f"dave's connection did not end with a reset: {dclosed}")
if any(t.startswith("Unknown after") for t in texts):
    fails.append("the SMSC received dave's submit after the restart")
if not any("dave" in e and "ECONNRESET" in e for e in smsc["errors"]):
    fails.append(f"the SMSC's end of dave's connection was not reset: {smsc['errors']}")
log3 = open(os.path.join(w, "dataplane3.log")).read()
m3 = re.search(r"smsfw-dataplane final:.*", log3)
c3 = dict(re.findall(r"(\w+) (\d+)", m3.group(0) if m3 else ""))
for k, v in (("unknown_session_submits", "1"), ("unknown_session_resets", "1"),
             ("sessions_restored", "0"), ("probe_resets", "0")):
    if c3.get(k) != v:
        fails.append(f"after the second restart {k} {c3.get(k)}, expected {v}")
if log3.count("no known bind") != 1:
    fails.append(f"the reset is logged {log3.count('no known bind')} times")
print("carol answers", got, "| after the restart judged as",
      [(e["system_id"], e["verdict"], e["category"]) for e in after])
print("telemetry after the first restart:", c)
print(m3.group(0) if m3 else "no final line after the second restart")
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
