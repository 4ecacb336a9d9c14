#!/usr/bin/env bash
# Lab test: the dataplane gives up its privileges once its ports are up.
# With [dataplane] user = nobody, group = nogroup every thread of the
# running dataplane has the user's uid/gid, no capability (effective,
# permitted, inheritable, ambient, bounding) and no_new_privs, read from
# /proc/PID/task/*/status; and it still does its job as that user: SMPP
# traffic is forwarded and answered, telemetry answers with counts that
# match, a customer committed by controld reaches it from the store, its
# observations reach controld's event socket (group nogroup), the spool is
# its own, SIGHUP reloads the rules, and at exit it prints its final
# counters and leaves no telemetry socket behind.
#   test_lab_privs.sh BUILD_DIR SOURCE_DIR PEERS_DIR
set -uo pipefail
build=$1 src=$2 peers=$3
here=$src/tests/dataplane/lab
. "$here/lib.sh"
export SMPP_MODULE=$peers/node_modules/smpp
ctl=$build/controlplane/smsfwctl
[ -x "$build/controlplane/smsfw-controld" ] || { echo "controld not built"; exit 77; }
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || { echo "no nobody/nogroup"; exit 77; }
work=$(mktemp -d /tmp/smsfw-labprivs.XXXXXX)
chmod 755 "$work"
smsc_pid= esme_pid=
cleanup() {
	kill_quiet "$esme_pid" "$smsc_pid"
	lab_down
	rm -rf /run/smsfw-lab/state "$work"
}
trap cleanup EXIT
fails=0
check() { # description, then a command
	local what=$1; shift
	if "$@"; then echo "ok - $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

lab_down
rm -rf /run/smsfw-lab/state /run/smsfw-lab/events.jsonl
# The deployment's layout: state directory of the service group, files
# group-accessible (controld's unit has UMask=0007).
mkdir -p /run/smsfw-lab/state
chgrp nogroup /run/smsfw-lab/state
chmod 2770 /run/smsfw-lab/state
conf=$work/lab-privs.conf
sed -e 's|^\[dataplane\]$|[dataplane]\nuser = nobody\ngroup = nogroup|' \
	"$src/scripts/lab.d/lab.conf" >"$conf"
printf '\n[controld]\nsocket_group = nogroup\n' >>"$conf"
chmod 644 "$conf"
"$build/controlplane/smsfwctl" config check "$conf" >/dev/null || fail "config check $conf"
(umask 007; "$src/scripts/lab" up --build "$build" --config "$conf") || fail "lab up"
pid=$(cat /run/smsfw-lab/dataplane.pid)
sctl() { "$ctl" --config "$conf" "$@"; }

# --- every thread, as the kernel sees it --------------------------------
python3 - "$pid" <<'PY' || fails=$((fails + 1))
import os, pwd, grp, sys
pid = sys.argv[1]
uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
bad, names = [], []
for tid in sorted(os.listdir(f"/proc/{pid}/task")):
    st = {}
    for line in open(f"/proc/{pid}/task/{tid}/status"):
        k, _, v = line.partition(":")
        st[k] = v.split()
    names.append(st["Name"][0])
    want = {"Uid": [str(uid)] * 4, "Gid": [str(gid)] * 4, "CapEff": ["0" * 16],
            "CapPrm": ["0" * 16], "CapInh": ["0" * 16], "CapAmb": ["0" * 16],
            "CapBnd": ["0" * 16], "NoNewPrivs": ["1"]}
    for k, v in want.items():
        if st.get(k) != v:
            bad.append(f"{tid} ({st['Name'][0]}) {k}: {st.get(k)} != {v}")
groups = open(f"/proc/{pid}/status").read().split("Groups:")[1].split("\n")[0].split()
if any(int(g) == 0 for g in groups):
    bad.append(f"supplementary groups include root: {groups}")
print(f"{len(names)} threads: {', '.join(names)}")
for b in bad:
    print("  " + b)
print(("ok" if not bad else "FAIL:") + " - every thread: uid/gid nobody/nogroup, no capabilities, no_new_privs")
sys.exit(1 if bad else 0)
PY
check "the dataplane logged the drop" grep -q "privileges dropped: uid $(id -u nobody) gid $(getent group nogroup | cut -d: -f3)" /run/smsfw-lab/dataplane.log
check "telemetry /smsfw/stats says uid nobody, no capabilities, no_new_privs" \
	test "$(tel /smsfw/stats uid)/$(tel /smsfw/stats cap_effective)/$(tel /smsfw/stats no_new_privs)" = "$(id -u nobody)/0/1"
check "the fact spool belongs to the dataplane's user" \
	test "$(stat -c %U /run/smsfw-lab/state/dataplane.spool)" = nobody

# --- it still works as nobody --------------------------------------------
sctl customers add acme --senders 447700900001 >/dev/null || fail "customers add"
for _ in $(seq 50); do [ "$(tel /smsfw/customers acme)" = active ] && break; sleep 0.1; done
check "a customer committed by controld reaches the dataplane (store read as nobody)" \
	test "$(tel /smsfw/customers acme)" = active
check "connected to controld's event socket as nobody" test "$(tel /smsfw/stats controld_connected)" = 1

ip netns exec smsfw-smsc node "$here/smsc.js" 198.18.0.2 2775 "$work/smsc.json" >/dev/null &
smsc_pid=$!
smsc_listening
submits0=$(tel /smsfw/stats submits)
mkfifo "$work/in"
ip netns exec smsfw-esme node "$here/esme_steps.js" 198.18.0.2 2775 acme <"$work/in" >"$work/out" &
esme_pid=$!
exec 3>"$work/in"
for i in 1 2 3 4 5; do echo "hello $i, dinner at eight?" >&3; done
for _ in $(seq 50); do [ "$(grep -c '^resp' "$work/out")" -ge 5 ] && break; sleep 0.1; done
check "5 submit_sm answered by the SMSC through the dataplane" \
	test "$(grep -c '^resp [0-9]* 0$' "$work/out")" = 5
check "telemetry counts the 5 submits" test "$(( $(tel /smsfw/stats submits) - submits0 ))" = 5

# SIGHUP rereads the config and the rules directory as nobody.
swaps0=$(tel /smsfw/ruleset swaps) fail0=$(tel /smsfw/ruleset swap_failures)
kill -HUP "$pid"
for _ in $(seq 50); do [ "$(tel /smsfw/ruleset swaps)" -gt "$swaps0" ] && break; sleep 0.1; done
check "SIGHUP reloads the rules as nobody" test "$(tel /smsfw/ruleset swaps)" -gt "$swaps0"
check "no swap failure" test "$(tel /smsfw/ruleset swap_failures)" = "$fail0"
echo "after the reload" >&3
for _ in $(seq 50); do [ "$(grep -c '^resp' "$work/out")" -ge 6 ] && break; sleep 0.1; done
check "traffic still flows after the reload" test "$(grep -c '^resp [0-9]* 0$' "$work/out")" = 6
echo quit >&3
exec 3>&-
wait "$esme_pid"; esme_pid=
for _ in $(seq 30); do
	[ "$(tel /smsfw/stats controld_observations_sent)" -ge 6 ] 2>/dev/null && break; sleep 0.1
done
check "observations sent to controld" test "$(tel /smsfw/stats controld_observations_sent)" -ge 6
for _ in $(seq 30); do
	sctl --json events tail --customer acme --count 20 >"$work/tail" 2>&1
	[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/tail")" = 6 ] && break
	sleep 0.1
done
check "controld stored the 6 messages of acme" \
	test "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/tail")" = 6

# --- exit ----------------------------------------------------------------
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "the dataplane stopped on SIGTERM" sh -c "! kill -0 $pid 2>/dev/null"
check "final counters printed" grep -q "smsfw-dataplane final: " /run/smsfw-lab/dataplane.log
check "no telemetry socket left behind" sh -c '! ls /var/run/dpdk/smsfw-lab/dpdk_telemetry* 2>/dev/null'
if grep -qi "error\|permission denied" /run/smsfw-lab/dataplane.log; then
	echo "# dataplane log lines with errors:"; grep -i "error\|permission denied" /run/smsfw-lab/dataplane.log | sed 's/^/#   /'
fi
[ $fails -eq 0 ] && echo ok || { echo "$fails checks failed"; tail -30 /run/smsfw-lab/dataplane.log; exit 1; }
