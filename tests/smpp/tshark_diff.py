#!/usr/bin/env python3
"""tshark_diff.py — smsfw-dump --json against tshark's SMPP dissector.

usage:
  tshark_diff.py --dump SMSFW_DUMP corpus PCAP...
      compare on existing captures, then on one written here with the texts
      node-smpp cannot send (data_coding 6 ISO-8859-5 and 7 ISO-8859-8: a
      message in each, and every octet 0x80-0xFF of each)
  tshark_diff.py --dump SMSFW_DUMP peers PEERS_SCRIPT WORKDIR
      run the node-smpp session (peers_session.js) on loopback under a
      bounded tcpdump capture, then compare on that capture

For every SMPP PDU tshark sees, smsfw-dump must print one record in the same
frame, in the same order, agreeing on: command_id, command_status,
sequence_number, source/destination addresses with TON/NPI, esm_class,
data_coding, message_id, system_id, the decoded text (smpp.message_text,
tshark run with smpp.decode_sms_over_smpp "GSM 7-bit"), and the
concatenation fields (UDH IEI 0x00/0x08 via gsm_sms.udh.mm.*, SAR TLVs).
Exit 0 when all agree, 1 on any difference, 77 (skip) when the peers
capture cannot be made here (no tcpdump, no node, no capture permission).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from dump_cases import ACK, PSH, SYN, Pcap, submit

TSHARK_OPTS = ["-o", "smpp.decode_sms_over_smpp:GSM 7-bit", "-o", "smpp.reassemble_smpp_over_tcp:TRUE"]


def tshark_pdus(pcap, ports):
    """Per frame, the list of tshark's smpp layers (dicts of field -> str)."""
    cmd = ["tshark", "-r", pcap, "-Y", "smpp", "-T", "json", "--no-duplicate-keys",
           "-J", "frame smpp gsm_sms_ud"] + TSHARK_OPTS
    for p in ports:
        cmd += ["-d", "tcp.port==%d,smpp" % p]
    # tshark may print invalid UTF-8 (seen: surrogate halves as 3-octet
    # sequences); keep those octets visible instead of failing
    out = subprocess.run(cmd, check=True, capture_output=True).stdout.decode("utf-8", "surrogateescape")
    frames = {}
    for pkt in json.loads(out or "[]"):
        layers = pkt["_source"]["layers"]
        frame = int(layers["frame"]["frame.number"]) if "frame.number" in layers.get("frame", {}) \
            else None
        smpp = layers.get("smpp")
        if smpp is None:
            continue
        if isinstance(smpp, dict):
            smpp = [smpp]
        ud = layers.get("gsm_sms_ud")
        uds = ud if isinstance(ud, list) else ([ud] if ud else [])
        frames[frame] = (smpp, uds)
    return frames


def dump_records(dump, pcap, ports):
    cmd = [dump, "--json"]
    for p in ports:
        cmd += ["--port", str(p)]
    res = subprocess.run(cmd + [pcap], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit("smsfw-dump exited %d: %s" % (res.returncode, res.stderr))
    recs = {}
    # one record per '\n'-ended line; splitlines() would also cut at the
    # U+0085 and U+2028 a decoded text may hold
    for line in res.stdout.split("\n"):
        if not line:
            continue
        r = json.loads(line)
        recs.setdefault(r["frame"], []).append(r)
    return recs


def flat(d, out=None):
    """Flatten tshark's nested dict into field -> [values] (subtrees included)."""
    if out is None:
        out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            flat(v, out)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, dict):
                    flat(x, out)
                else:
                    out.setdefault(k, []).append(x)
        else:
            out.setdefault(k, []).append(v)
    return out


def num(s):
    return int(s, 0)


def join_surrogates(text):
    """tshark 4.0 turns each UTF-16 surrogate of a UCS-2 message into its own
    3-octet sequence (CESU-8, not valid UTF-8); smsfw-dump joins the pair
    into one code point as UTF-16 demands. Compare after joining."""
    raw = text.encode("utf-8", "surrogateescape")
    try:
        lone = raw.decode("utf-8", "surrogatepass")
        return lone.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeError:
        return text


def tshark_8859_5_shy(text):
    """tshark 4.0's ISO-8859-5 table maps 0xAD to U+040D; the standard's code
    chart (Unicode's 8859-5.TXT, glibc iconv) has SOFT HYPHEN U+00AD there,
    as smsfw-dump does. U+040D is not in ISO-8859-5 at all, so it can only
    come from 0xAD: compare with it put back."""
    return text.replace("\u040d", "\u00ad")


class Diff:
    def __init__(self, name):
        self.name = name
        self.errors = []
        self.checked = 0

    def eq(self, where, what, ours, theirs):
        self.checked += 1
        if ours != theirs:
            self.errors.append("%s %s: smsfw-dump %r, tshark %r" % (where, what, ours, theirs))


