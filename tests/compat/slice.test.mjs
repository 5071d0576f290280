// Foundation slice: a real socket.io-client connects with a JWT, joins user:<sub>, and receives
// PushToUser / Broadcast sent through the target's control API (Herald: gRPC herald.v1.Realtime);
// bad and missing tokens get connect_error. On Herald, the C++ herald-notify example pushes too.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, targetName, clientPool, makeToken, nextEvent, noEvent } from './lib/targets.mjs';
import { notify } from './lib/herald.mjs';

describe(`foundation slice [${targetName}]`, () => {
  let target;
  let pool;

  const connect = (opts = {}, path = '/') => pool.connect(path, opts);

  before(async () => {
    target = await startTarget();
    pool = clientPool(() => target.url);
  });
  after(async () => {
    pool?.closeAll();
    await target?.stop();
  });

  test('a socket with a valid token connects over websocket', async () => {
    const s = connect({ auth: { token: makeToken({ sub: 'alice' }) } });
    await nextEvent(s, 'connect');
    assert.equal(typeof s.id, 'string');
    assert.equal(s.id.length, 20);
    assert.equal(s.io.engine.transport.name, 'websocket');
  });

  test('PushToUser reaches every socket of that user and no one else', async () => {
    const a1 = connect({ auth: { token: makeToken({ sub: 'pat' }) } });
    const a2 = connect({ auth: { token: makeToken({ sub: 'pat' }) } });
    const other = connect({ auth: { token: makeToken({ sub: 'sam' }) } });
    await Promise.all([nextEvent(a1, 'connect'), nextEvent(a2, 'connect'), nextEvent(other, 'connect')]);

    const got1 = nextEvent(a1, 'notification');
    const got2 = nextEvent(a2, 'notification');
    const none = noEvent(other, 'notification', 500);
    const result = await target.push({ user: 'pat', event: 'notification', args: [{ text: 'hello pat' }, 42] });
    assert.deepEqual(await got1, [{ text: 'hello pat' }, 42]);
    assert.deepEqual(await got2, [{ text: 'hello pat' }, 42]);
    await none;
    assert.equal(result.sockets, 2);
  });

  test('Broadcast to a room reaches every member', async () => {
    const m1 = connect({ auth: { token: makeToken({ sub: 'kim' }) } });
    const m2 = connect({ auth: { token: makeToken({ sub: 'kim' }) } });
    await Promise.all([nextEvent(m1, 'connect'), nextEvent(m2, 'connect')]);
    const got = Promise.all([nextEvent(m1, 'news'), nextEvent(m2, 'news')]);
    const result = await target.broadcast({ rooms: ['user:kim'], event: 'news', args: ['extra'] });
    const [[x], [y]] = await got;
    assert.equal(x, 'extra');
    assert.equal(y, 'extra');
    assert.equal(result.sockets, 2);
  });

  test('herald-notify (the C++ gRPC example) pushes to a user and to a room',
    { skip: targetName !== 'herald' && 'herald-notify drives Herald\'s gRPC API; not applicable to the node target' },
    async () => {
      const s = connect({ auth: { token: makeToken({ sub: 'cpp' }) } });
      await nextEvent(s, 'connect');
      const got = nextEvent(s, 'notification');
      const result = await notify(target.grpc, ['--user', 'cpp', '--event', 'notification', '--args', JSON.stringify([{ text: 'hi' }, 1])]);
      assert.deepEqual(await got, [{ text: 'hi' }, 1]);
      assert.equal(result.sockets, 1);
      const news = nextEvent(s, 'news');
      const r2 = await notify(target.grpc, ['--room', 'user:cpp', '--event', 'news', '--args', '["extra"]']);
      assert.deepEqual(await news, ['extra']);
      assert.equal(r2.sockets, 1);
    });

  test('a missing token gets connect_error MISSING_TOKEN', async () => {
    const s = connect();
    const [err] = await nextEvent(s, 'connect_error');
    assert.equal(err.data?.code, 'MISSING_TOKEN');
    assert.equal(typeof err.message, 'string');
  });

  test('a bad token gets connect_error INVALID_TOKEN', async () => {
    const s = connect({ auth: { token: makeToken({ sub: 'eve' }, { secret: 'wrong-secret' }) } });
    const [err] = await nextEvent(s, 'connect_error');
    assert.equal(err.data?.code, 'INVALID_TOKEN');
  });

  test('garbage instead of a token gets connect_error INVALID_TOKEN', async () => {
    const s = connect({ auth: { token: 'not.a.jwt' } });
    const [err] = await nextEvent(s, 'connect_error');
    assert.equal(err.data?.code, 'INVALID_TOKEN');
  });

  test('an expired token gets connect_error EXPIRED_TOKEN', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const s = connect({ auth: { token: makeToken({ sub: 'old', iat: past - 60, exp: past }) } });
    const [err] = await nextEvent(s, 'connect_error');
    assert.equal(err.data?.code, 'EXPIRED_TOKEN');
  });
});
