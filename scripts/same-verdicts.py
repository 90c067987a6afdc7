#!/usr/bin/env python3
"""Compare two conformance results.json files case by case.

    same-verdicts.py [--subset] A.json B.json

Every target-case pair must be in both runs, with the same behaviour and
close verdict; families skipped in either run (the browser family where
there is no Chromium) are left out. With --subset, B may cover fewer
targets or cases than A, and only B's pairs are compared. Exit 1,
listing the differences, when the runs do not agree.
"""
import json
import sys


def cases(path):
    run = json.load(open(path))
    skipped = set(run.get("skipped_families", {}))
    out = {}
    for t in run["targets"]:
        for c in t["cases"]:
            out[(t["name"], c["id"])] = (c["family"], c["verdict"], c["close_verdict"])
    return out, skipped


args = sys.argv[1:]
subset = args[:1] == ["--subset"]
if subset:
    args = args[1:]
a, a_skipped = cases(args[0])
b, b_skipped = cases(args[1])
skipped = a_skipped | b_skipped
pairs = b.keys() if subset else a.keys() | b.keys()
keys = {k for k in pairs if (a.get(k) or b.get(k))[0] not in skipped}
missing = sorted(k for k in keys if k not in a or k not in b)
differ = sorted(k for k in keys if k in a and k in b and a[k][1:] != b[k][1:])
for k in missing:
    print(f"{k[0]} {k[1]}: only in {'the first' if k in a else 'the second'} run")
for k in differ:
    print(f"{k[0]} {k[1]}: {a[k][1]}/{a[k][2]} against {b[k][1]}/{b[k][2]}")
print(f"same verdicts: {len(keys) - len(missing) - len(differ)} of {len(keys)} target-case pairs agree")
sys.exit(1 if missing or differ else 0)
