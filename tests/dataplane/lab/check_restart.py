#!/usr/bin/env python3
"""Check the restart lab run (test_lab_restart.sh) from its work directory:
a.out and b.out (esme_session.js), smsc.json, esme.pcap and smsc.pcap,
dataplane1.log and dataplane2.log (before and after the SIGKILL), tel.json
(a telemetry sample of the restarted dataplane), events.jsonl (both
dataplanes' verdict events), a_restart_send and
a_closed_at (clock of alpha's first submit after the restart and of its
connection's end).

alpha (edited before the restart): 3 answers before (pass, 0x45, pass); its
first submit after the restart is not answered, its connection ends with
ECONNRESET within 2 s, an RST reached both ends of that connection (seen in
both namespaces), the restarted dataplane counted one probe reset and logged
it; alpha rebinds on a new connection and gets pass, 0x45, pass. bravo (only
passed messages): pass, pass before; pass, 0x45, pass after, on one
connection, no RST on it, and its submits after the restart were judged
(the stream resynchronised).
The SMSC got exactly the passed messages, byte-exact, in each session.
   check_restart.py WORK_DIR"""
import json
import os
import subprocess
import sys
from collections import Counter

import labcheck

PASS, CONTENT = 0, 0x45


def lines(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def rst_ports(pcap):
    """(source port, destination port) of every RST in a capture."""
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", "tcp.flags.reset == 1", "-T", "fields",
                          "-e", "tcp.srcport", "-e", "tcp.dstport"],
                         capture_output=True, text=True, check=False)
    return [tuple(int(x) for x in l.split()) for l in out.stdout.splitlines() if l.strip()]


