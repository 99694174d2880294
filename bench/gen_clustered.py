#!/usr/bin/env python3
"""Seeded synthetic clustered vectors with exact ground truth, for scaling runs.

    /work/venv/bin/python bench/gen_clustered.py --out /tmp/scale \
        --sizes 10000,100000,300000,1000000 [--dim 128] [--queries 1000] [--seed 12]

writes one TEXMEX folder per size, `OUT/clustered{dim}-{10k,100k,300k,1m}/` with
`base.fvecs` (the first `size` vectors of one seeded stream, so within one
call a smaller set is a prefix of a larger one; the stream depends on the
largest size asked for), `query.fvecs` (the same queries in every folder), `groundtruth.ivecs` (exact top-100 by squared L2 over that folder's
base, nearest first) and `meta.json`, the layout `bench/compare-hnswlib` and
the `ann` harness read. The data is generated, never committed: 1M x 128 is
512 MB.

Why clustered and not uniform: uniform random vectors in 128 dimensions have
almost equal distances between all pairs, so no index reaches high recall
cheaply and the curve says little about real embeddings. Here every vector
is `center + noise`: 1 000 centers drawn from N(0, 1), each with its own
spread (log-uniform in [0.25, 1.0] per cluster, so some clusters are tight
and some diffuse) and cluster sizes following a Zipf-like weight (a few
large clusters, many small ones), which gives the graph dense regions and
sparse bridges, as in text and image embeddings. Queries come from the same
distribution (other draws), so their neighbours are real neighbours, not
copies.

The ground truth is exact: each block of base vectors is compared with every
query as `|q|^2 - 2 q.x + |x|^2` in float64 (float32 would round close
distances and misorder ties), keeping a running top-100 per query.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

GT_K = 100
CENTERS = 1000
BLOCK = 50_000


def log(msg: str) -> None:
    print(f"gen_clustered: {msg}", flush=True)


def write_vecs(path: Path, a: np.ndarray, dtype: str) -> None:
    """TEXMEX: per row an int32 dimension, then the row's 4-byte values."""
    n, d = a.shape
    rec = np.empty((n, d + 1), dtype="<i4")
    rec[:, 0] = d
    rec[:, 1:] = a.astype(dtype).view("<i4")
    rec.tofile(path)


def sample(rng: np.random.Generator, centers, spread, weight, n: int) -> np.ndarray:
    """`n` vectors: a cluster by weight, then its center plus Gaussian noise."""
    dim = centers.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, BLOCK):
        m = min(BLOCK, n - s)
        c = rng.choice(len(centers), size=m, p=weight)
        noise = rng.standard_normal((m, dim), dtype=np.float32)
        out[s : s + m] = centers[c] + noise * spread[c, None]
    return out


def ground_truth(base: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Exact top-`GT_K` ids by squared L2, nearest first (ties by lower id)."""
    q = queries.astype(np.float64)
    qq = (q * q).sum(1)[:, None]
    best_d = np.full((len(q), 0), np.inf)
    best_i = np.zeros((len(q), 0), dtype=np.int64)
    for s in range(0, len(base), BLOCK):
        x = base[s : s + BLOCK].astype(np.float64)
        d = qq - 2.0 * (q @ x.T) + (x * x).sum(1)[None, :]
        ids = np.broadcast_to(np.arange(s, s + len(x)), d.shape)
        d = np.concatenate([best_d, d], axis=1)
        ids = np.concatenate([best_i, ids], axis=1)
        k = min(GT_K, d.shape[1])
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        best_d = np.take_along_axis(d, part, 1)
        best_i = np.take_along_axis(ids, part, 1)
    order = np.lexsort((best_i, best_d), axis=1)
    return np.take_along_axis(best_i, order, 1).astype(np.int32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the data sets (not the repo)")
    p.add_argument("--sizes", default="10000,100000,300000,1000000")
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12)
    a = p.parse_args()
    sizes = sorted(int(x) for x in a.sizes.split(","))
    rng = np.random.default_rng(a.seed)
    centers = rng.standard_normal((CENTERS, a.dim), dtype=np.float32)
    spread = np.exp(rng.uniform(np.log(0.25), np.log(1.0), CENTERS)).astype(np.float32)
    weight = 1.0 / np.arange(1, CENTERS + 1) ** 0.8
    weight = rng.permutation(weight / weight.sum())
    # Queries first, from their own stream, so they do not depend on sizes.
    queries = sample(np.random.default_rng(a.seed + 1), centers, spread, weight, a.queries)
    t = time.time()
    base = sample(rng, centers, spread, weight, sizes[-1])
    log(f"{sizes[-1]} x {a.dim} base vectors in {time.time() - t:.1f} s")
    for n in sizes:
        name = f"clustered{a.dim}-{n // 1000}k" if n < 1_000_000 or n % 1_000_000 else f"clustered{a.dim}-{n // 1_000_000}m"
        d = a.out / name
        d.mkdir(parents=True, exist_ok=True)
        t = time.time()
        gt = ground_truth(base[:n], queries)
        write_vecs(d / "base.fvecs", base[:n], "<f4")
        write_vecs(d / "query.fvecs", queries, "<f4")
        write_vecs(d / "groundtruth.ivecs", gt, "<i4")
        meta = {"metric": "l2", "n_base": n, "dim": a.dim, "n_query": a.queries, "gt_k": GT_K,
                "generator": "bench/gen_clustered.py", "seed": a.seed, "centers": CENTERS}
        (d / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        log(f"{d}: ground truth in {time.time() - t:.1f} s")


if __name__ == "__main__":
    main()
