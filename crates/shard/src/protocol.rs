//! The shard protocol: one [`Request`]/[`Response`] pair of serde enums,
//! postcard-encoded behind a version byte.
//!
//! This is the *only* way to talk to a shard. The same bytes travel through
//! the wasm guest ABI (`vs_call`), in the body of `POST /v1/shard` between a
//! coordinator and a remote shard server, in every record of the write-ahead
//! log, and in `postMessage` to a Web Worker.
//!
//! # Wire format
//!
//! ```text
//! byte 0      PROTOCOL_VERSION (currently 1)
//! bytes 1..   postcard encoding of the Request or Response
//! ```
//!
//! postcard encodes an enum as its variant index (a varint) followed by the
//! fields in order, so **variants and fields are append-only**: a new
//! variant goes at the end, an existing one never changes shape. A change
//! that cannot follow that rule bumps [`PROTOCOL_VERSION`]. A decoder that
//! sees another version answers [`ErrorCode::UnsupportedVersion`] rather
//! than guessing.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};
use vecshard_core::{Config, Metric, Quantization};

/// Version byte in front of every encoded message.
pub const PROTOCOL_VERSION: u8 = 1;

/// Largest attributes blob accepted per element (64 KiB).
pub const MAX_ATTRIBUTES_LEN: usize = 64 * 1024;

/// Distance function, as it travels on the wire and in `cluster.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireMetric {
    /// `1 - cos(a, b)`.
    Cosine,
    /// Squared Euclidean distance.
    L2,
    /// `-dot(a, b)`.
    #[serde(rename = "ip")]
    InnerProduct,
}

/// Vector storage, as it travels on the wire and in `cluster.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireQuantization {
    /// 4 bytes per dimension.
    F32,
    /// 1 byte per dimension plus a scale.
    I8,
    /// 1 bit per dimension, rescored with full vectors.
    Binary,
}

impl From<Metric> for WireMetric {
    fn from(m: Metric) -> Self {
        match m {
            Metric::Cosine => WireMetric::Cosine,
            Metric::L2 => WireMetric::L2,
            Metric::InnerProduct => WireMetric::InnerProduct,
        }
    }
}

impl From<WireMetric> for Metric {
    fn from(m: WireMetric) -> Self {
        match m {
            WireMetric::Cosine => Metric::Cosine,
            WireMetric::L2 => Metric::L2,
            WireMetric::InnerProduct => Metric::InnerProduct,
        }
    }
}

impl From<Quantization> for WireQuantization {
    fn from(q: Quantization) -> Self {
        match q {
            Quantization::F32 => WireQuantization::F32,
            Quantization::I8 => WireQuantization::I8,
            Quantization::Binary => WireQuantization::Binary,
        }
    }
}

impl From<WireQuantization> for Quantization {
    fn from(q: WireQuantization) -> Self {
        match q {
            WireQuantization::F32 => Quantization::F32,
            WireQuantization::I8 => Quantization::I8,
            WireQuantization::Binary => Quantization::Binary,
        }
    }
}

/// Index settings of a shard (and of a whole cluster: every shard of a
/// cluster shares them, except that shard `i` uses `seed + i`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Vector dimension.
    pub dim: u32,
    /// Distance function.
    pub metric: WireMetric,
    /// HNSW `m` (layer 0 keeps `2m`).
    pub m: u32,
    /// HNSW `ef_construction`.
    pub ef_construction: u32,
    /// Default `ef` for searches that pass none.
    pub ef_search: u32,
    /// Vector storage.
    pub quantization: WireQuantization,
    /// Seed of the level generator.
    pub seed: u64,
}

impl Settings {
    /// The core defaults for `dim` and `metric` (m 16, ef_construction 200,
    /// ef 64, f32, the core's default seed).
    pub fn new(dim: u32, metric: WireMetric) -> Settings {
        Settings::from(&Config::new(dim as usize, metric.into()))
    }

    /// The core [`Config`] these settings describe.
    pub fn to_config(&self) -> Config {
        Config::new(self.dim as usize, self.metric.into())
            .m(self.m as usize)
            .ef_construction(self.ef_construction as usize)
            .ef_search(self.ef_search as usize)
            .quantization(self.quantization.into())
            .seed(self.seed)
    }
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Settings {
        Settings {
            dim: c.dim as u32,
            metric: c.metric.into(),
            m: c.m as u32,
            ef_construction: c.ef_construction as u32,
            ef_search: c.ef_search as u32,
            quantization: c.quantization.into(),
            seed: c.seed,
        }
    }
}

