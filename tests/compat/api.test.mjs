// The public gRPC API (herald.v1.Realtime) end to end with real socket.io-client sockets: every
// RPC against a standalone Herald, including targets by user, room, socket id and namespace,
// binary attachments, and the presence queries. Herald-only: the Node reference has no such API.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from './lib/herald.mjs';
import {
  heraldContractConfig, realtimeClient, clientPool, connected, nextEvent, noEvent, makeToken,
} from './lib/targets.mjs';

describe('public gRPC API with real clients [herald]', () => {
  let herald;
  let api;
  let pool;
  before(async () => {
    herald = await startHerald(heraldContractConfig());
    api = await realtimeClient(herald.grpc);
    pool = clientPool(() => herald.url);
  });
  after(async () => {
    pool?.closeAll();
    api?.close();
    await herald?.stop();
  });

  const user = (sub, opts = {}) => pool.connect('/', { auth: { token: makeToken({ sub }) }, ...opts });

  // Presence follows the edge's deltas; wait until the broker has seen what a test just did.
  async function until(check, what, timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('JoinRooms by user puts every socket of the user in the room; Broadcast reaches them', async () => {
    const a = user('ann');
    const b = user('ann', { transports: ['polling'] });
    const other = user('ben');
    await Promise.all([a, b, other].map((s) => connected(s)));
    // Counts come from presence, which follows the edge by one delta.
    await until(async () => (await api.call('GetPresence', { user_id: 'ann', ns: '/' })).sockets.length === 2, 'ann online twice');
    const joined = await api.call('JoinRooms', { ns: '/', target: { user_id: 'ann' }, rooms: ['team:1'] });
    assert.equal(joined.sockets, 2);
    await until(async () => (await api.call('ListRoomMembers', { ns: '/', room: 'team:1' })).sockets.length === 2,
      'both sockets in team:1');
    const got = Promise.all([nextEvent(a, 'standup'), nextEvent(b, 'standup')]);
    const none = noEvent(other, 'standup', 400);
    const res = await api.call('Broadcast', { ns: '/', rooms: ['team:1'], event: 'standup', args_json: '["9:30"]' });
    assert.equal(res.sockets, 2);
    assert.deepEqual((await got).map(([t]) => t), ['9:30', '9:30']);
    await none;
  });

  test('ListRoomMembers lists distinct users and their sockets', async () => {
    const s1 = user('cat');
    const s2 = user('cat');
    const s3 = user('dan');
    await Promise.all([s1, s2, s3].map((s) => connected(s)));
    await api.call('JoinRooms', { ns: '/', target: { user_id: 'cat' }, rooms: ['club'] });
    await api.call('JoinRooms', { ns: '/', target: { socket_id: s3.id }, rooms: ['club'] });
    const members = await until(async () => {
      const m = await api.call('ListRoomMembers', { ns: '/', room: 'club' });
      return m.sockets.length === 3 ? m : null;
    }, 'three club members');
    assert.deepEqual([...members.user_ids].sort(), ['cat', 'dan']);
    assert.deepEqual(members.sockets.map((s) => s.socket_id).sort(), [s1.id, s2.id, s3.id].sort());
    for (const s of members.sockets) assert.ok(s.rooms.includes('club'));
  });

  test('LeaveRooms by socket id takes only that socket out', async () => {
    const s1 = user('eve');
    const s2 = user('eve');
    await Promise.all([s1, s2].map((s) => connected(s)));
    await api.call('JoinRooms', { ns: '/', target: { user_id: 'eve' }, rooms: ['lab'] });
    await until(async () => (await api.call('ListRoomMembers', { ns: '/', room: 'lab' })).sockets.length === 2, 'both in lab');
    const left = await api.call('LeaveRooms', { ns: '/', target: { socket_id: s1.id }, rooms: ['lab'] });
    assert.equal(left.sockets, 1);
    await until(async () => (await api.call('ListRoomMembers', { ns: '/', room: 'lab' })).sockets.length === 1,
      'one socket left in lab');
    const got = nextEvent(s2, 'ping-lab');
    const none = noEvent(s1, 'ping-lab', 400);
    assert.equal((await api.call('Broadcast', { ns: '/', rooms: ['lab'], event: 'ping-lab', args_json: '[]' })).sockets, 1);
    await got;
    await none;
  });

  test('JoinRooms/LeaveRooms by room move every member of one room into another', async () => {
    const s1 = user('fay');
    const s2 = user('gus');
    await Promise.all([s1, s2].map((s) => connected(s)));
    await api.call('JoinRooms', { ns: '/', target: { socket_id: s1.id }, rooms: ['old'] });
    await api.call('JoinRooms', { ns: '/', target: { socket_id: s2.id }, rooms: ['old'] });
    await until(async () => (await api.call('ListRoomMembers', { ns: '/', room: 'old' })).sockets.length === 2, 'old');
    assert.equal((await api.call('JoinRooms', { ns: '/', target: { room: 'old' }, rooms: ['new'] })).sockets, 2);
    assert.equal((await api.call('LeaveRooms', { ns: '/', target: { room: 'old' }, rooms: ['old'] })).sockets, 2);
    await until(async () => {
      const [o, n] = await Promise.all([
        api.call('ListRoomMembers', { ns: '/', room: 'old' }), api.call('ListRoomMembers', { ns: '/', room: 'new' })]);
      return o.sockets.length === 0 && n.sockets.length === 2;
    }, 'members moved from old to new');
  });

  test('Broadcast with except_rooms and except_socket_ids, and binary attachments', async () => {
    const s1 = user('hal');
    const s2 = user('ivy');
    const s3 = user('jon');
    await Promise.all([s1, s2, s3].map((s) => connected(s)));
    for (const s of [s1, s2, s3]) await api.call('JoinRooms', { ns: '/', target: { socket_id: s.id }, rooms: ['floor'] });
    await api.call('JoinRooms', { ns: '/', target: { socket_id: s2.id }, rooms: ['muted'] });
    await until(async () => (await api.call('ListRoomMembers', { ns: '/', room: 'floor' })).sockets.length === 3, 'floor');
    // The reached-sockets count comes from presence: let the 'muted' join reach it first.
    await until(async () => (await api.call('ListRoomMembers', { ns: '/', room: 'muted' })).sockets.length === 1, 'muted');
    const got = nextEvent(s1, 'blob');
    const none2 = noEvent(s2, 'blob', 400);
    const none3 = noEvent(s3, 'blob', 400);
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const res = await api.call('Broadcast', {
      ns: '/', rooms: ['floor'], except_rooms: ['muted'], except_socket_ids: [s3.id], event: 'blob',
      args_json: '[{"name":"x","data":{"_placeholder":true,"num":0}}]', attachments: [bytes],
    });
    assert.equal(res.sockets, 1);
    const [payload] = await got;
    assert.equal(payload.name, 'x');
    assert.deepEqual(Buffer.from(payload.data), bytes);
    await none2;
    await none3;
  });

  test('Disconnect for the whole namespace, and GetPresence / Stats follow', async () => {
    const ns = '/custom';
    const s1 = pool.connect(ns, { auth: { token: makeToken({ sub: 'kim' }) } });
    const s2 = pool.connect(ns);
    await Promise.all([s1, s2].map((s) => connected(s)));
    const presence = await until(async () => {
      const p = await api.call('GetPresence', { user_id: 'kim', ns });
      return p.online ? p : null;
    }, 'kim online');
    assert.equal(presence.sockets.length, 1);
    assert.equal(presence.sockets[0].socket_id, s1.id);
    const stats = await until(async () => {
      const st = await api.call('Stats', {});
      return Number(st.sockets_per_namespace[ns]) >= 2 ? st : null;
    }, 'both /custom sockets in Stats');
    assert.ok(Number(stats.sockets) >= 2);
    assert.equal(stats.edges, 1);

    const gone = Promise.all([nextEvent(s1, 'disconnect'), nextEvent(s2, 'disconnect')]);
    assert.equal((await api.call('Disconnect', { ns, target: { all: true } })).sockets, 2);
    assert.deepEqual((await gone).map(([r]) => r), ['io server disconnect', 'io server disconnect']);
    await until(async () => !(await api.call('GetPresence', { user_id: 'kim', ns })).online, 'kim offline');
  });

  test('PushToUser to a user with no sockets reaches nobody and says so', async () => {
    assert.equal((await api.call('PushToUser', { user_id: 'nobody-here', ns: '/', event: 'x', args_json: '[]' })).sockets, 0);
  });

  test('invalid requests are refused with INVALID_ARGUMENT and change nothing', async () => {
    const invalid = 3; // gRPC INVALID_ARGUMENT
    await assert.rejects(api.call('Broadcast', { ns: '/', event: 'disconnect', args_json: '[]' }), (e) => e.code === invalid);
    await assert.rejects(api.call('PushToUser', { user_id: 'x', ns: '/', event: 'ok', args_json: '{"not":"an array"}' }), (e) => e.code === invalid);
    await assert.rejects(api.call('PushToUser', { user_id: 'x', ns: '/', event: 'ok', args_json: '[{"_placeholder":true,"num":0}]' }), (e) => e.code === invalid);
    await assert.rejects(api.call('JoinRooms', { ns: '/', target: {}, rooms: ['r'] }), (e) => e.code === invalid);
  });
});
