#!/usr/bin/env python3
"""Side-by-side comparison of vecshard's `ann` benchmark and PyPI hnswlib.

Normally started through `bench/compare-hnswlib`, which provides a venv with
hnswlib and numpy. Both sides index the same TEXMEX data set (DIR/base.fvecs,
DIR/query.fvecs, DIR/groundtruth.ivecs, DIR/meta.json) with the same M,
ef_construction, k and list of ef values, single-threaded, one after the
other (ours first, then hnswlib) so they never compete for cores.

Our side is `cargo run --release -p vecshard-bench --bin ann -- ... --json`,
whose stdout carries one JSON object per ef (keys build_s, bytes_per_vector,
ef, recall, qps, p50_us, p99_us; other keys and non-JSON lines are ignored).
`--ours-json FILE` reads such output from a file instead, and `--skip-ours`
benchmarks hnswlib alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import hnswlib
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent

# meta.json metric name -> hnswlib space name. hnswlib's "l2" is squared L2,
# which ranks exactly like L2; "cosine" normalises vectors inside hnswlib.
HNSWLIB_SPACES = {"l2": "l2", "cosine": "cosine", "ip": "ip"}

# A footnote printed under the table; also included in --json output.
PY_OVERHEAD_NOTE = (
    "hnswlib QPS/p50/p99 come from one knn_query() call per query, so they "
    "include Python + pybind11 call overhead (typically a few µs per call); "
    "'hnswlib batch QPS' is a single knn_query() over all queries with "
    "num_threads=1, which removes most of that overhead."
)


def log(msg: str) -> None:
    """Progress messages go to stderr so stdout stays clean for --json."""
    print(f"compare-hnswlib: {msg}", file=sys.stderr, flush=True)


def die(msg: str, code: int = 2) -> None:
    print(f"compare-hnswlib: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_ef_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ef expects integers like 10,20,40, got {text!r}")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"--ef expects positive integers, got {text!r}")
    return values


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="compare-hnswlib",
        description="Compare vecshard's `ann` benchmark with hnswlib on the same data, in the same run.",
    )
    p.add_argument("--data", required=True, type=Path,
                   help="directory with base.fvecs, query.fvecs, groundtruth.ivecs, meta.json")
    p.add_argument("--m", type=int, default=16, help="HNSW M (default 16)")
    p.add_argument("--ef-construction", type=int, default=200, help="ef_construction (default 200)")
    p.add_argument("--ef", type=parse_ef_list, default=parse_ef_list("10,20,40,80,160,320"),
                   help="comma-separated search ef values (default 10,20,40,80,160,320)")
    p.add_argument("--k", type=int, default=10, help="neighbours per query / recall@k (default 10)")
    p.add_argument("--quantization", choices=["f32", "i8", "binary"], default="f32",
                   help="quantization for OUR index (hnswlib always stores f32)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--skip-ours", action="store_true", help="benchmark hnswlib only")
    src.add_argument("--ours-json", type=Path, metavar="FILE",
                     help="read our results (JSON lines) from FILE instead of running cargo")
    p.add_argument("--no-f32-baseline", action="store_true",
                   help="with --quantization i8|binary, skip the extra f32 run of ours that "
                        "measures f32 bytes/vector")
    p.add_argument("--target-recall", type=float, default=0.95,
                   help="recall@k threshold for the QPS summary (default 0.95)")
    p.add_argument("--hnswlib-first", action="store_true",
                   help="run hnswlib before ours (alternate runs with and without it on a shared "
                        "machine, so neither side always gets the quieter half)")
    p.add_argument("--json", action="store_true",
                   help="print the summary as one JSON object on stdout; the table goes to stderr")
    args = p.parse_args(argv)
    if args.m < 2:
        p.error("--m must be at least 2")
    if args.k <= 0 or args.ef_construction <= 0:
        p.error("--k and --ef-construction must be positive")
    return args


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def read_vecs(path: Path, dtype: str) -> np.ndarray:
    """Read a TEXMEX .fvecs/.ivecs file into an (n, d) C-contiguous array.

    Each record is an int32 dimension d followed by d 4-byte values, all
    little-endian; `dtype` ('<f4' or '<i4') says how to read the values.
    """
    if not path.is_file():
        die(f"missing data file {path}")
    raw = np.fromfile(path, dtype="<i4")
    if raw.size == 0:
        die(f"{path} is empty")
    dim = int(raw[0])
    if dim <= 0 or raw.size % (dim + 1) != 0:
        die(f"{path}: size is not a whole number of records of dimension {dim}")
    records = raw.reshape(-1, dim + 1)
    if not np.all(records[:, 0] == dim):
        die(f"{path}: records do not all have dimension {dim}")
    # Reinterpret the payload bits (same 4-byte width) and drop the d column.
    values = records[:, 1:].view(dtype)
    native = np.float32 if dtype.endswith("f4") else np.int32
    return np.ascontiguousarray(values, dtype=native)


def load_dataset(data_dir: Path) -> dict:
    meta_path = data_dir / "meta.json"
    if not meta_path.is_file():
        die(f"missing {meta_path}")
    meta = json.loads(meta_path.read_text())
    metric = meta.get("metric")
    if metric not in HNSWLIB_SPACES:
        die(f"{meta_path}: metric must be one of {sorted(HNSWLIB_SPACES)}, got {metric!r}")

    base = read_vecs(data_dir / "base.fvecs", "<f4")
    queries = read_vecs(data_dir / "query.fvecs", "<f4")
    gt = read_vecs(data_dir / "groundtruth.ivecs", "<i4")

    if queries.shape[1] != base.shape[1]:
        die(f"query dim {queries.shape[1]} != base dim {base.shape[1]}")
    if gt.shape[0] != queries.shape[0]:
        die(f"groundtruth has {gt.shape[0]} rows but there are {queries.shape[0]} queries")
    # meta.json counts are informative; a mismatch means the folder is inconsistent.
    for key, actual in (("n_base", base.shape[0]), ("dim", base.shape[1]), ("n_query", queries.shape[0])):
        if key in meta and int(meta[key]) != actual:
            die(f"{meta_path}: {key}={meta[key]} but the files hold {actual}")
    return {"metric": metric, "base": base, "queries": queries, "gt": gt, "meta": meta}


def recall_at_k(found: np.ndarray, gt: np.ndarray, k: int) -> float:
    """Mean over queries of |found top k ∩ true top k| / k."""
    hits = 0
    for row, truth in zip(found[:, :k], gt[:, :k]):
        hits += len(set(row.tolist()) & set(truth.tolist()))
    return hits / (k * len(gt))


# --------------------------------------------------------------------------
# CPU contention
# --------------------------------------------------------------------------


class ContentionMeter:
    """Measures how much CPU *other* processes used while a phase ran.

    Both sides are single-threaded, so any other busy process (a cargo build,
    say) or hypervisor steal on a small machine skews the timings. System-wide
    busy time comes from /proc/stat; this process's own CPU time and that of
    its finished children (our `ann` run) are subtracted. The result is the
    average number of cores kept busy by someone else.
    """

    WARN_CORES = 0.2

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.busy0 = self._system_busy_s()
        self.own0 = self._own_cpu_s()

    @staticmethod
    def _system_busy_s() -> float:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal [guest guest_nice]:
        # guest time is already counted in user, so stop after steal.
        busy = sum(fields[:3]) + sum(fields[5:8])
        return busy / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_cpu_s() -> float:
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total

    def other_cores(self) -> float:
        wall = time.perf_counter() - self.t0
        if wall <= 0:
            return 0.0
        other = (self._system_busy_s() - self.busy0) - (self._own_cpu_s() - self.own0)
        return max(other, 0.0) / wall


def check_contention(meter: ContentionMeter, phase: str) -> float:
    cores = meter.other_cores()
    if cores >= ContentionMeter.WARN_CORES:
        log(f"WARNING: other processes kept ~{cores:.2f} cores busy during the {phase} run "
            f"({os.cpu_count()} cores total); its timings are likely noisy")
    return cores


# --------------------------------------------------------------------------
# Our side
# --------------------------------------------------------------------------

REQUIRED_KEYS = ("build_s", "bytes_per_vector", "ef", "recall", "qps", "p50_us", "p99_us")


def parse_ours(text: str, origin: str) -> list[dict]:
    """Pick the JSON-object lines out of `ann --json` output."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        if "ef" not in row:
            # Not a per-ef result (e.g. a header/summary object): skip it.
            log(f"note: {origin}: ignoring JSON line without 'ef': {line[:120]}")
            continue
        missing = [key for key in REQUIRED_KEYS if key not in row]
        if missing:
            die(f"{origin}: JSON line lacks {', '.join(missing)}: {line[:200]}")
        rows.append(row)
    if not rows:
        die(f"{origin}: no JSON result lines found (expected one object per ef with keys "
            f"{', '.join(REQUIRED_KEYS)})")
    return rows


