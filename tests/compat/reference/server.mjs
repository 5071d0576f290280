// Reference target: the Node.js Socket.IO server (npm `socket.io`) implementing the compat contract
// (tests/compat/CONTRACT.md), so every compat test can first be proven against real Socket.IO.
//
// Started by lib/targets.mjs as a child process on free loopback ports. When listening it prints
// one JSON line on stderr:
//   {"msg":"reference ready","socketio_url":"http://127.0.0.1:P","control_url":"http://127.0.0.1:Q","pid":N}
//
// Environment (all optional):
//   REF_JWT_SECRET          HS256 secret for namespace "/" (targets.mjs passes lib/herald.mjs DEV_SECRET)
//   REF_PING_INTERVAL_MS    Engine.IO pingInterval (default 25000)
//   REF_PING_TIMEOUT_MS     Engine.IO pingTimeout  (default 20000)
//   REF_MAX_PAYLOAD         Engine.IO maxPayload / maxHttpBufferSize in bytes (default 1000000)
//   REF_CORS_ORIGINS        comma-separated origin allowlist; '*' matches any run of characters.
//                           Unset: no CORS headers and no origin check (Socket.IO's default).
//   REF_CORS_CREDENTIALS    "true" → Access-Control-Allow-Credentials: true
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Server } from 'socket.io';

const env = process.env;
const SECRET = env.REF_JWT_SECRET ?? 'compat-test-secret-at-least-32-bytes-long';
const intEnv = (name, dflt) => (env[name] ? Number.parseInt(env[name], 10) : dflt);
const corsOrigins = env.REF_CORS_ORIGINS ? env.REF_CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean) : null;
const corsCredentials = env.REF_CORS_CREDENTIALS === 'true';

// ---------------------------------------------------------------------------------------------
// JWT (HS256) verification, independent of any library. Error codes are the contract's.

class TokenError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

function verifyJwt(token) {
  if (typeof token !== 'string' || token.length === 0) throw new TokenError('MISSING_TOKEN', 'missing token');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('INVALID_TOKEN', 'malformed token');
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('INVALID_TOKEN', 'malformed token');
  }
  if (header?.alg !== 'HS256' || typeof claims !== 'object' || claims === null) {
    throw new TokenError('INVALID_TOKEN', 'unsupported token');
  }
  const expected = createHmac('sha256', SECRET).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new TokenError('INVALID_TOKEN', 'bad signature');
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === 'number' && now >= claims.exp) throw new TokenError('EXPIRED_TOKEN', 'token expired');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new TokenError('INVALID_TOKEN', 'no subject');
  return claims;
}

// auth.token, else the `token` query parameter, else "Authorization: Bearer <t>".
function findToken(handshake) {
  if (typeof handshake.auth?.token === 'string') return handshake.auth.token;
  if (typeof handshake.query?.token === 'string') return handshake.query.token;
  const authz = handshake.headers?.authorization;
  if (typeof authz === 'string') {
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(authz);
    if (m) return m[1];
  }
  return undefined;
}

function authMiddleware(mode) {
  return (socket, next) => {
    const token = findToken(socket.handshake);
    if (token === undefined && mode === 'optional') return next();
    try {
      const claims = verifyJwt(token);
      socket.data.sub = claims.sub;
      socket.data.claims = claims;
      next();
    } catch (e) {
      const err = new Error(e.message);
      err.data = { code: e.code ?? 'INVALID_TOKEN' };
      next(err);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Socket.IO server.

function globMatch(pattern, text) {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(text);
}
const originAllowed = (origin) => corsOrigins.some((p) => globMatch(p, origin));

const httpServer = createServer();
const ioOptions = {
  serveClient: false,
  pingInterval: intEnv('REF_PING_INTERVAL_MS', 25000),
  pingTimeout: intEnv('REF_PING_TIMEOUT_MS', 20000),
  maxHttpBufferSize: intEnv('REF_MAX_PAYLOAD', 1000000),
};
if (corsOrigins) {
  ioOptions.cors = {
    origin: (origin, cb) => cb(null, origin !== undefined && originAllowed(origin) ? origin : false),
    credentials: corsCredentials,
  };
  // A refused origin gets Engine.IO's "Forbidden" (code 4, HTTP 403); requests without an Origin
  // header (non-browser clients) are allowed.
  ioOptions.allowRequest = (req, cb) => {
    const origin = req.headers.origin;
    cb(null, origin === undefined || originAllowed(origin));
  };
}
const io = new Server(httpServer, ioOptions);

function stripAck(args) {
  const cb = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  return cb;
}

function onConnection(socket) {
  if (socket.nsp.name === '/' && socket.data.sub) socket.join(`user:${socket.data.sub}`);
  socket.emit('auth', socket.handshake.auth ?? {});

  socket.on('message', (...args) => {
    stripAck(args);
    socket.emit('message-back', ...args);
  });
  socket.on('message-with-ack', (...args) => {
    const cb = stripAck(args);
    cb?.(...args);
  });
  socket.on('join', (...args) => {
    const cb = stripAck(args);
    const room = args[0]?.room;
    if (typeof room !== 'string' || room === '') {
      cb?.({ error: { code: 'VALIDATION_FAILED', message: 'room is required' } });
      return;
    }
    socket.join(room);
    cb?.({ ok: true, rooms: [room] });
  });
  socket.on('relay', (...args) => {
    const cb = stripAck(args);
    const room = args[0]?.room;
    if (typeof room !== 'string' || room === '') {
      cb?.({ error: { code: 'VALIDATION_FAILED', message: 'room is required' } });
      return;
    }
    socket.to(room).emit('relay', ...args);
    cb?.({ ok: true });
  });
}

io.of('/').use(authMiddleware('required')).on('connection', onConnection);
io.of('/custom').use(authMiddleware('optional')).on('connection', onConnection);
io.of('/anon').on('connection', onConnection);

// ---------------------------------------------------------------------------------------------
// Control endpoint: the gRPC API's operations as JSON over HTTP. Binary values travel as
// {"$bin": "<base64>"}.

function decodeBin(v) {
  if (Array.isArray(v)) return v.map(decodeBin);
  if (v && typeof v === 'object') {
    if (Object.keys(v).length === 1 && typeof v.$bin === 'string') return Buffer.from(v.$bin, 'base64');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeBin(x)]));
  }
  return v;
}
function encodeBin(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString('base64') };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString('base64') };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(encodeBin);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeBin(x)]));
  return v;
}

