// Reference server for the benchmarks: the Node.js Socket.IO server (npm `socket.io`) doing exactly
// what tests/bench/herald-bench.yaml declares for Herald, plus the two gRPC calls the `push`
// scenario makes (herald.v1.Realtime Broadcast / PushToUser, served with @grpc/grpc-js), so one
// load generator drives both servers the same way.
//
//   namespace "/": HS256 JWT required (auth.token, else the `token` query parameter), auto-join
//                  "user:<sub>";
//   "join" {room}            → socket.join(room), ack {ok: true, rooms: [room]};
//   "message" {room, ...}    → io.to(room).emit("message", ...args) (same event, same arguments);
//   "message-with-ack" ...   → ack with the same arguments.
//
// Cluster mode (BENCH_REDIS_URL set): @socket.io/redis-adapter over a real redis-server, so a
// broadcast on one node reaches the room's members on every node.
//
// Environment:
//   BENCH_SECRET            HS256 secret (default: the one in herald-bench.yaml)
//   BENCH_PORT              Socket.IO port (default 0: a free port)
//   BENCH_GRPC              "0" disables the gRPC server (default: on, free port)
//   BENCH_REDIS_URL         e.g. redis://127.0.0.1:6390 → redis adapter
//   BENCH_PING_INTERVAL_MS  / BENCH_PING_TIMEOUT_MS (defaults 25000 / 20000, as Herald's config)
//
// When listening it prints one JSON line on stderr:
//   {"msg":"reference ready","socketio_url":"http://127.0.0.1:P","grpc_address":"127.0.0.1:G","pid":N}
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

const env = process.env;
const SECRET = env.BENCH_SECRET ?? 'herald-bench-secret-0123456789abcdef';
const intEnv = (name, dflt) => (env[name] ? Number.parseInt(env[name], 10) : dflt);
const here = dirname(fileURLToPath(import.meta.url));

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
  if (typeof claims.exp === 'number' && now >= claims.exp + 30) throw new TokenError('EXPIRED_TOKEN', 'token expired');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new TokenError('INVALID_TOKEN', 'no subject');
  return claims;
}

const httpServer = createServer();
const io = new Server(httpServer, {
  serveClient: false,
  pingInterval: intEnv('BENCH_PING_INTERVAL_MS', 25000),
  pingTimeout: intEnv('BENCH_PING_TIMEOUT_MS', 20000),
  maxHttpBufferSize: 1000000,
});

let redisClients = [];
if (env.BENCH_REDIS_URL) {
  const { createClient } = await import('redis');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const pub = createClient({ url: env.BENCH_REDIS_URL });
  const sub = pub.duplicate();
  pub.on('error', (e) => process.stderr.write(JSON.stringify({ msg: 'redis error', error: String(e) }) + '\n'));
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
  redisClients = [pub, sub];
}

const ackOf = (args) => (typeof args[args.length - 1] === 'function' ? args.pop() : undefined);

io.of('/').use((socket, next) => {
  const h = socket.handshake;
  const token = typeof h.auth?.token === 'string' ? h.auth.token : h.query?.token;
  try {
    socket.data.sub = verifyJwt(token).sub;
    next();
  } catch (e) {
    const err = new Error(e.message);
    err.data = { code: e.code ?? 'INVALID_TOKEN' };
    next(err);
  }
});

io.of('/').on('connection', (socket) => {
  socket.join(`user:${socket.data.sub}`);
  socket.on('join', (...args) => {
    const cb = ackOf(args);
    const room = args[0]?.room;
    if (typeof room !== 'string' || !room.startsWith('bench:')) {
      cb?.({ error: { code: 'FORBIDDEN', message: 'join not allowed' } });
      return;
    }
    socket.join(room);
    cb?.({ ok: true, rooms: [room] });
  });
  socket.on('message', (...args) => {
    const cb = ackOf(args);
    const room = args[0]?.room;
    if (typeof room !== 'string') {
      cb?.({ error: { code: 'VALIDATION_FAILED', message: 'room is required' } });
      return;
    }
    io.to(room).emit('message', ...args);
    cb?.({ ok: true });
  });
  socket.on('message-with-ack', (...args) => {
    const cb = ackOf(args);
    cb?.(...args);
  });
});

// gRPC: the two herald.v1.Realtime calls the push scenario uses.
let grpcAddress = null;
let grpcServer = null;
if (env.BENCH_GRPC !== '0') {
  const grpc = await import('@grpc/grpc-js');
  const protoLoader = await import('@grpc/proto-loader');
  const def = protoLoader.loadSync(resolve(here, '../../../protos/herald/v1/realtime.proto'), {
    keepCase: true, longs: Number, defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def);
  const parseArgs = (json) => (json ? JSON.parse(json) : []);
  const emit = (op, req) => {
    const args = parseArgs(req.args_json);
    const bins = req.attachments ?? [];
    // {"_placeholder":true,"num":n} → the attachment, as Socket.IO clients expect binary back.
    const fill = (v) => {
      if (Array.isArray(v)) return v.map(fill);
      if (v && typeof v === 'object') {
        if (v._placeholder === true && typeof v.num === 'number') return bins[v.num];
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
      }
      return v;
    };
    (req.volatile ? op.volatile : op).emit(req.event, ...(bins.length ? fill(args) : args));
  };
  // Socket counts: local sockets only (counting cluster-wide would need a redis round trip per
  // call, which Herald's answer from its presence registry does not).
  const localCount = (nsp, rooms, except) => {
    const a = nsp.adapter;
    const ids = new Set();
    for (const r of rooms) for (const id of a.rooms.get(r) ?? []) ids.add(id);
    for (const r of except) for (const id of a.rooms.get(r) ?? []) ids.delete(id);
    return ids.size;
  };
  grpcServer = new grpc.Server();
  grpcServer.addService(pkg.herald.v1.Realtime.service, {
    PushToUser(call, cb) {
      try {
        const req = call.request;
        const nsp = io.of(req.ns || '/');
        const room = `user:${req.user_id}`;
        emit(nsp.to(room), req);
        cb(null, { sockets: localCount(nsp, [room], []) });
      } catch (e) {
        cb({ code: grpc.status.INVALID_ARGUMENT, message: String(e.message ?? e) });
      }
    },
    Broadcast(call, cb) {
      try {
        const req = call.request;
        const nsp = io.of(req.ns || '/');
        let op = nsp;
        if (req.rooms.length) op = op.to(req.rooms);
        if (req.except_rooms.length) op = op.except(req.except_rooms);
        if (req.except_socket_ids.length) op = op.except(req.except_socket_ids);
        emit(op, req);
        const count = req.rooms.length ? localCount(nsp, req.rooms, req.except_rooms) : nsp.sockets.size;
        cb(null, { sockets: count });
      } catch (e) {
        cb({ code: grpc.status.INVALID_ARGUMENT, message: String(e.message ?? e) });
      }
    },
  });
  const port = await new Promise((res, rej) => grpcServer.bindAsync('127.0.0.1:0',
    grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))));
  grpcAddress = `127.0.0.1:${port}`;
}

const sioPort = await new Promise((res, rej) => {
  httpServer.once('error', rej);
  httpServer.listen(intEnv('BENCH_PORT', 0), '127.0.0.1', () => res(httpServer.address().port));
});
process.stderr.write(JSON.stringify({
  msg: 'reference ready',
  socketio_url: `http://127.0.0.1:${sioPort}`,
  grpc_address: grpcAddress,
  pid: process.pid,
}) + '\n');

const shutdown = () => {
  io.close();
  grpcServer?.forceShutdown();
  for (const c of redisClients) c.disconnect().catch(() => {});
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
