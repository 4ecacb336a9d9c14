#!/bin/sh
# units_test.sh UNIT_DIR BUILD_ROOT SOURCE_ROOT WORKDIR — TAP.
#
# The systemd units as meson configured them (UNIT_DIR), with the installed
# program paths pointed at the build tree (nothing is installed for a test),
# must pass `systemd-analyze verify` with no message at all; a copy with a
# bad key and a missing program must not (so the check can fail);
# smsfw-controld's hardening must rate "OK" or better in
# `systemd-analyze security --offline`. Exit 77 (skip) when systemd-analyze
# is missing or cannot run here.
set -u
units=$1 build=$2 src=$3 work=$4
command -v systemd-analyze >/dev/null 2>&1 || { echo "1..0 # SKIP no systemd-analyze"; exit 77; }
rm -rf "$work" && mkdir -p "$work/ok" "$work/bad"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

# Installed paths -> build tree. The unit names the program by its installed
# path; meson put @prefix@ paths in, we swap the directory only.
for u in smsfw-controld.service smsfw-dataplane.service; do
	[ -f "$units/$u" ] || { notok "$u configured by meson"; continue; }
	sed -e "s|ExecStart=[^ ]*/smsfw-controld|ExecStart=$build/controlplane/smsfw-controld|" \
	    -e "s|ExecStart=[^ ]*/smsfw-dataplane|ExecStart=$build/dataplane/smsfw-dataplane|" \
	    -e "s|ExecStartPre=+[^ ]*/hugepages.sh|ExecStartPre=+$src/scripts/hugepages.sh|" \
	    "$units/$u" > "$work/ok/$u"
done
out=$(cd "$work/ok" && systemd-analyze verify --man=no ./smsfw-controld.service ./smsfw-dataplane.service 2>&1)
rc=$?
case "$out" in
*"Failed to"*"bus"*|*"System has not been booted"*|*"Failed to initialize"*)
	echo "# $out"; echo "1..0 # SKIP systemd-analyze cannot run here"; exit 77 ;;
esac
if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify: both units clean"
else notok "systemd-analyze verify: both units clean"; echo "$out" | sed 's/^/# /'; fi

cp "$work/ok/"*.service "$work/bad/"
echo "Restart=sometimes" >> "$work/bad/smsfw-dataplane.service"
sed -i "s|ExecStart=[^ ]*|ExecStart=/nonexistent/smsfw-controld|" "$work/bad/smsfw-controld.service"
out=$(cd "$work/bad" && systemd-analyze verify --man=no ./smsfw-controld.service ./smsfw-dataplane.service 2>&1)
case "$out" in
*"not executable"*"Restart"*|*"Restart"*"not executable"*) ok "a broken copy is reported (missing program, bad value)" ;;
*) notok "a broken copy is reported"; echo "$out" | sed 's/^/# /' ;;
esac

grep -q '^User=smsfw$' "$work/ok/smsfw-controld.service" &&
grep -q '^CapabilityBoundingSet=$' "$work/ok/smsfw-controld.service" &&
grep -q '^NoNewPrivileges=yes$' "$work/ok/smsfw-controld.service" &&
grep -q '^ProtectSystem=strict$' "$work/ok/smsfw-controld.service" &&
grep -q '^StateDirectory=smsfw$' "$work/ok/smsfw-controld.service" &&
grep -q '^RuntimeDirectory=smsfw$' "$work/ok/smsfw-controld.service" &&
grep -q '^Restart=on-failure$' "$work/ok/smsfw-controld.service" &&
	ok "controld: own user, no capabilities, strict, state/runtime dirs, restart" ||
	notok "controld: own user, no capabilities, strict, state/runtime dirs, restart"

sec=$(cd "$work/ok" && systemd-analyze security --offline=true ./smsfw-controld.service 2>&1 | tail -1)
case "$sec" in
*"exposure level"*" OK"*|*"exposure level"*" SAFE"*) ok "controld hardening: $sec" ;;
*) notok "controld hardening rated OK or better: $sec" ;;
esac

grep -q '^Requires=smsfw-controld.service$' "$work/ok/smsfw-dataplane.service" &&
grep -q '^After=smsfw-controld.service' "$work/ok/smsfw-dataplane.service" &&
grep -q '^CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN CAP_IPC_LOCK CAP_SYS_RAWIO CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_CHOWN$' "$work/ok/smsfw-dataplane.service" &&
grep -q '^NoNewPrivileges=yes$' "$work/ok/smsfw-dataplane.service" &&
grep -q '^RuntimeDirectory=dpdk/smsfw$' "$work/ok/smsfw-dataplane.service" &&
grep -q "^ExecStartPre=+$src/scripts/hugepages.sh" "$work/ok/smsfw-dataplane.service" &&
	ok "dataplane: after and requiring controld, DPDK's four capabilities plus the four to drop them, EAL runtime dir, hugepages before start" ||
	notok "dataplane: after and requiring controld, DPDK's four capabilities plus the four to drop them, EAL runtime dir, hugepages before start"

echo "1..$n"
exit $failed