def run_ours(args: argparse.Namespace, quantization: str, ef_list: list[int]) -> list[dict]:
    """Run our `ann` binary via cargo from the repository root; return its rows."""
    cargo = shutil.which("cargo")
    if cargo is None:
        die("`cargo` is not on PATH, so our side cannot run. Use --ours-json FILE with "
            "previously captured `ann --json` output, or --skip-ours.")
    cmd = [
        cargo, "run", "--release", "-q", "-p", "vecshard-bench", "--bin", "ann", "--",
        "--data", str(args.data), "--m", str(args.m), "--ef-construction", str(args.ef_construction),
        "--ef", ",".join(map(str, ef_list)), "--k", str(args.k),
        "--quantization", quantization, "--json",
    ]
    log(f"running ours (cwd {REPO_ROOT}): {shlex.join(cmd)}")
    # stderr is passed through so compile errors / panics are visible.
    proc = subprocess.run(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-10:])
        die("our benchmark failed (exit code {}). Is the `ann` binary of package vecshard-bench "
            "built and implemented? Run the command above by hand to see why, or use "
            "--skip-ours / --ours-json FILE.{}".format(
                proc.returncode, f"\nlast stdout lines:\n{tail}" if tail else ""))
    return parse_ours(proc.stdout, "ann --json output")


