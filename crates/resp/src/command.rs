//! Commands: argument vectors in, a typed [`Command`] out.
//!
//! Parsing checks everything that does not need the data: arity, option
//! names and their order, numbers, vector blobs. The error strings are
//! Redis 8.2's, checked against a real server (see the crate docs).
//! Arity errors name core commands in lower case (`'ping'`) and vector-set
//! commands as the client typed them (`'VADD'`), because that is what
//! Redis does (the module reports `argv[0]`).

use crate::error::Error;
use crate::frame::parse_i64;

/// Vector storage of a set (`NOQUANT | Q8 | BIN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quant {
    /// `NOQUANT`: f32.
    NoQuant,
    /// `Q8` (Redis's default): i8 plus a scale.
    Q8,
    /// `BIN`: one bit per dimension.
    Bin,
}

impl Quant {
    /// The name `VINFO` and `VEMB RAW` report (`f32`, `int8`, `bin`).
    pub fn name(self) -> &'static str {
        match self {
            Quant::NoQuant => "f32",
            Quant::Q8 => "int8",
            Quant::Bin => "bin",
        }
    }
}

/// What `VSIM` searches around.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// `ELE name`: the stored vector of an element.
    Element(String),
    /// `FP32 blob` or `VALUES n ...`.
    Vector(Vec<f32>),
}

/// One end of a `VRANGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-` (start) or `+` (end).
    Unbounded,
    /// `[name`.
    Included(String),
    /// `(name`.
    Excluded(String),
}

/// A parsed command. Keys and element names are UTF-8 (vecshard's keys are
/// strings); a non-UTF-8 key is an error at parse time.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// `HELLO [protover [AUTH user pass] [SETNAME name]]`.
    Hello {
        /// `2` or `3`; `None` keeps the current one.
        proto: Option<u8>,
        /// `AUTH username password`.
        auth: Option<(Vec<u8>, Vec<u8>)>,
        /// `SETNAME name`.
        setname: Option<Vec<u8>>,
    },
    /// `AUTH [username] password`.
    Auth {
        /// The username (only `default` is known).
        username: Option<Vec<u8>>,
        /// The token.
        password: Vec<u8>,
    },
    /// `PING [message]`.
    Ping(Option<Vec<u8>>),
    /// `ECHO message`.
    Echo(Vec<u8>),
    /// `SELECT db` (0..=15).
    Select(u8),
    /// `QUIT`.
    Quit,
    /// `DEL key...`.
    Del(Vec<String>),
    /// `EXISTS key...`.
    Exists(Vec<String>),
    /// `TYPE key`.
    Type(String),
    /// `DBSIZE`.
    DbSize,
    /// `FLUSHDB [ASYNC|SYNC]`.
    FlushDb,
    /// `FLUSHALL [ASYNC|SYNC]`.
    FlushAll,
    /// `SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]`.
    Scan {
        /// Position to resume from (0 starts).
        cursor: u64,
        /// Glob pattern.
        pattern: Option<Vec<u8>>,
        /// Keys per call (a hint).
        count: usize,
        /// Only keys of this type (only `vectorset` matches anything).
        type_name: Option<String>,
    },
    /// `KEYS pattern`.
    Keys(Vec<u8>),
    /// `CLIENT SETNAME name`.
    ClientSetName(Vec<u8>),
    /// `CLIENT GETNAME`.
    ClientGetName,
    /// `CLIENT SETINFO attr value` (accepted, ignored).
    ClientSetInfo,
    /// `CLIENT ID`.
    ClientId,
    /// `COMMAND COUNT`.
    CommandCount,
    /// `COMMAND DOCS [name...]`, `COMMAND INFO [name...]`, bare `COMMAND`:
    /// answered with what clients need to probe (see `session.rs`).
    CommandDocs(Vec<String>),
    /// `INFO [section...]`.
    Info,
    /// `CONFIG GET pattern...`.
    ConfigGet(Vec<Vec<u8>>),
    /// `VADD`.
    VAdd {
        /// The set.
        key: String,
        /// `REDUCE dim`: project to `dim` dimensions.
        reduce: Option<u32>,
        /// The vector, as given (before projection).
        vector: Vec<f32>,
        /// The element.
        element: String,
        /// `CAS` (accepted; vecshard inserts in the shard's own thread anyway).
        cas: bool,
        /// `NOQUANT | Q8 | BIN`.
        quant: Option<Quant>,
        /// `EF` build exploration factor.
        ef: Option<u32>,
        /// `SETATTR` JSON.
        attrs: Option<Vec<u8>>,
        /// `M` links per node.
        m: Option<u32>,
    },
    /// `VSIM`.
    VSim {
        /// The set.
        key: String,
        /// `ELE | FP32 | VALUES`.
        query: Query,
        /// `WITHSCORES`.
        with_scores: bool,
        /// `WITHATTRIBS`.
        with_attribs: bool,
        /// `COUNT` (default 10).
        count: u32,
        /// `EPSILON`: only scores `>= 1 - epsilon`.
        epsilon: Option<f64>,
        /// `EF`.
        ef: Option<u32>,
        /// `FILTER` expression.
        filter: Option<String>,
        /// `FILTER-EF`.
        filter_ef: Option<u32>,
        /// `TRUTH`: exact scan.
        truth: bool,
        /// `NOTHREAD` (accepted, no effect).
        nothread: bool,
    },
    /// `VREM key element`.
    VRem {
        /// The set.
        key: String,
        /// The element.
        element: String,
    },
    /// `VCARD key`.
    VCard(String),
    /// `VDIM key`.
    VDim(String),
    /// `VEMB key element [RAW]`.
    VEmb {
        /// The set.
        key: String,
        /// The element.
        element: String,
        /// `RAW`.
        raw: bool,
    },
    /// `VGETATTR key element`.
    VGetAttr {
        /// The set.
        key: String,
        /// The element.
        element: String,
    },
    /// `VSETATTR key element json` (`""` clears).
    VSetAttr {
        /// The set.
        key: String,
        /// The element.
        element: String,
        /// JSON object text, or empty.
        attrs: Vec<u8>,
    },
    /// `VINFO key`.
    VInfo(String),
    /// `VLINKS key element [WITHSCORES]`.
    VLinks {
        /// The set.
        key: String,
        /// The element.
        element: String,
        /// `WITHSCORES`.
        with_scores: bool,
    },
    /// `VRANDMEMBER key [count]`.
    VRandMember {
        /// The set.
        key: String,
        /// `count`: positive = distinct, negative = with repetitions.
        count: Option<i64>,
    },
    /// `VISMEMBER key element`.
    VIsMember {
        /// The set.
        key: String,
        /// The element.
        element: String,
    },
    /// `VRANGE key start end [count]`.
    VRange {
        /// The set.
        key: String,
        /// Lower end.
        start: LexBound,
        /// Upper end.
        end: LexBound,
        /// Most elements (negative: all).
        count: i64,
    },
}

