#!/usr/bin/env python3
"""Sample the running dataplane's telemetry while a lab test's traffic flows:
every INTERVAL_MS one JSON line {t, version, source, swaps, submits,
probe_resets, edit_resets} from /smsfw/ruleset and /smsfw/stats, until
SIGTERM or SIGINT. A missing or restarted dataplane is retried (a line with
"down": true is written while it is away). --once prints one sample.
   tel_sample.py SOCKET OUT [INTERVAL_MS]
   tel_sample.py --once SOCKET"""
import json
import signal
import socket
import sys
import time

STATS = ("submits", "edit_probe_resets", "edit_resets", "smpp_rst")


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(1.0)
    s.connect(path)
    s.recv(1024)  # the greeting
    return s


def ask(s, cmd):
    s.send(cmd.encode())
    return json.loads(s.recv(1 << 16))[cmd]


def sample(s):
    rs = ask(s, "/smsfw/ruleset")
    st = ask(s, "/smsfw/stats")
    line = {"version": rs.get("version"), "source": rs.get("source"), "swaps": rs.get("swaps")}
    line.update({k: st.get(k) for k in STATS})
    return line


def main():
    if sys.argv[1] == "--once":
        print(json.dumps(sample(connect(sys.argv[2]))))
        return
    path, out = sys.argv[1], sys.argv[2]
    interval = (int(sys.argv[3]) if len(sys.argv) > 3 else 20) / 1000.0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    s = None
    with open(out, "w", buffering=1) as f:
        while not stop:
            t = time.monotonic()
            try:
                if s is None:
                    s = connect(path)
                line = {"t": round(t, 3)}
                line.update(sample(s))
            except (OSError, ValueError, KeyError):
                if s is not None:
                    s.close()
                s = None
                line = {"t": round(t, 3), "down": True}
            f.write(json.dumps(line) + "\n")
            time.sleep(interval)


if __name__ == "__main__":
    main()