def compare_pdu(diff, where, ours, ts, ud):
    f = flat(ts)
    one = lambda k: f[k][0] if k in f else None
    diff.eq(where, "command_id", ours["command_id"], num(one("smpp.command_id")))
    diff.eq(where, "sequence_number", ours["sequence_number"], num(one("smpp.sequence_number")))
    diff.eq(where, "command_status", ours["command_status"],
            num(one("smpp.command_status")) if one("smpp.command_status") else 0)
    if "error" in ours:
        diff.errors.append("%s: smsfw-dump reports %s on a PDU tshark decodes" % (where, ours["error"]))
        return
    multi = "dest_address" in ours   # destinations live in the list
    for k in ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi",
              "data_coding", "addr_ton", "addr_npi", "esme_addr_ton", "esme_addr_npi"):
        if multi and k.startswith("dest_"):
            continue
        if k in ours or ("smpp." + k) in f:
            t = one("smpp." + k)
            diff.eq(where, k, ours.get(k), num(t) if t is not None else None)
    for k in ("source_addr", "destination_addr", "system_id", "message_id", "esme_addr"):
        if multi and k == "destination_addr":
            continue
        t = one("smpp." + k)
        o = ours.get(k)
        # tshark leaves empty strings out of the tree
        if t is None and o == "":
            continue
        if k in ours or t is not None:
            diff.eq(where, k, o, t)
    if "esm_class" in ours:
        mode, typ, feat = (one("smpp.esm.submit.msg_mode"), one("smpp.esm.submit.msg_type"),
                           one("smpp.esm.submit.features"))
        if mode is not None:
            diff.eq(where, "esm_class", ours["esm_class"], num(mode) | num(typ) << 2 | num(feat) << 6)
    # submit_multi destinations
    if "dest_address" in ours:
        sme = [d["destination_addr"] for d in ours["dest_address"] if d["dest_flag"] == 1]
        dls = [d["dl_name"] for d in ours["dest_address"] if d["dest_flag"] == 2]
        diff.eq(where, "dest_address SME", sme, f.get("smpp.destination_addr", []))
        diff.eq(where, "dest_address TON", [d["dest_addr_ton"] for d in ours["dest_address"]
                                            if d["dest_flag"] == 1],
                [num(x) for x in f.get("smpp.dest_addr_ton", [])])
        diff.eq(where, "dest_address NPI", [d["dest_addr_npi"] for d in ours["dest_address"]
                                            if d["dest_flag"] == 1],
                [num(x) for x in f.get("smpp.dest_addr_npi", [])])
        diff.eq(where, "dest_address DL", dls, f.get("smpp.dl_name", []))
    # decoded text
    t = one("smpp.message_text")
    if t is not None:
        t = join_surrogates(t)
    if t is not None and ours.get("data_coding") == 6:
        t = tshark_8859_5_shy(t)
    if t is not None or "text" in ours:
        diff.eq(where, "text", ours.get("text"), t)
    # concatenation: UDH (gsm_sms_ud) or SAR
    cc = ours.get("concat")
    if cc and cc["source"] == "sar":
        diff.eq(where, "concat", (cc["ref"], cc["total"], cc["seq"]),
                (num(one("smpp.sar_msg_ref_num")), num(one("smpp.sar_total_segments")),
                 num(one("smpp.sar_segment_seqnum"))))
    elif cc:
        u = flat(ud) if ud else {}
        got = tuple(num(u[k][0]) if k in u else None for k in
                    ("gsm_sms.udh.mm.msg_id", "gsm_sms.udh.mm.msg_parts", "gsm_sms.udh.mm.msg_part"))
        diff.eq(where, "concat", (cc["ref"], cc["total"], cc["seq"]), got)
    elif "smpp.sar_msg_ref_num" in f:
        diff.errors.append("%s: tshark shows SAR TLVs, smsfw-dump no concat" % where)


def compare(dump, pcap, tshark_ports):
    """smsfw-dump runs with its defaults: SMPP on other ports is found by header."""
    diff = Diff(pcap)
    ts = tshark_pdus(pcap, tshark_ports)
    ours = dump_records(dump, pcap, [])
    n_ts = sum(len(v[0]) for v in ts.values())
    n_ours = sum(len(v) for v in ours.values())
    if n_ts == 0:
        diff.errors.append("tshark found no SMPP PDU")
    diff.eq(pcap, "PDU count", n_ours, n_ts)
    diff.eq(pcap, "frames with PDUs", sorted(ours), sorted(ts))
    for frame, (pdus, uds) in sorted(ts.items()):
        mine = ours.get(frame, [])
        if len(mine) != len(pdus):
            diff.errors.append("frame %d: %d PDUs in smsfw-dump, %d in tshark" % (frame, len(mine), len(pdus)))
            continue
        udi = 0
        for i, (o, t) in enumerate(zip(mine, pdus)):
            ud = None
            if "udh" in o and udi < len(uds):
                ud = uds[udi]
                udi += 1
            compare_pdu(diff, "frame %d pdu %d (%s)" % (frame, i, o.get("command_name")), o, t, ud)
    print("%s: %d PDUs, %d field comparisons, %d differences" %
          (os.path.basename(pcap), n_ours, diff.checked, len(diff.errors)))
    for e in diff.errors:
        print("  DIFF " + e)
    return diff


