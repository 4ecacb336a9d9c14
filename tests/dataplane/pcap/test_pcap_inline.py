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

The same session is replayed a second time with every ESME data segment cut
into IPv4 fragments (2 or 3, every other one last-first): the dataplane
reassembles them, and what leaves (the original fragments, their slices of
a rewritten segment, or frames fragmented again), reassembled here, must
give the same result; the final counters show every such packet reassembled
and none refused or timed out.

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

from pcapio import read_pcap, write_pcap

BIN, DUMP, SRC, CORPUS = sys.argv[1:5]
STATUS = {"content": 0x45, "sender": 0x0A, "optout": 0x66, "rate": 0x58, "standing": 0x45}


def ip4_csum(h):
    s = sum(struct.unpack(">%dH" % (len(h) // 2), h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4_header(fr, plen, ident, flags_off):
    """The frame's IPv4 header (no VLAN) for a piece of plen bytes."""
    ihl = (fr[14] & 15) * 4
    h = bytearray(fr[14:14 + ihl])
    struct.pack_into(">HHH", h, 2, ihl + plen, ident, flags_off)
    struct.pack_into(">H", h, 10, 0)
    struct.pack_into(">H", h, 10, ip4_csum(bytes(h)))
    return bytes(h)


def fragment_esme(frames):
    """Cut every ESME->SMSC data segment (IPv4, port 2775) into fragments."""
    out, n, ident = [], 0, 0x4000
    for fr in frames:
        if len(fr) < 34 or fr[12:14] != b"\x08\x00" or fr[23] != 6:
            out.append(fr)
            continue
        ihl = (fr[14] & 15) * 4
        tot = struct.unpack(">H", fr[16:18])[0]
        ipp = fr[14 + ihl:14 + tot]
        dport = struct.unpack(">H", ipp[2:4])[0]
        doff = (ipp[12] >> 4) * 4
        if dport != 2775 or len(ipp) - doff < 24:
            out.append(fr)
            continue
        cuts = [0, 24] + ([24 + ((len(ipp) - 24) // 16) * 8] if len(ipp) > 64 else []) + [len(ipp)]
        pieces = []
        for a, b in zip(cuts, cuts[1:]):
            more = 0x2000 if b < len(ipp) else 0
            pieces.append(fr[:14] + ip4_header(fr, b - a, ident, more | (a // 8)) + ipp[a:b])
        pieces = [p + b"\x00" * max(0, 60 - len(p)) for p in pieces]
        out += pieces[::-1] if n % 2 else pieces
        n += 1
        ident += 1
    return out, n


def defragment(frames):
    """Whole frames again (IPv4 fragments reassembled, at their last one)."""
    out, held = [], {}
    for fr in frames:
        if len(fr) < 34 or fr[12:14] != b"\x08\x00":
            out.append(fr)
            continue
        ihl = (fr[14] & 15) * 4
        tot, ident, fo = struct.unpack(">HHH", fr[16:22])
        if fo & 0x3FFF == 0:
            out.append(fr)
            continue
        key = (fr[26:34], ident)
        k = held.setdefault(key, {"parts": {}, "end": None, "hdr": None})
        off = (fo & 0x1FFF) * 8
        k["parts"][off] = fr[14 + ihl:14 + tot]
        if off == 0:
            k["hdr"] = fr[:14 + ihl]
        if not fo & 0x2000:
            k["end"] = off + tot - ihl
        data, pos = b"", 0
        while pos in k["parts"]:
            data += k["parts"][pos]
            pos = len(data)
        if k["hdr"] is not None and k["end"] is not None and len(data) == k["end"]:
            h = bytearray(k["hdr"])
            struct.pack_into(">HH", h, 16, ihl + len(data), 0)
            struct.pack_into(">H", h, 20, 0)
            out.append(bytes(h) + data)
            del held[key]
    return out


def dump(path):
    out = subprocess.run([DUMP, "--json", path], capture_output=True, text=True, check=False)
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def run_case(work, conf, inp, orig_path, fragmented):
    """Replay inp (orig_path: the unfragmented capture); the failures found."""
    os.makedirs(work, exist_ok=True)
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
    if fragmented:
        # What left, reassembled, decoded as if nothing had been fragmented.
        n_frag = fragmented
        for path in (out0, out1):
            write_pcap(path, defragment(read_pcap(path)))
        final = [l for l in open(log_path) if "final:" in l]
        want = f"frag_reassembled {n_frag} frag_refused 0 frag_timeouts 0 frag_overlaps 0"
        if not final or want not in final[-1]:
            fails.append(f"final line lacks '{want}': {final}")
        print(f"fragmented: {n_frag} ESME segments; dataplane "
              f"{final[-1][final[-1].find('ip_frags'):].strip() if final else '?'}")
    events = [json.loads(l) for l in open(ev) if l.strip()]
    verdicts = {e["sequence"]: e for e in events if e["type"] == "verdict"}
    blocked = {s: e for s, e in verdicts.items() if e["verdict"] != "pass"}
    passed = {s for s, e in verdicts.items() if e["verdict"] == "pass"}
    if len(verdicts) != 5 or len(blocked) != 2:
        fails.append(f"verdicts {sorted((s, e['verdict']) for s, e in verdicts.items())}")
    if any(e.get("monitor") for e in verdicts.values()):
        fails.append("verdicts recorded in monitor mode")
    orig = [p for p in dump(orig_path) if p["command_name"] == "submit_sm" and p["dir"] == "c2s"]
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
    print(f"inline pcap{' (fragmented)' if fragmented else ''}: verdicts {len(verdicts)} blocked "
          f"{sorted(blocked)} toward SMSC {sorted(subs)} responses "
          f"{[(p['sequence_number'], hex(p['command_status'])) for p in resp]}")
    return fails


def main():
    work = tempfile.mkdtemp(prefix="smsfw-pcap-inline-")
    conf = os.path.join(work, "inline.conf")
    with open(os.path.join(SRC, "scripts/lab.d/lab.conf")) as f, open(conf, "w") as g:
        g.write(f.read().replace("mode = monitor", "mode = inline"))
    inp = os.path.join(CORPUS, "pcap/node-smpp-session.pcap")
    fails = run_case(os.path.join(work, "whole"), conf, inp, inp, 0)
    frames, n = fragment_esme(read_pcap(inp))
    fin = os.path.join(work, "fragmented.pcap")
    write_pcap(fin, frames)
    if n < 5:
        fails.append(f"only {n} ESME segments fragmented")
    fails += run_case(os.path.join(work, "frag"), conf, fin, inp, n)
    for f in fails:
        print("FAIL:", f)
    if not fails:
        subprocess.run(["rm", "-rf", work])
    else:
        print("work files kept in", work)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
