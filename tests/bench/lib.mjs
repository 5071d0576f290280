// Benchmark harness helpers: start the servers under test (Herald standalone or cluster — nats-server,
// herald-broker, herald-edge — the Node.js reference, redis,
// herald-echo-service) on free loopback ports, run herald-loadgen, stop everything by PID.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const BENCH_SECRET = 'herald-bench-secret-0123456789abcdef';

// CPU pinning: servers on the last core, the load generator on the first (2 cores: one each),
// so neither steals the other's cycles. BENCH_PIN=0 turns it off.
const cores = availableParallelism();
export const pinning = process.env.BENCH_PIN !== '0' && cores >= 2 && existsSync('/usr/bin/taskset')
  ? { server: String(cores - 1), loadgen: '0' }
  : null;

function pinned(role, cmd, args) {
  if (!pinning) return [cmd, args];
  return ['/usr/bin/taskset', ['-c', pinning[role], cmd, ...args]];
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// Spawns a process and resolves when a stderr/stdout line satisfies `ready(line)` (the parsed JSON
// object if the line is JSON, else the raw string). Rejects on exit or timeout.
function startProcess(name, cmd, args, { env, ready, timeoutMs = 20000, cwd } = {}) {
  const [c, a] = pinned('server', cmd, args);
  const proc = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
  const logs = [];
  return new Promise((resolveStart, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      proc.kill('SIGKILL');
      reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${logs.slice(-20).join('')}`));
    }, timeoutMs);
    let buf = '';
    const onData = (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (logs.length < 2000) logs.push(line + '\n');
        let rec = line;
        try { rec = JSON.parse(line); } catch { /* plain text */ }
        if (!done && ready(rec)) {
          done = true;
          clearTimeout(timer);
          resolveStart({ proc, info: rec, logs, pid: proc.pid, stop: () => stopProcess(proc) });
        }
      }
    };
    proc.stderr.setEncoding('utf8').on('data', onData);
    proc.stdout.setEncoding('utf8').on('data', onData);
    proc.on('exit', (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before ready:\n${logs.slice(-20).join('')}`));
    });
  });
}

export async function stopProcess(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await once(proc, 'exit');
  clearTimeout(timer);
}

// The reference Node.js server; `redisUrl` switches on the redis adapter (cluster).
export async function startReference({ redisUrl, grpc = true } = {}) {
  const env = { BENCH_SECRET };
  if (redisUrl) env.BENCH_REDIS_URL = redisUrl;
  if (!grpc) env.BENCH_GRPC = '0';
  const s = await startProcess('reference server', process.execPath,
    [join(here, 'reference/server.mjs')], { env, ready: (r) => r?.msg === 'reference ready' });
  return { ...s, url: s.info.socketio_url, grpc: s.info.grpc_address, pids: [s.pid] };
}

export function heraldBinary(binDir, rel) {
  const p = join(binDir, rel);
  return existsSync(p) ? p : null;
}

// Standalone Herald with tests/bench/herald-bench.yaml.
export async function startHerald(binDir) {
  const bin = heraldBinary(binDir, 'standalone/herald');
  if (!bin) throw new Error(`${join(binDir, 'standalone/herald')} not built`);
  const s = await startProcess('herald', bin, ['--config', join(here, 'herald-bench.yaml')],
    { ready: (r) => r?.msg === 'herald ready' });
  return { ...s, url: s.info.socketio_url, grpc: s.info.grpc_address, pids: [s.pid] };
}

// --- Herald cluster: nats-server + herald-broker + herald-edge (docs/cluster.md) ---------------

// A throwaway nats-server on free loopback ports (client + monitoring).
export async function startNats() {
  const port = await freePort();
  const monitorPort = await freePort();
  const s = await startProcess('nats-server', 'nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)],
    { ready: (r) => typeof r === 'string' && r.includes('Server is ready') });
  return { ...s, url: `nats://127.0.0.1:${port}`, pids: [s.pid] };
}