def write_iso8859_capture(path):
    """submit_sm PDUs with data_coding 6 (ISO-8859-5) and 7 (ISO-8859-8) on
    port 2775: a Cyrillic and a Hebrew text, and every octet 0x80-0xFF of
    each charset (C1 controls, letters and, for 7, the unassigned codes
    tshark shows as U+FFFD)."""
    texts = [(6, "Ваша карта заблокирована: bank-secure.example №5".encode("iso8859_5")),
             (7, "החשבון שלך נחסם: bank-secure.example".encode("iso8859_8")),
             (6, bytes(range(0x80, 0x100))),
             (7, bytes(range(0x80, 0x100)))]
    cap = Pcap()
    esme, smsc = [10, 0, 0, 1], [10, 0, 0, 2]
    seq = 1000
    cap.tcp(esme, 40000, smsc, 2775, seq, SYN)
    seq += 1
    for i, (dc, sm) in enumerate(texts):
        body = submit(10 + i, sm, dc=dc)
        cap.tcp(esme, 40000, smsc, 2775, seq, PSH | ACK, body)
        seq += len(body)
    cap.write(path)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_capture(script, work):
    """Run the node peers under a bounded tcpdump on lo; return (pcap, port)."""
    for tool in ("tcpdump", "node"):
        if not shutil.which(tool):
            print("skip: %s not installed" % tool)
            sys.exit(77)
    os.makedirs(work, exist_ok=True)
    port = free_port()
    pcap = os.path.join(work, "peers-%d.pcap" % port)
    err = open(os.path.join(work, "tcpdump.err"), "w+")
    # -Z root keeps the file writable in the build tree; -c bounds the run
    td = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "--immediate-mode", "-U", "-Z", "root",
                           "-c", "2000", "-s", "0", "-w", pcap, "tcp port %d" % port],
                          stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            err.seek(0)
            text = err.read()
            if "listening on" in text:
                break
            if td.poll() is not None:
                print("skip: tcpdump cannot capture here: " + text.strip())
                sys.exit(77)
            time.sleep(0.05)
        else:
            print("skip: tcpdump did not start")
            sys.exit(77)
        res = subprocess.run(["node", script, str(port)], timeout=60, capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit("peers_session.js failed: " + res.stdout + res.stderr)
        time.sleep(0.5)   # let the last segments reach the capture
    finally:
        if td.poll() is None:
            td.send_signal(signal.SIGTERM)
            try:
                td.wait(timeout=5)
            except subprocess.TimeoutExpired:
                td.kill()
                td.wait()
        err.seek(0)
        tail = err.read()
        err.close()
    m = re.search(r"(\d+) packets? dropped by kernel", tail)
    return pcap, port, int(m.group(1)) if m else 0


def make_complete_capture(script, work, tries=3):
    """A capture the kernel dropped packets from has holes that are not the
    codec's fault (a loaded machine); take it again, a bounded number of times."""
    for attempt in range(tries):
        pcap, port, dropped = make_capture(script, work)
        if dropped == 0:
            return pcap, port
        print("capture %s lost %d packets in the kernel; capturing again" % (pcap, dropped))
    raise SystemExit("no complete capture in %d tries (kernel kept dropping packets)" % tries)


def main(argv):
    if len(argv) < 4 or argv[1] != "--dump":
        print(__doc__)
        return 2
    dump, mode, rest = argv[2], argv[3], argv[4:]
    if not shutil.which("tshark"):
        print("skip: tshark not installed")
        return 77
    failed = False
    if mode == "corpus":
        for pcap in rest:
            # the nDPI capture uses port 9000: smsfw-dump must find it unaided
            failed |= bool(compare(dump, pcap, []).errors)
        with tempfile.TemporaryDirectory() as work:
            pcap = os.path.join(work, "iso8859.pcap")
            write_iso8859_capture(pcap)
            # every PDU there carries text: a text tshark leaves out (or
            # decodes otherwise) is a difference, so this cannot pass unread
            failed |= bool(compare(dump, pcap, []).errors)
    elif mode == "peers":
        script, work = rest
        pcap, port = make_complete_capture(script, work)
        # the session runs on a random port: tshark is told, smsfw-dump
        # has to find it by the first PDU header
        d = compare(dump, pcap, [port])
        failed |= bool(d.errors)
        if not d.errors:
            os.unlink(pcap)   # kept for inspection only when it shows a difference
        if d.checked < 150:
            print("too few comparisons (%d): the session did not run as scripted" % d.checked)
            failed = True
    else:
        print(__doc__)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
