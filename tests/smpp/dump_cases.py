#!/usr/bin/env python3
"""dump_cases.py SMSFW_DUMP WORKDIR — smsfw-dump on crafted captures.

Writes a pcap with the TCP situations smsfw-dump must handle and checks its
--json output record by record:
  * a PDU split over two segments (reported at the frame that completes it)
  * two PDUs in one segment
  * a retransmitted segment (PDUs reported once, retransmission counted)
  * segments out of order (held, then delivered in order)
  * a malformed PDU (error key, the dump goes on)
  * garbage before a PDU (one error, then resynchronised)
  * an error response without a body
  * SMPP on a non-SMPP port joined mid-stream (found by its header)
  * a non-SMPP flow (ignored)
  * data_coding 0 packed text with --gsm-packed
and that the exit status is 0 whenever the capture was read, 1 when it
cannot be opened, 2 on a usage error.
"""
import json
import os
import struct
import subprocess
import sys


def pdu(cmd, status, seq, body=b""):
    return struct.pack(">IIII", 16 + len(body), cmd, status, seq) + body


def cstr(s):
    return s.encode() + b"\0"


BIND = pdu(0x00000002, 0, 1, cstr("esme") + cstr("pw") + cstr("") + bytes([0x34, 1, 1]) + cstr(""))
ENQ = pdu(0x00000015, 0, 2)


def submit(seq, sm, dc=0, esm=0):
    return pdu(0x00000004, 0, seq, cstr("") + bytes([5, 0]) + cstr("Bank") + bytes([1, 1]) +
               cstr("447700900123") + bytes([esm, 0, 0]) + cstr("") + cstr("") +
               bytes([0, 0, dc, 0, len(sm)]) + sm)


SUB_HELLO = submit(3, b"Hello")
# "hellohello" packed (3GPP 23.038 example)
SUB_PACKED = submit(4, bytes.fromhex("e8329bfd4697d9ec37"))
# sm_length 9 with 2 octets present: malformed, header fine
BAD = pdu(0x00000004, 0, 5, cstr("") + bytes([5, 0]) + cstr("Bank") + bytes([1, 1]) + cstr("1") +
          bytes([0, 0, 0]) + cstr("") + cstr("") + bytes([0, 0, 0, 0, 9]) + b"Hi")
SUB_AFTER_BAD = submit(6, b"after")
RESP_ERR = pdu(0x80000004, 0x45, 3)          # submit_sm_resp ESME_RSUBMITFAIL, no body


class Pcap:
    def __init__(self):
        self.frames = []

    def tcp(self, src, sport, dst, dport, seq, flags, payload=b"", ack=0):
        ip_len = 20 + 20 + len(payload)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, ip_len, 1, 0x4000, 64, 6, 0,
                         bytes(src), bytes(dst))
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack, 5 << 4, flags,
                          65535, 0, 0)
        eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
        self.frames.append(eth + ip + tcp + payload)
        return len(self.frames)   # frame number of this packet

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for i, fr in enumerate(self.frames):
                f.write(struct.pack("<IIII", 1000 + i, 0, len(fr), len(fr)))
                f.write(fr)


SYN, ACK, PSH = 0x02, 0x10, 0x08


