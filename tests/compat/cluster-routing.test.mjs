// Cluster routing across brokers and without the bus, with real processes (nats-server,
// herald-broker × 2, herald-edge × 2, herald-echo-service) and the real socket.io-client:
// - EmitWithAck from either broker reaches a user's sockets on both edges, whichever broker each
//   socket is pinned to, and the acks come back to the asking broker;
// - a HandleEvents service connected to one broker answers clients pinned to the other
//   (<p>.handle.<ns>.<event> queue groups, replies on <p>.broker.<origin>);
// - with nats-server down, relays, PushToUser, Broadcast and room commands still reach clients on
//   both edges (brokers send them on their EdgeLink streams).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { io } from 'socket.io-client';
import { makeToken, nextEvent, binary } from './lib/herald.mjs';
import { startCluster, readyz, waitFor, sleep, clusterLogs, HEARTBEAT_TIMEOUT_MS } from './lib/cluster.mjs';

let cluster;
let echo;
const echoLogs = [];
const sockets = [];

const edge = (i) => cluster.edges[i - 1];
const broker = (i) => cluster.brokers[i - 1];

function connect(url, sub) {
  const s = io(url, {
    transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: makeToken({ sub }) },
  });
  sockets.push(s);
  return s;
}
const connected = (...list) => Promise.all(list.map((s) => (s.connected ? null : nextEvent(s, 'connect', 8000))));
const ack = (s, event, arg, timeoutMs = 3000) => s.timeout(timeoutMs).emitWithAck(event, arg);

before(async () => {
  cluster = await startCluster({
    brokers: 2, edges: 2,
    brokerExtra: { namespaces: { '/': { events: { 'message-with-ack': { action: 'forward' } } } } },
  });
});
after(async () => {
  for (const s of sockets) s.close();
  if (echo && echo.exitCode === null) {
    echo.kill('SIGTERM');
    await new Promise((r) => echo.once('exit', r));
  }
  await cluster?.stop();
});

function withLogs(fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      e.message += `\n${clusterLogs(cluster)}\n--- echo-service\n${echoLogs.slice(-20).join('\n')}`;
      throw e;
    }
  };
}

test('EmitWithAck from either broker: acks from sockets on both edges, whatever their pinning', withLogs(async () => {
  const a = connect(edge(1).url, 'ewa');
  const b = connect(edge(2).url, 'ewa');
  await connected(a, b);
  a.on('ask', (n, cb) => cb({ from: 'a', n }));
  b.on('ask', (n, cb) => cb({ from: 'b', n }));
  for (const br of [broker(1), broker(2)]) {
    await waitFor(async () => (await br.api.getPresence({ user_id: 'ewa' })).sockets.length === 2,
      { what: `${br.id} presence of ewa` });
  }
  // Each socket is pinned to one broker; asking from both brokers makes each socket answer a
  // broker it is not pinned to at least once.
  for (const [i, br] of [broker(1), broker(2)].entries()) {
    const t0 = Date.now();
    const res = await br.api.emitWithAck({
      ns: '/', target: { user_id: 'ewa' }, event: 'ask', args_json: `[${i}]`, timeout_ms: 2000,
    });
    const took = Date.now() - t0;
    assert.equal(res.acks.length, 2, JSON.stringify(res));
    const bySocket = Object.fromEntries(res.acks.map((x) => [x.socket_id, x]));
    assert.equal(bySocket[a.id]?.timed_out, false, JSON.stringify(res));
    assert.equal(bySocket[b.id]?.timed_out, false, JSON.stringify(res));
    assert.deepEqual(JSON.parse(bySocket[a.id].args_json), [{ from: 'a', n: i }]);
    assert.deepEqual(JSON.parse(bySocket[b.id].args_json), [{ from: 'b', n: i }]);
    assert.ok(took < 2000, `answered in ${took} ms, not at the timeout`);
  }
}));

test('a HandleEvents service on broker-1 answers clients pinned to either broker', withLogs(async (t) => {
  echo = spawn(binary('examples/echo-service/herald-echo-service'), ['--server', broker(1).grpc, '--ns', '/'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let registered;
  const ready = new Promise((r) => { registered = r; });
  const onData = (chunk) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      echoLogs.push(line);
      if (line.includes('echo-service registered')) registered();
    }
  };
  echo.stdout.on('data', onData);
  echo.stderr.on('data', onData);
  await Promise.race([ready, sleep(8000).then(() => { throw new Error('echo-service did not register'); })]);
  // broker-2 learns broker-1's routes from its heartbeat (every 200 ms here).
  await sleep(600);

  // Sockets are pinned by a hash of their id: with 8 of them, both brokers get some (the
  // metrics below prove that broker-2 handed events over).
  const clients = [];
  for (let i = 0; i < 8; ++i) clients.push(connect(edge(1 + (i % 2)).url, `he-${i}`));
  await connected(...clients);
  for (const [i, s] of clients.entries()) {
    const res = await ack(s, 'message-with-ack', { n: i, text: 'échø' });
    assert.deepEqual(res, { n: i, text: 'échø' }, `client ${i}`);
  }
  const metric = async (br, name) => {
    const text = await (await fetch(`${br.admin}/metrics`)).text();
    return Number((text.match(new RegExp(`^${name} (\\S+)$`, 'm')) ?? [])[1] ?? NaN);
  };
  const handedOver = await metric(broker(2), 'herald_broker_forwards_to_peers_total');
  const served = await metric(broker(1), 'herald_broker_forwards_from_peers_total');
  console.log(`# HandleEvents across brokers: broker-2 handed ${handedOver} events to broker-1's handler (broker-1 served ${served} for peers)`);
  if (Number.isNaN(handedOver)) t.diagnostic('broker metrics not exported');
  else {
    assert.ok(handedOver > 0, 'broker-2 handed events over');
    assert.equal(served, handedOver);
  }

  // Without any handler in the cluster the answer stays a prompt UNAVAILABLE.
  echo.kill('SIGTERM');
  await new Promise((r) => echo.once('exit', r));
  await sleep(2000);  // broker-1's heartbeat stops advertising the route
  for (const s of clients.slice(0, 4)) {
    const t0 = Date.now();
    const res = await ack(s, 'message-with-ack', { n: 0 });
    assert.equal(res?.error?.code, 'UNAVAILABLE', JSON.stringify(res));
    assert.ok(Date.now() - t0 < 1000);
  }
}));

