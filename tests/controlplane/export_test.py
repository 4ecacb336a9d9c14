#!/usr/bin/env python3
"""Metrics and SIEM events out of a real smsfw-controld.

* /metrics scraped over HTTP (urllib) and parsed strictly (text format
  0.0.4: HELP/TYPE before samples, families contiguous, label escapes,
  no duplicate series, histogram buckets cumulative, +Inf = count); the
  counts must match the events sent through the real event socket
  (cp_evtool plays the dataplane: observations, violations, STATS and
  STATS_EXT, generation-applied reports) and the CLI actions taken.
* RFC 5424 syslog to a Unix datagram socket this test listens on, and JSON
  lines in a file: a policy suspension, an operator suspension whose reason
  needs SD-PARAM escaping, violations, a complaint, an opt-out and a rules
  publish; every line parsed strictly and compared with what was done.
* Configuration errors of the new keys.

usage: export_test.py CONTROLD SMSFWCTL EVTOOL RULES_DIR [GRAFANA_JSON]
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpharness import Harness  # noqa: E402

# ---------------------------------------------------------------------------
# Prometheus text format 0.0.4, strictly
# ---------------------------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)"
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class ParseError(Exception):
    pass


def parse_labels(text, lineno):
    """text is what is inside {...}; returns a dict. Escapes: \\\\ \\" \\n."""
    labels = {}
    i = 0
    while i < len(text):
        m = re.match(LABEL, text[i:])
        if not m:
            raise ParseError("line %d: bad label name at %r" % (lineno, text[i:]))
        name = m.group(0)
        i += len(name)
        if text[i:i + 2] != '="':
            raise ParseError("line %d: expected =\" after %s" % (lineno, name))
        i += 2
        val = []
        while True:
            if i >= len(text):
                raise ParseError("line %d: unterminated label value" % lineno)
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ParseError("line %d: bad escape \\%s" % (lineno, nxt))
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ParseError("line %d: raw newline in label value" % lineno)
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ParseError("line %d: label %s twice" % (lineno, name))
        labels[name] = "".join(val)
        if i < len(text):
            if text[i] != ",":
                raise ParseError("line %d: expected , between labels" % lineno)
            i += 1
    return labels


def split_sample(line, lineno):
    m = re.match(r"(%s)" % NAME, line)
    if not m:
        raise ParseError("line %d: no metric name: %r" % (lineno, line))
    name = m.group(1)
    rest = line[len(name):]
    labels = {}
    if rest.startswith("{"):
        # find the closing brace outside quoted values
        i, inq = 1, False
        while i < len(rest):
            c = rest[i]
            if inq and c == "\\":
                i += 2
                continue
            if c == '"':
                inq = not inq
            elif c == "}" and not inq:
                break
            i += 1
        else:
            raise ParseError("line %d: unterminated labels" % lineno)
        labels = parse_labels(rest[1:i], lineno)
        rest = rest[i + 1:]
    m = re.fullmatch(r" (%s)(?: (-?[0-9]+))?" % VALUE, rest)
    if not m:
        raise ParseError("line %d: bad value part %r" % (lineno, rest))
    return name, labels, float(m.group(1))


