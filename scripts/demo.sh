#!/usr/bin/env bash
# scripts/demo.sh — the main job: smsfw on real SMPP traffic, in one command.
#
# Installs what is missing, builds, brings up the namespace lab (scripts/lab:
# smsfw-dataplane bridging two network namespaces, smsfw-controld with its
# LMDB store), registers four customers and drives real SMPP sessions through
# the firewall for about a minute: a bank's legitimate traffic, a retailer
# with some promotional spam and a subscriber who sends STOP, a customer
# whose traffic turns to phishing and forged sender IDs (the policy suspends
# it), and a bulk sender flooding one text. While it runs it shows
# `smsfwctl top` (or, without a terminal, a status line every few seconds);
# then it prints a summary and cleans up everything it started.
#
# Usage: scripts/demo.sh [--seconds N] [--short] [--monitor] [--build DIR] [--keep]
#   --seconds N  traffic duration (default 60); --short = 15
#   --monitor    record verdicts only (default: inline, blocked messages are
#                removed and answered by the firewall)
#   --keep       leave the lab up afterwards (scripts/lab down removes it)
#   --summary-json FILE  also write the summary as JSON (for tests)
# Needs root (network namespaces). Environment: SMSFW_SKIP_DEPS=1 skips the
# package check, SMSFW_BUILD names the build directory (default build/).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SMSFW_BUILD:-$top/build}
seconds=60
mode=inline
keep=0
summary_json=
demo=$top/scripts/demo.d

while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift ;;
	--short) seconds=15 ;;
	--monitor) mode=monitor ;;
	--build) build=$2; shift ;;
	--keep) keep=1 ;;
	--summary-json) summary_json=$2; shift ;;
	-h|--help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "demo: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
case $seconds in ''|*[!0-9]*) echo "demo: --seconds takes a whole number" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${SMSFW_SKIP_DEPS:-0}" != 1 ]; then
	say "Installing what is missing (scripts/deps.sh)"
	"$top/scripts/deps.sh"
fi
say "Building ($build)"
"$top/scripts/build.sh" "$build" >/dev/null

work=$(mktemp -d /tmp/smsfw-demo.XXXXXX)
conf=$work/smsfw.conf
# The lab profile, with the mode this demo runs in and a store of its own (the
# demo starts from no customers and no history, and removes it at the end).
sed -e "s/^mode = .*/mode = $mode/" -e "s|^state_dir = .*|state_dir = $work/state|" \
	"$top/scripts/lab.d/lab.conf" >"$conf"
metrics_port=${SMSFW_DEMO_METRICS_PORT:-19327}
printf '\n[controld]\nmetrics_port = %s\n' "$metrics_port" >>"$conf"

ctl() { "$build/controlplane/smsfwctl" --config "$conf" "$@"; }
gen=$build/smpp/gen/smsfw-gen
pids=()

cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ $keep -eq 0 ]; then
		"$top/scripts/lab" down --build "$build" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT INT TERM

say "Bringing up the lab (mode $mode)"
"$top/scripts/lab" down --build "$build" >/dev/null 2>&1 || true
"$top/scripts/lab" up --build "$build" --config "$conf"

say "Registering customers"
ctl customers add acme-bank --senders ACMEBANK --rate 200 >/dev/null
ctl customers add shopco --senders SHOPCO --rate 200 >/dev/null
ctl customers add quickloans --rate 200 >/dev/null
ctl customers add blaster --rate 20 --burst 20 --bulk no >/dev/null
ctl customers list

say "Starting the SMSC (smsfw-gen smsc in smsfw-smsc, 198.18.0.2:2775)"
ip netns exec smsfw-smsc "$gen" smsc --mo "$demo/mo.tsv" -t $((seconds + 20)) -q 2775 \
	>"$work/smsc.out" 2>&1 &
pids+=($!)
sleep 1

# Spread each template line over many subscribers (see demo.d/README.md),
# keeping the templates in turn so every kind of message is sent early.
expand_mix() { # in out
	python3 - "$1" "$2" <<'PY'
import sys
lines = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")
         if l.strip() and not l.startswith("#")]
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for n in range(200):
        for l in lines:
            f = l.split("\t")
            if "xxx" in f[1]:
                f[1] = f[1].replace("xxx", "%03d" % n)
            elif n % 20:
                continue        # a fixed subscriber gets every 20th round
            out.write("\t".join(f) + "\n")
PY
}

say "Starting the ESMEs (smsfw-gen esme in smsfw-esme), ${seconds}s of traffic"
start_esme() { # system_id bind_mode rate
	expand_mix "$demo/$1.tsv" "$work/$1.mix"
	ip netns exec smsfw-esme "$gen" esme -u "$1" -P secret -b "$2" -r "$3" -t "$seconds" \
		-m "$work/$1.mix" -w 16 -e 5 --drain 5 --connect-wait 10 -j \
		198.18.0.2:2775 >"$work/$1.json" 2>"$work/$1.err" &
	pids+=($!)
}
# Only shopco's session receives MO traffic (the STOP is addressed to it).
start_esme acme-bank transmitter 40
start_esme shopco transceiver 40
start_esme quickloans transmitter 30
start_esme blaster transmitter 120