test('nats-server down: deliveries and room commands go over EdgeLink to both edges', withLogs(async () => {
  const a = connect(edge(1).url, 'nd-a');
  const b = connect(edge(2).url, 'nd-b');
  const u1 = connect(edge(1).url, 'nd-u');
  const u2 = connect(edge(2).url, 'nd-u');
  await connected(a, b, u1, u2);
  for (const s of [a, b]) assert.equal((await ack(s, 'join', { room: 'room:nd' }))?.ok, true);
  for (const br of [broker(1), broker(2)]) {
    await waitFor(async () => (await br.api.getPresence({ user_id: 'nd-u' })).sockets.length === 2,
      { what: `${br.id} presence of nd-u` });
  }
  const disconnects = [];
  for (const s of [a, b, u1, u2]) s.on('disconnect', (r) => disconnects.push(r));

  await cluster.nats.kill9();
  for (const p of [...cluster.brokers, ...cluster.edges]) {
    await waitFor(async () => (await readyz(p.admin)).status === 'degraded', { what: `${p.id} degraded` });
  }
  const downAt = Date.now();
  // Longer than bus.heartbeat_timeout_ms: presence must not expire edges it cannot hear.
  await sleep(HEARTBEAT_TIMEOUT_MS + 500);

  // A client relay (the sender's broker fans out over its streams).
  let got = Promise.all([nextEvent(a, 'message', 3000), nextEvent(b, 'message', 3000)]);
  const res = await ack(a, 'message', { room: 'room:nd', text: 'no bus' });
  assert.equal(res?.ok, true, JSON.stringify(res));
  for (const [m] of await got) assert.deepEqual(m, { room: 'room:nd', text: 'no bus' });

  // PushToUser and Broadcast from either broker; presence is kept while the bus is down.
  for (const br of [broker(1), broker(2)]) {
    got = Promise.all([nextEvent(u1, 'note', 3000), nextEvent(u2, 'note', 3000)]);
    const r = await br.api.pushToUser({ user_id: 'nd-u', ns: '/', event: 'note', args_json: JSON.stringify([br.id]) });
    assert.equal(r.sockets, 2);
    for (const [m] of await got) assert.equal(m, br.id);
    got = Promise.all([nextEvent(a, 'news', 3000), nextEvent(b, 'news', 3000)]);
    await br.api.broadcast({ ns: '/', rooms: ['room:nd'], event: 'news', args_json: '[1]' });
    await got;
  }

  // A room command (JoinRooms for a user: on the room's subject) and one for a named socket (on
  // the edge's subject), then a delivery to the new room.
  await broker(2).api.joinRooms({ ns: '/', target: { user_id: 'nd-u' }, rooms: ['room:nd-api'] });
  await broker(1).api.joinRooms({ ns: '/', target: { socket_id: b.id }, rooms: ['room:nd-api'] });
  await sleep(200);
  got = Promise.all([nextEvent(u1, 'api', 3000), nextEvent(u2, 'api', 3000), nextEvent(b, 'api', 3000)]);
  await broker(1).api.broadcast({ ns: '/', rooms: ['room:nd-api'], event: 'api', args_json: '[2]' });
  await got;
  console.log(`# nats down: relays, PushToUser, Broadcast and room commands delivered over EdgeLink for ${Date.now() - downAt} ms`);
  assert.deepEqual(disconnects, []);

  // The bus comes back; everything goes through it again.
  await cluster.nats.restart();
  for (const p of [...cluster.brokers, ...cluster.edges]) {
    await waitFor(async () => (await readyz(p.admin)).status === 'ready', { what: `${p.id} ready`, timeoutMs: 10000 });
  }
  await waitFor(async () => {
    const both = Promise.all([nextEvent(a, 'back', 500), nextEvent(b, 'back', 500)]);
    await broker(2).api.broadcast({ ns: '/', rooms: ['room:nd'], event: 'back', args_json: '[]' });
    return both.then(() => true, () => false);
  }, { what: 'delivery after the restart', timeoutMs: 10000 });
  assert.deepEqual(disconnects, []);
}));
