#!/usr/bin/env python3
"""Paired-round ratios of sample-ahead.mjs's variants, pooled over its runs (each line's `rounds`
lists tok/s round by round; a ratio compares two variants within one round). Calls 1 and 2 ran
the session's first pick kernel, calls 5 and 6 the pick in workgroup memory; calls 1, 2 and 5 ran
the variants in one order every round (`generate T=1` last), call 6 alternated it.
Run from this folder: python3 scripts/ratios.py"""
import glob, re, statistics as st

GROUPS = {'calls 1-2': 'call[12]', 'call 5': 'call5', 'call 6': 'call6', 'calls 1, 2, 5, 6': 'call[1256]'}
PAIRS = [('writeAhead', 'write each run'), ('no writes', 'writeAhead'), ('writeAhead', 'greedy'),
         ('write each run', 'greedy'), ('no writes', 'greedy'), ('generate T=1', 'generate greedy')]


def load(pattern):
    data = {}
    for f in sorted(glob.glob(f'{pattern}/sample-ahead.*.txt')):
        for line in open(f):
            m = re.match(r'(\w+) (.+?)\s+median .*rounds (.*)$', line.strip())
            if m:
                dtype, name, rounds = m.groups()
                data.setdefault((f, dtype), {})[name.strip()] = [float(x) for x in rounds.split()]
    return data


for label, pattern in GROUPS.items():
    data = load(pattern)
    print(f'== {label}')
    for dtype in ['bfloat16', 'float32']:
        for a, b in PAIRS:
            r = sorted(x / y for (f, d), v in data.items() if d == dtype and a in v and b in v for x, y in zip(v[a], v[b]))
            if r:
                n = len(r)
                print(f'{dtype} {a} / {b}: {n} rounds, median {st.median(r):.3f} (quartiles {r[n // 4]:.3f}-{r[(3 * n) // 4]:.3f}), above 1 in {sum(x > 1 for x in r)}')
    if label == 'calls 1-2':
        for (f, d), v in data.items():
            print(f'  {f} {d}: medians ' + ', '.join(f'{k} {st.median(x):.0f}' for k, x in v.items()))