/// One element to upsert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// UTF-8 key, 1..=1024 bytes.
    pub key: String,
    /// The vector (`dim` finite values).
    pub vector: Vec<f32>,
    /// Opaque attributes (the HTTP API stores JSON text here). An upsert
    /// replaces the whole element, so `None` clears earlier attributes.
    pub attributes: Option<Vec<u8>>,
}

/// A search-time predicate. A hook for attribute filters to come; today it
/// can restrict results to keys with a prefix or to a list of keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Filter {
    /// Only keys starting with this prefix.
    KeyPrefix(String),
    /// Only these keys.
    Keys(Vec<String>),
}

/// What a shard is asked to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Create the (empty) index. Idempotent when the settings are equal;
    /// an error if the shard already holds an index with other settings.
    Create {
        /// Settings of the new index.
        settings: Settings,
    },
    /// Insert or replace elements. All are validated first: on error
    /// nothing changes.
    Upsert {
        /// The elements.
        items: Vec<Item>,
    },
    /// Remove keys; unknown keys are skipped and counted as not found.
    Remove {
        /// The keys.
        keys: Vec<String>,
    },
    /// The `k` nearest elements to `vector`.
    Search {
        /// The query.
        vector: Vec<f32>,
        /// Number of results, at least 1.
        k: u32,
        /// Candidate list size (default: the index's `ef_search`; raised to `k`).
        ef: Option<u32>,
        /// Optional predicate.
        filter: Option<Filter>,
    },
    /// One element by key.
    Get {
        /// The key.
        key: String,
    },
    /// Whether a key is present.
    Contains {
        /// The key.
        key: String,
    },
    /// Counts, settings and memory.
    Info,
    /// The shard snapshot bytes (see [`crate::snapshot`]).
    Snapshot,
    /// Replace the whole shard with a snapshot.
    Restore {
        /// Shard snapshot (or bare core snapshot) bytes.
        bytes: Vec<u8>,
    },
    // ---- appended for filtered search (issue 9); keep this order ----
    /// Set (`Some`) or clear (`None`) the attributes of one element without
    /// re-sending its vector (Redis `VSETATTR`). The bytes must be a JSON
    /// object (else `invalid_attributes`); an unknown key is `key_not_found`.
    /// A write: it goes to the write-ahead log.
    SetAttributes {
        /// The element.
        key: String,
        /// The new attributes (JSON object text), or `None` to clear them.
        attributes: Option<Vec<u8>>,
    },
    /// The attributes of one element (Redis `VGETATTR`).
    GetAttributes {
        /// The element.
        key: String,
    },
    /// [`Request::Search`] with an attribute filter expression (the Redis 8
    /// vector-sets FILTER language), an effort bound and the option to
    /// return each hit's attributes. Answered with [`Response::SearchHits`],
    /// which always holds `min(k, matches)` hits.
    FilteredSearch {
        /// The query.
        vector: Vec<f32>,
        /// Number of results, at least 1.
        k: u32,
        /// Candidate list size (default: the index's `ef_search`; raised to `k`).
        ef: Option<u32>,
        /// Optional key predicate (the same as in [`Request::Search`]); both
        /// it and `filter` must hold.
        key_filter: Option<Filter>,
        /// Filter expression, at most 4096 bytes (else `invalid_filter`).
        filter: Option<String>,
        /// Most nodes the filtered graph walk may expand before it stops
        /// (Redis `FILTER-EF`); default: the shard's choice. The answer
        /// still has `min(k, matches)` hits: a short walk is finished by an
        /// exact scan.
        filter_ef: Option<u32>,
        /// Return each hit's attributes.
        with_attributes: bool,
    },
    /// [`Request::Upsert`] that also requires every attributes blob to be
    /// a JSON object (else `invalid_attributes`, and nothing changes). The
    /// coordinator sends this one. `Upsert` keeps its old meaning (opaque
    /// bytes; non-object bytes are kept but the filter sees no attributes)
    /// so that write-ahead logs written before typed attributes replay.
    UpsertJson {
        /// The elements.
        items: Vec<Item>,
    },
    // ---- appended for lean memory (issue 11); keep this order ----
    /// Make room for `additional` more elements in one allocation per
    /// array, so that a bulk load of known size does not grow them by
    /// doubling (in wasm, linear memory never gives the slack back).
    /// Changes no data, so it is not a write; `capacity_exceeded` if the
    /// memory cannot be had. Answered with [`Response::Reserved`].
    Reserve {
        /// Elements about to be inserted.
        additional: u64,
    },
    // ---- appended for collections over RESP (issue 10); keep this order ----
    /// Keys within `[start, end]` in byte order, the first `limit` of them
    /// (Redis `VRANGE`). A page: at most [`MAX_KEYS_PAGE`] keys and about
    /// [`MAX_KEYS_PAGE_BYTES`] bytes whatever `limit` says; the answer says
    /// whether more keys are in range, and the next page starts after the
    /// last key (`KeyBound::Excluded(last)`). Costs one pass over the keys
    /// and a heap of `limit`. Answered with [`Response::Keys`].
    ListKeys {
        /// Lower end.
        start: KeyBound,
        /// Upper end.
        end: KeyBound,
        /// Most keys wanted.
        limit: u32,
    },
    /// Random keys (Redis `VRANDMEMBER`), drawn with a generator seeded by
    /// `seed`, so the same request on the same data gives the same answer.
    /// `distinct`: the keys at positions `[skip, skip + count)` of a random
    /// permutation of the shard's keys (so pages with the same seed never
    /// repeat a key); otherwise `count` independent uniform draws (`skip`
    /// ignored). A page, bounded as [`Request::ListKeys`]. Answered with
    /// [`Response::Keys`] (`more`: the permutation has keys past this page).
    RandomKeys {
        /// Keys wanted.
        count: u32,
        /// Without repeats.
        distinct: bool,
        /// Seed of the draw.
        seed: u64,
        /// Permutation positions to skip (`distinct` only).
        skip: u32,
    },
}

