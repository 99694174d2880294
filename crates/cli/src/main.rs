//! # vecshard: the command-line tool
//!
//! A thin `main` over the library crates: `build` reads vector files into
//! a sharded data dir, `serve` runs the HTTP coordinator over local
//! wasmtime shards (or remote shard servers), `shard-serve` serves one
//! shard to a remote coordinator, and `query`, `info`, `checkpoint` and
//! `bench` work on a data dir or a running server, and `push` uploads a
//! data dir to an edge deployment (`edge/cloudflare/`). Run `vecshard help
//! COMMAND` for each command's options and an example.
//!
//! What it is **not**: the place for logic. Routing and merging are in
//! `vecshard-coordinator`, shards and durability in `vecshard-host`, HTTP in
//! `vecshard-server`; this binary parses flags, reads files, draws progress
//! bars and prints tables.

mod bench;
mod build;
mod catalog;
mod http;
mod input;
mod push;
mod query;
mod resp_backend;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use vecshard_host::{Backend, FsyncPolicy, HostConfig};

#[derive(Parser)]
#[command(
    name = "vecshard",
    version,
    about = "Sharded HNSW vector search: build, serve, query and benchmark",
    long_about = "Sharded HNSW vector search. Shards run as WebAssembly modules in wasmtime \
worker threads with durable data (snapshot + write-ahead log); a coordinator routes each \
write to xxh3(key) mod N and fans queries out to every shard.",
    after_help = "Quick start:\n  vecshard build --input ../shared/data/glove100-10k/base.fvecs --shards 2 --metric cosine --out data\n  vecshard serve --data data &\n  vecshard query --url http://127.0.0.1:7700 --query-file ../shared/data/glove100-10k/query.fvecs --k 5"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Build(build::BuildArgs),
    Serve(serve::ServeArgs),
    ShardServe(serve::ShardServeArgs),
    Query(query::QueryArgs),
    Info(query::InfoArgs),
    Checkpoint(query::CheckpointArgs),
    Bench(bench::BenchArgs),
    Push(push::PushArgs),
}

/// Options shared by every command that runs shards locally.
#[derive(Args, Clone, Debug)]
pub struct HostArgs {
    /// Run shards as wasm modules in wasmtime (the default) or natively
    /// in-process (same code, no sandbox; for comparison).
    #[arg(long, default_value = "wasm", value_parser = parse_backend)]
    pub backend: Backend,
    /// Memory limit of each wasm shard, e.g. 512MiB or 2GiB. A request that
    /// needs more fails and the shard restarts from its data.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub memory_limit: u64,
    /// Deadline of one request inside a shard, e.g. 30s or 500ms.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub shard_timeout: Duration,
}

impl HostArgs {
    /// The host config for these flags.
    pub fn config(&self, fsync: FsyncPolicy) -> HostConfig {
        HostConfig {
            backend: self.backend,
            fsync,
            memory_limit: self.memory_limit,
            request_timeout: Some(self.shard_timeout),
            ..HostConfig::default()
        }
    }
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse()
}

/// Parses `512MiB`, `2GiB`, `100MB`, `1048576`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size like 512MiB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("unknown size unit {u:?}; use KiB, MiB or GiB")),
    };
    Ok((n * mult) as u64)
}

/// Parses `30s`, `500ms`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 30s"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        u => return Err(format!("unknown duration unit {u:?}; use ms, s or m")),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn parse_fsync(s: &str) -> Result<FsyncPolicy, String> {
    s.parse()
}

/// Where data lives: a data dir or a server.
#[derive(Args, Clone, Debug)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// A data dir (opened directly; not while `vecshard serve` holds it).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A running server, e.g. http://127.0.0.1:7700.
    #[arg(long)]
    pub url: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Build(a) => build::run(a),
        Cmd::Serve(a) => serve::run(a),
        Cmd::ShardServe(a) => serve::run_shard(a),
        Cmd::Query(a) => query::run_query(a),
        Cmd::Info(a) => query::run_info(a),
        Cmd::Checkpoint(a) => query::run_checkpoint(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Push(a) => push::run(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `vecshard query ... | head` closes the pipe: not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("12 parsecs").is_err());
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    }
}
