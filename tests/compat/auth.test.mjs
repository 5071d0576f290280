// Connect-time auth: JWT from auth.token, the `token` query parameter or an Authorization Bearer
// header on "/"; connect_error with err.data.code MISSING_TOKEN / INVALID_TOKEN / EXPIRED_TOKEN;
// optional auth on "/custom", none on "/anon"; the "auth" event echoing the handshake auth object.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName, clientPool, connected, nextEvent, makeToken } from './lib/targets.mjs';

const expiredToken = (sub) => {
  const past = Math.floor(Date.now() / 1000) - 3600;
  return makeToken({ sub, iat: past - 60, exp: past });
};

describe(`auth [${targetName}]`, () => {
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

  const connectError = async (s) => {
    const [err] = await nextEvent(s, 'connect_error');
    assert.equal(s.connected, false);
    assert.equal(typeof err.message, 'string');
    assert.ok(err.message.length > 0);
    return err;
  };

  for (const transports of [['websocket'], ['polling']]) {
    const via = transports[0];
    test(`"/" without a token: connect_error MISSING_TOKEN (${via})`, async () => {
      const err = await connectError(pool.connect('/', { transports }));
      assert.equal(err.data?.code, 'MISSING_TOKEN');
    });

    test(`"/" with a token signed by another key: connect_error INVALID_TOKEN (${via})`, async () => {
      const err = await connectError(pool.connect('/', { transports, auth: { token: makeToken({ sub: 'eve' }, { secret: 'wrong-secret' }) } }));
      assert.equal(err.data?.code, 'INVALID_TOKEN');
    });

    test(`"/" with an expired token: connect_error EXPIRED_TOKEN (${via})`, async () => {
      const err = await connectError(pool.connect('/', { transports, auth: { token: expiredToken('old') } }));
      assert.equal(err.data?.code, 'EXPIRED_TOKEN');
    });
  }

  test('"/" with garbage instead of a token: connect_error INVALID_TOKEN', async () => {
    for (const token of ['not.a.jwt', 'garbage', 'a.b.c.d', '...']) {
      const err = await connectError(pool.connect('/', { auth: { token } }));
      assert.equal(err.data?.code, 'INVALID_TOKEN', `token ${JSON.stringify(token)}`);
    }
  });

  test('"/" with a tampered payload (signature no longer matches): INVALID_TOKEN', async () => {
    const [h, , sig] = makeToken({ sub: 'mallory' }).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
    const err = await connectError(pool.connect('/', { auth: { token: `${h}.${forged}.${sig}` } }));
    assert.equal(err.data?.code, 'INVALID_TOKEN');
  });

  test('a failed connect can be retried with a good token on the same socket', async () => {
    const s = pool.connect('/', { auth: { token: 'garbage' } });
    assert.equal((await connectError(s)).data?.code, 'INVALID_TOKEN');
    s.auth = { token: makeToken({ sub: 'retry' }) };
    s.connect();
    await connected(s);
  });

  test('token from auth.token: connects and joins user:<sub>', async () => {
    const s = pool.connect('/', { auth: { token: makeToken({ sub: 'via-auth' }) } });
    await connected(s);
    const got = nextEvent(s, 'hello');
    assert.equal((await target.push({ user: 'via-auth', event: 'hello', args: [1] })).sockets, 1);
    assert.deepEqual(await got, [1]);
  });

  test('token from the `token` query parameter (polling and websocket)', async () => {
    for (const transports of [['polling'], ['websocket']]) {
      const user = `via-query-${transports[0]}`;
      const s = pool.connect('/', { transports, query: { token: makeToken({ sub: user }) } });
      await connected(s);
      const p = await target.presence(user);
      assert.equal(p.online, true);
      assert.deepEqual(p.sockets.map((x) => x.socket_id), [s.id]);
    }
  });

  test('token from an Authorization: Bearer header', async () => {
    for (const transports of [['polling'], ['websocket']]) {
      const user = `via-header-${transports[0]}`;
      const s = pool.connect('/', { transports, extraHeaders: { authorization: `Bearer ${makeToken({ sub: user })}` } });
      await connected(s);
      const p = await target.presence(user);
      assert.deepEqual(p.sockets.map((x) => x.socket_id), [s.id]);
    }
  });

  test('"/custom" (optional auth): no token connects; a bad or expired token is refused', async () => {
    await connected(pool.connect('/custom'));
    await connected(pool.connect('/custom', { auth: { token: makeToken({ sub: 'opt' }) } }));
    assert.equal((await connectError(pool.connect('/custom', { auth: { token: 'garbage' } }))).data?.code, 'INVALID_TOKEN');
    assert.equal((await connectError(pool.connect('/custom', { auth: { token: expiredToken('x') } }))).data?.code, 'EXPIRED_TOKEN');
  });

  test('"/anon" (no auth): connects with no token, and a token is not looked at', async () => {
    await connected(pool.connect('/anon'));
    await connected(pool.connect('/anon', { auth: { token: 'garbage' } }));
  });

  test('the "auth" event echoes the handshake auth object ({} when none)', async () => {
    const withAuth = pool.connect('/anon', { auth: { hello: 'world', n: 1, nested: { ok: true } } });
    const gotWith = nextEvent(withAuth, 'auth');
    const without = pool.connect('/anon', { transports: ['polling'] });
    const gotWithout = nextEvent(without, 'auth');
    await Promise.all([connected(withAuth), connected(without)]);
    assert.deepEqual(await gotWith, [{ hello: 'world', n: 1, nested: { ok: true } }]);
    assert.deepEqual(await gotWithout, [{}]);

    const token = makeToken({ sub: 'auth-echo' });
    const main = pool.connect('/', { auth: { token, extra: 'x' } });
    const gotMain = nextEvent(main, 'auth');
    await connected(main);
    assert.deepEqual(await gotMain, [{ token, extra: 'x' }]);
  });
});