/// Most keys in one [`Response::Keys`].
pub const MAX_KEYS_PAGE: u32 = 10_000;
/// A [`Response::Keys`] stops after the key that passes this many bytes of
/// keys (so a page is at most this plus one key, 1 KiB).
pub const MAX_KEYS_PAGE_BYTES: usize = 1 << 20;

/// One end of a [`Request::ListKeys`] range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyBound {
    /// No bound.
    Unbounded,
    /// This key and beyond.
    Included(String),
    /// Strictly beyond this key.
    Excluded(String),
}

impl Request {
    /// Whether the request changes the shard (and so belongs in the
    /// write-ahead log).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Create { .. }
                | Request::Upsert { .. }
                | Request::Remove { .. }
                | Request::Restore { .. }
                | Request::SetAttributes { .. }
                | Request::UpsertJson { .. }
        )
    }

    /// A short name for logs and metrics (`"upsert"`, `"search"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Request::Create { .. } => "create",
            Request::Upsert { .. } => "upsert",
            Request::Remove { .. } => "remove",
            Request::Search { .. } => "search",
            Request::Get { .. } => "get",
            Request::Contains { .. } => "contains",
            Request::Info => "info",
            Request::Snapshot => "snapshot",
            Request::Restore { .. } => "restore",
            Request::SetAttributes { .. } => "set_attributes",
            Request::GetAttributes { .. } => "get_attributes",
            Request::FilteredSearch { .. } => "search",
            Request::UpsertJson { .. } => "upsert",
            Request::Reserve { .. } => "reserve",
            Request::ListKeys { .. } => "list_keys",
            Request::RandomKeys { .. } => "random_keys",
        }
    }
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The key.
    pub key: String,
    /// Full-precision distance (smaller is closer).
    pub distance: f32,
}

/// An element as `Get` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemOut {
    /// The key.
    pub key: String,
    /// The stored vector (normalized under cosine, scaled back by the
    /// original norm; decoded from codes under quantization).
    pub vector: Vec<f32>,
    /// The attributes, if any.
    pub attributes: Option<Vec<u8>>,
}

/// Counts, settings and memory of one shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Settings of the index (`None` before `Create`/`Restore`).
    pub settings: Option<Settings>,
    /// Live elements.
    pub len: u64,
    /// Elements with attributes.
    pub with_attributes: u64,
    /// Heap bytes of the index (vectors, graph, keys).
    pub index_bytes: u64,
    /// Heap bytes of the attributes.
    pub attribute_bytes: u64,
    /// Top HNSW layer.
    pub max_level: u32,
    /// Distance kernels in use (`"avx2+fma"`, `"simd128"`, `"simd128+relaxed"`, `"scalar"`).
    pub kernel: String,
}