def parse_exposition(text):
    """Return {family: {"type", "help", "samples": [(name, labels, value)]}}."""
    if not text.endswith("\n"):
        raise ParseError("exposition does not end with a newline")
    fams = {}
    order = []
    current = None
    seen_series = set()
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s) (.*)" % NAME, line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise ParseError("line %d: malformed %r" % (lineno, line))
                continue  # plain comment
            kind, name, rest = m.groups()
            f = fams.setdefault(name, {"type": None, "help": None, "samples": []})
            if f["samples"]:
                raise ParseError("line %d: %s after samples of %s" % (lineno, kind, name))
            if kind == "TYPE":
                if rest not in TYPES or f["type"] is not None:
                    raise ParseError("line %d: bad or repeated TYPE %r" % (lineno, rest))
                f["type"] = rest
            else:
                if f["help"] is not None:
                    raise ParseError("line %d: repeated HELP for %s" % (lineno, name))
                if re.search(r"\\[^\\n]", rest):
                    raise ParseError("line %d: bad escape in HELP" % lineno)
                f["help"] = rest
            if name not in order:
                order.append(name)
            current = name
            continue
        name, labels, value = split_sample(line, lineno)
        fam = name
        if fam not in fams:
            for suf in ("_bucket", "_sum", "_count"):
                if name.endswith(suf) and name[:-len(suf)] in fams:
                    fam = name[:-len(suf)]
        if fam not in fams or fams[fam]["type"] is None:
            raise ParseError("line %d: sample %s without TYPE" % (lineno, name))
        if fam != current:
            raise ParseError("line %d: sample of %s outside its family block" % (lineno, fam))
        if fams[fam]["type"] != "histogram" and name != fam:
            raise ParseError("line %d: %s in family %s" % (lineno, name, fam))
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise ParseError("line %d: duplicate series %s%s" % (lineno, name, labels))
        seen_series.add(key)
        fams[fam]["samples"].append((name, labels, value))
    for name, f in fams.items():
        if f["type"] is None or f["help"] is None:
            raise ParseError("family %s lacks TYPE or HELP" % name)
        if f["type"] == "counter" and not name.endswith("_total"):
            raise ParseError("counter %s does not end in _total" % name)
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    groups = {}
    for n, labels, v in samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if n == name + "_bucket":
            if "le" not in labels:
                raise ParseError("%s bucket without le" % name)
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            g["buckets"].append((le, v))
        elif n == name + "_sum":
            g["sum"] = v
        elif n == name + "_count":
            g["count"] = v
        else:
            raise ParseError("%s: stray sample %s" % (name, n))
    for rest, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != float("inf"):
            raise ParseError("%s%s: no +Inf bucket last" % (name, rest))
        if [x[0] for x in b] != sorted(x[0] for x in b):
            raise ParseError("%s%s: le not increasing" % (name, rest))
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            raise ParseError("%s%s: buckets not cumulative" % (name, rest))
        if g["count"] is None or g["sum"] is None or g["count"] != b[-1][1]:
            raise ParseError("%s%s: _count differs from the +Inf bucket" % (name, rest))


def value(fams, family, **labels):
    """The value of the one sample of @family whose labels include @labels."""
    f = fams.get(family)
    if not f:
        return None
    hits = [v for n, l, v in f["samples"]
            if n == family and all(l.get(k) == str(x) for k, x in labels.items())]
    return hits[0] if len(hits) == 1 else (None if not hits else ("many", hits))


def hist(fams, family, **labels):
    f = fams.get(family)
    out = {}
    for n, l, v in f["samples"] if f else []:
        if all(l.get(k) == str(x) for k, x in labels.items()):
            out[n[len(family):] + ("" if "le" not in l else "@" + l["le"])] = v
    return out


# ---------------------------------------------------------------------------
# RFC 5424, strictly
# ---------------------------------------------------------------------------

TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})"
HDR = re.compile(r"<(\d{1,3})>(\d{1,2}) (%s|-) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) "
                 r"([!-~]{1,32}) " % TS)
SDNAME = r"[!#-<>-\\^-~]{1,32}"  # PRINTUSASCII except = SP ] "