fn arity(name: &str) -> Error {
    Error::err(format!("wrong number of arguments for '{name}' command"))
}

/// Longest key, element name or glob pattern, in bytes: the core's limit
/// on element keys, applied to set names too so that names stay usable as
/// file names and patterns stay cheap to match (Redis allows 512 MB).
pub const MAX_NAME_LEN: usize = 1024;

fn text(b: &[u8]) -> Result<String, Error> {
    if b.len() > MAX_NAME_LEN {
        return Err(Error::err(format!(
            "key or element name of {} bytes is over vecshard's limit of {MAX_NAME_LEN}",
            b.len()
        )));
    }
    String::from_utf8(b.to_vec())
        .map_err(|_| Error::err("vecshard keys and element names must be valid UTF-8"))
}

fn pattern(b: &[u8]) -> Result<Vec<u8>, Error> {
    if b.len() > MAX_NAME_LEN {
        return Err(Error::err(format!("pattern over vecshard's limit of {MAX_NAME_LEN} bytes")));
    }
    Ok(b.to_vec())
}

fn not_int() -> Error {
    Error::err("value is not an integer or out of range")
}

fn int(b: &[u8]) -> Option<i64> {
    parse_i64(b)
}

/// Redis's float parsing (`strtod` without trailing garbage): decimal or
/// exponent forms, `inf`, `nan`. Non-finite values are refused later.
fn float(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.trim() != s {
        return None;
    }
    s.parse::<f64>().ok()
}

fn upper(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_uppercase()
}

