#!/usr/bin/env python3
"""`meson install` into a DESTDIR puts the programs, the shipped rules, the
man pages, the systemd units, the hugepage script and the examples where an
operator and systemd look for them, and what it puts there works.

usage: install_test.py MESON BUILD_ROOT WORKDIR

Runs `meson install --destdir WORKDIR/root --no-rebuild` for real (the
build is complete when tests run), then checks the tree it made: every
file of the list below exists (programs executable, pages and units not
empty), the man pages render with man(1), the units name programs that
are in the tree, the installed smsfw-patc compiles the installed rules, and
the installed smsfwctl lists the [dataplane] keys of the config page. The
install plan (`meson introspect --installed`) must match the tree.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys

meson, build, work = sys.argv[1:4]
root = os.path.join(work, 'root')
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

n = 0
bad = 0


def ok(cond, what, detail=''):
    global n, bad
    n += 1
    print(('ok' if cond else 'not ok') + ' %d - %s' % (n, what))
    if not cond:
        bad += 1
        for line in str(detail).splitlines()[-15:]:
            print('#   ' + line)
    return cond


r = subprocess.run([meson, 'install', '-C', build, '--destdir', root, '--no-rebuild'],
                   capture_output=True, text=True, env=dict(os.environ, MESON_FORCE_COLOR='0'))
if not ok(r.returncode == 0, 'meson install --destdir exits 0', r.stdout + r.stderr):
    print('1..%d' % n)
    sys.exit(1)

plan = json.loads(subprocess.run([meson, 'introspect', '--installed', build], check=True,
                                 capture_output=True, text=True).stdout)
opts = json.loads(subprocess.run([meson, 'introspect', '--buildoptions', build], check=True,
                                 capture_output=True, text=True).stdout)
prefix = [o['value'] for o in opts if o['name'] == 'prefix'][0]


def inst(rel):
    """Path in the DESTDIR tree of PREFIX/rel."""
    return root + prefix + '/' + rel


# Every file of the plan is in the tree (directories: their files).
missing = [d for d in plan.values() if not os.path.exists(root + d)]
ok(not missing, 'every file of the install plan is in DESTDIR (%d entries)' % len(plan), missing)

programs = ['bin/smsfwctl', 'bin/smsfw-patc', 'bin/smsfw-dump', 'bin/smsfw-gen',
            'bin/smsfw-dataplane', 'sbin/smsfw-controld', 'libexec/smsfw/hugepages.sh']
for p in programs:
    f = inst(p)
    ok(os.path.isfile(f) and os.stat(f).st_mode & stat.S_IXUSR and os.path.getsize(f) > 0,
       'installs %s, executable' % p)

pages = ['man1/smsfwctl.1', 'man1/smsfw-patc.1', 'man1/smsfw-dump.1', 'man1/smsfw-gen.1',
         'man8/smsfw-controld.8', 'man8/smsfw-dataplane.8', 'man5/smsfw-rules.5',
         'man5/smsfw.conf.5']
have_man = shutil.which('man') is not None
for p in pages:
    f = inst('share/man/' + p)
    if not ok(os.path.isfile(f) and os.path.getsize(f) > 1000, 'installs man page %s' % p):
        continue
    if have_man:
        m = subprocess.run(['man', '-l', f], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH='80', MAN_KEEP_FORMATTING='0',
                                    MANPAGER='cat', PAGER='cat'))
        name = os.path.basename(p).rsplit('.', 1)[0]
        ok(m.returncode == 0 and name.upper().replace('-', '') in
           m.stdout.upper().replace('-', '').replace('\u2010', ''),
           'man -l renders the installed %s' % p, m.stderr)

# The section-5 config page lists what the installed smsfwctl knows.
ctl = inst('bin/smsfwctl')
keys = json.loads(subprocess.run([ctl, '--json', 'config', 'keys'], capture_output=True,
                                 text=True).stdout or '[]')
page = open(inst('share/man/man5/smsfw.conf.5')).read() if os.path.exists(
    inst('share/man/man5/smsfw.conf.5')) else ''
dp_keys = [k['key'] for k in keys if k['section'] == 'dataplane']
absent = [k for k in dp_keys if '.B ' + k.replace('-', '\\-') not in page]
ok(len(dp_keys) > 20 and 'user' in dp_keys and not absent,
   'installed smsfw.conf(5) documents the %d [dataplane] keys of the installed smsfwctl'
   % len(dp_keys), absent)

units = ['smsfw-controld.service', 'smsfw-dataplane.service']
for u in units:
    f = inst('lib/systemd/system/' + u)
    if not ok(os.path.isfile(f), 'installs unit lib/systemd/system/%s' % u):
        continue
    text = open(f).read()
    execs = [line.split('=', 1)[1].lstrip('+-').split()[0] for line in text.splitlines()
             if line.startswith(('ExecStart=', 'ExecStartPre='))]
    gone = [e for e in execs if not os.access(root + e, os.X_OK)]
    ok(execs and not gone and not re.search(r'@[a-z]+@', text),
       '%s runs only programs installed in DESTDIR (%s)' % (u, ', '.join(execs)), gone)

rules = inst('share/smsfw/rules')
files = sorted(os.listdir(rules)) if os.path.isdir(rules) else []
ok(len([f for f in files if f.endswith('.rules')]) >= 5 and 'protected_senders.txt' in files,
   'installs the shipped rules (%s)' % ', '.join(files))
out = os.path.join(work, 'shipped.ruleset')
c = subprocess.run([inst('bin/smsfw-patc'), 'compile', '-o', out, rules],
                   capture_output=True, text=True)
ok(c.returncode == 0 and os.path.getsize(out) > 0 if os.path.exists(out) else False,
   'the installed smsfw-patc compiles the installed rules', c.stdout + c.stderr)

for e in ['lab.conf', 'bare-metal-2x10g.conf', 'monitor-only.conf', 'bare-metal-2x10g.default']:
    ok(os.path.isfile(inst('share/doc/smsfw/examples/' + e)), 'installs example %s' % e)
for e in ['lab.conf', 'bare-metal-2x10g.conf', 'monitor-only.conf']:
    f = inst('share/doc/smsfw/examples/' + e)
    c = subprocess.run([ctl, 'config', 'check', f], capture_output=True, text=True)
    ok(c.returncode == 0, 'the installed smsfwctl accepts the installed %s' % e, c.stdout + c.stderr)

shutil.rmtree(work, ignore_errors=True)
print('1..%d' % n)
sys.exit(1 if bad else 0)
