#!/bin/sh
# examples_test.sh SMSFWCTL CONF_EXPECT EXAMPLES_DIR WORKDIR — TAP.
#
# Every example configuration in docs/examples loads with the config library
# (`smsfwctl config check` and conf_expect, which calls smsfw_conf_load),
# sets the keys that make it what its name says, and a copy with one
# misspelled key is refused with that line named (so the check can fail).
set -u
ctl=$1 expect=$2 dir=$3 work=$4
mkdir -p "$work"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { # description, command...
	d=$1; shift
	if out=$("$@" 2>&1); then ok "$d"; else notok "$d"; echo "$out" | sed 's/^/# /'; fi
}

# The warnings `config check` owes FILE on this machine: one per [dataplane]
# user or group that names an account missing here (getent), with its line.
want_warnings() {
	awk '/^\[/ { sec = $0 } sec == "[dataplane]" && /^(user|group) *=/ {
		v = $0; sub(/^[a-z]+ *= */, "", v); sub(/ *$/, "", v); k = $1
		if (v != "") print NR, k, v }' "$1" |
	while read -r line key val; do
		db=passwd; [ "$key" = group ] && db=group
		getent "$db" "$val" >/dev/null ||
			echo "$1:$line: warning: [dataplane] $key: no $key '$val' on this machine (the dataplane refuses to start where it does not exist)"
	done
}

for f in lab.conf bare-metal-2x10g.conf monitor-only.conf; do
	out=$("$ctl" config check "$dir/$f" 2>"$work/$f.stderr")
	rc=$?
	err=$(cat "$work/$f.stderr")
	want=$(want_warnings "$dir/$f")
	if [ $rc -eq 0 ] && [ "$out" = "$dir/$f: ok" ] && [ "$err" = "$want" ]; then
		ok "smsfwctl config check $f${want:+ (warns of the account missing here)}"
	else notok "smsfwctl config check $f"; printf '%s\n%s\n' "$out" "$err" | sed 's/^/# /'; fi

	cp "$dir/$f" "$work/$f"
	printf '[dataplane]\nflow_max = 10\n' >> "$work/$f"
	line=$(wc -l < "$work/$f")
	out=$("$ctl" config check "$work/$f" 2>&1)
	rc=$?
	case "$out" in
	*":$line:"*"flow_max"*) [ $rc -ne 0 ] && ok "$f with a misspelled key refused at line $line" \
		|| notok "$f misspelled key: exit $rc" ;;
	*) notok "$f misspelled key not named at line $line: $out" ;;
	esac
done

check "lab.conf: inline, small tables, idle back-off, default profile open" \
	"$expect" "$dir/lab.conf" general.mode=inline dataplane.bridges=0:1 \
	dataplane.flows_max=16384 dataplane.idle_sleep_us=200 \
	dataplane.default_accept_unknown=true dataplane.default_alnum_senders=true
check "bare-metal-2x10g.conf: inline, busy poll, fail closed, signed rules, provisioned customers, metrics, SIEM, unprivileged dataplane" \
	"$expect" "$dir/bare-metal-2x10g.conf" general.mode=inline dataplane.idle_sleep_us=0 \
	dataplane.user=smsfw-dp \
	dataplane.smpp_ports=2775,2776 dataplane.flows_max=2097152 \
	dataplane.failure_no_ruleset=closed dataplane.default_accept_unknown=false \
	controld.trusted_keys=/etc/smsfw/keys/rules-team.pub controld.metrics_port=9327 \
	controld.events_json=/var/log/smsfw/events.jsonl
check "monitor-only.conf: monitor, every failure open, review, all evidence" \
	"$expect" "$dir/monitor-only.conf" general.mode=monitor dataplane.failure_scan=open \
	dataplane.failure_reassembly=open dataplane.failure_ooo=open dataplane.uninspectable=pass \
	policy.review=true controld.evidence_all=true

# The DPDK side of the bare-metal example: PCI addresses and hugepages.
def="$dir/bare-metal-2x10g.default"
pci=$(grep '^SMSFW_DP_EAL=' "$def" | grep -oE -- '-a [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]' | wc -l)
if [ "$pci" -eq 2 ] && grep -qE '^SMSFW_HUGEPAGES=[0-9]+$' "$def" &&
	grep -q '^SMSFW_DP_ARGS=.*--config /etc/smsfw/smsfw.conf' "$def"; then
	ok "bare-metal-2x10g.default: two NICs by PCI address, hugepages, config path"
else
	notok "bare-metal-2x10g.default: expected 2 PCI allow-list entries (found $pci), SMSFW_HUGEPAGES, SMSFW_DP_ARGS"
fi

echo "1..$n"
exit $failed
