# workerd config for running the edge deployment offline (the CI test in
# wasm-tests/edge/ uses this file as it is): the coordinator Worker and the
# VecshardShard Durable Objects in one workerd process, the objects' SQLite
# storage on local disk.
#
#   npx workerd serve workerd.capnp \
#     --directory-path do-storage=/absolute/path/to/storage \
#     --socket-addr http=127.0.0.1:8787
#
# Paths in `embed` are relative to this file: src/ (this directory's) and
# node_modules/vecshard/ (the npm package, `npm install` here). Settings are
# the same [vars] as wrangler.toml; the token and the test hooks come from
# the environment (VECSHARD_TOKEN, VECSHARD_TEST_HOOKS=1, and
# VECSHARD_WAL_LIMIT_BYTES to make checkpoints frequent).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .coordinator),
    (name = "do-storage", disk = (writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const coordinator :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "src/worker.mjs"),
    (name = "coordinator.mjs", esModule = embed "src/coordinator.mjs"),
    (name = "shard.mjs", esModule = embed "src/shard.mjs"),
    (name = "vecshard/edge", esModule = embed "node_modules/vecshard/edge.js"),
    (name = "vecshard/shard.js", esModule = embed "node_modules/vecshard/shard.js"),
    (name = "vecshard/api.js", esModule = embed "node_modules/vecshard/api.js"),
    (name = "vecshard/module.js", esModule = embed "node_modules/vecshard/module.js"),
    (name = "vecshard/vecshard.js", esModule = embed "node_modules/vecshard/vecshard.js"),
    (name = "vecshard/vecshard_cluster.js", esModule = embed "node_modules/vecshard/vecshard_cluster.js"),
    (name = "vecshard/vecshard_cluster_bg.wasm", wasm = embed "node_modules/vecshard/vecshard_cluster_bg.wasm"),
  ],
  compatibilityDate = "2025-04-01",
  bindings = [
    (name = "SHARDS", durableObjectNamespace = "VecshardShard"),
    (name = "VECSHARD_NAME", text = "default"),
    (name = "VECSHARD_SHARDS", text = "4"),
    (name = "VECSHARD_DIM", text = "128"),
    (name = "VECSHARD_METRIC", text = "l2"),
    (name = "VECSHARD_TOKEN", fromEnvironment = "VECSHARD_TOKEN"),
    (name = "VECSHARD_TEST_HOOKS", fromEnvironment = "VECSHARD_TEST_HOOKS"),
    (name = "VECSHARD_WAL_LIMIT_BYTES", fromEnvironment = "VECSHARD_WAL_LIMIT_BYTES"),
  ],
  durableObjectNamespaces = [
    (className = "VecshardShard", uniqueKey = "vecshard-shard-v1", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
);
