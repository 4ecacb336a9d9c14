#!/usr/bin/env python3
"""`smsfwctl top` in a real terminal: tmux runs it against a real
smsfw-controld, capture-pane reads the screen, events fed through the event
socket (cp_evtool) must show up as changed counters on a later screen, and
'q' must end it with exit status 0. The tmux server is private to this test
(its own -L socket) and is killed at the end, also on failure.

Per-port line: without a dataplane top says "ports none reported"; a fake
dataplane (cp_evtool ports) whose port counters grow every second must
bring one line per port whose totals, missed count and rx/s rate move.

usage: top_test.py CONTROLD SMSFWCTL EVTOOL
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpharness import Harness  # noqa: E402

SESSION = "smsfwtop"


def main():
    controld, smsfwctl, evtool = sys.argv[1:4]
    if not shutil.which("tmux"):
        print("1..0 # SKIP tmux is not installed (scripts/deps.sh installs it)")
        return 0
    h = Harness(controld, smsfwctl, evtool)
    sock = "smsfw-top-test-%d" % os.getpid()

    def tmux(*args):
        return subprocess.run(["tmux", "-L", sock] + list(args), capture_output=True,
                              text=True, timeout=10)
    try:
        run(h, smsfwctl, tmux)
    except Exception as e:  # report, do not hide
        h.check(False, "exception: %r" % (e,))
    finally:
        tmux("kill-server")
    return h.finish()


def screen(tmux):
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


def counters(text):
    """Numbers of the screen's 'ingested' line and blocked fraud count."""
    m = re.search(r"ingested\s+messages (\d+)\s+facts (\d+)", text)
    f = re.search(r"^\s+fraud\s+(\d+)\s*$", text, re.M)
    r = re.search(r"^\s+rule 1001\s+fraud\s+block\s+(\d+)\s*$", text, re.M)
    return (int(m.group(1)) if m else None, int(m.group(2)) if m else None,
            int(f.group(1)) if f else 0, int(r.group(1)) if r else 0)


PORT_RE = re.compile(r"^port (\d+)\s+rx/s (\d+)\s+tx/s (\d+)\s+rx (\d+)\s+tx (\d+)\s+"
                     r"missed (\d+)\s+rx_err (\d+)\s+tx_err (\d+)\s*$", re.M)


def ports(text):
    """{port: (rx/s, tx/s, rx, tx, missed)} from the screen's port lines."""
    return {int(m.group(1)): tuple(int(m.group(i)) for i in range(2, 7))
            for m in PORT_RE.finditer(text)}


def wait_screen(tmux, pred, timeout=10.0):
    end = time.time() + timeout
    text = screen(tmux)
    while time.time() < end and not pred(text):
        time.sleep(0.2)
        text = screen(tmux)
    return text


def run(h, smsfwctl, tmux):
    h.start()
    rcfile = os.path.join(h.dir, "top.rc")
    cmd = "SMSFW_SOCKET=%s %s top --interval 1; echo $? > %s" % (
        shlex.quote(h.sock), shlex.quote(smsfwctl), shlex.quote(rcfile))
    r = tmux("new-session", "-d", "-s", SESSION, "-x", "150", "-y", "45", "sh", "-c", cmd)
    h.check(r.returncode == 0, "tmux session started (%s)" % r.stderr.strip())

    first = wait_screen(tmux, lambda t: "smsfw top" in t and "ingested" in t)
    h.check("smsfw top" in first and "(q quits)" in first, "top draws its screen")
    m0, f0, fr0, r0 = counters(first)
    h.check(m0 == 0 and f0 == 0 and fr0 == 0 and r0 == 0,
            "a fresh controld shows 0 messages, 0 facts (%s, %s)" % (m0, f0))
    h.check("customers  active 0" in first, "customers line present")

    rc, out = h.events(21, "obs", 500, "topcust")
    h.check(rc == 0, "500 observations sent through the event socket")
    rc, out = h.events(22, "viol", 3, "topcust")
    h.check(rc == 0 and "done 3" in out, "3 fraud violations acknowledged")

    second = wait_screen(tmux, lambda t: counters(t)[0] == 500 and counters(t)[1] == 3 and
                         counters(t)[3] == 3)
    m1, f1, fr1, r1 = counters(second)
    h.check(m1 == m0 + 500, "messages went from %s to %s on screen (+500)" % (m0, m1))
    h.check(f1 == f0 + 3, "facts went from %s to %s on screen (+3)" % (f0, f1))
    h.check(fr1 == 3, "blocked by category shows fraud 3 (%s)" % fr1)
    h.check(r1 == 3, "top rules shows rule 1001 with 3 blocks (%s)" % r1)
    h.check(second != first, "the screen changed between the two captures")

    # h.events waits for its ACKs, so controld has committed: the next
    # refresh must also show the customer on the standing line.
    third = wait_screen(tmux, lambda t: re.search(r"customers\s+active 1", t) is not None)
    h.check(re.search(r"customers\s+active 1", third) is not None,
            "customers by standing follows (active 1)")

    h.check("ports      none reported" in third and not ports(third),
            "no dataplane stats yet: 'ports none reported', no port line")
    fake = subprocess.Popen([h.evtool_path, h.evsock, "23", "ports", "12"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        p1 = wait_screen(tmux, lambda t: set(ports(t)) == {0, 1})
        a = ports(p1)
        h.check(set(a) == {0, 1}, "one line per port of the fake dataplane (%s)" % sorted(a))
        # rx/tx totals grow by 100+P / 200+P per second, rx_missed of port 1 by 1.
        p2 = wait_screen(tmux, lambda t: set(ports(t)) == {0, 1} and
                         ports(t)[1][2] >= a[1][2] + 2 * 101 and ports(t)[1][0] > 0)
        b = ports(p2)
        h.check(set(b) == {0, 1} and b[0][2] > a[0][2] and b[0][3] > a[0][3] and
                b[1][2] > a[1][2] and b[1][3] > a[1][3],
                "port rx/tx totals moved on screen (%s -> %s)" % (a, b))
        h.check(set(b) == {0, 1} and b[1][4] > a[1][4] and b[0][4] == 0,
                "rx_missed of port 1 grew, port 0 stays 0 (%s -> %s)" % (
                    a.get(1, ()), b.get(1, ())))
        h.check(set(b) == {0, 1} and b[1][0] > 0 and b[1][0] % 101 == 0 and
                b[1][1] % 201 == 0,
                "port 1 shows a packet rate, whole seconds of +101 rx (%s)" % (b.get(1, ()),))
    finally:
        fake.kill()
        fake.wait()

    tmux("send-keys", "-t", SESSION, "q")
    end = time.time() + 5
    while time.time() < end and tmux("has-session", "-t", SESSION).returncode == 0:
        time.sleep(0.1)
    h.check(tmux("has-session", "-t", SESSION).returncode != 0, "'q' ended top")
    status = open(rcfile).read().strip() if os.path.exists(rcfile) else None
    h.check(status == "0", "top exited with status 0 (%s)" % status)


if __name__ == "__main__":
    sys.exit(main())