/// The `unknown command` line, quoting the first arguments as Redis does.
fn unknown(name: &[u8], args: &[Vec<u8>]) -> Error {
    let mut line = format!(
        "ERR unknown command '{}', with args beginning with: ",
        String::from_utf8_lossy(&name[..name.len().min(128)])
    );
    let mut used = 0;
    for a in args {
        if used >= 128 {
            break;
        }
        let a = &a[..a.len().min(128 - used)];
        used += a.len();
        line.push_str(&format!("'{}' ", String::from_utf8_lossy(a)));
    }
    Error::command(line)
}

const INVALID_VECTOR: &str = "invalid vector specification";

/// Parses a vector given as `FP32 blob` or `VALUES n v1 .. vn` at
/// `args[at..]`; returns it and the index after it.
fn parse_vector(args: &[Vec<u8>], at: usize, allow_ele: bool) -> Result<(Query, usize), Error> {
    let bad = || Error::err(INVALID_VECTOR);
    let kind = upper(args.get(at).ok_or_else(bad)?);
    match kind.as_str() {
        "ELE" if allow_ele => {
            let e = args.get(at + 1).ok_or_else(bad)?;
            Ok((Query::Element(text(e)?), at + 2))
        }
        "FP32" => {
            let blob = args.get(at + 1).ok_or_else(bad)?;
            if blob.is_empty() || blob.len() % 4 != 0 || blob.len() / 4 > vecshard_core::MAX_DIM {
                return Err(bad());
            }
            let v = blob
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Ok((Query::Vector(v), at + 2))
        }
        "VALUES" => {
            let n = args.get(at + 1).and_then(|b| int(b)).ok_or_else(bad)?;
            if n < 1 || n as usize > vecshard_core::MAX_DIM {
                return Err(bad());
            }
            let n = n as usize;
            let vals = args.get(at + 2..at + 2 + n).ok_or_else(bad)?;
            let mut v = Vec::with_capacity(n);
            for b in vals {
                let x = float(b).ok_or_else(bad)?;
                if x.is_nan() {
                    return Err(bad());
                }
                v.push(x as f32);
            }
            Ok((Query::Vector(v), at + 2 + n))
        }
        _ => Err(bad()),
    }
}