def collect_ours(args: argparse.Namespace) -> dict | None:
    """Our rows for the requested quantization plus, when available, f32 bytes/vector."""
    if args.skip_ours:
        return None
    if args.ours_json is not None:
        if not args.ours_json.is_file():
            die(f"--ours-json: no such file {args.ours_json}")
        rows = parse_ours(args.ours_json.read_text(), str(args.ours_json))
        # A file may mix quantizations if rows carry a "quantization" key.
        main = [r for r in rows if r.get("quantization", args.quantization) == args.quantization]
        f32 = [r for r in rows if r.get("quantization", args.quantization) == "f32"]
        if not main:
            die(f"{args.ours_json}: no rows for quantization {args.quantization}")
        source = str(args.ours_json)
    else:
        main = run_ours(args, args.quantization, args.ef)
        f32 = main if args.quantization == "f32" else []
        if args.quantization != "f32" and not args.no_f32_baseline:
            # bytes/vector does not depend on the search ef, so one ef is enough.
            log("extra f32 run of ours to measure f32 bytes/vector (--no-f32-baseline skips it)")
            f32 = run_ours(args, "f32", args.ef[:1])
        source = "cargo run --release -p vecshard-bench --bin ann"

    return {
        "source": source,
        "rows": {int(r["ef"]): r for r in main},
        "build_s": float(main[0]["build_s"]),
        # On-CPU build time (newer `ann` only): excludes waiting for a core.
        "build_cpu_s": float(main[0]["build_cpu_s"]) if "build_cpu_s" in main[0] else None,
        "bytes_per_vector": float(main[0]["bytes_per_vector"]),
        "bytes_per_vector_f32": float(f32[0]["bytes_per_vector"]) if f32 else None,
    }


# --------------------------------------------------------------------------
# hnswlib side
# --------------------------------------------------------------------------


