// Cluster mode end to end: nats-server + herald-broker × 2 + herald-edge × 2 on loopback, driven by
// the real socket.io-client: fan-out across edges, presence from either broker, interest routing,
// and failures (broker kill -9, edge kill -9 behind haproxy, nats-server kill and restart).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { makeToken, nextEvent, noEvent } from './lib/herald.mjs';
import {
  startCluster, startBroker, startEdge, startHaproxy, readyz, waitFor, sleep, clusterLogs,
  HEARTBEAT_TIMEOUT_MS,
} from './lib/cluster.mjs';

let cluster;
const sockets = [];

function connect(url, sub, opts = {}) {
  const s = io(url, {
    transports: ['websocket'], reconnection: false, forceNew: true,
    auth: { token: makeToken({ sub }) }, ...opts,
  });
  sockets.push(s);
  return s;
}

async function connected(...list) {
  await Promise.all(list.map((s) => (s.connected ? null : nextEvent(s, 'connect', 8000))));
  return list;
}

const ack = (s, event, arg, timeoutMs = 3000) => s.timeout(timeoutMs).emitWithAck(event, arg);

async function joinRoom(s, room) {
  const [res] = [await ack(s, 'join', { room })];
  assert.equal(res?.ok, true, `join ${room}: ${JSON.stringify(res)}`);
}

const edge = (i) => cluster.edges[i - 1];
const broker = (i) => cluster.brokers[i - 1];