/// Parses one command. `args[0]` is the command name (any case).
pub fn parse(args: &[Vec<u8>]) -> Result<Command, Error> {
    let Some((name, rest)) = args.split_first() else {
        return Err(Error::err("empty command"));
    };
    let typed = String::from_utf8_lossy(name).into_owned();
    let cmd = typed.to_ascii_uppercase();
    let lower = cmd.to_ascii_lowercase();
    let n = rest.len();
    let need = |ok: bool, core: bool| {
        if ok {
            Ok(())
        } else {
            Err(arity(if core { &lower } else { &typed }))
        }
    };
    match cmd.as_str() {
        "HELLO" => parse_hello(rest),
        "AUTH" => match rest {
            [p] => Ok(Command::Auth { username: None, password: p.clone() }),
            [u, p] => Ok(Command::Auth { username: Some(u.clone()), password: p.clone() }),
            [] => Err(arity("auth")),
            _ => Err(Error::err("syntax error")),
        },
        "PING" => match rest {
            [] => Ok(Command::Ping(None)),
            [m] => Ok(Command::Ping(Some(m.clone()))),
            _ => Err(arity("ping")),
        },
        "ECHO" => {
            need(n == 1, true)?;
            Ok(Command::Echo(rest[0].clone()))
        }
        "SELECT" => {
            need(n == 1, true)?;
            let db = int(&rest[0]).ok_or_else(not_int)?;
            if !(0..16).contains(&db) {
                return Err(Error::err("DB index is out of range"));
            }
            Ok(Command::Select(db as u8))
        }
        "QUIT" => Ok(Command::Quit),
        "DEL" | "UNLINK" => {
            need(n >= 1, true)?;
            Ok(Command::Del(rest.iter().map(|k| text(k)).collect::<Result<_, _>>()?))
        }
        "EXISTS" => {
            need(n >= 1, true)?;
            Ok(Command::Exists(rest.iter().map(|k| text(k)).collect::<Result<_, _>>()?))
        }
        "TYPE" => {
            need(n == 1, true)?;
            Ok(Command::Type(text(&rest[0])?))
        }
        "DBSIZE" => {
            need(n == 0, true)?;
            Ok(Command::DbSize)
        }
        "FLUSHDB" | "FLUSHALL" => {
            need(n <= 1, true)?;
            if let Some(mode) = rest.first() {
                if !matches!(upper(mode).as_str(), "ASYNC" | "SYNC") {
                    return Err(Error::err("syntax error"));
                }
            }
            Ok(if cmd == "FLUSHDB" { Command::FlushDb } else { Command::FlushAll })
        }
        "SCAN" => parse_scan(rest),
        "KEYS" => {
            need(n == 1, true)?;
            Ok(Command::Keys(pattern(&rest[0])?))
        }
        "CLIENT" => {
            need(n >= 1, true)?;
            let sub = upper(&rest[0]);
            let subarity = || arity(&format!("client|{}", sub.to_ascii_lowercase()));
            match sub.as_str() {
                "SETNAME" if n == 2 => {
                    if rest[1].iter().any(|&b| b <= b' ' || b > b'~') {
                        return Err(Error::err(
                            "Client names cannot contain spaces, newlines or special characters.",
                        ));
                    }
                    Ok(Command::ClientSetName(rest[1].clone()))
                }
                "GETNAME" if n == 1 => Ok(Command::ClientGetName),
                "SETINFO" if n == 3 => Ok(Command::ClientSetInfo),
                "ID" if n == 1 => Ok(Command::ClientId),
                "SETNAME" | "GETNAME" | "SETINFO" | "ID" => Err(subarity()),
                _ => Err(Error::err(format!(
                    "unknown subcommand '{}'. Try CLIENT HELP.",
                    String::from_utf8_lossy(&rest[0])
                ))),
            }
        }
        "COMMAND" => {
            let Some(sub) = rest.first() else { return Ok(Command::CommandDocs(Vec::new())) };
            match upper(sub).as_str() {
                "COUNT" => Ok(Command::CommandCount),
                "DOCS" | "INFO" => Ok(Command::CommandDocs(
                    rest[1..]
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
                        .collect(),
                )),
                _ => Err(Error::err(format!(
                    "unknown subcommand '{}'. Try COMMAND HELP.",
                    String::from_utf8_lossy(sub)
                ))),
            }
        }
        "INFO" => Ok(Command::Info),
        "CONFIG" => {
            need(n >= 1, true)?;
            match upper(&rest[0]).as_str() {
                "GET" if n >= 2 => Ok(Command::ConfigGet(rest[1..].to_vec())),
                "GET" => Err(arity("config|get")),
                "SET" => Err(Error::err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{}'",
                    rest.get(1).map_or(String::new(), |s| String::from_utf8_lossy(s).into_owned())
                ))),
                _ => Err(Error::err(format!(
                    "unknown subcommand '{}'. Try CONFIG HELP.",
                    String::from_utf8_lossy(&rest[0])
                ))),
            }
        }
        "VADD" => {
            need(n >= 4, false)?;
            parse_vadd(rest)
        }
        "VSIM" => {
            need(n >= 3, false)?;
            parse_vsim(rest)
        }
        "VREM" => {
            need(n == 2, false)?;
            Ok(Command::VRem { key: text(&rest[0])?, element: text(&rest[1])? })
        }
        "VCARD" => {
            need(n == 1, false)?;
            Ok(Command::VCard(text(&rest[0])?))
        }
        "VDIM" => {
            need(n == 1, false)?;
            Ok(Command::VDim(text(&rest[0])?))
        }
        "VEMB" => {
            need(n == 2 || n == 3, false)?;
            let raw = match rest.get(2) {
                None => false,
                Some(o) if upper(o) == "RAW" => true,
                Some(_) => return Err(Error::err("syntax error")),
            };
            Ok(Command::VEmb { key: text(&rest[0])?, element: text(&rest[1])?, raw })
        }
        "VGETATTR" => {
            need(n == 2, false)?;
            Ok(Command::VGetAttr { key: text(&rest[0])?, element: text(&rest[1])? })
        }
        "VSETATTR" => {
            need(n == 3, false)?;
            Ok(Command::VSetAttr {
                key: text(&rest[0])?,
                element: text(&rest[1])?,
                attrs: rest[2].clone(),
            })
        }
        "VINFO" => {
            need(n == 1, false)?;
            Ok(Command::VInfo(text(&rest[0])?))
        }
        "VLINKS" => {
            need(n == 2 || n == 3, false)?;
            let with_scores = match rest.get(2) {
                None => false,
                Some(o) if upper(o) == "WITHSCORES" => true,
                Some(_) => return Err(Error::err("syntax error")),
            };
            Ok(Command::VLinks { key: text(&rest[0])?, element: text(&rest[1])?, with_scores })
        }
        "VRANDMEMBER" => {
            need(n == 1 || n == 2, false)?;
            let count = match rest.get(1) {
                None => None,
                Some(c) => Some(int(c).ok_or_else(not_int)?),
            };
            Ok(Command::VRandMember { key: text(&rest[0])?, count })
        }
        "VISMEMBER" => {
            need(n == 2, false)?;
            Ok(Command::VIsMember { key: text(&rest[0])?, element: text(&rest[1])? })
        }
        "VRANGE" => {
            need(n == 3 || n == 4, false)?;
            let bound = |b: &[u8], open: &[u8]| -> Result<LexBound, Error> {
                match b.split_first() {
                    _ if b == open => Ok(LexBound::Unbounded),
                    Some((b'[', s)) => Ok(LexBound::Included(text(s)?)),
                    Some((b'(', s)) => Ok(LexBound::Excluded(text(s)?)),
                    _ => Err(Error::err("min or max not valid string range item")),
                }
            };
            let count = match rest.get(3) {
                None => 10,
                Some(c) => int(c).ok_or_else(not_int)?,
            };
            Ok(Command::VRange {
                key: text(&rest[0])?,
                start: bound(&rest[1], b"-")?,
                end: bound(&rest[2], b"+")?,
                count,
            })
        }
        _ => Err(unknown(name, rest)),
    }
}

