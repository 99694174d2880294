//! One connection's state and the execution of commands against a
//! [`Backend`].
//!
//! A [`Session`] holds what Redis keeps per client: the protocol version,
//! whether the client has authenticated, the selected db and the client
//! name. [`Session::execute`] turns one argument vector into one
//! [`Reply`]; [`Connection`] adds a [`Decoder`] so that a server only moves
//! bytes between a socket and [`Connection::receive`].

use crate::backend::{
    AttrUpdate, Backend, CollectionInfo, CollectionSpec, Found, Projection, SearchRequest,
};
use crate::command::{parse, Command, Quant, Query};
use crate::error::Error;
use crate::frame::{Decoder, Limits};
use crate::reply::{Protocol, Reply};
use vecshard_shard::limits::{MAX_EF, MAX_K};
use vecshard_shard::ErrorCode;

/// Default HNSW `M` of a new set (Redis's).
pub const DEFAULT_M: u32 = 16;
/// Default `ef_construction` of a new set (Redis's `EF` default).
pub const DEFAULT_EF_CONSTRUCTION: u32 = 200;
/// Default quantization of a new set (Redis's: `Q8`).
pub const DEFAULT_QUANT: Quant = Quant::Q8;
/// Most members `VRANDMEMBER key -count` returns (it repeats, so the set's
/// size does not bound it).
pub const MAX_RANDOM_REPEATS: usize = 1_000_000;
/// Most members one `VRANDMEMBER key count` (positive) or `VRANGE` reply
/// holds: a larger count (or `VRANGE`'s `-1`, "all") is cut to this, so a
/// reply stays bounded whatever the set's size. Redis has no such cap; a
/// client walks a larger set with `VRANGE key (last + COUNT`, as Redis's
/// documentation suggests for large sets.
pub const MAX_KEYS_REPLY: usize = 1_000_000;
/// Largest `REDUCE` projection, output × input dimensions: projecting
/// costs one hash and one add per cell on every `VADD` and `VSIM`, so this
/// bounds that work (about 20 ms) per request.
pub const MAX_PROJECTION_CELLS: u64 = 1 << 24;
/// Number of dbs `SELECT` accepts (0..16).
pub const DATABASES: u8 = 16;
/// The Redis version whose vector-sets protocol this crate speaks; `HELLO`
/// and `INFO` report it so that clients that gate features on the server
/// version enable vector sets.
pub const REDIS_VERSION: &str = "8.2.3";

/// What executing one command produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The reply to send.
    pub reply: Reply,
    /// Close the connection after sending it (`QUIT`).
    pub close: bool,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome { reply, close: false }
    }
}

/// Per-connection state.
#[derive(Clone, Debug)]
pub struct Session {
    id: u64,
    proto: Protocol,
    token: Option<Vec<u8>>,
    authed: bool,
    db: u8,
    name: Option<Vec<u8>>,
    /// State of the session's own random numbers (projection seeds).
    rng: u64,
}

/// The collection name of `key` in `db`: the key itself in db 0,
/// `"{db}:{key}"` in the others.
pub fn collection_name(db: u8, key: &str) -> String {
    if db == 0 {
        key.to_owned()
    } else {
        format!("{db}:{key}")
    }
}

/// The db a collection name belongs to and its key there: `"3:k"` is key
/// `k` of db 3; anything else is a db-0 key.
pub fn split_collection_name(name: &str) -> (u8, &str) {
    if let Some((db, key)) = name.split_once(':') {
        if let Ok(n) = db.parse::<u8>() {
            if (1..DATABASES).contains(&n) && db == n.to_string() {
                return (n, key);
            }
        }
    }
    (0, name)
}

fn mismatch(got: usize, dim: u32) -> Error {
    Error::err(format!("Vector dimension mismatch - got {got} but set has {dim}"))
}

/// Redis's similarity from a cosine distance: `(1 + cos) / 2`, so 1 for
/// the same direction and 0 for the opposite one.
///
/// Distances below `2^-20` are taken as 0: normalizing a vector in f32 and
/// taking its dot product with itself leaves rounding of that order, and an
/// identical vector must score exactly 1, as in Redis.
pub fn score(distance: f32) -> f64 {
    let d = f64::from(distance);
    let d = if d.abs() < 1.0 / (1u64 << 20) as f64 { 0.0 } else { d };
    (1.0 - d / 2.0).clamp(0.0, 1.0)
}

