// The harness itself: target selection never turns a Herald run into a silent pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const targetsModule = fileURLToPath(new URL('./lib/targets.mjs', import.meta.url));

function runWith(env, code) {
  return new Promise((resolveRun) => {
    execFile(process.execPath, ['--input-type=module', '-e', code],
      { env: { ...process.env, ...env }, timeout: 20000 },
      (err, stdout, stderr) => resolveRun({ code: err ? err.code : 0, stdout, stderr }));
  });
}

test('HERALD_COMPAT_TARGET=herald with missing binaries fails loudly instead of skipping', async () => {
  const r = await runWith({ HERALD_COMPAT_TARGET: 'herald', HERALD_BIN_DIR: '/nonexistent-herald-build' },
    `import { startTarget, targetName } from ${JSON.stringify(targetsModule)};
     console.log(targetName); await startTarget();`);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /^herald$/m);
  assert.match(r.stderr, /binaries are missing: .*herald/);
});

test('an unknown HERALD_COMPAT_TARGET is refused', async () => {
  const r = await runWith({ HERALD_COMPAT_TARGET: 'nodejs' }, `import ${JSON.stringify(targetsModule)};`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /must be "node" or "herald"/);
});

test('without HERALD_COMPAT_TARGET and without Herald binaries the node target is chosen, and says why', async () => {
  const r = await runWith({ HERALD_COMPAT_TARGET: '', HERALD_BIN_DIR: '/nonexistent-herald-build' },
    `import { targetName } from ${JSON.stringify(targetsModule)}; console.log(targetName);`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^node$/m);
  assert.match(r.stderr, /Herald target not run: missing/);
});

// The Herald control path (gRPC herald.v1.Realtime) against a fake Realtime server, so the
// encoding of args/attachments and targets is checked before Herald itself can run.
test('Herald control methods speak herald.v1.Realtime: targets, args_json placeholders, attachments', async () => {
  const grpc = await import('@grpc/grpc-js');
  const protoLoader = await import('@grpc/proto-loader');
  const { realtimeClient, heraldControl } = await import('./lib/targets.mjs');
  const { repoRoot } = await import('./lib/herald.mjs');
  const protosDir = `${repoRoot}/protos`;
  const def = protoLoader.loadSync(`${protosDir}/herald/v1/realtime.proto`,
    { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protosDir] });
  const { Realtime } = grpc.loadPackageDefinition(def).herald.v1;

  const seen = {};
  const server = new grpc.Server();
  const record = (name, reply) => (call, cb) => { seen[name] = call.request; cb(null, reply(call.request)); };
  server.addService(Realtime.service, {
    PushToUser: record('PushToUser', () => ({ sockets: 2 })),
    Broadcast: record('Broadcast', () => ({ sockets: 3 })),
    EmitWithAck: record('EmitWithAck', (req) => ({ acks: [
      { socket_id: 's1', timed_out: false, args_json: '[{"blob":{"_placeholder":true,"num":0}},"x"]', attachments: [Buffer.from('ack')] },
      { socket_id: 's2', timed_out: true },
    ] })),
    Disconnect: record('Disconnect', () => ({ sockets: 1 })),
    GetPresence: record('GetPresence', () => ({ online: true, sockets: [{ socket_id: 's1', ns: '/', user_id: 'u', rooms: ['z', 'a'] }] })),
  });
  const port = await new Promise((resolveBind, reject) => server.bindAsync('127.0.0.1:0',
    grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolveBind(p))));
  const api = await realtimeClient(`127.0.0.1:${port}`);
  try {
    const control = heraldControl(api);
    assert.deepEqual(await control.push({ user: 'u', event: 'e', args: [{ a: Buffer.from('A'), list: [Buffer.from('B')] }, 1] }), { sockets: 2 });
    assert.equal(seen.PushToUser.user_id, 'u');
    assert.equal(seen.PushToUser.ns, '/');
    assert.deepEqual(JSON.parse(seen.PushToUser.args_json),
      [{ a: { _placeholder: true, num: 0 }, list: [{ _placeholder: true, num: 1 }] }, 1]);
    assert.deepEqual(seen.PushToUser.attachments.map((b) => b.toString()), ['A', 'B']);

    assert.deepEqual(await control.broadcast({ ns: '/x', rooms: ['r'], except_rooms: ['q'], event: 'e', args: [] }), { sockets: 3 });
    assert.deepEqual([seen.Broadcast.ns, seen.Broadcast.rooms, seen.Broadcast.except_rooms, seen.Broadcast.args_json], ['/x', ['r'], ['q'], '[]']);

    const acks = await control.emitWithAck({ room: 'r', event: 'q', args: ['hi'], timeout_ms: 300 });
    assert.deepEqual(seen.EmitWithAck.target, { room: 'r', kind: 'room' });
    assert.equal(seen.EmitWithAck.timeout_ms, 300);
    assert.deepEqual(acks, [
      { socket_id: 's1', timed_out: false, args: [{ blob: Buffer.from('ack') }, 'x'] },
      { socket_id: 's2', timed_out: true, args: [] },
    ]);

    assert.deepEqual(await control.disconnect({ user: 'u', close: true }), { sockets: 1 });
    assert.deepEqual(seen.Disconnect.target, { user_id: 'u', kind: 'user_id' });
    assert.equal(seen.Disconnect.close_connection, true);

    assert.deepEqual(await control.presence('u'), { online: true, sockets: [{ socket_id: 's1', ns: '/', user_id: 'u', rooms: ['a', 'z'] }] });
    assert.equal(seen.GetPresence.user_id, 'u');
  } finally {
    api.close();
    await new Promise((r) => server.tryShutdown(r));
  }
});
