#!/usr/bin/env python3
"""The scaling table: ours (f32 and i8) and hnswlib at growing sizes, one run.

    # data: /work/venv/bin/python bench/gen_clustered.py --out /tmp/scale
    cargo build --release -p vecshard-bench --bin ann
    $VENV/bin/python bench/scale_table.py --ann target/release/ann \\
        --data /tmp/scale/clustered128-10k --data /tmp/scale/clustered128-100k ...

`$VENV` is the venv `bench/compare-hnswlib` creates (hnswlib 0.8.0 and numpy;
`${VECSHARD_VENV:-$HOME/.cache/vecshard/hnswlib-venv}`): run `compare-hnswlib`
once to make it.

For each folder, in this order: our `ann` builds an f32 and an i8 index (one
process, each query timed on both in turn), then hnswlib builds its index in
this process (`bench/compare_hnswlib.py`'s code, single thread). Builds are
compared by on-CPU time (the machine is shared; wall time would count the
wait for a core), searches by median latency (p50) at the first ef whose
recall@10 reaches the target, and memory by bytes per vector (ours: the
index's own accounting; hnswlib: RSS growth over the build). After each
folder a Markdown row is printed, so a long run that is stopped keeps the
rows it finished; `--json FILE` appends one JSON object per folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_hnswlib as ch  # noqa: E402


def first_reaching(rows: dict[int, dict], target: float) -> tuple[int, dict] | None:
    for ef in sorted(rows):
        if rows[ef]["recall"] >= target:
            return ef, rows[ef]
    return None


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ann", type=Path, required=True, help="our prebuilt `ann` binary")
    p.add_argument("--data", type=Path, action="append", required=True,
                   help="a benchmark folder (repeat, smallest first)")
    p.add_argument("--ef", type=ch.parse_ef_list, default=ch.parse_ef_list("10,20,40,80,160,320"))
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--target-recall", type=float, default=0.95)
    p.add_argument("--json", type=Path, help="append one JSON object per folder here")
    a = p.parse_args()
    if not a.ann.is_file():
        ch.die(f"--ann: no such file {a.ann} (cargo build --release -p vecshard-bench --bin ann)")

    head = ("| data | n | build on CPU s: f32, i8 / hnswlib (ratio f32, i8) | first ef ≥ "
            f"{a.target_recall}: f32, i8 / hnswlib | p50 µs there: f32, i8 / hnswlib "
            "(speed-up f32, i8) | bytes/vector: f32, i8 / hnswlib RSS | load avg |")
    print(head)
    print("|---|---|---|---|---|---|---|", flush=True)
    for data in a.data:
        la0 = load_avg()
        t = time.time()
        cmd = [str(a.ann), "--data", str(data), "--m", str(a.m),
               "--ef-construction", str(a.ef_construction), "--ef", ",".join(map(str, a.ef)),
               "--k", str(a.k), "--quantization", "f32,i8", "--json"]
        ch.log(f"ours: {' '.join(cmd)}")
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        ours = {q: {int(r["ef"]): r for r in rows if r["quantization"] == q} for q in ("f32", "i8")}
        ch.log(f"ours done in {time.time() - t:.0f} s; hnswlib next")
        ds = ch.load_dataset(data)
        hn_args = argparse.Namespace(m=a.m, ef_construction=a.ef_construction, ef=a.ef, k=a.k)
        hn = ch.run_hnswlib(hn_args, ds)
        hrows = {int(ef): r for ef, r in hn["rows"].items()}
        la1 = load_avg()

        n = len(ds["base"])
        f, i, h = ours["f32"], ours["i8"], hrows
        bf, bi = f[min(f)]["build_cpu_s"], i[min(i)]["build_cpu_s"]
        bh = hn["build_cpu_s"]
        reach = {name: first_reaching(r, a.target_recall) for name, r in
                 (("f32", f), ("i8", i), ("hnswlib", h))}

        def ef_txt(name: str) -> str:
            x = reach[name]
            return "—" if x is None else f"{x[0]} ({x[1]['recall']:.3f})"

        def p50(name: str) -> float | None:
            x = reach[name]
            return None if x is None else x[1]["p50_us"]

        def speedup(name: str) -> str:
            a_, b_ = p50("hnswlib"), p50(name)
            return "—" if a_ is None or b_ is None else f"{a_ / b_:.2f}×"

        row = (f"| {data.name} | {n:,} | {bf:.1f}, {bi:.1f} / {bh:.1f} ({bf / bh:.2f}×, {bi / bh:.2f}×) "
               f"| {ef_txt('f32')}, {ef_txt('i8')} / {ef_txt('hnswlib')} "
               f"| {ch.fmt(p50('f32'), '.1f')}, {ch.fmt(p50('i8'), '.1f')} / "
               f"{ch.fmt(p50('hnswlib'), '.1f')} ({speedup('f32')}, {speedup('i8')}) "
               f"| {f[min(f)]['bytes_per_vector']:.0f}, {i[min(i)]['bytes_per_vector']:.0f} / "
               f"{hn['bytes_per_vector']:.0f} | {la0} → {la1} |")
        print(row, flush=True)
        if a.json:
            with a.json.open("a") as fh:
                fh.write(json.dumps({"data": str(data), "n": n, "ours": rows,
                                     "hnswlib": hn,
                                     "load": [la0, la1]}) + "\n")


if __name__ == "__main__":
    main()
