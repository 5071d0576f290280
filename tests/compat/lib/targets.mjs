// Compat targets: every compat test runs against the target selected by HERALD_COMPAT_TARGET —
// "node" (the reference Socket.IO server, reference/server.mjs) or "herald" (the real `herald`
// binary plus the examples/echo-service binary). Both implement tests/compat/CONTRACT.md and expose
// the same control methods (push, broadcast, emitWithAck, disconnect, presence): over the reference
// server's JSON control endpoint, or over Herald's public gRPC API (herald.v1.Realtime).
//
// Default target: "herald" when HERALD_BIN_DIR holds the herald and echo-service binaries, "node"
// otherwise. An explicit HERALD_COMPAT_TARGET=herald with missing binaries is an error, never a skip:
// Herald tests are never reported as passed when they did not run.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { io } from 'socket.io-client';
import { startHerald, defaultConfig, binDir, repoRoot, DEV_SECRET, nextEvent } from './herald.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export const HERALD_BINARY = 'standalone/herald';
export const ECHO_SERVICE_BINARY = 'examples/echo-service/herald-echo-service';

function heraldBinariesMissing() {
  return [HERALD_BINARY, ECHO_SERVICE_BINARY].map((p) => join(binDir, p)).filter((p) => !existsSync(p));
}

function selectTarget() {
  const requested = process.env.HERALD_COMPAT_TARGET;
  if (requested && requested !== 'node' && requested !== 'herald') {
    throw new Error(`HERALD_COMPAT_TARGET must be "node" or "herald", not "${requested}"`);
  }
  if (requested) return requested;
  const missing = heraldBinariesMissing();
  if (process.env.HERALD_BIN_DIR && missing.length === 0) return 'herald';
  process.stderr.write(`compat: target "node" (reference Socket.IO server). Herald target not run: ${
    missing.length ? `missing ${missing.join(', ')}` : 'HERALD_BIN_DIR not set'}. ` +
    'Set HERALD_COMPAT_TARGET=herald to require it.\n');
  return 'node';
}

export const targetName = selectTarget();

// Engine.IO settings a test may need (small ping values, a small maxPayload, a CORS allowlist).
//   { pingIntervalMs, pingTimeoutMs, maxPayload, cors: { origins: [...], credentials: bool } }
export async function startTarget(options = {}) {
  if (targetName === 'herald') {
    const missing = heraldBinariesMissing();
    if (missing.length) {
      throw new Error(`HERALD_COMPAT_TARGET=herald but these binaries are missing: ${missing.join(', ')} ` +
        '(build them, set HERALD_BIN_DIR to the build directory, or run with HERALD_COMPAT_TARGET=node)');
    }
    return startHeraldTarget(options);
  }
  return startNodeTarget(options);
}

// ---------------------------------------------------------------------------------------------
// Binary values in control-method arguments.

const isBinary = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const toBuffer = (v) => (Buffer.isBuffer(v) ? v : v instanceof ArrayBuffer ? Buffer.from(v)
  : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

function mapDeep(v, leaf) {
  const r = leaf(v);
  if (r !== undefined) return r;
  if (Array.isArray(v)) return v.map((x) => mapDeep(x, leaf));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapDeep(x, leaf)]));
  return v;
}

// {"$bin": base64} placeholders (the reference control endpoint's JSON form).
const binToJson = (v) => mapDeep(v, (x) => (isBinary(x) ? { $bin: toBuffer(x).toString('base64') } : undefined));
const jsonToBin = (v) => mapDeep(v, (x) => (x && typeof x === 'object' && !Array.isArray(x) &&
  Object.keys(x).length === 1 && typeof x.$bin === 'string' ? Buffer.from(x.$bin, 'base64') : undefined));

// Socket.IO's own form (herald.v1 args_json + attachments): {"_placeholder":true,"num":n}.
function toWire(args = []) {
  const attachments = [];
  const json = mapDeep(args, (x) => {
    if (!isBinary(x)) return undefined;
    attachments.push(toBuffer(x));
    return { _placeholder: true, num: attachments.length - 1 };
  });
  return { args_json: JSON.stringify(json), attachments };
}
function fromWire(argsJson, attachments = []) {
  if (!argsJson) return [];
  return mapDeep(JSON.parse(argsJson), (x) => (x && typeof x === 'object' && x._placeholder === true &&
    typeof x.num === 'number' ? Buffer.from(attachments[x.num]) : undefined));
}

// ---------------------------------------------------------------------------------------------
// Node reference target.

function readyLine(proc, marker, timeoutMs, logs) {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`'${marker}' not seen after ${timeoutMs}ms:\n${logs.join('')}`)), timeoutMs);
    let buf = '';
    proc.stderr.setEncoding('utf8').on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line + '\n');
        try {
          const rec = JSON.parse(line);
          if (rec.msg === marker) { clearTimeout(timer); resolveReady(rec); }
        } catch { /* not JSON */ }
      }
    });
    proc.stdout.setEncoding('utf8').on('data', (d) => logs.push(d));
    proc.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`exited (${code ?? signal}) before '${marker}':\n${logs.join('')}`)); });
  });
}

