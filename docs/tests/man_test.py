#!/usr/bin/env python3
"""The man pages render cleanly and document what the programs do.

usage: man_test.py MANDIR [NAME=PROGRAM]... [--conf-keys SMSFWCTL] [--rules-readme README]

For every page in MANDIR (TAP output):
  * `groff -man -ww -z` and `man --warnings -l` print no warning;
For every NAME=PROGRAM given (NAME is the page's name, e.g. smsfwctl):
  * every long option (--xyz) the program's --help prints is named in the
    page, and for programs with commands (smsfwctl, smsfw-patc) every
    command word of the help's command lines;
With --conf-keys: smsfw.conf.5 names every key `smsfwctl config keys` lists.
With --rules-readme: smsfw-rules.5 names every rule key and target of the
rule language's reference table (patterns/README.md).
"""
import glob
import json
import os
import re
import subprocess
import sys

args = sys.argv[1:]
mandir = args.pop(0)
progs, conf_ctl, readme = {}, None, None
while args:
    a = args.pop(0)
    if a == '--conf-keys':
        conf_ctl = args.pop(0)
    elif a == '--rules-readme':
        readme = args.pop(0)
    else:
        name, prog = a.split('=', 1)
        progs[name] = prog

results = []


def ok(cond, what, detail=''):
    results.append(bool(cond))
    print(('ok' if cond else 'not ok') + ' %d - %s' % (len(results), what))
    if not cond and detail:
        for line in str(detail).splitlines()[:20]:
            print('# ' + line)
    return cond


def page_text(path):
    """The page's words as a reader sees them: escapes undone."""
    src = open(path, encoding='utf-8').read()
    src = src.replace('\\-', '-').replace('\\e', '\\').replace('\\(aq', "'")
    src = re.sub(r'\\f[BIRP]', '', src)
    src = re.sub(r'\\[&~]', '', src)
    # .B / .BI / .IR ... arguments are words of the text too
    src = re.sub(r'^\.(?:B|I|BI|IB|BR|RB|IR|RI)\s+', '', src, flags=re.M)
    src = src.replace('"', ' ')
    # .BI "--x " N  leaves "--x  N": fine; join alternating-font pieces
    return src


pages = sorted(glob.glob(os.path.join(mandir, '*.[0-9]')))
ok(len(pages) >= 8, 'at least 8 man pages in %s (%d)' % (mandir, len(pages)))
env = dict(os.environ, MANPAGER='cat', MANWIDTH='80', LC_ALL='C.UTF-8')
for p in pages:
    name = os.path.basename(p)
    g = subprocess.run(['groff', '-man', '-ww', '-z', p], capture_output=True, text=True)
    ok(g.returncode == 0 and not g.stderr.strip(), '%s: groff -man -ww -z clean' % name, g.stderr)
    m = subprocess.run(['man', '--warnings', '-l', p], capture_output=True, text=True, env=env)
    ok(m.returncode == 0 and not m.stderr.strip() and len(m.stdout) > 500,
       '%s: man --warnings -l clean' % name, m.stderr)


def help_of(name, prog):
    if name == 'smsfw-dataplane':
        # EAL first; the application's options come after "--". --no-shconf:
        # nothing left on disk, no clash with running instances.
        cmd = [prog, '--no-huge', '--no-pci', '--no-shconf', '--no-telemetry', '-l', '0',
               '--log-level=1', '--', '--help']
    else:
        cmd = [prog, '--help']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return r.stdout + (r.stderr if name not in ('smsfw-dataplane',) else '')


for name, prog in sorted(progs.items()):
    cands = [p for p in pages if os.path.basename(p).rsplit('.', 1)[0] == name]
    if not ok(len(cands) == 1, '%s has a man page' % name):
        continue
    text = page_text(cands[0])
    h = help_of(name, prog)
    opts = sorted(set(re.findall(r'(?<![\w-])(--[a-z][a-z0-9-]*)', h)))
    ok(len(opts) >= 2, '%s --help lists options (%d)' % (name, len(opts)), h)
    missing = [o for o in opts if not re.search(re.escape(o) + r'(?![a-z0-9-])', text)]
    ok(not missing, '%s.%s names every option of --help' % (name, cands[0][-1]),
       'missing: ' + ' '.join(missing))
    if name in ('smsfwctl', 'smsfw-patc'):
        words = set()
        for line in h.splitlines():
            if not re.match(r'^  [a-z]', line):
                continue
            # leading command words, and those right after a " | "
            synopsis = re.split(r'\s{3,}', line.strip())[0]
            collecting = True
            for tok in synopsis.split():
                if tok == '|':
                    collecting = True
                elif collecting and re.fullmatch(r'[a-z][a-z-]*(\|[a-z][a-z-]*)*', tok):
                    words.update(tok.split('|'))
                else:
                    collecting = False
        missing = [w for w in sorted(words) if not re.search(r'\b' + re.escape(w) + r'\b', text)]
        ok(len(words) >= 5 and not missing, '%s page names every command of --help (%d)'
           % (name, len(words)), 'missing: ' + ' '.join(missing))

if conf_ctl:
    keys = json.loads(subprocess.run([conf_ctl, '--json', 'config', 'keys'], check=True,
                                     capture_output=True, text=True).stdout)
    text = page_text(os.path.join(mandir, 'smsfw.conf.5'))
    # each key must be an item of its own section
    sections = re.split(r'^\.SS \[', text, flags=re.M)
    by_sec = {s.split(']', 1)[0]: s for s in sections[1:]}
    missing = [k['section'] + '.' + k['key'] for k in keys
               if not re.search(r'^\.TP\n' + re.escape(k['key']) + r'\n',
                                by_sec.get(k['section'], ''), flags=re.M)]
    ok(len(keys) > 50 and not missing, 'smsfw.conf.5 documents all %d keys in their sections'
       % len(keys), 'missing (run docs/man/gen_conf_keys.py): ' + ' '.join(missing))
    stale = []
    known = {(k['section'], k['key']) for k in keys}
    for sec, body in by_sec.items():
        for key in re.findall(r'^\.TP\n([a-z_0-9]+)\n', body, flags=re.M):
            if (sec, key) not in known:
                stale.append(sec + '.' + key)
    ok(not stale, 'smsfw.conf.5 documents no key the library does not have', ' '.join(stale))

if readme:
    md = open(readme, encoding='utf-8').read()
    table = md.split('### `rule` keys', 1)[1].split('###', 1)[0]
    rkeys = re.findall(r'^\| `([a-z]+)` \|', table, flags=re.M)
    targets = re.findall(r'`([a-z-]+)` (?:raw|normalised|sender|destination|each)', table)
    text = page_text(os.path.join(mandir, 'smsfw-rules.5'))
    missing = [k for k in rkeys if not re.search(r'\b' + k + '=', text)]
    missing += [t for t in targets if not re.search(r'^' + re.escape(t) + r'$', text, flags=re.M)]
    ok(len(rkeys) >= 9 and len(targets) >= 6 and not missing,
       'smsfw-rules.5 documents every rule key (%d) and target (%d)' % (len(rkeys), len(targets)),
       'missing: ' + ' '.join(missing))

print('1..%d' % len(results))
sys.exit(0 if all(results) else 1)
