// Graceful drain of the standalone `herald` process on SIGTERM: clients are closed in batches with
// an Engine.IO close (socket.io-client reports "transport close" and reconnects by itself — never
// "io server disconnect"), /readyz turns 503, an EmitWithAck in flight completes before its socket
// closes, the process exits 0 within drain.deadline_s, and a second signal exits at once.
// Herald-only: the Node reference server has no drain.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { io } from 'socket.io-client';
import { startHerald, defaultConfig } from './lib/herald.mjs';
import { targetName, realtimeClient, connected } from './lib/targets.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function drainConfig(drain) {
  return defaultConfig({
    drain,
    namespaces: { '/anon': { auth: 'none' } },
  });
}

// A client that would reconnect (socket.io-client's default) and records why it disconnected.
function client(url, transports) {
  const s = io(`${url}/anon`, {
    transports, forceNew: true, reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 200,
  });
  s.reasons = [];
  s.reconnectAttempts = 0;
  s.on('disconnect', (reason) => { s.reasons.push({ reason, at: Date.now() }); });
  s.io.on('reconnect_attempt', () => { s.reconnectAttempts += 1; });
  return s;
}

async function readyz(admin) {
  const res = await fetch(`${admin}/readyz`);
  return { status: res.status, body: await res.json() };
}

describe('graceful drain [herald]', { skip: targetName !== 'herald' && 'herald only' }, () => {
  test('SIGTERM: batched transport closes, readyz 503, pending EmitWithAck completes, exit 0', async () => {
    const herald = await startHerald(drainConfig({ deadline_s: 10, batch_size: 10, batch_interval_ms: 100 }));
    const clients = [];
    const api = await realtimeClient(herald.grpc);
    try {
      for (let i = 0; i < 40; i++) clients.push(client(herald.url, i % 4 === 3 ? ['polling'] : ['websocket']));
      await Promise.all(clients.map((s) => connected(s)));
      // One client answers a server emit only after 1 s: its session must outlive the others.
      const slow = clients[0];
      slow.on('ask', (x, ack) => setTimeout(() => ack(`late-${x}`), 1000));
      const pending = api.call('EmitWithAck', {
        ns: '/anon', target: { socket_id: slow.id }, event: 'ask', args_json: '["q"]', timeout_ms: 8000,
      });
      await sleep(100);  // the emit reached the client

      const exited = once(herald.proc, 'exit');
      const t0 = Date.now();
      herald.proc.kill('SIGTERM');
      await sleep(150);
      const during = await readyz(herald.admin);
      assert.equal(during.status, 503, JSON.stringify(during.body));
      assert.equal(during.body.checks.drain.status, 'not_ready');

      const res = await pending;
      assert.equal(res.acks.length, 1);
      assert.equal(res.acks[0].timed_out, false, 'the ack in flight was answered before the close');
      assert.deepEqual(JSON.parse(res.acks[0].args_json), ['late-q']);

      const [code, signal] = await exited;
      const took = Date.now() - t0;
      assert.equal(code, 0, `exit ${code ?? signal}\n${herald.logs.join('')}`);
      assert.ok(took < 10000, `exited after ${took} ms`);
      console.log(`# drain: ${clients.length} clients, exit after ${took} ms`);

      await sleep(300);
      for (const s of clients) {
        assert.deepEqual(s.reasons.map((r) => r.reason), ['transport close'], `client ${s.id}`);
        assert.ok(s.reconnectAttempts >= 1, 'socket.io-client tries to reconnect by itself');
      }
      // Batches of 10 every 100 ms: the closes are spread out, the slow client's comes last.
      const times = clients.slice(1).map((s) => s.reasons[0].at - t0).sort((a, b) => a - b);
      assert.ok(times[times.length - 1] - times[0] >= 150, `closes spread over ${times[times.length - 1] - times[0]} ms`);
      assert.ok(slow.reasons[0].at - t0 >= 800, 'the busy client closed after answering');
      const drained = herald.logs.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
        .find((r) => r.msg === 'client sessions drained');
      assert.ok(drained && drained.batches >= 4 && drained.left_open === 0, JSON.stringify(drained));
    } finally {
      api.close();
      for (const s of clients) { s.io.opts.reconnection = false; s.close(); }
      await herald.stop();
    }
  });

  test('a session that never answers is closed at the deadline; exit 0 within drain.deadline_s', async () => {
    const herald = await startHerald(drainConfig({ deadline_s: 2, batch_size: 500, batch_interval_ms: 50 }));
    const api = await realtimeClient(herald.grpc);
    const s = client(herald.url, ['websocket']);
    try {
      await connected(s);
      s.on('ask', () => { /* never acks */ });
      const pending = api.call('EmitWithAck', {
        ns: '/anon', target: { socket_id: s.id }, event: 'ask', args_json: '[]', timeout_ms: 30000,
      }).catch((e) => e);
      await sleep(100);
      const exited = once(herald.proc, 'exit');
      const t0 = Date.now();
      herald.proc.kill('SIGTERM');
      const [code] = await exited;
      const took = Date.now() - t0;
      assert.equal(code, 0, herald.logs.join(''));
      assert.ok(took >= 1000 && took < 2500, `exited after ${took} ms`);
      const res = await pending;
      if (!(res instanceof Error)) assert.equal(res.acks[0].timed_out, true);
      await sleep(100);
      assert.deepEqual(s.reasons.map((r) => r.reason), ['transport close']);
    } finally {
      api.close();
      s.io.opts.reconnection = false;
      s.close();
      await herald.stop();
    }
  });

  test('a second SIGTERM exits at once', async () => {
    const herald = await startHerald(drainConfig({ deadline_s: 30 }));
    const api = await realtimeClient(herald.grpc);
    const s = client(herald.url, ['websocket']);
    try {
      await connected(s);
      s.on('ask', () => { /* never acks: the drain would wait for the deadline */ });
      api.call('EmitWithAck', {
        ns: '/anon', target: { socket_id: s.id }, event: 'ask', args_json: '[]', timeout_ms: 60000,
      }).catch(() => {});
      await sleep(100);
      const exited = once(herald.proc, 'exit');
      herald.proc.kill('SIGTERM');
      await sleep(300);
      assert.equal(herald.proc.exitCode, null, 'still draining');
      const t0 = Date.now();
      herald.proc.kill('SIGTERM');
      const [code] = await exited;
      assert.ok(Date.now() - t0 < 1000, `second signal took ${Date.now() - t0} ms`);
      assert.equal(code, 128 + 15);
    } finally {
      api.close();
      s.io.opts.reconnection = false;
      s.close();
      await herald.stop();
    }
  });
});
