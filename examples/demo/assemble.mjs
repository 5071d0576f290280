#!/usr/bin/env node
// Assembles the demo's web root (what edge.static_dir points to) from examples/demo/ and the
// unmodified socket.io-client browser bundle from npm (never committed):
//
//   node examples/demo/assemble.mjs --out .run/demo-www --backend http://127.0.0.1:3001
//
//   OUT/index.html, app.js, style.css     copied from examples/demo/
//   OUT/vendor/socket.io.min.js           examples/demo/node_modules/socket.io-client/dist/ (npm ci
//                                         there: ./scripts/setup does it), else tests/compat's copy
//   OUT/config.json                       {"backend": URL, "namespace": NS}: where the page finds the
//                                         demo backend, and the Socket.IO namespace it connects to
//
// Files are copied, not symlinked: the edge refuses symlinks that lead out of static_dir.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const PAGE_FILES = ['index.html', 'app.js', 'style.css'];
const BUNDLE_CANDIDATES = [
  resolve(here, 'node_modules/socket.io-client'),
  resolve(here, '../../tests/compat/node_modules/socket.io-client'),
];

export function assembleDemo({ out, backend, namespace = '/chat' }) {
  const pkgDir = BUNDLE_CANDIDATES.find((d) => existsSync(join(d, 'dist/socket.io.min.js')));
  if (!pkgDir) {
    throw new Error('socket.io-client is not installed: run ./scripts/setup (npm ci in examples/demo)');
  }
  mkdirSync(join(out, 'vendor'), { recursive: true });
  for (const f of PAGE_FILES) copyFileSync(join(here, f), join(out, f));
  copyFileSync(join(pkgDir, 'dist/socket.io.min.js'), join(out, 'vendor/socket.io.min.js'));
  writeFileSync(join(out, 'config.json'), `${JSON.stringify({ backend, namespace }, null, 2)}\n`);
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  return { out: resolve(out), socketIoClient: version };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
  };
  const out = opt('--out');
  const backend = opt('--backend');
  if (!out || !backend) {
    process.stderr.write('usage: assemble.mjs --out DIR --backend URL [--namespace NS]\n');
    process.exit(2);
  }
  try {
    const r = assembleDemo({ out, backend, namespace: opt('--namespace', '/chat') });
    process.stdout.write(`demo web root: ${r.out} (socket.io-client ${r.socketIoClient})\n`);
  } catch (e) {
    process.stderr.write(`assemble: ${e.message}\n`);
    process.exit(1);
  }
}
