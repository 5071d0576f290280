// Transports: websocket only, polling only, and the polling → websocket upgrade under traffic
// (no message lost or duplicated while the transport changes).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName, clientPool, connected, nextEvent, collect, withTimeout } from './lib/targets.mjs';

describe(`transports [${targetName}]`, () => {
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

  test('websocket only: connects, echoes, never uses polling', async () => {
    const s = pool.connect('/anon', { transports: ['websocket'] });
    await connected(s);
    assert.equal(s.io.engine.transport.name, 'websocket');
    const back = nextEvent(s, 'message-back');
    s.emit('message', 'over websocket', 1);
    assert.deepEqual(await back, ['over websocket', 1]);
    assert.equal(s.io.engine.transport.name, 'websocket');
  });

  test('polling only: connects, echoes several messages in order, stays on polling', async () => {
    const s = pool.connect('/anon', { transports: ['polling'] });
    await connected(s);
    assert.equal(s.io.engine.transport.name, 'polling');
    const got = collect(s, 'message-back', 20);
    for (let i = 0; i < 20; i++) s.emit('message', { i, text: `polling ${i}` });
    assert.deepEqual((await got).map(([m]) => m.i), [...Array(20).keys()]);
    assert.equal(s.io.engine.transport.name, 'polling');
  });

  test('polling → websocket upgrade under traffic loses and duplicates nothing', async () => {
    const s = pool.connect('/anon', { transports: ['polling', 'websocket'], upgrade: true });
    const engine = s.io.engine;
    assert.equal(engine.transport.name, 'polling');

    // The client probes websocket as soon as the polling handshake opens, often before any
    // traffic exists. Defer its probe (engine.io-client's _probe) until messages are flowing over
    // polling, so the upgrade really happens mid-stream.
    const PROBE_AFTER = 50;
    const AFTER_UPGRADE = 200;
    const WINDOW = 8;
    let startProbe = null;
    assert.equal(typeof engine._probe, 'function', 'engine.io-client internals changed: _probe missing');
    const probe = engine._probe.bind(engine);
    engine._probe = (name) => { startProbe = () => probe(name); };

    // A window of messages in flight in both directions (client → server "message", server →
    // client "message-back"), from well before the upgrade until well after it.
    const received = [];
    let sent = 0;
    let sentBeforeUpgrade = -1;
    let receivedBeforeUpgrade = -1;
    engine.once('upgrade', () => { sentBeforeUpgrade = sent; receivedBeforeUpgrade = received.length; });
    const done = new Promise((resolveDone) => {
      const sendOne = () => { s.emit('message', { seq: sent }); sent++; };
      s.on('message-back', ({ seq }) => {
        received.push(seq);
        if (received.length === PROBE_AFTER) {
          assert.ok(startProbe, 'the client wanted to probe websocket');
          startProbe();
        }
        const stopAt = sentBeforeUpgrade >= 0 ? sentBeforeUpgrade + AFTER_UPGRADE : Infinity;
        if (sent < stopAt) sendOne();
        if (received.length === sent && sent >= stopAt) resolveDone();
      });
      for (let i = 0; i < WINDOW; i++) sendOne();
    });
    await withTimeout(done, 15000,
      () => `stream across the upgrade (sent ${sent}, received ${received.length}, upgrade after ${sentBeforeUpgrade})`);

    assert.equal(engine.transport.name, 'websocket');
    assert.ok(receivedBeforeUpgrade >= PROBE_AFTER, 'messages flowed over polling before the upgrade');
    assert.ok(receivedBeforeUpgrade < sentBeforeUpgrade, 'messages were in flight when the upgrade completed');
    assert.ok(received.length > sentBeforeUpgrade, 'messages flowed over websocket after the upgrade');
    assert.deepEqual(received, [...Array(sent).keys()], 'every message exactly once, in order');
  });

  test('a client that upgrades keeps its socket id and session', async () => {
    const s = pool.connect('/anon', { transports: ['polling', 'websocket'] });
    const upgraded = nextEvent(s.io.engine, 'upgrade', 5000);
    await connected(s);
    const id = s.id;
    const engineId = s.io.engine.id;
    await upgraded;
    assert.equal(s.io.engine.transport.name, 'websocket');
    assert.equal(s.id, id);
    assert.equal(s.io.engine.id, engineId);
    const back = nextEvent(s, 'message-back');
    s.emit('message', 'after upgrade');
    assert.deepEqual(await back, ['after upgrade']);
  });
});
