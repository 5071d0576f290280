// maxPayload (Engine.IO): the handshake advertises it; a polling POST or a websocket message over
// it closes the connection; anything under it passes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName, clientPool, connected, nextEvent, withTimeout } from './lib/targets.mjs';
import { httpRequest, eioUrl, pollingHandshake, rawWebSocket } from './lib/raw.mjs';

const MAX_PAYLOAD = 10000;

describe(`maxPayload [${targetName}]`, () => {
  let target;
  let pool;
  before(async () => {
    target = await startTarget({ maxPayload: MAX_PAYLOAD });
    pool = clientPool(() => target.url);
  });
  after(async () => {
    pool?.closeAll();
    await target?.stop();
  });

  test('the handshake advertises maxPayload', async () => {
    const open = await pollingHandshake(target.url);
    assert.equal(open.maxPayload, MAX_PAYLOAD);
  });

  for (const transports of [['websocket'], ['polling']]) {
    const via = transports[0];
    test(`a message under maxPayload passes (${via})`, async () => {
      const s = pool.connect('/anon', { transports });
      await connected(s);
      const text = 'x'.repeat(MAX_PAYLOAD - 1000);
      assert.equal(await s.timeout(5000).emitWithAck('message-with-ack', text), text);
    });

    test(`a message over maxPayload closes the connection (${via})`, async () => {
      const s = pool.connect('/anon', { transports });
      await connected(s);
      const gone = nextEvent(s, 'disconnect');
      s.emit('message', 'x'.repeat(MAX_PAYLOAD * 2));
      const [reason] = await gone;
      assert.ok(['transport close', 'transport error'].includes(reason), `disconnect reason ${reason}`);
      assert.equal(s.connected, false);
    });
  }

  test('raw polling: a POST body over maxPayload gets 413 and ends the session', async () => {
    const { sid } = await pollingHandshake(target.url);
    const url = eioUrl(target.url, { EIO: '4', transport: 'polling', sid });
    const res = await httpRequest(url, { method: 'POST', body: '4' + 'x'.repeat(MAX_PAYLOAD + 10),
      headers: { 'content-type': 'text/plain;charset=UTF-8' } }).catch((e) => ({ error: e }));
    // The server may reset the connection while the oversized body is still being sent.
    if (!res.error) assert.equal(res.status, 413);
    const after = await httpRequest(url);
    assert.equal(after.status, 400);
    assert.deepEqual(JSON.parse(after.body), { code: 1, message: 'Session ID unknown' });
  });

  test('raw websocket: a frame over maxPayload is closed with 1009 (message too big)', async () => {
    const c = rawWebSocket(target.url);
    await c.opened;
    assert.equal((await c.next())[0], '0');
    c.send('4' + 'x'.repeat(MAX_PAYLOAD + 10));
    const closed = await withTimeout(c.closed, 5000, 'websocket close');
    assert.equal(closed.code, 1009);
  });
});