fn parse_hello(rest: &[Vec<u8>]) -> Result<Command, Error> {
    let Some((v, opts)) = rest.split_first() else {
        return Ok(Command::Hello { proto: None, auth: None, setname: None });
    };
    let proto = match int(v) {
        Some(p @ (2 | 3)) => p as u8,
        Some(_) => return Err(Error::command("NOPROTO unsupported protocol version")),
        None => return Err(Error::err("Protocol version is not an integer or out of range")),
    };
    let (mut auth, mut setname) = (None, None);
    let mut i = 0;
    while i < opts.len() {
        match upper(&opts[i]).as_str() {
            "AUTH" if i + 2 < opts.len() => {
                auth = Some((opts[i + 1].clone(), opts[i + 2].clone()));
                i += 3;
            }
            "SETNAME" if i + 1 < opts.len() => {
                setname = Some(opts[i + 1].clone());
                i += 2;
            }
            _ => {
                return Err(Error::err(format!(
                    "Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&opts[i])
                )))
            }
        }
    }
    Ok(Command::Hello { proto: Some(proto), auth, setname })
}

fn parse_scan(rest: &[Vec<u8>]) -> Result<Command, Error> {
    let Some((c, opts)) = rest.split_first() else { return Err(arity("scan")) };
    let cursor = std::str::from_utf8(c)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| Error::err("invalid cursor"))?;
    let (mut pattern, mut count, mut type_name) = (None, 10usize, None);
    let mut i = 0;
    while i < opts.len() {
        let val = opts.get(i + 1).ok_or_else(|| Error::err("syntax error"))?;
        match upper(&opts[i]).as_str() {
            "MATCH" => pattern = Some(self::pattern(val)?),
            "COUNT" => {
                let c = int(val).ok_or_else(not_int)?;
                if c < 1 {
                    return Err(Error::err("syntax error"));
                }
                count = c as usize;
            }
            "TYPE" => type_name = Some(String::from_utf8_lossy(val).to_ascii_lowercase()),
            _ => return Err(Error::err("syntax error")),
        }
        i += 2;
    }
    Ok(Command::Scan { cursor, pattern, count, type_name })
}

