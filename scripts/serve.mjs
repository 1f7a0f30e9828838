#!/usr/bin/env node
// serve.mjs: a small static HTTP server for the built site (build/site/), no dependencies.
//
//   node scripts/serve.mjs              PORT=8081 node scripts/serve.mjs
//   import { startServer } from './serve.mjs';
//   const { url, close } = await startServer({ root, port: 0 });   // port 0: any free port
//
// It listens on 127.0.0.1 only (HOST overrides; SITE_ROOT serves another folder): the lab
// needs no other machine.
// The WASM is fetched and compiled from bytes, so no COOP/COEP headers are needed;
// responses say no-cache so a rebuilt site is picked up on reload.
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.shard': 'application/octet-stream',
};

const defaultRoot = resolve(fileURLToPath(new URL('../build/site/', import.meta.url)));

function send(res, code, text) {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.end(text + '\n');
}

function handler(root) {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return send(res, 400, 'bad URL');
    }
    let file = resolve(join(root, path));
    // never serve anything outside the site folder
    if (file !== root && !file.startsWith(root + sep)) return send(res, 403, 'forbidden');
    let st = existsSync(file) ? statSync(file) : null;
    if (st && st.isDirectory()) {
      if (!path.endsWith('/')) {
        res.writeHead(301, { Location: path + '/' });
        return res.end();
      }
      file = join(file, 'index.html');
      st = existsSync(file) ? statSync(file) : null;
    }
    if (!st || !st.isFile()) return send(res, 404, `not found: ${path}`);
    res.writeHead(200, {
      'Content-Type': MIME[extname(file).toLowerCase()] || 'application/octet-stream',
      'Content-Length': st.size,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  };
}

// Resolves to { url, port, root, close(): Promise, server }. Rejects with a clear message
// (and a hint) when the port is taken.
export function startServer({ root = defaultRoot, port = 8080, host = '127.0.0.1' } = {}) {
  root = resolve(root);
  return new Promise((res, rej) => {
    const server = createServer(handler(root));
    server.once('error', (e) => {
      if (e.code === 'EADDRINUSE')
        rej(Object.assign(new Error(`serve: port ${port} on ${host} is already in use. Hint: stop the other server, or pick another port, e.g. PORT=${port + 1} npm start.`), { code: e.code }));
      else if (e.code === 'EACCES')
        rej(Object.assign(new Error(`serve: no permission to listen on port ${port}. Hint: use a port above 1023, e.g. PORT=8080.`), { code: e.code }));
      else rej(e);
    });
    server.listen(port, host, () => {
      const actual = server.address().port;
      const shown = host.includes(':') ? `[${host}]` : host;
      res({
        url: `http://${shown}:${actual}/`,
        port: actual,
        root,
        server,
        close: () => new Promise((r) => {
          server.close(() => r());
          server.closeAllConnections?.();
        }),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = process.env.SITE_ROOT ? resolve(process.env.SITE_ROOT) : defaultRoot;
  if (!existsSync(join(root, 'index.html'))) {
    console.error(`serve: ${join(root, 'index.html')} is missing. Hint: build the site first with \`node scripts/build-site.mjs\` (or ./build.sh build).`);
    process.exit(1);
  }
  const raw = process.env.PORT ?? '8080';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: PORT='${raw}' is not a port number. Hint: use e.g. PORT=8080.`);
    process.exit(2);
  }
  try {
    const { url } = await startServer({ root, port, host: process.env.HOST || '127.0.0.1' });
    console.log(`noisylab: serving ${root} at ${url}  (Ctrl+C to stop)`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
