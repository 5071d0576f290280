// Cluster harness: starts nats-server, herald-broker and herald-edge processes (and optionally
// haproxy) on free loopback ports, talks to the brokers' gRPC API, and stops everything it started
// (by PID).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import net from 'node:net';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { binary, repoRoot, DEV_SECRET } from './herald.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

function waitForPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolveWait, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); resolveWait(); });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} not open after ${timeoutMs}ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

// Polls fn() until it returns a truthy value (returned) or the timeout passes (throws).
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last?.message ?? JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

// A child process whose JSON log lines are kept; resolves `ready` on the line with msg === readyMsg.
class Proc {
  constructor(name, argv, { readyMsg, dir, env } = {}) {
    this.name = name;
    this.argv = argv;
    this.readyMsg = readyMsg;
    this.dir = dir;
    this.env = env;
    this.logs = [];
    this.records = [];
  }

  start(timeoutMs = 15000) {
    const proc = spawn(this.argv[0], this.argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...(this.env ?? {}) },
    });
    this.proc = proc;
    this.pid = proc.pid;
    this.exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    let buf = '';
    const onData = (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.logs.push(line);
        try {
          const rec = JSON.parse(line);
          this.records.push(rec);
          if (this.readyMsg && rec.msg === this.readyMsg && this._resolveReady) this._resolveReady(rec);
        } catch { /* not JSON */ }
      }
    };
    proc.stderr.setEncoding('utf8').on('data', onData);
    proc.stdout.setEncoding('utf8').on('data', onData);
    if (!this.readyMsg) return Promise.resolve(null);
    return new Promise((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} not ready after ${timeoutMs}ms:\n${this.logs.join('\n')}`)), timeoutMs);
      this._resolveReady = (rec) => { clearTimeout(timer); this._resolveReady = null; resolveReady(rec); };
      proc.once('exit', (code, signal) => {
        if (this._resolveReady) {
          clearTimeout(timer);
          reject(new Error(`${this.name} exited (${code ?? signal}) before ready:\n${this.logs.join('\n')}`));
        }
      });
    });
  }

  get running() { return this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  async kill9() {
    if (!this.running) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  async stop() {
    if (!this.running) return this.exited;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 8000);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

export async function startNats({ port, monitorPort } = {}) {
  port ??= await freePort();
  monitorPort ??= await freePort();
  const p = new Proc('nats-server', ['nats-server', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)]);
  await p.start();
  await waitForPort(port);
  await waitForPort(monitorPort);
  p.port = port;
  p.monitorPort = monitorPort;
  p.url = `nats://127.0.0.1:${port}`;
  p.monitor = async (path) => (await fetch(`http://127.0.0.1:${monitorPort}${path}`)).json();
  p.restart = async () => {
    const again = new Proc('nats-server', p.argv);
    await again.start();
    await waitForPort(port);
    Object.assign(p, { proc: again.proc, pid: again.pid, exited: again.exited, logs: again.logs });
  };
  return p;
}

export const HEARTBEAT_MS = 200;
export const HEARTBEAT_TIMEOUT_MS = 1500;

export function clusterConfig({ id, natsUrl, extra = {} }) {
  return deepMerge({
    node: { id },
    log: { level: 'info' },
    bus: { type: 'nats', nats_urls: [natsUrl], reconnect_wait_ms: 100,
           heartbeat_interval_ms: HEARTBEAT_MS, heartbeat_timeout_ms: HEARTBEAT_TIMEOUT_MS },
    admin: { listen: '127.0.0.1:0' },
    auth: { keys: [{ kid: 'test', secret: DEV_SECRET, algs: ['HS256'] }], leeway_s: 5 },
    namespaces: {
      '/': { auth: 'required', auto_join: ['user:{sub}'],
             rooms: { join_allowed: ['room:*'] },
             events: {
               join: { action: 'join', room: '{args.room}', schema: { room: { type: 'string', min: 1, max: 200 } } },
               leave: { action: 'leave', room: '{args.room}', schema: { room: { type: 'string', min: 1, max: 200 } } },
               message: { action: 'relay', to: '{args.room}', require_member: true,
                          schema: { room: { type: 'string', max: 200 }, text: { type: 'string', min: 1, max: 2000 } } },
             } },
    },
  }, extra);
}

function deepMerge(a, b) {
  if (b === undefined) return a;
  if (typeof a !== 'object' || a === null || Array.isArray(a) ||
      typeof b !== 'object' || b === null || Array.isArray(b)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(a[k], v);
  return out;
}

function writeConfig(dir, name, cfg) {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  return path;
}

const realtimeProto = join(repoRoot, 'protos/herald/v1/realtime.proto');
let RealtimeClient;
export function realtimeClient(address) {
  if (!RealtimeClient) {
    const def = protoLoader.loadSync(realtimeProto, { keepCase: true, longs: Number, defaults: true, includeDirs: [join(repoRoot, 'protos')] });
    RealtimeClient = grpc.loadPackageDefinition(def).herald.v1.Realtime;
  }
  const client = new RealtimeClient(address, grpc.credentials.createInsecure());
  const call = (method, req) => new Promise((resolveCall, reject) => {
    client[method](req, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolveCall(res)));
  });
  return {
    raw: client,
    pushToUser: (req) => call('PushToUser', req),
    broadcast: (req) => call('Broadcast', req),
    getPresence: (req) => call('GetPresence', req),
    listRoomMembers: (req) => call('ListRoomMembers', req),
    joinRooms: (req) => call('JoinRooms', req),
    emitWithAck: (req) => call('EmitWithAck', req),
    stats: () => call('Stats', {}),
    close: () => client.close(),
  };
}

