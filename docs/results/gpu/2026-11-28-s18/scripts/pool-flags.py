#!/usr/bin/env python3
"""Call 2: each pick part's GPU µs, the mean of the two `base` runs (base1, base4) and of the two
`new` runs (new2, new3), and new - base. Run from this folder: python3 scripts/pool-flags.py"""
import collections, glob, re

vals = collections.defaultdict(lambda: collections.defaultdict(list))
for d in ['base1', 'new2', 'new3', 'base4']:
    for line in open(glob.glob(f'call2/{d}/*/run.log')[0]):
        m = re.match(r'\s+(webgpu\S*) 130M (SISO|MIMO r4) (.*?): ([\d.]+) GPU µs', line)
        if m and ('LM head' in m.group(3) or 'gather' in m.group(3)):
            vals[(m.group(1), m.group(2), m.group(3))][d[:-1]].append(float(m.group(4)))
for (backend, model, part), v in vals.items():
    b, n = sum(v['base']) / len(v['base']), sum(v['new']) / len(v['new'])
    print(f'{backend:12} {model:8} base {b:6.2f} new {n:6.2f} diff {n - b:+.2f}  {part}')
