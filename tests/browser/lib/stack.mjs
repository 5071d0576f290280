// Starts the quickstart demo stack for a browser test, on free loopback ports: Herald (standalone,
// with config/standalone.yaml — the demo's real namespace policy — and --set overrides for ports,
// the web root and short token timings), the demo backend (examples/demo/backend.mjs), and the web
// root assembled from examples/demo/ + the socket.io-client bundle. stop() ends what it started,
// by PID, and removes the temporary directory.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { assembleDemo } from '../../../examples/demo/assemble.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
const binDir = resolve(process.env.HERALD_BIN_DIR || join(repoRoot, 'build/ci'));
const configPath = join(repoRoot, 'config/standalone.yaml');

// The dev secret of config/standalone.yaml (the demo backend signs and checks tokens with it).
export function devSecret() {
  const m = /^\s*secret:\s*(\S+)\s*$/m.exec(readFileSync(configPath, 'utf8'));
  if (!m) throw new Error(`no "secret:" in ${configPath}`);
  return m[1];
}

// Resolves with the first JSON log line whose msg is `marker`; rejects on exit or timeout.
function readyLine(proc, marker, logs, timeoutMs = 20000) {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`'${marker}' not seen after ${timeoutMs} ms:\n${logs.join('')}`)), timeoutMs);
    let buf = '';
    proc.stderr.setEncoding('utf8').on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(`${line}\n`);
        try {
          const rec = JSON.parse(line);
          if (rec.msg === marker) {
            clearTimeout(timer);
            resolveReady(rec);
          }
        } catch { /* not JSON */ }
      }
    });
    proc.stdout.setEncoding('utf8').on('data', (d) => logs.push(d));
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before '${marker}':\n${logs.join('')}`));
    });
  });
}

async function stopProcess(proc, graceMs = 5000) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  process.kill(proc.pid, 'SIGTERM');
  const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
  await exited;
  clearTimeout(timer);
}

// Herald reads HERALD_<KEY_PATH> variables as configuration: keep the caller's (HERALD_BIN_DIR, …)
// away from it.
function withoutHeraldVars(env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('HERALD_')));
}

export async function startDemoStack({ leewayS = 0, graceS = 3, pollMs = 250 } = {}) {
  const herald = join(binDir, 'standalone/herald');
  if (!existsSync(herald)) throw new Error(`${herald} not built (set HERALD_BIN_DIR to the build directory)`);
  const dir = mkdtempSync(join(tmpdir(), 'herald-browser-'));
  const www = join(dir, 'www');
  mkdirSync(www);  // must exist when the edge starts; filled once the backend's URL is known
  const procs = [];
  const logs = { herald: [], backend: [] };
  const stack = {
    dir, logs,
    async stop() {
      for (const p of procs.reverse()) await stopProcess(p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const h = spawn(herald, ['--config', configPath,
      '--set', 'node.id=browser-1',
      '--set', 'edge.listen=127.0.0.1:0',
      '--set', 'broker.grpc_listen=127.0.0.1:0',
      '--set', 'admin.listen=127.0.0.1:0',
      '--set', `edge.static_dir=${www}`,
      '--set', `auth.leeway_s=${leewayS}`,
      '--set', `auth.grace_s=${graceS}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot, env: withoutHeraldVars(process.env) });
    procs.push(h);
    const ready = await readyLine(h, 'herald ready', logs.herald);
    stack.heraldUrl = ready.socketio_url;
    stack.grpc = ready.grpc_address;

    const b = spawn(process.execPath, [join(repoRoot, 'examples/demo/backend.mjs'),
      '--dev-tokens', '--kid', 'dev', '--listen', '127.0.0.1:0', '--grpc', stack.grpc,
      '--ns', '/chat', '--allow-origin', stack.heraldUrl, '--poll-ms', String(pollMs)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HERALD_DEV_SECRET: devSecret() } });
    procs.push(b);
    const bready = await readyLine(b, 'demo backend ready', logs.backend);
    stack.backendUrl = bready.url;
    assembleDemo({ out: www, backend: stack.backendUrl, namespace: '/chat' });
    stack.demoUrl = `${stack.heraldUrl}/demo/`;
    return stack;
  } catch (e) {
    await stack.stop();
    throw e;
  }
}
