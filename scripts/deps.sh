#!/usr/bin/env bash
# Install every build and test dependency of smsfw from Debian packages and the
# npm registry. Idempotent: re-running it only installs what is missing.
# Usage: scripts/deps.sh [--no-npm]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
want_npm=1
[ "${1:-}" = "--no-npm" ] && want_npm=0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root (apt-get needs it)" >&2
	exit 1
fi

pkgs=(
	build-essential meson ninja-build pkg-config clang llvm lld
	libdpdk-dev dpdk dpdk-dev libhyperscan-dev liblmdb-dev lmdb-utils
	libcmocka-dev libsmpp34-dev libpcap-dev libsodium-dev libicu-dev
	libjansson-dev libinih-dev libyaml-dev libmicrohttpd-dev libbsd-dev
	tshark tcpdump iproute2 ethtool nftables python3 tmux groff-base man-db systemd
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		debconf-set-selections
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Node.js comes with this machine kind; Debian's nodejs conflicts with it, so
# only fall back to Debian's packages where npm is absent.
if ! command -v npm >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends nodejs npm
fi

if [ $want_npm -eq 1 ] && [ -f "$top/tests/peers/package.json" ]; then
	(cd "$top/tests/peers" && npm ci --no-audit --no-fund --loglevel=error)
fi
