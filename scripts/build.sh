#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR]
# Configure (once) and build smsfw with warnings as errors. BUILD_DIR defaults
# to build/. Extra meson options come from $SMSFW_MESON_OPTS.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
if [ ! -f "$dir/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson setup "$dir" "$top" --werror ${SMSFW_MESON_OPTS:-}
fi
ninja -C "$dir"
