// Binary payloads both ways, over both transports: Buffers at the top level and nested inside
// objects and arrays, several attachments in one packet, in events and in acks.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTarget, targetName, clientPool, connected, nextEvent, makeToken } from './lib/targets.mjs';

// Several attachments, nested at different depths, plus an empty buffer and non-binary neighbours.
function nestedPayload() {
  return [
    Buffer.from([0, 1, 2, 3, 255]),
    {
      name: 'nested',
      file: { data: randomBytes(1000), meta: { type: 'application/octet-stream', chunks: [Buffer.from('a'), Buffer.alloc(0)] } },
      list: [1, Buffer.from('two'), [Buffer.from([3, 3, 3]), { deep: randomBytes(64) }]],
    },
    'plain text',
    42,
  ];
}

describe(`binary [${targetName}]`, () => {
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

    test(`client → server → client: nested binary round-trips intact (${via})`, async () => {
      const s = pool.connect('/anon', { transports });
      await connected(s);
      const payload = nestedPayload();
      const back = nextEvent(s, 'message-back');
      s.emit('message', ...payload);
      const got = await back;
      assert.deepEqual(got, payload);
      assert.ok(Buffer.isBuffer(got[0]) && Buffer.isBuffer(got[1].file.data) && Buffer.isBuffer(got[1].list[2][1].deep));
    });

    test(`client ack carries nested binary (${via})`, async () => {
      const s = pool.connect('/anon', { transports });
      await connected(s);
      const payload = nestedPayload();
      const ack = await new Promise((resolveAck, reject) => {
        s.timeout(5000).emit('message-with-ack', ...payload, (err, ...args) => (err ? reject(err) : resolveAck(args)));
      });
      assert.deepEqual(ack, payload);
    });

    test(`server push with nested binary reaches the client (${via})`, async () => {
      const user = `bin-push-${via}`;
      const s = pool.connect('/', { transports, auth: { token: makeToken({ sub: user }) } });
      await connected(s);
      const payload = nestedPayload();
      const got = nextEvent(s, 'blob');
      const res = await target.push({ user, event: 'blob', args: payload });
      assert.equal(res.sockets, 1);
      assert.deepEqual(await got, payload);
    });

    test(`server emitWithAck: binary out, binary ack back (${via})`, async () => {
      const s = pool.connect('/anon', { transports });
      await connected(s);
      const reply = { digest: randomBytes(32), parts: [Buffer.from('x'), Buffer.from('yz')] };
      let received;
      s.on('checksum', (data, cb) => { received = data; cb(reply, Buffer.from('second')); });
      const data = { blob: randomBytes(2048), list: [Buffer.from('q')] };
      const acks = await target.emitWithAck({ ns: '/anon', socket_id: s.id, event: 'checksum', args: [data], timeout_ms: 5000 });
      assert.deepEqual(received, data);
      assert.equal(acks.length, 1);
      assert.equal(acks[0].socket_id, s.id);
      assert.equal(acks[0].timed_out, false);
      assert.deepEqual(acks[0].args, [reply, Buffer.from('second')]);
    });
  }

  test('a broadcast with binary reaches websocket and polling members alike', async () => {
    const ws = pool.connect('/anon', { transports: ['websocket'] });
    const poll = pool.connect('/anon', { transports: ['polling'] });
    await Promise.all([connected(ws), connected(poll)]);
    const room = 'bin-room';
    for (const s of [ws, poll]) assert.deepEqual(await s.timeout(5000).emitWithAck('join', { room }), { ok: true, rooms: [room] });
    const payload = [{ image: randomBytes(4096) }, Buffer.from('tail')];
    const got = Promise.all([nextEvent(ws, 'frame'), nextEvent(poll, 'frame')]);
    const res = await target.broadcast({ ns: '/anon', rooms: [room], event: 'frame', args: payload });
    assert.equal(res.sockets, 2);
    const [a, b] = await got;
    assert.deepEqual(a, payload);
    assert.deepEqual(b, payload);
  });
});