# A complaint arrives while the traffic runs: a subscriber reports the
# phishing text quickloans sent them (the 24-hour evidence answer needs it).
(sleep $((seconds / 2)); ctl complaints add --customer quickloans --msisdn 447700900303 \
	--text "got a text saying my bank account is locked" --source 7726 \
	>"$work/complaint.out" 2>&1) &
pids+=($!)

if [ -t 1 ]; then
	ctl top --interval 1 --iterations "$seconds" || true
else
	end=$((SECONDS + seconds))
	while [ $SECONDS -lt $end ]; do
		sleep 5
		ctl --json status | python3 -c '
import json, sys
s = json.load(sys.stdin)
d = s.get("dataplane", {})
c = s.get("customers", {})
print("  pdus %-8s passed %-7s blocked %-7s throttled %-6s | customers active %s warned %s suspended %s"
      % (d.get("rx_pdus"), d.get("passed"), d.get("blocked"), d.get("throttled"),
         c.get("active"), c.get("warned"), c.get("suspended")))' || true
	done
fi

say "Waiting for the sessions to finish"
for p in "${pids[@]}"; do
	wait "$p" 2>/dev/null || true
done
pids=()
sleep 1

say "Summary"
ctl --json status >"$work/status.json"
for c in acme-bank shopco quickloans blaster; do
	ctl --json customers show "$c" >"$work/cust-$c.json"
done
ctl --json optouts list >"$work/optouts.json" || true
python3 - "$metrics_port" >"$work/metrics.json" <<'PY' || true
import json, re, sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
out = {}
for line in text.splitlines():
    m = re.match(r'^(smsfw_dataplane_(?:port_packets_total|worker_flows_max|worker_flows))(\{[^}]*\})? (\S+)$', line)
    if m:
        out.setdefault(m.group(1), 0)
        out[m.group(1)] += float(m.group(3))
print(json.dumps(out))
PY
python3 - "$work" "$mode" "$summary_json" <<'PY'
import glob, json, os, sys
work, mode, summary_json = sys.argv[1], sys.argv[2], sys.argv[3]
summary = {"mode": mode, "status": None, "customers": {}, "esmes": {}, "optouts": None,
           "metrics": None}
try:
    summary["metrics"] = json.load(open(os.path.join(work, "metrics.json")))
except (OSError, ValueError):
    pass
st = json.load(open(os.path.join(work, "status.json")))
summary["status"] = st
try:
    summary["optouts"] = json.load(open(os.path.join(work, "optouts.json")))
except (OSError, ValueError):
    pass
d = st.get("dataplane", {})
print("dataplane: %s PDUs seen, %s messages passed, %s blocked, %s throttled (mode %s)"
      % (d.get("rx_pdus"), d.get("passed"), d.get("blocked"), d.get("throttled"), mode))
cats = st.get("blocked_by_category", {})
if cats:
    print("blocked by category: " + ", ".join("%s %s" % kv for kv in sorted(cats.items())))
print()
print("%-11s %8s %9s %9s %6s  %s" % ("customer", "sent", "accepted", "refused", "viol.", "standing"))
for c in ("acme-bank", "shopco", "quickloans", "blaster"):
    try:
        g = json.load(open(os.path.join(work, c + ".json")))
    except (OSError, ValueError):
        g = {}
    cu = json.load(open(os.path.join(work, "cust-%s.json" % c)))
    summary["customers"][c] = cu
    summary["esmes"][c] = g
    sub = g.get("submit_sm", {})
    statuses = sub.get("status", {})
    ok = statuses.get("ESME_ROK", 0)
    refused = sum(v for k, v in statuses.items() if k != "ESME_ROK")
    print("%-11s %8s %9s %9s %6s  %s" % (c, sub.get("sent", "?"), ok, refused,
                                         cu.get("violations"), cu.get("standing")))
    others = ", ".join("%s %d" % kv for kv in sorted(statuses.items()) if kv[0] != "ESME_ROK")
    if others:
        print("%-11s   refusals: %s" % ("", others))
for c in ("quickloans", "blaster", "shopco"):
    cu = json.load(open(os.path.join(work, "cust-%s.json" % c)))
    for h in cu.get("history", []):
        print("  %s: %s -> %s by %s: %s" % (c, h.get("from"), h.get("to"), h.get("actor"), h.get("reason")))
if summary_json:
    with open(summary_json, "w") as f:
        json.dump(summary, f, indent=1)
PY

say "Evidence for the complaint against quickloans (the 24-hour answer)"
cat "$work/complaint.out" || true
ctl evidence show --customer quickloans --msisdn 447700900303 --hours 1 | head -20 || true

say "Opt-outs learned from STOP messages"
ctl optouts list | head -10 || true

cat <<EOF

Where to look next:
  smsfwctl --config <conf> status | top | customers show ID | events tail
  Prometheus metrics: http://127.0.0.1:$metrics_port/metrics (while the lab runs: --keep)
  dataplane log and verdict events: /run/smsfw-lab/dataplane.log, /run/smsfw-lab/events.jsonl
  README.md (operations guide), man smsfwctl, man smsfw.conf, man smsfw-rules
EOF
