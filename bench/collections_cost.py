"""Threads and RSS of `vecshard serve` holding N collections of M vectors.

usage: python3 bench/collections_cost.py VECSHARD_BIN N M DIM
(README § Collections: 1000 1000 16). Uses /tmp/coll-bench/data.
"""
import json, os, random, subprocess, sys, time, urllib.request, shutil
BIN, N, M, DIM = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = "/tmp/coll-bench/data"
os.makedirs("/tmp/coll-bench", exist_ok=True)
shutil.rmtree(data, ignore_errors=True)
def start():
    p = subprocess.Popen([BIN, "serve", "--data", data, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    while True:
        l = p.stderr.readline()
        if "http://" in l:
            return p, l.split("http://")[1].split()[0]
        if not l: raise SystemExit("server died")
def call(addr, m, path, body=None):
    r = urllib.request.Request(f"http://{addr}{path}", method=m, data=json.dumps(body).encode() if body is not None else None, headers={"content-type": "application/json"})
    with urllib.request.urlopen(r) as f: return json.loads(f.read())
def status(p):
    s = dict(l.split(":", 1) for l in open(f"/proc/{p.pid}/status"))
    return int(s["Threads"]), int(s["VmRSS"].split()[0]) // 1024
rnd = random.Random(1)
p, a = start()
print("empty server: threads %d, rss %d MiB" % status(p))
t = time.time()
for c in range(N):
    call(a, "PUT", f"/v1/collections/c{c}", {"dim": DIM, "shards": 1})
print(f"created {N} in {time.time()-t:.1f}s: threads %d, rss %d MiB" % status(p))
t = time.time()
for c in range(N):
    vs = [{"key": str(i), "vector": [rnd.uniform(-1, 1) for _ in range(DIM)]} for i in range(M)]
    call(a, "POST", f"/v1/collections/c{c}/vectors", {"vectors": vs})
    if c + 1 in (1, 10, 100) or (c + 1) % 250 == 0:
        print(f"  {c+1} filled ({time.time()-t:.0f}s): threads %d, rss %d MiB" % status(p), flush=True)
q = call(a, "POST", f"/v1/collections/c{N-1}/search", {"vector": [0.1] * DIM, "k": 3})
assert len(q["results"]) == 3
p.terminate(); p.wait()
p, a = start()
print("restarted (nothing opened): threads %d, rss %d MiB" % status(p))
t = time.time()
for c in range(N):
    call(a, "POST", f"/v1/collections/c{c}/search", {"vector": [0.1] * DIM, "k": 3})
print(f"one search in each ({time.time()-t:.1f}s): threads %d, rss %d MiB" % status(p))
print("disk:", subprocess.run(["du", "-sh", data], capture_output=True, text=True).stdout.strip())
p.terminate(); p.wait()