before(async () => { cluster = await startCluster({ brokers: 2, edges: 2 }); });
after(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

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

test('a client event relayed to a room reaches its members on both edges', withLogs(async () => {
  const a = connect(edge(1).url, 'fan-a');
  const b = connect(edge(2).url, 'fan-b');
  const c = connect(edge(1).url, 'fan-c');
  await connected(a, b, c);
  for (const s of [a, b, c]) await joinRoom(s, 'room:fan');
  const got = Promise.all([nextEvent(a, 'message'), nextEvent(b, 'message')]);
  const res = await ack(c, 'message', { room: 'room:fan', text: 'hello' });
  assert.equal(res?.ok, true, JSON.stringify(res));
  const [[x], [y]] = await got;
  assert.deepEqual(x, { room: 'room:fan', text: 'hello' });
  assert.deepEqual(y, { room: 'room:fan', text: 'hello' });
  // require_member is enforced (the failover test relies on it to prove rooms were resumed).
  const outsider = connect(edge(2).url, 'fan-out');
  await connected(outsider);
  const refused = await ack(outsider, 'message', { room: 'room:fan', text: 'nope' });
  assert.equal(refused?.error?.code, 'FORBIDDEN', JSON.stringify(refused));

  // And from the API of either broker.
  for (const br of [broker(1), broker(2)]) {
    const both = Promise.all([nextEvent(a, 'news'), nextEvent(b, 'news')]);
    const r = await br.api.broadcast({ ns: '/', rooms: ['room:fan'], event: 'news', args_json: JSON.stringify([br.id]) });
    assert.equal(r.sockets, 3);
    const [[n1], [n2]] = await both;
    assert.equal(n1, br.id);
    assert.equal(n2, br.id);
  }
}));

test('PushToUser reaches a user connected to two edges (count 2)', withLogs(async () => {
  const p1 = connect(edge(1).url, 'pat');
  const p2 = connect(edge(2).url, 'pat');
  await connected(p1, p2);
  // Presence (what PushToUser counts) is replicated over the bus: wait until both brokers see both.
  for (const br of [broker(1), broker(2)]) {
    await waitFor(async () => (await br.api.getPresence({ user_id: 'pat' })).sockets.length === 2,
      { what: `${br.id} presence of pat` });
  }
  const got = Promise.all([nextEvent(p1, 'notification'), nextEvent(p2, 'notification')]);
  const r = await broker(1).api.pushToUser({ user_id: 'pat', ns: '/', event: 'notification', args_json: '[{"n":1}]' });
  assert.equal(r.sockets, 2);
  const [[m1], [m2]] = await got;
  assert.deepEqual(m1, { n: 1 });
  assert.deepEqual(m2, { n: 1 });
}));

test('presence across edges from either broker', withLogs(async () => {
  const q1 = connect(edge(1).url, 'quinn');
  const q2 = connect(edge(2).url, 'quinn');
  await connected(q1, q2);
  for (const br of [broker(1), broker(2)]) {
    const res = await waitFor(async () => {
      const r = await br.api.getPresence({ user_id: 'quinn' });
      return r.sockets.length === 2 ? r : null;
    }, { what: `${br.id} presence of quinn` });
    assert.equal(res.online, true);
    assert.deepEqual(res.sockets.map((s) => s.edge_id).sort(), ['edge-1', 'edge-2']);
    assert.deepEqual(res.sockets.map((s) => s.socket_id).sort(), [q1.id, q2.id].sort());
  }
  q2.close();
  await waitFor(async () => (await broker(1).api.getPresence({ user_id: 'quinn' })).sockets.length === 1,
    { what: 'presence after a disconnect' });
}));

test('interest routing: an edge with no member of a room gets none of its messages', withLogs(async () => {
  const only = connect(edge(1).url, 'solo');
  await connected(only);
  await joinRoom(only, 'room:only1');
  const conns = async () => (await cluster.nats.monitor('/connz?subs=1&limit=1024')).connections;
  const byName = (list, id) => list.find((c) => c.name === `herald-edge ${id}`);
  await waitFor(async () => {
    const list = await conns();
    return (byName(list, 'edge-1')?.subscriptions_list ?? []).some((s) => s.endsWith('.room:only1'));
  }, { what: 'edge-1 subscribed to room:only1' });
  let list = await conns();
  assert.ok(byName(list, 'edge-2'), 'edge-2 connection visible in /connz');
  assert.ok(!(byName(list, 'edge-2').subscriptions_list ?? []).some((s) => s.includes('only1')),
    'edge-2 must not subscribe to a room it has no member of');

  const before1 = byName(list, 'edge-1').out_msgs;
  const before2 = byName(list, 'edge-2').out_msgs;
  const n = 200;
  let received = 0;
  only.on('tick', () => { received += 1; });
  for (let i = 0; i < n; ++i) {
    await broker(2).api.broadcast({ ns: '/', rooms: ['room:only1'], event: 'tick', args_json: `[${i}]` });
  }
  await waitFor(() => received === n, { what: `${n} ticks at the member` });
  list = await conns();
  const delta1 = byName(list, 'edge-1').out_msgs - before1;
  const delta2 = byName(list, 'edge-2').out_msgs - before2;
  console.log(`# interest routing: ${n} room messages; NATS delivered ${delta1} to edge-1, ${delta2} to edge-2 (heartbeats/presence only)`);
  assert.ok(delta1 >= n, `edge-1 got ${delta1}`);
  assert.ok(delta2 < n / 4, `edge-2 got ${delta2} messages while ${n} went to the room`);
}));

test('broker kill -9 under traffic: sessions re-pinned, no disconnect, rooms kept', withLogs(async () => {
  const clients = [];
  for (let i = 0; i < 8; ++i) clients.push(connect(edge(1 + (i % 2)).url, `fo-${i}`));
  await connected(...clients);
  for (const s of clients) await joinRoom(s, 'room:fo');
  // A room joined through the API (over the bus, never seen on the stream) must survive too.
  for (const s of clients) {
    await broker(2).api.joinRooms({ ns: '/', target: { socket_id: s.id }, rooms: ['room:api'] });
  }
  await sleep(200);
  const disconnects = [];
  for (const s of clients) s.on('disconnect', (reason) => disconnects.push(reason));

  // Traffic: every client relays to room:fo with an ack every 20 ms. require_member makes the
  // broker check membership, so acks after the failover also prove the rooms were resumed.
  let stop = false;
  let killedAt = 0;
  const stats = clients.map(() => ({ ok: 0, errors: [], firstOkAfterKill: 0, lastOkBeforeKill: 0 }));
  const loops = clients.map(async (s, i) => {
    let seq = 0;
    while (!stop) {
      const sentAt = Date.now();
      try {
        const res = await ack(s, 'message', { room: 'room:fo', text: `m${seq++}` }, 2000);
        if (res?.ok === true) {
          stats[i].ok += 1;
          if (!killedAt) stats[i].lastOkBeforeKill = Date.now();
          else if (!stats[i].firstOkAfterKill && sentAt >= killedAt) stats[i].firstOkAfterKill = Date.now();
        } else {
          stats[i].errors.push(res?.error?.code ?? JSON.stringify(res));
        }
      } catch (e) {
        stats[i].errors.push(e.message);
      }
      await sleep(20);
    }
  });
  await sleep(500);
  killedAt = Date.now();
  await broker(1).kill9();
  await sleep(2500);
  stop = true;
  await Promise.all(loops);

  assert.deepEqual(disconnects, [], 'no client saw a disconnect');
  const gaps = stats.map((st) => st.firstOkAfterKill - killedAt);
  for (const [i, st] of stats.entries()) {
    assert.ok(st.firstOkAfterKill > 0, `client ${i} never got an ack after the kill: ${JSON.stringify(st)}`);
  }
  const maxGap = Math.max(...gaps);
  const errors = stats.flatMap((st) => st.errors);
  console.log(`# broker failover: first successful ack after kill -9 within ${maxGap} ms (per client: ${gaps.join(', ')}); ` +
              `${errors.length} events failed around the kill (${[...new Set(errors)].join(', ')})`);
  assert.ok(maxGap < 2000, `failover took ${maxGap} ms`);
  for (const e of errors) assert.ok(/UNAVAILABLE|timed out|operation has timed out/i.test(e), `unexpected error ${e}`);

  // Delivery still reaches everyone, and the edges report one broker.
  const all = Promise.all(clients.map((s) => nextEvent(s, 'after')));
  const r = await broker(2).api.broadcast({ ns: '/', rooms: ['room:fo'], event: 'after', args_json: '[1]' });
  assert.equal(r.sockets, clients.length);
  await all;
  for (const s of clients) {
    const res = await ack(s, 'message', { room: 'room:api', text: 'still a member' });
    assert.equal(res?.ok, true, `API-joined room after failover: ${JSON.stringify(res)}`);
  }
  for (const e of cluster.edges) assert.match((await readyz(e.admin)).checks.brokers.detail, /^1 up/);

  // broker-1 comes back on its old addresses; edges reconnect to it.
  const [, grpcPort] = broker(1).grpc.split(':');
  const [, linkPort] = broker(1).edgelink.split(':');
  cluster.brokers[0] = await startBroker(cluster, 'broker-1', {
    broker: { grpc_listen: `127.0.0.1:${grpcPort}`, edgelink_listen: `127.0.0.1:${linkPort}` },
  });
  for (const e of cluster.edges) {
    await waitFor(async () => /^2 up/.test((await readyz(e.admin)).checks.brokers.detail),
      { what: `${e.id} reconnected to broker-1`, timeoutMs: 8000 });
  }
}));

test('no live broker: clients stay connected, events fail UNAVAILABLE, sessions resume', withLogs(async () => {
  const a = connect(edge(1).url, 'nb-a');
  const b = connect(edge(2).url, 'nb-b');
  await connected(a, b);
  await joinRoom(a, 'room:nb');
  await joinRoom(b, 'room:nb');
  const disconnects = [];
  for (const s of [a, b]) s.on('disconnect', (r) => disconnects.push(r));
  const addrs = cluster.brokers.map((br) => ({ grpc: br.grpc.split(':')[1], link: br.edgelink.split(':')[1] }));
  await Promise.all(cluster.brokers.map((br) => br.kill9()));
  for (const e of cluster.edges) {
    await waitFor(async () => (await readyz(e.admin)).checks.brokers.status === 'not_ready', { what: `${e.id} not ready` });
  }
  const t0 = Date.now();
  const res = await ack(a, 'message', { room: 'room:nb', text: 'x' }, 10000);
  const waited = Date.now() - t0;
  assert.equal(res?.error?.code, 'UNAVAILABLE', JSON.stringify(res));
  console.log(`# no broker: an acked event failed UNAVAILABLE after ${waited} ms`);
  assert.deepEqual(disconnects, []);

  // An event sent while no broker is up is delivered once one comes back (it waits up to 5 s).
  const pending = ack(b, 'message', { room: 'room:nb', text: 'queued' }, 8000);
  const got = nextEvent(a, 'message', 8000);
  for (let i = 0; i < addrs.length; ++i) {
    cluster.brokers[i] = await startBroker(cluster, `broker-${i + 1}`, {
      broker: { grpc_listen: `127.0.0.1:${addrs[i].grpc}`, edgelink_listen: `127.0.0.1:${addrs[i].link}` },
    });
  }
  assert.equal((await pending)?.ok, true);
  assert.deepEqual((await got)[0], { room: 'room:nb', text: 'queued' });
  for (const e of cluster.edges) {
    await waitFor(async () => /^2 up/.test((await readyz(e.admin)).checks.brokers.detail),
      { what: `${e.id} reconnected`, timeoutMs: 8000 });
  }
  const again = await ack(a, 'message', { room: 'room:nb', text: 'y' });
  assert.equal(again?.ok, true, JSON.stringify(again));
  assert.deepEqual(disconnects, []);
}));

test('edge kill -9: clients reconnect through haproxy, presence forgets the dead edge', withLogs(async (t) => {
  const proxy = await startHaproxy(cluster, cluster.edges);
  if (!proxy) {
    t.skip('haproxy is not installed');
    return;
  }
  cluster.extra.push(proxy);
  const clients = [];
  for (let i = 0; i < 6; ++i) {
    clients.push(connect(proxy.url, `ek-${i}`, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 }));
  }
  await connected(...clients);
  const edgeOf = async () => {
    const map = {};
    for (let i = 0; i < clients.length; ++i) {
      const r = await broker(2).api.getPresence({ user_id: `ek-${i}` });
      map[i] = r.sockets.map((s) => s.edge_id);
    }
    return map;
  };
  const placed = await waitFor(async () => {
    const m = await edgeOf();
    return Object.values(m).every((e) => e.length === 1) ? m : null;
  }, { what: 'presence of the haproxy clients' });
  const onEdge1 = Object.entries(placed).filter(([, e]) => e[0] === 'edge-1').map(([i]) => Number(i));
  assert.ok(onEdge1.length > 0 && onEdge1.length < clients.length, `round robin placed ${JSON.stringify(placed)}`);

  const reconnected = onEdge1.map((i) => nextEvent(clients[i], 'disconnect', 5000).then(() => nextEvent(clients[i], 'connect', 8000)));
  const killedAt = Date.now();
  await edge(1).kill9();
  await Promise.all(reconnected);
  const reconnectMs = Date.now() - killedAt;
  for (const s of clients) assert.equal(s.connected, true);

  // Every user has exactly one socket, on edge-2: the dead edge's entries are gone.
  const cleared = await waitFor(async () => {
    const m = await edgeOf();
    return Object.values(m).every((e) => e.length === 1 && e[0] === 'edge-2') ? m : null;
  }, { what: 'presence without edge-1', timeoutMs: HEARTBEAT_TIMEOUT_MS + 5000 });
  const clearedMs = Date.now() - killedAt;
  console.log(`# edge kill -9: ${onEdge1.length} clients reconnected via haproxy in ${reconnectMs} ms; ` +
              `presence dropped edge-1 after ${clearedMs} ms (heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms)`);
  assert.ok(cleared);
  for (const s of clients) s.io.opts.reconnection = false;
}));

