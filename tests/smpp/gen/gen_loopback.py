#!/usr/bin/env python3
"""smsfw-gen ESME against smsfw-gen SMSC on loopback.

usage: gen_loopback.py SMSFW_GEN WORKDIR

Cases (TAP output):
  1. a mix of GSM, UCS-2, IA5, Latin-1 with UDH 8/16-bit, SAR and payload
     concatenation; the SMSC refuses every 10th submit with ESME_RTHROTTLED,
     sends receipts and two MO messages. Both --json reports must agree on
     every count; the texts the SMSC recorded, reassembled, must be the mix's.
  2. a rate-limited run with enquire_link: the offered rate is honoured and
     every enquire_link is answered; the text report names what it measured.
  3. a bind with the wrong password is refused (exit 1, status named).
  4. usage errors exit 2 and a bad mix line is named by its number.
  5. unbounded runs stop on a signal: the ESME on SIGINT drains, unbinds and
     reports; the SMSC on SIGTERM reports.
"""
import json
import os
import subprocess
import sys
import time

GEN, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
results = []


def ok(cond, what):
    results.append((bool(cond), what))
    print(('ok' if cond else 'not ok') + ' %d - %s' % (len(results), what), flush=True)
    return cond


def path(name):
    return os.path.join(WORK, name)


