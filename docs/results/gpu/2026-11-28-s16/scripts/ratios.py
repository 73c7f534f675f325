#!/usr/bin/env python3
"""Paired-round ratios of sample-ahead.mjs's variants, pooled over every run under call*/ (each
line's `rounds` lists tok/s round by round; a ratio compares two variants within one round).
Run from this folder: python3 scripts/ratios.py"""
import glob, re, statistics as st

data = {}
for f in sorted(glob.glob('call*/sample-ahead.*.txt')):
    for line in open(f):
        m = re.match(r'(\w+) (.+?)\s+median .*rounds (.*)$', line.strip())
        if m:
            dtype, name, rounds = m.groups()
            data.setdefault((f, dtype), {})[name.strip()] = [float(x) for x in rounds.split()]

PAIRS = [('writeAhead', 'write each run'), ('no writes', 'writeAhead'), ('writeAhead', 'greedy'),
         ('write each run', 'greedy'), ('no writes', 'greedy'), ('generate T=1', 'generate greedy')]
for dtype in ['bfloat16', 'float32']:
    for a, b in PAIRS:
        r = sorted(x / y for (f, d), v in data.items() if d == dtype and a in v and b in v for x, y in zip(v[a], v[b]))
        n = len(r)
        print(f'{dtype} {a} / {b}: {n} rounds, median {st.median(r):.3f} (quartiles {r[n // 4]:.3f}-{r[(3 * n) // 4]:.3f}), above 1 in {sum(x > 1 for x in r)}')
    for (f, d), v in data.items():
        if d == dtype:
            print(f'  {f}: medians ' + ', '.join(f'{k} {st.median(x):.0f}' for k, x in v.items()))