def rss_bytes() -> int:
    """Current resident set size of this process, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # the value is in kB
    raise RuntimeError("VmRSS not found in /proc/self/status")


def hnswlib_layout(index: "hnswlib.Index", m: int, dim: int, n: int) -> dict:
    """Bytes per vector implied by hnswlib's memory layout (no allocator overhead).

    Per element hnswlib keeps one level-0 record of
        size_links_level0 = maxM0*4 + 4      (maxM0 = 2*M neighbour ids + a count)
      + dim*4                                (the f32 vector)
      + 8                                    (the external label)
    plus an 8-byte linkLists_ pointer and a 4-byte element_levels_ entry, and
    for each level above 0 a list of M*4 + 4 bytes. Levels are drawn with
    P(level >= l) = M^-l, so on average an element has 1/(M-1) upper lists.
    """
    size_links_level0 = 2 * m * 4 + 4
    size_data_per_element = size_links_level0 + dim * 4 + 8
    size_links_upper = m * 4 + 4
    expected_upper_lists = n / (m - 1)

    # The pickling state exposes hnswlib's own numbers, including every
    # element's level; use it to cross-check the formula and count exactly.
    actual_upper_lists = None
    try:
        state = index.__getstate__()[0]
        if int(state["size_data_per_element"]) != size_data_per_element:
            log(f"note: hnswlib reports size_data_per_element={state['size_data_per_element']}, "
                f"formula gives {size_data_per_element}")
            size_data_per_element = int(state["size_data_per_element"])
        actual_upper_lists = int(np.asarray(state["element_levels"], dtype=np.int64).sum())
        del state
    except Exception as exc:  # private API; fall back to the expectation
        log(f"note: could not read hnswlib element levels ({exc}); using n/(M-1)")

    upper_lists = actual_upper_lists if actual_upper_lists is not None else expected_upper_lists
    per_vector = size_data_per_element + 8 + 4 + size_links_upper * upper_lists / n

    # Bookkeeping the estimate above leaves out (approximate, glibc/libstdc++ x86-64):
    # a 40-byte std::mutex per element (link_list_locks_), a 2-byte visited-list
    # slot per element, ~40 bytes per element in the label -> id unordered_map
    # (32-byte node + 8-byte bucket), and 65536 fixed label-op mutexes.
    bookkeeping = 40 + 2 + 40 + 65536 * 40 / n
    return {
        "layout_bytes_per_vector": per_vector,
        "layout_bytes_per_vector_with_bookkeeping": per_vector + bookkeeping,
        "size_data_per_element": size_data_per_element,
        "upper_level_lists": upper_lists,
        "upper_level_lists_expected": expected_upper_lists,
    }


def run_hnswlib(args: argparse.Namespace, ds: dict) -> dict:
    base, queries, gt = ds["base"], ds["queries"], ds["gt"]
    n, dim = base.shape
    nq = len(queries)
    k = args.k
    space = HNSWLIB_SPACES[ds["metric"]]

    ids = np.arange(n, dtype=np.int64)  # allocated before the RSS baseline
    index = hnswlib.Index(space=space, dim=dim)
    rss_before = rss_bytes()
    index.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction, random_seed=100)
    index.set_num_threads(1)

    log(f"hnswlib: building (n={n}, dim={dim}, space={space}, M={args.m}, "
        f"ef_construction={args.ef_construction}, 1 thread)")
    t0 = time.perf_counter()
    c0 = time.process_time()
    index.add_items(base, ids, num_threads=1)
    build_s = time.perf_counter() - t0
    build_cpu_s = time.process_time() - c0
    rss_after = rss_bytes()
    assert index.element_count == n

    result = {
        "version": getattr(hnswlib, "__version__", None) or _dist_version("hnswlib"),
        "space": space,
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "bytes_per_vector": (rss_after - rss_before) / n,
        **hnswlib_layout(index, args.m, dim, index.element_count),
        "rows": {},
    }

    # One (1, dim) view per query, prepared up front so the timed region is
    # just the knn_query call.
    singles = [queries[i : i + 1] for i in range(nq)]

    # Untimed warm-up over all queries (at the largest ef, which touches the
    # most of the graph), so page faults and cold caches hit no timed pass.
    index.set_ef(max(args.ef))
    for q in singles:
        index.knn_query(q, k=k, num_threads=1)

    for ef in args.ef:
        index.set_ef(ef)
        found = np.empty((nq, k), dtype=np.int64)
        lat_ns = np.empty(nq, dtype=np.int64)
        for i, q in enumerate(singles):
            t0 = time.perf_counter_ns()
            labels, _ = index.knn_query(q, k=k, num_threads=1)
            lat_ns[i] = time.perf_counter_ns() - t0
            found[i] = labels[0]

        t0 = time.perf_counter_ns()
        batch_labels, _ = index.knn_query(queries, k=k, num_threads=1)
        batch_ns = time.perf_counter_ns() - t0
        if not np.array_equal(batch_labels.astype(np.int64), found):
            log(f"note: ef={ef}: batched and one-by-one hnswlib results differ")

        lat_us = lat_ns / 1e3
        row = {
            "ef": ef,
            "recall": recall_at_k(found, gt, k),
            "qps": nq / (lat_ns.sum() / 1e9),  # nq / summed per-query time
            "p50_us": float(np.percentile(lat_us, 50)),
            "p99_us": float(np.percentile(lat_us, 99)),
            "batch_qps": nq / (batch_ns / 1e9),
        }
        result["rows"][ef] = row
        log(f"hnswlib: ef={ef:<4} recall@{k}={row['recall']:.4f} qps={row['qps']:.0f} "
            f"p50={row['p50_us']:.1f}µs p99={row['p99_us']:.1f}µs batch_qps={row['batch_qps']:.0f}")
    return result


def _dist_version(name: str) -> str | None:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or (isinstance(b, float) and math.isnan(b)):
        return None
    return a / b


def first_ef_reaching(rows: dict[int, dict], target: float, efs: list[int]) -> int | None:
    for ef in efs:
        if ef in rows and rows[ef]["recall"] >= target:
            return ef
    return None


def fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """Markdown-style table with right-aligned, padded columns."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    def line(cells):
        return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def build_summary(args, ds, ours, hn) -> dict:
    target = args.target_recall
    efs = sorted(set(args.ef) | (set(ours["rows"]) if ours else set()))
    our_rows = ours["rows"] if ours else {}
    hn_rows = hn["rows"]

    our_ef = first_ef_reaching(our_rows, target, efs) if ours else None
    hn_ef = first_ef_reaching(hn_rows, target, efs)
    matched_ef = next((ef for ef in efs if ef in our_rows and ef in hn_rows
                       and our_rows[ef]["recall"] >= target and hn_rows[ef]["recall"] >= target), None)

    def qps(rows, ef, key="qps"):
        return rows[ef][key] if ef is not None and ef in rows else None

    summary = {
        "dataset": str(args.data),
        "metric": ds["metric"],
        "n": int(ds["base"].shape[0]),
        "dim": int(ds["base"].shape[1]),
        "n_query": int(ds["queries"].shape[0]),
        "m": args.m,
        "ef_construction": args.ef_construction,
        "k": args.k,
        "quantization": args.quantization,
        "target_recall": target,
        "hnswlib_version": hn["version"],
        "ours_source": ours["source"] if ours else None,
        "ours": None if not ours else {
            "build_s": ours["build_s"],
            "build_cpu_s": ours["build_cpu_s"],
            "bytes_per_vector": ours["bytes_per_vector"],
            "bytes_per_vector_f32": ours["bytes_per_vector_f32"],
        },
        "hnswlib": {key: hn[key] for key in (
            "build_s", "build_cpu_s", "bytes_per_vector", "layout_bytes_per_vector",
            "layout_bytes_per_vector_with_bookkeeping", "upper_level_lists",
            "upper_level_lists_expected")},
        "rows": [
            {"ef": ef, "ours": our_rows.get(ef), "hnswlib": hn_rows.get(ef)} for ef in efs
        ],
        "ratios_ours_over_hnswlib": {
            "build_time": ratio(ours and ours["build_s"], hn["build_s"]),
            "build_cpu_time": ratio(ours and ours["build_cpu_s"], hn["build_cpu_s"]),
            "bytes_per_vector_f32": ratio(ours and ours["bytes_per_vector_f32"], hn["bytes_per_vector"]),
            f"bytes_per_vector_{args.quantization}": ratio(ours and ours["bytes_per_vector"], hn["bytes_per_vector"]),
            "bytes_per_vector_vs_layout_f32": ratio(ours and ours["bytes_per_vector_f32"], hn["layout_bytes_per_vector"]),
            f"bytes_per_vector_vs_layout_{args.quantization}": ratio(ours and ours["bytes_per_vector"], hn["layout_bytes_per_vector"]),
            "qps_at_target": {
                "ours_ef": our_ef, "hnswlib_ef": hn_ef,
                "ours_qps": qps(our_rows, our_ef), "hnswlib_qps": qps(hn_rows, hn_ef),
                "hnswlib_batch_qps": qps(hn_rows, hn_ef, "batch_qps"),
                "ratio": ratio(qps(our_rows, our_ef), qps(hn_rows, hn_ef)),
                "ratio_vs_batch": ratio(qps(our_rows, our_ef), qps(hn_rows, hn_ef, "batch_qps")),
            },
            "qps_at_matched_ef": {
                "ef": matched_ef,
                "ratio": ratio(qps(our_rows, matched_ef), qps(hn_rows, matched_ef)),
                "ratio_vs_batch": ratio(qps(our_rows, matched_ef), qps(hn_rows, matched_ef, "batch_qps")),
            },
        },
        "footnote": PY_OVERHEAD_NOTE,
    }
    return summary