/// What a shard answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// `Create` succeeded.
    Created,
    /// `Upsert` succeeded.
    Upserted {
        /// Keys that were new.
        inserted: u32,
        /// Keys that replaced an element.
        updated: u32,
    },
    /// `Remove` finished.
    Removed {
        /// Keys that were present and are now gone.
        removed: u32,
        /// Keys that were not present.
        not_found: u32,
    },
    /// `Search` results, sorted by `(distance, key)`.
    Hits {
        /// At most `k` hits.
        hits: Vec<Hit>,
    },
    /// `Get` result.
    Item {
        /// The element, or `None` if the key is unknown.
        item: Option<ItemOut>,
    },
    /// `Contains` result.
    Contains {
        /// Whether the key is present.
        present: bool,
    },
    /// `Info` result.
    Info {
        /// The info.
        info: ShardInfo,
    },
    /// `Snapshot` result.
    Snapshot {
        /// Shard snapshot bytes.
        bytes: Vec<u8>,
    },
    /// `Restore` succeeded.
    Restored {
        /// Elements in the restored shard.
        len: u64,
    },
    /// The request failed and changed nothing.
    Error(WireError),
    // ---- appended for filtered search (issue 9); keep this order ----
    /// `SetAttributes` succeeded.
    AttributesSet,
    /// `GetAttributes` result.
    Attributes {
        /// Whether the key is present.
        present: bool,
        /// Its attributes (`None` when absent or unset).
        attributes: Option<Vec<u8>>,
    },
    /// `FilteredSearch` results, sorted by `(distance, key)`.
    SearchHits {
        /// `min(k, matches)` hits.
        hits: Vec<SearchHit>,
        /// How the shard answered (for diagnostics and benchmarks).
        plan: PlanKind,
    },
    // ---- appended for lean memory (issue 11); keep this order ----
    /// `Reserve` succeeded.
    Reserved,
    // ---- appended for collections over RESP (issue 10); keep this order ----
    /// `ListKeys` (sorted) or `RandomKeys` (in draw order) result.
    Keys {
        /// The page.
        keys: Vec<String>,
        /// More keys follow this page (in range, or in the permutation).
        more: bool,
    },
}

/// One hit of a [`Request::FilteredSearch`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The key.
    pub key: String,
    /// Full-precision distance (smaller is closer).
    pub distance: f32,
    /// The attributes when `with_attributes` was set (and the element has some).
    pub attributes: Option<Vec<u8>>,
}

/// Which strategy the shard's planner took for a [`Request::FilteredSearch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanKind {
    /// No filter: the plain graph search.
    Unfiltered,
    /// Few matches: an exact scan of the candidate slots.
    Exact,
    /// A filtered graph walk.
    Walk,
    /// A filtered graph walk that came up short, finished by an exact scan.
    WalkThenExact,
}

/// Stable error codes. The HTTP API and the npm package use the same
/// strings ([`ErrorCode::as_str`]); append-only like the rest of the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The bytes are not a valid request.
    MalformedRequest,
    /// The version byte is not [`PROTOCOL_VERSION`].
    UnsupportedVersion,
    /// The shard has no index yet (send `Create` or `Restore`).
    NotInitialized,
    /// `Create` with settings other than the existing index's.
    SettingsMismatch,
    /// Invalid index settings.
    InvalidConfig,
    /// A vector has the wrong length.
    DimensionMismatch,
    /// A vector holds NaN or an infinity.
    NonFiniteValue,
    /// An all-zero vector under cosine.
    ZeroVector,
    /// An empty key.
    EmptyKey,
    /// A key over 1024 bytes.
    KeyTooLong,
    /// A duplicate key where one is not allowed.
    DuplicateKey,
    /// An unknown key.
    KeyNotFound,
    /// `k` is zero.
    InvalidK,
    /// The shard is full.
    CapacityExceeded,
    /// A snapshot failed validation.
    InvalidSnapshot,
    /// Attributes over [`MAX_ATTRIBUTES_LEN`].
    AttributesTooLarge,
    /// Something that should not happen; the message says what.
    Internal,
    // ---- appended for filtered search (issue 9) ----
    /// A filter expression that does not compile (the message gives the
    /// position), or one over 4096 bytes.
    InvalidFilter,
    /// Attributes that are not a JSON object.
    InvalidAttributes,
    /// A vector component's magnitude is above the core's `MAX_ABS_VALUE`.
    ValueOutOfRange,
    /// A request over a bound of [`limits`](crate::limits): `k`, `ef`, the
    /// count or bytes of a key-list filter, or a batch.
    RequestTooLarge,
}

