#!/usr/bin/env python3
"""Control-plane lab test, the steps between `scripts/lab up` and `down`.

Runs against the lab that test_lab_policy.sh brought up (mode = inline,
smsfw-controld from lab-policy.conf, no standalone rules: the ruleset comes
from the store) with an SMSC (smsfw-gen, recording) in smsfw-smsc. ESME
sessions are node-smpp (esme_policy.js) in smsfw-esme. Prints one TAP-like
line per check and exits 1 when any failed.

  check_policy.py BUILD HERE WORK CONF SMSC_RECORD
"""
import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

BUILD, HERE, WORK, CONF, SMSC_RECORD = sys.argv[1:6]
CTL = os.path.join(BUILD, "controlplane", "smsfwctl")
CONTROLD = os.path.join(BUILD, "controlplane", "smsfw-controld")
PATC = os.path.join(BUILD, "patterns", "smsfw-patc")
RUN = "/run/smsfw-lab"
TEL = "/var/run/dpdk/smsfw-lab/dpdk_telemetry.v2"
ESME_NS, SMSC_ADDR, SMSC_PORT = "smsfw-esme", "198.18.0.2", "2775"

OK, REFUSED = 0, 4
SUBMITFAIL, BINDFAIL = 0x45, 0x0D
FRAUD = "Dear customer, verify now at secure-bank.example/login or your card stops today"
SPAM = "WIN a FREE iPhone now, reply YES"
HAM = "see you at dinner tonight, bring the salad"

failed = 0
count = 0
conf = CONF


def check(cond, what):
    global failed, count
    count += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", count, what), flush=True)
    if not cond:
        failed += 1
    return cond


