#!/usr/bin/env python3
"""smsfw-gen against npm `smpp` (node-smpp), both ways.

usage: gen_peers.py SMSFW_GEN NODE GEN_NODE_PEER_JS WORKDIR
(SMPP_MODULE in the environment points at node_modules/smpp.)

  1. smsfw-gen ESME -> node-smpp SMSC: node must see every submit with the
     mix's sender, destination, data_coding, concatenation and text; the
     generator must see node's MO deliver_sm (and node its deliver_sm_resp).
  2. node-smpp ESME -> smsfw-gen SMSC: node must get a message id per
     submit, a receipt naming each id, and the generator's MO; the
     generator must record every text node sent.
"""
import json
import os
import subprocess
import sys
import time

GEN, NODE, PEER, WORK = sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)
results = []


def ok(cond, what):
    results.append(bool(cond))
    print(('ok' if cond else 'not ok') + ' %d - %s' % (len(results), what), flush=True)


def path(name):
    return os.path.join(WORK, name)


def wait_port(pf, proc):
    for _ in range(200):
        if os.path.exists(pf):
            return int(open(pf).read())
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit('peer did not write its port: ' + proc.stderr.read())


# --- 1. smsfw-gen ESME -> node SMSC ------------------------------------------
long_text = 'This long notice is split in two parts by smsfw-gen with an 8-bit UDH. ' * 3
mix = [
    ('GenShop', '447700900001', 'Hello from smsfw-gen', 'gsm'),
    ('447700900123', '447700900002', 'Добрый день', 'ucs2'),
    ('GenBank', '447700900003', long_text, 'gsm'),
]
with open(path('mix.tsv'), 'w', encoding='utf-8') as f:
    for m in mix:
        f.write('\t'.join(m) + '\n')
pf = path('node-port')
if os.path.exists(pf):
    os.unlink(pf)
node = subprocess.Popen([NODE, PEER, 'smsc', pf, 'STOP'], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
port = wait_port(pf, node)
N = 30
r = subprocess.run([GEN, 'esme', '-n', str(N), '-m', path('mix.tsv'), '-j', '-u', 'genesme',
                    '--record', path('esme.rec'), '127.0.0.1:%d' % port],
                   capture_output=True, text=True, timeout=60)
no, ne = node.communicate(timeout=30)
ok(r.returncode == 0 and node.returncode == 0, 'both ends exit 0 (%s %s)'
   % (r.stderr.strip(), ne.strip()))
e = json.loads(r.stdout)
seen = json.loads(no)['submits']
ok(len(seen) == e['submit_sm']['sent'] == 40 and e['submit_sm']['status'] == {'ESME_ROK': 40},
   'node saw 40 submit_sm (30 messages, 10 of them in two parts), all ROK')
whole, pending = [], {}
for s in seen:
    if s['concat'] == '-':
        whole.append((s['source'], s['dest'], s['data_coding'], s['text']))
        continue
    ref, rest = s['concat'].split(':')
    seq, total = map(int, rest.split('/'))
    pending.setdefault(ref, {})[seq] = s
    if len(pending[ref]) == total:
        p = pending.pop(ref)
        whole.append((p[1]['source'], p[1]['dest'], p[1]['data_coding'],
                      ''.join(p[i]['text'] for i in range(1, total + 1))))
want = [(m[0], m[1], 8 if m[3] == 'ucs2' else 0, m[2]) for m in mix] * (N // len(mix))
ok(whole == want and not pending, 'node decoded every message whole, in order, as the mix says%s'
   % ('' if whole == want else ': first %r' % (whole[:3],)))
ok(all(s['system_id'] == 'genesme' for s in seen), 'node saw system_id genesme')
rows = [l.rstrip('\n').split('\t') for l in open(path('esme.rec'), encoding='utf-8')]
ok(e['deliver_sm']['mo'] == 1 and rows and rows[0][0] == 'deliver_sm' and rows[0][6] == 'STOP'
   and rows[0][2] == '447700900777' and json.loads(no)['mo_status'] == 0,
   'smsfw-gen received node\'s MO STOP and answered it ROK (%r)' % rows)

# --- 2. node ESME -> smsfw-gen SMSC -------------------------------------------
with open(path('mo.tsv'), 'w', encoding='utf-8') as f:
    f.write('447700900555\tNodeShop\tSTOP\n')
pf = path('gen-port')
if os.path.exists(pf):
    os.unlink(pf)
smsc = subprocess.Popen([GEN, 'smsc', '--once', '-j', '--port-file', pf, '--mo', path('mo.tsv'),
                         '--record', path('smsc.rec'), '--reject', '5:ESME_RTHROTTLED',
                         '127.0.0.1:0'],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
port = wait_port(pf, smsc)
M = 12
r = subprocess.run([NODE, PEER, 'esme', str(port), str(M)], capture_output=True, text=True,
                   timeout=60)
so, se = smsc.communicate(timeout=30)
ok(r.returncode == 0 and smsc.returncode == 0, 'both ends exit 0 (%s %s)'
   % (r.stderr.strip(), se.strip()))
n = json.loads(r.stdout)
s = json.loads(so)
statuses = sorted(x['status'] for x in n['responses'])
ok(len(n['responses']) == M and statuses.count(0x58) == M // 5 and statuses.count(0) == M - M // 5,
   'node got %d answers, every 5th ESME_RTHROTTLED (%s)' % (M, statuses))
ids = {x['message_id'] for x in n['responses'] if x['status'] == 0}
ok(len(ids) == M - M // 5 and all(ids), 'a distinct message id per accepted submit')
ok(sorted(x['receipted_message_id'] for x in n['receipts']) == sorted(ids) and
   all('stat:DELIVRD' in x['text'] and 'id:' + x['receipted_message_id'] in x['text']
       for x in n['receipts']), 'node got one receipt per accepted submit, naming its id')
ok([m['text'] for m in n['mo']] == ['STOP'] and n['mo'][0]['source'] == '447700900555',
   'node got smsfw-gen\'s MO STOP')
rows = [l.rstrip('\n').split('\t') for l in open(path('smsc.rec'), encoding='utf-8')]
want = []
for i in range(M):
    if i % 3 == 1:
        want.append(('8', '-', 'Привет %d' % i))
    elif i % 3 == 2:
        want.append(('0', '%d:1/2' % i, 'part one of %d' % i))
    else:
        want.append(('0', '-', 'hello from node %d' % i))
got = [(x[4], x[5], x[6]) for x in rows]
ok(sorted(got) == sorted(want) and all(x[1] == 'nodeesme' and x[2] == 'NodeShop' for x in rows),
   'smsfw-gen recorded every text node sent, with system_id and sender')
ok(s['submit_sm']['received'] == M and s['deliver_sm']['mo'] == 1 and
   s['deliver_sm']['answered'] == M - M // 5 + 1, 'smsfw-gen report counts match (%s)'
   % s['deliver_sm'])

print('1..%d' % len(results))
sys.exit(0 if all(results) else 1)
