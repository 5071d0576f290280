// Long-polling without sticky sessions (DESIGN.md §6): a polling request that reaches an edge other
// than the session's owner is forwarded to the owner over the bus (ForwardedPoll on
// <p>.edge.<owner>) and answered as if it were local. Real processes: nats-server, 2 brokers,
// 2 edges, and haproxy round robin with no stickiness for the socket.io-client part.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { makeToken, nextEvent } from './lib/herald.mjs';
import { httpRequest, eioUrl, pollingHandshake } from './lib/raw.mjs';
import { startCluster, startHaproxy, waitFor, sleep, clusterLogs } from './lib/cluster.mjs';

const PING_INTERVAL_MS = 400;
const PING_TIMEOUT_MS = 400;

let cluster;
const sockets = [];

before(async () => {
  cluster = await startCluster({
    brokers: 2, edges: 2,
    edgeExtra: { edge: { ping_interval_ms: PING_INTERVAL_MS, ping_timeout_ms: PING_TIMEOUT_MS } },
  });
  // Edges learn each other's tags from their heartbeats (every 200 ms here).
  await sleep(600);
});
after(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

const edge = (i) => cluster.edges[i - 1];
const broker = (i) => cluster.brokers[i - 1];

function withLogs(fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      e.message += `\n${clusterLogs(cluster)}`;
      throw e;
    }
  };
}

const poll = (base, sid, opts = {}) =>
  httpRequest(eioUrl(base, { EIO: '4', transport: 'polling', sid }), { timeoutMs: 5000, ...opts });
const post = (base, sid, body) =>
  poll(base, sid, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });

