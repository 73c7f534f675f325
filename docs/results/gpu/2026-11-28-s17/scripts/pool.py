# Pools graph-copies.mjs's paired rounds over calls 5 and 6: for each dtype and variant, the median
# (and quartiles) of dispatch / copy within rounds, and the rounds where dispatch ran faster.
# Run from the results folder: python3 scripts/pool.py
import re, statistics
rows = {}
for n in (5, 6):
    for line in open(f'call{n}/graph-copies.{n - 4}.txt'):
        m = re.match(r'(\w+) (.+?)\s+copy .* rounds ([\d ]+) / ([\d ]+)$', line)
        if m:
            a = [float(x) for x in m.group(3).split()]
            b = [float(x) for x in m.group(4).split()]
            rows.setdefault((m.group(1), m.group(2).strip()), []).extend(y / x for x, y in zip(a, b))
for (dtype, name), rs in rows.items():
    q = statistics.quantiles(rs, n=4)
    print(f'{dtype} {name}: dispatch / copy median {statistics.median(rs):.3f} (quartiles {q[0]:.3f}-{q[2]:.3f}), faster in {sum(r > 1 for r in rs)} of {len(rs)}')