async function stopProcess(proc, graceMs = 5000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  process.kill(proc.pid, 'SIGTERM');
  const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
  await exited;
  clearTimeout(timer);
}

async function startNodeTarget(options) {
  const env = { ...process.env, REF_JWT_SECRET: DEV_SECRET };
  if (options.pingIntervalMs) env.REF_PING_INTERVAL_MS = String(options.pingIntervalMs);
  if (options.pingTimeoutMs) env.REF_PING_TIMEOUT_MS = String(options.pingTimeoutMs);
  if (options.maxPayload) env.REF_MAX_PAYLOAD = String(options.maxPayload);
  if (options.cors) {
    env.REF_CORS_ORIGINS = options.cors.origins.join(',');
    env.REF_CORS_CREDENTIALS = String(Boolean(options.cors.credentials));
  }
  const proc = spawn(process.execPath, [resolve(here, '../reference/server.mjs')], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  let ready;
  try {
    ready = await readyLine(proc, 'reference ready', 10000, logs);
  } catch (e) {
    await stopProcess(proc, 1000);
    throw e;
  }
  const control = async (method, path, body) => {
    const res = await fetch(ready.control_url + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(binToJson(body)),
      signal: AbortSignal.timeout(15000),
    });
    const out = await res.json();
    if (!res.ok) throw new Error(`control ${path}: ${res.status} ${out.error}`);
    return out;
  };
  return {
    name: 'node',
    url: ready.socketio_url,
    pid: proc.pid,
    logs,
    options,
    push: ({ user, ns = '/', event, args = [] }) => control('POST', '/push', { user, ns, event, args }),
    broadcast: ({ ns = '/', rooms = [], except_rooms = [], event, args = [] }) =>
      control('POST', '/broadcast', { ns, rooms, except_rooms, event, args }),
    emitWithAck: async ({ ns = '/', timeout_ms = 5000, args = [], ...rest }) =>
      (await control('POST', '/emit-with-ack', { ns, timeout_ms, args, ...rest }))
        .map((a) => ({ ...a, args: jsonToBin(a.args) })),
    disconnect: ({ ns = '/', close = false, ...target }) => control('POST', '/disconnect', { ns, close, ...target }),
    presence: (user, ns) => control('GET', `/presence?user=${encodeURIComponent(user)}${ns ? `&ns=${encodeURIComponent(ns)}` : ''}`),
    stop: () => stopProcess(proc),
  };
}

// ---------------------------------------------------------------------------------------------
// Herald target: the standalone binary with the contract's configuration, plus the echo service.

const EVENTS = {
  // Forwarded to the echo service (HandleEvents): "message" → it emits "message-back" to the
  // sender; "message-with-ack" → it replies with the same arguments (the client's ack).
  'message': { action: 'forward' },
  'message-with-ack': { action: 'forward' },
  'join': { action: 'join', room: '{args.room}' },
  'relay': { action: 'relay', to: '{args.room}', except_sender: true },
};
const ROOMS = { join_allowed: ['*'] };

export function heraldContractConfig(options = {}) {
  const edge = {};
  if (options.pingIntervalMs) edge.ping_interval_ms = options.pingIntervalMs;
  if (options.pingTimeoutMs) edge.ping_timeout_ms = options.pingTimeoutMs;
  if (options.maxPayload) edge.max_payload = options.maxPayload;
  if (options.cors) {
    edge.cors = { origins: options.cors.origins, credentials: Boolean(options.cors.credentials), reject_disallowed: true };
  }
  return defaultConfig({
    edge,
    namespaces: {
      '/': { auth: 'required', auto_join: ['user:{sub}'], rooms: ROOMS, events: EVENTS },
      '/custom': { auth: 'optional', rooms: ROOMS, events: EVENTS },
      '/anon': { auth: 'none', rooms: ROOMS, events: EVENTS },
    },
  });
}

let grpcModules;
// A herald.v1.Realtime client: call(method, request) → Promise<response>; loads the proto once.
export async function realtimeClient(address) {
  if (!grpcModules) {
    const grpc = await import('@grpc/grpc-js');
    const protoLoader = await import('@grpc/proto-loader');
    const protosDir = join(repoRoot, 'protos');
    const def = protoLoader.loadSync(join(protosDir, 'herald/v1/realtime.proto'), {
      keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protosDir],
    });
    grpcModules = { grpc, Realtime: grpc.loadPackageDefinition(def).herald.v1.Realtime };
  }
  const { grpc, Realtime } = grpcModules;
  const client = new Realtime(address, grpc.credentials.createInsecure());
  const call = (method, request) => new Promise((resolveCall, reject) => {
    client[method](request, { deadline: Date.now() + 15000 }, (err, res) => (err ? reject(err) : resolveCall(res)));
  });
  return { call, close: () => client.close() };
}

function grpcTarget({ socket_id, user, room, all }) {
  if (socket_id !== undefined) return { socket_id };
  if (user !== undefined) return { user_id: user };
  if (room !== undefined) return { room };
  if (all) return { all: true };
  throw new Error('one of socket_id, user, room, all is required');
}