def main():
    w = sys.argv[1]
    fails = []
    a, b = lines(os.path.join(w, "a.out")), lines(os.path.join(w, "b.out"))
    smsc = json.load(open(os.path.join(w, "smsc.json")))

    def by(evs, kind):
        return [e for e in evs if e["ev"] == kind]

    # alpha
    a_bound, a_resp, a_closed = by(a, "bound"), by(a, "resp"), by(a, "closed")
    if [e["status"] for e in a_bound] != [0, 0]:
        fails.append(f"alpha binds {[(e['conn'], e['status']) for e in a_bound]}, expected two, status 0")
    got = [(e["conn"], e["status"]) for e in a_resp]
    want = [(1, PASS), (1, CONTENT), (1, PASS), (2, PASS), (2, CONTENT), (2, PASS)]
    if got != want:
        fails.append(f"alpha responses (connection, status) {got}, expected {want}")
    lost = None
    if len(a_closed) < 1 or a_closed[0]["conn"] != 1:
        fails.append(f"alpha's first connection did not end: {a_closed}")
    else:
        c = a_closed[0]
        if c["error"] != "ECONNRESET":
            fails.append(f"alpha's first connection ended with {c['error']}, not ECONNRESET")
        if len(c["unanswered"]) != 1:
            fails.append(f"alpha's first connection ended with unanswered {c['unanswered']}")
        sent1 = [e for e in by(a, "sent") if e["conn"] == 1]
        if len(sent1) != 4 or c["unanswered"] != [sent1[-1]["seq"]]:
            fails.append("the unanswered submit is not alpha's first after the restart")
        else:
            lost = sent1[-1]["text"]
    closes_later = [e for e in a_closed if e["conn"] != 1 and e.get("error")]
    if closes_later:
        fails.append(f"alpha's second connection failed: {closes_later}")
    t0 = float(open(os.path.join(w, "a_restart_send")).read())
    t1 = float(open(os.path.join(w, "a_closed_at")).read())
    if t1 - t0 > 2.0:
        fails.append(f"alpha's reset took {t1 - t0:.2f} s after its first submit")

    # bravo
    b_resp = by(b, "resp")
    want = [(1, PASS), (1, PASS), (1, PASS), (1, CONTENT), (1, PASS)]
    if [(e["conn"], e["status"]) for e in b_resp] != want:
        fails.append(f"bravo responses {[(e['conn'], e['status']) for e in b_resp]}, expected {want}")
    if [e for e in by(b, "closed") if e.get("error")] or len(by(b, "bound")) != 1:
        fails.append(f"bravo's connection did not survive: {by(b, 'closed')} binds {len(by(b, 'bound'))}")
    if [e["status"] for e in by(a, "unbound") + by(b, "unbound")] != [0, 0]:
        fails.append("unbind not answered")

    # The SMSC: exactly the passed messages of each customer, byte-exact.
    passed = Counter((sid, e["dst"], e["text"]) for sid, evs in (("alpha", a), ("bravo", b))
                     for e in by(evs, "resp") if e["status"] == PASS)
    got_smsc = Counter((m["sid"], m["dst"], m["message"]) for m in smsc["received"])
    if got_smsc != passed or sum(passed.values()) != 8:
        fails.append(f"SMSC received {sorted(got_smsc)}; passed {sorted(passed)}")
    texts = {m["message"] for m in smsc["received"]}
    for e in by(a, "sent") + by(b, "sent"):
        if "WIN a FREE" in e["text"] and e["text"] in texts:
            fails.append(f"blocked text reached the SMSC: {e['text']}")
    if lost and lost in texts:
        fails.append("the submit lost with the reset reached the SMSC")
    if sorted(smsc["binds"]) != ["alpha", "alpha", "bravo"]:
        fails.append(f"SMSC binds {smsc['binds']}")
    if not any(e.startswith("alpha: ECONNRESET") for e in smsc["errors"]):
        fails.append(f"the SMSC's side of alpha's connection was not reset: errors {smsc['errors']}")
    other = [e for e in smsc["errors"] if not e.startswith("alpha: ECONNRESET")]
    if other:
        fails.append(f"SMSC errors {other}")

    # RSTs in the captures: only on alpha's first connection, at both ends.
    a_port = a_bound[0]["port"] if a_bound else 0
    ok_ports = {e["port"] for e in by(b, "bound")} | {e["port"] for e in a_bound[1:]}
    esme_rst, smsc_rst = rst_ports(os.path.join(w, "esme.pcap")), rst_ports(os.path.join(w, "smsc.pcap"))
    if (2775, a_port) not in esme_rst:
        fails.append(f"no RST toward alpha ({a_port}) in the ESME's namespace: {esme_rst}")
    if (a_port, 2775) not in smsc_rst:
        fails.append(f"no RST from alpha's connection ({a_port}) in the SMSC's namespace: {smsc_rst}")
    stray = [r for r in esme_rst + smsc_rst if set(r) & ok_ports]
    if stray:
        fails.append(f"RST on a connection that must live: {stray}")

    # The restarted dataplane: one probe reset, logged, nothing else failed.
    log1 = open(os.path.join(w, "dataplane1.log")).read()
    log2 = open(os.path.join(w, "dataplane2.log")).read()
    if "smsfw-dataplane final:" in log1:
        fails.append("the first dataplane was not killed (it printed final counters)")
    final, counters = labcheck.final_counters(log2, ("unscanned", "scan_errors", "edit_resets"), fails)
    if final:
        if counters.get("probe_resets") != "1":
            fails.append(f"probe_resets {counters.get('probe_resets')}, expected 1")
        if counters.get("mode") != "inline":
            fails.append(f"mode {counters.get('mode')}")
        if counters.get("injected") != "2":
            fails.append(f"injected {counters.get('injected')} after the restart, expected 2")
    n_logged = log2.count("was edited before a restart")
    if n_logged != 1:
        fails.append(f"the reset is logged {n_logged} times")
    # Resynchronised, not waved through: the restarted dataplane judged
    # bravo's submits after the restart (the session's bind was before it:
    # its system_id is not known, see dataplane/README.md) and alpha's on
    # its new connection (bound again: its own system_id).
    events = [json.loads(l) for l in open(os.path.join(w, "events.jsonl")) if l.strip()]
    judged = [e for e in events if e["type"] == "verdict" and e.get("command") == "submit_sm"]
    after = [("bravo", e) for e in by(b, "resp")[2:]] + [("alpha", e) for e in a_resp[3:]]
    resync_ids = set()
    for sid, e in after:
        v = "pass" if e["status"] == PASS else "block"
        got = [x for x in judged if x["text"] == e["text"] and x["verdict"] == v and
               x["dst"] == e["dst"] and (sid == "bravo" or x["system_id"] == sid)]
        if len(got) != 1:
            fails.append(f"{sid} {e['text']!r} after the restart: {len(got)} '{v}' verdict events, "
                         f"expected 1")
        elif sid == "bravo":
            resync_ids.add(got[0]["system_id"])
    tel = json.load(open(os.path.join(w, "tel.json")))
    if tel.get("edit_probe_resets") != 1:
        fails.append(f"telemetry edit_probe_resets {tel.get('edit_probe_resets')}, expected 1")
    return labcheck.report(
        f"alpha responses {[(e['conn'], e['status']) for e in a_resp]} reset after "
        f"{(t1 - t0) * 1000:.0f} ms; bravo responses {len(b_resp)}; SMSC received "
        f"{sum(got_smsc.values())}; RST esme {esme_rst} smsc {smsc_rst}; bravo judged after the "
        f"restart as system_id {sorted(resync_ids)}", final, fails)


if __name__ == "__main__":
    sys.exit(main())
