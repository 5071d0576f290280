// CORS with an origin allowlist ('*' patterns) and credentials: allowed origins are echoed with
// Access-Control-Allow-Credentials; refused origins get no CORS headers and 403 (Engine.IO code 4).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName, clientPool, connected } from './lib/targets.mjs';
import { httpRequest, eioUrl, pollingHandshake } from './lib/raw.mjs';

const ORIGINS = ['http://allowed.example', 'http://*.trusted.example'];

describe(`CORS [${targetName}]`, () => {
  let target;
  let pool;
  before(async () => {
    target = await startTarget({ cors: { origins: ORIGINS, credentials: true } });
    pool = clientPool(() => target.url);
  });
  after(async () => {
    pool?.closeAll();
    await target?.stop();
  });

  const handshakeUrl = () => eioUrl(target.url, { EIO: '4', transport: 'polling' });
  const varyHasOrigin = (res) => (res.headers.vary ?? '').split(',').map((v) => v.trim().toLowerCase()).includes('origin');

  for (const origin of ['http://allowed.example', 'http://app.trusted.example']) {
    test(`an allowed origin is echoed with credentials: ${origin}`, async () => {
      const res = await httpRequest(handshakeUrl(), { headers: { origin } });
      assert.equal(res.status, 200);
      assert.equal(res.body[0], '0');
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      assert.ok(varyHasOrigin(res), `Vary: ${res.headers.vary}`);
    });
  }

  test('an allowed origin keeps the CORS headers on later polling requests of the session', async () => {
    const origin = 'http://allowed.example';
    const { sid } = await pollingHandshake(target.url, { origin });
    const url = eioUrl(target.url, { EIO: '4', transport: 'polling', sid });
    const post = await httpRequest(url, { method: 'POST', headers: { origin, 'content-type': 'text/plain;charset=UTF-8' }, body: '40/anon,' });
    assert.equal(post.status, 200);
    assert.equal(post.body, 'ok');
    assert.equal(post.headers['access-control-allow-origin'], origin);
    assert.equal(post.headers['access-control-allow-credentials'], 'true');
    const get = await httpRequest(url, { headers: { origin } });
    assert.equal(get.status, 200);
    assert.match(get.body, /^40\/anon,\{"sid":"[^"]+"\}/);
    assert.equal(get.headers['access-control-allow-origin'], origin);
  });

  test('a preflight from an allowed origin is answered 204 with methods, headers and credentials', async () => {
    const origin = 'http://allowed.example';
    const res = await httpRequest(handshakeUrl(), { method: 'OPTIONS', headers: {
      origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], origin);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    const methods = (res.headers['access-control-allow-methods'] ?? '').split(',').map((m) => m.trim());
    assert.ok(methods.includes('GET') && methods.includes('POST'), `methods: ${methods}`);
    assert.match(res.headers['access-control-allow-headers'] ?? '', /content-type/i);
  });

  for (const origin of ['http://evil.example', 'http://trusted.example.evil.example', 'null']) {
    test(`a refused origin gets 403, Engine.IO code 4 and no CORS headers: ${origin}`, async () => {
      const res = await httpRequest(handshakeUrl(), { headers: { origin } });
      assert.equal(res.status, 403);
      assert.match(res.headers['content-type'], /^application\/json/);
      assert.deepEqual(JSON.parse(res.body), { code: 4, message: 'Forbidden' });
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
    });
  }

  test('a request without an Origin header (non-browser client) is served, without CORS headers', async () => {
    const res = await httpRequest(handshakeUrl());
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    await connected(pool.connect('/anon', { transports: ['polling'] }));
  });

  test('socket.io-client sending an allowed Origin connects; a refused one gets connect_error', async () => {
    const ok = pool.connect('/anon', { transports: ['polling'], extraHeaders: { origin: 'http://allowed.example' } });
    await connected(ok);
    const refused = pool.connect('/anon', { transports: ['polling'], extraHeaders: { origin: 'http://evil.example' } });
    await assert.rejects(connected(refused));
    assert.equal(refused.connected, false);
  });
});
