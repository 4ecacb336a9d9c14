#!/bin/sh
# hugepages.sh — reserve 2 MiB hugepages and mount hugetlbfs for DPDK.
#
#   hugepages.sh [--node N] [--mount DIR] [--no-mount] [--dry-run] PAGES
#   hugepages.sh status
#
# The documented equivalent of `dpdk-hugepages.py --pagesize 2M --reserve
# SIZE --mount` (Debian's dpdk package ships that too), as one small POSIX
# script the systemd unit can run before every start:
#   * makes at least PAGES 2 MiB pages reserved — system wide, or on NUMA
#     node N with --node. It never lowers a reservation that is already
#     large enough (other DPDK programs may use the pages), so running it
#     twice changes nothing;
#   * mounts hugetlbfs (pagesize=2M) on DIR (default /dev/hugepages) unless
#     a hugetlbfs is already mounted there;
#   * reads the count back: the kernel reserves fewer pages than asked when
#     memory is fragmented, and that is an error here, not a surprise later.
# Exit: 0 done, 1 fewer pages than asked / mount failed, 2 usage.
#
# Boot-time alternative (no fragmentation): kernel command line
#   default_hugepagesz=2M hugepagesz=2M hugepages=PAGES
# For tests, HUGEPAGES_SYSFS (the hugepages-2048kB directory) and
# HUGEPAGES_MOUNTS (a mounts table) point the script at other files.
set -u

sysfs_default=/sys/kernel/mm/hugepages/hugepages-2048kB
mounts=${HUGEPAGES_MOUNTS:-/proc/mounts}
mountpoint=/dev/hugepages
node= mount=1 dry=0 pages=

usage() {
	sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

status() {
	dir=${HUGEPAGES_SYSFS:-$sysfs_default}
	[ -r "$dir/nr_hugepages" ] || { echo "hugepages.sh: no 2 MiB hugepage support ($dir)" >&2; exit 1; }
	echo "2 MiB pages: $(cat "$dir/nr_hugepages") reserved, $(cat "$dir/free_hugepages" 2>/dev/null || echo '?') free"
	for n in /sys/devices/system/node/node[0-9]*; do
		[ -z "${HUGEPAGES_SYSFS:-}" ] && [ -r "$n/hugepages/hugepages-2048kB/nr_hugepages" ] &&
			echo "  ${n##*/}: $(cat "$n/hugepages/hugepages-2048kB/nr_hugepages") reserved"
	done
	awk '$3 == "hugetlbfs" { print "hugetlbfs mounted on " $2 " (" $4 ")" }' "$mounts"
	exit 0
}

[ $# -ge 1 ] || usage
[ "$1" = status ] && status
while [ $# -gt 0 ]; do
	case $1 in
	--node) [ $# -ge 2 ] || usage; node=$2; shift 2 ;;
	--mount) [ $# -ge 2 ] || usage; mountpoint=$2; shift 2 ;;
	--no-mount) mount=0; shift ;;
	--dry-run) dry=1; shift ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) [ -z "$pages" ] || usage; pages=$1; shift ;;
	esac
done
case $pages in ''|*[!0-9]*) echo "hugepages.sh: PAGES must be a number" >&2; usage ;; esac
case $node in *[!0-9]*) echo "hugepages.sh: --node takes a node number" >&2; usage ;; esac

if [ -n "${HUGEPAGES_SYSFS:-}" ]; then
	dir=$HUGEPAGES_SYSFS
elif [ -n "$node" ]; then
	dir=/sys/devices/system/node/node$node/hugepages/hugepages-2048kB
else
	dir=$sysfs_default
fi
nr=$dir/nr_hugepages
[ -r "$nr" ] || { echo "hugepages.sh: $nr missing: no 2 MiB hugepages on this kernel/node" >&2; exit 1; }

have=$(cat "$nr")
if [ "$have" -ge "$pages" ]; then
	echo "hugepages.sh: $have pages of 2 MiB already reserved (>= $pages)"
elif [ $dry -eq 1 ]; then
	echo "hugepages.sh: would reserve $pages pages of 2 MiB (now $have) in $nr"
else
	echo "$pages" > "$nr" || { echo "hugepages.sh: cannot write $nr (root needed)" >&2; exit 1; }
	have=$(cat "$nr")
	if [ "$have" -lt "$pages" ]; then
		echo "hugepages.sh: the kernel reserved only $have of $pages pages (memory fragmented?" \
			"reserve at boot: hugepages=$pages)" >&2
		exit 1
	fi
	echo "hugepages.sh: $have pages of 2 MiB reserved"
fi

if [ $mount -eq 1 ]; then
	if awk -v m="$mountpoint" '$2 == m && $3 == "hugetlbfs" { found = 1 } END { exit !found }' "$mounts"; then
		echo "hugepages.sh: hugetlbfs already mounted on $mountpoint"
	elif [ $dry -eq 1 ]; then
		echo "hugepages.sh: would mount hugetlbfs (pagesize=2M) on $mountpoint"
	else
		mkdir -p "$mountpoint" &&
			mount -t hugetlbfs -o pagesize=2M nodev "$mountpoint" ||
			{ echo "hugepages.sh: cannot mount hugetlbfs on $mountpoint" >&2; exit 1; }
		echo "hugepages.sh: hugetlbfs mounted on $mountpoint"
	fi
fi
exit 0
