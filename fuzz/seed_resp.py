#!/usr/bin/env python3
"""Writes the seed inputs of the `resp` fuzz target to corpus/resp/ (see
checks/resp.rs for the input format: a setup byte, then client bytes).
Each seed is one group of commands, RESP-encoded or inline."""
import os
import shlex

GROUPS = [
    ["PING", "ECHO hi", "PING a b", "FOO bar"],
    ["HELLO 3", "VSIM s VALUES 4 1 1 1 1 WITHSCORES WITHATTRIBS COUNT 5", "VEMB s e1", "VEMB s e1 RAW", "VINFO s"],
    ["HELLO 2", "VSIM s ELE e3 WITHSCORES COUNT 3", "VLINKS s e3 WITHSCORES", "VLINKS s e3"],
    ["VSIM s VALUES 4 1 0 0 1 FILTER '.n > 3 and .g == \"a\"' FILTER-EF 10 EF 20 COUNT 4",
     "VSIM s VALUES 4 1 0 0 1 FILTER '.n ==' ", "VSIM s VALUES 4 1 0 0 1 TRUTH NOTHREAD EPSILON 0.5"],
    ["VADD t REDUCE 2 VALUES 4 1 2 3 4 x NOQUANT", "VADD t REDUCE 2 VALUES 4 1 2 3 5 y NOQUANT", "VSIM t VALUES 4 1 2 3 4",
     "VINFO t", "VDIM t"],
    ["VADD b VALUES 3 1 -1 0 c BIN", "VEMB b c RAW", "VADD q VALUES 3 1 2 3 c Q8 M 8 EF 50 CAS", "VADD q VALUES 3 1 2 3 c"],
    ["VREM s e1", "VREM s e2", "VCARD s", "VISMEMBER s e1", "VRANDMEMBER s", "VRANDMEMBER s -5", "VRANDMEMBER s 3"],
    ["VRANGE s - + 5", "VRANGE s [e1 (e5", "VRANGE s (e1 + -1"],
    ["VGETATTR s e1", "VSETATTR s e1 '{\"n\":99}'", "VSETATTR s e1 ''", "VSETATTR s e1 notjson"],
    ["SELECT 3", "VADD s VALUES 2 1 0 a", "KEYS *", "DBSIZE", "SELECT 0", "SCAN 0 MATCH * COUNT 2 TYPE vectorset",
     "FLUSHDB", "FLUSHALL"],
    ["DEL s", "EXISTS s", "TYPE s", "VADD zero VALUES 2 0 0 z", "EXISTS zero"],
    ["CLIENT SETNAME me", "CLIENT GETNAME", "CLIENT SETINFO lib-name x", "CLIENT ID", "COMMAND COUNT",
     "COMMAND DOCS vsim", "COMMAND", "INFO", "CONFIG GET *"],
    ["AUTH tok", "HELLO 3 AUTH default tok SETNAME x", "VCARD s", "QUIT", "PING"],
    ["VADD s VALUES 4 1 2 x 4 e", "VADD s FP32 abc k", "VSIM s VALUES 3 1 0 0", "VSIM s ELE", "VADD s"],
]


def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def main():
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "resp")
    os.makedirs(d, exist_ok=True)
    n = 0
    for gi, group in enumerate(GROUPS):
        resp = b"".join(enc([w.encode() for w in shlex.split(c)]) for c in group)
        inline = b"".join(c.encode() + b"\r\n" for c in group)
        for setup, body, kind in [(0, resp, "resp"), (4 * 5 + 2, inline, "inline"), (1, resp, "auth")]:
            with open(os.path.join(d, f"seed-{gi:02}-{kind}"), "wb") as f:
                f.write(bytes([setup]) + body)
            n += 1
    # Framing edge cases: limits and malformed headers.
    for name, body in [
        ("bigbulk", b"*2\r\n$4\r\nECHO\r\n$300\r\n" + b"x" * 300 + b"\r\n"),
        ("manyargs", enc([b"VCARD"] + [b"a"] * 70)),
        ("badheader", b"*1\r\n+PING\r\n"),
        ("quotes", b"PING \"a\\x41\\n\" 'b\\'c'\r\nPING \"open\r\n"),
    ]:
        with open(os.path.join(d, f"seed-frame-{name}"), "wb") as f:
            f.write(bytes([2]) + body)
        n += 1
    print(f"{n} seeds in {d}")


if __name__ == "__main__":
    main()
