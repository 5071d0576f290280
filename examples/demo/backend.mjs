#!/usr/bin/env node
// The quickstart demo's backend: an example *internal service* next to Herald. It is what your own
// application server would be, reduced to three HTTP endpoints for the demo page:
//
//   POST /api/token   {name, ttl_s}  → {token, sub, expires_at_ms}   dev tokens (HS256), ONLY when
//                                      started with --dev-tokens and HERALD_DEV_SECRET; else 403
//   POST /api/notify  {user, text}   → {sockets}  herald.v1.Realtime/PushToUser: event
//                                      "notification" [{from, text, at}] to every socket of `user`
//   GET  /api/members?room=R         → {room, users}  herald.v1.Realtime/ListRoomMembers; the room is
//                                      then watched: every --poll-ms the backend lists its members and,
//                                      when they changed, Broadcasts "members" [{room, users}] to it
//
// /api/notify and /api/members need "Authorization: Bearer <a token Herald would accept>" (checked
// here with the same secret: HS256, exp). Nothing else is served: the page itself comes from
// Herald's edge (edge.static_path), and talks to this backend cross-origin (CORS: --allow-origin).
//
//   HERALD_DEV_SECRET=... node examples/demo/backend.mjs --dev-tokens --kid dev \
//       --listen 127.0.0.1:3001 --grpc 127.0.0.1:50051 --ns /chat --allow-origin http://127.0.0.1:3000
//
// Options: --listen HOST:PORT (port 0 = any free port), --grpc HOST:PORT, --ns NS (default /chat),
// --allow-origin ORIGIN (repeatable), --dev-tokens, --kid KID, --max-ttl S (default 86400),
// --poll-ms N (default 1000). Environment: HERALD_DEV_SECRET (HS256 secret, ≥ 32 bytes, required),
// HERALD_API_TOKEN (sent as the gRPC "authorization: Bearer" when the broker has api.bearer_tokens).
// On start it prints one JSON line to stderr: {"msg":"demo backend ready","url":"http://…"}.
// THIS IS A DEVELOPMENT TOOL: anyone who reaches /api/token can be anyone.
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = dirname(fileURLToPath(import.meta.url));
const protosDir = resolve(here, '../../protos');

function parseArgs(argv) {
  const o = { listen: '127.0.0.1:3001', grpc: '127.0.0.1:50051', ns: '/chat', origins: [],
    devTokens: false, kid: '', maxTtl: 86400, pollMs: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--listen': o.listen = val(); break;
      case '--grpc': o.grpc = val(); break;
      case '--ns': o.ns = val(); break;
      case '--allow-origin': o.origins.push(val()); break;
      case '--dev-tokens': o.devTokens = true; break;
      case '--kid': o.kid = val(); break;
      case '--max-ttl': o.maxTtl = Number(val()); break;
      case '--poll-ms': o.pollMs = Number(val()); break;
      default: fail(`unknown option ${a}`);
    }
  }
  return o;
}

