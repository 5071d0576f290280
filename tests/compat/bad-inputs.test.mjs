// Bad-input catalogue (docs/bad-inputs.md), end to end against the real `herald` binary.
//
// One Herald with small limits (max_payload 10000, max_http_header_bytes 2048,
// max_namespaces_per_connection 4, max_attachments 4, ping 1500+1500 ms, api.max_message_bytes
// 65536, API bearer tokens, an HS256 secret plus an RSA PEM key generated here, a /tenant-* policy)
// and the echo service. Every test sends one hostile or broken input, asserts the documented
// response, then runs healthy(): a websocket client connected before any attack still receives a
// PushToUser and gets its acked event answered, a fresh client connects and gets an ack, /healthz on
// the admin port answers 200 and the process is still running.
//
// Herald only (these inputs are about Herald's limits, policy, auth and API; the Engine.IO rows
// that are plain Socket.IO behaviour are also in engineio-errors.test.mjs, run against both targets).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createHmac, generateKeyPairSync, sign as cryptoSign, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { once } from 'node:events';
import { io } from 'socket.io-client';
import { startHerald, defaultConfig, binary, binDir, repoRoot, makeToken, nextEvent } from './lib/herald.mjs';
import { ECHO_SERVICE_BINARY, connected, withTimeout } from './lib/targets.mjs';
import { httpRequest, eioUrl, pollingHandshake } from './lib/raw.mjs';

const MAX_PAYLOAD = 10000;
const MAX_HEADER = 2048;
const MAX_NS = 4;
const MAX_ATTACHMENTS = 4;
const PING_INTERVAL = 1500;
const PING_TIMEOUT = 1500;
const IDLE_MS = PING_INTERVAL + PING_TIMEOUT; // HTTP read idle timeout and Engine.IO ping deadline
const API_TOKEN = 'bad-inputs-api-token-0123456789';
const API_MAX_MESSAGE = 65536;
const NS_PAYLOAD_CAP = 2000; // namespace max_payload of /custom

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' });

const EVENTS = {
  'message': { action: 'forward' },
  'message-with-ack': { action: 'forward' },
  'join': { action: 'join', room: '{args.room}' },
  'relay': { action: 'relay', to: '{args.room}', except_sender: true },
};

function config() {
  return defaultConfig({
    edge: {
      ping_interval_ms: PING_INTERVAL, ping_timeout_ms: PING_TIMEOUT, max_payload: MAX_PAYLOAD,
      max_http_header_bytes: MAX_HEADER, max_namespaces_per_connection: MAX_NS,
      max_attachments: MAX_ATTACHMENTS,
      cors: { origins: ['http://allowed.example'], credentials: false, reject_disallowed: true },
    },
    api: { bearer_tokens: [API_TOKEN], max_message_bytes: API_MAX_MESSAGE },
    auth: { keys: [{ kid: 'test', secret: 'compat-test-secret-at-least-32-bytes-long', algs: ['HS256'] },
      { kid: 'rsa', pem: PUBLIC_PEM }] },
    namespaces: {
      '/': { auth: 'required', auto_join: ['user:{sub}'], rooms: { join_allowed: ['*'] }, events: EVENTS },
      '/custom': { auth: 'optional', rooms: { join_allowed: ['*'] }, max_payload: NS_PAYLOAD_CAP, events: EVENTS },
      '/anon': { auth: 'none', rooms: { join_allowed: ['*'] }, events: EVENTS },
      '/flood-*': { auth: 'none' },
      '/tenant-*': {
        auth: 'required', require_claims: { tenant: '{ns.1}' },
        rooms: { join_allowed: ['{claims.tenant}:*'] },
        events: { join: { action: 'join', room: '{args.room}' } },
      },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// JWTs signed here with node:crypto.
const b64u = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
function jwt(header, claims, signer) {
  const input = `${b64u(header)}.${b64u(claims)}`;
  return `${input}.${signer ? Buffer.from(signer(input)).toString('base64url') : ''}`;
}
const claims = (extra = {}) => ({ iat: now(), exp: now() + 3600, ...extra });

// ---------------------------------------------------------------------------------------------
// A raw websocket over node:net: every frame byte is ours (masking, opcodes, RSV bits, UTF-8).
function rawWs(port, path = '/socket.io/?EIO=4&transport=websocket', { autoPong = true } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let closeCode = null;
  const queue = [];
  const waiters = [];
  let resolveOpen, rejectOpen;
  const opened = new Promise((r, j) => { resolveOpen = r; rejectOpen = j; });
  opened.catch(() => {});
  const closed = new Promise((r) => sock.on('close', () => {
    rejectOpen(new Error('closed before upgrade'));
    for (const w of waiters.splice(0)) w.reject(new Error(`socket closed (${closeCode}) while waiting`));
    r({ code: closeCode ?? 1006, at: Date.now() });
  }));
  sock.on('error', () => {});
  sock.on('connect', () => {
    sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
  const deliver = (m) => {
    if (autoPong && m === '2') { c.sendText('3'); return; }
    const w = waiters.shift();
    if (w) w.resolve(m); else queue.push(m);
  };
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      const status = Number(head.split(' ')[1]);
      if (status !== 101) { rejectOpen(new Error(`upgrade refused: ${status}`)); sock.destroy(); return; }
      upgraded = true;
      resolveOpen();
    }
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) return;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (op === 1) deliver(payload.toString('utf8'));
      else if (op === 2) deliver(Buffer.from(payload));
      else if (op === 8) { closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005; sock.end(); }
    }
  });
  const c = {
    sock, opened, closed,
    sendFrame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
      const p = Buffer.from(payload);
      const len = p.length;
      const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode)];
      const m = mask ? 0x80 : 0;
      if (len < 126) head.push(m | len);
      else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
      else { head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff); }
      let body = p;
      const parts = [Buffer.from(head)];
      if (mask) {
        const key = randomBytes(4);
        body = Buffer.alloc(len);
        for (let i = 0; i < len; i++) body[i] = p[i] ^ key[i & 3];
        parts.push(key);
      }
      parts.push(body);
      if (!sock.destroyed) sock.write(Buffer.concat(parts));
    },
    sendText(s) { c.sendFrame(1, Buffer.from(s, 'utf8')); },
    sendBinary(b) { c.sendFrame(2, b); },
    next(timeoutMs = 5000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (sock.destroyed) return Promise.reject(new Error(`socket closed (${closeCode})`));
      return new Promise((res, rej) => {
        const w = { resolve: (m) => { clearTimeout(t); res(m); }, reject: (e) => { clearTimeout(t); rej(e); } };
        const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); rej(new Error(`no message within ${timeoutMs}ms`)); }, timeoutMs);
        waiters.push(w);
      });
    },
    async waitFor(pred, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = await c.next(Math.max(1, deadline - Date.now()));
        if (pred(m)) return m;
      }
    },
    close() { sock.destroy(); },
  };
  return c;
}