export async function startBroker(cluster, id, extra = {}) {
  const grpcPort = await freePort();
  const linkPort = await freePort();
  const cfg = clusterConfig({ id, natsUrl: cluster.nats.url, extra: deepMerge({
    broker: { grpc_listen: `127.0.0.1:${grpcPort}`, edgelink_listen: `127.0.0.1:${linkPort}` },
  }, extra) });
  const path = writeConfig(cluster.dir, id, cfg);
  const p = new Proc(id, [binary('broker/herald-broker'), '--config', path], { readyMsg: 'herald-broker ready' });
  const ready = await p.start();
  p.id = id;
  p.grpc = ready.grpc_address;
  p.edgelink = ready.edgelink_address;
  p.admin = ready.admin_url;
  p.api = realtimeClient(p.grpc);
  return p;
}

export async function readyz(adminUrl) {
  const res = await fetch(`${adminUrl}/readyz`);
  return res.json();
}

export async function startEdge(cluster, id, { brokers, extra = {}, waitBrokers = 1 } = {}) {
  const cfg = clusterConfig({ id, natsUrl: cluster.nats.url, extra: deepMerge({
    edge: { listen: '127.0.0.1:0', brokers: brokers ?? cluster.brokers.map((b) => b.edgelink) },
  }, extra) });
  const path = writeConfig(cluster.dir, id, cfg);
  const p = new Proc(id, [binary('edge/herald-edge'), '--config', path], { readyMsg: 'herald-edge ready' });
  const ready = await p.start();
  p.id = id;
  p.url = ready.socketio_url;
  p.admin = ready.admin_url;
  if (waitBrokers > 0) {
    await waitFor(async () => {
      const r = await readyz(p.admin);
      const detail = r.checks?.brokers?.detail ?? '';
      return r.checks?.brokers?.status === 'ready' && Number(detail.split(' ')[0]) >= waitBrokers;
    }, { what: `${id} broker streams`, timeoutMs: 10000 });
  }
  return p;
}

// haproxy round-robin in front of the edges, no stickiness; null when haproxy is not installed.
// `sidRouting`: requests carrying a sid go to the edge that owns it (the rule docs/cluster.md
// recommends, from each edge's tag), so polling never needs forwarding over the bus.
export async function startHaproxy(cluster, edges, { sidRouting = false, maxconn = 4096 } = {}) {
  const which = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p));
  if (!which) return null;
  const port = await freePort();
  let servers = edges.map((e, i) => `  server ${e.id} ${new URL(e.url).host} check inter 200 fall 1 rise 1`).join('\n');
  if (sidRouting) {
    const rules = edges.map((e) => {
      const tag = e.records.find((r) => r.msg === 'edge started')?.tag;
      if (!tag) throw new Error(`${e.id}: no tag in its "edge started" log line`);
      return `  acl sid_${e.id} urlp(sid) -m beg ${tag}\n  use-server ${e.id} if sid_${e.id}`;
    });
    servers = `${rules.join('\n')}\n${servers}`;
  }
  const cfgText = `global
  maxconn ${maxconn}
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  retries 3
  option redispatch
frontend fe
  bind 127.0.0.1:${port}
  default_backend edges
backend edges
  balance roundrobin
${servers}
`;
  const path = join(cluster.dir, 'haproxy.cfg');
  writeFileSync(path, cfgText);
  const p = new Proc('haproxy', [which, '-db', '-f', path]);
  await p.start();
  await waitForPort(port);
  p.url = `http://127.0.0.1:${port}`;
  return p;
}

// nats-server + `brokers` brokers + `edges` edges. stop() ends every process it started.
// `brokerExtra` / `edgeExtra`: config merged into every broker's / edge's file.
export async function startCluster({ brokers = 2, edges = 2, brokerExtra = {}, edgeExtra = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cluster-'));
  const cluster = { dir, brokers: [], edges: [], extra: [] };
  try {
    cluster.nats = await startNats();
    for (let i = 1; i <= brokers; ++i) cluster.brokers.push(await startBroker(cluster, `broker-${i}`, brokerExtra));
    for (let i = 1; i <= edges; ++i) cluster.edges.push(await startEdge(cluster, `edge-${i}`, { waitBrokers: brokers, extra: edgeExtra }));
  } catch (e) {
    await stopCluster(cluster);
    throw e;
  }
  cluster.stop = () => stopCluster(cluster);
  return cluster;
}

async function stopCluster(cluster) {
  const all = [...(cluster.extra ?? []), ...cluster.edges, ...cluster.brokers];
  await Promise.all(all.map((p) => p.stop().catch(() => {})));
  for (const b of cluster.brokers) b.api?.close();
  if (cluster.nats) await cluster.nats.stop().catch(() => {});
  rmSync(cluster.dir, { recursive: true, force: true });
}

// Log lines of every process, for failure messages.
export function clusterLogs(cluster) {
  const all = [cluster.nats, ...cluster.brokers, ...cluster.edges, ...(cluster.extra ?? [])].filter(Boolean);
  return all.map((p) => `--- ${p.name}\n${p.logs.slice(-40).join('\n')}`).join('\n');
}
