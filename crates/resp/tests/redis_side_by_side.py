#!/usr/bin/env python3
"""Side by side: the same command script against a real Redis 8.2 and against
this crate (the `resp_loop` example), comparing the raw reply bytes.

Usage: redis_side_by_side.py REDIS_PORT VECSHARD_PORT

Lines starting with `=` must answer byte for byte the same; lines starting
with `~` only need the same reply type (first byte) because the answer is not
deterministic (random members, graph-dependent order) or is a documented
difference. Exits 1 on any mismatch. Only the standard library is used.
"""
import shlex
import socket
import sys
import time

SCRIPT = r"""
= FLUSHALL
= VADD s VALUES 3 1 0 0 a
= VADD s VALUES 3 1 0 0 a
= VADD s VALUES 3 0 1 0 b SETATTR '{"x":1}'
= VADD s VALUES 2 0 1 c
= VADD s VALUES 3 0 1 0 e M 32
= VADD s VALUES 3 0 1 0 e EF 32 CAS
= VADD s VALUES 3 0 1 0 e NOQUANT
= VCARD s
= VCARD nokey
= VDIM s
= VDIM nokey
= VEMB s a
= VEMB s zz
= VEMB nokey a
= VEMB s b RAW
= VGETATTR s b
= VGETATTR s a
= VGETATTR s zz
= VGETATTR nokey a
= VSETATTR s a '{"y":2}'
= VSETATTR s zz '{"y":2}'
= VGETATTR s a
= VSETATTR s a ''
= VGETATTR s a
= VSIM s VALUES 3 1 0 0 WITHSCORES COUNT 1
= VSIM s ELE a WITHSCORES WITHATTRIBS COUNT 1
= VSIM s ELE zz
= VSIM nokey ELE a
= VSIM s VALUES 3 0 1 0 FILTER '.x == 1' WITHSCORES
= VSIM s VALUES 3 1 0 0 FILTER '.x ==' 
= VSIM s VALUES 3 1 0 0 TRUTH COUNT 1 WITHSCORES
= VSIM s VALUES 3 1 0 0 FILTER '.x == 1 &&'
= VSIM s VALUES 3 1 0 0 FILTER '(.x == 1'
= VSIM s VALUES 3 1 0 0 FILTER '.x === 1'
= VSIM s VALUES 3 1 0 0 FILTER '.x == "abc'
= VSIM s VALUES 3 1 0 0 FILTER '.x == 1 foo'
= VSIM s VALUES 3 1 0 0 FILTER ''
= VSIM s VALUES 3 1 0 0 EPSILON 0.1 WITHSCORES
= VISMEMBER s a
= VISMEMBER s zz
= VISMEMBER nokey a
~ VRANDMEMBER s
~ VRANDMEMBER s 2
~ VRANDMEMBER s -5
= VRANDMEMBER nokey
= VRANDMEMBER nokey 3
= VRANDMEMBER s 0
= VLINKS s zz
= VLINKS nokey a
= VINFO nokey
= TYPE s
= TYPE nokey
= EXISTS s nokey s
= DBSIZE
= KEYS *
= KEYS s*
= SCAN 0
= VREM s zz
= VREM nokey a
= VREM s b e
= VADD
= VADD s
= VSIM s
= VCARD
= FOO bar baz
= VADD s VALUES 3 1 0 x k
= VADD s VALUES x 1 0 0 k
= VADD s FP32 abc k
= VADD s REDUCE 2 VALUES 3 1 0 0 k
= VADD s VALUES 3 1 0 0 k BOGUS
= VADD s VALUES 3 1 0 0 k EF 0
= VADD s VALUES 3 1 0 0 k M 1
= VADD s VALUES 3 1 0 0 k SETATTR
= VADD s CAS VALUES 3 1 0 0 x
= VSIM s VALUES 3 1 0 0 COUNT 0
= VSIM s VALUES 3 1 0 0 COUNT -1
= VSIM s VALUES 3 1 0 0 COUNT x
= VSIM s VALUES 3 1 0 0 EF 0
= VSIM s VALUES 3 1 0 0 FILTER-EF 0
= VSIM s VALUES 3 1 0 0 EPSILON -1
= VSIM s VALUES 3 1 0 0 BOGUS
= VSIM s VALUES 3 1 0 0 COUNT
= VSIM s VALUES 2 1 0
= VSIM s ELE
= VSIM s FOO c
= VREM s a
= VREM s e
= VREM s b
= EXISTS s
= VCARD s
= VADD n1 VALUES 2 1 0 a NOQUANT
= VADD n1 VALUES 2 1 1 b
= VADD n3 VALUES 2 1 0 a M 8
= VADD n3 VALUES 2 1 1 b
= VADD n3 VALUES 2 1 1 b M 8
= VEMB n1 a RAW
~ VINFO n1
= VADD u REDUCE 2 VALUES 4 1 0 0 0 a
= VADD u VALUES 4 1 0 0 0 c
= VADD u VALUES 2 1 0 c
= VDIM u
= PING
= PING hi
= PING a b
= ECHO hi
= ECHO
= SELECT 16
= SELECT x
= SELECT
= CLIENT SETNAME foo
= CLIENT GETNAME
= CLIENT SETINFO lib-name redis-py
= CLIENT FOO
= CLIENT
= CONFIG GET databases
= CONFIG GET
= HELLO 4
= HELLO x
= AUTH x
= AUTH a b c
= TYPE
= DEL
= EXISTS
= VSETATTR s a
= DEL n1 n3 u nokey
= SELECT 1
= VADD s VALUES 2 1 0 a
= KEYS *
= DBSIZE
= SELECT 0
= KEYS *
~ HELLO 3 SETNAME x
~ CLIENT ID
= VADD t VALUES 3 1 0 0 a NOQUANT SETATTR '{"x":1}'
= VADD t VALUES 3 0 1 0 b NOQUANT
= VADD t VALUES 3 0 1 0 b Q8
= VSIM t VALUES 3 1 0 0 WITHSCORES
= VSIM t VALUES 3 1 0 0 WITHSCORES WITHATTRIBS
= VSIM t VALUES 3 1 0 0 WITHATTRIBS
= VSIM t VALUES 3 1 0 0
= VEMB t a
= VEMB t a RAW
~ VLINKS t a WITHSCORES
~ VLINKS t a
= VINFO nokey
= VEMB nokey a
= VGETATTR t b
= VISMEMBER t a
= VREM t zz
= VSETATTR t a '{"q":1}'
= CONFIG GET databases
= VRANDMEMBER nokey
= FLUSHDB
= DBSIZE
= QUIT
"""


def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def ask(s, args):
    s.sendall(enc(args))
    time.sleep(0.02)
    data = b""
    s.settimeout(0.3)
    while True:
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            break
        if not d:
            break
        data += d
        s.settimeout(0.05)
    return data


def main():
    rport, vport = int(sys.argv[1]), int(sys.argv[2])
    r = socket.create_connection(("127.0.0.1", rport))
    v = socket.create_connection(("127.0.0.1", vport))
    same = bad = loose = 0
    for line in SCRIPT.strip().splitlines():
        mode, cmd = line[0], line[2:]
        args = shlex.split(cmd)
        a, b = ask(r, args), ask(v, args)
        if mode == "=":
            ok = a == b
            same += ok
        else:
            ok = a[:1] == b[:1]
            loose += ok
        if not ok:
            bad += 1
            print(f"MISMATCH {cmd}\n  redis:    {a!r}\n  vecshard: {b!r}")
    print(f"{same} identical, {loose} same type, {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
