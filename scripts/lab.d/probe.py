#!/usr/bin/env python3
"""Lab probe: `probe.py listen ADDR PORT` accepts one connection and echoes a
line; `probe.py connect ADDR PORT TIMEOUT` retries until the echo comes back
(exit 0) or the timeout passes (exit 1). Used by scripts/lab to know that
traffic crosses the dataplane (the machine may have no ping)."""
import socket
import sys
import time

def listen(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4)
    s.settimeout(30)
    try:
        while True:
            c, _ = s.accept()
            with c:
                c.settimeout(5)
                data = c.recv(64)
                c.sendall(data)
                if data == b"smsfw-lab-probe\n":
                    return 0
    except OSError:
        return 1

def connect(addr, port, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection((addr, port), timeout=1) as c:
                c.settimeout(2)
                c.sendall(b"smsfw-lab-probe\n")
                if c.recv(64) == b"smsfw-lab-probe\n":
                    return 0
        except OSError:
            time.sleep(0.2)
    return 1

if __name__ == "__main__":
    if sys.argv[1] == "listen":
        sys.exit(listen(sys.argv[2], int(sys.argv[3])))
    sys.exit(connect(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
