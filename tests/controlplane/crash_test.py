#!/usr/bin/env python3
"""Crash consistency of the store: kill -9 smsfw-controld in the middle of a
100k-event batch and in the middle of standing changes, restart it, check
`mdb_stat` is clean and that nothing that was acknowledged is lost.

usage: crash_test.py CONTROLD SMSFWCTL EVTOOL
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpharness import Harness  # noqa: E402

N = 100000


def mdb_clean(h, what):
    p = subprocess.run(["mdb_stat", "-a", "-e", h.store], capture_output=True, text=True)
    h.check(p.returncode == 0 and "optouts" in p.stdout, "mdb_stat clean %s (rc %d)" % (
        what, p.returncode))


def main():
    controld, smsfwctl, evtool = sys.argv[1:4]
    h = Harness(controld, smsfwctl, evtool)
    try:
        run(h)
    except Exception as e:
        h.check(False, "exception: %r" % (e,))
    return h.finish()


def run(h):
    # --- 1. kill -9 during a 100k-fact batch --------------------------------
    h.start()
    ev = subprocess.Popen([h.evtool_path, h.evsock, "0x77", "optout", str(N), "crash"],
                          stdout=subprocess.PIPE, text=True)
    acked = 0
    deadline = time.time() + 60
    # wait for some acknowledgements, then kill controld mid-stream
    while time.time() < deadline:
        line = ev.stdout.readline()
        if not line:
            break
        if line.startswith("ack "):
            acked = int(line.split()[1])
            if acked >= 5000:
                h.proc.send_signal(signal.SIGKILL)
                h.proc.wait()
                h.proc = None
                break
    for line in ev.stdout:  # drain what was printed before the socket died
        if line.startswith("ack "):
            acked = int(line.split()[1])
    ev.wait(timeout=30)
    h.check(0 < acked < N, "controld killed mid-batch after %d acknowledged facts" % acked)
    mdb_clean(h, "after kill -9 mid-batch")
    h.start()
    rc, o, err = h.ctl("optouts", "list", "--customer", "crash", "--unmask", json_out=True)
    have = {x["subscriber"] for x in o} if o else set()
    missing = [i for i in range(1, acked + 1) if str(4470000000 + i) not in have]
    h.check(rc == 0 and not missing, "all %d acknowledged facts survived (%d stored, %d missing)"
            % (acked, len(have), len(missing)))
    # the dataplane resends its spool: exactly once in the end
    rc, out = h.events(0x77, "optout", N, "crash")
    h.check(rc == 0 and ("done %d" % N) in out, "resend acknowledged up to %d" % N)
    rc, o, _ = h.ctl("optouts", "list", "--customer", "crash", json_out=True)
    h.check(o is not None and len(o) == N, "exactly %d opt-outs after resend (got %d)" % (
        N, len(o) if o else -1))
    rc, st, _ = h.ctl("status", json_out=True)
    h.check(st and st["ingest"]["duplicate_facts"] >= acked,
            "facts committed before the crash counted as duplicates")

    # --- 2. kill -9 during standing changes ---------------------------------
    h.ctl("customers", "add", "flip")
    acked_changes = 0
    last_acked = "active"
    for rnd in range(5):
        # a few acknowledged changes, then one in flight when controld dies
        for i in range(20):
            verb, st_name = ("suspend", "suspended") if acked_changes % 2 == 0 else \
                ("resume", "active")
            rc, _, _ = h.ctl("customers", verb, "flip", "--reason", "round %d/%d" % (rnd, i))
            if rc == 0:
                acked_changes += 1
                last_acked = st_name
        verb, in_flight = ("suspend", "suspended") if acked_changes % 2 == 0 else \
            ("resume", "active")
        env = dict(os.environ, SMSFW_SOCKET=h.sock)
        p = subprocess.Popen([h.smsfwctl, "customers", verb, "flip", "--reason", "in flight"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.002 * rnd)
        h.proc.send_signal(signal.SIGKILL)
        h.proc.wait()
        h.proc = None
        if p.wait() == 0:  # it was acknowledged before the kill
            acked_changes += 1
            last_acked = in_flight
        mdb_clean(h, "after kill -9 during standing changes (round %d)" % rnd)
        h.start()
        rc, c, _ = h.ctl("customers", "show", "flip", json_out=True)
        n_hist = len(c["history"]) if c else -1
        # every acknowledged change is there; at most the in-flight one more
        ok = c is not None and acked_changes <= n_hist <= acked_changes + 1 and (
            c["standing"] == last_acked or (n_hist == acked_changes + 1
                                            and c["standing"] == in_flight))
        h.check(ok, "round %d: %d acknowledged changes, history %d, standing %s (last acked %s)"
                % (rnd, acked_changes, n_hist, c["standing"] if c else "?", last_acked))
        if c and n_hist == acked_changes + 1:
            acked_changes += 1  # committed but unacknowledged: it is the truth now
            last_acked = in_flight
    h.stop()
    mdb_clean(h, "after the last clean stop")


if __name__ == "__main__":
    sys.exit(main())