const nsOf = (ns) => io.of(ns || '/');

// Sockets selected by {socket_id | user | room | all} in a namespace.
async function selectSockets(body) {
  const nsp = nsOf(body.ns);
  if (body.socket_id !== undefined) {
    const s = nsp.sockets.get(body.socket_id);
    return s ? [s] : [];
  }
  if (body.user !== undefined) return [...(await nsp.in(`user:${body.user}`).fetchSockets())];
  if (body.room !== undefined) return [...(await nsp.in(body.room).fetchSockets())];
  if (body.all) return [...(await nsp.fetchSockets())];
  throw Object.assign(new Error('one of socket_id, user, room, all is required'), { status: 400 });
}

const routes = {
  'POST /push': async (b) => {
    const op = nsOf(b.ns).to(`user:${b.user}`);
    const sockets = (await op.fetchSockets()).length;
    op.emit(b.event, ...decodeBin(b.args ?? []));
    return { sockets };
  },
  'POST /broadcast': async (b) => {
    let op = nsOf(b.ns);
    if (b.rooms?.length) op = op.to(b.rooms);
    if (b.except_rooms?.length) op = op.except(b.except_rooms);
    const sockets = (await op.fetchSockets()).length;
    op.emit(b.event, ...decodeBin(b.args ?? []));
    return { sockets };
  },
  'POST /emit-with-ack': async (b) => {
    const targets = await selectSockets(b);
    const args = decodeBin(b.args ?? []);
    const timeout = b.timeout_ms ?? 5000;
    return Promise.all(targets.map((s) => new Promise((resolve) => {
      s.timeout(timeout).emit(b.event, ...args, (err, ...ackArgs) => {
        if (err) resolve({ socket_id: s.id, timed_out: true, args: [] });
        else resolve({ socket_id: s.id, timed_out: false, args: encodeBin(ackArgs) });
      });
    })));
  },
  'POST /disconnect': async (b) => {
    const targets = await selectSockets(b);
    // close=false: namespace DISCONNECT packet (client: "io server disconnect", no reconnection).
    // close=true: Socket.IO's disconnectSockets(true): DISCONNECT for every namespace of the
    // connection, then the Engine.IO connection is closed (client: "io server disconnect").
    for (const s of targets) {
      if (b.close) s.disconnect(true);
      else s.disconnect();
    }
    return { sockets: targets.length };
  },
  'GET /presence': async (_b, url) => {
    const user = url.searchParams.get('user');
    const onlyNs = url.searchParams.get('ns');
    const sockets = [];
    for (const [name, nsp] of io._nsps) {
      if (onlyNs && onlyNs !== name) continue;
      for (const s of nsp.sockets.values()) {
        if (s.data.sub !== user) continue;
        sockets.push({ socket_id: s.id, ns: name, user_id: user,
          rooms: [...s.rooms].filter((r) => r !== s.id).sort() });
      }
    }
    return { online: sockets.length > 0, sockets };
  },
};

const control = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const handler = routes[`${req.method} ${url.pathname}`];
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (!handler) return reply(404, { error: 'not found' });
  try {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    reply(200, await handler(body, url));
  } catch (e) {
    reply(e.status ?? 500, { error: e.message });
  }
});

const listen = (server) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => resolve(server.address().port));
});

const [sioPort, controlPort] = await Promise.all([listen(httpServer), listen(control)]);
process.stderr.write(JSON.stringify({
  msg: 'reference ready',
  socketio_url: `http://127.0.0.1:${sioPort}`,
  control_url: `http://127.0.0.1:${controlPort}`,
  pid: process.pid,
}) + '\n');

const shutdown = () => {
  io.close();
  control.close();
  control.closeAllConnections?.();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
