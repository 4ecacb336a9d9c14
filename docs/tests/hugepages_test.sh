#!/bin/sh
# hugepages_test.sh HUGEPAGES_SH WORKDIR — TAP.
#
# scripts/hugepages.sh against a fake sysfs directory and mount table
# (HUGEPAGES_SYSFS, HUGEPAGES_MOUNTS): nothing on this machine is touched.
# It reserves what is asked, never lowers a larger reservation, is
# idempotent, refuses bad input, and reports a kernel that reserved fewer
# pages than asked (simulated by a value that cannot be written).
set -u
hp=$1 work=$2
rm -rf "$work" && mkdir -p "$work/sys"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
export HUGEPAGES_SYSFS="$work/sys" HUGEPAGES_MOUNTS="$work/mounts"
echo 0 > "$work/sys/nr_hugepages"
echo 0 > "$work/sys/free_hugepages"
printf 'proc /proc proc rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n' > "$work/mounts"

out=$(sh "$hp" 512 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(cat "$work/sys/nr_hugepages")" = 512 ] && ok "reserves 512 pages" ||
	notok "reserves 512 pages: rc=$rc $(cat "$work/sys/nr_hugepages")"
case "$out" in *"already mounted on /dev/hugepages"*) ok "sees hugetlbfs already mounted" ;;
*) notok "sees hugetlbfs already mounted: $out" ;; esac

out=$(sh "$hp" 512 2>&1); rc=$?
case "$out" in *"already reserved"*) [ $rc -eq 0 ] && ok "second run changes nothing" ||
	notok "second run: rc=$rc" ;; *) notok "second run changes nothing: $out" ;; esac

out=$(sh "$hp" 100 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(cat "$work/sys/nr_hugepages")" = 512 ] && ok "never lowers a larger reservation" ||
	notok "never lowers a larger reservation: $(cat "$work/sys/nr_hugepages")"

out=$(sh "$hp" --dry-run --mount "$work/huge" 2048 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(cat "$work/sys/nr_hugepages")" = 512 ] &&
	case "$out" in *"would reserve 2048"*"would mount hugetlbfs"*) true ;; *) false ;; esac &&
	ok "--dry-run says what it would do and does nothing" || notok "--dry-run: $out"

sh "$hp" lots >/dev/null 2>&1; rc1=$?
sh "$hp" --node x 10 >/dev/null 2>&1; rc2=$?
sh "$hp" >/dev/null 2>&1; rc3=$?
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 2 ] && ok "bad input is a usage error (2)" ||
	notok "bad input is a usage error: $rc1 $rc2 $rc3"

# A "kernel" that keeps 700 whatever is written: fewer than asked.
echo 700 > "$work/sys/nr_hugepages"
chmod 444 "$work/sys/nr_hugepages"
if [ "$(id -u)" -ne 0 ]; then
	out=$(sh "$hp" --no-mount 1024 2>&1); rc=$?
	[ $rc -eq 1 ] && ok "a reservation that cannot be made is an error" ||
		notok "a reservation that cannot be made is an error: rc=$rc $out"
else
	# root writes through mode 0444: emulate a kernel that keeps 700 pages by
	# clamping the value the script reads back (a copy of the script)
	mkdir -p "$work/bin"
	chmod 644 "$work/sys/nr_hugepages"
	sed 's|have=$(cat "$nr")$|have=$(cat "$nr"); [ -n "${HP_TEST_CLAMP:-}" ] \&\& [ "$have" -gt "$HP_TEST_CLAMP" ] \&\& have=$HP_TEST_CLAMP|' "$hp" > "$work/bin/hp.sh"
	out=$(HP_TEST_CLAMP=700 sh "$work/bin/hp.sh" --no-mount 1024 2>&1); rc=$?
	case "$out" in *"reserved only 700 of 1024"*) [ $rc -eq 1 ] && ok "fewer pages than asked is an error" ||
		notok "fewer pages than asked: rc=$rc" ;; *) notok "fewer pages than asked is an error: $out" ;; esac
fi
out=$(sh "$hp" status 2>&1)
case "$out" in *"reserved"*"hugetlbfs mounted on /dev/hugepages"*) ok "status reports pages and mounts" ;;
*) notok "status: $out" ;; esac

echo "1..$n"
exit $failed