def ctl(*args, json_out=False):
    cmd = [CTL, "--config", conf] + (["--json"] if json_out else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    data = None
    if json_out and p.returncode == 0:
        try:
            data = json.loads(p.stdout)
        except ValueError:
            data = None
    return p.returncode, (data if json_out else p.stdout), p.stderr


def customer(cid):
    rc, c, _ = ctl("customers", "show", cid, json_out=True)
    return c if rc == 0 else None


class Tel:
    """The dataplane's DPDK telemetry socket."""

    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(TEL)
        self.s.recv(1024)

    def get(self, cmd):
        self.s.send(cmd.encode())
        return json.loads(self.s.recv(1 << 16))[cmd]


def wait_for(fn, timeout, step=0.05):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


class Esme:
    """One node-smpp session in smsfw-esme (esme_policy.js)."""

    def __init__(self, system_id):
        self.id = system_id
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", ESME_NS, "node", os.path.join(HERE, "esme_policy.js"),
             SMSC_ADDR, SMSC_PORT, system_id],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.q = queue.Queue()
        self.resps = {}
        self.n = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.bound = self._next("bound", 10)

    def _read(self):
        for line in self.p.stdout:
            try:
                self.q.put(json.loads(line))
            except ValueError:
                pass
        self.q.put({"ev": "eof"})

    def _next(self, ev, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                m = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if m["ev"] == "resp":
                self.resps[m["n"]] = m
            if m["ev"] == ev or m["ev"] == "eof":
                return m if m["ev"] == ev else None
        return None

    def send(self, text):
        self.n += 1
        self.p.stdin.write("send %d %s\n" % (self.n, text))
        self.p.stdin.flush()
        return self.n

    def resp(self, n, timeout=5):
        end = time.monotonic() + timeout
        while n not in self.resps and time.monotonic() < end:
            self._next("resp", end - time.monotonic())
        return self.resps.get(n)

    def submit(self, text):
        return self.resp(self.send(text))

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
            except OSError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def status_of(r):
    return r["status"] if r else None


def smsc_texts():
    try:
        with open(SMSC_RECORD) as f:
            return [l.rstrip("\n").split("\t") for l in f if l.strip()]
    except OSError:
        return []


def traffic_check(tel, label):
    """A known-blocked text is still blocked and a ham text passes."""
    e = Esme("alice")
    check(e.bound and e.bound["status"] == 0, "%s: alice binds" % label)
    tag = "%s %d" % (HAM, time.monotonic_ns())
    rs, rh = e.submit(SPAM), e.submit(tag)
    e.close()
    check(status_of(rs) == SUBMITFAIL, "%s: the prize spam is still blocked (0x%x)" %
          (label, status_of(rs) or 0))
    check(status_of(rh) == 0, "%s: ham passes (status %s)" % (label, status_of(rh)))
    got = wait_for(lambda: any(r[-1] == tag for r in smsc_texts()), 2)
    check(got, "%s: the ham reached the SMSC" % label)
    check(not any(r[-1] == SPAM for r in smsc_texts()), "%s: no spam reached the SMSC" % label)


def write_rules(dst, version, extra=""):
    os.makedirs(dst, exist_ok=True)
    shutil.copy(os.path.join(HERE, "rules", "policy.rules"), dst)
    if extra:
        with open(os.path.join(dst, "extra.rules"), "w") as f:
            f.write(extra)
    with open(os.path.join(dst, "VERSION"), "w") as f:
        f.write("%d\n" % version)


def restart_controld(new_conf, tel):
    """Stop the lab's controld and start it again on NEW_CONF (same store)."""
    global conf
    with open(os.path.join(RUN, "controld.pid")) as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    log = open(os.path.join(RUN, "controld.log"), "a")
    p = subprocess.Popen([CONTROLD, "--foreground", "--config", new_conf],
                         stdout=log, stderr=log, start_new_session=True)
    with open(os.path.join(RUN, "controld.pid"), "w") as f:
        f.write("%d\n" % p.pid)
    conf = new_conf
    up = wait_for(lambda: ctl("status")[0] == 0, 10)
    check(up, "controld restarted with trusted_keys")
    check(wait_for(lambda: tel.get("/smsfw/stats").get("controld_connected") == 1, 10),
          "the dataplane reconnected to controld")


def main():
    tel = Tel()
    for cid in ("alice", "mallory", "carol"):
        rc, _, err = ctl("customers", "add", cid, "--senders", "447700900001")
        check(rc == OK, "customers add %s %s" % (cid, err.strip()))

    # --- rules: the fixed lab set as version 1 (unsigned directory) --------
    v1 = os.path.join(WORK, "rules-v1")
    write_rules(v1, 1)
    rc, _, err = ctl("rules", "publish", v1)
    check(rc == OK, "rules publish v1 (%s)" % err.strip())
    check(wait_for(lambda: tel.get("/smsfw/ruleset").get("version") == 1
                   and tel.get("/smsfw/ruleset").get("source") == "store", 5),
          "the dataplane runs ruleset 1 from the store")
    check(wait_for(lambda: tel.get("/smsfw/customers").get("mallory") == "active", 5),
          "mallory is active in the dataplane's snapshot")
    traffic_check(tel, "ruleset 1")

    # --- 3. a rule directory with a syntax error is refused ----------------
    bad = os.path.join(WORK, "rules-bad")
    write_rules(bad, 2, "# broken on purpose\nrule id=9199 cat=spam target=norm action=block "
                "pat=/free money/ desc=\"free money\"\nrule id=9198 this is not a rule\n")
    swaps = tel.get("/smsfw/ruleset").get("swaps")
    rc, out, err = ctl("rules", "publish", bad)
    msg = (out + err).strip()
    check(rc == REFUSED, "bad rule dir refused with exit code 4 (got %d)" % rc)
    check("extra.rules:3" in msg, "the refusal names file:line (%s)" % msg[:200])
    rc, show, _ = ctl("rules", "show", json_out=True)
    check(rc == OK and show and show.get("version") == 1, "controld still runs ruleset 1")
    time.sleep(0.3)
    rs = tel.get("/smsfw/ruleset")
    check(rs.get("version") == 1 and rs.get("swaps") == swaps,
          "the dataplane did not swap (version %s, swaps %s -> %s)" %
          (rs.get("version"), swaps, rs.get("swaps")))
    traffic_check(tel, "after the refused publish")
    e = Esme("alice")
    r = e.submit("free money for everyone")
    e.close()
    check(status_of(r) == 0, "the broken set's rule is not in force (status %s)" % status_of(r))

    # --- 2. a complaint flood warns the customer ---------------------------
    for i in range(6):
        rc, _, err = ctl("complaints", "add", "--customer", "carol", "--msisdn",
                         "4477009%05d" % (40000 + i), "--text", "unwanted message %d" % i,
                         "--source", "7726")
        check(rc == OK, "complaint %d for carol (%s)" % (i + 1, err.strip()))
        if i == 4:
            c = customer("carol")
            check(c and c["standing"] == "active" and c["complaints_30d"] == 5,
                  "5 complaints in 30 days: carol still active (%s)" % (c and c["standing"]))
    c = customer("carol")
    check(c and c["standing"] == "warned" and c["complaints_30d"] == 6,
          "the 6th complaint warns carol (%s, %s in 30 d)" %
          (c and c["standing"], c and c["complaints_30d"]))
    h = c["history"][-1] if c and c["history"] else {}
    check(h.get("to") == "warned" and h.get("actor") == "policy" and h.get("source") == "policy"
          and h.get("category") == "complaints",
          "carol's history names the policy and complaints: %s" % json.dumps(h))
    check(wait_for(lambda: tel.get("/smsfw/customers").get("carol") == "warned", 1),
          "the dataplane sees carol warned")
    e = Esme("carol")
    r = e.submit(HAM) if e.bound and e.bound["status"] == 0 else None
    e.close()
    check(status_of(r) == 0, "a warned customer still sends (status %s)" % status_of(r))

    # --- 1. fraud past the threshold suspends automatically ----------------
    e = Esme("mallory")
    check(e.bound and e.bound["status"] == 0, "mallory binds")
    for i in range(4):
        r = e.submit(FRAUD)
        check(status_of(r) == SUBMITFAIL, "fraud %d blocked with 0x45 (%s)" % (i + 1, r))
    time.sleep(0.5)
    c = customer("mallory")
    check(c and c["standing"] == "active", "4 fraud blocks: mallory still active (%s)" %
          (c and c["standing"]))
    r = e.submit(FRAUD)
    check(status_of(r) == SUBMITFAIL, "fraud 5 blocked with 0x45")
    # Ham probes every 3 ms (a thread) while smsfwctl polls the standing:
    # the commit lies between the last poll that saw 'active' (its start)
    # and the first that saw 'suspended' (its end).
    polls, probes = [], []
    stop = threading.Event()

    def prober():
        while not stop.is_set():
            probes.append(e.send(HAM))
            time.sleep(0.003)
    th = threading.Thread(target=prober)
    th.start()
    t_end = time.time() + 5
    t_susp = None
    while time.time() < t_end:
        t0 = time.time()
        c = customer("mallory")
        polls.append((t0, time.time(), c["standing"] if c else None))
        if polls[-1][2] == "suspended" and t_susp is None:
            t_susp = time.time()
            t_end = min(t_end, t_susp + 1.0)
        time.sleep(0.002)
    stop.set()
    th.join()
    resps = [e.resp(n) for n in probes]
    e.close()
    check(t_susp is not None, "mallory suspended automatically after 5 fraud blocks")
    c = customer("mallory")
    h = c["history"][-1] if c and c["history"] else {}
    check(c and c["standing"] == "suspended", "customers show: standing suspended")
    check(h.get("to") == "suspended" and h.get("actor") == "policy"
          and h.get("source") == "policy" and h.get("category") == "fraud"
          and h.get("facts") == 5 and "fraud" in h.get("reason", "")
          and not h.get("pending_review"),
          "history names the policy and the facts: %s" % json.dumps(h))
    check(all(r is not None for r in resps), "every probe answered (%d)" % len(resps))
    if t_susp is None or any(r is None for r in resps):
        return
    last_active = max((p[0] for p in polls if p[2] == "active"), default=None)
    first_susp = min(p[1] for p in polls if p[2] == "suspended")
    refused = [r for r in resps if r["status"] == SUBMITFAIL]
    first = refused[0] if refused else None
    check(first is not None, "probes refused after the suspension")
    if first is None:
        return
    after = [r for r in resps if r["n"] >= first["n"]]
    before = [r for r in resps if r["n"] < first["n"]]
    check(all(r["status"] == SUBMITFAIL for r in after),
          "every submit after the first refused one is refused (%d)" % len(after))
    check(all(r["status"] == 0 for r in before), "ham passed until then (%d)" % len(before))
    if last_active is not None:
        check(all(r["status"] == 0 for r in resps if r["t_resp"] / 1000 < last_active),
              "nothing refused before the commit")
        hi = first["t_resp"] / 1000 - last_active
    else:
        hi = first["t_resp"] / 1000 - polls[0][0]
    lo = first["t_resp"] / 1000 - first_susp
    check(hi <= 1.0, "first refused submit within 1 s of the commit (<= %.0f ms)" % (hi * 1000))
    print("# commit -> first refused submit: between %.1f and %.1f ms "
          "(poll period ~%.0f ms, %d polls, %d probes)" %
          (max(lo, 0) * 1000, hi * 1000,
           statistics.median([b[0] - a[0] for a, b in zip(polls, polls[1:])]) * 1000,
           len(polls), len(probes)), flush=True)
    def standing_blocks():
        out = []
        with open(os.path.join(RUN, "events.jsonl")) as f:
            for line in f:
                if '"mallory"' not in line:
                    continue
                x = json.loads(line)
                if (x.get("type") == "verdict" and x.get("system_id") == "mallory"
                        and x.get("verdict") == "block" and x.get("category") == "standing"):
                    out.append(x)
        return out
    sb = wait_for(lambda: len(standing_blocks()) >= len(after) and standing_blocks(), 3)
    check(sb and len(sb) == len(after) and all(x.get("status") == SUBMITFAIL for x in sb),
          "the dataplane logged %d standing blocks (0x45) for %d refused probes" %
          (len(sb or []), len(after)))
    if sb and last_active is not None and abs(sb[0]["time_ms"] / 1000 - time.time()) < 600:
        print("# the dataplane's first standing block: %.0f ms after the last poll that saw "
              "'active', %.0f ms after the first that saw 'suspended'" %
              (sb[0]["time_ms"] - last_active * 1000, sb[0]["time_ms"] - first_susp * 1000),
              flush=True)
    e = Esme("mallory")
    check(e.bound is not None and e.bound["status"] == BINDFAIL,
          "a new bind of mallory is refused with ESME_RBINDFAIL (%s)" % e.bound)
    e.close()
    sent = [r for r in smsc_texts() if r[-1] == FRAUD]
    check(not sent, "no fraud reached the SMSC")
    traffic_check(tel, "other customers after the suspension")

    # --- 4. signed bundles: an old one is refused as a downgrade -----------
    keys = os.path.join(WORK, "ops")
    subprocess.run([PATC, "keygen", "-o", keys], check=True, capture_output=True)
    bundles = {}
    for v in (2, 3):
        d = os.path.join(WORK, "rules-v%d" % v)
        write_rules(d, v)
        bundles[v] = os.path.join(WORK, "v%d.bundle" % v)
        p = subprocess.run([PATC, "bundle", "-k", keys + ".key", "-o", bundles[v], d],
                           capture_output=True, text=True)
        check(p.returncode == 0, "signed bundle v%d (%s)" % (v, p.stderr.strip()))
        p = subprocess.run([PATC, "verify", "-p", keys + ".pub", bundles[v]],
                           capture_output=True, text=True)
        check(p.returncode == 0, "bundle v%d verifies with the trusted key" % v)
    signed_conf = os.path.join(WORK, "lab-policy-signed.conf")
    with open(CONF) as f, open(signed_conf, "w") as g:
        g.write(f.read() + "\n[controld]\ntrusted_keys = %s.pub\n" % keys)
    restart_controld(signed_conf, tel)
    rc, _, err = ctl("rules", "publish", v1)
    check(rc == REFUSED, "an unsigned directory is refused once keys are trusted (%d: %s)" %
          (rc, err.strip()))
    rc, _, err = ctl("rules", "publish", bundles[3])
    check(rc == OK, "signed bundle v3 published (%s)" % err.strip())
    check(wait_for(lambda: tel.get("/smsfw/ruleset").get("version") == 3, 5),
          "the dataplane swapped to ruleset 3")
    rc, out, err = ctl("rules", "publish", bundles[2])
    msg = (out + err).strip()
    check(rc == REFUSED and "not newer" in msg,
          "the old signed bundle v2 is refused as a downgrade (%d: %s)" % (rc, msg[:200]))
    rc, show, _ = ctl("rules", "show", json_out=True)
    check(rc == OK and show and show.get("version") == 3 and show.get("signer") == "ops",
          "controld still runs ruleset 3 signed by ops (%s)" %
          (show and {k: show.get(k) for k in ("version", "signer")}))
    time.sleep(0.3)
    check(tel.get("/smsfw/ruleset").get("version") == 3, "the dataplane still runs ruleset 3")
    traffic_check(tel, "after the refused downgrade")
    c = customer("mallory")
    check(c and c["standing"] == "suspended", "mallory still suspended after the restart")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # a crash is a failure with its reason
        import traceback
        traceback.print_exc()
        check(False, "checker raised %r" % exc)
    print("1..%d" % count)
    print("# %d of %d checks failed" % (failed, count) if failed else "# all %d checks passed" % count)
    sys.exit(1 if failed else 0)
