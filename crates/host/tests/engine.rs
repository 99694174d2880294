//! The wasmtime embedding on its own: the compiled-module cache and
//! refusing modules that do not speak the guest ABI.

use std::time::Duration;

use vecshard_host::engine::GUEST_WASM;
use vecshard_host::{ErrorKind, ShardEngine, WasmRuntime};
use vecshard_shard::{decode_response, encode_request, Request, Response, Settings, WireMetric};

fn info(e: &mut dyn ShardEngine) -> Response {
    decode_response(&e.call(&encode_request(&Request::Info)).unwrap()).unwrap()
}

#[test]
fn compiled_module_is_cached_reused_and_replaced_when_unusable() {
    let cache = tempfile::tempdir().unwrap();
    let tick = Duration::from_millis(10);
    let file = {
        let rt =
            std::sync::Arc::new(WasmRuntime::new(GUEST_WASM, Some(cache.path()), tick).unwrap());
        let file = rt.cache_file().expect("a cache file").to_path_buf();
        assert!(file.starts_with(cache.path()) && file.exists());
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(name.contains(&format!("wasmtime-{}", vecshard_host::engine::WASMTIME_VERSION)));
        assert!(matches!(
            info(&mut rt.instantiate(64 << 20, None).unwrap()),
            Response::Info { .. }
        ));
        file
    };
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();

    // Second runtime: loaded from the same file, not rewritten.
    let rt = std::sync::Arc::new(WasmRuntime::new(GUEST_WASM, Some(cache.path()), tick).unwrap());
    assert_eq!(rt.cache_file(), Some(file.as_path()));
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), written);
    let mut shard = rt.instantiate(64 << 20, None).unwrap();
    let create = Request::Create { settings: Settings::new(3, WireMetric::Cosine) };
    let r = decode_response(&shard.call(&encode_request(&create)).unwrap()).unwrap();
    assert_eq!(r, Response::Created);
    drop((shard, rt));

    // A damaged cache entry is ignored and replaced by a fresh compile.
    std::fs::write(&file, b"not a compiled module").unwrap();
    let rt = std::sync::Arc::new(WasmRuntime::new(GUEST_WASM, Some(cache.path()), tick).unwrap());
    assert!(matches!(info(&mut rt.instantiate(64 << 20, None).unwrap()), Response::Info { .. }));
    assert!(std::fs::read(&file).unwrap().len() > 1000, "the cache entry was rewritten");
}

#[test]
fn a_module_without_the_guest_abi_is_refused() {
    // `(module (memory (export "memory") 1))`: a memory, no functions.
    let wasm = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x05, 0x03, 0x01, 0x00, 0x01, // memory section: 1 memory, min 1
        0x07, 0x0a, 0x01, 0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, // export
    ];
    let rt = std::sync::Arc::new(WasmRuntime::new(&wasm, None, Duration::from_millis(10)).unwrap());
    let err = rt.instantiate(64 << 20, None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Wasm { .. }), "{err}");
    assert!(err.to_string().contains("vs_alloc"), "{err}");
}

#[test]
fn memory_limit_below_the_initial_memory_is_a_clear_error() {
    let rt = WasmRuntime::shared(None, Duration::from_millis(10)).unwrap();
    let err = rt.instantiate(64 << 10, None).unwrap_err();
    assert!(err.to_string().contains("memory limit"), "{err}");
}
