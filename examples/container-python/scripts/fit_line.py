"""Least-squares line through two CSV columns, with held-out R^2. Python standard library only.

python3 fit_line.py --data houses.csv --x size_m2 --y price_k --model model.json --metrics metrics.json --r2 r2.txt
Every `--holdout`-th row (default 5th) is kept out of the fit and used to score it.
"""
import argparse
import csv
import json
import math
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--x", required=True)
    ap.add_argument("--y", required=True)
    ap.add_argument("--holdout", type=int, default=5)
    ap.add_argument("--model", required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--r2", required=True)
    a = ap.parse_args()

    with open(a.data, newline="") as f:
        rows = list(csv.DictReader(f))
    for col in (a.x, a.y):
        if not rows or col not in rows[0]:
            print(f"fit_line: column {col!r} not in {a.data} (columns: {list(rows[0]) if rows else 'none'})", file=sys.stderr)
            return 2
    pts = [(float(r[a.x]), float(r[a.y])) for r in rows]
    train = [p for i, p in enumerate(pts) if i % a.holdout != 0]
    test = [p for i, p in enumerate(pts) if i % a.holdout == 0]
    if len(train) < 2:
        print("fit_line: need at least two training rows", file=sys.stderr)
        return 2

    mx = sum(x for x, _ in train) / len(train)
    my = sum(y for _, y in train) / len(train)
    sxx = sum((x - mx) ** 2 for x, _ in train)
    sxy = sum((x - mx) * (y - my) for x, y in train)
    slope = sxy / sxx
    intercept = my - slope * mx

    ty = sum(y for _, y in test) / len(test)
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in test)
    ss_tot = sum((y - ty) ** 2 for _, y in test)
    r2 = 1 - ss_res / ss_tot if ss_tot else 0.0
    rmse = math.sqrt(ss_res / len(test))

    with open(a.model, "w") as f:
        json.dump({"kind": "line", "x": a.x, "y": a.y, "slope": slope, "intercept": intercept}, f, indent=2)
    with open(a.metrics, "w") as f:
        json.dump({"r2": r2, "rmse": rmse, "trainRows": len(train), "testRows": len(test)}, f, indent=2)
    with open(a.r2, "w") as f:
        f.write(repr(r2))
    print(f"fit_line: {a.y} = {slope:.4f} * {a.x} + {intercept:.2f}; held-out R^2 {r2:.4f}, RMSE {rmse:.2f} ({len(test)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