// ---------------------------------------------------------------------------------------------
describe('bad inputs [herald]', () => {
  let herald;
  let echo;
  let port;
  let grpc;
  let Realtime;
  let api;
  let sentinel;
  let seq = 0;
  const cleanup = new Set();
  const track = (x) => { cleanup.add(x); return x; };

  const call = (method, request, { token = API_TOKEN, client = api } = {}) => new Promise((resolve) => {
    const md = new grpc.Metadata();
    if (token !== null) md.set('authorization', `Bearer ${token}`);
    client[method](request, md, { deadline: Date.now() + 10000 }, (err, res) => resolve({ err, res }));
  });
  const ok = async (method, request) => {
    const { err, res } = await call(method, request);
    if (err) throw err;
    return res;
  };

  async function metric(name, labels = '') {
    const res = await httpRequest(`${herald.admin}/metrics`);
    const line = res.body.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line ? Number(line.split(' ').pop()) : 0;
  }
  // Waits (bounded) until the counter has grown by at least `by` from `before`.
  async function counterGrew(name, labels, before, by = 1) {
    const text = (await httpRequest(`${herald.admin}/metrics`)).body;
    assert.ok(text.includes(name), `/metrics exports no ${name}`);
    const deadline = Date.now() + 3000;
    let v;
    while ((v = await metric(name, labels)) < before + by) {
      if (Date.now() > deadline) assert.fail(`${name}{${labels}} stayed at ${v} (before ${before}, expected +${by})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function client(ns, opts = {}) {
    return track(io(herald.url + ns, { transports: ['websocket'], reconnection: false, forceNew: true, ...opts }));
  }

  // The health check run after every input.
  async function healthy() {
    assert.equal(herald.proc.exitCode, null, 'herald exited');
    assert.equal(herald.proc.signalCode, null, 'herald was killed by a signal');
    const n = ++seq;
    // 1. The long-lived client still gets a push ...
    const got = nextEvent(sentinel, 'health', 5000);
    const pushed = await ok('PushToUser', { user_id: 'sentinel', ns: '/', event: 'health', args_json: JSON.stringify([n]) });
    assert.equal(pushed.sockets, 1, 'sentinel socket not in presence');
    assert.deepEqual(await got, [n]);
    // ... and an acked event round trip.
    assert.equal(await sentinel.timeout(5000).emitWithAck('message-with-ack', `ack-${n}`), `ack-${n}`);
    assert.equal(sentinel.connected, true);
    // 2. A fresh client connects and gets an ack.
    const fresh = client('/anon');
    try {
      await connected(fresh);
      assert.equal(await fresh.timeout(5000).emitWithAck('message-with-ack', n), n);
    } finally {
      fresh.close();
      cleanup.delete(fresh);
    }
    // 3. The admin port answers.
    const hz = await httpRequest(`${herald.admin}/healthz`);
    assert.equal(hz.status, 200);
  }

  // A raw Socket.IO connection (own websocket framing) with `ns` connected.
  async function rawSio(ns = '/anon') {
    const c = track(rawWs(port));
    await c.opened;
    assert.match(await c.next(), /^0\{/);
    c.sendText(`40${ns},`);
    await c.waitFor((m) => typeof m === 'string' && m.startsWith(`40${ns},{"sid"`));
    return c;
  }
  // Sends `frames` on a fresh raw connection; asserts it is closed and `kind` was counted.
  async function expectProtocolClose(frames, kind) {
    const c = await rawSio('/anon');
    const before = await metric('herald_edge_protocol_errors_total', `kind="${kind}"`);
    for (const f of frames) (typeof f === 'string' ? c.sendText(f) : c.sendBinary(f));
    await withTimeout(c.closed, 5000, `connection not closed after ${JSON.stringify(frames).slice(0, 80)}`);
    await counterGrew('herald_edge_protocol_errors_total', `kind="${kind}"`, before);
  }
  async function expectWsClose(send, code) {
    const c = track(rawWs(port));
    await c.opened;
    assert.match(await c.next(), /^0\{/);
    send(c);
    const closed = await withTimeout(c.closed, 5000, 'websocket close');
    assert.equal(closed.code, code);
  }
  const connectError = async (s) => {
    const [err] = await nextEvent(s, 'connect_error', 5000);
    assert.equal(s.connected, false);
    return err;
  };
  // Raw HTTP bytes; resolves {status, head, closedAt} when the server closes (bounded).
  function rawHttp(bytes, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const s = track(net.connect(port, '127.0.0.1'));
      let data = '';
      const t = setTimeout(() => { s.destroy(); reject(new Error(`no close within ${timeoutMs}ms; got ${data.slice(0, 100)}`)); }, timeoutMs);
      s.on('connect', () => s.write(bytes));
      s.on('data', (d) => { data += d.toString('latin1'); });
      s.on('error', () => {});
      s.on('close', () => { clearTimeout(t); resolve({ status: Number(data.split(' ')[1]) || null, head: data, closedAt: Date.now() }); });
    });
  }
  const url = (q) => eioUrl(herald.url, q);
  const eioError = (res, status, code, message) => {
    assert.equal(res.status, status, `status (body ${res.body})`);
    assert.deepEqual(JSON.parse(res.body), { code, message });
  };

  before(async () => {
    herald = await startHerald(config());
    port = Number(new URL(herald.url).port);
    const echoLogs = [];
    echo = spawn(binary(ECHO_SERVICE_BINARY), ['--server', herald.grpc, '--token', API_TOKEN], { stdio: ['ignore', 'pipe', 'pipe'] });
    echo.stdout.on('data', (d) => echoLogs.push(String(d)));
    echo.stderr.on('data', (d) => echoLogs.push(String(d)));
    // The echo service registered once a forwarded event comes back (bounded poll).
    const probe = client('/anon');
    await connected(probe);
    const deadline = Date.now() + 15000;
    for (;;) {
      const r = await probe.timeout(1000).emitWithAck('message-with-ack', 'probe').catch(() => null);
      if (r === 'probe') break;
      if (Date.now() > deadline) throw new Error(`echo service not answering:\n${echoLogs.join('')}`);
      await new Promise((r2) => setTimeout(r2, 100));
    }
    probe.close();
    grpc = await import('@grpc/grpc-js');
    const protoLoader = await import('@grpc/proto-loader');
    const protosDir = join(repoRoot, 'protos');
    const def = protoLoader.loadSync(join(protosDir, 'herald/v1/realtime.proto'), {
      keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protosDir],
    });
    Realtime = grpc.loadPackageDefinition(def).herald.v1.Realtime;
    api = new Realtime(herald.grpc, grpc.credentials.createInsecure());
    sentinel = client('/', { auth: { token: makeToken({ sub: 'sentinel' }) } });
    await connected(sentinel);
    await healthy();
  });

  after(async () => {
    for (const x of cleanup) { try { x.close?.(); x.destroy?.(); } catch { /* gone */ } }
    api?.close();
    if (echo && echo.exitCode === null && echo.signalCode === null) {
      const exited = once(echo, 'exit');
      process.kill(echo.pid, 'SIGTERM');
      const t = setTimeout(() => { try { process.kill(echo.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
      await exited;
      clearTimeout(t);
    }
    await herald?.stop();
  });

  // ----------------------------------------------------------------------------- HTTP
  test('http: request headers over edge.max_http_header_bytes → 431, connection closed', async () => {
    const res = await rawHttp(`GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX_HEADER * 2)}\r\n\r\n`);
    assert.equal(res.status, 431, res.head.slice(0, 200));
    await healthy();
  });

  test('http: a request line that is not HTTP → 400, connection closed', async () => {
    const res = await rawHttp('GARBAGE\x00\x01 NOT HTTP\r\n\r\n');
    assert.equal(res.status, 400, res.head.slice(0, 200));
    await healthy();
  });

  test('http: polling POST body over edge.max_payload → 413 and the session is closed', async () => {
    const { sid } = await pollingHandshake(herald.url);
    const u = url({ EIO: '4', transport: 'polling', sid });
    const res = await httpRequest(u, { method: 'POST', body: '4' + 'x'.repeat(MAX_PAYLOAD + 10), headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    assert.equal(res.status, 413);
    eioError(await httpRequest(u), 400, 1, 'Session ID unknown');
    await healthy();
  });

  test('http: polling POST announcing a 1 GB Content-Length → 413 without reading the body', async () => {
    const { sid } = await pollingHandshake(herald.url);
    const res = await rawHttp(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n` +
      'Content-Type: text/plain\r\nContent-Length: 1000000000\r\n\r\n4hello');
    assert.equal(res.status, 413, res.head.slice(0, 200));
    await healthy();
  });

  test('http: slowloris (request headers trickled byte by byte) is closed within the idle timeout; others unaffected', async () => {
    const s = track(net.connect(port, '127.0.0.1'));
    s.on('error', () => {});
    await once(s, 'connect');
    const start = Date.now();
    const closedAt = new Promise((r) => s.on('close', () => r(Date.now())));
    const drip = 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n' + 'X-Slow: a\r\n'.repeat(200);
    let i = 0;
    const timer = setInterval(() => { if (!s.destroyed && i < drip.length) s.write(drip[i++]); }, 20);
    try {
      await healthy(); // while the attack is in progress
      const at = await withTimeout(closedAt, IDLE_MS + 3000, 'slowloris connection still open');
      assert.ok(at - start <= IDLE_MS + 1500, `closed after ${at - start} ms`);
    } finally {
      clearInterval(timer);
      s.destroy();
    }
    await healthy();
  });

  test('tcp: half-open connections (connect, send nothing) are closed within the idle timeout', async () => {
    const socks = Array.from({ length: 20 }, () => track(net.connect(port, '127.0.0.1')));
    const start = Date.now();
    const closes = socks.map((s) => { s.on('error', () => {}); return new Promise((r) => s.on('close', () => r(Date.now()))); });
    await healthy();
    const times = await withTimeout(Promise.all(closes), IDLE_MS + 3000, 'half-open sockets still open');
    assert.ok(Math.max(...times) - start <= IDLE_MS + 1500, `closed after ${Math.max(...times) - start} ms`);
    await healthy();
  });

  test('engine.io: websocket that never answers pings is closed after pingInterval + pingTimeout', async () => {
    const c = track(rawWs(port, undefined, { autoPong: false }));
    await c.opened;
    const start = Date.now();
    const closed = await withTimeout(c.closed, IDLE_MS + 3000, 'silent websocket still open');
    assert.ok(closed.at - start >= PING_INTERVAL, `closed too early: ${closed.at - start} ms`);
    await healthy();
  });

  test('engine.io: polling session that stops polling is closed (later requests: code 1)', async () => {
    const { sid } = await pollingHandshake(herald.url);
    await new Promise((r) => setTimeout(r, IDLE_MS + 1000));
    eioError(await httpRequest(url({ EIO: '4', transport: 'polling', sid })), 400, 1, 'Session ID unknown');
    await healthy();
  });

  test('engine.io: EIO=3 → 400 code 5', async () => {
    eioError(await httpRequest(url({ EIO: '3', transport: 'polling' })), 400, 5, 'Unsupported protocol version');
    await healthy();
  });

  test('engine.io: unknown transport → 400 code 0', async () => {
    eioError(await httpRequest(url({ EIO: '4', transport: 'carrier-pigeon' })), 400, 0, 'Transport unknown');
    await healthy();
  });

  test('engine.io: unknown sid → 400 code 1', async () => {
    eioError(await httpRequest(url({ EIO: '4', transport: 'polling', sid: 'AAAAAAAAAAAAAAAAAAAA' })), 400, 1, 'Session ID unknown');
    await healthy();
  });

  test('engine.io: polling POST to a websocket session → 400 code 3, the websocket session survives', async () => {
    const c = track(rawWs(port));
    await c.opened;
    const { sid } = JSON.parse((await c.next()).slice(1));
    eioError(await httpRequest(url({ EIO: '4', transport: 'polling', sid }), { method: 'POST', body: '4hello' }), 400, 3, 'Bad request');
    c.sendText('40/anon,');
    await c.waitFor((m) => typeof m === 'string' && m.startsWith('40/anon,{"sid"'));
    c.close();
    await healthy();
  });

  test('engine.io: a second concurrent polling GET → 400 and the session is closed', async () => {
    const { sid } = await pollingHandshake(herald.url);
    const u = url({ EIO: '4', transport: 'polling', sid });
    const first = httpRequest(u);
    await new Promise((r) => setTimeout(r, 100)); // let the first GET park
    const second = await httpRequest(u);
    assert.equal(second.status, 400);
    const firstRes = await first;
    assert.equal(firstRes.status, 200);
    assert.equal(firstRes.body, '1', 'the parked GET gets the close packet');
    eioError(await httpRequest(u), 400, 1, 'Session ID unknown');
    await healthy();
  });

  test('engine.io: CORS request from a refused Origin → 403 code 4, no CORS headers', async () => {
    const res = await httpRequest(url({ EIO: '4', transport: 'polling' }), { headers: { origin: 'http://evil.example' } });
    eioError(res, 403, 4, 'Forbidden');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    await healthy();
  });

  // ----------------------------------------------------------------------------- WebSocket framing
  test('websocket: a message over edge.max_payload → close 1009', async () => {
    await expectWsClose((c) => c.sendText('4' + 'x'.repeat(MAX_PAYLOAD + 10)), 1009);
    await healthy();
  });

  test('websocket: fragments adding up to more than edge.max_payload → close 1009', async () => {
    await expectWsClose((c) => {
      c.sendFrame(1, Buffer.from('4' + 'x'.repeat(6000)), { fin: false });
      c.sendFrame(0, Buffer.from('x'.repeat(6000)), { fin: true });
    }, 1009);
    await healthy();
  });

  test('websocket: invalid UTF-8 in a text frame → close 1007', async () => {
    await expectWsClose((c) => c.sendFrame(1, Buffer.from([0x34, 0xc3, 0x28, 0xff])), 1007);
    await healthy();
  });

  test('websocket: a client frame that is not masked → close 1002', async () => {
    await expectWsClose((c) => c.sendFrame(1, Buffer.from('4hello'), { mask: false }), 1002);
    await healthy();
  });

  test('websocket: reserved opcodes (0x3, 0xB) → close 1002', async () => {
    await expectWsClose((c) => c.sendFrame(0x3, Buffer.from('x')), 1002);
    await expectWsClose((c) => c.sendFrame(0xb, Buffer.from('x')), 1002);
    await healthy();
  });

  test('websocket: RSV bits set without a negotiated extension → close 1002', async () => {
    await expectWsClose((c) => c.sendFrame(1, Buffer.from('4hello'), { rsv: 4 }), 1002);
    await healthy();
  });

  // ----------------------------------------------------------------------------- Socket.IO packets
  test('socket.io: "45" binary event without "-" → closed (parse error, bad_packet)', async () => {
    await expectProtocolClose(['45/anon,["message",1]'], 'bad_packet');
    await healthy();
  });

  test('socket.io: event name not a string → closed (parse error, bad_packet)', async () => {
    await expectProtocolClose(['42/anon,[42,"x"]'], 'bad_packet');
    await healthy();
  });

  test('socket.io: non-array event payload → closed (parse error, bad_packet)', async () => {
    await expectProtocolClose(['42/anon,{"event":"message"}'], 'bad_packet');
    await healthy();
  });

  test('socket.io: unknown packet type → closed (parse error, bad_packet)', async () => {
    await expectProtocolClose(['49/anon,["message"]'], 'bad_packet');
    await healthy();
  });

  test('socket.io: JSON nested deeper than 64 levels → closed (parse error, bad_packet)', async () => {
    await expectProtocolClose([`42/anon,["message",${'['.repeat(70)}${']'.repeat(70)}]`], 'bad_packet');
    await healthy();
  });

  test('socket.io: ack id over 2^53-1 → closed (parse error, bad_packet)', async () => {
    await expectProtocolClose(['43/anon,9007199254740993["x"]'], 'bad_packet');
    await healthy();
  });

  test('socket.io: more attachments than edge.max_attachments → closed (parse error, bad_packet)', async () => {
    const n = MAX_ATTACHMENTS + 1;
    const ph = Array.from({ length: n }, (_, i) => ({ _placeholder: true, num: i }));
    await expectProtocolClose([`45${n}-/anon,${JSON.stringify(['message', ...ph])}`], 'bad_packet');
    await healthy();
  });

  test('socket.io: attachments totalling more than edge.max_payload → closed (parse error, binary_sequence)', async () => {
    const ph = [0, 1].map((i) => ({ _placeholder: true, num: i }));
    await expectProtocolClose([`452-/anon,${JSON.stringify(['message', ...ph])}`,
      Buffer.alloc(MAX_PAYLOAD * 0.6, 1), Buffer.alloc(MAX_PAYLOAD * 0.6, 2)], 'binary_sequence');
    await healthy();
  });

  test('socket.io: a text packet while attachments are expected → closed (parse error, binary_sequence)', async () => {
    await expectProtocolClose([`451-/anon,["message",{"_placeholder":true,"num":0}]`, '42/anon,["message"]'], 'binary_sequence');
    await healthy();
  });

  test('socket.io: reserved event name from a client ("connect") → closed (parse error, reserved_event)', async () => {
    await expectProtocolClose(['42/anon,["connect"]'], 'reserved_event');
    await healthy();
  });

  test('socket.io: a packet for a namespace not connected → closed (forced server close, invalid_state)', async () => {
    await expectProtocolClose(['42/custom,["message-with-ack","x"]'], 'invalid_state');
    await healthy();
  });

  test('socket.io: CONNECT for an already connected namespace → closed (invalid_state)', async () => {
    await expectProtocolClose(['40/anon,'], 'invalid_state');
    await healthy();
  });

  test('socket.io: 2000 ACKs with unknown ids are ignored; the connection keeps working', async () => {
    const c = await rawSio('/anon');
    for (let i = 0; i < 2000; i++) c.sendText(`43/anon,${100000 + i}["bogus"]`);
    c.sendText('42/anon,7["message-with-ack","after-flood"]');
    const ack = await c.waitFor((m) => typeof m === 'string' && m.startsWith('43/anon,7'), 10000);
    assert.equal(ack, '43/anon,7["after-flood"]');
    assert.equal(c.sock.destroyed, false);
    c.close();
    await healthy();
  });

  test('socket.io: 2000 namespaces requested on one connection → FORBIDDEN past the limit, connection stays', async () => {
    const c = await rawSio('/anon'); // 1 of MAX_NS
    let frames = '';
    for (let i = 0; i < 2000; i++) frames += `40/flood-${i},\n`;
    for (const f of frames.trim().split('\n')) c.sendText(f);
    const accepted = [];
    const refused = [];
    await withTimeout((async () => {
      while (accepted.length + refused.length < 2000) {
        const m = await c.next(10000);
        if (typeof m !== 'string') continue;
        const mm = /^4([04])\/flood-(\d+),(.*)$/.exec(m);
        if (!mm) continue;
        if (mm[1] === '0') accepted.push(Number(mm[2]));
        else { refused.push(Number(mm[2])); if (refused.length === 1) assert.deepEqual(JSON.parse(mm[3]), { message: 'Too many namespaces on this connection', data: { code: 'FORBIDDEN' } }); }
      }
    })(), 15000, () => `answers: ${accepted.length} accepted, ${refused.length} refused`);
    assert.deepEqual(accepted.sort((a, b) => a - b), [0, 1, 2]);
    assert.equal(refused.length, 1997);
    c.sendText('42/anon,8["message-with-ack","still-here"]');
    assert.equal(await c.waitFor((m) => typeof m === 'string' && m.startsWith('43/anon,8'), 5000), '43/anon,8["still-here"]');
    c.close();
    await healthy();
  });

  // ----------------------------------------------------------------------------- Policy (events)
  test('policy: an event over the namespace max_payload → ack error PAYLOAD_TOO_LARGE', async () => {
    const s = client('/custom');
    await connected(s);
    const res = await s.timeout(5000).emitWithAck('message-with-ack', 'x'.repeat(NS_PAYLOAD_CAP + 100));
    assert.equal(res?.error?.code, 'PAYLOAD_TOO_LARGE');
    s.close();
    await healthy();
  });

  test('policy: an undeclared event → ack error UNKNOWN_EVENT', async () => {
    const s = client('/anon');
    await connected(s);
    const res = await s.timeout(5000).emitWithAck('dance', 1);
    assert.equal(res?.error?.code, 'UNKNOWN_EVENT');
    s.close();
    await healthy();
  });

  test('policy: join without the room its template needs → ack error VALIDATION_FAILED', async () => {
    const s = client('/anon');
    await connected(s);
    const res = await s.timeout(5000).emitWithAck('join', { nope: 1 });
    assert.equal(res?.error?.code, 'VALIDATION_FAILED');
    s.close();
    await healthy();
  });

  // ----------------------------------------------------------------------------- Auth
  test('auth: alg "none" token → connect_error INVALID_TOKEN', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const token = jwt({ alg, typ: 'JWT' }, claims({ sub: 'mallory' }));
      assert.equal((await connectError(client('/', { auth: { token } }))).data?.code, 'INVALID_TOKEN', alg);
    }
    await healthy();
  });

  test('auth: RS/HS confusion (HS256 MACed with the RSA public key PEM) → INVALID_TOKEN; a real RS256 token connects', async () => {
    const hs = (input) => createHmac('sha256', PUBLIC_PEM).update(input).digest();
    for (const header of [{ alg: 'HS256', typ: 'JWT', kid: 'rsa' }, { alg: 'HS256', typ: 'JWT' }]) {
      const token = jwt(header, claims({ sub: 'mallory' }), hs);
      assert.equal((await connectError(client('/', { auth: { token } }))).data?.code, 'INVALID_TOKEN', JSON.stringify(header));
    }
    const good = jwt({ alg: 'RS256', typ: 'JWT', kid: 'rsa' }, claims({ sub: 'rsa-user' }), (input) => cryptoSign('sha256', Buffer.from(input), privateKey));
    const s = client('/', { auth: { token: good } });
    await connected(s);
    s.close();
    await healthy();
  });

  test('auth: expired token → EXPIRED_TOKEN; nbf / iat in the future → INVALID_TOKEN', async () => {
    const expired = makeToken({ sub: 'old', iat: now() - 7200, exp: now() - 3600 });
    assert.equal((await connectError(client('/', { auth: { token: expired } }))).data?.code, 'EXPIRED_TOKEN');
    const notYet = makeToken({ sub: 'early', nbf: now() + 3600 });
    assert.equal((await connectError(client('/', { auth: { token: notYet } }))).data?.code, 'INVALID_TOKEN');
    const future = makeToken({ sub: 'early', iat: now() + 3600, exp: now() + 7200 });
    assert.equal((await connectError(client('/', { auth: { token: future } }))).data?.code, 'INVALID_TOKEN');
    await healthy();
  });

  test('auth: token without sub, and a token over 8 KiB → INVALID_TOKEN', async () => {
    assert.equal((await connectError(client('/', { auth: { token: makeToken({}) } }))).data?.code, 'INVALID_TOKEN');
    const big = makeToken({ sub: 'big', pad: 'p'.repeat(6200) }); // > 8 KiB, packet < max_payload
    assert.ok(big.length > 8192 && big.length < MAX_PAYLOAD - 200);
    assert.equal((await connectError(client('/', { auth: { token: big } }))).data?.code, 'INVALID_TOKEN');
    await healthy();
  });

  test('auth: herald:refresh_token with another user\'s token → FORBIDDEN, with alg none → INVALID_TOKEN', async () => {
    const s = client('/', { auth: { token: makeToken({ sub: 'refresher' }) } });
    await connected(s);
    const other = await s.timeout(5000).emitWithAck('herald:refresh_token', { token: makeToken({ sub: 'someone-else' }) });
    assert.equal(other?.error?.code, 'FORBIDDEN');
    const none = await s.timeout(5000).emitWithAck('herald:refresh_token', { token: jwt({ alg: 'none' }, claims({ sub: 'refresher' })) });
    assert.equal(none?.error?.code, 'INVALID_TOKEN');
    assert.equal(s.connected, true);
    s.close();
    await healthy();
  });

  test('auth/policy: a tenant\'s token on another tenant\'s namespace → FORBIDDEN; joining another tenant\'s room → FORBIDDEN', async () => {
    const acme = makeToken({ sub: 'wile', tenant: 'acme' });
    assert.equal((await connectError(client('/tenant-globex', { auth: { token: acme } }))).data?.code, 'FORBIDDEN');
    const s = client('/tenant-acme', { auth: { token: acme } });
    await connected(s);
    assert.equal((await s.timeout(5000).emitWithAck('join', { room: 'globex:lobby' }))?.error?.code, 'FORBIDDEN');
    assert.deepEqual(await s.timeout(5000).emitWithAck('join', { room: 'acme:lobby' }), { ok: true, rooms: ['acme:lobby'] });
    s.close();
    await healthy();
  });

  // ----------------------------------------------------------------------------- gRPC API
  const push = (over = {}) => ({ user_id: 'nobody', ns: '/', event: 'hello', args_json: '[]', ...over });
  const grpcCode = (name) => grpc.status[name];

  test('grpc: calls without a bearer token, or with a wrong one → UNAUTHENTICATED', async () => {
    for (const token of [null, 'wrong-token-wrong-token-wrong', '']) {
      const { err } = await call('PushToUser', push(), { token });
      assert.equal(err?.code, grpcCode('UNAUTHENTICATED'), `token ${JSON.stringify(token)}: ${err?.message}`);
    }
    const { err } = await call('Stats', {}, { token: null });
    assert.equal(err?.code, grpcCode('UNAUTHENTICATED'));
    await healthy();
  });

  test('grpc: a message over api.max_message_bytes → RESOURCE_EXHAUSTED', async () => {
    const { err } = await call('PushToUser', push({ args_json: JSON.stringify(['x'.repeat(API_MAX_MESSAGE + 100)]) }));
    assert.equal(err?.code, grpcCode('RESOURCE_EXHAUSTED'), err?.message);
    await healthy();
  });

  test('grpc: reserved or empty event names → INVALID_ARGUMENT', async () => {
    for (const event of ['connect', 'disconnect', 'newListener', '']) {
      const { err } = await call('PushToUser', push({ event }));
      assert.equal(err?.code, grpcCode('INVALID_ARGUMENT'), `event ${JSON.stringify(event)}: ${err?.message}`);
    }
    await healthy();
  });

  test('grpc: args_json not a JSON array (object, scalar, garbage) → INVALID_ARGUMENT', async () => {
    for (const args_json of ['{"a":1}', '42', '[1,', 'nope']) {
      const { err } = await call('PushToUser', push({ args_json }));
      assert.equal(err?.code, grpcCode('INVALID_ARGUMENT'), `args_json ${args_json}: ${err?.message}`);
    }
    await healthy();
  });

  test('grpc: placeholder count mismatch → INVALID_ARGUMENT', async () => {
    const ph = (n) => ({ _placeholder: true, num: n });
    const cases = [
      { args_json: JSON.stringify([ph(0)]), attachments: [] },
      { args_json: '[]', attachments: [Buffer.from('x')] },
      { args_json: JSON.stringify([ph(0), ph(2)]), attachments: [Buffer.from('a'), Buffer.from('b')] },
    ];
    for (const c of cases) {
      const { err } = await call('PushToUser', push(c));
      assert.equal(err?.code, grpcCode('INVALID_ARGUMENT'), `${c.args_json}/${c.attachments.length}: ${err?.message}`);
    }
    await healthy();
  });

  test('grpc: args nested deeper than 64, unknown namespace, no target → INVALID_ARGUMENT', async () => {
    let r = await call('PushToUser', push({ args_json: `[${'['.repeat(70)}${']'.repeat(70)}]` }));
    assert.equal(r.err?.code, grpcCode('INVALID_ARGUMENT'), `deep: ${r.err?.message}`);
    r = await call('PushToUser', push({ ns: '/no-such-ns' }));
    assert.equal(r.err?.code, grpcCode('INVALID_ARGUMENT'), `ns: ${r.err?.message}`);
    r = await call('EmitWithAck', { ns: '/', event: 'x', args_json: '[]', timeout_ms: 1000 });
    assert.equal(r.err?.code, grpcCode('INVALID_ARGUMENT'), `target: ${r.err?.message}`);
    r = await call('EmitWithAck', { ns: '/', target: { all: true }, event: 'x', args_json: '[]', timeout_ms: 0 });
    assert.equal(r.err?.code, grpcCode('INVALID_ARGUMENT'), `timeout 0: ${r.err?.message}`);
    await healthy();
  });

  // ----------------------------------------------------------------------------- Configuration
  function checkConfig(cfg, extraArgs = []) {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bad-config-'));
    const p = join(dir, 'c.json');
    writeFileSync(p, JSON.stringify(cfg));
    return new Promise((resolve) => {
      execFile(binary('standalone/herald'), ['--check-config', '--config', p, ...extraArgs], { timeout: 10000 },
        (err, stdout, stderr) => { rmSync(dir, { recursive: true, force: true }); resolve({ code: err ? err.code : 0, stdout, stderr }); });
    });
  }

  test('config: an unknown key → --check-config exits 2 naming its path', async () => {
    const r = await checkConfig({ edge: { max_conections: 5 } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /edge\.max_conections/);
    const p = await checkConfig({ namespaces: { '/chat': { rooms: { join_alowed: ['*'] } } } });
    assert.equal(p.code, 2, p.stderr);
    assert.match(p.stderr, /namespaces\.\/chat\.rooms\.join_alowed/);
    await healthy();
  });

  test('config: a bad value (out of range, wrong type, bad enum) → --check-config exits 2 naming its path', async () => {
    for (const [cfg, path] of [
      [{ edge: { shards: 65 } }, /edge\.shards/],
      [{ edge: { max_payload: 'lots' } }, /edge\.max_payload/],
      [{ log: { level: 'loud' } }, /log\.level/],
      [{ namespaces: { '/x': { auth: 'sometimes' } } }, /namespaces\.\/x\.auth/],
    ]) {
      const r = await checkConfig(cfg);
      assert.equal(r.code, 2, `${JSON.stringify(cfg)}: ${r.stderr}`);
      assert.match(r.stderr, path);
    }
    const s = await checkConfig({}, ['--set', 'edge.shardz=1']);
    assert.equal(s.code, 2, s.stderr);
    assert.match(s.stderr, /edge\.shardz/);
    await healthy();
  });

  test('config: a namespace with auth required but no key → --check-config exits 2', async () => {
    const r = await checkConfig({ namespaces: { '/': { auth: 'required' } } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /key|auth/i);
    await healthy();
  });
});