/// Glob matching as `KEYS` and `SCAN MATCH` do it: `*`, `?`, `[abc]`,
/// `[^a-z]`, and `\` to escape. Iterative, so a hostile pattern costs at
/// most `pattern × text` steps.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class_match(pattern, p, text[t]) {
                        if matched {
                            p = next;
                            t += 1;
                            continue;
                        }
                    }
                }
                b'\\' if p + 1 < pattern.len() && pattern[p + 1] == text[t] => {
                    p += 2;
                    t += 1;
                    continue;
                }
                // An escape that does not match: no literal fallback.
                b'\\' if p + 1 < pattern.len() => {}
                c if c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class starting at `pattern[p] == b'['`;
/// returns whether it matched and where the class ends.
fn class_match(pattern: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = p + 1;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &b = pattern.get(i)?;
        if b == b']' && !first {
            break;
        }
        first = false;
        if b == b'\\' && i + 1 < pattern.len() {
            matched |= pattern[i + 1] == c;
            i += 2;
        } else if pattern.get(i + 1) == Some(&b'-')
            && pattern.get(i + 2).is_some_and(|&e| e != b']')
        {
            let (lo, hi) = (b.min(pattern[i + 2]), b.max(pattern[i + 2]));
            matched |= (lo..=hi).contains(&c);
            i += 3;
        } else {
            matched |= b == c;
            i += 1;
        }
    }
    Some((matched != negate, i + 1))
}

/// `(name, arity, group, summary)` of every command this crate answers,
/// for `COMMAND COUNT`, `COMMAND DOCS` and `COMMAND INFO`.
const COMMANDS: &[(&str, i64, &str, &str)] = &[
    ("auth", -2, "connection", "Authenticates the connection."),
    ("client", -2, "connection", "CLIENT SETNAME, GETNAME, SETINFO, ID."),
    ("command", -1, "server", "Returns details about commands."),
    ("config", -2, "server", "CONFIG GET (read only)."),
    ("dbsize", 1, "server", "Returns the number of keys in the database."),
    ("del", -2, "generic", "Deletes keys."),
    ("echo", 2, "connection", "Returns the given string."),
    ("exists", -2, "generic", "Determines whether keys exist."),
    ("flushall", -1, "server", "Removes all keys from all databases."),
    ("flushdb", -1, "server", "Removes all keys from the current database."),
    ("hello", -1, "connection", "Handshakes with the server."),
    ("info", -1, "server", "Returns information about the server."),
    ("keys", 2, "generic", "Returns all key names that match a pattern."),
    ("ping", -1, "connection", "Returns the server's liveliness response."),
    ("quit", -1, "connection", "Closes the connection."),
    ("scan", -2, "generic", "Iterates over the key names in the database."),
    ("select", 2, "connection", "Changes the selected database."),
    ("type", 2, "generic", "Determines the type of value stored at a key."),
    ("unlink", -2, "generic", "Deletes keys."),
    ("vadd", -5, "vector_set", "Adds an element to a vector set, or updates its vector."),
    ("vcard", 2, "vector_set", "Returns the number of elements in a vector set."),
    ("vdim", 2, "vector_set", "Returns the dimension of vectors in the vector set."),
    ("vemb", -3, "vector_set", "Returns the vector associated with an element."),
    ("vgetattr", 3, "vector_set", "Retrieves the JSON attributes of an element."),
    ("vinfo", 2, "vector_set", "Returns information about a vector set."),
    ("vismember", 3, "vector_set", "Checks whether an element is in a vector set."),
    ("vlinks", -3, "vector_set", "Returns the neighbours of an element at each layer."),
    ("vrandmember", -2, "vector_set", "Returns random elements of a vector set."),
    ("vrange", -4, "vector_set", "Returns elements in a lexicographical range."),
    ("vrem", 3, "vector_set", "Removes an element from a vector set."),
    ("vsetattr", 4, "vector_set", "Sets or clears the JSON attributes of an element."),
    ("vsim", -4, "vector_set", "Returns elements similar to a vector or an element."),
];

impl Session {
    /// A new connection's session: RESP2, db 0. With a `token`, every
    /// command but `AUTH`, `HELLO ... AUTH` and `QUIT` is refused with
    /// `NOAUTH` until the client authenticates with it.
    pub fn new(id: u64, token: Option<Vec<u8>>) -> Session {
        let authed = token.is_none();
        Session {
            id,
            proto: Protocol::Resp2,
            token,
            authed,
            db: 0,
            name: None,
            rng: splitmix_seed(id),
        }
    }

    /// The protocol replies must be encoded in.
    pub fn protocol(&self) -> Protocol {
        self.proto
    }