function fail(message) {
  process.stderr.write(`demo backend: ${message}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const secret = process.env.HERALD_DEV_SECRET ?? '';
if (Buffer.byteLength(secret) < 32) {
  fail('HERALD_DEV_SECRET must hold the HS256 secret Herald verifies with (at least 32 bytes)');
}
const apiToken = process.env.HERALD_API_TOKEN ?? '';

// ---------------------------------------------------------------------------------------------
// HS256 JWTs with Node's crypto.

const b64url = (v) => Buffer.from(v).toString('base64url');

function signToken(sub, ttlS) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'HS256', typ: 'JWT', ...(opts.kid ? { kid: opts.kid } : {}) };
  const claims = { sub, name: sub, iat: now, exp: now + ttlS };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return { token: `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`,
    expires_at_ms: claims.exp * 1000 };
}

// The caller's subject, or null. Same rules Herald applies to these tokens: HS256, valid MAC, exp.
function verifyToken(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    if (header.alg !== 'HS256') return null;
    const mac = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
    const sig = Buffer.from(parts[2], 'base64url');
    if (sig.length !== mac.length || !timingSafeEqual(sig, mac)) return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof claims.sub !== 'string' || !claims.sub) return null;
    if (typeof claims.exp === 'number' && Date.now() >= claims.exp * 1000) return null;
    return claims.sub;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// herald.v1.Realtime over gRPC.

const def = protoLoader.loadSync(join(protosDir, 'herald/v1/realtime.proto'), {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protosDir],
});
const Realtime = grpc.loadPackageDefinition(def).herald.v1.Realtime;
const realtime = new Realtime(opts.grpc, grpc.credentials.createInsecure());

function call(method, request) {
  const md = new grpc.Metadata();
  if (apiToken) md.set('authorization', `Bearer ${apiToken}`);
  return new Promise((resolveCall, reject) => {
    realtime[method](request, md, { deadline: Date.now() + 5000 }, (err, res) => {
      if (err) reject(err);
      else resolveCall(res);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Online users: ListRoomMembers, polled for the rooms pages asked about; changes are broadcast.

const NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;
const ROOM_RE = /^(lobby|room:[A-Za-z0-9_.-]{1,64})$/;  // what /chat lets clients join
const MAX_WATCHED = 100;
const UNWATCH_AFTER_MS = 60000;
const watched = new Map();  // room → {key: JSON of the sorted users, emptySince: ms or 0}

async function listMembers(room) {
  const res = await call('ListRoomMembers', { ns: opts.ns, room });
  return [...new Set(res.user_ids)].sort();
}

let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    for (const [room, state] of watched) {
      let users;
      try {
        users = await listMembers(room);
      } catch (e) {
        log('warn', 'ListRoomMembers failed', { room, error: e.details || e.message });
        continue;
      }
      const now = Date.now();
      if (users.length) state.emptySince = 0;
      else if (!state.emptySince) state.emptySince = now;
      else if (now - state.emptySince > UNWATCH_AFTER_MS) { watched.delete(room); continue; }
      const key = JSON.stringify(users);
      if (key === state.key) continue;
      state.key = key;
      try {
        await call('Broadcast', { ns: opts.ns, rooms: [room], event: 'members',
          args_json: JSON.stringify([{ room, users }]) });
      } catch (e) {
        log('warn', 'Broadcast failed', { room, error: e.details || e.message });
      }
    }
  } finally {
    polling = false;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP.

function log(level, msg, fields = {}) {
  process.stderr.write(`${JSON.stringify({ level, msg, component: 'demo-backend', ...fields })}\n`);
}

class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function corsHeaders(req) {
  const origin = req.headers.origin;
  if (!origin || !opts.origins.includes(origin)) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'content-type, authorization',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}

async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const c of req) {
    size += c.length;
    if (size > 16384) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', 'body over 16 KiB');
    chunks.push(c);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'the body must be a JSON object');
  }
}

function caller(req) {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const sub = m && verifyToken(m[1]);
  if (!sub) throw new HttpError(401, 'UNAUTHENTICATED', 'a valid token is required (sign in again)');
  return sub;
}

async function route(req, url) {
  if (req.method === 'POST' && url.pathname === '/api/token') {
    if (!opts.devTokens) {
      throw new HttpError(403, 'FORBIDDEN', 'dev tokens are disabled (start the backend with --dev-tokens)');
    }
    const body = await readJson(req);
    const name = String(body.name ?? '').trim();
    if (!NAME_RE.test(name)) {
      throw new HttpError(400, 'BAD_REQUEST', 'name: 1 to 32 letters, digits, "_", "." or "-"');
    }
    const ttl = Math.round(Number(body.ttl_s ?? 3600));
    if (!Number.isFinite(ttl) || ttl < 1 || ttl > opts.maxTtl) {
      throw new HttpError(400, 'BAD_REQUEST', `ttl_s: 1 to ${opts.maxTtl}`);
    }
    return { sub: name, ...signToken(name, ttl) };
  }
  if (req.method === 'POST' && url.pathname === '/api/notify') {
    const from = caller(req);
    const body = await readJson(req);
    const user = String(body.user ?? '');
    const text = String(body.text ?? '');
    if (!NAME_RE.test(user)) throw new HttpError(400, 'BAD_REQUEST', 'user: a user name');
    if (!text || text.length > 500) throw new HttpError(400, 'BAD_REQUEST', 'text: 1 to 500 characters');
    const res = await call('PushToUser', { user_id: user, ns: opts.ns, event: 'notification',
      args_json: JSON.stringify([{ from, text, at: Date.now() }]) });
    return { sockets: res.sockets };
  }
  if (req.method === 'GET' && url.pathname === '/api/members') {
    caller(req);
    const room = url.searchParams.get('room') ?? '';
    if (!ROOM_RE.test(room)) throw new HttpError(400, 'BAD_REQUEST', 'room: "lobby" or "room:<name>"');
    const users = await listMembers(room);
    if (!watched.has(room)) {
      if (watched.size >= MAX_WATCHED) throw new HttpError(429, 'RATE_LIMITED', 'too many rooms watched');
      watched.set(room, { key: JSON.stringify(users), emptySince: 0 });
    }
    return { room, users };
  }
  throw new HttpError(404, 'NOT_FOUND', 'not found');
}

const server = createServer(async (req, res) => {
  const headers = { ...corsHeaders(req), 'cache-control': 'no-store' };
  if (req.method === 'OPTIONS') {
    res.writeHead(204, headers).end();
    return;
  }
  const url = new URL(req.url, 'http://backend');
  let status = 200;
  let body;
  try {
    body = await route(req, url);
  } catch (e) {
    if (e instanceof HttpError) {
      status = e.status;
      body = { error: { code: e.code, message: e.message } };
    } else if (e && typeof e.code === 'number') {  // a gRPC status
      status = 502;
      body = { error: { code: 'UPSTREAM', message: `herald: ${e.details || e.message}` } };
    } else {
      status = 500;
      body = { error: { code: 'INTERNAL', message: 'internal error' } };
      log('error', 'request failed', { path: url.pathname, error: String(e && e.stack || e) });
    }
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body));
});

const [host, port] = (() => {
  const i = opts.listen.lastIndexOf(':');
  if (i < 0) fail('--listen must be HOST:PORT');
  return [opts.listen.slice(0, i), Number(opts.listen.slice(i + 1))];
})();
const timer = setInterval(poll, opts.pollMs);
server.listen(port, host, () => {
  const addr = server.address();
  log('info', 'demo backend ready', { url: `http://${host}:${addr.port}`, grpc: opts.grpc, ns: opts.ns,
    dev_tokens: opts.devTokens, allow_origins: opts.origins });
});
server.on('error', (e) => fail(`cannot listen on ${opts.listen}: ${e.message}`));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    clearInterval(timer);
    server.close();
    realtime.close();
    process.exit(0);
  });
}