test('raw polling: a session opened on edge-1 is served through edge-2', withLogs(async () => {
  const open = await pollingHandshake(edge(1).url);
  const sid = open.sid;
  assert.equal(open.pingInterval, PING_INTERVAL_MS);

  // CONNECT through edge-2 (a forwarded POST), its answer through edge-2 (a forwarded GET).
  const token = makeToken({ sub: 'raw-poll' });
  const r1 = await post(edge(2).url, sid, `40${JSON.stringify({ token })}`);
  assert.equal(r1.status, 200, r1.body);
  assert.equal(r1.body, 'ok');
  assert.match(r1.headers['cache-control'] ?? '', /no-store/);
  const r2 = await poll(edge(2).url, sid);
  assert.equal(r2.status, 200, r2.body);
  assert.match(r2.headers['content-type'], /text\/plain/);
  assert.match(r2.body, /^40\{"sid":"[^"]+"\}/);

  // A GET held on edge-2 (forwarded, held by the owner) is answered by a push.
  await waitFor(async () => (await broker(2).api.getPresence({ user_id: 'raw-poll' })).sockets.length === 1,
    { what: 'presence of raw-poll' });
  const held = poll(edge(2).url, sid);
  await sleep(100);
  await broker(2).api.pushToUser({ user_id: 'raw-poll', ns: '/', event: 'hello', args_json: '["via edge-2"]' });
  const r3 = await held;
  assert.equal(r3.status, 200);
  // The heartbeat's ping may share the payload.
  assert.ok(r3.body.split('\x1e').includes('42["hello","via edge-2"]'), r3.body);

  // Heartbeats through either edge keep the session for several ping intervals.
  const until = Date.now() + 3 * (PING_INTERVAL_MS + PING_TIMEOUT_MS);
  let n = 0;
  while (Date.now() < until) {
    const via = n++ % 2 ? edge(1).url : edge(2).url;
    const r = await poll(via, sid);
    assert.equal(r.status, 200, `poll ${n} via ${via}: ${r.status} ${r.body}`);
    if (r.body.split('\x1e').includes('2')) {
      const pong = await post(n % 2 ? edge(1).url : edge(2).url, sid, '3');
      assert.equal(pong.status, 200);
    }
  }
  const still = await broker(1).api.getPresence({ user_id: 'raw-poll' });
  assert.equal(still.sockets.length, 1);

  // Close through edge-2.
  const bye = await post(edge(2).url, sid, '1');
  assert.equal(bye.status, 200);
  const after = await poll(edge(1).url, sid);
  assert.equal(after.status, 400);
  assert.deepEqual(JSON.parse(after.body), { code: 1, message: 'Session ID unknown' });
}));

test('raw polling: an unknown edge tag or sid is "Session ID unknown" (code 1)', withLogs(async () => {
  for (const sid of ['ZZZZ0aaaaaaaaaaaaaaa', 'bogus']) {
    const r = await poll(edge(1).url, sid);
    assert.equal(r.status, 400, `${sid}: ${r.body}`);
    assert.deepEqual(JSON.parse(r.body), { code: 1, message: 'Session ID unknown' });
  }
  // A known edge's tag with a sid it does not have: the owner answers.
  const open = await pollingHandshake(edge(1).url);
  const other = `${open.sid.slice(0, 5)}${'A'.repeat(15)}`;
  const r = await poll(edge(2).url, other);
  assert.equal(r.status, 400);
  assert.deepEqual(JSON.parse(r.body), { code: 1, message: 'Session ID unknown' });
  await post(edge(1).url, open.sid, '1');
}));

test('raw polling: a client that drops its forwarded GET closes the session like a local one', withLogs(async () => {
  const open = await pollingHandshake(edge(1).url);
  const r = poll(edge(2).url, open.sid, { timeoutMs: 150 });
  await assert.rejects(r, /timed out/);
  // "poll connection closed prematurely": the owner closed the session.
  await waitFor(async () => (await poll(edge(1).url, open.sid)).status === 400, { what: 'session closed' });
}));

test('socket.io-client, polling only, behind haproxy round robin without stickiness', withLogs(async (t) => {
  const proxy = await startHaproxy(cluster, cluster.edges);
  if (!proxy) {
    t.skip('haproxy is not installed');
    return;
  }
  cluster.extra.push(proxy);
  const users = ['lp-a', 'lp-b', 'lp-c'];
  const clients = users.map((sub) => {
    const s = io(proxy.url, {
      transports: ['polling'], reconnection: false, forceNew: true, auth: { token: makeToken({ sub }) },
    });
    sockets.push(s);
    return s;
  });
  const disconnects = [];
  for (const s of clients) s.on('disconnect', (reason) => disconnects.push(reason));
  await Promise.all(clients.map((s) => nextEvent(s, 'connect', 8000)));
  for (const s of clients) assert.equal(s.io.engine.transport.name, 'polling');

  // Acked events (join, relay) work whichever edge each request lands on.
  for (const s of clients) {
    const res = await s.timeout(3000).emitWithAck('join', { room: 'room:lp' });
    assert.equal(res?.ok, true, JSON.stringify(res));
  }
  const received = new Map(clients.map((s) => [s, []]));
  for (const s of clients) s.on('message', (m) => received.get(s).push(m.text));
  const pushes = new Map(clients.map((s) => [s, []]));
  for (const s of clients) s.on('push', (n) => pushes.get(s).push(n));

  // Traffic for more than two ping intervals: relays with acks and pushes from both brokers.
  const N = 30;
  const started = Date.now();
  for (let i = 0; i < N; ++i) {
    const from = clients[i % clients.length];
    const res = await from.timeout(3000).emitWithAck('message', { room: 'room:lp', text: `m${i}` });
    assert.equal(res?.ok, true, `message ${i}: ${JSON.stringify(res)}`);
    await broker(1 + (i % 2)).api.pushToUser({ user_id: users[i % users.length], ns: '/', event: 'push', args_json: `[${i}]` });
    await sleep(40);
  }
  await sleep(2 * PING_INTERVAL_MS + PING_TIMEOUT_MS);
  const elapsed = Date.now() - started;
  assert.ok(elapsed > 2 * (PING_INTERVAL_MS + PING_TIMEOUT_MS), `ran ${elapsed} ms`);

  // No loss, in order.
  const want = Array.from({ length: N }, (_, i) => `m${i}`);
  await waitFor(() => clients.every((s) => received.get(s).length === N), { what: 'every relay', timeoutMs: 5000 });
  for (const s of clients) assert.deepEqual(received.get(s), want);
  for (const [i, s] of clients.entries()) {
    assert.deepEqual(pushes.get(s), want.map((_, k) => k).filter((k) => k % users.length === i));
  }
  assert.deepEqual(disconnects, []);
  for (const s of clients) assert.equal(s.connected, true);
  // Round robin without stickiness sent requests to the edge that does not own the session:
  // both edges forwarded and served forwarded requests.
  const counters = [];
  for (const e of cluster.edges) {
    const text = await (await fetch(`${e.admin}/metrics`)).text();
    const get = (name) => Number((text.match(new RegExp(`^${name} (\\S+)$`, 'm')) ?? [])[1] ?? NaN);
    counters.push({ out: get('herald_edge_polling_forwarded_out_total'), in: get('herald_edge_polling_forwarded_in_total') });
  }
  const forwarded = counters.reduce((n, c) => n + c.out, 0);
  assert.ok(counters.every((c) => c.out > 0 && c.in > 0), JSON.stringify(counters));
  console.log(`# polling behind haproxy round robin: ${clients.length} clients, ${N} acked relays and ${N} pushes over ${elapsed} ms, no loss; ${forwarded} requests forwarded (${JSON.stringify(counters)})`);
  for (const s of clients) s.close();
}));