def start_smsc(*args):
    pf = path('port')
    if os.path.exists(pf):
        os.unlink(pf)
    p = subprocess.Popen([GEN, 'smsc', '--port-file', pf] + list(args) + ['127.0.0.1:0'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if os.path.exists(pf):
            return p, int(open(pf).read())
        time.sleep(0.05)
    p.kill()
    raise SystemExit('smsc did not write its port')


def run_esme(port, *args):
    return subprocess.run([GEN, 'esme'] + list(args) + ['127.0.0.1:%d' % port],
                          capture_output=True, text=True, timeout=60)


def read_record(name):
    rows = []
    for line in open(path(name), encoding='utf-8'):
        f = line.rstrip('\n').split('\t')
        rows.append({'kind': f[0], 'system_id': f[1], 'source': f[2], 'dest': f[3],
                     'dc': int(f[4]), 'concat': f[5], 'text': f[6]})
    return rows


def reassemble(rows):
    """Whole texts from record rows: concatenated parts joined by (source, ref)."""
    out, pending = [], {}
    for r in rows:
        if r['concat'] == '-':
            out.append(r['text'])
            continue
        ref, rest = r['concat'].split(':')
        seq, total = map(int, rest.split('/'))
        key = (r['source'], ref)
        parts = pending.setdefault(key, {})
        parts[seq] = r['text']
        if len(parts) == total:
            out.append(''.join(parts[i] for i in range(1, total + 1)))
            del pending[key]
    return out, pending


# --- 1. mix, statuses, receipts, MO -------------------------------------
long_gsm = 'Your parcel is waiting. ' * 8                 # 192 GSM chars: 2 UDH parts
long_udh16 = ('Account notice %d. ' % 7) * 16              # 304 chars: 2 parts of <= 152
long_ucs2 = 'Привет, мир! ' * 8                            # 104 UCS-2 chars: 2 parts of 67
long_sar = 'SAR segmented message text. ' * 6             # 168 IA5 chars: 2 SAR parts
payload = 'message_payload carries this one whole. ' * 10  # 400 chars, one PDU
mix = [
    ('MyShop', '447700900001', 'Hello there, your code is 1234', 'gsm', None, 1),
    ('447700900123', '447700900002', long_gsm, 'gsm', None, 2),
    ('Bank', '447700900003', long_udh16, 'gsm', 'udh16', 2),
    ('Shop2', '447700900004', long_ucs2, 'ucs2', None, 2),
    ('Shop3', '447700900005', long_sar, 'ia5', 'sar', 2),
    ('Shop4', '447700900006', payload, 'latin1', 'payload', 1),
    ('Cafe', '447700900007', 'Café crème à 2 EUR', 'latin1', None, 1),
    ('Emoji', '447700900008', 'Smile 😀 please', 'ucs2', None, 1),
]
with open(path('mix.tsv'), 'w', encoding='utf-8') as f:
    f.write('# sender\tdest\ttext\tcoding\tconcat\n')
    for s, d, t, c, cc, _ in mix:
        f.write('\t'.join([s, d, t, c] + ([cc] if cc else [])) + '\n')
with open(path('mo.tsv'), 'w', encoding='utf-8') as f:
    f.write('447700900001\tMyShop\tSTOP\n447700900002\tMyShop\tСТОП\tucs2\n')

N = 800  # 100 rounds of the mix
smsc, port = start_smsc('--reject', '10:RTHROTTLED', '--mo', path('mo.tsv'),
                        '--record', path('smsc.rec'), '--once', '-j')
r = run_esme(port, '-n', str(N), '-m', path('mix.tsv'), '-d', '-w', '32', '-j',
             '--record', path('esme.rec'))
so, se = smsc.communicate(timeout=30)
ok(r.returncode == 0, 'esme exits 0 (stderr: %s)' % r.stderr.strip())
ok(smsc.returncode == 0, 'smsc exits 0 after the session (stderr: %s)' % se.strip())
e = json.loads(r.stdout)
s = json.loads(so)
parts = N // len(mix) * sum(m[5] for m in mix)
rejected = parts // 10
ok(e['messages'] == N, 'esme sent %d messages (%d)' % (N, e['messages']))
ok(e['submit_sm']['sent'] == parts and e['submit_sm']['answered'] == parts,
   'esme sent and had answered %d submit_sm (%d, %d)' % (parts, e['submit_sm']['sent'],
                                                          e['submit_sm']['answered']))
ok(s['submit_sm']['received'] == parts, 'smsc received %d submit_sm (%d)'
   % (parts, s['submit_sm']['received']))
want_status = {'ESME_ROK': parts - rejected, 'ESME_RTHROTTLED': rejected}
ok(e['submit_sm']['status'] == want_status, 'esme status counts %s' % e['submit_sm']['status'])
ok(s['submit_sm']['status'] == want_status, 'smsc status counts %s' % s['submit_sm']['status'])
ok(e['deliver_sm']['receipts'] == parts - rejected == s['deliver_sm']['receipts'],
   'one receipt per accepted submit (%d, %d)' % (e['deliver_sm']['receipts'],
                                               s['deliver_sm']['receipts']))
ok(e['deliver_sm']['mo'] == 2 and s['deliver_sm']['mo'] == 2, 'two MO messages delivered')
ok(s['deliver_sm']['answered'] == parts - rejected + 2 and
   s['deliver_sm']['status'] == {'ESME_ROK': parts - rejected + 2},
   'every deliver_sm answered ESME_ROK (%s)' % s['deliver_sm'])
lat = e['latency_us']
ok(lat['samples'] == parts and 0 < lat['p50'] <= lat['p90'] <= lat['p99'] <= lat['max'],
   'latency percentiles ordered and counted %s' % lat)
texts, pending = reassemble(read_record('smsc.rec'))
want = {}
for m in mix:
    want[m[2]] = N // len(mix)
got = {}
for t in texts:
    got[t] = got.get(t, 0) + 1
# The IA5 and Latin-1 texts pass as written; the GSM ones only use GSM characters.
ok(not pending and got == want, 'smsc saw every mix text whole, %d times each%s'
   % (N // len(mix), '' if got == want else ': ' + repr(set(got) ^ set(want))[:300]))
esme_rows = read_record('esme.rec')
mo = [r for r in esme_rows if r['kind'] == 'deliver_sm']
rc = [r for r in esme_rows if r['kind'] == 'receipt']
ok([x['text'] for x in mo] == ['STOP', 'СТОП'] and mo[1]['dc'] == 8,
   'esme recorded the MO texts %s' % [x['text'] for x in mo])
ok(len(rc) == parts - rejected and all('stat:DELIVRD' in x['text'] for x in rc),
   'esme recorded %d receipts with stat:DELIVRD' % len(rc))

# --- 2. rate limit, enquire_link, text report -----------------------------
smsc, port = start_smsc('--once', '-j')
t0 = time.monotonic()
r = run_esme(port, '-r', '400', '-t', '1.5', '-e', '0.25', '-j')
wall = time.monotonic() - t0
so, se = smsc.communicate(timeout=30)
e = json.loads(r.stdout)
sent = e['submit_sm']['sent']
ok(r.returncode == 0, 'rate-limited esme exits 0')
ok(500 <= sent <= 640 and 1.4 <= wall < 5, 'about 400/s for 1.5 s: %d submits in %.2f s'
   % (sent, wall))
ok(340 <= e['submit_sm']['per_second'] <= 460, 'measured rate %.0f/s near 400'
   % e['submit_sm']['per_second'])
ok(e['enquire_link']['sent'] >= 4 and e['enquire_link']['answered'] == e['enquire_link']['sent']
   and json.loads(so)['enquire_link']['answered'] == e['enquire_link']['sent'],
   'enquire_link every 0.25 s, all answered (%s)' % e['enquire_link'])

smsc, port = start_smsc('--once', '--reject', '2:0x58')
r = run_esme(port, '-n', '10')
so, se = smsc.communicate(timeout=30)
ok(r.returncode == 0 and 'p50' in r.stdout and 'p99' in r.stdout and
   'ESME_RTHROTTLED      5' in r.stdout and 'ESME_ROK             5' in r.stdout,
   'text report shows percentiles and statuses')
ok('received     10 submit_sm' in so, 'smsc text report counts submits')

# --- 3. bind refused -------------------------------------------------------
smsc, port = start_smsc('--password', 'secret', '-t', '3', '-j')
r = run_esme(port, '-n', '5', '-P', 'wrong', '-j')
smsc.terminate()
so, se = smsc.communicate(timeout=30)
s = json.loads(so)
ok(r.returncode == 1 and 'ESME_RINVPASWD' in r.stderr, 'wrong password: exit 1, status named (%d, %s)'
   % (r.returncode, r.stderr.strip()))
ok(json.loads(r.stdout)['submit_sm']['sent'] == 0 and s['binds']['refused'] == 1 and
   s['submit_sm']['received'] == 0, 'nothing submitted after a refused bind')

# --- 4. usage errors ---------------------------------------------------------
with open(path('bad.tsv'), 'w') as f:
    f.write('# ok\nA\t1\tfine\nB\t2\tbad coding\tklingon\n')
r = subprocess.run([GEN, 'esme', '-m', path('bad.tsv'), '127.0.0.1:1'], capture_output=True,
                   text=True)
ok(r.returncode == 2 and 'bad.tsv:3:' in r.stderr and 'klingon' in r.stderr,
   'bad mix line named by number: %s' % r.stderr.strip())
r = subprocess.run([GEN, 'esme', '--window', '0', '127.0.0.1:1'], capture_output=True, text=True)
ok(r.returncode == 2, 'window 0 refused')
r = subprocess.run([GEN, 'fax'], capture_output=True, text=True)
ok(r.returncode == 2 and 'usage' in r.stderr, 'unknown role refused with usage')
r = subprocess.run([GEN, 'esme', '-n', '1', '127.0.0.1:1'], capture_output=True, text=True)
ok(r.returncode == 1 and 'connect' in r.stderr, 'connection refused: exit 1')

# --- 5. signals --------------------------------------------------------------
import signal
smsc, port = start_smsc('-j')
esme = subprocess.Popen([GEN, 'esme', '-j', '-r', '2000', '127.0.0.1:%d' % port],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(0.7)
esme.send_signal(signal.SIGINT)
eo, ee = esme.communicate(timeout=30)
smsc.send_signal(signal.SIGTERM)
so, se = smsc.communicate(timeout=30)
e, s = json.loads(eo), json.loads(so)
ok(esme.returncode == 0 and 0 < e['submit_sm']['sent'] == e['submit_sm']['answered'],
   'SIGINT: esme drains and reports (%d sent, %d answered)' % (e['submit_sm']['sent'],
                                                              e['submit_sm']['answered']))
ok(smsc.returncode == 0 and s['submit_sm']['received'] == e['submit_sm']['sent'] and
   s['sessions'] == 1, 'SIGTERM: smsc reports what it received (%d)' % s['submit_sm']['received'])

print('1..%d' % len(results))
sys.exit(0 if all(c for c, _ in results) else 1)
