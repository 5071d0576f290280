// Engine.IO v4 over raw HTTP: the handshake, and every error code with the status and exact JSON
// body the reference Node.js server sends (Content-Type: application/json):
//   0 Transport unknown · 1 Session ID unknown · 2 Bad handshake method · 3 Bad request ·
//   4 Forbidden (HTTP 403, the rest are 400) · 5 Unsupported protocol version
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName } from './lib/targets.mjs';
import { httpRequest, eioUrl, pollingHandshake, rawWebSocket } from './lib/raw.mjs';

const ERR = {
  0: { status: 400, body: { code: 0, message: 'Transport unknown' } },
  1: { status: 400, body: { code: 1, message: 'Session ID unknown' } },
  2: { status: 400, body: { code: 2, message: 'Bad handshake method' } },
  3: { status: 400, body: { code: 3, message: 'Bad request' } },
  4: { status: 403, body: { code: 4, message: 'Forbidden' } },
  5: { status: 400, body: { code: 5, message: 'Unsupported protocol version' } },
};

describe(`Engine.IO raw HTTP [${targetName}]`, () => {
  let target;
  before(async () => {
    // An origin allowlist, so that code 4 (Forbidden) can be provoked with a refused Origin.
    target = await startTarget({ cors: { origins: ['http://allowed.example'], credentials: false } });
  });
  after(async () => { await target?.stop(); });

  const url = (query) => eioUrl(target.url, query);
  async function expectError(code, res) {
    assert.equal(res.status, ERR[code].status, `status for code ${code} (body ${res.body})`);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), ERR[code].body);
  }

  test('handshake: 200, open packet with sid, upgrades, pingInterval, pingTimeout, maxPayload', async () => {
    const res = await httpRequest(url({ EIO: '4', transport: 'polling' }));
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain/);
    assert.equal(res.body[0], '0');
    const open = JSON.parse(res.body.slice(1));
    assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
    assert.equal(typeof open.sid, 'string');
    assert.deepEqual(open.upgrades, ['websocket']);
    assert.equal(open.pingInterval, 25000);
    assert.equal(open.pingTimeout, 20000);
    assert.equal(open.maxPayload, 1000000);
  });

  test('websocket handshake: the open packet has no upgrades', async () => {
    const c = rawWebSocket(target.url);
    try {
      await c.opened;
      const first = await c.next();
      assert.equal(first[0], '0');
      assert.deepEqual(JSON.parse(first.slice(1)).upgrades, []);
    } finally {
      c.close();
    }
  });

  test('code 0: unknown transport', async () => {
    await expectError(0, await httpRequest(url({ EIO: '4', transport: 'carrier-pigeon' })));
    await expectError(0, await httpRequest(url({ EIO: '4' })));
  });

  test('code 1: unknown session id (GET and POST)', async () => {
    await expectError(1, await httpRequest(url({ EIO: '4', transport: 'polling', sid: 'no-such-session' })));
    await expectError(1, await httpRequest(url({ EIO: '4', transport: 'polling', sid: 'no-such-session' }), { method: 'POST', body: '4hello' }));
  });

  test('code 2: a handshake that is not a GET', async () => {
    await expectError(2, await httpRequest(url({ EIO: '4', transport: 'polling' }), { method: 'POST', body: '4hello' }));
    await expectError(2, await httpRequest(url({ EIO: '4', transport: 'polling' }), { method: 'PUT', body: '4hello' }));
  });

  test('code 3: transport=websocket without an Upgrade', async () => {
    await expectError(3, await httpRequest(url({ EIO: '4', transport: 'websocket' })));
  });

  test('code 3: a polling session addressed with another transport and no Upgrade', async () => {
    const { sid } = await pollingHandshake(target.url);
    await expectError(3, await httpRequest(url({ EIO: '4', transport: 'websocket', sid })));
  });

  test('code 4: a refused Origin', async () => {
    await expectError(4, await httpRequest(url({ EIO: '4', transport: 'polling' }), { headers: { origin: 'http://refused.example' } }));
  });

  test('code 5: EIO=3, a missing EIO, an unknown EIO', async () => {
    await expectError(5, await httpRequest(url({ EIO: '3', transport: 'polling' })));
    await expectError(5, await httpRequest(url({ transport: 'polling' })));
    await expectError(5, await httpRequest(url({ EIO: '5', transport: 'polling' })));
  });

  test('a websocket upgrade with an unknown sid is refused with HTTP 400', async () => {
    const c = rawWebSocket(target.url, { EIO: '4', transport: 'websocket', sid: 'no-such-session' });
    await assert.rejects(c.opened, /Unexpected server response: 400/);
    await c.closed;
  });

  test('a websocket connection with EIO=3 never gets an open packet and is closed', async () => {
    // Node refuses after the 101 (it writes an HTTP 400 onto the upgraded socket); refusing the
    // upgrade itself with 400 is just as good. Either way: no Engine.IO session, connection closed.
    const c = rawWebSocket(target.url, { EIO: '3', transport: 'websocket' });
    await c.opened.catch(() => {});
    await assert.rejects(c.next(5000), /socket closed/);
    await c.closed;
  });

  test('polling: a POST to a live session answers "ok" and the next GET carries the reply', async () => {
    const { sid } = await pollingHandshake(target.url);
    const sessionUrl = url({ EIO: '4', transport: 'polling', sid });
    const post = await httpRequest(sessionUrl, { method: 'POST', body: '40/anon,', headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    assert.equal(post.status, 200);
    assert.equal(post.body, 'ok');
    const get = await httpRequest(sessionUrl);
    assert.equal(get.status, 200);
    // CONNECT for /anon, then (record separator \x1e) the contract's "auth" event.
    const packets = get.body.split('\x1e');
    assert.match(packets[0], /^40\/anon,\{"sid":"[A-Za-z0-9_-]+"\}$/);
    if (packets.length > 1) assert.equal(packets[1], '42/anon,["auth",{}]');
  });
});
