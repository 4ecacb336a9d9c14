# Helpers shared by the lab test scripts (test_lab_*.sh), sourced after the
# script has set $src (the source tree). Not a test on its own.
#   . "$here/lib.sh"

lab_tel_socket=/var/run/dpdk/smsfw-lab/dpdk_telemetry.v2

# Print "FAIL: MESSAGE" and end the script (a script may define its own
# fail after sourcing this file).
fail() { echo "FAIL: $*"; exit 1; }

# Take the namespace lab down, quietly (also used before "lab up").
lab_down() { "$src/scripts/lab" down >/dev/null 2>&1; }

# Lines of FILE matching PATTERN reach COUNT within SECONDS, else the
# script fails showing the file's last lines.
wait_for() { # FILE PATTERN COUNT SECONDS
	local file=$1 pat=$2 count=$3 secs=$4
	for _ in $(seq $((secs * 20))); do
		[ "$(grep -c -- "$pat" "$file" 2>/dev/null)" -ge "$count" ] && return 0
		sleep 0.05
	done
	echo "FAIL: waited $secs s for $count of '$pat' in $(basename "$file"):"
	tail -5 "$file"
	exit 1
}

# Print KEY of the dataplane's telemetry COMMAND (empty when absent).
tel() { # COMMAND KEY
	python3 - "$lab_tel_socket" "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1]); s.recv(1024)
s.send(sys.argv[2].encode()); d = json.loads(s.recv(1 << 16))[sys.argv[2]]
print(d.get(sys.argv[3], ""))
PY
}

# TCP crosses the dataplane (a non-SMPP port): 0 once a probe connection
# from the ESME side reaches a listener on the SMSC side (15 s at most).
dp_up() {
	ip netns exec smsfw-smsc python3 "$src/scripts/lab.d/probe.py" listen 198.18.0.2 7 &
	local l=$!
	ip netns exec smsfw-esme python3 "$src/scripts/lab.d/probe.py" connect 198.18.0.2 7 15
	local rc=$?
	kill $l 2>/dev/null
	wait $l 2>/dev/null
	return $rc
}

# Wait (5 s at most) until the node SMSC listens on 198.18.0.2:2775.
smsc_listening() {
	for _ in $(seq 50); do
		ip netns exec smsfw-smsc ss -ltn 2>/dev/null | grep -q '198.18.0.2:2775' && break
		sleep 0.1
	done
}

# SIGTERM the dataplane named in /run/smsfw-lab/dataplane.pid and wait
# (5 s at most) until it has gone.
dp_stop() {
	kill -TERM "$(cat /run/smsfw-lab/dataplane.pid)"
	for _ in $(seq 50); do
		kill -0 "$(cat /run/smsfw-lab/dataplane.pid)" 2>/dev/null || break
		sleep 0.1
	done
}

# Kill the given PIDs (empty ones skipped), quietly.
kill_quiet() { for p in "$@"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done; return 0; }

# End of a test with a work directory: keep it (and the dataplane logs) when
# SMSFW_KEEP is set, else remove it.
keep_or_remove() { # WORK
	if [ -n "${SMSFW_KEEP:-}" ]; then
		cp /run/smsfw-lab/dataplane*.log "$1/" 2>/dev/null
		echo "kept $1"
	else
		rm -rf "$1"
	fi
}
