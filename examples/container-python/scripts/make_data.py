"""Writes data/houses.csv: 200 synthetic houses, price = 1.8 k€/m² * size + 60 k€ + noise (seed 7)."""
import csv
import random
import sys
from pathlib import Path

rng = random.Random(7)
out = Path(__file__).resolve().parent.parent / "data" / "houses.csv"
with out.open("w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["size_m2", "price_k"])
    for _ in range(200):
        size = rng.uniform(30, 200)
        w.writerow([f"{size:.1f}", f"{1.8 * size + 60 + rng.gauss(0, 15):.1f}"])
print(f"wrote {out}", file=sys.stderr)
