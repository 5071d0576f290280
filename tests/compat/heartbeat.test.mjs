// Heartbeats with small values (pingInterval 300 ms, pingTimeout 200 ms): the server pings, a
// client that answers stays, a raw client that stops answering is dropped after pingTimeout.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName, clientPool, connected, noEvent, withTimeout } from './lib/targets.mjs';
import { rawWebSocket, pollingHandshake, httpRequest, eioUrl } from './lib/raw.mjs';

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

describe(`heartbeat [${targetName}]`, () => {
  let target;
  let pool;
  const raws = [];
  before(async () => {
    target = await startTarget({ pingIntervalMs: PING_INTERVAL, pingTimeoutMs: PING_TIMEOUT });
    pool = clientPool(() => target.url);
  });
  after(async () => {
    for (const r of raws) r.close();
    pool?.closeAll();
    await target?.stop();
  });

  const openRaw = async () => {
    const c = rawWebSocket(target.url);
    raws.push(c);
    await c.opened;
    const open = JSON.parse((await c.next()).slice(1));
    return { c, open, openedAt: Date.now() };
  };

  test('the handshake advertises the configured pingInterval and pingTimeout', async () => {
    const open = await pollingHandshake(target.url);
    assert.equal(open.pingInterval, PING_INTERVAL);
    assert.equal(open.pingTimeout, PING_TIMEOUT);
  });

  test('the server pings every pingInterval; a raw client that answers stays connected', async () => {
    const { c, openedAt } = await openRaw();
    const pingTimes = [];
    for (let i = 0; i < 4; i++) {
      const msg = await c.next(PING_INTERVAL * 5);
      assert.equal(msg, '2', `expected a ping, got ${JSON.stringify(msg)}`);
      pingTimes.push(Date.now());
      c.send('3');
    }
    const first = pingTimes[0] - openedAt;
    assert.ok(first >= PING_INTERVAL - 50 && first < PING_INTERVAL * 4, `first ping after ${first}ms`);
    for (let i = 1; i < pingTimes.length; i++) {
      const gap = pingTimes[i] - pingTimes[i - 1];
      assert.ok(gap >= PING_INTERVAL - 50 && gap < PING_INTERVAL * 4, `ping gap ${gap}ms`);
    }
    assert.equal(c.ws.readyState, c.ws.OPEN, 'still open after 4 answered pings');
  });

  test('a raw websocket client that stops answering pings is dropped after pingTimeout', async () => {
    const { c } = await openRaw();
    // Answer one ping, then go silent.
    assert.equal(await c.next(PING_INTERVAL * 5), '2');
    c.send('3');
    assert.equal(await c.next(PING_INTERVAL * 5), '2');
    const unansweredAt = Date.now();
    const closed = await withTimeout(c.closed, (PING_INTERVAL + PING_TIMEOUT) * 10, 'server closing a silent client');
    const after = closed.at - unansweredAt;
    assert.ok(after >= PING_TIMEOUT - 50, `dropped ${after}ms after the unanswered ping (pingTimeout ${PING_TIMEOUT})`);
    assert.ok(after < PING_TIMEOUT + PING_INTERVAL * 6, `dropped only ${after}ms after the unanswered ping`);
  });

  test('a raw polling client that stops polling is dropped and its sid becomes unknown', async () => {
    const { sid } = await pollingHandshake(target.url);
    const url = eioUrl(target.url, { EIO: '4', transport: 'polling', sid });
    // The first poll returns the ping; do not answer it and do not poll again.
    const first = await httpRequest(url, { timeoutMs: PING_INTERVAL * 5 });
    assert.equal(first.status, 200);
    assert.equal(first.body, '2');
    const pingAt = Date.now();
    // The next poll (a GET is not a pong) is held until the session ends: answered with a close
    // packet ("1"), or refused as unknown if the session already ended.
    const second = await httpRequest(url, { timeoutMs: (PING_INTERVAL + PING_TIMEOUT) * 10 });
    const endedAfter = Date.now() - pingAt;
    if (second.status === 200) {
      assert.ok(second.body.split('\x1e').includes('1'), `expected a close packet, got ${JSON.stringify(second.body)}`);
    } else {
      assert.equal(second.status, 400);
    }
    assert.ok(endedAfter >= PING_TIMEOUT - 50, `session ended ${endedAfter}ms after the unanswered ping`);
    assert.ok(endedAfter < PING_TIMEOUT + PING_INTERVAL * 6, `session ended only ${endedAfter}ms after the unanswered ping`);
    const third = await httpRequest(url);
    assert.equal(third.status, 400);
    assert.deepEqual(JSON.parse(third.body), { code: 1, message: 'Session ID unknown' });
  });

  test('socket.io-client answers pings by itself and stays connected across many intervals', async () => {
    for (const transports of [['websocket'], ['polling']]) {
      const s = pool.connect('/anon', { transports });
      await connected(s);
      await noEvent(s, 'disconnect', (PING_INTERVAL + PING_TIMEOUT) * 3);
      assert.equal(s.connected, true);
      assert.equal(await s.timeout(2000).emitWithAck('message-with-ack', 'alive'), 'alive');
    }
  });
});