def parse_5424(data):
    """Return (header dict, {sd-id: {param: value}}, msg text). Raises on error."""
    m = HDR.match(data.decode("ascii", errors="replace"))
    if not m:
        raise ParseError("bad RFC 5424 header: %r" % data[:120])
    pri, ver, ts, host, app, procid, msgid = m.groups()
    hdr = {"pri": int(pri), "version": int(ver), "timestamp": ts, "host": host, "app": app,
           "procid": procid, "msgid": msgid}
    if hdr["pri"] > 191 or (pri != "0" and pri.startswith("0")):
        raise ParseError("bad PRI %s" % pri)
    rest = data[m.end():]
    sd = {}
    if rest.startswith(b"-"):
        rest = rest[1:]
    else:
        if not rest.startswith(b"["):
            raise ParseError("no STRUCTURED-DATA")
        text = rest.decode("utf-8")  # raises on bad UTF-8
        i = 0
        while i < len(text) and text[i] == "[":
            mm = re.match(SDNAME, text[i + 1:])
            if not mm:
                raise ParseError("bad SD-ID")
            sdid = mm.group(0)
            i += 1 + len(sdid)
            params = {}
            while text[i] == " ":
                mm = re.match(SDNAME, text[i + 1:])
                if not mm or text[i + 1 + len(mm.group(0)):i + 3 + len(mm.group(0))] != '="':
                    raise ParseError("bad SD-PARAM at %r" % text[i:i + 40])
                pname = mm.group(0)
                i += 3 + len(pname)
                val = []
                while True:
                    c = text[i]
                    if c == "\\" and text[i + 1] in '"\\]':
                        val.append(text[i + 1])
                        i += 2
                    elif c == "\\":
                        val.append(c)  # a lone backslash stays (RFC 5424 6.3.3)
                        i += 1
                    elif c == '"':
                        i += 1
                        break
                    elif c == "]":
                        raise ParseError("unescaped ] in %s" % pname)
                    else:
                        val.append(c)
                        i += 1
                params[pname] = "".join(val)
            if text[i] != "]":
                raise ParseError("SD-ELEMENT not closed")
            i += 1
            sd[sdid] = params
        rest = text[i:].encode("utf-8")
    if rest and not rest.startswith(b" "):
        raise ParseError("no SP before MSG")
    msg = rest[1:]
    if msg.startswith(b"\xef\xbb\xbf"):
        msg = msg[3:].decode("utf-8")  # MSG-UTF8 must be valid
    else:
        msg = msg.decode("ascii", errors="replace")
    return hdr, sd, msg


class SyslogSink(threading.Thread):
    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.stop = False
        self.start()

    def run(self):
        while not self.stop:
            try:
                self.msgs.append(self.sock.recv(65536))
            except socket.timeout:
                continue
            except OSError:
                return


# ---------------------------------------------------------------------------


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port, path="/metrics", method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode("utf-8")


