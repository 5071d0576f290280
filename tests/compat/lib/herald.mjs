// Test harness: starts a real Herald process on free loopback ports, mints tokens, calls the
// gRPC API through the herald-notify example, and stops everything it started (by PID).
import { spawn, execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
export const binDir = process.env.HERALD_BIN_DIR
  ? resolve(process.env.HERALD_BIN_DIR)
  : resolve(repoRoot, 'build/ci');

export function binary(relPath) {
  const p = join(binDir, relPath);
  if (!existsSync(p)) throw new Error(`${p} not built (set HERALD_BIN_DIR to the build directory)`);
  return p;
}

export const DEV_SECRET = 'compat-test-secret-at-least-32-bytes-long';

const base64url = (buf) => Buffer.from(buf).toString('base64url');

// HS256 JWT, signed here with Node's crypto: an implementation independent of Herald's.
export function makeToken(claims, { secret = DEV_SECRET, alg = 'HS256', kid } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: 'JWT', ...(kid ? { kid } : {}) };
  const body = { iat: now, exp: now + 3600, ...claims };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(body))}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const sig = createHmac(hash, secret).update(signingInput).digest();
  return `${signingInput}.${base64url(sig)}`;
}

// A YAML-compatible config (JSON is YAML) with test defaults: free ports, test secret.
export function defaultConfig(overrides = {}) {
  const cfg = {
    node: { id: 'compat-1' },
    log: { level: 'info' },
    edge: { listen: '127.0.0.1:0', ping_interval_ms: 25000, ping_timeout_ms: 20000 },
    broker: { grpc_listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    auth: { keys: [{ kid: 'test', secret: DEV_SECRET, algs: ['HS256'] }], leeway_s: 5 },
    namespaces: {
      '/': { auth: 'required', auto_join: ['user:{sub}'] },
    },
  };
  return deepMerge(cfg, overrides);
}

function deepMerge(a, b) {
  if (b === undefined) return a;
  if (typeof a !== 'object' || a === null || Array.isArray(a) ||
      typeof b !== 'object' || b === null || Array.isArray(b)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(a[k], v);
  return out;
}

// Starts `herald` (standalone) and resolves once it logged its bound addresses.
export async function startHerald(config = defaultConfig(), { readyTimeoutMs = 15000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-compat-'));
  const cfgPath = join(dir, 'herald.json');
  writeFileSync(cfgPath, JSON.stringify(config, null, 2));
  const proc = spawn(binary('standalone/herald'), ['--config', cfgPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  let ready = null;
  const readyPromise = new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald not ready after ${readyTimeoutMs}ms:\n${logs.join('')}`)), readyTimeoutMs);
    let buf = '';
    const onData = (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line + '\n');
        try {
          const rec = JSON.parse(line);
          if (rec.msg === 'herald ready') {
            ready = rec;
            clearTimeout(timer);
            resolveReady(rec);
          }
        } catch { /* not JSON: keep it in the log */ }
      }
    };
    proc.stderr.setEncoding('utf8').on('data', onData);
    proc.stdout.setEncoding('utf8').on('data', (d) => logs.push(d));
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`herald exited (${code ?? signal}) before ready:\n${logs.join('')}`));
    });
  });
  try {
    await readyPromise;
  } catch (e) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: ready.socketio_url,            // e.g. http://127.0.0.1:PORT
    grpc: ready.grpc_address,           // host:port
    admin: ready.admin_url,
    pid: proc.pid,
    logs,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await once(proc, 'exit');
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Runs the herald-notify example (a C++ gRPC client); resolves with its parsed JSON output.
export function notify(grpcAddress, args) {
  return new Promise((resolveRun, reject) => {
    execFile(binary('examples/notify/herald-notify'), ['--server', grpcAddress, ...args],
      { timeout: 10000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`herald-notify failed: ${stderr || err.message}`));
        else resolveRun(JSON.parse(stdout));
      });
  });
}

// Resolves with the first emission of `event` on `emitter` (args array), or rejects on timeout.
export function nextEvent(emitter, event, timeoutMs = 5000) {
  return new Promise((resolveEvent, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out waiting for '${event}'`));
    }, timeoutMs);
    const handler = (...args) => {
      clearTimeout(timer);
      resolveEvent(args);
    };
    emitter.once(event, handler);
  });
}

// Asserts that `event` does NOT arrive within `ms`.
export function noEvent(emitter, event, ms = 300) {
  return new Promise((resolveNo, reject) => {
    const handler = (...args) => {
      clearTimeout(timer);
      reject(new Error(`unexpected '${event}': ${JSON.stringify(args)}`));
    };
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      resolveNo();
    }, ms);
    emitter.once(event, handler);
  });
}
