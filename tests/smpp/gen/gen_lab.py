#!/usr/bin/env python3
"""smsfw-gen ESME against smsfw-gen SMSC through the namespace lab.

usage: gen_lab.py SMSFW_GEN SOURCE_ROOT BUILD_ROOT WORKDIR   (root; TAP)

Issue 7's end-to-end figure: at a fixed offered load the direct path
(loopback) sustains, the path through smsfw-dataplane must deliver at least
0.8 of it, every submit answered, with the same latency percentiles
reported. Then the offered rate is raised step by step (2 s each) to find
the highest rate the lab path sustains (>= 95 % of the offer delivered,
nothing unanswered); it must beat the node peers' ceiling (28,000/s).
The lab is brought down at the end, even on failure.
"""
import json
import os
import subprocess
import sys
import time

GEN, SRC, BUILD, WORK = sys.argv[1:5]
LAB = os.path.join(SRC, 'scripts', 'lab')
os.makedirs(WORK, exist_ok=True)
results = []


def ok(cond, what):
    results.append(bool(cond))
    print(('ok' if cond else 'not ok') + ' %d - %s' % (len(results), what), flush=True)
    return cond


def run_pair(smsc_ns, esme_ns, addr, *esme_args):
    """One SMSC (--once) and one ESME run; returns both JSON reports."""
    pf = os.path.join(WORK, 'port')
    if os.path.exists(pf):
        os.unlink(pf)
    listen = addr if smsc_ns else '127.0.0.1:0'
    smsc = subprocess.Popen(smsc_ns + [GEN, 'smsc', '--once', '-j', '--port-file', pf, listen],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if os.path.exists(pf):
            break
        time.sleep(0.05)
    port = open(pf).read().strip()
    target = addr if smsc_ns else '127.0.0.1:' + port
    e = subprocess.run(esme_ns + [GEN, 'esme', '-j', '--connect-wait', '5'] + list(esme_args) +
                       [target], capture_output=True, text=True, timeout=120)
    so, se = smsc.communicate(timeout=30)
    if e.returncode != 0:
        print('# esme: ' + e.stderr.strip().replace('\n', '\n# '))
    return json.loads(e.stdout), json.loads(so)


def direct(*args):
    return run_pair([], [], None, *args)


def lab(*args):
    return run_pair(['ip', 'netns', 'exec', 'smsfw-smsc'], ['ip', 'netns', 'exec', 'smsfw-esme'],
                    '198.18.0.2:2775', *args)


if os.geteuid() != 0:
    print('1..0 # SKIP the lab needs root')
    sys.exit(77)

subprocess.run([LAB, 'down'], capture_output=True)
up = subprocess.run([LAB, 'up', '--build', BUILD], capture_output=True, text=True, timeout=180)
try:
    if not ok(up.returncode == 0, 'lab up'):
        print('# ' + (up.stdout + up.stderr).strip().replace('\n', '\n# '))
        raise SystemExit

    RATE, SECS = 20000, 3
    d, _ = direct('-r', str(RATE), '-t', str(SECS))
    l, ls = lab('-r', str(RATE), '-t', str(SECS))
    dr, lr = d['submit_sm']['per_second'], l['submit_sm']['per_second']
    ok(l['submit_sm']['answered'] == l['submit_sm']['sent'] and ls['submit_sm']['received'] ==
       l['submit_sm']['sent'], 'through the lab every submit arrived and was answered (%d)'
       % l['submit_sm']['sent'])
    ok(lr >= 0.8 * dr, 'at %d/s offered: lab %.0f/s >= 0.8 x direct %.0f/s' % (RATE, lr, dr))
    for name, r in (('direct', d), ('lab', l)):
        lat = r['latency_us']
        ok(0 < lat['p50'] <= lat['p90'] <= lat['p99'] <= lat['max'],
           '%s latency p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us'
           % (name, lat['p50'], lat['p90'], lat['p99'], lat['max']))

    best = 0
    for rate in (30000, 60000, 120000, 240000, 480000):
        r, s = lab('-r', str(rate), '-t', '2', '-w', '256')
        got = r['submit_sm']['per_second']
        sustained = (got >= 0.95 * rate and r['submit_sm']['answered'] == r['submit_sm']['sent']
                     and s['submit_sm']['received'] == r['submit_sm']['sent'])
        print('# offered %d/s: delivered %.0f/s, p50 %.0f us, p99 %.0f us%s'
              % (rate, got, r['latency_us']['p50'], r['latency_us']['p99'],
                 '' if sustained else ' (not sustained)'))
        if not sustained:
            break
        best = rate
    ok(best > 28000, 'highest offered rate the lab path sustains: %d/s (node peers: ~28,000/s)'
       % best)
finally:
    subprocess.run([LAB, 'down'], capture_output=True)

print('1..%d' % len(results))
sys.exit(0 if results and all(results) else 1)
