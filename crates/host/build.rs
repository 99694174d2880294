//! Builds the shard guest module and hands its path to `include_bytes!`.
//!
//! The host embeds `vecshard_shard.wasm` (crates/shard built with
//! `--features guest` for `wasm32-unknown-unknown`, simd128 and relaxed
//! SIMD, profile `wasm`), so a `vecshard` binary is self-contained. Two ways to get it:
//!
//! 1. `VECSHARD_GUEST_WASM=/path/to/vecshard_shard.wasm`: use that file
//!    (packagers, or a module built some other way);
//! 2. otherwise run a nested `cargo build` of the guest.
//!
//! The nested cargo uses its **own target dir** (`<target>/guest`), never
//! the one the outer cargo is building in: the outer cargo holds the lock
//! on its target dir while build scripts run, so sharing it would deadlock.
//! `<target>/guest` is the same dir the documented manual command uses
//! (`--target-dir target/guest`), so both share one incremental build, and
//! every profile of the outer build (dev, test, release, doc) reuses it.
//!
//! The environment cargo gives a build script is scrubbed before the
//! nested call: `CARGO_ENCODED_RUSTFLAGS` (the outer target's flags),
//! `RUSTC_WRAPPER`/`RUSTC_WORKSPACE_WRAPPER` (set by `cargo clippy`) and
//! the per-package `CARGO_*` variables would otherwise leak into the guest
//! build; the jobserver (`CARGO_MAKEFLAGS`) is kept so the nested build
//! shares the outer build's CPU budget.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let dest = out_dir.join("vecshard_shard.wasm");
    println!("cargo:rerun-if-env-changed=VECSHARD_GUEST_WASM");

    emit_wasmtime_version();

    let wasm = match env::var_os("VECSHARD_GUEST_WASM") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            println!("cargo:rerun-if-changed={}", p.display());
            p
        }
        _ => build_guest(),
    };
    let bytes = std::fs::read(&wasm)
        .unwrap_or_else(|e| fail(&format!("cannot read the guest module {}: {e}", wasm.display())));
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        fail(&format!("{} is not a WebAssembly module", wasm.display()));
    }
    // Write only when changed so dependents are not rebuilt for nothing.
    if std::fs::read(&dest).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(&dest, &bytes)
            .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", dest.display())));
    }
}

/// The wasmtime version in Cargo.lock, for the compiled-module cache key
/// (cargo tells a build script nothing about its dependencies' versions).
fn emit_wasmtime_version() {
    let lock = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("manifest dir"))
        .join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let version = text
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasmtime\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or("unknown");
    println!("cargo:rustc-env=VECSHARD_WASMTIME_VERSION={version}");
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}

fn build_guest() -> PathBuf {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let root = manifest_dir.join("../..");
    let shard_manifest = root.join("crates/shard/Cargo.toml");
    for p in
        ["crates/shard/src", "crates/shard/Cargo.toml", "crates/core/src", "crates/core/Cargo.toml"]
    {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }

    let target_dir = match env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => PathBuf::from(t).join("guest"),
        _ => root.join("target/guest"),
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "vecshard-shard", "--lib", "--features", "guest"])
        .args(["--target", "wasm32-unknown-unknown", "--profile", "wasm"])
        .arg("--manifest-path")
        .arg(&shard_manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    scrub_env(&mut cmd);
    // The only flags the guest needs: the simd128 distance kernels, with
    // relaxed SIMD so their multiply-adds are one fused instruction and the
    // i8 walk's dots use `i32x4.relaxed_dot_i8x16_i7x16_add_s` (the engine
    // enables relaxed SIMD; see engine.rs). The npm package is built
    // without it: Node 20 only runs relaxed SIMD behind a flag.
    cmd.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128,+relaxed-simd");

    let status = cmd.status().unwrap_or_else(|e| fail(&format!("cannot run cargo: {e}")));
    if !status.success() {
        fail(
            "building the shard guest module (crates/shard for wasm32-unknown-unknown) failed.\n\
             If the target is missing: `rustup target add wasm32-unknown-unknown` \
             (scripts/test-all.sh setup does this).\n\
             Or build the module yourself and point VECSHARD_GUEST_WASM at it:\n  \
             RUSTFLAGS=\"-C target-feature=+simd128,+relaxed-simd\" cargo build -p vecshard-shard --lib \
             --target wasm32-unknown-unknown --features guest --profile wasm --target-dir target/guest",
        );
    }
    target_dir.join("wasm32-unknown-unknown/wasm/vecshard_shard.wasm")
}

fn scrub_env(cmd: &mut Command) {
    const KEEP: &[&str] = &["CARGO_HOME", "CARGO_MAKEFLAGS"];
    const KEEP_PREFIX: &[&str] =
        &["CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_"];
    for (k, _) in env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        let cargo_var = k.starts_with("CARGO_")
            && !KEEP.contains(&k)
            && !KEEP_PREFIX.iter().any(|p| k.starts_with(p));
        let flags = matches!(
            k,
            "RUSTFLAGS" | "RUSTDOCFLAGS" | "RUSTC_WRAPPER" | "RUSTC_WORKSPACE_WRAPPER" | "TARGET"
        );
        if cargo_var || flags {
            cmd.env_remove(k);
        }
    }
}
