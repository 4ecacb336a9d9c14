#!/usr/bin/env python3
"""`meson install` puts the man pages, units, hugepage script and examples
where an operator and systemd look for them.

usage: install_test.py MESON BUILD_ROOT

Reads the install plan (`meson introspect --installed`, what `meson install`
copies, with its destinations) rather than installing from inside a test.
"""
import json
import re
import subprocess
import sys

meson, build = sys.argv[1:3]
plan = json.loads(subprocess.run([meson, 'introspect', '--installed', build], check=True,
                                 capture_output=True, text=True).stdout)
dests = set(plan.values())
want = {
    'man1/smsfwctl.1', 'man1/smsfw-patc.1', 'man1/smsfw-dump.1', 'man1/smsfw-gen.1',
    'man8/smsfw-controld.8', 'man8/smsfw-dataplane.8', 'man5/smsfw-rules.5',
    'man5/smsfw.conf.5',
    'lib/systemd/system/smsfw-controld.service', 'lib/systemd/system/smsfw-dataplane.service',
    'libexec/smsfw/hugepages.sh',
    'doc/smsfw/examples/lab.conf', 'doc/smsfw/examples/bare-metal-2x10g.conf',
    'doc/smsfw/examples/monitor-only.conf', 'doc/smsfw/examples/bare-metal-2x10g.default',
    'bin/smsfw-gen',
}
n = 0
bad = 0
for w in sorted(want):
    n += 1
    hit = [d for d in dests if d.endswith('/' + w)]
    print(('ok' if hit else 'not ok') + ' %d - installs %s%s' % (n, w, (' -> ' + hit[0]) if hit else ''))
    bad += not hit
# The installed units name the installed programs.
for src, dst in plan.items():
    if dst.endswith('.service'):
        n += 1
        text = open(src).read()
        good = not re.search(r'@[a-z]+@', text) and all(
            p in dests for p in (line.split('=', 1)[1].lstrip('+').split()[0]
                                 for line in text.splitlines()
                                 if line.startswith(('ExecStart=', 'ExecStartPre='))))
        print(('ok' if good else 'not ok') + ' %d - %s runs only installed programs' % (n, dst))
        bad += not good
print('1..%d' % n)
sys.exit(1 if bad else 0)