// herald-bench.yaml switched to the NATS bus, with its own node id; `sets` are extra --set pairs.
function clusterArgs(id, natsUrl, sets) {
  const args = ['--config', join(here, 'herald-bench.yaml'), '--set', 'bus.type=nats',
    '--set', `bus.nats_urls=${natsUrl}`, '--set', `node.id=${id}`, '--set', 'admin.listen=127.0.0.1:0'];
  for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
  return args;
}

export async function startBroker(binDir, id, natsUrl) {
  const bin = heraldBinary(binDir, 'broker/herald-broker');
  if (!bin) throw new Error(`${join(binDir, 'broker/herald-broker')} not built`);
  const s = await startProcess(id, bin, clusterArgs(id, natsUrl, {
    'broker.grpc_listen': '127.0.0.1:0', 'broker.edgelink_listen': '127.0.0.1:0',
  }), { ready: (r) => r?.msg === 'herald-broker ready' });
  return { ...s, grpc: s.info.grpc_address, edgelink: s.info.edgelink_address, pids: [s.pid] };
}

// An edge; resolves once its EdgeLink stream to `brokers` is up (/readyz "brokers" ready, bounded).
export async function startEdge(binDir, id, natsUrl, brokers) {
  const bin = heraldBinary(binDir, 'edge/herald-edge');
  if (!bin) throw new Error(`${join(binDir, 'edge/herald-edge')} not built`);
  const s = await startProcess(id, bin, clusterArgs(id, natsUrl, {
    'edge.listen': '127.0.0.1:0', 'edge.brokers': brokers.join(','),
  }), { ready: (r) => r?.msg === 'herald-edge ready' });
  const edge = { ...s, url: s.info.socketio_url, admin: s.info.admin_url, pids: [s.pid] };
  let last = '';
  for (let i = 0; i < 200; ++i) {  // ≤ 10 s
    try {
      const r = await (await fetch(`${edge.admin}/readyz`, { signal: AbortSignal.timeout(1000) })).json();
      last = JSON.stringify(r);
      const detail = r.checks?.brokers?.detail ?? '';
      if (r.checks?.brokers?.status === 'ready' && Number(detail.split(' ')[0]) >= brokers.length &&
          r.checks?.bus?.status === 'ready') return edge;
    } catch (e) { last = String(e.message ?? e); }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopProcess(s.proc);
  throw new Error(`${id}: EdgeLink to ${brokers.join(',')} not up after 10 s (readyz: ${last})`);
}

// herald-echo-service serving "message-with-ack" on "/" for the echo scenario.
export async function startEchoService(binDir, grpcAddress) {
  const bin = heraldBinary(binDir, 'examples/echo-service/herald-echo-service');
  if (!bin) throw new Error(`${join(binDir, 'examples/echo-service/herald-echo-service')} not built`);
  return startProcess('herald-echo-service', bin, ['--server', grpcAddress, '--ns', '/'],
    { ready: (r) => r?.msg === 'echo-service registered' });
}

// A throwaway redis-server (no persistence) on a free port.
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-redis-'));
  const s = await startProcess('redis-server', 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--protected-mode', 'no'],
    { ready: (r) => typeof r === 'string' && r.includes('Ready to accept connections') });
  return {
    ...s, url: `redis://127.0.0.1:${port}`, pids: [s.pid],
    stop: async () => { await stopProcess(s.proc); rmSync(dir, { recursive: true, force: true }); },
  };
}

// Runs herald-loadgen; resolves with its JSON output (rejects if it printed none).
export function runLoadgen(loadgen, args, { timeoutMs = 600000 } = {}) {
  const [c, a] = pinned('loadgen', loadgen, [...args, '--secret', BENCH_SECRET]);
  return new Promise((res, rej) => {
    const proc = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        const json = JSON.parse(out);
        json.exit_code = code;
        res(json);
      } catch {
        rej(new Error(`herald-loadgen ${args.join(' ')} failed (${code ?? signal}): ${err.slice(-2000)}`));
      }
    });
  });
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}
export function writeJson(path, value) {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}
