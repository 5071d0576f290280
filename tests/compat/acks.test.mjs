// Acknowledgements both ways: client → server (message-with-ack echoes its arguments as the ack),
// server → client (EmitWithAck through the control API), and server-side ack timeouts.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName, clientPool, connected, makeToken } from './lib/targets.mjs';

describe(`acks [${targetName}]`, () => {
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

  const ackOf = (s, event, ...args) => new Promise((resolveAck, reject) => {
    s.timeout(5000).emit(event, ...args, (err, ...ack) => (err ? reject(err) : resolveAck(ack)));
  });

  for (const transports of [['websocket'], ['polling']]) {
    test(`client → server ack carries every argument back (${transports[0]})`, async () => {
      const s = pool.connect('/anon', { transports });
      await connected(s);
      const args = [1, 'two', { three: [3, 3, 3] }, null, true, [], {}];
      assert.deepEqual(await ackOf(s, 'message-with-ack', ...args), args);
    });
  }

  test('many concurrent client acks each resolve with their own arguments', async () => {
    const s = pool.connect('/custom');
    await connected(s);
    const replies = await Promise.all([...Array(50).keys()].map((i) => s.timeout(5000).emitWithAck('message-with-ack', { i })));
    assert.deepEqual(replies, [...Array(50).keys()].map((i) => ({ i })));
  });

  test('acks in the authenticated namespace "/" work like in the others', async () => {
    const s = pool.connect('/', { auth: { token: makeToken({ sub: 'acker' }) } });
    await connected(s);
    assert.deepEqual(await ackOf(s, 'message-with-ack', 'hello', 7), ['hello', 7]);
  });

  test('server → client: emitWithAck to one socket returns its ack arguments', async () => {
    const s = pool.connect('/anon');
    await connected(s);
    s.on('question', (n, cb) => cb({ answer: n * 2 }, 'extra'));
    const acks = await target.emitWithAck({ ns: '/anon', socket_id: s.id, event: 'question', args: [21], timeout_ms: 5000 });
    assert.deepEqual(acks, [{ socket_id: s.id, timed_out: false, args: [{ answer: 42 }, 'extra'] }]);
  });

  test('server → client over polling: emitWithAck returns the ack', async () => {
    const s = pool.connect('/anon', { transports: ['polling'] });
    await connected(s);
    s.on('question', (a, b, cb) => cb(a + b));
    const acks = await target.emitWithAck({ ns: '/anon', socket_id: s.id, event: 'question', args: [2, 3], timeout_ms: 5000 });
    assert.deepEqual(acks, [{ socket_id: s.id, timed_out: false, args: [5] }]);
  });

  test('server → client ack timeout: a client that never acks is reported timed_out', async () => {
    const s = pool.connect('/anon');
    await connected(s);
    let seen = 0;
    s.on('ignored', (_x, _cb) => { seen++; }); // takes the ack callback and never calls it
    const started = Date.now();
    const acks = await target.emitWithAck({ ns: '/anon', socket_id: s.id, event: 'ignored', args: ['x'], timeout_ms: 300 });
    const elapsed = Date.now() - started;
    assert.equal(seen, 1);
    assert.equal(acks.length, 1);
    assert.equal(acks[0].socket_id, s.id);
    assert.equal(acks[0].timed_out, true);
    assert.ok(elapsed >= 250, `answered after ${elapsed}ms, before the 300ms timeout`);
    assert.ok(elapsed < 5000, `answered after ${elapsed}ms`);
  });

  test('emitWithAck to a user: one result per socket, acked and timed out side by side', async () => {
    const user = 'two-devices';
    const token = makeToken({ sub: user });
    const fast = pool.connect('/', { auth: { token } });
    const silent = pool.connect('/', { auth: { token }, transports: ['polling'] });
    await Promise.all([connected(fast), connected(silent)]);
    fast.on('ping-user', (cb) => cb('pong'));
    silent.on('ping-user', () => {});
    const acks = await target.emitWithAck({ user, event: 'ping-user', timeout_ms: 400 });
    const byId = Object.fromEntries(acks.map((a) => [a.socket_id, a]));
    assert.equal(acks.length, 2);
    assert.deepEqual(byId[fast.id], { socket_id: fast.id, timed_out: false, args: ['pong'] });
    assert.equal(byId[silent.id].timed_out, true);
  });

  test('emitWithAck to a room collects every member', async () => {
    const members = [pool.connect('/custom'), pool.connect('/custom'), pool.connect('/custom', { transports: ['polling'] })];
    await Promise.all(members.map((m) => connected(m)));
    for (const [i, m] of members.entries()) {
      assert.deepEqual(await m.timeout(5000).emitWithAck('join', { room: 'ack-room' }), { ok: true, rooms: ['ack-room'] });
      m.on('count', (cb) => cb(i));
    }
    const outsider = pool.connect('/custom');
    await connected(outsider);
    outsider.on('count', (cb) => cb('outsider'));
    const acks = await target.emitWithAck({ ns: '/custom', room: 'ack-room', event: 'count', timeout_ms: 5000 });
    assert.deepEqual(acks.map((a) => a.socket_id).sort(), members.map((m) => m.id).sort());
    const want = Object.fromEntries(members.map((m, i) => [m.id, [i]]));
    for (const a of acks) {
      assert.equal(a.timed_out, false);
      assert.deepEqual(a.args, want[a.socket_id]);
    }
  });
});
