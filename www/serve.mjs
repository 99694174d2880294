#!/usr/bin/env node
// A tiny static file server for the demo page: serves this folder (www/,
// with dist/ filled by scripts/build-www.sh) on 127.0.0.1. It sends .wasm as
// application/wasm, which lets the browser compile while downloading.
// Usage: node www/serve.mjs [port]   (default 8080; PORT also works)
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const PORT = Number(process.argv[2] ?? process.env.PORT ?? 8080);
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

createServer((req, res) => {
  let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path.endsWith('/')) path += 'index.html';
  const file = normalize(join(ROOT, path));
  let st;
  try {
    st = file.startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep) ? statSync(file) : undefined;
  } catch {
    st = undefined;
  }
  if (!st?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': st.size,
    'cache-control': 'no-cache',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}).listen(PORT, '127.0.0.1', () => {
  console.log(`vecshard demo: http://127.0.0.1:${PORT}/  (serving ${ROOT})`);
});
