#!/usr/bin/env python3
"""Regenerate the key reference of smsfw.conf.5 from the config library.

usage: gen_conf_keys.py SMSFWCTL [IN [OUT]]

Reads `smsfwctl --json config keys` (which comes from
controlplane/conf_keys.def) and writes IN to OUT (default: IN, in place)
with the lines between the '.\\" BEGIN KEYS' and '.\\" END KEYS' markers
replaced by the key reference. The build runs it, so the installed page
always lists the keys of the program it was built with; run it by hand to
refresh the copy in the source tree.
"""
import json
import os
import subprocess
import sys

INTRO = {
    'general': 'Read by both processes.',
    'dataplane': 'Read by smsfw\\-dataplane(8).',
    'controld': 'Read by smsfw\\-controld(8).',
    'policy': 'The acceptable\\-use policy of smsfw\\-controld(8).',
}


def esc(s):
    s = s.replace('\\', '\\e').replace('-', '\\-')
    return s


def main():
    ctl = sys.argv[1]
    page = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), 'smsfw.conf.5')
    dest = sys.argv[3] if len(sys.argv) > 3 else page
    keys = json.loads(subprocess.run([ctl, '--json', 'config', 'keys'], check=True,
                                     capture_output=True, text=True).stdout)
    out, section = [], None
    for k in keys:
        if k['section'] != section:
            section = k['section']
            out.append('.SS [%s]' % section)
            if section in INTRO:
                out.append(INTRO[section])
        out.append('.TP')
        out.append('.B %s' % esc(k['key']))
        t = k['type']
        if t == 'choice':
            t = 'one of ' + ', '.join('\\fB%s\\fP' % esc(c) for c in k['choices'].split('|'))
        elif 'min' in k:
            t += ', %s to %s' % (k['min'], k['max'])
        default = k['default']
        out.append('(%s; default %s)' % (t, '\\fB%s\\fP' % esc(default) if default else 'empty'))
        out.append(esc(k['doc']) + ('' if k['doc'].endswith('.') else '.'))
    text = open(page, encoding='utf-8').read()
    head, rest = text.split('.\\" BEGIN KEYS\n', 1)
    _, tail = rest.split('.\\" END KEYS\n', 1)
    with open(dest, 'w', encoding='utf-8') as f:
        f.write(head + '.\\" BEGIN KEYS\n' + '\n'.join(out) + '\n.\\" END KEYS\n' + tail)


if __name__ == '__main__':
    main()
