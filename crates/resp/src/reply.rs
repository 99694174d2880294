//! Replies: one typed value, encoded to RESP2 or RESP3.
//!
//! Commands build a [`Reply`] in RESP3's richer vocabulary (maps, doubles,
//! booleans, null) and [`Reply::encode`] lowers it for a RESP2 client the
//! way Redis does: a map becomes a flat array of key, value, key, value; a
//! double becomes a bulk string; a boolean becomes `:1`/`:0`; a null becomes
//! `$-1` or, for commands whose RESP2 null is an array ([`Reply::NullArray`],
//! `VINFO` of a missing key), `*-1`.

use std::io::Write as _;

/// The protocol a connection speaks (`HELLO 2|3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default of every new connection.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// A reply value.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR ...` (the line without the `-`).
    Error(String),
    /// `:42`.
    Int(i64),
    /// `$3\r\nabc`.
    Bulk(Vec<u8>),
    /// RESP2 `$-1`, RESP3 `_`.
    Null,
    /// RESP2 `*-1`, RESP3 `_`.
    NullArray,
    /// RESP3 `,0.5`; RESP2 a bulk string.
    Double(f64),
    /// RESP3 `#t`; RESP2 `:1`.
    Bool(bool),
    /// `*n`.
    Array(Vec<Reply>),
    /// RESP3 `%n`; RESP2 a flat array of `2n`.
    Map(Vec<(Reply, Reply)>),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }

    /// A bulk string from text.
    pub fn bulk(s: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(s.as_ref().to_vec())
    }

    /// Appends the encoding of `self` for `proto` to `out`.
    pub fn encode(&self, proto: Protocol, out: &mut Vec<u8>) {
        let v3 = proto == Protocol::Resp3;
        // Writing into a Vec cannot fail.
        match self {
            Reply::Simple(s) => {
                out.push(b'+');
                out.extend(s.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
                out.extend_from_slice(b"\r\n");
            }
            Reply::Error(s) => {
                out.push(b'-');
                out.extend(s.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
                out.extend_from_slice(b"\r\n");
            }
            Reply::Int(n) => {
                let _ = write!(out, ":{n}\r\n");
            }
            Reply::Bulk(b) => {
                let _ = write!(out, "${}\r\n", b.len());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Null if v3 => out.extend_from_slice(b"_\r\n"),
            Reply::Null => out.extend_from_slice(b"$-1\r\n"),
            Reply::NullArray if v3 => out.extend_from_slice(b"_\r\n"),
            Reply::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Double(d) if v3 => {
                let _ = write!(out, ",{}\r\n", format_double(*d));
            }
            Reply::Double(d) => Reply::bulk(format_double(*d)).encode(proto, out),
            Reply::Bool(b) if v3 => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Bool(b) => Reply::Int(i64::from(*b)).encode(proto, out),
            Reply::Array(items) => {
                let _ = write!(out, "*{}\r\n", items.len());
                for i in items {
                    i.encode(proto, out);
                }
            }
            Reply::Map(pairs) => {
                if v3 {
                    let _ = write!(out, "%{}\r\n", pairs.len());
                } else {
                    let _ = write!(out, "*{}\r\n", pairs.len() * 2);
                }
                for (k, v) in pairs {
                    k.encode(proto, out);
                    v.encode(proto, out);
                }
            }
        }
    }

    /// The encoding of `self` for `proto`.
    pub fn to_bytes(&self, proto: Protocol) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(proto, &mut out);
        out
    }
}

/// A double as Redis prints it: the shortest text that reads back to the
/// same value (`1`, `0.5`, `0.4999999701976776`), `inf`, `-inf`, `nan`.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if d == 0.0 {
        // No "-0".
        "0".into()
    } else {
        format!("{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_lowering() {
        let r = Reply::Map(vec![
            (Reply::bulk("a"), Reply::Double(1.0)),
            (Reply::bulk("b"), Reply::Double(0.5)),
        ]);
        assert_eq!(r.to_bytes(Protocol::Resp3), b"%2\r\n$1\r\na\r\n,1\r\n$1\r\nb\r\n,0.5\r\n");
        assert_eq!(
            r.to_bytes(Protocol::Resp2),
            b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n0.5\r\n"
        );
        assert_eq!(Reply::Bool(true).to_bytes(Protocol::Resp2), b":1\r\n");
        assert_eq!(Reply::Bool(false).to_bytes(Protocol::Resp3), b"#f\r\n");
        assert_eq!(Reply::Null.to_bytes(Protocol::Resp2), b"$-1\r\n");
        assert_eq!(Reply::NullArray.to_bytes(Protocol::Resp2), b"*-1\r\n");
        assert_eq!(Reply::NullArray.to_bytes(Protocol::Resp3), b"_\r\n");
        assert_eq!(Reply::Error("ERR a\r\nb".into()).to_bytes(Protocol::Resp2), b"-ERR a  b\r\n");
        assert_eq!(format_double(f64::from(0.49999997f32)), "0.4999999701976776");
        assert_eq!(format_double(-0.0), "0");
    }
}
