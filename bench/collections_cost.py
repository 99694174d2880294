"""Threads and RSS of `vecshard serve` holding N collections of M vectors.

usage: python3 bench/collections_cost.py VECSHARD_BIN N M DIM [SERVE_ARGS...]
(README § Collections: 1000 1000 16, with and without idle unload and the
cap on open collections). Uses /tmp/coll-bench/data.

Phases: create N collections (PUT), fill each with M vectors (one POST),
report; if SERVE_ARGS unload idle collections (`--collection-idle`), wait
until none is open and report; then one search in each (reopening it) and
report; then a restart with nothing open and one search in each again.
Each report has the server's threads and RSS (/proc/PID/status) and how
many collections `GET /v1/collections` says are open.
"""
import json, os, random, subprocess, sys, time, urllib.request, shutil
BIN, N, M, DIM = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
EXTRA = sys.argv[5:]
data = "/tmp/coll-bench/data"
os.makedirs("/tmp/coll-bench", exist_ok=True)
shutil.rmtree(data, ignore_errors=True)


def start():
    p = subprocess.Popen([BIN, "serve", "--data", data, "--listen", "127.0.0.1:0", *EXTRA],
                         stderr=subprocess.PIPE, text=True)
    while True:
        l = p.stderr.readline()
        if "http://" in l:
            return p, l.split("http://")[1].split()[0]
        if not l:
            raise SystemExit("server died")


def call(addr, m, path, body=None):
    r = urllib.request.Request(f"http://{addr}{path}", method=m,
                               data=json.dumps(body).encode() if body is not None else None,
                               headers={"content-type": "application/json"})
    with urllib.request.urlopen(r) as f:
        return json.loads(f.read())


def status(p, a):
    s = dict(l.split(":", 1) for l in open(f"/proc/{p.pid}/status"))
    opened = sum(c["open"] for c in call(a, "GET", "/v1/collections")["collections"])
    return (f"threads {int(s['Threads'])}, rss {int(s['VmRSS'].split()[0]) // 1024} MiB, "
            f"{opened} open")


def open_count(a):
    return sum(c["open"] for c in call(a, "GET", "/v1/collections")["collections"])


rnd = random.Random(1)
print("serve args:", " ".join(EXTRA) or "(defaults)")
p, a = start()
print("empty server:", status(p, a))
t = time.time()
for c in range(N):
    call(a, "PUT", f"/v1/collections/c{c}", {"dim": DIM, "shards": 1})
print(f"created {N} in {time.time()-t:.1f}s:", status(p, a))
t = time.time()
for c in range(N):
    vs = [{"key": str(i), "vector": [rnd.uniform(-1, 1) for _ in range(DIM)]} for i in range(M)]
    call(a, "POST", f"/v1/collections/c{c}/vectors", {"vectors": vs})
    if c + 1 in (1, 10, 100) or (c + 1) % 250 == 0:
        print(f"  {c+1} filled ({time.time()-t:.0f}s):", status(p, a), flush=True)
q = call(a, "POST", f"/v1/collections/c{N-1}/search", {"vector": [0.1] * DIM, "k": 3})
assert len(q["results"]) == 3
if "--collection-idle" in EXTRA and EXTRA[EXTRA.index("--collection-idle") + 1] != "off":
    t = time.time()
    while open_count(a) > 0:
        time.sleep(2)
    print(f"all unloaded ({time.time()-t:.0f}s after the last write):", status(p, a))
t = time.time()
for c in range(N):
    r = call(a, "POST", f"/v1/collections/c{c}/search", {"vector": [0.1] * DIM, "k": 3})
    assert len(r["results"]) == 3
print(f"one search in each ({time.time()-t:.1f}s):", status(p, a))
p.terminate(); p.wait()
p, a = start()
print("restarted (nothing opened):", status(p, a))
t = time.time()
for c in range(N):
    call(a, "POST", f"/v1/collections/c{c}/search", {"vector": [0.1] * DIM, "k": 3})
print(f"one search in each ({time.time()-t:.1f}s):", status(p, a))
print("disk:", subprocess.run(["du", "-sh", data], capture_output=True, text=True).stdout.strip())
p.terminate(); p.wait()
