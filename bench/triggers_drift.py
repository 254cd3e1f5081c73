"""Peer of bench/triggers-drift.ts: scipy's ks_2samp, wasserstein_distance and jensenshannon per feature."""
import json, resource, sys, time
import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

d, F, R, C = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ref = np.fromfile(f"{d}/ref.bin", dtype=np.float64).reshape(F, R)
cur = np.fromfile(f"{d}/cur.bin", dtype=np.float64).reshape(F, C)
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
c0 = time.process_time()
check = 0.0
for f in range(F):
    a, b = ref[f], cur[f]
    ks = stats.ks_2samp(a, b)
    w = stats.wasserstein_distance(a, b)
    edges = np.quantile(a, np.arange(1, 10) / 10)
    pa = np.bincount(np.searchsorted(edges, a, side="right"), minlength=10)
    pb = np.bincount(np.searchsorted(edges, b, side="right"), minlength=10)
    js = jensenshannon(pa, pb, base=2)
    check += ks.statistic + ks.pvalue + w + js
ms = (time.perf_counter() - t0) * 1000
cpu = (time.process_time() - c0) * 1000
print(json.dumps({"impl": "scipy", "ms": ms, "cpuMs": cpu, "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "loadedRssMiB": loaded, "check": float(check)}))