    /// The selected db.
    pub fn db(&self) -> u8 {
        self.db
    }

    /// Whether the client may run commands.
    pub fn is_authenticated(&self) -> bool {
        self.authed
    }

    /// The `CLIENT SETNAME` name.
    pub fn client_name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }

    /// Parses and runs one command.
    pub async fn execute<B: Backend>(&mut self, backend: &B, args: &[Vec<u8>]) -> Outcome {
        if !self.authed {
            let name = args.first().map(|a| a.to_ascii_uppercase()).unwrap_or_default();
            if !matches!(name.as_slice(), b"AUTH" | b"HELLO" | b"QUIT") {
                return Reply::Error("NOAUTH Authentication required.".into()).into();
            }
        }
        match parse(args) {
            Ok(cmd) => self.run(backend, cmd).await,
            Err(e) => Reply::Error(e.redis_line()).into(),
        }
    }

    /// Runs one parsed command.
    pub async fn run<B: Backend>(&mut self, backend: &B, cmd: Command) -> Outcome {
        if let Command::Quit = cmd {
            return Outcome { reply: Reply::ok(), close: true };
        }
        match self.dispatch(backend, cmd).await {
            Ok(r) => r.into(),
            Err(e) => Reply::Error(e.redis_line()).into(),
        }
    }

    fn check_password(&self, username: Option<&[u8]>, password: &[u8]) -> Result<(), Error> {
        let Some(token) = &self.token else {
            return Err(Error::err(
                "AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            ));
        };
        // Compare in time independent of where the first difference is.
        let same = token.len() == password.len()
            && token.iter().zip(password).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same && username.is_none_or(|u| u == b"default") {
            Ok(())
        } else {
            Err(Error::command("WRONGPASS invalid username-password pair or user is disabled."))
        }
    }

    fn name_of(&self, key: &str) -> String {
        collection_name(self.db, key)
    }

    async fn db_keys<B: Backend>(&self, backend: &B) -> Result<Vec<String>, Error> {
        let all = backend.list().await?;
        let mut keys: Vec<String> = all
            .iter()
            .filter_map(|n| match split_collection_name(n) {
                (db, key) if db == self.db => Some(key.to_owned()),
                _ => None,
            })
            .collect();
        keys.sort_unstable();
        Ok(keys)
    }

    fn next_seed(&mut self) -> u64 {
        self.rng = crate::backend::splitmix(self.rng);
        self.rng
    }

    async fn dispatch<B: Backend>(&mut self, backend: &B, cmd: Command) -> Result<Reply, Error> {
        Ok(match cmd {
            Command::Hello { proto, auth, setname } => {
                if let Some((user, pass)) = &auth {
                    self.check_password(Some(user), pass)?;
                    self.authed = true;
                } else if !self.authed {
                    return Err(Error::command(
                        "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
                         HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
                         select the RESP protocol version at the same time",
                    ));
                }
                if let Some(p) = proto {
                    self.proto = if p == 3 { Protocol::Resp3 } else { Protocol::Resp2 };
                }
                if let Some(n) = setname {
                    self.name = Some(n);
                }
                self.hello()
            }
            Command::Auth { username, password } => {
                self.check_password(username.as_deref(), &password)?;
                self.authed = true;
                Reply::ok()
            }
            Command::Ping(None) => Reply::Simple("PONG".into()),
            Command::Ping(Some(m)) | Command::Echo(m) => Reply::Bulk(m),
            Command::Select(db) => {
                self.db = db;
                Reply::ok()
            }
            Command::Quit => Reply::ok(),
            Command::Del(keys) => {
                let mut n = 0;
                for k in keys {
                    n += i64::from(backend.delete(&self.name_of(&k)).await?);
                }
                Reply::Int(n)
            }
            Command::Exists(keys) => {
                let mut n = 0;
                for k in keys {
                    n += i64::from(backend.spec(&self.name_of(&k)).await?.is_some());
                }
                Reply::Int(n)
            }
            Command::Type(k) => Reply::Simple(
                if backend.spec(&self.name_of(&k)).await?.is_some() { "vectorset" } else { "none" }
                    .into(),
            ),
            Command::DbSize => Reply::Int(self.db_keys(backend).await?.len() as i64),
            Command::FlushDb => {
                for k in self.db_keys(backend).await? {
                    backend.delete(&self.name_of(&k)).await?;
                }
                Reply::ok()
            }
            Command::FlushAll => {
                for n in backend.list().await? {
                    backend.delete(&n).await?;
                }
                Reply::ok()
            }
            Command::Keys(pattern) => Reply::Array(
                self.db_keys(backend)
                    .await?
                    .into_iter()
                    .filter(|k| glob_match(&pattern, k.as_bytes()))
                    .map(Reply::bulk)
                    .collect(),
            ),
            Command::Scan { cursor, pattern, count, type_name } => {
                // The cursor is a position in the sorted key list: keys
                // added or removed during a scan may be missed or repeated,
                // which SCAN's contract allows.
                let keys = self.db_keys(backend).await?;
                let start = usize::try_from(cursor).unwrap_or(usize::MAX).min(keys.len());
                let end = start.saturating_add(count).min(keys.len());
                let type_ok = type_name.as_deref().is_none_or(|t| t == "vectorset");
                let page = keys[start..end]
                    .iter()
                    .filter(|k| {
                        type_ok && pattern.as_deref().is_none_or(|p| glob_match(p, k.as_bytes()))
                    })
                    .map(Reply::bulk)
                    .collect();
                let next = if end >= keys.len() { 0 } else { end };
                Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(page)])
            }
            Command::ClientSetName(n) => {
                self.name = if n.is_empty() { None } else { Some(n) };
                Reply::ok()
            }
            Command::ClientGetName => self.name.clone().map_or(Reply::Null, Reply::Bulk),
            Command::ClientSetInfo => Reply::ok(),
            Command::ClientId => Reply::Int(self.id as i64),
            Command::CommandCount => Reply::Int(COMMANDS.len() as i64),
            Command::CommandDocs(names) => command_docs(&names),
            Command::Info => {
                let n = self.db_keys(backend).await?.len();
                let text = format!(
                    "# Server\r\nredis_version:{REDIS_VERSION}\r\nvecshard_version:{}\r\nredis_mode:standalone\r\n\
                     \r\n# Keyspace\r\ndb{}:keys={n},expires=0,avg_ttl=0\r\n",
                    env!("CARGO_PKG_VERSION"),
                    self.db
                );
                Reply::bulk(text)
            }
            Command::ConfigGet(patterns) => {
                let table: &[(&str, &str)] = &[
                    ("databases", "16"),
                    ("maxmemory", "0"),
                    ("save", ""),
                    ("appendonly", "no"),
                    ("proto-max-bulk-len", "1048576"),
                    ("timeout", "0"),
                ];
                Reply::Map(
                    table
                        .iter()
                        .filter(|(k, _)| {
                            patterns
                                .iter()
                                .any(|p| glob_match(&p.to_ascii_lowercase(), k.as_bytes()))
                        })
                        .map(|(k, v)| (Reply::bulk(k), Reply::bulk(v)))
                        .collect(),
                )
            }
            Command::VAdd { key, reduce, vector, element, cas: _, quant, ef, attrs, m } => {
                self.vadd(backend, &key, reduce, vector, &element, quant, ef, attrs, m).await?
            }
            Command::VSim {
                key,
                query,
                with_scores,
                with_attribs,
                count,
                epsilon,
                ef,
                filter,
                filter_ef,
                truth,
                nothread: _,
            } => {
                let name = self.name_of(&key);
                let Some(spec) = backend.spec(&name).await? else {
                    return Ok(Reply::Array(Vec::new()));
                };
                let (vector, itself) = match query {
                    Query::Element(e) => match backend.get(&name, &e).await? {
                        Some(el) => (el.vector, Some(e)),
                        None => return Err(Error::err("element not found in set")),
                    },
                    Query::Vector(v) => (project(&spec, v, None)?, None),
                };
                if let Some(f) = &filter {
                    if let Err(e) = vecshard_filter::Filter::compile(f) {
                        return Err(filter_error(f, &e));
                    }
                }
                let req = SearchRequest {
                    vector,
                    k: count.min(MAX_K),
                    ef: ef.map(|e| e.min(MAX_EF)),
                    filter,
                    filter_ef,
                    with_attributes: with_attribs,
                    exact: truth,
                };
                let mut hits = backend.search(&name, &req).await?;
                // An element is identical to itself: under Q8 or BIN the
                // vector read back is decoded from codes and its distance to
                // its own codes is a rounding error, not a difference.
                if let Some(e) = itself {
                    for h in hits.iter_mut().filter(|h| h.element == e) {
                        h.distance = 0.0;
                    }
                }
                if let Some(eps) = epsilon {
                    hits.retain(|h| score(h.distance) >= 1.0 - eps);
                }
                if !with_scores && !with_attribs {
                    Reply::Array(hits.into_iter().map(|h| Reply::bulk(h.element)).collect())
                } else if with_scores && with_attribs && self.proto == Protocol::Resp2 {
                    // RESP2 flattens to name, score, attributes triples
                    // (RESP3 maps each name to a [score, attributes] pair).
                    Reply::Array(
                        hits.into_iter()
                            .flat_map(|h| {
                                [
                                    Reply::bulk(h.element),
                                    Reply::Double(score(h.distance)),
                                    h.attributes.map_or(Reply::Null, Reply::Bulk),
                                ]
                            })
                            .collect(),
                    )
                } else {
                    Reply::Map(
                        hits.into_iter()
                            .map(|h| {
                                let s = Reply::Double(score(h.distance));
                                let a = h.attributes.map_or(Reply::Null, Reply::Bulk);
                                let v = match (with_scores, with_attribs) {
                                    (true, true) => Reply::Array(vec![s, a]),
                                    (true, false) => s,
                                    _ => a,
                                };
                                (Reply::bulk(h.element), v)
                            })
                            .collect(),
                    )
                }
            }
            Command::VRem { key, element } => {
                Reply::Bool(backend.remove(&self.name_of(&key), &element).await?)
            }
            Command::VCard(key) => {
                Reply::Int(backend.info(&self.name_of(&key)).await?.map_or(0, |i| i.size as i64))
            }
            Command::VDim(key) => match backend.spec(&self.name_of(&key)).await? {
                Some(spec) => Reply::Int(i64::from(spec.dim)),
                None => return Err(Error::err("key does not exist")),
            },
            Command::VEmb { key, element, raw } => {
                let name = self.name_of(&key);
                let Some(spec) = backend.spec(&name).await? else { return Ok(Reply::Null) };
                let Some(el) = backend.get(&name, &element).await? else { return Ok(Reply::Null) };
                if raw {
                    raw_embedding(spec.quant, &el.vector)
                } else {
                    Reply::Array(el.vector.iter().map(|&x| Reply::Double(f64::from(x))).collect())
                }
            }
            Command::VGetAttr { key, element } => {
                match backend.get(&self.name_of(&key), &element).await? {
                    Some(el) => el.attributes.map_or(Reply::Null, Reply::Bulk),
                    None => Reply::Null,
                }
            }
            Command::VSetAttr { key, element, attrs } => {
                let attrs = if attrs.is_empty() {
                    None
                } else {
                    check_attributes(&attrs)?;
                    Some(attrs.as_slice())
                };
                let name = self.name_of(&key);
                if backend.spec(&name).await?.is_none() {
                    return Ok(Reply::Bool(false));
                }
                Reply::Bool(backend.set_attributes(&name, &element, attrs).await?)
            }
            Command::VInfo(key) => match backend.info(&self.name_of(&key)).await? {
                Some(i) => vinfo(&i),
                None => Reply::NullArray,
            },
            Command::VLinks { key, element, with_scores } => {
                let Some(layers) = backend.links(&self.name_of(&key), &element).await? else {
                    return Ok(Reply::Null);
                };
                // Redis lists the top layer first.
                Reply::Array(
                    layers
                        .into_iter()
                        .rev()
                        .map(|layer: Vec<Found>| {
                            if with_scores {
                                Reply::Map(
                                    layer
                                        .into_iter()
                                        .map(|f| {
                                            (
                                                Reply::bulk(f.element),
                                                Reply::Double(score(f.distance)),
                                            )
                                        })
                                        .collect(),
                                )
                            } else {
                                Reply::Array(
                                    layer.into_iter().map(|f| Reply::bulk(f.element)).collect(),
                                )
                            }
                        })
                        .collect(),
                )
            }
            Command::VRandMember { key, count } => {
                let name = self.name_of(&key);
                match count {
                    None => match backend.random_members(&name, 1, false).await?.pop() {
                        Some(e) => Reply::bulk(e),
                        None => Reply::Null,
                    },
                    Some(0) => Reply::Array(Vec::new()),
                    Some(c) => {
                        let n = usize::try_from(c.unsigned_abs()).unwrap_or(usize::MAX);
                        if c < 0 && n > MAX_RANDOM_REPEATS {
                            return Err(Error::err(format!(
                                "count {c} is over vecshard's limit of -{MAX_RANDOM_REPEATS}"
                            )));
                        }
                        let n = if c > 0 { n.min(MAX_KEYS_REPLY) } else { n };
                        let got = backend.random_members(&name, n, c < 0).await?;
                        Reply::Array(got.into_iter().map(Reply::bulk).collect())
                    }
                }
            }
            Command::VIsMember { key, element } => {
                Reply::Bool(backend.contains(&self.name_of(&key), &element).await?)
            }
            Command::VRange { key, start, end, count } => {
                if count == 0 {
                    return Ok(Reply::Array(Vec::new()));
                }
                let count = usize::try_from(count).unwrap_or(usize::MAX).min(MAX_KEYS_REPLY);
                let got = backend.range(&self.name_of(&key), &start, &end, count).await?;
                Reply::Array(got.into_iter().map(Reply::bulk).collect())
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn vadd<B: Backend>(
        &mut self,
        backend: &B,
        key: &str,
        reduce: Option<u32>,
        vector: Vec<f32>,
        element: &str,
        quant: Option<Quant>,
        ef: Option<u32>,
        attrs: Option<Vec<u8>>,
        m: Option<u32>,
    ) -> Result<Reply, Error> {
        let name = self.name_of(key);
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(Error::err("invalid vector specification"));
        }
        let update = match attrs {
            None => AttrUpdate::Keep,
            Some(a) if a.is_empty() => AttrUpdate::Clear,
            Some(a) => {
                check_attributes(&a)?;
                AttrUpdate::Set(a)
            }
        };
        let quant = quant.unwrap_or(DEFAULT_QUANT);
        let m = m.unwrap_or(DEFAULT_M);
        // Two rounds at most: a concurrent first VADD of the same key may
        // create the set between our look and our create (with another
        // REDUCE seed, say); then the set it made is the set, and this
        // VADD goes through the same checks as any later one.
        let mut round = 0;
        let spec = loop {
            round += 1;
            let existing = backend.spec(&name).await?;
            match existing {
                Some(spec) => {
                    // Quantization and M are fixed when the set is created; an
                    // absent option means the default, as in Redis, so a set
                    // made with NOQUANT refuses a later VADD without it.
                    if spec.quant != quant {
                        return Err(Error::err(
                            "asked quantization mismatch with existing vector set",
                        ));
                    }
                    if spec.m != m {
                        return Err(Error::err("asked M value mismatch with existing vector set"));
                    }
                    if reduce.is_some() && spec.projection.is_none() {
                        return Err(Error::err(
                            "cannot add projection to existing set without projection",
                        ));
                    }
                    break spec;
                }
                None => {
                    if let Some(r) = reduce {
                        let cells = u64::from(r) * vector.len() as u64;
                        if cells > MAX_PROJECTION_CELLS {
                            return Err(Error::err(format!(
                                "REDUCE {r} of {} dimensions is over vecshard's limit of \
                                 {MAX_PROJECTION_CELLS} projection cells",
                                vector.len()
                            )));
                        }
                    }
                    if m as usize > vecshard_core::MAX_M {
                        return Err(Error::err(format!(
                            "invalid M: vecshard supports M up to {}",
                            vecshard_core::MAX_M
                        )));
                    }
                    let spec = CollectionSpec {
                        dim: reduce.unwrap_or(vector.len() as u32),
                        quant,
                        m,
                        ef_construction: ef
                            .unwrap_or(DEFAULT_EF_CONSTRUCTION)
                            .min(vecshard_core::MAX_EF_CONSTRUCTION as u32)
                            .max(m),
                        projection: reduce.map(|_| Projection {
                            input_dim: vector.len() as u32,
                            seed: self.next_seed(),
                        }),
                    };
                    match backend.create(&name, &spec).await {
                        Ok(()) => break spec,
                        Err(e) if round == 1 && is_settings_mismatch(&e) => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        let stored = project(&spec, vector, Some(reduce))?;
        let inserted = backend.upsert(&name, &spec, element, &stored, update).await;
        match inserted {
            Ok(b) => Ok(Reply::Bool(b)),
            Err(e) => {
                // A set created by this VADD must not outlive its failed
                // first insert: Redis never shows an empty key.
                backend.delete_if_empty(&name).await?;
                Err(e)
            }
        }
    }

    fn hello(&self) -> Reply {
        let module = Reply::Map(vec![
            (Reply::bulk("name"), Reply::bulk("vectorset")),
            (Reply::bulk("ver"), Reply::Int(1)),
            (Reply::bulk("path"), Reply::bulk("")),
            (Reply::bulk("args"), Reply::Array(Vec::new())),
        ]);
        Reply::Map(vec![
            (Reply::bulk("server"), Reply::bulk("redis")),
            (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
            (Reply::bulk("proto"), Reply::Int(if self.proto == Protocol::Resp3 { 3 } else { 2 })),
            (Reply::bulk("id"), Reply::Int(self.id as i64)),
            (Reply::bulk("mode"), Reply::bulk("standalone")),
            (Reply::bulk("role"), Reply::bulk("master")),
            (Reply::bulk("modules"), Reply::Array(vec![module])),
        ])
    }
}

/// The backend's answer to creating a set that exists with other settings.
fn is_settings_mismatch(e: &Error) -> bool {
    matches!(e.kind(), crate::error::ErrorKind::Backend { code, .. } if *code == ErrorCode::SettingsMismatch)
}

fn splitmix_seed(id: u64) -> u64 {
    crate::backend::splitmix(id ^ 0x7665_6373_6861_7264)
}

/// Checks a vector against a set's spec and projects it when the set has a
/// projection. `reduce` is the `VADD`'s `REDUCE` (`None` for `VSIM`, which
/// projects any vector of the input dimension).
fn project(
    spec: &CollectionSpec,
    v: Vec<f32>,
    reduce: Option<Option<u32>>,
) -> Result<Vec<f32>, Error> {
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::err("invalid vector specification"));
    }
    match (&spec.projection, reduce) {
        (None, _) => {
            if v.len() != spec.dim as usize {
                return Err(mismatch(v.len(), spec.dim));
            }
            Ok(v)
        }
        // A projected set takes VADDs that repeat `REDUCE dim` with a vector
        // of the input dimension; anything else is Redis's mismatch error.
        (Some(p), Some(r)) => {
            if r != Some(spec.dim) || v.len() != p.input_dim as usize {
                return Err(mismatch(v.len(), spec.dim));
            }
            Ok(p.apply(&v, spec.dim as usize))
        }
        (Some(p), None) => {
            if v.len() != p.input_dim as usize {
                return Err(mismatch(v.len(), spec.dim));
            }
            Ok(p.apply(&v, spec.dim as usize))
        }
    }
}

/// Redis's FILTER error: `near:` shows the text after an unknown symbol
/// operator (`===`), and the whole expression for every other mistake
/// (checked case by case against Redis 8.2).
fn filter_error(src: &str, e: &vecshard_filter::FilterError) -> Error {
    let near = match e.kind() {
        vecshard_filter::FilterErrorKind::UnknownOperator { position, op }
            if !op.starts_with(|c: char| c.is_ascii_alphabetic()) =>
        {
            src.get(position + op.len()..).unwrap_or(src)
        }
        _ => src,
    };
    Error::err(format!("syntax error in FILTER expression near: {near}"))
}

fn check_attributes(a: &[u8]) -> Result<(), Error> {
    vecshard_filter::Attributes::parse(a)
        .map(|_| ())
        .map_err(|e| Error::err(format!("attributes must be a JSON object: {e}")))
}

fn vinfo(i: &CollectionInfo) -> Reply {
    let s = |k: &str| Reply::Simple(k.into());
    Reply::Map(vec![
        (s("quant-type"), s(i.spec.quant.name())),
        (s("hnsw-m"), Reply::Int(i64::from(i.spec.m))),
        (s("vector-dim"), Reply::Int(i64::from(i.spec.dim))),
        (
            s("projection-input-dim"),
            Reply::Int(i.spec.projection.map_or(0, |p| i64::from(p.input_dim))),
        ),
        (s("size"), Reply::Int(i.size as i64)),
        (s("max-level"), Reply::Int(i64::from(i.max_level))),
        (s("attributes-count"), Reply::Int(i.attributes_count as i64)),
        (s("vset-uid"), Reply::Int(i.uid as i64)),
        (s("hnsw-max-node-uid"), Reply::Int(i.max_node_uid as i64)),
    ])
}

/// `VEMB RAW`: Redis's internal encoding, recomputed from the stored
/// vector (the backend keeps its own codes): the L2-normalized vector as
/// f32 little-endian, as int8 codes scaled to the largest magnitude (with
/// that magnitude as the fourth item), or as sign bits in 64-bit words.
fn raw_embedding(quant: Quant, v: &[f32]) -> Reply {
    let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    let unit: Vec<f32> =
        v.iter().map(|&x| if norm > 0.0 { (f64::from(x) / norm) as f32 } else { 0.0 }).collect();
    let norm_reply = Reply::Double(f64::from(norm as f32));
    match quant {
        Quant::NoQuant => Reply::Array(vec![
            Reply::Simple("f32".into()),
            Reply::Bulk(unit.iter().flat_map(|x| x.to_le_bytes()).collect()),
            norm_reply,
        ]),
        Quant::Q8 => {
            let range = unit.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let codes = unit
                .iter()
                .map(|&x| {
                    if range > 0.0 {
                        (x / range * 127.0).round().clamp(-127.0, 127.0) as i8 as u8
                    } else {
                        0
                    }
                })
                .collect();
            Reply::Array(vec![
                Reply::Simple("int8".into()),
                Reply::Bulk(codes),
                norm_reply,
                Reply::Double(f64::from(range)),
            ])
        }
        Quant::Bin => {
            let mut words = vec![0u8; v.len().div_ceil(64) * 8];
            for (i, &x) in unit.iter().enumerate() {
                if x > 0.0 {
                    words[i / 8] |= 1 << (i % 8);
                }
            }
            Reply::Array(vec![Reply::Simple("bin".into()), Reply::Bulk(words), norm_reply])
        }
    }
}

fn command_docs(names: &[String]) -> Reply {
    Reply::Map(
        COMMANDS
            .iter()
            .filter(|(n, ..)| names.is_empty() || names.iter().any(|x| x == n))
            .map(|(n, _arity, group, summary)| {
                (
                    Reply::bulk(n),
                    Reply::Map(vec![
                        (Reply::bulk("summary"), Reply::bulk(summary)),
                        (
                            Reply::bulk("since"),
                            Reply::bulk(if *group == "vector_set" { "8.0.0" } else { "1.0.0" }),
                        ),
                        (Reply::bulk("group"), Reply::bulk(group)),
                    ]),
                )
            })
            .collect(),
    )
}

/// A [`Decoder`] and a [`Session`]: everything one connection needs, so
/// that a server's connection task is a read loop around
/// [`Connection::receive`].
#[derive(Debug)]
pub struct Connection {
    decoder: Decoder,
    session: Session,
    open: bool,
}

impl Connection {
    /// A new connection.
    pub fn new(id: u64, token: Option<Vec<u8>>, limits: Limits) -> Connection {
        Connection { decoder: Decoder::new(limits), session: Session::new(id, token), open: true }
    }

    /// Its session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Bytes the connection holds (see [`Decoder::buffered`]); never more
    /// than the limits' `max_buffered`.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Whether the connection should stay open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Takes bytes read from the socket, runs every complete command in
    /// order and appends the replies to `out`. Returns whether the
    /// connection stays open: after `QUIT` or a framing error (whose line
    /// is in `out`), the caller writes `out` and closes.
    pub async fn receive<B: Backend>(
        &mut self,
        backend: &B,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        if !self.open {
            return false;
        }
        if let Err(e) = self.decoder.feed(data) {
            Reply::Error(e.redis_line()).encode(self.session.protocol(), out);
            self.open = false;
            return false;
        }
        loop {
            match self.decoder.next_command() {
                Ok(Some(args)) => {
                    let o = self.session.execute(backend, &args).await;
                    o.reply.encode(self.session.protocol(), out);
                    if o.close {
                        self.open = false;
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(e) => {
                    Reply::Error(e.redis_line()).encode(self.session.protocol(), out);
                    self.open = false;
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        for (p, t, want) in [
            ("*", "abc", true),
            ("a*c", "abbbc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[ab]x", "bx", true),
            ("[^ab]x", "bx", false),
            ("[a-c]*", "cat", true),
            ("h\\*", "h*", true),
            ("h\\*", "hx", false),
            ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("[", "[", false),
        ] {
            assert_eq!(glob_match(p.as_bytes(), t.as_bytes()), want, "{p} {t}");
        }
    }

    #[test]
    fn db_names_round_trip() {
        assert_eq!(collection_name(0, "k"), "k");
        assert_eq!(collection_name(3, "k"), "3:k");
        assert_eq!(split_collection_name("3:k"), (3, "k"));
        assert_eq!(split_collection_name("15:a:b"), (15, "a:b"));
        assert_eq!(split_collection_name("16:k"), (0, "16:k"));
        assert_eq!(split_collection_name("03:k"), (0, "03:k"));
        assert_eq!(split_collection_name("0:k"), (0, "0:k"));
    }

    #[test]
    fn score_of_distances() {
        assert_eq!(score(0.0), 1.0);
        assert_eq!(score(1e-7), 1.0);
        assert_eq!(score(1.0), 0.5);
        assert_eq!(score(2.0), 0.0);
    }
}
