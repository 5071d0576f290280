// Server-initiated disconnects, with Socket.IO's disconnectSockets() semantics: a namespace-level
// disconnect and closing the whole connection both reach the client as "io server disconnect"
// (no automatic reconnection); a client that connects again gets a new session, back in its rooms.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName, clientPool, connected, nextEvent, noEvent, makeToken } from './lib/targets.mjs';

const RECONNECT = { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100, randomizationFactor: 0 };

describe(`server disconnect and reconnection [${targetName}]`, () => {
  let target;
  let pool;
  before(async () => {
    target = await startTarget();
    pool = clientPool(() => target.url);
  });
  after(async () => {
    pool?.closeAll();
    await target?.stop();
  });

  for (const transports of [['websocket'], ['polling']]) {
    const via = transports[0];
    test(`disconnect one socket: "io server disconnect", no automatic reconnection (${via})`, async () => {
      const s = pool.connect('/anon', { transports, ...RECONNECT });
      await connected(s);
      const id = s.id;
      const gone = nextEvent(s, 'disconnect');
      assert.equal((await target.disconnect({ ns: '/anon', socket_id: id })).sockets, 1);
      const [reason] = await gone;
      assert.equal(reason, 'io server disconnect');
      assert.equal(s.connected, false);
      assert.equal(s.active, false, 'socket.io-client does not reconnect after a server disconnect');
      await noEvent(s, 'connect', 500);
    });
  }

  test('disconnecting one namespace keeps the others on the same connection', async () => {
    const token = makeToken({ sub: 'ns-disc' });
    const main = pool.connect('/', { auth: { token } });
    const anon = main.io.socket('/anon');
    pool.track(anon);
    anon.connect();
    await Promise.all([connected(main), connected(anon)]);
    const gone = nextEvent(main, 'disconnect');
    assert.equal((await target.disconnect({ user: 'ns-disc' })).sockets, 1);
    assert.equal((await gone)[0], 'io server disconnect');
    assert.equal(anon.connected, true);
    assert.equal(await anon.timeout(5000).emitWithAck('message-with-ack', 'alive'), 'alive');
  });

  test('disconnect by user reaches every socket of that user only', async () => {
    const token = makeToken({ sub: 'many' });
    const a = pool.connect('/', { auth: { token } });
    const b = pool.connect('/', { auth: { token }, transports: ['polling'] });
    const other = pool.connect('/', { auth: { token: makeToken({ sub: 'bystander' }) } });
    await Promise.all([a, b, other].map((s) => connected(s)));
    const gone = Promise.all([nextEvent(a, 'disconnect'), nextEvent(b, 'disconnect')]);
    const stays = noEvent(other, 'disconnect', 400);
    assert.equal((await target.disconnect({ user: 'many' })).sockets, 2);
    assert.deepEqual((await gone).map(([reason]) => reason), ['io server disconnect', 'io server disconnect']);
    await stays;
    assert.equal((await target.presence('many')).online, false);
  });

  test('an unknown socket id disconnects nothing', async () => {
    assert.equal((await target.disconnect({ ns: '/anon', socket_id: 'AAAAAAAAAAAAAAAAAAAA' })).sockets, 0);
  });

  for (const transports of [['websocket'], ['polling']]) {
    const via = transports[0];
    test(`close the connection: "io server disconnect", the engine closes, reconnecting by hand works (${via})`, async () => {
      const user = `reconnector-${via}`;
      const s = pool.connect('/', { transports, auth: { token: makeToken({ sub: user }) }, ...RECONNECT });
      await connected(s);
      const firstId = s.id;
      const firstEngine = s.io.engine.id;

      const gone = nextEvent(s, 'disconnect');
      const engineClosed = nextEvent(s.io.engine, 'close', 5000);
      assert.equal((await target.disconnect({ socket_id: firstId, close: true })).sockets, 1);
      const [reason] = await gone;
      assert.equal(reason, 'io server disconnect');
      await engineClosed;
      await noEvent(s, 'connect', 400);

      const connectedAgain = nextEvent(s, 'connect', 10000);
      s.connect();
      await connectedAgain;
      assert.equal(s.connected, true);
      assert.notEqual(s.id, firstId);
      assert.notEqual(s.io.engine.id, firstEngine);

      // Back in user:<sub> after reconnecting.
      const got = nextEvent(s, 'welcome-back');
      assert.equal((await target.push({ user, event: 'welcome-back', args: [] })).sockets, 1);
      await got;
    });
  }
});