// Resolves once a forwarded event round-trips through the echo service (it registered).
async function waitForEchoService(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const s = io(url + '/anon', { transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    await nextEvent(s, 'connect', timeoutMs);
    for (;;) {
      const reply = await s.timeout(1000).emitWithAck('message-with-ack', 'probe').catch(() => null);
      if (reply?.[0] === 'probe' || reply === 'probe') return;
      if (Date.now() > deadline) throw new Error(`echo service not answering after ${timeoutMs}ms (last reply ${JSON.stringify(reply)})`);
      await new Promise((r) => setTimeout(r, 100)); // poll interval: registration has no client-visible event
    }
  } finally {
    s.close();
  }
}

// The control methods over gRPC herald.v1.Realtime (`api` from realtimeClient).
export function heraldControl(api) {
  const wire = (args) => toWire(args);
  return {
    async push({ user, ns = '/', event, args = [] }) {
      const res = await api.call('PushToUser', { user_id: user, ns, event, ...wire(args) });
      return { sockets: res.sockets };
    },
    async broadcast({ ns = '/', rooms = [], except_rooms = [], event, args = [] }) {
      const res = await api.call('Broadcast', { ns, rooms, except_rooms, event, ...wire(args) });
      return { sockets: res.sockets };
    },
    async emitWithAck({ ns = '/', event, args = [], timeout_ms = 5000, ...target }) {
      const res = await api.call('EmitWithAck', { ns, target: grpcTarget(target), event, timeout_ms, ...wire(args) });
      return res.acks.map((a) => ({ socket_id: a.socket_id, timed_out: a.timed_out,
        args: a.timed_out ? [] : fromWire(a.args_json, a.attachments) }));
    },
    async disconnect({ ns = '/', close = false, ...target }) {
      const res = await api.call('Disconnect', { ns, target: grpcTarget(target), close_connection: close });
      return { sockets: res.sockets };
    },
    async presence(user, ns = '') {
      const res = await api.call('GetPresence', { user_id: user, ns });
      return { online: res.online, sockets: res.sockets.map((s) => ({ socket_id: s.socket_id, ns: s.ns,
        user_id: s.user_id, rooms: [...s.rooms].sort() })) };
    },
  };
}

async function startHeraldTarget(options) {
  const herald = await startHerald(heraldContractConfig(options));
  let echo;
  let api;
  const echoLogs = [];
  try {
    echo = spawn(join(binDir, ECHO_SERVICE_BINARY), ['--server', herald.grpc], { stdio: ['ignore', 'pipe', 'pipe'] });
    echo.stdout.setEncoding('utf8').on('data', (d) => echoLogs.push(d));
    echo.stderr.setEncoding('utf8').on('data', (d) => echoLogs.push(d));
    await waitForEchoService(herald.url, 15000);
    api = await realtimeClient(herald.grpc);
  } catch (e) {
    if (echo) await stopProcess(echo, 1000);
    await herald.stop();
    throw new Error(`${e.message}\necho-service output:\n${echoLogs.join('')}`);
  }
  const control = heraldControl(api);
  return {
    name: 'herald',
    url: herald.url,
    grpc: herald.grpc,
    pid: herald.pid,
    logs: herald.logs,
    options,
    ...control,
    async stop() {
      api.close();
      await stopProcess(echo);
      await herald.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Client helpers shared by the test files.

// Tracks every socket.io-client socket a test file creates so after() can close them all.
export function clientPool(getUrl) {
  const sockets = new Set();
  return {
    connect(path = '/', opts = {}) {
      const s = io(getUrl() + path, { transports: ['websocket'], reconnection: false, forceNew: true, ...opts });
      sockets.add(s);
      return s;
    },
    track(s) { sockets.add(s); return s; },
    closeAll() {
      for (const s of sockets) {
        s.io.opts.reconnection = false;
        s.close();
        s.io.engine?.close();
      }
      sockets.clear();
    },
  };
}

// Resolves with the socket once it connected, rejects with the connect_error (or on timeout).
export function connected(socket, timeoutMs = 5000) {
  return new Promise((resolveConnect, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error('timed out waiting for connect')); }, timeoutMs);
    const onConnect = () => { cleanup(); resolveConnect(socket); };
    const onError = (err) => { cleanup(); reject(err); };
    const cleanup = () => { clearTimeout(timer); socket.off('connect', onConnect); socket.off('connect_error', onError); };
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

// Resolves with the next `count` emissions of `event` (each an args array), or rejects on timeout.
export function collect(emitter, event, count, timeoutMs = 5000) {
  return new Promise((resolveAll, reject) => {
    const got = [];
    const handler = (...args) => {
      got.push(args);
      if (got.length === count) { clearTimeout(timer); emitter.off(event, handler); resolveAll(got); }
    };
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out waiting for ${count} '${event}' (got ${got.length})`));
    }, timeoutMs);
    emitter.on(event, handler);
  });
}

// Rejects after `ms` with `what` (a string, or a function called then) in the message unless `promise` settles first.
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms: ${typeof what === 'function' ? what() : what}`)), ms);
    }),
  ]);
}

export { nextEvent, noEvent, makeToken, DEV_SECRET } from './herald.mjs';
