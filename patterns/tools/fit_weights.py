#!/usr/bin/env python3
"""fit_weights.py — the reproducible procedure behind the score weights.

Features are "rule N matched" for every score rule of every category, as
reported by `smsfw-patc test --matches`, on the TRAINING half of each corpus
(odd lines; the even lines are never read here and are kept for evaluation).
Positives are all non-ham labels, negatives are ham (weighted --ham-weight
times: a false block costs more than a miss). One model for all categories.

1. The model is a logistic regression whose weights are pulled towards a
   prior by an L2 term (bias free): the prior is +mu for a scam feature and
   -mu for a negative marker (a rule whose ref is "score calibration").
   With mu = 0 a feature seen in few training messages gets a weight near
   zero however clearly it names a scam; the prior lets such a feature keep
   a modest weight unless ham messages pull it down. Solved exactly by
   Newton steps (no step size, no iteration budget that stops short, no
   randomness): the same inputs always give the same weights.
2. L2 is 0.004; the ham weight (--ham-weight, default 3, 6, 10) and mu
   (--prior, default 0, 0.1, 0.2, 0.3) are chosen by 5-fold
   cross-validation on the training lines only (several --l2 values are
   searched too). Each fold runs the whole procedure — fit, then threshold
   (step 3) on the other four folds — and scores the fold left out, so the
   pooled out-of-fold counts are what the shipped procedure does on text it
   has not seen. Identical texts (the corpora hold many copies of one spam)
   are kept in one fold. Candidates whose out-of-fold precision reaches
   --precision beat those that do not; among them the best out-of-fold
   recall wins, ties going to the earlier candidate.
3. The total-score threshold (threshold cat=* block=T): walking down from
   the highest score, the lowest total at which the training precision
   (all corpora together) is at least --precision is the lowest accepted
   total; the next lower total holds a ham. T goes half-way between the
   two, on a half hundredth (weights are whole hundredths, so float
   rounding in the scanner cannot move a message across it). Training
   counts are the same anywhere in that gap; the middle leaves the widest
   margin on both sides for text the fit has not seen, where the edge
   under the lowest accepted total (the rule before) gave every margin to
   the hams and none to the scams.

Weights (rounded to 0.01, never 0) and the threshold are written back into
the rule files in place.

usage: fit_weights.py --patc BUILD/patterns/smsfw-patc [--rules DIR]
                      [--precision 0.995] [--ham-weight A,B,...]
                      [--l2 A,B,...] [--prior A,B,...] CORPUS.tsv...
"""
import argparse
import math
import os
import re
import subprocess
import sys

MAX_MATCHES = 32  # PAT_MAX_MATCHES: a message listing this many lost some
FOLDS = 5
PRIOR_GRID = (0, 0.1, 0.2, 0.3)


