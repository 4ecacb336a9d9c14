#!/usr/bin/env bash
# scripts/test.sh — install what is missing, build, and run every test.
#
#  1. build/       gcc, -Werror: unit, differential, benchmark-smoke and lab tests
#  2. build-asan/  clang, ASan+UBSan, libFuzzer: the unit tests again under the
#                  sanitizers, then each fuzz target for a bounded time
#
# Ends with one line "N passed, N failed" counting both builds, and exits
# non-zero when any test failed. Lab tests need root (network namespaces).
# Environment: SMSFW_FUZZ_SECONDS (per target, default 15), SMSFW_SKIP_ASAN=1.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -eq 0 ]; then
	scripts/deps.sh || { echo "test.sh: dependency install failed" >&2; exit 1; }
fi

status=0
logs=()

run_build() { # dir, then meson test arguments
	local dir=$1
	shift
	if ! scripts/build.sh "$dir"; then
		echo "test.sh: build of $dir failed" >&2
		status=1
		return
	fi
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || status=1
	logs+=("$dir/meson-logs/testlog.json")
}

run_build "$top/build"

if [ "${SMSFW_SKIP_ASAN:-0}" != 1 ]; then
	SMSFW_MESON_OPTS="-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true \
-Dfuzz_seconds=${SMSFW_FUZZ_SECONDS:-15} -Dlab_tests=false" \
	CC=clang run_build "$top/build-asan"
fi

python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        try:
            r = json.loads(line).get("result")
        except ValueError:
            r = None  # a torn line (another meson test wrote the log): not a pass
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
[ $status -eq 0 ]
