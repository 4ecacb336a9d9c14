"""What the lab checkers (check_lab.py, check_inline.py) share: reading a
run's outputs, indexing the dataplane's verdict events, the dataplane's
final counters line, and the report. Each function appends what it finds
wrong to the caller's list of failures."""
import json

SUBMITS = 2000


def load_run(esme_path, smsc_path, events_path, log_path, fails):
    """The ESME and SMSC reports, the event lines and the dataplane log;
    fails on peer errors or a submit count other than SUBMITS."""
    esme = json.load(open(esme_path))
    smsc = json.load(open(smsc_path))
    events = [json.loads(l) for l in open(events_path) if l.strip()]
    log = open(log_path).read()
    if esme["errors"]:
        fails.append(f"ESME errors: {esme['errors'][:5]}")
    if smsc["errors"]:
        fails.append(f"SMSC errors: {smsc['errors'][:5]}")
    if len(esme["results"]) != SUBMITS:
        fails.append(f"ESMEs sent {len(esme['results'])} submits, not {SUBMITS}")
    return esme, smsc, events, log


def submit_verdicts(events, fails):
    """Verdict events of submit_sm keyed by (system_id, sequence); a second
    event for the same submit is a failure."""
    verdicts = {}
    for e in events:
        if e["type"] != "verdict" or e.get("command") != "submit_sm":
            continue
        key = (e["system_id"], e["sequence"])
        if key in verdicts:
            fails.append(f"two verdict events for {key}")
        verdicts[key] = e
    return verdicts


def final_counters(log, zero_keys, fails):
    """The last "smsfw-dataplane final:" line and its counters as a dict of
    strings; each of zero_keys must be "0"."""
    final = [l for l in log.splitlines() if "smsfw-dataplane final:" in l]
    if not final:
        fails.append("the dataplane printed no final counters")
        return None, {}
    fields = final[-1].split()
    counters = dict(zip(fields[2::2], fields[3::2]))
    for k in zero_keys:
        if counters.get(k) != "0":
            fails.append(f"final counter {k} = {counters.get(k)}")
    return final[-1], counters


def report(summary, final_line, fails):
    """Print the summary, the final counters and the first failures; the
    exit status."""
    print(summary)
    if final_line:
        print(final_line)
    for f in fails[:30]:
        print("FAIL:", f)
    return 1 if fails else 0