test('nats-server kill: no crash, clients stay connected, degraded, rebuilt after restart', withLogs(async () => {
  const live = cluster.edges.filter((e) => e.running);
  const e = live[live.length - 1];
  const a = connect(e.url, 'nk-a');
  const b = connect(e.url, 'nk-b');
  await connected(a, b);
  await joinRoom(a, 'room:nk');
  await joinRoom(b, 'room:nk');
  const disconnects = [];
  for (const s of [a, b]) s.on('disconnect', (r) => disconnects.push(r));

  await cluster.nats.kill9();
  await waitFor(async () => (await readyz(e.admin)).status === 'degraded', { what: 'edge degraded' });
  for (const br of cluster.brokers) {
    await waitFor(async () => (await readyz(br.admin)).status === 'degraded', { what: `${br.id} degraded` });
  }
  // The EdgeLink path still works without the bus: joins are acked by the broker.
  await joinRoom(a, 'room:nk2');
  await sleep(1000);
  assert.deepEqual(disconnects, []);
  for (const p of [...cluster.brokers, ...live]) assert.ok(p.running, `${p.id} still running`);

  const restartedAt = Date.now();
  await cluster.nats.restart();
  await waitFor(async () => (await readyz(e.admin)).status === 'ready', { what: 'edge ready again', timeoutMs: 10000 });
  for (const br of cluster.brokers) {
    await waitFor(async () => (await readyz(br.admin)).status === 'ready', { what: `${br.id} ready again`, timeoutMs: 10000 });
  }
  // Room subscriptions are back: a broadcast reaches both members.
  await waitFor(async () => {
    const got = Promise.all([nextEvent(a, 'back', 500), nextEvent(b, 'back', 500)]);
    await broker(2).api.broadcast({ ns: '/', rooms: ['room:nk'], event: 'back', args_json: '[]' });
    return got.then(() => true, () => false);
  }, { what: 'room delivery after the restart', timeoutMs: 10000 });
  // Presence is rebuilt on every broker.
  for (const br of cluster.brokers) {
    await waitFor(async () => (await br.api.getPresence({ user_id: 'nk-a' })).sockets.length === 1,
      { what: `${br.id} presence after the restart`, timeoutMs: 10000 });
  }
  console.log(`# nats restart: deliveries and presence back ${Date.now() - restartedAt} ms after nats-server restarted`);
  assert.deepEqual(disconnects, []);
}));

test('an edge without edge.brokers finds the brokers from their heartbeats', withLogs(async () => {
  const t0 = Date.now();
  const e = await startEdge(cluster, 'edge-3', { brokers: [], waitBrokers: cluster.brokers.length });
  cluster.edges.push(e);
  console.log(`# discovery: edge-3 had streams to ${cluster.brokers.length} brokers ${Date.now() - t0} ms after start`);
  const s = connect(e.url, 'disc');
  await connected(s);
  await joinRoom(s, 'room:disc');
}));

test('SIGTERM stops every process cleanly', withLogs(async () => {
  for (const p of cluster.extra) await p.stop();  // haproxy
  const procs = [...cluster.edges.filter((e) => e.running), ...cluster.brokers];
  for (const p of procs) {
    const { code, signal } = await p.stop();
    assert.equal(code, 0, `${p.name} exited with ${code ?? signal}`);
  }
}));
