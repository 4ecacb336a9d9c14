#!/bin/sh
# run-fuzz.sh EXE SEED_DIR SECONDS
# Runs one libFuzzer target for a bounded time. New inputs go to a scratch
# corpus in the build tree (the seed corpus in git is read-only); a crash,
# leak or sanitizer report makes libFuzzer exit non-zero, which fails the test
# and leaves the reproducer next to the scratch corpus. libFuzzer's own error
# exit code is 77, which meson counts as a skipped test: -error_exitcode=1.
set -eu
exe=$1 seeds=$2 secs=$3
work="$(dirname "$exe")/fuzz-work/$(basename "$exe")"
mkdir -p "$work/corpus" "$work/artifacts"
[ -d "$seeds" ] || { echo "run-fuzz: no seed corpus at $seeds" >&2; exit 1; }
exec "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
	"$work/corpus" "$seeds"