def build(path):
    """Returns the expected (frame, dir, command_name or 'error') list."""
    p = Pcap()
    exp = []
    C, S = [198, 18, 0, 1], [198, 18, 0, 2]
    cs, ss = 1000, 5000          # initial sequence numbers
    p.tcp(C, 40001, S, 2775, cs, SYN)
    p.tcp(S, 2775, C, 40001, ss, SYN | ACK)
    cs += 1
    ss += 1
    # bind split in two segments
    p.tcp(C, 40001, S, 2775, cs, ACK | PSH, BIND[:10])
    f = p.tcp(C, 40001, S, 2775, cs + 10, ACK | PSH, BIND[10:])
    exp.append((f, "c2s", "bind_transmitter"))
    cs += len(BIND)
    # enquire_link and submit_sm in one segment, then the same segment again
    seg = ENQ + SUB_HELLO
    f = p.tcp(C, 40001, S, 2775, cs, ACK | PSH, seg)
    exp += [(f, "c2s", "enquire_link"), (f, "c2s", "submit_sm")]
    p.tcp(C, 40001, S, 2775, cs, ACK | PSH, seg)   # retransmission
    cs += len(seg)
    # error response without body
    f = p.tcp(S, 2775, C, 40001, ss, ACK | PSH, RESP_ERR)
    exp.append((f, "s2c", "submit_sm_resp"))
    ss += len(RESP_ERR)
    # packed submit_sm sent out of order: second half first
    half = len(SUB_PACKED) // 2
    p.tcp(C, 40001, S, 2775, cs + half, ACK | PSH, SUB_PACKED[half:])
    f = p.tcp(C, 40001, S, 2775, cs, ACK | PSH, SUB_PACKED[:half])
    exp.append((f, "c2s", "submit_sm"))
    cs += len(SUB_PACKED)
    # malformed PDU, then a good one in the next segment
    f = p.tcp(C, 40001, S, 2775, cs, ACK | PSH, BAD)
    exp.append((f, "c2s", "error"))
    cs += len(BAD)
    f = p.tcp(C, 40001, S, 2775, cs, ACK | PSH, SUB_AFTER_BAD)
    exp.append((f, "c2s", "submit_sm"))
    cs += len(SUB_AFTER_BAD)
    # garbage, then a PDU, in the server direction
    f = p.tcp(S, 2775, C, 40001, ss, ACK | PSH, b"\x00\x00\x00\x05junk" + ENQ)
    exp += [(f, "s2c", "error"), (f, "s2c", "enquire_link")]
    ss += 9 + len(ENQ)
    # mid-stream flow on port 9000: no handshake in the capture
    D, E = [198, 18, 1, 1], [198, 18, 1, 2]
    f = p.tcp(D, 51000, E, 9000, 777777, ACK | PSH, ENQ)
    exp.append((f, "c2s", "enquire_link"))
    f = p.tcp(E, 9000, D, 51000, 888888, ACK | PSH, pdu(0x80000015, 0, 2))
    exp.append((f, "s2c", "enquire_link_resp"))
    # the capture lost the segment after that enquire_link: the PDU behind
    # the hole is still decoded when the capture ends, with its last frame
    p.tcp(D, 51000, E, 9000, 777777 + 2 * len(ENQ), ACK | PSH, ENQ)
    # not SMPP at all
    p.tcp(D, 51001, E, 8080, 1, SYN)
    last = p.tcp(D, 51001, E, 8080, 2, ACK | PSH, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    exp.append((last, "c2s", "enquire_link"))
    p.write(path)
    return exp


def main(argv):
    dump, work = argv[1], argv[2]
    os.makedirs(work, exist_ok=True)
    pcap = os.path.join(work, "dump-cases.pcap")
    exp = build(pcap)
    bad = []

    res = subprocess.run([dump, "--json", "--gsm-packed", pcap], capture_output=True, text=True)
    if res.returncode != 0:
        bad.append("exit status %d with malformed PDUs in a readable capture" % res.returncode)
    recs = [json.loads(l) for l in res.stdout.splitlines()]
    got = [(r["frame"], r["dir"], "error" if "error" in r else r["command_name"]) for r in recs]
    if got != exp:
        bad.append("records:\n    got      %s\n    expected %s" % (got, exp))
    by_seq = {(r["dir"], r.get("sequence_number")): r for r in recs if "error" not in r}
    if by_seq.get(("c2s", 4), {}).get("text") != "hellohello":
        bad.append("packed text: %r" % by_seq.get(("c2s", 4), {}).get("text"))
    r = by_seq.get(("s2c", 3), {})
    if r.get("command_status") != 0x45 or not r.get("body_absent"):
        bad.append("error response: %r" % r)
    errs = [r for r in recs if "error" in r]
    if len(errs) != 2 or errs[0].get("error_code") != -7:   # SMPP_ESMLEN
        bad.append("error records: %r" % errs)
    if " 1 gaps" not in res.stderr:
        bad.append("hole at the end of the capture not counted: " + res.stderr.strip())
    if " 1 retransmitted" not in res.stderr:
        bad.append("retransmission not counted: " + res.stderr.strip())
    # text mode prints the same records, one per line
    txt = subprocess.run([dump, pcap], capture_output=True, text=True)
    if txt.returncode != 0 or len(txt.stdout.splitlines()) != len(exp):
        bad.append("text mode: status %d, %d lines" % (txt.returncode, len(txt.stdout.splitlines())))
    # unpacked (default) reading of the packed message is not "hellohello"
    un = subprocess.run([dump, "--json", pcap], capture_output=True, text=True)
    hello = False
    for l in un.stdout.splitlines():
        o = json.loads(l)
        if o.get("sequence_number") == 4 and o.get("dir") == "c2s" and o.get("text") == "hellohello":
            bad.append("--gsm-packed made no difference")
        hello |= o.get("sequence_number") == 3 and o.get("text") == "Hello"
    if not hello:
        bad.append("unpacked text of seq 3 is not 'Hello'")
    # exit statuses
    if subprocess.run([dump, os.path.join(work, "missing.pcap")], capture_output=True).returncode != 1:
        bad.append("missing capture: exit status not 1")
    if subprocess.run([dump], capture_output=True).returncode != 2:
        bad.append("no arguments: exit status not 2")
    if subprocess.run([dump, "--port", "x", pcap], capture_output=True).returncode != 2:
        bad.append("bad --port: exit status not 2")

    print("%d records checked, %d problems" % (len(exp), len(bad)))
    for b in bad:
        print("  FAIL " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
