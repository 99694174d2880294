"""Side by side: one command script against a real Redis 8 and against the
real `vecshard serve --resp` (run by tests/resp.rs), in RESP2 and RESP3.

usage: side_by_side.py REDIS_PORT VECSHARD_PORT

The script is the library's (`crates/resp/tests/redis_side_by_side.py`,
which runs it against the `resp_loop` example over the in-memory backend)
plus a block on a 200-element set where Redis's answers are deterministic:
VCARD, VDIM, VEMB of NOQUANT vectors, VGETATTR, VISMEMBER, VRANGE and VSIM
with TRUTH or with EF >= n. Each line is compared on the raw reply bytes:

  =  byte for byte the same, or (counted apart) the same but for floats
     that differ by at most 1e-6: VEMB and scores are f32 arithmetic done
     in another order (vecshard normalizes and scales back in its own
     kernels), so the last bits of a float may differ;
  ~  the same reply type (first byte): random members, ids, graph-dependent
     answers;
  !  a documented difference (README § RESP, "Where vecshard differs"):
     printed with both answers, and required to still differ, so that a
     difference that went away is noticed and the line becomes `=`.

Every reply is read whole (a small RESP parser), so the run takes seconds.
Prints counts per protocol; exits 1 on any mismatch.
"""
import importlib.util
import os
import shlex
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "..", "..", "..", "resp", "tests", "redis_side_by_side.py")
spec = importlib.util.spec_from_file_location("lib_script", LIB)
lib = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lib)

# Lines of the library's script that the server answers differently on
# purpose, with the reason (README lists them).
DIFFERENT = {
    "VRANGE big - + 10": "Redis 8.2.3 has no VRANGE; vecshard implements Redis's documented one",
    "VRANGE big [e100 (e110": "Redis 8.2.3 has no VRANGE",
    "VRANGE big (e195 +": "Redis 8.2.3 has no VRANGE",
    "VRANGE big - + -1": "Redis 8.2.3 has no VRANGE",
}


def lines_of(raw):
    """A reply's lines without bulk-length headers (so a float's text may
    differ in length)."""
    out = []
    for l in raw.split(b"\r\n"):
        if l[:1] == b"$" and l != b"$-1":
            continue
        out.append(l)
    return out


def as_float(l):
    try:
        return float(l[1:] if l[:1] == b"," else l)
    except ValueError:
        return None


def close(a, b):
    """Equal but for floats within 1e-6."""
    la, lb = lines_of(a), lines_of(b)
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if x == y:
            continue
        fx, fy = as_float(x), as_float(y)
        if fx is None or fy is None or x[:1] != y[:1] or abs(fx - fy) > 1e-6:
            return False
    return True


def big_block():
    """200 NOQUANT elements on a unit circle of 8 dims, attributes on some."""
    out = ["= DEL big"]
    for i in range(200):
        v = [((i * 37 + j * 11) % 101) / 101.0 - 0.5 for j in range(8)]
        v[i % 8] += 1.0
        vals = " ".join(repr(round(x, 4)) for x in v)
        attr = f" SETATTR '{{\"i\":{i},\"even\":{str(i % 2 == 0).lower()}}}'" if i % 3 == 0 else ""
        out.append(f"= VADD big VALUES 8 {vals} e{i:03} NOQUANT{attr}")
    out += [
        "= VCARD big",
        "= VDIM big",
        "= VEMB big e000",
        "= VEMB big e123",
        "= VEMB big e199",
        "= VGETATTR big e003",
        "= VGETATTR big e004",
        "= VISMEMBER big e150",
        "= VISMEMBER big e200",
        "= VRANGE big - + 10",
        "= VRANGE big [e100 (e110",
        "= VRANGE big (e195 +",
        "= VRANGE big - + -1",
        "= VSIM big ELE e000 TRUTH COUNT 10 WITHSCORES",
        "= VSIM big ELE e077 TRUTH COUNT 5",
        "= VSIM big VALUES 8 1 0 0 0 0 0 0 0 TRUTH COUNT 10 WITHSCORES",
        "= VSIM big VALUES 8 0 0 0 1 0 0 0 0 EF 500 COUNT 10 WITHSCORES",
        "= VSIM big ELE e042 EF 500 COUNT 20",
        "= VSIM big ELE e042 TRUTH COUNT 5 FILTER '.even' WITHSCORES WITHATTRIBS",
        "= VSIM big ELE e042 TRUTH COUNT 5 FILTER '.i > 100 and .i < 150' WITHSCORES",
        "~ VRANDMEMBER big 5",
        "~ VRANDMEMBER big -5",
        "= VRANDMEMBER big 0",
        "= VREM big e000",
        "= VCARD big",
        "= VEMB big e000",
        "= DEL big",
        "= EXISTS big",
    ]
    return out


def script():
    lines = [l for l in lib.SCRIPT.strip().splitlines() if not l.endswith(" QUIT")]
    lines = [l for l in lines if not l.startswith("~ HELLO 3")]
    return lines + big_block()


def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.settimeout(10)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 16)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        i = self.buf.index(b"\r\n")
        l, self.buf = self.buf[: i + 2], self.buf[i + 2 :]
        return l

    def exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(1 << 16)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        b, self.buf = self.buf[:n], self.buf[n:]
        return b

    def reply(self):
        """The raw bytes of one whole reply."""
        l = self.line()
        t = l[:1]
        if t in b"+-:,#_(":
            return l
        if t in b"$=!":
            n = int(l[1:-2])
            return l if n < 0 else l + self.exact(n + 2)
        if t in b"*~>%|":
            n = int(l[1:-2])
            if t in b"%|":
                n *= 2
            out = l
            for _ in range(max(n, 0)):
                out += self.reply()
            return out
        raise ValueError(f"unknown reply type {l!r}")

    def ask(self, args):
        self.s.sendall(enc(args))
        return self.reply()


def run(rport, vport, proto):
    r, v = Conn(rport), Conn(vport)
    if proto == 3:
        for c in (r, v):
            c.ask(["HELLO", "3"])
    same = rounding = loose = differ = bad = 0
    for line in script():
        mode, cmd = line[0], line[2:]
        args = shlex.split(cmd)
        a, b = r.ask(args), v.ask(args)
        if cmd in DIFFERENT:
            mode = "!"
        if mode == "=":
            ok = a == b
            same += ok
            if not ok and close(a, b):
                ok = True
                rounding += 1
        elif mode == "~":
            ok = a[:1] == b[:1]
            loose += ok
        else:
            ok = a != b
            differ += ok
            print(f"RESP{proto} documented difference ({DIFFERENT[cmd]}): {cmd}\n"
                  f"  redis:    {a!r}\n  vecshard: {b!r}")
        if not ok:
            bad += 1
            print(f"RESP{proto} MISMATCH {cmd}\n  redis:    {a!r}\n  vecshard: {b!r}")
    print(f"RESP{proto}: {same} identical, {rounding} equal within 1e-6 (float rounding), "
          f"{loose} same type, {differ} documented differences, {bad} mismatches")
    return bad


def main():
    rport, vport = int(sys.argv[1]), int(sys.argv[2])
    bad = run(rport, vport, 2) + run(rport, vport, 3)
    print("ok" if bad == 0 else f"{bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
