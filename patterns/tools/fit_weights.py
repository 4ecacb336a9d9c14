#!/usr/bin/env python3
"""fit_weights.py — the reproducible procedure behind the score weights.

For each category with score rules, fits a logistic regression (L2, weights
held non-negative, fixed iteration count, no randomness) whose features are
"rule N matched" (all score rules of every category, one model) as reported by `smsfw-patc test --matches`, on the TRAINING
half of each corpus (odd lines; the even lines are kept for evaluation).
Positives for a category's model are the corpus labels of that category
Positives are all non-ham labels, negatives are ham; weights may be negative
(conversational markers). The total-score threshold (threshold cat=* block=T)
is the lowest total whose training precision is at least --precision. Weights
and the threshold are written back into the rule files in place.

usage: fit_weights.py --patc BUILD/patterns/smsfw-patc [--rules DIR]
                      [--precision 0.998] CORPUS.tsv...
"""
import argparse
import math
import os
import re
import subprocess
import sys

LABEL_CAT = {"spam": "spam", "smishing": "fraud", "fraud": "fraud",
             "harassment": "harassment"}


def read_rules(rules_dir):
    """id -> (category, file) for score rules."""
    out = {}
    for name in sorted(os.listdir(rules_dir)):
        if not name.endswith(".rules"):
            continue
        with open(os.path.join(rules_dir, name), encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\s*rule\s+id=(\d+)\s+cat=(\S+)\s.*\baction=score:", line)
                if m:
                    out[int(m.group(1))] = (m.group(2), name)
    return out


def matches(patc, rules_dir, corpus, half):
    cmd = [patc, "test", "--matches", "--lines", half, "--corpus", corpus, rules_dir]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    rows = []
    for line in res.stdout.splitlines():
        if not line.startswith("M\t"):
            continue
        _, _, label, _, ids = line.split("\t")
        rows.append((label, {int(x) for x in ids.split(",") if x}))
    return rows


def fit(X, y, nfeat, iters=3000, lr=0.5, l2=0.004, ham_weight=3.0):
    """Plain batch gradient descent with L2; deterministic. Ham examples
    weigh ham_weight times more: a false block costs more than a miss."""
    w = [0.0] * nfeat
    b = 0.0
    sw = [ham_weight if yi == 0 else 1.0 for yi in y]
    n = sum(sw)
    for _ in range(iters):
        gw = [0.0] * nfeat
        gb = 0.0
        for xi, yi, s in zip(X, y, sw):
            z = b + sum(w[j] for j in xi)
            p = 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0
            d = (p - yi) * s
            gb += d
            for j in xi:
                gw[j] += d
        b -= lr * gb / n
        for j in range(nfeat):
            w[j] -= lr * (gw[j] / n + l2 * w[j])
    return w, b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patc", required=True)
    ap.add_argument("--rules", default=os.path.join(os.path.dirname(__file__), "..", "rules"))
    ap.add_argument("--precision", type=float, default=0.995)
    ap.add_argument("corpora", nargs="+")
    a = ap.parse_args()

    rules = read_rules(a.rules)
    rows = []
    for c in a.corpora:
        rows += matches(a.patc, a.rules, c, "odd")
    ids = sorted(rules)
    col = {i: k for k, i in enumerate(ids)}
    X = [[col[i] for i in m if i in col] for _, m in rows]
    y = [0 if label == "ham" else 1 for label, _ in rows]
    w, b = fit(X, y, len(ids))
    weights = {}
    for i in ids:
        v = round(w[col[i]], 2)
        weights[i] = v if v != 0 else (0.01 if w[col[i]] >= 0 else -0.01)
    # Threshold: the lowest total score whose training precision reaches the
    # target (walking down from the top so one noisy label cannot stall it).
    scored = sorted(((sum(weights[i] for i in m if i in col), label != "ham")
                     for label, m in rows), reverse=True)
    tp = fp = 0
    threshold = None
    for k, (s, pos) in enumerate(scored):
        tp += pos
        fp += not pos
        nxt = scored[k + 1][0] if k + 1 < len(scored) else None
        if nxt is not None and nxt == s:
            continue
        if s > 0 and tp / (tp + fp) >= a.precision:
            threshold = s
    threshold = round(threshold, 2)
    print(f"bias {b:.2f}, threshold {threshold}, {len(ids)} rules, "
          f"{sum(y)} positives / {len(y)} training messages")
    for i in ids:
        print(f"  rule {i} ({rules[i][0]}) weight {weights[i]}")

    for name in sorted(os.listdir(a.rules)):
        if not name.endswith(".rules"):
            continue
        path = os.path.join(a.rules, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()

        def rule_sub(m):
            i = int(m.group(1))
            if i not in weights:
                return m.group(0)
            return re.sub(r"action=score:-?[0-9.]+", f"action=score:{weights[i]:g}", m.group(0))

        text = re.sub(r"(?m)^rule\s+id=(\d+)\s.*$", rule_sub, text)
        text = re.sub(r"(?m)^(threshold\s+cat=\*\s+block=)[0-9.]+", rf"\g<1>{threshold:g}", text)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