def wait_for(pred, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


DASHBOARD = None
TRICKY = 'abuse "quoted" \\ back ] bracket = sign'


def main():
    global DASHBOARD
    controld, smsfwctl, evtool, rules_dir = sys.argv[1:5]
    DASHBOARD = sys.argv[5] if len(sys.argv) > 5 else None
    h = Harness(controld, smsfwctl, evtool)
    sink = None
    try:
        sink = run(h, rules_dir)
        other_sinks(h)
        config_errors(h)
    except Exception as e:  # report, do not hide
        import traceback
        traceback.print_exc(file=sys.stdout)
        h.check(False, "exception: %r" % (e,))
    finally:
        if sink:
            sink.stop = True
    return h.finish()


def run(h, rules_dir):
    port = free_port()
    slpath = os.path.join(h.dir, "syslog.sock")
    jpath = os.path.join(h.dir, "events.jsonl")
    sink = SyslogSink(slpath)
    h.set_config("[controld]\nmetrics_port = %d\nmetrics_address = 127.0.0.1\n"
                 "events_syslog = unix:%s\nevents_syslog_facility = local4\n"
                 "events_json = %s\n" % (port, slpath, jpath))
    h.start()

    # --- an idle controld ---------------------------------------------------
    st, ctype, text = scrape(port)
    h.check(st == 200, "GET /metrics answers 200 (%s)" % st)
    h.check(ctype and ctype.startswith("text/plain") and "version=0.0.4" in ctype,
            "content type is the text format 0.0.4 (%s)" % ctype)
    fams = parse_exposition(text)
    h.check(True, "idle exposition parses strictly (%d families)" % len(fams))
    h.check(value(fams, "smsfw_customers", standing="active") == 0 and
            value(fams, "smsfw_customers", standing="suspended") == 0,
            "no customers yet")
    h.check(not fams["smsfw_messages_total"]["samples"], "no messages counted yet")
    h.check(value(fams, "smsfw_ruleset_version") == 0, "no ruleset yet")
    up = value(fams, "smsfw_controld_uptime_seconds")
    h.check(up is not None and 0 <= up < 60, "uptime present (%s)" % up)
    h.check(value(fams, "smsfw_controld_start_time_seconds") > 1.7e9, "start time is unix time")
    h.check(scrape(port, "/nope")[0] == 404, "unknown path answers 404")
    h.check(scrape(port, "/metrics", "POST")[0] == 405, "POST answers 405")

    # --- events through the real event socket ------------------------------
    # mix: 180 observations (pass, no rule) and 20 fraud violations (rule
    # 1001, block); the default fraud_suspend = 5 suspends acme once.
    rc, out = h.events(11, "mix", 200, "acme")
    h.check(rc == 0 and "done 20" in out, "200 events, 20 facts acknowledged")
    fams = parse_exposition(scrape(port)[2])
    h.check(value(fams, "smsfw_messages_total", verdict="pass", category="none") == 180,
            "180 passed messages counted")
    h.check(value(fams, "smsfw_messages_total", verdict="block", category="fraud") == 20,
            "20 blocked fraud messages counted")
    h.check(value(fams, "smsfw_rule_hits_total", rule=1001, category="fraud",
                  verdict="block") == 20, "rule 1001 hit 20 times")
    h.check(len(fams["smsfw_rule_hits_total"]["samples"]) == 1, "no other rule counted")
    h.check(value(fams, "smsfw_violations_total", category="fraud", source="dataplane") == 20,
            "20 fraud violations from the dataplane")
    h.check(value(fams, "smsfw_events_ingested_total", kind="observation") == 180 and
            value(fams, "smsfw_events_ingested_total", kind="fact") == 20 and
            value(fams, "smsfw_events_ingested_total", kind="duplicate") == 0,
            "ingestion counters 180 observations, 20 facts, 0 duplicates")
    h.check(value(fams, "smsfw_standing_changes_total", **{"from": "active"}, to="suspended",
                  source="policy") == 1, "one automatic suspension by the policy")
    h.check(value(fams, "smsfw_customers", standing="suspended") == 1 and
            value(fams, "smsfw_customers", standing="active") == 0,
            "customers by standing: 1 suspended")
    h.check(value(fams, "smsfw_store_records", db="messages") == 200, "200 messages stored")
    h.check(value(fams, "smsfw_ingest_commits_total") >= 1, "ingest commits counted")

    # --- a dataplane's STATS / STATS_EXT, propagation -----------------------
    p = subprocess.Popen([h.evtool_path, h.evsock, "12", "stats", "6"], stdout=subprocess.PIPE,
                         text=True)
    lines = []

    def reader():
        for line in p.stdout:
            lines.append(line.strip())
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    h.check(wait_for(lambda: "stats" in lines), "stats sent by the fake dataplane")
    h.expect(0, ["customers", "add", "bob"], "customers add bob")
    h.check(wait_for(lambda: any(x.startswith("applied") for x in lines)),
            "dataplane applied the new generation")
    h.expect(0, ["customers", "suspend", "bob", "--reason", TRICKY], "operator suspends bob")
    napplied = lambda: len([x for x in lines if x.startswith("applied")])  # noqa: E731
    h.check(wait_for(lambda: napplied() >= 2), "dataplane applied the suspension")
    time.sleep(0.2)  # the last STATS_EXT is read by controld's loop
    fams = parse_exposition(scrape(port)[2])
    inst = "%016x" % 12
    h.check(value(fams, "smsfw_dataplane_up", instance=inst) == 1, "dataplane 12 is up")
    h.check(value(fams, "smsfw_dataplanes_connected") == 1, "one dataplane connected")
    h.check(value(fams, "smsfw_dataplane_pdus_total", instance=inst) == 1000 and
            value(fams, "smsfw_dataplane_observations_dropped_total", instance=inst) == 7 and
            value(fams, "smsfw_dataplane_flows_created_total", instance=inst) == 42 and
            value(fams, "smsfw_dataplane_errors_total", instance=inst) == 3,
            "STATS counters as sent (1000 PDUs, 7 dropped, 42 flows, 3 errors)")
    h.check(value(fams, "smsfw_dataplane_verdicts_total", instance=inst, verdict="pass") == 900
            and value(fams, "smsfw_dataplane_verdicts_total", instance=inst,
                      verdict="block") == 80
            and value(fams, "smsfw_dataplane_verdicts_total", instance=inst,
                      verdict="throttle") == 20, "verdicts 900 / 80 / 20")
    ok = all(value(fams, "smsfw_dataplane_worker_packets_total", instance=inst, worker=w,
                   dir="rx") == 100 + w and
             value(fams, "smsfw_dataplane_worker_packets_total", instance=inst, worker=w,
                   dir="tx") == 200 + w and
             value(fams, "smsfw_dataplane_worker_pdus_total", instance=inst, worker=w) == 500 + w
             and value(fams, "smsfw_dataplane_worker_flows", instance=inst, worker=w) == 10 + w
             and value(fams, "smsfw_dataplane_worker_flows_max", instance=inst,
                       worker=w) == 16384 for w in (0, 1))
    h.check(ok, "per-worker packets, PDUs, flows and capacity as sent")
    ok = all(value(fams, "smsfw_dataplane_port_packets_total", instance=inst, port=q,
                   dir="rx") == 1000 + q and
             value(fams, "smsfw_dataplane_port_packets_total", instance=inst, port=q,
                   dir="tx") == 2000 + q and
             value(fams, "smsfw_dataplane_port_rx_missed_total", instance=inst, port=q) == q
             for q in (0, 1))
    h.check(ok, "per-port packets and rx missed as sent")
    h.check(value(fams, "smsfw_dataplane_spool_facts", instance=inst) == 5 and
            value(fams, "smsfw_dataplane_observations_sent_total", instance=inst) == 900,
            "spool and observations sent")
    h.check("12345" not in text and all(
        v != 12345 for f in fams.values() for _, _, v in f["samples"]),
        "an entry id controld does not know is skipped")
    gen = value(fams, "smsfw_generation")
    h.check(value(fams, "smsfw_dataplane_generation_applied", instance=inst) == gen,
            "dataplane reports the current generation applied (%s)" % gen)
    ps = hist(fams, "smsfw_propagation_delay_seconds", change="standing")
    po = hist(fams, "smsfw_propagation_delay_seconds", change="other")
    h.check(ps.get("_count") == 1 and 0 <= ps.get("_sum", -1) < 2.0,
            "one standing change measured, delay %.4f s" % ps.get("_sum", -1))
    h.check(po.get("_count") == 1, "the customer add measured as another change")
    p.wait(timeout=20)
    t.join(timeout=5)
    fams = parse_exposition(scrape(port)[2])
    h.check(value(fams, "smsfw_dataplane_up", instance=inst) == 0,
            "dataplane 12 down after it disconnected")

    # --- complaint, opt-out, rules ------------------------------------------
    h.expect(0, ["complaints", "add", "--customer", "acme", "--msisdn", "447700900123",
                 "--text", "pay the fee"], "complaint about acme")
    h.expect(0, ["optouts", "add", "--customer", "acme", "--msisdn", "447700900555"],
             "operator opt-out")
    rdir = os.path.join(h.dir, "rules")
    shutil.copytree(rules_dir, rdir)
    with open(os.path.join(rdir, "VERSION"), "w") as f:
        f.write("3\n")
    h.expect(0, ["rules", "publish", rdir], "rules publish")
    fams = parse_exposition(scrape(port)[2])
    h.check(value(fams, "smsfw_complaints_total") == 1, "one complaint counted")
    h.check(value(fams, "smsfw_optouts_total", action="optout", source="operator") == 1,
            "one operator opt-out counted")
    h.check(value(fams, "smsfw_ruleset_version") == 3 and value(fams, "smsfw_ruleset_rules") > 0
            and value(fams, "smsfw_ruleset_changes_total", action="publish") == 1,
            "ruleset 3 with rules, one publish counted")
    age = value(fams, "smsfw_ruleset_age_seconds")
    h.check(age is not None and 0 <= age < 60, "ruleset age %s s" % age)
    h.check(value(fams, "smsfw_customers", standing="suspended") == 2,
            "customers by standing follows the operator's suspension (2)")
    if DASHBOARD:
        with open(DASHBOARD) as f:
            dash = json.load(f)
        exprs = []

        def walk(o):
            if isinstance(o, dict):
                if "expr" in o:
                    exprs.append(o["expr"])
                for v_ in o.values():
                    walk(v_)
            elif isinstance(o, list):
                for v_ in o:
                    walk(v_)
        walk(dash)
        names = {re.sub(r"_bucket$", "", n) for e in exprs for n in re.findall(r"smsfw_\w+", e)}
        unknown = sorted(n for n in names if n not in fams)
        h.check(exprs and not unknown,
                "the Grafana dashboard uses only exported metrics (%d names; unknown %s)" % (
                    len(names), unknown))

    # --- the SIEM side --------------------------------------------------------
    # 20 violations + policy suspension + operator suspension + complaint +
    # opt-out + publish = 25 events
    want = 25
    h.check(wait_for(lambda: len(sink.msgs) >= want, 10),
            "%d syslog messages received (%d)" % (want, len(sink.msgs)))
    time.sleep(0.3)
    h.check(len(sink.msgs) == want, "no extra syslog messages (%d)" % len(sink.msgs))
    parsed, bad = [], []
    for d in sink.msgs:
        try:
            parsed.append(parse_5424(d))
        except (ParseError, UnicodeDecodeError, IndexError) as e:
            bad.append("%s: %r" % (e, d[:200]))
    h.check(not bad, "every syslog message is strict RFC 5424 %s" % bad[:2])
    pid = str(h.proc.pid)
    h.check(all(x[0]["version"] == 1 and x[0]["app"] == "smsfw-controld" and
                x[0]["procid"] == pid and x[0]["pri"] // 8 == 20 and
                x[0]["timestamp"].endswith("Z") for x in parsed),
            "header: version 1, APP-NAME, PROCID = controld's pid, facility local4, UTC")
    h.check(all(list(x[1].keys()) == ["smsfw@32473"] for x in parsed),
            "one SD element smsfw@32473 in each")
    by = {}
    for hdr, sd, msg in parsed:
        by.setdefault(hdr["msgid"], []).append((hdr, sd["smsfw@32473"], msg))
    h.check(len(by.get("violation", [])) == 20, "20 violation messages")
    v = by["violation"][0][1]
    h.check(v["customer"] == "acme" and v["category"] == "fraud" and v["rule"] == "1001" and
            v["source"] == "dataplane" and v["sender"] == "PARCELS" and
            "x" in v["destination"], "violation SD: customer, category, rule, sender, "
            "masked destination")
    st = by.get("standing", [])
    h.check(len(st) == 2, "two standing messages")
    pol = [x for x in st if x[1]["source"] == "policy"]
    op = [x for x in st if x[1]["source"] == "operator"]
    h.check(len(pol) == 1 and pol[0][1]["customer"] == "acme" and
            pol[0][1]["to"] == "suspended" and pol[0][1]["category"] == "fraud" and
            pol[0][1]["facts"] == "5" and pol[0][0]["pri"] % 8 == 4,
            "policy suspension of acme: fraud, 5 facts, severity warning")
    h.check(len(op) == 1 and op[0][1]["reason"] == TRICKY and op[0][1]["customer"] == "bob",
            "operator reason with \" \\ ] round-trips through SD-PARAM escaping")
    h.check(len(op) == 1 and TRICKY in op[0][2], "MSG is UTF-8 (BOM) and carries the reason")
    raw = [d for d in sink.msgs if b"bob" in d and b"standing" in d]
    h.check(raw and b'reason="abuse \\"quoted\\" \\\\ back \\] bracket = sign"' in raw[0],
            "SD-PARAM value escaped exactly as RFC 5424 6.3.3 says")
    c = by.get("complaint", [])
    h.check(len(c) == 1 and c[0][1]["customer"] == "acme" and
            c[0][1]["msisdn"] != "447700900123" and c[0][1]["msisdn"].startswith("4477"),
            "complaint message, subscriber masked")
    o = by.get("optout", [])
    h.check(len(o) == 1 and o[0][1]["customer"] == "acme" and o[0][1]["source"] == "operator",
            "opt-out message")
    r = by.get("rules", [])
    h.check(len(r) == 1 and r[0][1]["action"] == "publish" and r[0][1]["version"] == "3" and
            len(r[0][1]["sha256"]) == 64, "rules publish message with version and sha256")

    with open(jpath) as f:
        jl = f.read().split("\n")
    h.check(jl[-1] == "", "JSON file ends with a newline")
    objs = []
    for line in jl[:-1]:
        try:
            objs.append(json.loads(line))
        except ValueError:
            h.check(False, "JSON line parses: %r" % line[:200])
    h.check(len(objs) == want, "%d JSON lines (%d)" % (want, len(objs)))
    common = {"time", "time_ms", "host", "app", "type", "message"}
    need = {"violation": {"id", "customer", "category", "rule", "source", "verdict",
                          "exempt", "message_id", "sender", "destination"},
            "standing": {"id", "customer", "from", "to", "source", "pending_review", "actor",
                         "reason"},
            "complaint": {"id", "customer", "msisdn", "source"},
            "optout": {"customer", "subscriber", "source"},
            "rules": {"action", "version", "previous", "rules", "signer", "sha256", "actor"}}
    missing = [(o_["type"], sorted(common | need[o_["type"]] - set(o_)))
               for o_ in objs if o_.get("type") in need and not
               (common | need[o_["type"]]) <= set(o_)]
    h.check(not missing and all(o_.get("type") in need for o_ in objs),
            "every JSON line has its keys %s" % missing[:2])
    h.check([o_["type"] for o_ in objs] == [p_[0]["msgid"] for p_ in parsed],
            "JSON lines and syslog messages carry the same events in the same order")
    js = [o_ for o_ in objs if o_["type"] == "standing" and o_["source"] == "operator"]
    h.check(js and js[0]["reason"] == TRICKY and js[0]["to"] == "suspended" and
            js[0]["pending_review"] is False, "JSON standing event of bob")
    jv = [o_ for o_ in objs if o_["type"] == "violation"]
    h.check(len(jv) == 20 and all(o_["rule"] == 1001 and o_["exempt"] is False for o_ in jv),
            "20 JSON violations with integer rule ids")
    h.check(all(re.fullmatch(TS, o_["time"]) for o_ in objs), "JSON times are RFC 3339")
    fams = parse_exposition(scrape(port)[2])
    h.check(value(fams, "smsfw_export_events_total", sink="syslog", result="sent") == want and
            value(fams, "smsfw_export_events_total", sink="syslog", result="dropped") == 0 and
            value(fams, "smsfw_export_events_total", sink="json", result="sent") == want,
            "export counters: %d sent to each sink, none dropped" % want)

    # --- a customer id from the wire that is not text ------------------------
    # (system_id bytes are whatever the ESME bound with)
    hostile = b"ev\xffil\x01\xc3"
    p = subprocess.run([h.evtool_path.encode(), h.evsock.encode(), b"13", b"viol", b"1",
                        hostile], capture_output=True, timeout=60)
    h.check(p.returncode == 0, "a violation of customer %r acknowledged" % hostile)
    h.check(wait_for(lambda: len(sink.msgs) == want + 1), "its syslog message arrived")
    try:
        hdr, sd, msg = parse_5424(sink.msgs[-1])
        cust = sd["smsfw@32473"]["customer"]
    except (ParseError, UnicodeDecodeError, KeyError, IndexError) as e:
        cust = "unparsable: %s" % e
    h.check(cust == "ev?il??", "syslog: invalid UTF-8 and controls become '?' (%r)" % cust)
    with open(jpath, "rb") as f:
        last = f.read().split(b"\n")[-2]
    try:
        jc = json.loads(last.decode("utf-8"))["customer"]
    except ValueError as e:
        jc = "unparsable: %s" % e
    h.check(jc == "ev?il??", "JSON: the same customer text, valid UTF-8 (%r)" % jc)
    h.stop()
    return sink


def other_sinks(h):
    """JSON lines to a Unix stream socket, syslog over UDP."""
    jsock = os.path.join(h.dir, "json.sock")
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(jsock)
    lst.listen(1)
    lst.settimeout(10)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(10)
    h.set_config("[controld]\nevents_json = unix:%s\nevents_syslog = udp:127.0.0.1:%d\n"
                 "events_kinds = standing\n" % (jsock, udp.getsockname()[1]))
    h.start()
    try:
        conn, _ = lst.accept()
        conn.settimeout(10)
        h.check(True, "controld connected to the JSON socket")
        h.expect(0, ["customers", "add", "carol"], "customers add carol")
        h.expect(0, ["complaints", "add", "--customer", "carol", "--msisdn", "447700900777"],
                 "a complaint (not in events_kinds: not exported)")
        h.expect(0, ["customers", "warn", "carol", "--reason", "first notice"], "warn carol")
        data = b""
        end = time.time() + 10
        while b"\n" not in data and time.time() < end:
            data += conn.recv(65536)
        line = data.split(b"\n")[0]
        o = json.loads(line.decode("utf-8")) if line else {}
        h.check(o.get("type") == "standing" and o.get("customer") == "carol" and
                o.get("to") == "warned" and o.get("reason") == "first notice",
                "JSON line on the Unix socket: carol warned (%r)" % line[:200])
        d = udp.recv(65536)
        hdr, sd, msg = parse_5424(d)
        h.check(hdr["msgid"] == "standing" and sd["smsfw@32473"]["to"] == "warned" and
                hdr["pri"] == 3 * 8 + 5, "RFC 5424 over UDP: facility daemon, severity notice")
        udp.settimeout(0.5)
        try:
            extra = udp.recv(65536)
        except socket.timeout:
            extra = None
        h.check(extra is None, "events_kinds = standing: the complaint was not exported")
        conn.close()
    finally:
        h.stop()
        lst.close()
        udp.close()


def config_errors(h):
    cases = [
        ("[controld]\nevents_syslog = tcp:host:514\n", 2, "events_syslog"),
        ("[controld]\nevents_kinds = standing,gossip\n", 2, "gossip"),
        ("[controld]\nmetrics_port = 9327\nmetrics_address = localhost-ish\n", 2,
         "metrics_address"),
        ("[controld]\nmetrics_port = 70000\n", 2, "metrics_port"),
    ]
    for text, want, word in cases:
        h.set_config(text)
        p = subprocess.run([h.controld, "--foreground", "--state-dir", h.dir, "--config",
                            h.config], capture_output=True, text=True, timeout=30)
        h.check(p.returncode == want and word in p.stderr,
                "config %r: exit %d naming %s (%d: %s)" % (text.strip(), want, word,
                                                           p.returncode, p.stderr.strip()[:200]))
    # a port already taken: controld refuses to start (exit 1) and says why
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    h.set_config("[controld]\nmetrics_port = %d\n" % s.getsockname()[1])
    p = subprocess.run([h.controld, "--foreground", "--state-dir", h.dir, "--config", h.config],
                       capture_output=True, text=True, timeout=30)
    s.close()
    h.check(p.returncode == 1 and "metrics" in p.stderr,
            "metrics port in use: exit 1 with a message (%d: %s)" % (p.returncode,
                                                                     p.stderr.strip()[:200]))


if __name__ == "__main__":
    sys.exit(main())