def read_rules(rules_dir):
    """id -> (category, file, prior sign) for score rules: -1 for the
    negative markers (ref="score calibration"), +1 for scam features."""
    out = {}
    for name in sorted(os.listdir(rules_dir)):
        if not name.endswith(".rules"):
            continue
        with open(os.path.join(rules_dir, name), encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\s*rule\s+id=(\d+)\s+cat=(\S+)\s.*\baction=score:", line)
                if m:
                    sign = -1 if 'ref="score calibration"' in line else 1
                    out[int(m.group(1))] = (m.group(2), name, sign)
    return out


def read_texts(corpus):
    """line number -> text key (lower case, spaces squeezed) for grouping copies."""
    keys = {}
    with open(corpus, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            text = line.rstrip("\n").split("\t", 1)[-1]
            keys[n] = " ".join(text.lower().split())
    return keys


def matches(patc, rules_dir, corpus, half):
    cmd = [patc, "test", "--matches", "--lines", half, "--corpus", corpus, rules_dir]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    keys = read_texts(corpus)
    rows = []
    for line in res.stdout.splitlines():
        if not line.startswith("M\t"):
            continue
        _, lineno, label, _, ids = line.split("\t")
        got = {int(x) for x in ids.split(",") if x}
        if len(got) >= MAX_MATCHES:
            print(f"warning: {corpus}:{lineno} lists {len(got)} matches "
                  f"(PAT_MAX_MATCHES): features may be missing", file=sys.stderr)
        rows.append((label, got, keys[int(lineno)]))
    return rows


def solve(a, b):
    """Gaussian elimination with partial pivoting; a is symmetric positive
    definite here (Hessian + L2), so no pivot vanishes."""
    n = len(b)
    m = [row[:] + [bi] for row, bi in zip(a, b)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        piv = m[c][c]
        for r in range(c + 1, n):
            f = m[r][c] / piv
            if f:
                mr, mc = m[r], m[c]
                for k in range(c, n + 1):
                    mr[k] -= f * mc[k]
    x = [0.0] * n
    for c in range(n - 1, -1, -1):
        x[c] = (m[c][n] - sum(m[c][k] * x[k] for k in range(c + 1, n))) / m[c][c]
    return x


def fit(X, y, nfeat, l2, ham_weight, prior, iters=100, tol=1e-8):
    """Minimise mean weighted log-loss + l2/2 |w - prior|^2 (bias free) by
    Newton steps. X: per message, the list of feature columns that matched;
    prior: per column, the weight a feature keeps when the data say little."""
    sw = [ham_weight if yi == 0 else 1.0 for yi in y]
    n = sum(sw)
    d = nfeat + 1  # column nfeat is the bias
    w = list(prior) + [0.0]
    for _ in range(iters):
        g = [0.0] * d
        h = [[0.0] * d for _ in range(d)]
        for xi, yi, s in zip(X, y, sw):
            z = w[nfeat] + sum(w[j] for j in xi)
            p = 1.0 / (1.0 + math.exp(-z)) if z > -35 else 0.0
            r = (p - yi) * s / n
            q = p * (1.0 - p) * s / n
            cols = list(xi) + [nfeat]
            for a in cols:
                g[a] += r
                ha = h[a]
                for b in cols:
                    ha[b] += q
        for j in range(nfeat):
            g[j] += l2 * (w[j] - prior[j])
            h[j][j] += l2
        h[nfeat][nfeat] += 1e-9
        step = solve(h, g)
        w = [wi - si for wi, si in zip(w, step)]
        if max(abs(s) for s in step) < tol:
            break
    return w[:nfeat], w[nfeat]


def pick_threshold(scored, precision):
    """scored: (total, is_positive, corpus), totals in whole hundredths.
    The lowest total at which the precision over the training messages
    (all corpora together) scoring at least that reaches the target is the
    lowest accepted total; the next lower total holds a ham (else it would
    be accepted too). The threshold goes half-way between the two (the
    widest margin on both sides), on a half hundredth so that no integer
    total sits on it. None if no total is accepted."""
    scored = sorted(scored, key=lambda t: -t[0])
    tp = fp = 0
    cut = None
    below = None
    for k, (s, pos, _) in enumerate(scored):
        tp += pos
        fp += not pos
        if k + 1 < len(scored) and scored[k + 1][0] == s:
            continue
        if s > 0 and tp / (tp + fp) >= precision:
            cut = s
            below = scored[k + 1][0] if k + 1 < len(scored) else None
    if cut is None:
        return None
    if below is None:
        return cut - 0.5
    return math.floor((cut + below) / 2) + 0.5


def recall_at(scored, threshold):
    pos = [s for s, p, _ in scored if p]
    return sum(1 for s in pos if s >= threshold) / len(pos) if pos else 0.0


def cents_of(w):
    """Weights in whole hundredths (never 0: a rule that matched keeps a sign)."""
    out = []
    for v in w:
        c = int(round(v * 100))
        out.append(c if c != 0 else (1 if v >= 0 else -1))
    return out


def cross_validate(X, y, groups, nfeat, l2, ham_weight, prior, precision):
    """The whole procedure (fit, then threshold on the training part) run
    FOLDS times, each time scoring the fold left out; a text's copies share
    a fold (fold = order of first appearance of the text, mod FOLDS).
    Returns the pooled out-of-fold (tp, fp, fn)."""
    first = {}
    for g in groups:
        first.setdefault(g, len(first))
    fold = [first[g] % FOLDS for g in groups]
    tp = fp = fn = 0
    for k in range(FOLDS):
        tr = [i for i in range(len(y)) if fold[i] != k]
        w, _ = fit([X[i] for i in tr], [y[i] for i in tr], nfeat, l2, ham_weight, prior)
        cents = cents_of(w)
        score = [sum(cents[j] for j in xi) for xi in X]
        cut = pick_threshold([(score[i], y[i] == 1, None) for i in tr], precision)
        for i in range(len(y)):
            if fold[i] != k:
                continue
            block = cut is not None and score[i] >= cut
            tp += block and y[i] == 1
            fp += block and y[i] == 0
            fn += (not block) and y[i] == 1
    return tp, fp, fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patc", required=True)
    ap.add_argument("--rules", default=os.path.join(os.path.dirname(__file__), "..", "rules"))
    ap.add_argument("--precision", type=float, default=0.995)
    ap.add_argument("--ham-weight", default="3,6,10",
                    help="weight of a ham message, or candidates chosen by cross-validation")
    ap.add_argument("--l2", default="0.004",
                    help="L2 strength, or candidates A,B,... chosen by cross-validation")
    ap.add_argument("--prior", default=",".join(f"{v:g}" for v in PRIOR_GRID),
                    help="prior weight of a feature, or candidates chosen by cross-validation")
    ap.add_argument("corpora", nargs="+")
    a = ap.parse_args()

    rules = read_rules(a.rules)
    rows = []
    corpus = []
    for c in a.corpora:
        got = matches(a.patc, a.rules, c, "odd")
        rows += got
        corpus += [c] * len(got)
    ids = sorted(rules)
    col = {i: k for k, i in enumerate(ids)}
    X = [[col[i] for i in sorted(m) if i in col] for _, m, _ in rows]
    y = [0 if label == "ham" else 1 for label, _, _ in rows]
    groups = [key for _, _, key in rows]

    l2s = [float(v) for v in a.l2.split(",")]
    hws = [float(v) for v in a.ham_weight.split(",")]
    mus = [float(v) for v in a.prior.split(",")]
    signs = [rules[i][2] for i in ids]
    cands = [(l2, hw, mu) for l2 in l2s for hw in hws for mu in mus]
    best = None
    if len(cands) > 1:
        for l2, hw, mu in cands:
            tp, fp, fn = cross_validate(X, y, groups, len(ids), l2, hw,
                                        [mu * sg for sg in signs], a.precision)
            prec = tp / (tp + fp) if tp + fp else 0.0
            rec = tp / (tp + fn) if tp + fn else 0.0
            print(f"cv l2 {l2:g} ham weight {hw:g} prior {mu:g}: out-of-fold "
                  f"tp {tp} fp {fp} fn {fn}, precision {prec * 100:.2f} %, recall {rec * 100:.2f} %")
            # Candidates meeting the precision target beat those that do
            # not; then recall; ties go to the earlier candidate.
            key = (prec >= a.precision, rec if prec >= a.precision else prec)
            if best is None or key > best[0]:
                best = (key, l2, hw, mu)
    l2, hw, mu = best[1:] if best else cands[0]

    w, b = fit(X, y, len(ids), l2, hw, [mu * sg for sg in signs])
    # Weights in hundredths, so totals are exact integers here; the
    # threshold sits on a half hundredth (pick_threshold), so the
    # scanner's float sums land on the same side of it as these do.
    cents = dict(zip(ids, cents_of(w)))
    weights = {i: v / 100 for i, v in cents.items()}
    scored = [(sum(cents[i] for i in m if i in col), label != "ham", c)
              for (label, m, _), c in zip(rows, corpus)]
    cut = pick_threshold(scored, a.precision)
    threshold = cut / 100
    print(f"l2 {l2:g}, prior {mu:g}, ham weight {hw:g}, bias {b:.2f}, threshold {threshold:g}, "
          f"{len(ids)} rules, {sum(y)} positives / {len(y)} training messages, "
          f"training recall {recall_at(scored, cut) * 100:.2f} %")
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
