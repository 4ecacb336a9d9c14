#!/usr/bin/env python3
"""Check the lab run: every submit_sm the ESMEs sent has exactly one verdict
event with the expected verdict, category and rule; the SMSC received every
message unchanged (monitor mode); no connection failed; the ruleset swap
happened and left nothing unscanned.
   check_lab.py ESME.json SMSC.json EVENTS.jsonl DATAPLANE.log"""
import sys
from collections import Counter

import labcheck


def main():
    fails = []
    esme, smsc, events, log = labcheck.load_run(*sys.argv[1:5], fails)
    results = esme["results"]
    verdicts = labcheck.submit_verdicts(events, fails)

    kinds = Counter()
    throttled = 0
    for r in results:
        key = (r["sid"], r["seq"])
        e = verdicts.get(key)
        kinds[r["kind"]] += 1
        if e is None:
            fails.append(f"no verdict event for {r['kind']} {key}")
            continue
        exp = r["expect"]
        if e["verdict"] not in exp["verdict"].split("|"):
            fails.append(f"{r['kind']} {key}: verdict {e['verdict']} ({e['rule']}), expected {exp['verdict']}")
            continue
        if e["verdict"] == "throttle":
            throttled += 1
            if e["rule"] != "builtin:rate.customer":
                fails.append(f"{key}: throttle by {e['rule']}")
        if "category" in exp and e["category"] != exp["category"]:
            fails.append(f"{r['kind']} {key}: category {e['category']}, expected {exp['category']}")
        if "rule" in exp and e["rule"] != exp["rule"]:
            fails.append(f"{r['kind']} {key}: rule {e['rule']}, expected {exp['rule']}")
        if r["status"] != 0:
            fails.append(f"{key}: SMSC status {r['status']} in monitor mode")
    if len(verdicts) != len(results):
        fails.append(f"{len(verdicts)} verdict events for {len(results)} submits")
    if throttled == 0:
        fails.append("the burst of 300 was never throttled")

    # Monitor mode: the SMSC got every message, unchanged.
    got = {(m["sid"], m["dst"], m["message"]) for m in smsc["received"]}
    if len(smsc["received"]) != len(results):
        fails.append(f"SMSC received {len(smsc['received'])} submits, ESMEs sent {len(results)}")
    missing = [r for r in results if (r["sid"], r["dst"], r["message"]) not in got]
    if missing:
        fails.append(f"{len(missing)} messages did not reach the SMSC unchanged, e.g. {missing[0]}")

    optouts = [e for e in events if e["type"] == "optout"]
    if not any(e["optout"] and e["subscriber"] == "447700900999" and e["system_id"] == "charlie"
               for e in optouts):
        fails.append("the subscriber's STOP was not learned")

    # The swap left no message unscanned and no scan failed, and no SMPP
    # connection was reset.
    final, counters = labcheck.final_counters(
        log, ("unscanned", "scan_errors", "events_dropped", "facts_dropped", "smpp_rst"), fails)
    if final and int(counters.get("swaps", "0")) < 2:
        fails.append(f"ruleset swaps {counters.get('swaps')}, expected 2")
    return labcheck.report(f"submits {len(results)} kinds {dict(kinds)} verdict events {len(verdicts)} "
                           f"throttled {throttled} optout events {len(optouts)}", final, fails)


if __name__ == "__main__":
    sys.exit(main())