def print_report(s: dict, out) -> None:
    k = s["k"]
    h = s["hnswlib"]
    o = s["ours"]
    r = s["ratios_ours_over_hnswlib"]

    def p(*parts) -> None:
        print(*parts, file=out)

    p(f"# vecshard vs hnswlib {s['hnswlib_version']} — {s['dataset']}")
    p(f"n={s['n']} dim={s['dim']} queries={s['n_query']} metric={s['metric']} "
      f"M={s['m']} ef_construction={s['ef_construction']} k={k} "
      f"quantization(ours)={s['quantization']} threads=1")
    p(f"ours: {s['ours_source'] or 'skipped (--skip-ours)'}")
    la = s.get("load_average", {})
    p("load average (1, 5, 15 min) at start: " + " ".join(f"{x:.2f}" for x in la.get("start", []))
      + ", at end: " + " ".join(f"{x:.2f}" for x in la.get("end", [])))
    busy = s.get("other_cpu_cores_busy", {})
    p("CPU kept busy by other processes (avg cores): "
      + ", ".join(f"{side} {fmt(busy.get(side), '.2f')}" for side in ("ours", "hnswlib"))
      + ("  <-- timings likely noisy"
         if any((v or 0) >= ContentionMeter.WARN_CORES for v in busy.values()) else ""))
    p("")

    headers = ["ef", f"our recall@{k}", f"hnswlib recall@{k}", "our QPS", "hnswlib QPS",
               "our p50 µs", "hnswlib p50 µs", "our p99 µs", "hnswlib p99 µs", "hnswlib batch QPS"]
    rows = []
    for entry in s["rows"]:
        a, b = entry["ours"] or {}, entry["hnswlib"] or {}
        rows.append([
            str(entry["ef"]),
            fmt(a.get("recall"), ".4f"), fmt(b.get("recall"), ".4f"),
            fmt(a.get("qps"), ",.0f"), fmt(b.get("qps"), ",.0f"),
            fmt(a.get("p50_us"), ".1f"), fmt(b.get("p50_us"), ".1f"),
            fmt(a.get("p99_us"), ".1f"), fmt(b.get("p99_us"), ".1f"),
            fmt(b.get("batch_qps"), ",.0f"),
        ])
    p(render_table(headers, rows))
    p("")
    p(f"Note: {s['footnote']} QPS = queries / summed per-query time; p99 over "
      f"{s['n_query']} queries is interpolated (numpy.percentile).")
    p("")

    # Summary block: label/value lines, aligned.
    q = r["qps_at_target"]
    mt = r["qps_at_matched_ef"]
    quant = s["quantization"]
    lines = [
        ("build time (s)", f"ours {fmt(o and o['build_s'], '.3f')}  hnswlib {h['build_s']:.3f}",
         fmt_ratio(r["build_time"])),
        ("build time on CPU (s)",
         f"ours {fmt(o and o['build_cpu_s'], '.3f')}  hnswlib {h['build_cpu_s']:.3f}",
         fmt_ratio(r["build_cpu_time"])),
        ("bytes/vector, f32", f"ours {fmt(o and o['bytes_per_vector_f32'], '.1f')}  hnswlib RSS {h['bytes_per_vector']:.1f}",
         fmt_ratio(r["bytes_per_vector_f32"])),
    ]
    if quant != "f32":
        lines.append((f"bytes/vector, {quant}",
                      f"ours {fmt(o and o['bytes_per_vector'], '.1f')}  hnswlib RSS {h['bytes_per_vector']:.1f}",
                      fmt_ratio(r[f"bytes_per_vector_{quant}"])))
    lines.append((f"bytes/vector vs layout estimate",
                  f"hnswlib layout estimate {h['layout_bytes_per_vector']:.1f} "
                  f"(+bookkeeping ≈{h['layout_bytes_per_vector_with_bookkeeping']:.1f})",
                  f"f32 {fmt_ratio(r['bytes_per_vector_vs_layout_f32'])}"
                  + ("" if quant == "f32" else f", {quant} {fmt_ratio(r[f'bytes_per_vector_vs_layout_{quant}'])}")))

    def at(ef):
        return "none reached" if ef is None else f"ef={ef}"

    our_at = "skipped" if o is None else f"{at(q['ours_ef'])} {fmt(q['ours_qps'], ',.0f')}"
    lines.append((f"QPS at first recall@{k}≥{s['target_recall']}",
                  f"ours {our_at}  "
                  f"hnswlib {at(q['hnswlib_ef'])} {fmt(q['hnswlib_qps'], ',.0f')} "
                  f"(batch {fmt(q['hnswlib_batch_qps'], ',.0f')})",
                  f"{fmt_ratio(q['ratio'])} (vs batch {fmt_ratio(q['ratio_vs_batch'])})"))
    lines.append((f"QPS ratio at matched ef",
                  f"first ef where both reach {s['target_recall']}: "
                  + ("ours skipped" if o is None else at(mt["ef"])),
                  f"{fmt_ratio(mt['ratio'])} (vs batch {fmt_ratio(mt['ratio_vs_batch'])})"))

    p("Summary (ratio = ours / hnswlib; build time and bytes: lower is better, QPS: higher is better)")
    w0 = max(len(a) for a, _, _ in lines)
    w1 = max(len(b) for _, b, _ in lines)
    for label, detail, rat in lines:
        p(f"  {label.ljust(w0)}  {detail.ljust(w1)}  ratio {rat}")
    p("")
    p(f"hnswlib bytes/vector: primary = VmRSS growth over init_index+add_items divided by n "
      f"(includes allocator overhead and 65536 fixed label mutexes, ≈2.6 MB, which matter at small n); "
      f"layout estimate = level-0 record + linkLists_ pointer + level int + "
      f"{h['upper_level_lists']:.0f} upper-level lists (expected n/(M-1) = "
      f"{h['upper_level_lists_expected']:.0f}). hnswlib always stores f32 vectors.")


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    ds = load_dataset(args.data)
    if args.k > ds["gt"].shape[1]:
        die(f"--k {args.k} exceeds the {ds['gt'].shape[1]} ground-truth neighbours per query")
    args.data = args.data.resolve()

    load_start = list(os.getloadavg())
    contention = {}

    def ours_side():
        meter = ContentionMeter()
        ours = collect_ours(args)
        contention["ours"] = None if ours is None or args.ours_json else check_contention(meter, "ours")
        if ours is not None:
            missing = [ef for ef in args.ef if ef not in ours["rows"]]
            if missing:
                log(f"note: our results have no rows for ef {missing}")
        return ours

    def hnswlib_side():
        meter = ContentionMeter()
        hn = run_hnswlib(args, ds)
        contention["hnswlib"] = check_contention(meter, "hnswlib")
        return hn

    # One side after the other, never concurrently.
    if args.hnswlib_first:
        hn = hnswlib_side()
        ours = ours_side()
    else:
        ours = ours_side()
        hn = hnswlib_side()
    summary = build_summary(args, ds, ours, hn)
    summary["other_cpu_cores_busy"] = contention
    summary["load_average"] = {"start": load_start, "end": list(os.getloadavg())}
    summary["order"] = "hnswlib first" if args.hnswlib_first else "ours first"

    if args.json:
        print_report(summary, sys.stderr)
        print(json.dumps(summary))
    else:
        print_report(summary, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
