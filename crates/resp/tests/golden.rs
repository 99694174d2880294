//! Golden replies: byte strings a Redis 8.2.3 server sent for the same
//! commands (recorded with a raw socket; `tests/redis_side_by_side.py`
//! replays the whole script against both). Only deterministic answers are
//! here: no random members, no graph-dependent order.

mod common;
use common::Client;

fn check(c: &mut Client, script: &[(&str, &[u8])]) {
    for (cmd, want) in script {
        let got = c.cmd(cmd);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "reply to {cmd:?}"
        );
    }
}

#[test]
fn resp2_vector_set_replies_match_redis() {
    let mut c = Client::new();
    check(
        &mut c,
        &[
            ("VADD s VALUES 3 1 0 0 a", b":1\r\n"),
            ("VADD s VALUES 3 1 0 0 a", b":0\r\n"),
            ("VADD s VALUES 3 0 1 0 b SETATTR '{\"x\":1}'", b":1\r\n"),
            ("VADD s VALUES 2 0 1 c", b"-ERR Vector dimension mismatch - got 2 but set has 3\r\n"),
            (
                "VADD s VALUES 3 0 1 0 e M 32",
                b"-ERR asked M value mismatch with existing vector set\r\n",
            ),
            (
                "VADD s VALUES 3 0 1 0 e NOQUANT",
                b"-ERR asked quantization mismatch with existing vector set\r\n",
            ),
            ("VADD s VALUES 3 0 1 0 e EF 32 CAS", b":1\r\n"),
            ("VCARD s", b":3\r\n"),
            ("VCARD nokey", b":0\r\n"),
            ("VDIM s", b":3\r\n"),
            ("VDIM nokey", b"-ERR key does not exist\r\n"),
            ("VEMB s a", b"*3\r\n$1\r\n1\r\n$1\r\n0\r\n$1\r\n0\r\n"),
            ("VEMB s zz", b"$-1\r\n"),
            ("VEMB nokey a", b"$-1\r\n"),
            ("VEMB s b RAW", b"*4\r\n+int8\r\n$3\r\n\x00\x7f\x00\r\n$1\r\n1\r\n$1\r\n1\r\n"),
            ("VGETATTR s b", b"$7\r\n{\"x\":1}\r\n"),
            ("VGETATTR s a", b"$-1\r\n"),
            ("VGETATTR nokey a", b"$-1\r\n"),
            ("VSETATTR s a '{\"y\":2}'", b":1\r\n"),
            ("VSETATTR s zz '{\"y\":2}'", b":0\r\n"),
            ("VSETATTR s a ''", b":1\r\n"),
            ("VGETATTR s a", b"$-1\r\n"),
            ("VSIM s VALUES 3 1 0 0 WITHSCORES COUNT 1", b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
            ("VSIM s ELE a WITHSCORES WITHATTRIBS COUNT 1", b"*3\r\n$1\r\na\r\n$1\r\n1\r\n$-1\r\n"),
            ("VSIM s ELE zz", b"-ERR element not found in set\r\n"),
            ("VSIM nokey ELE a", b"*0\r\n"),
            (
                "VSIM s VALUES 3 1 0 0 FILTER '.x == 1' WITHSCORES",
                b"*2\r\n$1\r\nb\r\n$3\r\n0.5\r\n",
            ),
            (
                "VSIM s VALUES 3 1 0 0 FILTER '.x =='",
                b"-ERR syntax error in FILTER expression near: .x ==\r\n",
            ),
            (
                "VSIM s VALUES 3 1 0 0 FILTER '.x === 1'",
                b"-ERR syntax error in FILTER expression near:  1\r\n",
            ),
            ("VSIM s VALUES 3 1 0 0 EPSILON 0.1 WITHSCORES", b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
            ("VISMEMBER s a", b":1\r\n"),
            ("VISMEMBER s zz", b":0\r\n"),
            ("VRANDMEMBER nokey", b"$-1\r\n"),
            ("VRANDMEMBER nokey 3", b"*0\r\n"),
            ("VRANDMEMBER s 0", b"*0\r\n"),
            ("VLINKS s zz", b"$-1\r\n"),
            ("VINFO nokey", b"*-1\r\n"),
            ("TYPE s", b"+vectorset\r\n"),
            ("TYPE nokey", b"+none\r\n"),
            ("VREM s zz", b":0\r\n"),
            ("VREM nokey a", b":0\r\n"),
            ("VREM s b e", b"-ERR wrong number of arguments for 'VREM' command\r\n"),
            ("VADD s", b"-ERR wrong number of arguments for 'VADD' command\r\n"),
            ("vsim s", b"-ERR wrong number of arguments for 'vsim' command\r\n"),
            ("FOO bar", b"-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n"),
            ("VADD s VALUES 3 1 0 x k", b"-ERR invalid vector specification\r\n"),
            ("VADD s FP32 abc k", b"-ERR invalid vector specification\r\n"),
            ("VADD s FP32 abcd k", b"-ERR Vector dimension mismatch - got 1 but set has 3\r\n"),
            (
                "VADD s REDUCE 2 VALUES 3 1 0 0 k",
                b"-ERR cannot add projection to existing set without projection\r\n",
            ),
            ("VADD s VALUES 3 1 0 0 k BOGUS", b"-ERR invalid option after element\r\n"),
            ("VADD s VALUES 3 1 0 0 k EF 0", b"-ERR invalid EF\r\n"),
            ("VADD s VALUES 3 1 0 0 k M 1", b"-ERR invalid M\r\n"),
            ("VADD s CAS VALUES 3 1 0 0 x", b"-ERR invalid vector specification\r\n"),
            ("VSIM s VALUES 3 1 0 0 COUNT 0", b"-ERR invalid COUNT\r\n"),
            ("VSIM s VALUES 3 1 0 0 EF 0", b"-ERR invalid EF\r\n"),
            ("VSIM s VALUES 3 1 0 0 FILTER-EF 0", b"-ERR invalid FILTER-EF\r\n"),
            ("VSIM s VALUES 3 1 0 0 EPSILON -1", b"-ERR invalid EPSILON\r\n"),
            ("VSIM s VALUES 3 1 0 0 BOGUS", b"-ERR syntax error in VSIM command\r\n"),
            ("VSIM s VALUES 3 1 0 0 COUNT", b"-ERR syntax error in VSIM command\r\n"),
            ("VSIM s FOO c", b"-ERR invalid vector specification\r\n"),
            ("VREM s a", b":1\r\n"),
            ("VREM s e", b":1\r\n"),
            ("VREM s b", b":1\r\n"),
            // The last VREM deleted the key.
            ("EXISTS s", b":0\r\n"),
            ("VADD n1 VALUES 2 1 0 a NOQUANT", b":1\r\n"),
            (
                "VADD n1 VALUES 2 1 1 b",
                b"-ERR asked quantization mismatch with existing vector set\r\n",
            ),
            ("VEMB n1 a RAW", b"*3\r\n+f32\r\n$8\r\n\x00\x00\x80?\x00\x00\x00\x00\r\n$1\r\n1\r\n"),
            ("VADD u REDUCE 2 VALUES 4 1 0 0 0 a", b":1\r\n"),
            (
                "VADD u VALUES 4 1 0 0 0 c",
                b"-ERR Vector dimension mismatch - got 4 but set has 2\r\n",
            ),
            ("VDIM u", b":2\r\n"),
        ],
    );
}

#[test]
fn resp3_vector_set_replies_match_redis() {
    let mut c = Client::new();
    check(
        &mut c,
        &[
            ("VADD t VALUES 3 1 0 0 a NOQUANT SETATTR '{\"x\":1}'", b":1\r\n"),
            ("HELLO 3", b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n8.2.3\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*1\r\n%4\r\n$4\r\nname\r\n$9\r\nvectorset\r\n$3\r\nver\r\n:1\r\n$4\r\npath\r\n$0\r\n\r\n$4\r\nargs\r\n*0\r\n"),
            ("VADD t VALUES 3 0 1 0 b NOQUANT", b"#t\r\n"),
            ("VADD t VALUES 3 0 1 0 b NOQUANT", b"#f\r\n"),
            ("VSIM t VALUES 3 1 0 0 WITHSCORES", b"%2\r\n$1\r\na\r\n,1\r\n$1\r\nb\r\n,0.5\r\n"),
            ("VSIM t VALUES 3 1 0 0 WITHSCORES WITHATTRIBS", b"%2\r\n$1\r\na\r\n*2\r\n,1\r\n$7\r\n{\"x\":1}\r\n$1\r\nb\r\n*2\r\n,0.5\r\n_\r\n"),
            ("VSIM t VALUES 3 1 0 0 WITHATTRIBS", b"%2\r\n$1\r\na\r\n$7\r\n{\"x\":1}\r\n$1\r\nb\r\n_\r\n"),
            ("VSIM t VALUES 3 1 0 0", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            ("VEMB t a", b"*3\r\n,1\r\n,0\r\n,0\r\n"),
            ("VEMB t a RAW", b"*3\r\n+f32\r\n$12\r\n\x00\x00\x80?\x00\x00\x00\x00\x00\x00\x00\x00\r\n,1\r\n"),
            ("VLINKS t a WITHSCORES", b"*1\r\n%1\r\n$1\r\nb\r\n,0.5\r\n"),
            ("VLINKS t a", b"*1\r\n*1\r\n$1\r\nb\r\n"),
            ("VINFO nokey", b"_\r\n"),
            ("VEMB nokey a", b"_\r\n"),
            ("VGETATTR t b", b"_\r\n"),
            ("VISMEMBER t a", b"#t\r\n"),
            ("VREM t zz", b"#f\r\n"),
            ("VSETATTR t a '{\"q\":1}'", b"#t\r\n"),
            ("VSETATTR t zz '{\"q\":1}'", b"#f\r\n"),
            ("VRANDMEMBER nokey", b"_\r\n"),
            ("CONFIG GET databases", b"%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"),
            ("HELLO 4", b"-NOPROTO unsupported protocol version\r\n"),
            ("HELLO x", b"-ERR Protocol version is not an integer or out of range\r\n"),
            ("DBSIZE", b":1\r\n"),
            ("VREM t a", b"#t\r\n"),
            ("VREM t b", b"#t\r\n"),
            ("DBSIZE", b":0\r\n"),
        ],
    );
}

#[test]
fn connection_and_keyspace_replies_match_redis() {
    let mut c = Client::new();
    check(
        &mut c,
        &[
            ("PING", b"+PONG\r\n"),
            ("PING hi", b"$2\r\nhi\r\n"),
            ("PING a b", b"-ERR wrong number of arguments for 'ping' command\r\n"),
            ("ECHO hi", b"$2\r\nhi\r\n"),
            ("ECHO", b"-ERR wrong number of arguments for 'echo' command\r\n"),
            ("SELECT 16", b"-ERR DB index is out of range\r\n"),
            ("SELECT x", b"-ERR value is not an integer or out of range\r\n"),
            ("SELECT", b"-ERR wrong number of arguments for 'select' command\r\n"),
            ("CLIENT SETNAME foo", b"+OK\r\n"),
            ("CLIENT GETNAME", b"$3\r\nfoo\r\n"),
            ("CLIENT SETINFO lib-name redis-py", b"+OK\r\n"),
            ("CLIENT ID", b":7\r\n"),
            ("CLIENT FOO", b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"),
            ("CLIENT", b"-ERR wrong number of arguments for 'client' command\r\n"),
            ("CONFIG GET databases", b"*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"),
            ("CONFIG GET", b"-ERR wrong number of arguments for 'config|get' command\r\n"),
            ("CONFIG SET x y", b"-ERR Unknown option or number of arguments for CONFIG SET - 'x'\r\n"),
            ("HELLO 2 AUTH a b", b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"),
            ("AUTH x", b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"),
            ("AUTH a b c", b"-ERR syntax error\r\n"),
            ("TYPE", b"-ERR wrong number of arguments for 'type' command\r\n"),
            ("DEL", b"-ERR wrong number of arguments for 'del' command\r\n"),
            ("EXISTS", b"-ERR wrong number of arguments for 'exists' command\r\n"),
            ("VSETATTR s a", b"-ERR wrong number of arguments for 'VSETATTR' command\r\n"),
            ("KEYS *", b"*0\r\n"),
            ("SCAN 0", b"*2\r\n$1\r\n0\r\n*0\r\n"),
            ("VADD k1 VALUES 2 1 0 a", b":1\r\n"),
            ("VADD k2 VALUES 2 1 0 a", b":1\r\n"),
            ("EXISTS k1 nokey k1", b":2\r\n"),
            ("DEL k1 nokey", b":1\r\n"),
            ("SELECT 1", b"+OK\r\n"),
            ("KEYS *", b"*0\r\n"),
            ("VADD k3 VALUES 2 1 0 a", b":1\r\n"),
            ("DBSIZE", b":1\r\n"),
            ("FLUSHDB", b"+OK\r\n"),
            ("SELECT 0", b"+OK\r\n"),
            ("KEYS *", b"*1\r\n$2\r\nk2\r\n"),
            ("FLUSHALL", b"+OK\r\n"),
            ("DBSIZE", b":0\r\n"),
            ("QUIT", b"+OK\r\n"),
        ],
    );
    assert!(!c.conn.is_open());
}