impl ErrorCode {
    /// The stable snake_case name (`"dimension_mismatch"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedRequest => "malformed_request",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::NotInitialized => "not_initialized",
            ErrorCode::SettingsMismatch => "settings_mismatch",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::DimensionMismatch => "dimension_mismatch",
            ErrorCode::NonFiniteValue => "non_finite_value",
            ErrorCode::ZeroVector => "zero_vector",
            ErrorCode::EmptyKey => "empty_key",
            ErrorCode::KeyTooLong => "key_too_long",
            ErrorCode::DuplicateKey => "duplicate_key",
            ErrorCode::KeyNotFound => "key_not_found",
            ErrorCode::InvalidK => "invalid_k",
            ErrorCode::CapacityExceeded => "capacity_exceeded",
            ErrorCode::InvalidSnapshot => "invalid_snapshot",
            ErrorCode::AttributesTooLarge => "attributes_too_large",
            ErrorCode::Internal => "internal",
            ErrorCode::InvalidFilter => "invalid_filter",
            ErrorCode::InvalidAttributes => "invalid_attributes",
            ErrorCode::ValueOutOfRange => "value_out_of_range",
            ErrorCode::RequestTooLarge => "request_too_large",
        }
    }

    /// Whether the caller's input caused the error (as opposed to the shard).
    pub fn is_bad_input(self) -> bool {
        !matches!(self, ErrorCode::Internal | ErrorCode::NotInitialized)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as it travels in a [`Response::Error`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    /// What kind of error.
    pub code: ErrorCode,
    /// A message for people: what went wrong and what to do.
    pub message: String,
}

impl WireError {
    /// A new error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> WireError {
        WireError { code, message: message.into() }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for WireError {}

impl From<vecshard_core::Error> for WireError {
    fn from(e: vecshard_core::Error) -> WireError {
        use vecshard_core::ErrorKind as K;
        let code = match e.kind() {
            K::InvalidConfig { .. } => ErrorCode::InvalidConfig,
            K::DimensionMismatch { .. } => ErrorCode::DimensionMismatch,
            K::NonFiniteValue { .. } => ErrorCode::NonFiniteValue,
            K::ValueOutOfRange { .. } => ErrorCode::ValueOutOfRange,
            K::ZeroVector => ErrorCode::ZeroVector,
            K::EmptyKey => ErrorCode::EmptyKey,
            K::KeyTooLong { .. } => ErrorCode::KeyTooLong,
            K::DuplicateKey { .. } => ErrorCode::DuplicateKey,
            K::KeyNotFound { .. } => ErrorCode::KeyNotFound,
            K::InvalidK => ErrorCode::InvalidK,
            K::CapacityExceeded => ErrorCode::CapacityExceeded,
            K::InvalidSnapshot { .. } => ErrorCode::InvalidSnapshot,
            _ => ErrorCode::Internal,
        };
        WireError::new(code, alloc::format!("{e}"))
    }
}

fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut out = alloc::vec![PROTOCOL_VERSION];
    // Serializing our own enums into a Vec cannot fail (no maps with
    // non-string keys, no sequences of unknown length).
    let body = postcard::to_allocvec(msg).expect("postcard encoding of protocol types");
    out.extend_from_slice(&body);
    out
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, WireError> {
    match bytes.split_first() {
        None => Err(WireError::new(ErrorCode::MalformedRequest, "empty message")),
        Some((&PROTOCOL_VERSION, body)) => postcard::from_bytes(body).map_err(|e| {
            WireError::new(ErrorCode::MalformedRequest, alloc::format!("malformed message: {e}"))
        }),
        Some((&v, _)) => Err(WireError::new(
            ErrorCode::UnsupportedVersion,
            alloc::format!(
                "protocol version {v} is not supported (this build speaks {PROTOCOL_VERSION}); \
                 upgrade the older side"
            ),
        )),
    }
}

/// Encodes a request: version byte + postcard.
pub fn encode_request(req: &Request) -> Vec<u8> {
    encode(req)
}

/// Decodes a request; never panics on any input.
pub fn decode_request(bytes: &[u8]) -> Result<Request, WireError> {
    decode(bytes)
}

/// Encodes a response: version byte + postcard.
pub fn encode_response(resp: &Response) -> Vec<u8> {
    encode(resp)
}

/// Decodes a response; never panics on any input.
pub fn decode_response(bytes: &[u8]) -> Result<Response, WireError> {
    decode(bytes)
}
