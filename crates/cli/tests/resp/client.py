"""Drives `vecshard serve --resp` with redis-py 7.x (run by tests/resp.rs).

usage: client.py RESP_PORT HTTP_ADDR TOKEN write|reopened

Every check is an assert; the last line printed is "ok" when all passed.
"""
import json
import struct
import sys
import urllib.request

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

port, http, token, phase = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
assert int(redis.__version__.split(".")[0]) >= 7, redis.__version__


def http_json(method, path, body=None):
    req = urllib.request.Request(
        f"http://{http}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req) as f:
        return json.loads(f.read())


def error_of(r, *args):
    try:
        r.execute_command(*args)
    except redis.exceptions.RedisError as e:
        return str(e)
    raise AssertionError(f"{args} did not fail")


def collections():
    return [c["name"] for c in http_json("GET", "/v1/collections")["collections"]]


# Without AUTH, everything but AUTH/HELLO/QUIT is refused. (No retries:
# redis-py 7 retries authentication errors with backoff, for seconds.)
NO_RETRY = Retry(NoBackoff(), 0)
anon = redis.Redis(port=port, protocol=2, retry=NO_RETRY)
assert "Authentication required" in error_of(anon, "VCARD", "x"), "NOAUTH"
try:
    redis.Redis(port=port, protocol=3, password="wrong", retry=NO_RETRY).ping()
    raise AssertionError("a wrong password was accepted")
except redis.exceptions.AuthenticationError:
    pass

for proto in (2, 3):
    r = redis.Redis(port=port, protocol=proto, password=token)
    key = f"films{proto}"
    if phase == "write":
        assert r.ping()
        assert r.execute_command("VADD", key, "VALUES", 3, 1, 0, 0, "a",
                                 "SETATTR", '{"year": 1984, "genre": "drama"}') == 1
        blob = struct.pack("<3f", 0, 1, 0)
        assert r.execute_command("VADD", key, "FP32", blob, "b", "SETATTR", '{"year": 1950}') == 1
        assert r.execute_command("VADD", key, "VALUES", 3, 0, 0, 1, "c") == 1
        assert r.execute_command("VADD", key, "VALUES", 3, 1, 0, 0, "a") == 0, "update"
        assert "dimension mismatch" in error_of(r, "VADD", key, "VALUES", 2, 1, 0, "d")
        assert "mismatch" in error_of(r, "VADD", key, "VALUES", 3, 1, 1, 0, "d", "NOQUANT")
        assert r.execute_command("VCARD", key) == 3
        assert r.execute_command("VDIM", key) == 3
        # FILTER, in both protocols.
        assert r.execute_command("VSIM", key, "VALUES", 3, 1, 0.1, 0, "FILTER", ".year > 1960") == [b"a"]
        got = r.execute_command("VSIM", key, "VALUES", 3, 0.1, 1, 0, "FILTER", ".year < 1960 or .year > 1980")
        assert got == [b"b", b"a"], got
        assert r.execute_command("VSETATTR", key, "c", '{"year": 2001}') == 1
        assert r.execute_command("VSETATTR", key, "nope", '{"year": 2001}') == 0
        assert json.loads(r.execute_command("VGETATTR", key, "c")) == {"year": 2001}
        assert r.execute_command("VREM", key, "c") == 1
        assert r.execute_command("VREM", key, "c") == 0
        # The last VREM deletes the key; DEL deletes a set.
        tmp = f"tmp{proto}"
        assert r.execute_command("VADD", tmp, "VALUES", 2, 1, 1, "x") == 1
        assert tmp in collections()
        assert r.execute_command("VREM", tmp, "x") == 1
        assert r.exists(tmp) == 0 and tmp not in collections()
        assert r.execute_command("VADD", tmp, "VALUES", 2, 1, 1, "x") == 1
        assert r.delete(tmp) == 1 and r.exists(tmp) == 0 and tmp not in collections()
        # A set made over RESP is a collection over HTTP.
        assert key in collections()
        hits = http_json("POST", f"/v1/collections/{key}/search", {"vector": [1, 0, 0], "k": 1})
        assert hits["results"][0]["key"] == "a", hits
    # Checked both right after writing and after a kill -9 and restart.
    assert r.execute_command("VCARD", key) == 2
    assert r.execute_command("VDIM", key) == 3
    assert r.exists(key) == 1
    assert r.type(key) == b"vectorset"
    assert key.encode() in r.keys("films*")
    assert r.execute_command("VISMEMBER", key, "a") == 1
    assert json.loads(r.execute_command("VGETATTR", key, "a")) == {"year": 1984, "genre": "drama"}
    assert r.execute_command("VGETATTR", key, "c") is None
    emb = r.execute_command("VEMB", key, "b")
    if proto == 2:
        emb = [float(x) for x in emb]  # RESP2: bulk strings
    else:
        assert all(isinstance(x, float) for x in emb), emb  # RESP3: doubles
    assert all(abs(x - y) < 0.02 for x, y in zip(emb, [0, 1, 0])), emb
    s = r.execute_command("VSIM", key, "ELE", "a", "WITHSCORES")
    if proto == 2:
        assert s[0] == b"a" and float(s[1]) == 1.0 and s[2] == b"b", s
        assert abs(float(s[3]) - 0.5) < 1e-6, s
    else:
        assert isinstance(s, dict) and list(s) == [b"a", b"b"], s
        assert s[b"a"] == 1.0 and abs(s[b"b"] - 0.5) < 1e-6, s
    assert r.execute_command("VSIM", key, "ELE", "a", "COUNT", 1, "TRUTH") == [b"a"]

    # VRANGE and VRANDMEMBER over the shards (the server runs 2): a set of
    # 300 elements spread over both.
    big = f"many{proto}"
    names = sorted(f"e{i:03}" for i in range(300))
    if phase == "write":
        pipe = r.pipeline(transaction=False)
        for i, n in enumerate(names):
            pipe.execute_command("VADD", big, "VALUES", 2, 1 + i, 300 - i, n)
        assert all(x == 1 for x in pipe.execute())
    assert r.execute_command("VCARD", big) == 300
    assert r.execute_command("VRANGE", big, "-", "+") == [n.encode() for n in names[:10]], "COUNT defaults to 10"
    assert r.execute_command("VRANGE", big, "-", "+", -1) == [n.encode() for n in names]
    assert r.execute_command("VRANGE", big, "[e010", "(e020", 5) == [f"e{i:03}".encode() for i in range(10, 15)]
    assert r.execute_command("VRANGE", big, "(e010", "[e013") == [b"e011", b"e012", b"e013"]
    assert r.execute_command("VRANGE", big, "(e299", "+") == []
    assert r.execute_command("VRANGE", big, "-", "+", 0) == []
    assert r.execute_command("VRANGE", "nokey", "-", "+") == []
    # Walking the set page by page, as Redis's documentation suggests.
    walked, cursor = [], "-"
    while True:
        page = r.execute_command("VRANGE", big, cursor, "+", 64)
        walked += page
        if len(page) < 64:
            break
        cursor = "(" + page[-1].decode()
    assert walked == [n.encode() for n in names]
    assert "not valid string range" in error_of(r, "VRANGE", big, "e1", "+")
    one = r.execute_command("VRANDMEMBER", big)
    assert isinstance(one, bytes) and one.decode() in names, one
    assert r.execute_command("VRANDMEMBER", "nokey") is None
    assert r.execute_command("VRANDMEMBER", "nokey", 5) == []
    assert r.execute_command("VRANDMEMBER", big, 0) == []
    some = r.execute_command("VRANDMEMBER", big, 40)
    assert len(some) == 40 and len(set(some)) == 40 and all(x.decode() in names for x in some), some
    every = r.execute_command("VRANDMEMBER", big, 1000)
    assert sorted(every) == [n.encode() for n in names], "a count over the size gives the set once"
    rep = r.execute_command("VRANDMEMBER", big, -1000)
    assert len(rep) == 1000 and len(set(rep)) < 1000 and all(x.decode() in names for x in rep)
    # Uniform over elements, whichever shard holds them: 60,000 draws of
    # 300 keys, each 200 ± 5σ (σ ≈ 14).
    counts = {}
    for _ in range(60):
        for x in r.execute_command("VRANDMEMBER", big, -1000):
            counts[x] = counts.get(x, 0) + 1
    assert len(counts) == 300 and all(130 <= c <= 270 for c in counts.values()), sorted(counts.values())
    small = r.execute_command("VRANDMEMBER", key, -5)
    assert len(small) == 5 and set(small) <= {b"a", b"b"}

if phase == "write":
    import threading

    def race(a, b):
        """Runs two commands on two connections at the same moment."""
        conns = [redis.Redis(port=port, protocol=3, password=token) for _ in range(2)]
        go = threading.Barrier(2)
        out = [None, None]

        def run(i, args):
            go.wait()
            try:
                out[i] = conns[i].execute_command(*args)
            except redis.exceptions.RedisError as e:
                out[i] = e
        ts = [threading.Thread(target=run, args=(i, x)) for i, x in enumerate((a, b))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return out

    r = redis.Redis(port=port, protocol=3, password=token)
    # VADD racing the last VREM of its key: the VADD is acknowledged and
    # kept, the key exists with exactly that element, never half deleted.
    for i in range(25):
        k = f"race{i}"
        assert r.execute_command("VADD", k, "VALUES", 2, 1, 0, "a") == 1
        rem, add = race(("VREM", k, "a"), ("VADD", k, "VALUES", 2, 0, 1, "b"))
        assert rem == 1 and add == 1, (rem, add)
        assert r.execute_command("VISMEMBER", k, "b") == 1, i
        assert r.execute_command("VISMEMBER", k, "a") == 0, i
        assert r.execute_command("VCARD", k) == 1, i
        assert r.exists(k) == 1 and k in collections(), i
        assert r.execute_command("VREM", k, "b") == 1
        assert r.exists(k) == 0 and k not in collections(), i
    # Concurrent first VADDs of a new key with REDUCE: one projection
    # wins and both writes land (the loser adopts the winner's set).
    for i in range(25):
        k = f"reduce{i}"
        x, y = race(("VADD", k, "REDUCE", 2, "VALUES", 4, 1, 0, 0, 0, "x"),
                    ("VADD", k, "REDUCE", 2, "VALUES", 4, 0, 1, 0, 0, "y"))
        assert x == 1 and y == 1, (x, y)
        assert r.execute_command("VCARD", k) == 2 and r.execute_command("VDIM", k) == 2
        # Both were projected with the same matrix: each is its own nearest.
        assert r.execute_command("VSIM", k, "VALUES", 4, 1, 0, 0, 0, "COUNT", 1) == [b"x"]
        assert r.delete(k) == 1
print("ok")
