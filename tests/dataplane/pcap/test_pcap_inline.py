#!/usr/bin/env python3
"""pcap replay through smsfw-dataplane in inline mode (net_pcap vdevs).

The corpus's node-smpp session (5 submit_sm, 2 of them matching block rules
of tests/dataplane/pcap/rules) goes in on port 0, the ESME side. Out of
port 1 (toward the SMSC) must come every passed submit_sm and none of the
blocked ones (decoded with smsfw-dump --json: their texts are absent). Out
of port 0 (toward the ESME) must come exactly one injected response per
blocked submit: submit_sm_resp, same sequence_number, the configured status
of the verdict's category, and (an SMPP 5.0 bind) additional_status_info_text
naming the rule. A replayed capture's recorded ACKs cannot match an edited
stream, so TCP health is checked live in the lab (lab_inline_*), not here.

   test_pcap_inline.py SMSFW_DATAPLANE SMSFW_DUMP SOURCE_DIR CORPUS_DIR
"""
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

BIN, DUMP, SRC, CORPUS = sys.argv[1:5]
STATUS = {"content": 0x45, "sender": 0x0A, "optout": 0x66, "rate": 0x58, "standing": 0x45}


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)


def dump(path):
    out = subprocess.run([DUMP, "--json", path], capture_output=True, text=True, check=False)
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def main():
    work = tempfile.mkdtemp(prefix="smsfw-pcap-inline-")
    conf = os.path.join(work, "inline.conf")
    with open(os.path.join(SRC, "scripts/lab.d/lab.conf")) as f, open(conf, "w") as g:
        g.write(f.read().replace("mode = monitor", "mode = inline"))
    inp = os.path.join(CORPUS, "pcap/node-smpp-session.pcap")
    empty = os.path.join(work, "empty.pcap")
    write_pcap(empty, [])
    out0, out1 = os.path.join(work, "out0.pcap"), os.path.join(work, "out1.pcap")
    ev = os.path.join(work, "events.jsonl")
    prefix = f"smsfw-pcapi-{os.getpid()}"
    cmd = [BIN, "--no-pci", "--no-huge", "--in-memory", "-m", "512", "-l", "0-1",
           "--file-prefix", prefix, "--log-level=*:warning",
           "--vdev", f"net_pcap0,rx_pcap={inp},tx_pcap={out0}",
           "--vdev", f"net_pcap1,rx_pcap={empty},tx_pcap={out1}",
           "--", "--config", conf, "--rules", os.path.join(SRC, "tests/dataplane/pcap/rules"),
           "--events", ev, "--no-lmdb", "--idle-sleep-us", "1000"]
    log_path = os.path.join(work, "dataplane.log")
    with open(log_path, "w") as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(4)
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=20)
    fails = []
    if rc != 0:
        fails.append(f"exit status {rc}")
    events = [json.loads(l) for l in open(ev) if l.strip()]
    verdicts = {e["sequence"]: e for e in events if e["type"] == "verdict"}
    blocked = {s: e for s, e in verdicts.items() if e["verdict"] != "pass"}
    passed = {s for s, e in verdicts.items() if e["verdict"] == "pass"}
    if len(verdicts) != 5 or len(blocked) != 2:
        fails.append(f"verdicts {sorted((s, e['verdict']) for s, e in verdicts.items())}")
    if any(e.get("monitor") for e in verdicts.values()):
        fails.append("verdicts recorded in monitor mode")
    orig = [p for p in dump(inp) if p["command_name"] == "submit_sm" and p["dir"] == "c2s"]
    texts = {p["sequence_number"]: p.get("short_message", "") for p in orig}
    to_smsc = [p for p in dump(out1) if p["dir"] == "c2s"]
    subs = {p["sequence_number"]: p for p in to_smsc if p["command_name"] == "submit_sm"}
    if set(subs) != passed:
        fails.append(f"submit_sm toward the SMSC {sorted(subs)}, passed {sorted(passed)}")
    for s in passed & set(subs):
        if subs[s].get("short_message", "") != texts.get(s):
            fails.append(f"submit {s} changed on its way")
    out_texts = {p.get("short_message", "") for p in to_smsc}
    for s in blocked:
        if texts.get(s) and texts[s] in out_texts:
            fails.append(f"blocked text of submit {s} reached the SMSC")
    to_esme = dump(out0)
    resp = [p for p in to_esme if p["command_name"] == "submit_sm_resp"]
    if sorted(p["sequence_number"] for p in resp) != sorted(blocked):
        fails.append(f"injected responses {[(p['sequence_number'], p['command_status']) for p in resp]}"
                     f" for blocked {sorted(blocked)}")
    for p in resp:
        e = blocked.get(p["sequence_number"])
        if e is None:
            continue
        if p["command_status"] != STATUS[e["category"]]:
            fails.append(f"response {p['sequence_number']}: status {p['command_status']:#x}, "
                         f"expected {STATUS[e['category']]:#x} ({e['category']})")
        info = [bytes.fromhex(t.get("hex", "")).rstrip(b"\0").decode(errors="replace")
                for t in p.get("tlvs", []) if t.get("tag") == 0x1D]
        if info != [f"smsfw: {e['rule']}"]:
            fails.append(f"response {p['sequence_number']}: no additional_status_info_text "
                         f"naming {e['rule']}: {p.get('tlvs')}")
    print(f"inline pcap: verdicts {len(verdicts)} blocked {sorted(blocked)} toward SMSC "
          f"{sorted(subs)} responses {[(p['sequence_number'], hex(p['command_status'])) for p in resp]}")
    for f in fails:
        print("FAIL:", f)
    if not fails:
        subprocess.run(["rm", "-rf", work])
    else:
        print("work files kept in", work)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
