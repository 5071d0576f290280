// Namespaces and rooms: three namespaces multiplexed on one Manager (one Engine.IO connection),
// an unknown namespace, and the contract's "join" / "relay" events.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io, Manager } from 'socket.io-client';
import { startTarget, targetName, clientPool, connected, nextEvent, noEvent, collect, makeToken } from './lib/targets.mjs';

describe(`namespaces [${targetName}]`, () => {
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

  {
    // The only io() call in this file without forceNew: io() caches one Manager per origin.
    const transports = ['polling', 'websocket'];
    test('io(url + "/"), io(url + "/custom"), io(url + "/anon") share one Engine.IO connection', async () => {
      const token = makeToken({ sub: 'multiplexed' });
      // io() without forceNew reuses one Manager per origin; each target has its own port.
      const opts = { transports, reconnection: false };
      const main = pool.track(io(target.url + '/', { ...opts, auth: { token } }));
      const custom = pool.track(io(target.url + '/custom', opts));
      const anon = pool.track(io(target.url + '/anon', { ...opts, auth: { from: 'anon' } }));
      const auths = Promise.all([main, custom, anon].map((s) => nextEvent(s, 'auth')));
      await Promise.all([main, custom, anon].map((s) => connected(s)));
      try {
        assert.equal(main.io, custom.io);
        assert.equal(main.io, anon.io);
        const engineId = main.io.engine.id;
        assert.equal(typeof engineId, 'string');
        assert.deepEqual(await auths, [[{ token }], [{}], [{ from: 'anon' }]]);
        assert.equal(new Set([main.id, custom.id, anon.id]).size, 3, 'one socket id per namespace');

        // Each namespace answers on its own socket only.
        const quiet = Promise.all([noEvent(custom, 'message-back', 300), noEvent(anon, 'message-back', 300)]);
        const back = nextEvent(main, 'message-back');
        main.emit('message', 'to /');
        assert.deepEqual(await back, ['to /']);
        await quiet;
        assert.deepEqual(await custom.timeout(5000).emitWithAck('message-with-ack', 'c'), 'c');
        assert.deepEqual(await anon.timeout(5000).emitWithAck('message-with-ack', 'a'), 'a');

        // A push to the user reaches only the "/" socket.
        const pushed = nextEvent(main, 'note');
        const elsewhere = Promise.all([noEvent(custom, 'note', 300), noEvent(anon, 'note', 300)]);
        assert.equal((await target.push({ user: 'multiplexed', event: 'note', args: ['n'] })).sockets, 1);
        assert.deepEqual(await pushed, ['n']);
        await elsewhere;
        assert.equal(main.io.engine.id, engineId, 'still the same Engine.IO session');

        // Leaving one namespace keeps the others (and the connection) alive.
        custom.disconnect();
        assert.deepEqual(await anon.timeout(5000).emitWithAck('message-with-ack', 'still here'), 'still here');
        assert.equal(main.io.engine.id, engineId);
      } finally {
        main.io.engine?.close();
      }
    });
  }

  test('an explicit Manager multiplexes sockets created with manager.socket() (websocket)', async () => {
    const manager = new Manager(target.url, { transports: ['websocket'], reconnection: false });
    const sockets = [manager.socket('/anon'), manager.socket('/custom'), manager.socket('/', { auth: { token: makeToken({ sub: 'mgr' }) } })];
    sockets.forEach((s) => pool.track(s));
    for (const s of sockets) s.connect();
    await Promise.all(sockets.map((s) => connected(s)));
    try {
      const engine = manager.engine;
      for (const [i, s] of sockets.entries()) assert.equal(await s.timeout(5000).emitWithAck('message-with-ack', i), i);
      assert.equal(manager.engine, engine);
      const p = await target.presence('mgr');
      assert.deepEqual(p.sockets.map((x) => x.socket_id), [sockets[2].id]);
    } finally {
      manager.engine?.close();
    }
  });

  test('an unknown namespace gets connect_error "Invalid namespace"', async () => {
    for (const transports of [['websocket'], ['polling']]) {
      const s = pool.connect('/does-not-exist', { transports });
      const [err] = await nextEvent(s, 'connect_error');
      assert.equal(err.message, 'Invalid namespace');
      assert.equal(s.connected, false);
    }
  });

  test('join acks {ok:true, rooms:[room]} and relay reaches the room except the sender', async () => {
    const [a, b, c, outsider] = ['/anon', '/anon', '/anon', '/anon'].map((ns) => pool.connect(ns));
    await Promise.all([a, b, c, outsider].map((s) => connected(s)));
    for (const s of [a, b, c]) {
      assert.deepEqual(await s.timeout(5000).emitWithAck('join', { room: 'team:1' }), { ok: true, rooms: ['team:1'] });
    }
    const toB = nextEvent(b, 'relay');
    const toC = nextEvent(c, 'relay');
    const notSender = noEvent(a, 'relay', 400);
    const notOutsider = noEvent(outsider, 'relay', 400);
    const ack = await a.timeout(5000).emitWithAck('relay', { room: 'team:1', text: 'hi team' });
    assert.deepEqual(ack, { ok: true });
    assert.deepEqual(await toB, [{ room: 'team:1', text: 'hi team' }]);
    assert.deepEqual(await toC, [{ room: 'team:1', text: 'hi team' }]);
    await Promise.all([notSender, notOutsider]);
  });

  test('relay without an ack request is still delivered, in order', async () => {
    const [a, b] = [pool.connect('/custom'), pool.connect('/custom', { transports: ['polling'] })];
    await Promise.all([connected(a), connected(b)]);
    for (const s of [a, b]) await s.timeout(5000).emitWithAck('join', { room: 'ordered' });
    const got = collect(b, 'relay', 10);
    for (let i = 0; i < 10; i++) a.emit('relay', { room: 'ordered', i });
    assert.deepEqual((await got).map(([m]) => m.i), [...Array(10).keys()]);
  });

  test('rooms are per namespace: a relay in "/anon" does not reach "/custom" members of a same-named room', async () => {
    const anonA = pool.connect('/anon');
    const anonB = pool.connect('/anon');
    const custom = pool.connect('/custom');
    await Promise.all([anonA, anonB, custom].map((s) => connected(s)));
    for (const s of [anonA, anonB, custom]) await s.timeout(5000).emitWithAck('join', { room: 'shared-name' });
    const got = nextEvent(anonB, 'relay');
    const none = noEvent(custom, 'relay', 400);
    anonA.emit('relay', { room: 'shared-name', x: 1 });
    assert.deepEqual(await got, [{ room: 'shared-name', x: 1 }]);
    await none;
  });

  test('broadcast to rooms with except_rooms, and presence lists joined rooms', async () => {
    const user = 'room-user';
    const token = makeToken({ sub: user });
    const inA = pool.connect('/', { auth: { token } });
    const inAB = pool.connect('/', { auth: { token: makeToken({ sub: 'other' }) } });
    const none = pool.connect('/', { auth: { token: makeToken({ sub: 'third' }) } });
    await Promise.all([inA, inAB, none].map((s) => connected(s)));
    await inA.timeout(5000).emitWithAck('join', { room: 'A' });
    await inAB.timeout(5000).emitWithAck('join', { room: 'A' });
    await inAB.timeout(5000).emitWithAck('join', { room: 'B' });

    const gotA = nextEvent(inA, 'news');
    const quiet = Promise.all([noEvent(inAB, 'news', 400), noEvent(none, 'news', 400)]);
    assert.equal((await target.broadcast({ rooms: ['A'], except_rooms: ['B'], event: 'news', args: ['only A'] })).sockets, 1);
    assert.deepEqual(await gotA, ['only A']);
    await quiet;

    const p = await target.presence(user);
    assert.equal(p.online, true);
    assert.deepEqual(p.sockets.map((x) => ({ socket_id: x.socket_id, ns: x.ns, rooms: x.rooms })),
      [{ socket_id: inA.id, ns: '/', rooms: ['A', `user:${user}`] }]);
    const offline = await target.presence('nobody-here');
    assert.equal(offline.online, false);
    assert.deepEqual(offline.sockets, []);
  });
});
