#!/usr/bin/env python3
"""smsfw-patc end to end on a small labelled fixture with known counts, and
the tool's other commands (validate, compile, keygen, bundle, verify, scan)
with their documented exit codes.

usage: test_patc.py SMSFW_PATC FIXTURE_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

patc, fixture = sys.argv[1], sys.argv[2]
corpus = os.path.join(fixture, "corpus.tsv")
failures = 0


def run(*args):
    return subprocess.run([patc, *args], capture_output=True, text=True)


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    else:
        print("ok:", what)


# --- test --json: the counts follow from fixture.rules by hand (see
# tests/patterns/fixture/corpus.tsv: 10 messages, 6 labelled non-ham).
r = run("test", "--json", "--corpus", corpus, fixture)
check(r.returncode == 0, "test exits 0")
d = json.loads(r.stdout)  # stdout holds only the JSON object
o = d["overall"]
check((o["tp"], o["fp"], o["fn"], o["tn"]) == (4, 1, 2, 3), f"overall confusion {o}")
check(abs(o["precision"] - 0.8) < 1e-9 and abs(o["recall"] - 4 / 6) < 1e-9,
      "overall precision 0.8, recall 2/3")
c = d["categories"]
check((c["spam"]["tp"], c["spam"]["fp"], c["spam"]["fn"]) == (1, 1, 1), f"spam {c['spam']}")
check((c["fraud"]["tp"], c["fraud"]["fp"], c["fraud"]["fn"]) == (1, 0, 2), f"fraud {c['fraud']}")
check((c["harassment"]["tp"], c["harassment"]["fn"]) == (1, 0), "harassment")
check((c["malware"]["tp"], c["malware"]["fp"]) == (0, 1), "malware fp (fraud label, malware rule)")
ru = d["rules"]
check(ru["100"]["hits"] == 3 and ru["100"]["ham_hits"] == 1, f"rule 100 hits {ru['100']}")
check(ru["101"]["hits"] == 3 and ru["101"]["ham_hits"] == 2, f"rule 101 hits {ru['101']}")
check(ru["400"]["hits"] == 2 and ru["200"]["hits"] == 1 and ru["300"]["hits"] == 1, "rule 200/300/400 hits")
check([f["line"] for f in d["false_positives"]] == [3], "false positive: line 3")
check(d["false_positives"][0]["rule"] == 100, "false positive decided by rule 100")
check([f["line"] for f in d["false_negatives"]] == [5, 7], "false negatives: lines 5 and 7")
check(d["scored"] == 10, "10 messages scored")

r = run("test", "--json", "--lines", "odd", "--corpus", corpus, fixture)
o = json.loads(r.stdout)["overall"]
check((o["tp"], o["fp"], o["fn"], o["tn"]) == (1, 1, 2, 1), f"odd lines only {o}")

r = run("test", "--corpus", corpus, fixture)
check(r.returncode == 0 and "precision 0.8000 recall 0.6667" in r.stdout, "text report")
check("FP line 3 rule 100" in r.stdout and "FN line 7 smishing" in r.stdout, "FP/FN listed")

# A label that is not UTF-8 cannot be a JSON key: the line is reported
# malformed, not scored (it was scored, then its label object was used
# after jansson had freed it, and the count was lost).
tmpc = tempfile.mkdtemp()
try:
    bc = os.path.join(tmpc, "badlabel.tsv")
    with open(corpus, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    with open(bc, "wb") as f:
        f.write(b"".join(lines[:3]) + b"sp\xe4m\tWIN a prize now\n" + b"".join(lines[3:]))
    r = subprocess.run([patc, "test", "--json", "--corpus", bc, fixture], capture_output=True)
    dj = json.loads(r.stdout)
    check(r.returncode == 0 and dj["scored"] == 10 and dj["malformed"] == 1,
          f"non-UTF-8 label: line malformed ({dj['scored']} scored, {dj['malformed']} malformed)")
    o2 = dj["overall"]
    check((o2["tp"], o2["fp"], o2["fn"], o2["tn"]) == (4, 1, 2, 3), "non-UTF-8 label: counts unchanged")
    check([f["line"] for f in dj["false_negatives"]] == [6, 8], "non-UTF-8 label: FN lines follow the file")
    # a corpus saved with a byte-order mark: its first label is still a
    # label ("\ufeffham" was a positive label of its own)
    bom = os.path.join(tmpc, "bom.tsv")
    with open(bom, "wb") as f:
        f.write(b"\xef\xbb\xbf" + b"".join(lines))
    r = subprocess.run([patc, "test", "--json", "--corpus", bom, fixture], capture_output=True)
    dj = json.loads(r.stdout)
    o2 = dj["overall"]
    check(r.returncode == 0 and (o2["tp"], o2["fp"], o2["fn"], o2["tn"]) == (4, 1, 2, 3)
          and all(not k.startswith("\ufeff") for k in dj["labels"]),
          f"corpus with a BOM: counts unchanged ({o2}, labels {sorted(dj['labels'])})")
finally:
    shutil.rmtree(tmpc)

# --- exit codes
check(run("test", "--corpus", "/nonexistent.tsv", fixture).returncode == 3, "missing corpus: 3")
check(run("test", fixture).returncode == 2, "no --corpus: 2")
check(run("frobnicate").returncode == 2, "unknown command: 2")
tmp = tempfile.mkdtemp()
try:
    bad = os.path.join(tmp, "badrules")
    os.mkdir(bad)
    with open(os.path.join(bad, "x.rules"), "w") as f:
        f.write("rule id=1 cat=spam target=norm action=block pat=/(/ desc=\"x\"\n")
    r = run("validate", bad)
    check(r.returncode == 1 and "x.rules:1:" in r.stderr and "Hyperscan" in r.stderr,
          "invalid rules: exit 1 with file:line:col")
    r = run("validate", fixture)
    check(r.returncode == 0 and "5 rules" in r.stdout, "validate fixture")

    blob = os.path.join(tmp, "rs.bin")
    r = run("compile", "--version", "7", "-o", blob, fixture)
    check(r.returncode == 0 and os.path.getsize(blob) > 160, "compile writes a blob")

    key = os.path.join(tmp, "team")
    check(run("keygen", "-o", key).returncode == 0, "keygen")
    check(oct(os.stat(key + ".key").st_mode & 0o777) == "0o600", "secret key is 0600")
    bundle = os.path.join(tmp, "rules.bundle")
    r = run("bundle", "-k", key + ".key", "-o", bundle, fixture)
    check(r.returncode == 0, "bundle")
    r = run("verify", "-p", key + ".pub", bundle)
    check(r.returncode == 0 and "signature good" in r.stdout, "verify good bundle")
    data = bytearray(open(bundle, "rb").read())
    data[len(data) // 3] ^= 0x20
    open(bundle + ".bad", "wb").write(data)
    r = run("verify", "-p", key + ".pub", bundle + ".bad")
    check(r.returncode == 4 and "REFUSED" in r.stderr, "tampered bundle refused: exit 4")
    open(bundle + ".cut", "wb").write(open(bundle, "rb").read()[:-10])
    check(run("verify", "-p", key + ".pub", bundle + ".cut").returncode == 4, "truncated bundle: 4")
    check(run("keygen", "-o", key + "2").returncode == 0, "second key")
    check(run("verify", "-p", key + "2.pub", bundle).returncode == 4, "wrong key: 4")
    r = run("bundle", "-k", key + ".key", "-o", bundle + "2", bad)
    check(r.returncode == 1 and not os.path.exists(bundle + "2"), "invalid rules are not signed")

    # a file whose name cannot go in a bundle (control character) is named
    # in the refusal; bundle exited 5 and said nothing
    odd = os.path.join(tmp, "odd")
    shutil.copytree(fixture, odd)
    with open(os.path.join(odd, "notes\tcopy.txt"), "w") as f:
        f.write("x\n")
    r = run("bundle", "-k", key + ".key", "-o", bundle + "3", odd)
    check(r.returncode == 5 and "notes\tcopy.txt" in r.stderr and not os.path.exists(bundle + "3"),
          f"odd file name named in the refusal (exit {r.returncode}, {r.stderr.strip()!r})")

    # a directory whose files hold no rule (only comments) is not signed:
    # loaded, such a bundle would turn every rule off
    empty = os.path.join(tmp, "norules")
    os.mkdir(empty)
    with open(os.path.join(empty, "x.rules"), "w") as f:
        f.write("# nothing yet\n")
    r = run("bundle", "-k", key + ".key", "-o", bundle + "4", empty)
    check(r.returncode == 1 and "no rules" in r.stderr and not os.path.exists(bundle + "4"),
          f"a bundle without rules is refused (exit {r.returncode}, {r.stderr.strip()!r})")

    r = run("scan", "--rules", fixture, "Please VERIFY y\u043eur account")
    check(r.returncode == 0 and "normalised: please verify your account" in r.stdout
          and "verdict block rule 200" in r.stdout, "scan shows normalised text and verdict")
finally:
    shutil.rmtree(tmp)

print(f"{failures} failures")
sys.exit(1 if failures else 0)
