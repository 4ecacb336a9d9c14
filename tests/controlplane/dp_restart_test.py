#!/usr/bin/env python3
"""The real dataplane and the real controld across restarts (net_pcap vdevs,
no lab): facts spooled while controld is away survive a DATAPLANE restart
and are ingested exactly once, and `smsfwctl status` shows per-port
counters that match the frames the dataplane saw.

  1. controld down. The dataplane (inline) replays the corpus's node-smpp
     session: 2 of its 5 submit_sm match block rules -> 2 violation facts,
     spooled on disk (<state_dir>/dataplane.spool). The dataplane stops.
  2. The dataplane starts again on empty captures (no new traffic): it
     reloads the 2 facts. controld starts: both are acknowledged, the store
     holds exactly 2 violations of the customer, the spool file is empty.
  3. The dataplane restarts once more (nothing pending now) and replays the
     session again with controld up: 2 new facts, 4 violations in the store,
     no duplicate (a restarted dataplane must not reuse sequence numbers
     controld has already committed). Meanwhile `smsfwctl status` (text and
     --json) and /metrics give port 0 rx = the capture's frame count and
     port 1 tx = the frames written to the SMSC-side capture.

   dp_restart_test.py SMSFW_DATAPLANE SMSFW_CONTROLD SMSFWCTL SOURCE_DIR CORPUS_DIR
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

DP, CD, CTL, SRC, CORPUS = sys.argv[1:6]
n = 0
bad = 0


def ok(cond, what, detail=""):
    global n, bad
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, what))
    if not cond:
        bad += 1
        for line in str(detail).splitlines()[-20:]:
            print("#   " + line)
    return cond


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)


def pcap_frames(path):
    """Frames in a classic pcap or a pcapng file (little-endian, as written here)."""
    with open(path, "rb") as f:
        data = f.read()
    count = 0
    if data[:4] == b"\x0a\x0d\x0d\x0a":  # pcapng: count packet blocks
        off = 0
        while off + 12 <= len(data):
            btype, blen = struct.unpack_from("<II", data, off)
            if blen < 12:
                break
            count += btype in (2, 3, 6)
            off += blen
        return count
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        off += 16 + incl
        count += 1
    return count


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout=15.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


work = tempfile.mkdtemp(prefix="smsfw-dprestart-")
state, run = os.path.join(work, "state"), os.path.join(work, "run")
os.makedirs(state)
os.makedirs(run)
mport = free_port()
conf = os.path.join(work, "smsfw.conf")
with open(os.path.join(SRC, "scripts/lab.d/lab.conf")) as f:
    text = f.read().replace("mode = monitor", "mode = inline")
text = text.replace("/run/smsfw-lab/state", state).replace("/run/smsfw-lab", run)
text += "\n[controld]\nmetrics_port = %d\nmetrics_address = 127.0.0.1\n" % mport
with open(conf, "w") as f:
    f.write(text)
session = os.path.join(CORPUS, "pcap/node-smpp-session.pcap")
empty = os.path.join(work, "empty.pcap")
write_pcap(empty, [])
spool = os.path.join(state, "dataplane.spool")
procs = []


def start_dp(tag, rx0):
    out0, out1 = os.path.join(work, tag + "-out0.pcap"), os.path.join(work, tag + "-out1.pcap")
    log = open(os.path.join(work, tag + "-dataplane.log"), "w")
    cmd = [DP, "--no-pci", "--no-huge", "--in-memory", "-m", "512", "-l", "0-1",
           "--file-prefix", "smsfw-dprs-%d-%s" % (os.getpid(), tag), "--log-level=user1,info",
           "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (rx0, out0),
           "--vdev", "net_pcap1,rx_pcap=%s,tx_pcap=%s" % (empty, out1),
           "--", "--config", conf, "--rules", os.path.join(SRC, "tests/dataplane/pcap/rules"),
           "--events", os.path.join(work, tag + "-events.jsonl"), "--idle-sleep-us", "1000"]
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    return p, out0, out1


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    try:
        return p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def start_cd():
    log = open(os.path.join(work, "controld.log"), "a")
    p = subprocess.Popen([CD, "--foreground", "--config", conf], stdout=log,
                         stderr=subprocess.STDOUT)
    procs.append(p)
    return p


def ctl(*args, js=True):
    r = subprocess.run([CTL, "--config", conf] + (["--json"] if js else []) + list(args),
                       capture_output=True, text=True)
    if not js:
        return r.stdout
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def status():
    return ctl("status") or {}


def events(tag):
    path = os.path.join(work, tag + "-events.jsonl")
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]


def log_text(tag):
    with open(os.path.join(work, tag + "-dataplane.log")) as f:
        return f.read()


def spool_size():
    return os.path.getsize(spool) if os.path.exists(spool) else -1


try:
    # --- 1: controld down, facts spooled -------------------------------------
    dp, _, _ = start_dp("run1", session)
    blocked = wait_for(lambda: [e for e in events("run1")
                                if e["type"] == "verdict" and e["verdict"] != "pass"])
    ok(len(blocked) == 2 and not any(e["monitor"] for e in blocked),
       "run 1: the session's 2 blocked submits are inline verdicts (facts)",
       [(e["sequence"], e["verdict"], e["rule"]) for e in blocked])
    customer = blocked[0]["system_id"] if blocked else "?"
    wait_for(lambda: spool_size() > 24, 5)
    size1 = spool_size()
    ok(size1 > 24 and (size1 - 24) % 2 == 0, "run 1: the facts are on disk (%d bytes)" % size1)
    rc = stop(dp)
    ok(rc == 0, "run 1: the dataplane stops cleanly (%s)" % rc, log_text("run1"))
    ok("2 facts not acknowledged by controld at exit" in log_text("run1"),
       "run 1: it says 2 facts are unacknowledged at exit", log_text("run1"))
    ok(spool_size() == size1, "the spool file keeps both facts after the stop")

    # --- 2: dataplane restarted, then controld --------------------------------
    dp, _, _ = start_dp("run2", empty)
    ok(wait_for(lambda: "2 unacknowledged facts reloaded" in log_text("run2"), 10),
       "run 2: the restarted dataplane reloads the 2 facts", log_text("run2"))
    cd = start_cd()
    st = wait_for(lambda: status().get("ingest", {}).get("facts", 0) >= 2 and status(), 20)
    ok(st and st["ingest"]["facts"] == 2 and st["ingest"]["duplicate_facts"] == 0,
       "controld ingests the 2 reloaded facts once (%s)" % (st and st.get("ingest")))
    ok(wait_for(lambda: spool_size() == 24, 10),
       "the dataplane empties its spool on the acknowledgement (%d bytes)" % spool_size())
    time.sleep(1.5)  # a resend, if any, would arrive by now
    st = status()
    ok(st.get("store", {}).get("violations") == 2 and st["ingest"]["facts"] == 2,
       "the store holds exactly 2 violations (%s)" % st.get("store"))
    cust = ctl("customers", "show", customer) or {}
    ok(json.dumps(cust).count('"rule"') >= 0 and cust != {},
       "smsfwctl customers show %s answers" % customer, cust)
    rc = stop(dp)
    ok(rc == 0, "run 2: the dataplane stops cleanly (%s)" % rc, log_text("run2"))

    # --- 3: restart with nothing pending, new facts, per-port counters --------
    dp, out0, out1 = start_dp("run3", session)
    frames_in = pcap_frames(session)
    st = wait_for(lambda: status().get("ingest", {}).get("facts", 0) >= 4 and status(), 20)
    ok(st and st["ingest"]["facts"] == 4 and st["ingest"]["duplicate_facts"] == 0,
       "run 3: the 2 new facts of a restarted dataplane are ingested, not taken for "
       "duplicates (%s)" % (st and st.get("ingest")))
    ok(st and st.get("store", {}).get("violations") == 4,
       "the store holds 4 violations (%s)" % (st and st.get("store")))

    def port(stj, p):
        return next((x for x in stj.get("ports", []) if x.get("port") == p), {})

    st = wait_for(lambda: (lambda s: port(s, 0).get("rx_packets") == frames_in and s)(status()), 10)
    ok(st and len(st.get("ports", [])) == 2 and port(st, 0).get("rx_packets") == frames_in
       and port(st, 1).get("rx_packets") == 0,
       "status --json: ports 0 and 1, port 0 rx_packets = the capture's %d frames, port 1 rx 0"
       % frames_in, json.dumps(st.get("ports") if st else None))
    time.sleep(1.5)
    st = status()
    tx1 = port(st, 1).get("tx_packets")
    tx0 = port(st, 0).get("tx_packets")
    txt = ctl("status", js=False)
    ok("ports:" in txt and ("port=0" in txt and "rx_packets=%d" % frames_in in txt),
       "status (text) has a ports section with port 0's rx_packets", txt)
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
        metrics = r.read().decode()
    inst = port(st, 0).get("instance", "?")
    rx_line = [l for l in metrics.splitlines()
               if l.startswith("smsfw_dataplane_port_packets_total{") and 'port="0"' in l
               and 'dir="rx"' in l and 'instance="%s"' % inst in l]
    ok(len(rx_line) == 1 and rx_line[0].split()[-1] == str(frames_in),
       "/metrics: port 0 rx packets of the running instance = %d" % frames_in, rx_line)
    rc = stop(dp)
    ok(rc == 0, "run 3: the dataplane stops cleanly (%s)" % rc, log_text("run3"))
    # Toward the SMSC only forwarded frames; toward the ESME the injected
    # responses are resent on a timer (a capture does not ACK), so that
    # count can only have grown after the status was read.
    ok(tx1 is not None and tx1 == pcap_frames(out1) and 0 < (tx0 or 0) <= pcap_frames(out0),
       "port 1 tx_packets (%s) = frames written to the SMSC-side capture (%d); port 0 "
       "tx_packets (%s) <= frames in the ESME-side capture (%d)"
       % (tx1, pcap_frames(out1), tx0, pcap_frames(out0)))
    time.sleep(1.2)
    st = status()
    ok(st.get("ports") == [], "with no dataplane connected the ports section is empty (%s)"
       % st.get("ports"))
    ok(st.get("ingest", {}).get("facts") == 4 and st.get("store", {}).get("violations") == 4,
       "in all: 4 facts, 4 violations, each exactly once")
    stop(cd)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    if not bad:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("# kept " + work)
print("1..%d" % n)
sys.exit(1 if bad else 0)
