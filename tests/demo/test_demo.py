#!/usr/bin/env python3
"""The README's main command in short mode: scripts/demo.sh --short.

Runs the whole demo (lab, controld, dataplane, smsfw-gen SMSC and four ESMEs)
and checks what an operator is promised to see in its summary: traffic
passed, messages of several policy categories stopped, the STOP learned as
an opt-out for the right customer, the complaint answered with evidence, the
legitimate bank untouched, and in inline mode the abusive customer moved off
'active' by the policy. Exit 77 (skip) when not root.
"""
import json
import os
import subprocess
import sys
import tempfile


def main(argv):
    top, build = argv[1], argv[2]
    mode = argv[3] if len(argv) > 3 else "inline"
    if os.geteuid() != 0:
        print("skip: the demo needs root")
        return 77
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        summary_path = os.path.join(tmp, "summary.json")
        env = dict(os.environ, SMSFW_SKIP_DEPS="1", SMSFW_BUILD=build)
        args = [os.path.join(top, "scripts", "demo.sh"), "--short", "--summary-json", summary_path]
        if mode == "monitor":
            args.append("--monitor")
        res = subprocess.run(args, env=env, capture_output=True, text=True, timeout=400)
        print(res.stdout[-6000:])
        if res.returncode != 0:
            print(res.stderr[-3000:])
            print("FAIL demo exited %d" % res.returncode)
            return 1
        s = json.load(open(summary_path))

    st = s["status"]
    dp = st["dataplane"]
    cats = st.get("blocked_by_category", {})
    if not dp.get("up") and dp.get("rx_pdus", 0) == 0:
        bad.append("controld saw no dataplane traffic: %r" % dp)
    if dp.get("passed", 0) < 500:
        bad.append("too little traffic passed: %r" % dp.get("passed"))
    for cat in ("spam", "spoofing", "flood", "optout", "bulk"):
        if cats.get(cat, 0) <= 0:
            bad.append("no %s verdicts in blocked_by_category %r" % (cat, cats))
    bank = s["customers"]["acme-bank"]
    if bank.get("standing") != "active" or bank.get("violations", 0) != 0:
        bad.append("the legitimate bank was affected: %s, %s violations"
                   % (bank.get("standing"), bank.get("violations")))
    bank_esme = s["esmes"].get("acme-bank", {}).get("submit_sm", {})
    if bank_esme.get("sent", 0) == 0 or bank_esme.get("status", {}).get("ESME_ROK") != bank_esme.get("sent"):
        bad.append("the bank's submits were not all accepted: %r" % bank_esme)
    opt = s.get("optouts") or []
    if isinstance(opt, dict):
        opt = opt.get("optouts", [])
    if not any(o.get("customer") == "shopco" for o in opt):
        bad.append("the STOP was not learned as an opt-out for shopco: %r" % opt)
    if any(o.get("customer") == "acme-bank" for o in opt):
        bad.append("the STOP to shopco opted the subscriber out of acme-bank too")
    met = s.get("metrics") or {}
    if met.get("smsfw_dataplane_port_packets_total", 0) <= 0:
        bad.append("/metrics shows no packets on the dataplane's ports: %r" % met)
    if met.get("smsfw_dataplane_worker_flows_max", 0) <= 0:
        bad.append("/metrics shows no flow-table capacity: %r" % met)
    ql = s["customers"]["quickloans"]
    if ql.get("complaints_30d", 0) < 1:
        bad.append("the complaint against quickloans was not recorded")
    if mode == "inline":
        if dp.get("blocked", 0) <= 0:
            bad.append("inline mode blocked nothing")
        if ql.get("standing") == "active":
            bad.append("quickloans is still active after its phishing and forged senders")
        refused = sum(v for k, v in s["esmes"]["quickloans"].get("submit_sm", {})
                      .get("status", {}).items() if k != "ESME_ROK")
        if refused == 0:
            bad.append("quickloans' ESME saw no refused submit in inline mode")
    for b in bad:
        print("FAIL " + b)
    print("%d problems" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