fn parse_vadd(rest: &[Vec<u8>]) -> Result<Command, Error> {
    let key = text(&rest[0])?;
    let mut at = 1;
    let mut reduce = None;
    if upper(&rest[1]) == "REDUCE" {
        let d = rest.get(2).and_then(|b| int(b)).ok_or_else(|| Error::err(INVALID_VECTOR))?;
        if d < 1 || d as usize > vecshard_core::MAX_DIM {
            return Err(Error::err(INVALID_VECTOR));
        }
        reduce = Some(d as u32);
        at = 3;
    }
    let (query, next) = parse_vector(rest, at, false)?;
    let Query::Vector(vector) = query else { return Err(Error::err(INVALID_VECTOR)) };
    let element = text(rest.get(next).ok_or_else(|| arity("VADD"))?)?;
    let (mut cas, mut quant, mut ef, mut attrs, mut m) = (false, None, None, None, None);
    let bad_opt = || Error::err("invalid option after element");
    let mut i = next + 1;
    while i < rest.len() {
        let opt = upper(&rest[i]);
        let q = |want: Quant, quant: Option<Quant>| {
            if quant.is_some_and(|q| q != want) {
                Err(Error::err("use only one of NOQUANT, Q8 or BIN"))
            } else {
                Ok(Some(want))
            }
        };
        match opt.as_str() {
            "CAS" => cas = true,
            "NOQUANT" => quant = q(Quant::NoQuant, quant)?,
            "Q8" => quant = q(Quant::Q8, quant)?,
            "BIN" => quant = q(Quant::Bin, quant)?,
            "EF" | "M" | "SETATTR" => {
                let val = rest.get(i + 1).ok_or_else(bad_opt)?;
                i += 1;
                match opt.as_str() {
                    "EF" => match int(val) {
                        Some(e @ 1..=1_000_000) => ef = Some(e as u32),
                        _ => return Err(Error::err("invalid EF")),
                    },
                    "M" => match int(val) {
                        Some(v @ 4..=4096) => m = Some(v as u32),
                        _ => return Err(Error::err("invalid M")),
                    },
                    _ => attrs = Some(val.clone()),
                }
            }
            _ => return Err(bad_opt()),
        }
        i += 1;
    }
    Ok(Command::VAdd { key, reduce, vector, element, cas, quant, ef, attrs, m })
}

fn parse_vsim(rest: &[Vec<u8>]) -> Result<Command, Error> {
    let key = text(&rest[0])?;
    let (query, next) = match parse_vector(rest, 1, true) {
        Ok(v) => v,
        // `VSIM key ELE` is an arity error in Redis, not a vector error.
        Err(_) if upper(&rest[1]) == "ELE" => return Err(arity("VSIM")),
        Err(e) => return Err(e),
    };
    let syntax = || Error::err("syntax error in VSIM command");
    let mut c = Command::VSim {
        key,
        query,
        with_scores: false,
        with_attribs: false,
        count: 10,
        epsilon: None,
        ef: None,
        filter: None,
        filter_ef: None,
        truth: false,
        nothread: false,
    };
    let Command::VSim {
        with_scores,
        with_attribs,
        count,
        epsilon,
        ef,
        filter,
        filter_ef,
        truth,
        nothread,
        ..
    } = &mut c
    else {
        unreachable!("just built a VSim")
    };
    let mut i = next;
    while i < rest.len() {
        let opt = upper(&rest[i]);
        match opt.as_str() {
            "WITHSCORES" => *with_scores = true,
            "WITHATTRIBS" => *with_attribs = true,
            "TRUTH" => *truth = true,
            "NOTHREAD" => *nothread = true,
            "COUNT" | "EPSILON" | "EF" | "FILTER" | "FILTER-EF" => {
                let val = rest.get(i + 1).ok_or_else(syntax)?;
                i += 1;
                let invalid = || Error::err(format!("invalid {opt}"));
                match opt.as_str() {
                    "COUNT" => match int(val) {
                        Some(v @ 1..) => *count = v.min(i64::from(u32::MAX)) as u32,
                        _ => return Err(invalid()),
                    },
                    "EF" => match int(val) {
                        Some(v @ 1..) => *ef = Some(v.min(i64::from(u32::MAX)) as u32),
                        _ => return Err(invalid()),
                    },
                    "FILTER-EF" => match int(val) {
                        Some(v @ 1..) => *filter_ef = Some(v.min(i64::from(u32::MAX)) as u32),
                        _ => return Err(invalid()),
                    },
                    "EPSILON" => match float(val) {
                        Some(e) if e >= 0.0 && e.is_finite() => *epsilon = Some(e),
                        _ => return Err(invalid()),
                    },
                    _ => {
                        let f = std::str::from_utf8(val)
                            .map_err(|_| Error::err("FILTER expression must be valid UTF-8"))?;
                        *filter = Some(f.to_owned());
                    }
                }
            }
            _ => return Err(syntax()),
        }
        i += 1;
    }
    Ok(c)
}
