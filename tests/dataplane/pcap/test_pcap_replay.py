#!/usr/bin/env python3
"""pcap replay through smsfw-dataplane (net_pcap vdevs, monitor mode).

For each case: the capture goes in on port 0 (ESME side), must come out of
port 1 byte-identical and in order, the /smsfw/* telemetry commands must
answer with counts that match the traffic, and the verdict events must be
exactly the expected ones.

Cases: the corpus's node-smpp session (port 2775), the corpus's nDPI capture
(SMPP on port 9000), and a crafted capture with ARP, IPv6 ND, UDP, other TCP,
802.1Q, QinQ, IPv6 with extension headers, IP fragments, TLS on the SMPP
port, a flow picked up mid-stream, and a PDU split over reordered segments.

The nDPI case loads a compiled ruleset file (smsfw-patc compile) instead
of the rule directory.

   test_pcap_replay.py SMSFW_DATAPLANE SOURCE_DIR CORPUS_DIR [SMSFW_PATC]
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

BIN, SRC, CORPUS = sys.argv[1:4]
PATC = sys.argv[4] if len(sys.argv) > 4 else None
RULES = os.path.join(SRC, "tests/dataplane/pcap/rules")


# ------------------------------------------------------------- frame craft
MAC = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"


def eth(ethertype, payload, vlans=()):
    h = MAC
    for i, v in enumerate(vlans):
        tpid = 0x88A8 if (i == 0 and len(vlans) == 2) else 0x8100
        h += struct.pack(">HH", tpid, v)
    fr = h + struct.pack(">H", ethertype) + payload
    return fr + b"\x00" * max(0, 60 - len(fr))


def csum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, frag=0, ident=1):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0,
                    bytes(src), bytes(dst))
    h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, ext=b""):
    return struct.pack(">IHBB16s16s", 0x60000000, len(ext) + len(payload), nh, 64, bytes(src),
                       bytes(dst)) + ext + payload


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags,
                       65535, 0, 0) + payload


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def pdu(cmd, seq, body=b"", status=0):
    return struct.pack(">IIII", 16 + len(body), cmd, status, seq) + body


def cstr(s):
    return s.encode() + b"\x00"


def bind(seq, sid):
    return pdu(0x2, seq, cstr(sid) + cstr("pw") + cstr("") + bytes([0x34, 0, 0]) + cstr(""))


def bind_resp(seq):
    return pdu(0x80000002, seq, cstr("SMSC"))


def submit(seq, text, src="447700900001", dst="447700900002", ton=1):
    t = text.encode()
    body = (cstr("") + bytes([ton, 1]) + cstr(src) + bytes([1, 1]) + cstr(dst) + bytes([0, 0, 0]) +
            cstr("") + cstr("") + bytes([0, 0, 1, 0, len(t)]) + t)
    return pdu(0x4, seq, body)


def replace(seq, text, msgid="MID-1", src="447700900001"):
    """replace_sm: message_id, source (TON 1, NPI 1), no schedule or validity
    change, registered_delivery 0, sm_default_msg_id 0, the new text (the
    SMSC default alphabet: replace_sm has no data_coding)."""
    t = text.encode()
    return pdu(0x7, seq, cstr(msgid) + bytes([1, 1]) + cstr(src) + cstr("") + cstr("") +
               bytes([0, 0, len(t)]) + t)


class Flow:
    """A TCP connection ESME:ephemeral -> SMSC:port, producing frames."""

    def __init__(self, l3, cli, srv, cport, sport=2775, vlans=()):
        self.l3, self.cli, self.srv, self.cport, self.sport, self.vlans = l3, cli, srv, cport, sport, vlans
        self.cseq, self.sseq = 1000, 9000

    def frame(self, from_cli, flags, payload=b"", seq=None):
        s = self.cseq if from_cli else self.sseq
        a = self.sseq if from_cli else self.cseq
        if seq is not None:
            s = seq
        t = tcp(self.cport if from_cli else self.sport, self.sport if from_cli else self.cport,
                s, a, flags, payload)
        src, dst = (self.cli, self.srv) if from_cli else (self.srv, self.cli)
        fr = self.l3(src, dst, t)
        if seq is None:
            adv = len(payload) + (1 if flags & (SYN | FIN) else 0)
            if from_cli:
                self.cseq += adv
            else:
                self.sseq += adv
        return fr

    def handshake(self):
        return [self.frame(True, SYN), self.frame(False, SYN | ACK), self.frame(True, ACK)]


def v4(vlans=()):
    return lambda s, d, t: eth(0x0800, ipv4(s, d, 6, t), vlans)


def v6ext(s, d, t):
    # hop-by-hop (PadN) -> destination options (PadN) -> TCP
    ext = bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([6, 0, 1, 4, 0, 0, 0, 0])
    return eth(0x86DD, ipv6(s, d, 0, t, ext))


E4, S4 = [198, 18, 0, 1], [198, 18, 0, 2]
E6 = [0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1]
S6 = [0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [2]


def fragmented():
    """Two fragmented SMPP packets and the verdicts they get when reassembled."""
    frames, expect = [], []
    # IPv4 fragments of an SMPP segment: reassembled and inspected (a flow
    # picked up mid-stream: no session), forwarded byte-identical in order.
    seg = tcp(42004, 2775, 5000, 1, ACK | PSH, submit(3, "fragmented " * 10))
    frames.append(eth(0x0800, ipv4(E4, S4, 6, seg[:48], frag=0x2000, ident=77)))
    frames.append(eth(0x0800, ipv4(E4, S4, 6, seg[48:], frag=6, ident=77)))
    expect.append(("verdict", "", 3, "pass", ""))
    # IPv6 over 802.1Q, hop-by-hop then a fragment header: a spam submit in
    # three fragments arriving last first (monitor mode: recorded, forwarded).
    seg6 = tcp(42009, 2775, 7000, 1, ACK | PSH, submit(4, "win a free prize, call now " * 3))
    for off, data in reversed([(0, seg6[:64]), (64, seg6[64:128]), (128, seg6[128:])]):
        fh = struct.pack(">BBHI", 6, 0, off | (0 if off == 128 else 1), 0x5157)
        hbh = bytes([44, 0, 1, 4, 0, 0, 0, 0])
        frames.append(eth(0x86DD, ipv6(E6, S6, 0, data, hbh + fh), (100,)))
    expect.append(("verdict", "", 4, "block", "9102"))
    return frames, expect


def crafted():
    frames, expect = [], []
    # Not SMPP: ARP, IPv6 neighbour solicitation, UDP, TCP to port 80.
    frames.append(eth(0x0806, bytes([0, 1, 8, 0, 6, 4, 0, 1]) + MAC[6:] + bytes(E4) + bytes(6) + bytes(S4)))
    ns = bytes([135, 0, 0, 0, 0, 0, 0, 0]) + bytes(S6)
    frames.append(eth(0x86DD, struct.pack(">IHBB16s16s", 0x60000000, len(ns), 58, 255, bytes(E6),
                                          bytes(S6)) + ns))
    frames.append(eth(0x0800, ipv4(E4, S4, 17, struct.pack(">HHHH", 5353, 53, 12, 0) + b"abcd")))
    web = Flow(v4(), E4, S4, 41000, 80)
    frames += web.handshake() + [web.frame(True, ACK | PSH, b"GET / HTTP/1.1\r\n\r\n")]
    # 802.1Q: a session with a spam submit.
    f = Flow(v4((100,)), E4, S4, 42001)
    frames += f.handshake()
    frames += [f.frame(True, ACK | PSH, bind(1, "vlan1")), f.frame(False, ACK | PSH, bind_resp(1))]
    frames += [f.frame(True, ACK | PSH, submit(2, "WIN a FREE prize now"))]
    expect.append(("verdict", "vlan1", 2, "block", "9102"))
    # ... and a replace_sm giving a scheduled message the same text.
    frames += [f.frame(True, ACK | PSH, replace(3, "WIN a FREE prize now"))]
    expect.append(("verdict", "vlan1", 3, "block", "9102"))
    # QinQ: a harmless submit.
    f = Flow(v4((200, 300)), E4, S4, 42002)
    frames += f.handshake()
    frames += [f.frame(True, ACK | PSH, bind(1, "qinq1")), f.frame(False, ACK | PSH, bind_resp(1))]
    frames += [f.frame(True, ACK | PSH, submit(2, "hello from the inner vlan"))]
    expect.append(("verdict", "qinq1", 2, "pass", ""))
    # IPv6 with extension headers: phishing.
    f = Flow(v6ext, E6, S6, 42003)
    frames += f.handshake()
    frames += [f.frame(True, ACK | PSH, bind(1, "v6ext")), f.frame(False, ACK | PSH, bind_resp(1))]
    frames += [f.frame(True, ACK | PSH, submit(7, "Verify now at http://example.test/login"))]
    expect.append(("verdict", "v6ext", 7, "block", "9101"))
    ff, fe = fragmented()
    frames += ff
    expect += fe
    # A fragmented packet of another service passes without an event.
    web2 = tcp(41001, 80, 1, 1, ACK | PSH, b"x" * 64)
    frames.append(eth(0x0800, ipv4(E4, S4, 6, web2[:40], frag=0x2000, ident=78)))
    frames.append(eth(0x0800, ipv4(E4, S4, 6, web2[40:], frag=5, ident=78)))
    # TLS on the SMPP port.
    f = Flow(v4(), E4, S4, 42005)
    frames += f.handshake()
    frames += [f.frame(True, ACK | PSH, bytes([0x16, 3, 1, 0, 0x2F, 1, 0, 0, 0x2B, 3, 3]) + bytes(40))]
    expect.append(("uninspectable", "", 0, "block", "builtin:tls"))
    # HTTP on the SMPP port: not SMPP, reported once.
    f = Flow(v4(), E4, S4, 42008)
    frames += f.handshake() + [f.frame(True, ACK | PSH, b"GET / HTTP/1.1\r\nHost: smsc\r\n\r\n")]
    expect.append(("uninspectable", "", 0, "block", "builtin:not-smpp"))
    # Picked up mid-stream: the tail of one PDU, then a spam submit.
    f = Flow(v4(), E4, S4, 42006)
    first = submit(10, "an earlier message")
    frames += [f.frame(True, ACK | PSH, first[20:] + submit(11, "win a free prize, call now"))]
    expect.append(("verdict", "", 11, "block", "9102"))
    # A PDU in three segments, the last two swapped.
    f = Flow(v4(), E4, S4, 42007)
    frames += f.handshake()
    frames += [f.frame(True, ACK | PSH, bind(1, "split")), f.frame(False, ACK | PSH, bind_resp(1))]
    p = submit(2, "verify now at http://example.test/login, or else")
    a, b = 20, 45
    s0 = f.cseq
    frames += [f.frame(True, ACK, p[:a], seq=s0), f.frame(True, ACK | PSH, p[b:], seq=s0 + b),
               f.frame(True, ACK, p[a:b], seq=s0 + a)]
    f.cseq += len(p)
    expect.append(("verdict", "split", 2, "block", "9101"))
    return frames, expect


def jumbo():
    """Jumbo frames (longer than one 2 KiB mbuf: chained mbufs in the
    dataplane): one TCP segment of about 3 KB carrying 20 submits, the last
    one spam, then 4 KB of another service."""
    frames, expect = [], []
    f = Flow(v4(), E4, S4, 42101)
    frames += f.handshake()
    frames += [f.frame(True, ACK | PSH, bind(1, "jumbo")), f.frame(False, ACK | PSH, bind_resp(1))]
    body = b"".join(submit(10 + i, f"reminder {i}: your appointment is tomorrow at ten, reply YES to confirm")
                    for i in range(19))
    body += submit(29, "WIN a FREE prize now")
    frames.append(f.frame(True, ACK | PSH, body))
    expect += [("verdict", "jumbo", 10 + i, "pass", "") for i in range(19)]
    expect.append(("verdict", "jumbo", 29, "block", "9102"))
    web = Flow(v4(), E4, S4, 41002, 80)
    frames += web.handshake() + [web.frame(True, ACK | PSH, b"x" * 4000)]
    assert len(frames[5]) > 2048 and len(frames[-1]) > 2048
    return frames, expect


# --------------------------------------------------------------- telemetry
def telemetry(prefix, cmd):
    """Ask the running dataplane through DPDK's own client, dpdk-telemetry.py
    (package dpdk-dev), as an operator would; OSError while it is not up."""
    out = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input=cmd + "\n",
                         capture_output=True, text=True, timeout=30, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)[cmd.split(",")[0]]
    raise OSError("dpdk-telemetry.py: no answer: " + (out.stdout + out.stderr).strip()[-200:])


def run_case(name, frames, expect, conf, work, stats_expect, rules_path=RULES):
    fails = []
    inp = os.path.join(work, name + ".in.pcap")
    write_pcap(inp, frames) if frames is not None else None
    if frames is None:
        return ["no frames"]
    empty = os.path.join(work, "empty.pcap")
    write_pcap(empty, [])
    out0, out1 = os.path.join(work, name + ".out0.pcap"), os.path.join(work, name + ".out1.pcap")
    ev = os.path.join(work, name + ".events.jsonl")
    prefix = f"smsfw-pcap-{os.getpid()}-{name}"
    cmd = [BIN, "--no-pci", "--no-huge", "--in-memory", "-m", "512", "-l", "0-1",
           "--file-prefix", prefix, "--log-level=*:warning",
           "--vdev", f"net_pcap0,rx_pcap={inp},tx_pcap={out0}",
           "--vdev", f"net_pcap1,rx_pcap={empty},tx_pcap={out1}",
           "--", "--config", conf, "--rules", rules_path, "--events", ev, "--no-lmdb",
           "--idle-sleep-us", "1000"]
    log = open(os.path.join(work, name + ".log"), "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    stats = flows = rules = custs = sessions = None
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            time.sleep(0.2)
            if p.poll() is not None:
                break
            try:
                stats = telemetry(prefix, "/smsfw/stats")
            except OSError:
                continue
            if stats is None:
                continue  # the program has not registered its commands yet
            if stats["rx_frames"] >= len(frames):
                time.sleep(0.3)
                stats = telemetry(prefix, "/smsfw/stats")
                flows = telemetry(prefix, "/smsfw/flows")
                rules = telemetry(prefix, "/smsfw/ruleset")
                custs = telemetry(prefix, "/smsfw/customers")
                sessions = telemetry(prefix, "/smsfw/flows,sessions")
                break
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=20)
        log.close()
    if rc != 0:
        fails.append(f"exit status {rc}")
    if stats is None or flows is None:
        return fails + ["telemetry never showed every frame received"]
    if stats["rx_frames"] != len(frames) or stats["tx_frames"] != len(frames):
        fails.append(f"telemetry rx {stats['rx_frames']} tx {stats['tx_frames']}, sent {len(frames)}")
    for k, v in stats_expect.items():
        got = flows[k] if k in flows else stats.get(k)
        if got != v:
            fails.append(f"telemetry {k} = {got}, expected {v}")
    if rules.get("loaded") != "yes" or rules.get("rules") != 3:
        fails.append(f"/smsfw/ruleset: {rules}")
    if rules.get("source") != rules_path:
        fails.append(f"/smsfw/ruleset source {rules.get('source')}, expected {rules_path}")
    # Per-rule and per-customer counters agree with the expected events.
    for rule in {e[4] for e in expect if e[0] == "verdict" and e[4]}:
        want = sum(1 for e in expect if e[0] == "verdict" and e[4] == rule)
        if rules.get("hits_" + rule) != want:
            fails.append(f"/smsfw/ruleset hits_{rule} = {rules.get('hits_' + rule)}, expected {want}")
    for sid in {e[1] for e in expect if e[0] == "verdict" and e[1]}:
        want = sum(1 for e in expect if e[0] == "verdict" and e[1] == sid)
        lines = [v for v in (sessions or {}).values() if v.startswith(sid + " ")]
        if len(lines) != 1 or f"submits={want} " not in lines[0]:
            fails.append(f"/smsfw/flows,sessions for {sid}: {lines}")
        line = (custs or {}).get("traffic_" + sid, "")
        if f"submits={want} " not in line:
            fails.append(f"/smsfw/customers traffic_{sid} = '{line}', expected {want} submits")
    outf = read_pcap(out1)
    if outf != frames:
        n = sum(1 for a, b in zip(outf, frames) if a != b)
        fails.append(f"port 1 sent {len(outf)} frames, {n} differ from the {len(frames)} received")
    if read_pcap(out0):
        fails.append("frames came back out of the ESME side")
    got = []
    for line in open(ev):
        e = json.loads(line)
        if e["type"] in ("verdict", "uninspectable"):
            got.append((e["type"], e["system_id"], e.get("sequence", 0) if e["type"] == "verdict" else 0,
                        e["verdict"], e["rule"]))
    if sorted(got) != sorted(expect):
        fails.append(f"events {sorted(got)} != expected {sorted(expect)}")
    final = [l for l in open(os.path.join(work, name + ".log")) if "final:" in l]
    if not final:
        fails.append("no final counters on SIGINT")
    return fails


def main():
    work = tempfile.mkdtemp(prefix="smsfw-pcap-")
    conf2775 = os.path.join(SRC, "scripts/lab.d/lab.conf")
    conf9000 = os.path.join(work, "port9000.conf")
    with open(conf2775) as f, open(conf9000, "w") as g:
        g.write(f.read().replace("smpp_ports = 2775", "smpp_ports = 9000"))
    node = read_pcap(os.path.join(CORPUS, "pcap/node-smpp-session.pcap"))
    ndpi = read_pcap(os.path.join(CORPUS, "pcap/ndpi-smpp-in-general.pcap"))
    frames, expect = crafted()
    # ip_reassembly_packets = 0: no reassembly, each fragmented SMPP packet
    # is uninspectable (the policy: block, recorded in monitor mode). The
    # IPv6 packet's last two fragments come before the first names the SMPP
    # port: they pass unknown, so 3 of the 5 fragments count as SMPP ones.
    conf_nofrag = os.path.join(work, "nofrag.conf")
    with open(conf2775) as f, open(conf_nofrag, "w") as g:
        g.write(f.read().replace("[dataplane]\n", "[dataplane]\nip_reassembly_packets = 0\n", 1))
    nofrag, _ = fragmented()
    jf, je = jumbo()
    cases = [
        ("node", node, [("verdict", "esme1", 2, "pass", ""), ("verdict", "esme1", 3, "block", "9103"),
                        ("verdict", "esme1", 4, "pass", ""), ("verdict", "esme1", 5, "pass", ""),
                        ("verdict", "esme1", 6, "block", "9101")],
         conf2775, {"submits": 5, "binds": 1, "bind_ok": 1, "unbinds": 1, "created": 1}),
        ("ndpi", ndpi, [("verdict", "abhik", 3, "pass", "")], conf9000, {"submits": 1, "created": 1}),
        ("crafted", frames, expect, conf2775,
         {"ip_frags": 7, "smpp_frags": 5, "tls_flows": 1, "submits": 7, "replaces": 1,
          "pdu_replace_sm": 1, "binds": 4, "resync": 3, "ooo_held": 1,
          "non_smpp_tcp": 4, "other_frames": 3, "pdus_reassembled": 1, "frag_reassembled": 2,
          "frag_held": 3, "frag_released": 3, "frag_refused": 0, "frag_overlaps": 0}),
        ("jumbo", jf, je, conf2775, {"submits": 20, "binds": 1, "bind_ok": 1, "bad_frames": 0}),
        ("nofrag", nofrag, [("uninspectable", "", 0, "block", "builtin:ip-fragment")] * 2, conf_nofrag,
         {"ip_frags": 5, "smpp_frags": 3, "frag_held": 0, "frag_reassembled": 0, "submits": 0}),
    ]
    blob = None
    if PATC:
        blob = os.path.join(work, "pcap-rules.bin")
        subprocess.run([PATC, "compile", "-o", blob, RULES], check=True, stdout=subprocess.DEVNULL)
    failed = 0
    for name, fr, exp, conf, st in cases:
        fails = run_case(name, fr, exp, conf, work, st,
                         blob if (blob and name == "ndpi") else RULES)
        print(f"{name}: {len(fr)} frames, {len(exp)} expected events: {'ok' if not fails else 'FAIL'}")
        for f in fails:
            print("   ", f)
        failed += bool(fails)
    if not failed:
        subprocess.run(["rm", "-rf", work])
    else:
        print("work files kept in", work)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
