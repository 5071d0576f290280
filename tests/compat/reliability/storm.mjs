// Storms (loopback, bounded): a connection flood past edge.max_connections, N clients reconnecting
// at once after an edge dies, and a slow consumer in a busy room. Each storm starts its own Herald
// processes on free loopback ports and stops them by PID; each returns { ok, problems, figures }.
//
//   node tests/compat/reliability/storm.mjs flood|reconnect|slow-consumer|all [options]
//     flood:          --limit 1000 --extra 3000
//     reconnect:      --clients 10000
//     slow-consumer:  --members 20 --queue-bytes 4194304 --msg-bytes 8192 --rate 400 --seconds 8
//
// Run through scripts/storm; tests/compat/storm.test.mjs runs small versions of each.
import { pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startHerald, defaultConfig, makeToken } from '../lib/herald.mjs';
import { startNats, startBroker, startEdge, realtimeClient } from '../lib/cluster.mjs';
import { httpRequest, eioUrl } from '../lib/raw.mjs';
import {
  parseArgs, sampleProcess, cpuMs, errorRecords, client, waitConnect, sleep, percentile, mib, within,
} from './common.mjs';

const log = (...a) => { if (!process.env.STORM_QUIET) console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a); };

// Sum of every sample of a Prometheus metric (all label sets) on an admin /metrics page.
async function metric(adminUrl, name) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function healthy(adminUrl) {
  const r = await fetch(`${adminUrl}/healthz`).catch(() => null);
  return r?.status === 200;
}

// Connects `count` socket.io clients (users `${prefix}${i}`) in batches; resolves the sockets.
async function connectMany(url, count, prefix, { batch = 200, reconnection = false, transport = 'websocket', onEach } = {}) {
  const sockets = [];
  for (let i = 0; i < count; i += batch) {
    const part = [];
    for (let j = i; j < Math.min(count, i + batch); ++j) {
      const s = client(url, `${prefix}${j}`, { transport, reconnection });
      onEach?.(s, j);
      sockets.push(s);
      part.push(waitConnect(s, 30000));
    }
    await Promise.all(part);
  }
  return sockets;
}

function closeAll(sockets) {
  for (const s of sockets) { s.io.opts.reconnection = false; s.close(); }
}

// ---- flood -------------------------------------------------------------------------------------
// Fills edge.max_connections with clients, then fires `extra` handshakes (half polling, half
// websocket upgrades) at once. Expected: each excess handshake gets HTTP 503 {"code":503,
// "message":"Too many connections"} with Retry-After; the existing clients keep receiving
// broadcasts; the process stays healthy; after clients leave, new ones are accepted again.
export async function flood({ limit = 1000, extra = 3000 } = {}) {
  const problems = [];
  const herald = await startHerald(defaultConfig({ edge: { max_connections: limit } }));
  const api = realtimeClient(herald.grpc);
  let existing = [];
  try {
    const rss0 = sampleProcess(herald.pid);
    existing = await connectMany(herald.url, limit, 'e');
    const ticks = existing.map(() => new Set());
    const disconnects = [];
    existing.forEach((s, i) => {
      s.on('tick', (n) => ticks[i].add(n));
      s.on('disconnect', (reason) => disconnects.push(reason));
    });
    const rssFull = sampleProcess(herald.pid);
    log(`flood: ${limit} clients connected (edge.max_connections ${limit}); RSS ${mib(rssFull.rssKb)} MiB`);

    // Broadcasts to every existing client while the flood runs.
    let tick = 0;
    let ticking = true;
    const ticker = (async () => {
      while (ticking) {
        await api.broadcast({ ns: '/', rooms: [], event: 'tick', args_json: JSON.stringify([tick]) })
          .then(() => { ++tick; }, (e) => problems.push(`broadcast during the flood: ${e.message}`));
        await sleep(100);
      }
    })();

    const statuses = new Map();
    const count = (k) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    let badBodies = 0;
    const t0 = Date.now();
    const attempts = [];
    for (let i = 0; i < extra; ++i) {
      if (i % 2 === 0) {
        attempts.push(httpRequest(eioUrl(herald.url, { EIO: '4', transport: 'polling' }), { timeoutMs: 20000 }).then((r) => {
          count(`polling ${r.status}`);
          if (r.status === 503 && (!/Too many connections/.test(r.body) || r.headers['retry-after'] !== '5')) ++badBodies;
        }, (e) => count(`polling error ${e.code ?? e.message}`)));
      } else {
        attempts.push(new Promise((resolve) => {
          const ws = new WebSocket(eioUrl(herald.url.replace(/^http/, 'ws'), { EIO: '4', transport: 'websocket' }));
          ws.on('unexpected-response', (req, res) => { count(`websocket ${res.statusCode}`); res.resume(); req.destroy(); resolve(); });
          ws.on('open', () => { count('websocket opened'); ws.terminate(); resolve(); });
          ws.on('error', (e) => { count(`websocket error ${e.code ?? e.message}`); resolve(); });
        }));
      }
    }
    await Promise.all(attempts);
    const floodMs = Date.now() - t0;
    await sleep(500);
    ticking = false;
    await ticker;
    await sleep(500);
    const missedTicks = ticks.reduce((n, got) => n + (tick - got.size), 0);
    // Refusals: HTTP 503, or past the TCP cap (2 × max_connections + 64 open connections, which
    // includes those waiting for their 503) the connection is accepted and closed at once.
    const sumOf = (re) => [...statuses].filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
    const refused503 = sumOf(/ 503$/);
    const refusedReset = sumOf(/ error (ECONNRESET|EPIPE|socket hang up)/);
    const accepted = sumOf(/polling 200|websocket opened/);
    const disconnectsDuring = disconnects.length;
    const rssAfter = sampleProcess(herald.pid);
    const refusedMetric = await metric(herald.admin, 'herald_edge_connections_refused_total');
    const isHealthy = await healthy(herald.admin);
    log(`flood: ${extra} handshakes over the limit in ${floodMs} ms: ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}; ` +
        `existing clients: ${disconnects.length} disconnected, ${missedTicks} of ${tick * limit} broadcasts missed; healthy ${isHealthy}; RSS ${mib(rssAfter.rssKb)} MiB`);
    if (accepted) problems.push(`${accepted} handshakes over the limit were accepted`);
    if (refused503 + refusedReset !== extra) problems.push(`${extra - refused503 - refusedReset} of ${extra} excess handshakes got neither 503 nor a reset`);
    if (!refused503) problems.push('no excess handshake was answered 503');
    if (badBodies) problems.push(`${badBodies} 503 responses without the documented body or Retry-After: 5`);
    if (refusedMetric < extra) problems.push(`herald_edge_connections_refused_total ${refusedMetric} < ${extra}`);
    if (disconnects.length) problems.push(`${disconnects.length} existing clients disconnected (${disconnects[0]})`);
    if (missedTicks) problems.push(`existing clients missed ${missedTicks} broadcasts`);
    if (!tick) problems.push('no broadcast went out during the flood');
    if (!isHealthy) problems.push('/healthz not 200 after the flood');

    // Below the limit again: new clients are accepted.
    const leave = Math.max(1, Math.floor(limit / 10));
    closeAll(existing.splice(0, leave));
    const tLeave = Date.now();
    const below = await within(10000, async () => (await metric(herald.admin, 'herald_edge_sessions')) <= limit - leave, 50);
    let newcomers = [];
    let acceptedAgainMs = NaN;
    if (!below) problems.push('sessions did not drop after clients left');
    else {
      newcomers = await connectMany(herald.url, leave, 'n').catch((e) => { problems.push(`newcomers refused: ${e.message}`); return []; });
      acceptedAgainMs = Date.now() - tLeave;
      const over = await httpRequest(eioUrl(herald.url, { EIO: '4', transport: 'polling' }));
      if (over.status !== 503) problems.push(`at the limit again, a handshake got ${over.status}, not 503`);
    }
    closeAll(newcomers);
    log(`flood: ${leave} clients left; ${newcomers.length} new clients connected ${acceptedAgainMs} ms later; at the limit again → 503`);
    const errors = errorRecords({ records: herald.logs.map((l) => { try { return JSON.parse(l); } catch { return {}; } }) });
    if (errors.length) problems.push(`${errors.length} error-level log lines: ${JSON.stringify(errors[0])}`);
    return {
      ok: problems.length === 0, problems,
      figures: { limit, extra, floodMs, refused503, refusedReset, statuses: Object.fromEntries(statuses), refusedMetric, missedTicks,
                 broadcasts: tick, disconnects: disconnectsDuring, rssKb: { empty: rss0.rssKb, full: rssFull.rssKb, after: rssAfter.rssKb },
                 acceptedAgainMs, newcomers: newcomers.length },
    };
  } finally {
    closeAll(existing);
    api.close();
    await herald.stop();
  }
}

// ---- reconnect ---------------------------------------------------------------------------------
// nats-server, one broker and two edges; `clients` socket.io clients on edge-1, each given both edge
// URLs (socket.io-client's own reconnection, default backoff: 1 s base, 5 s max, randomization 0.5;
// every attempt goes to the other URL). kill -9 edge-1, then measure until every client is
// connected again (to edge-2), until the broker's presence counts exactly them, and check a
// Broadcast reaches all of them.
export async function reconnect({ clients: n = 10000, timeoutS = 120 } = {}) {
  const problems = [];
  const cluster = { dir: mkdtempSync(join(tmpdir(), 'herald-storm-')), brokers: [], edges: [] };
  let sockets = [];
  try {
    cluster.nats = await startNats();
    cluster.brokers.push(await startBroker(cluster, 'broker-1'));
    for (const i of [1, 2]) cluster.edges.push(await startEdge(cluster, `edge-${i}`, { waitBrokers: 1 }));
    const [e1, e2] = cluster.edges;
    const api = cluster.brokers[0].api;
    const urls = [e1.url, e2.url];

    const state = new Array(n);
    const t0 = Date.now();
    sockets = await connectMany(e1.url, n, 'r', {
      reconnection: true,
      batch: 250,
      onEach: (s, i) => {
        state[i] = { back: null, attempts: 0, probes: 0 };
        // A client configured with both edges: each reconnection attempt tries the next URL.
        s.io.on('reconnect_attempt', (attempt) => {
          state[i].attempts = attempt;
          s.io.uri = urls[(urls.indexOf(s.io.uri) + 1) % urls.length];
        });
        s.on('probe', () => { ++state[i].probes; });
      },
    });
    const connectMs = Date.now() - t0;
    const ready = await within(30000, async () => Number((await api.stats()).sockets) === n, 200);
    const rss = { edge1: sampleProcess(e1.pid), edge2: sampleProcess(e2.pid), broker: sampleProcess(cluster.brokers[0].pid) };
    log(`reconnect: ${n} clients connected to edge-1 in ${connectMs} ms (presence ${ready ? 'ok' : 'NOT ok'}); edge-1 RSS ${mib(rss.edge1.rssKb)} MiB, ${rss.edge1.fds} fds; node RSS ${mib(process.memoryUsage().rss / 1024)} MiB`);
    if (!ready) problems.push('presence did not count every client before the kill');

    let kill;
    sockets.forEach((s, i) => s.on('connect', () => { if (kill && state[i].back === null) state[i].back = Date.now() - kill; }));
    const cpu0 = { edge2: cpuMs(e2.pid), broker: cpuMs(cluster.brokers[0].pid), node: process.cpuUsage() };
    kill = Date.now();
    await e1.kill9();
    const allBack = await within(timeoutS * 1000, () => state.every((x) => x.back !== null), 50);
    // CPU used while the clients came back: shows whether the generator or Herald was the limit.
    const nodeCpu = process.cpuUsage(cpu0.node);
    const cpu = { edge2Ms: cpuMs(e2.pid) - cpu0.edge2, brokerMs: cpuMs(cluster.brokers[0].pid) - cpu0.broker,
                  clientsMs: Math.round((nodeCpu.user + nodeCpu.system) / 1000) };
    const backMs = state.filter((x) => x.back !== null).map((x) => x.back);
    const allBackMs = allBack ? Math.max(...backMs) : NaN;
    const presence = await within(30000, async () => Number((await api.stats()).sockets) === n, 100);
    const presenceMs = presence ? Date.now() - kill : NaN;
    const onEdge2 = sockets.filter((s) => s.connected && s.io.uri === e2.url).length;
    await api.broadcast({ ns: '/', rooms: [], event: 'probe', args_json: '[1]' });
    const probed = await within(20000, () => state.every((x) => x.probes >= 1), 50);
    const attempts = state.map((x) => x.attempts);
    const rss2 = sampleProcess(e2.pid);
    const figures = {
      clients: n, connectMs,
      backMs: { p50: percentile(backMs, 50), p90: percentile(backMs, 90), p99: percentile(backMs, 99), max: allBackMs },
      back: backMs.length, presenceMs, onEdge2, broadcastReachedAll: probed,
      attempts: { 1: attempts.filter((a) => a === 1).length, 2: attempts.filter((a) => a === 2).length, more: attempts.filter((a) => a > 2).length },
      edge2: { rssKb: rss2?.rssKb, fds: rss2?.fds }, cpu,
    };
    log(`reconnect: after kill -9 of edge-1, ${backMs.length}/${n} clients back in p50 ${figures.backMs.p50} ms, p90 ${figures.backMs.p90} ms, ` +
        `p99 ${figures.backMs.p99} ms, all ${allBackMs} ms (attempts: ${figures.attempts[1]} ×1, ${figures.attempts[2]} ×2, ${figures.attempts.more} more); ` +
        `presence exact ${presenceMs} ms after the kill; broadcast reached all: ${probed}; edge-2 RSS ${mib(rss2.rssKb)} MiB, ${rss2.fds} fds; ` +
        `CPU used meanwhile: edge-2 ${cpu.edge2Ms} ms, broker ${cpu.brokerMs} ms, the clients' Node process ${cpu.clientsMs} ms`);
    if (!allBack) problems.push(`${n - backMs.length} clients not back within ${timeoutS} s`);
    if (!presence) problems.push('presence did not settle at the client count');
    if (onEdge2 !== n) problems.push(`${n - onEdge2} clients not on edge-2`);
    if (!probed) problems.push('a Broadcast did not reach every reconnected client');
    for (const p of [...cluster.brokers, e2]) if (!p.running) problems.push(`${p.id} died`);
    for (const p of [...cluster.brokers, e2]) {
      const errs = errorRecords(p);
      if (errs.length) problems.push(`${p.id}: ${errs.length} error-level log lines: ${JSON.stringify(errs[0])}`);
    }
    return { ok: problems.length === 0, problems, figures };
  } finally {
    closeAll(sockets);
    await Promise.all([...cluster.edges, ...cluster.brokers].map((p) => p.stop().catch(() => {})));
    for (const b of cluster.brokers) b.api?.close();
    await cluster.nats?.stop().catch(() => {});
    rmSync(cluster.dir, { recursive: true, force: true });
  }
}

// ---- slow consumer -----------------------------------------------------------------------------
// A room with `members` socket.io clients and one raw websocket client that stops reading; Broadcasts
// of `msgBytes` at `rate` per second for `seconds`. Expected: the slow client is cut once its
// outbound queue passes edge.outbound_queue_bytes (session closed with reason "slow consumer": the
// TCP connection is aborted, herald_edge_slow_consumer_disconnects_total +1, a warn log line), every
// other member receives every message in order, and the edge's RSS stays bounded.
export async function slowConsumer({ members = 20, queueBytes = 4 << 20, msgBytes = 8192, rate = 400, seconds = 8 } = {}) {
  const problems = [];
  const herald = await startHerald(defaultConfig({ edge: { outbound_queue_bytes: queueBytes } }));
  const api = realtimeClient(herald.grpc);
  let sockets = [];
  let slow;
  try {
    const received = [];
    const disconnects = [];
    sockets = await connectMany(herald.url, members, 'm', {
      onEach: (s, i) => {
        received[i] = [];
        s.on('busy', (m) => received[i].push(m.seq));
        s.on('disconnect', (reason) => disconnects.push(reason));
      },
    });
    // The slow consumer: a raw Engine.IO websocket that connects to "/" and then stops reading.
    slow = new WebSocket(eioUrl(herald.url.replace(/^http/, 'ws'), { EIO: '4', transport: 'websocket' }));
    const slowClosed = new Promise((resolve) => slow.on('close', (code) => resolve({ code, at: Date.now() })));
    slow.on('error', () => {});
    const frames = [];
    slow.on('message', (d) => frames.push(d.toString()));
    await new Promise((resolve, reject) => { slow.once('open', resolve); slow.once('error', reject); });
    slow.send(`40${JSON.stringify({ token: makeToken({ sub: 'slow' }) })}`);
    if (!await within(5000, () => frames.some((f) => f.startsWith('40')), 20)) throw new Error(`slow client not connected: ${frames}`);
    const joined = await api.joinRooms({ ns: '/', target: { all: true }, rooms: ['room:busy'] });
    if (joined.sockets !== members + 1) problems.push(`JoinRooms reached ${joined.sockets} sockets, not ${members + 1}`);
    slow._socket.pause();  // stop reading: the kernel buffers fill, then the edge's queue

    const rss0 = sampleProcess(herald.pid);
    let rssMax = rss0.rssKb;
    let cutAt = null;
    let sentAtCut = 0;
    const t0 = Date.now();
    const total = Math.round(rate * seconds);
    const pad = 'x'.repeat(Math.max(0, msgBytes - 40));
    let sent = 0;
    const watcher = setInterval(async () => {
      const s = sampleProcess(herald.pid);
      if (s) rssMax = Math.max(rssMax, s.rssKb);
      if (cutAt === null && await metric(herald.admin, 'herald_edge_slow_consumer_disconnects_total').catch(() => 0) >= 1) {
        cutAt = Date.now() - t0;
        sentAtCut = sent;
      }
    }, 100);
    for (let i = 0; i < total; ++i) {
      await api.broadcast({ ns: '/', rooms: ['room:busy'], event: 'busy', args_json: JSON.stringify([{ seq: i, pad }]) });
      sent = i + 1;
      const ahead = t0 + (i + 1) * (1000 / rate) - Date.now();
      if (ahead > 0) await sleep(ahead);
    }
    const sendMs = Date.now() - t0;
    const allIn = await within(30000, () => received.every((r) => r.length >= total), 50);
    clearInterval(watcher);
    const cutCount = await metric(herald.admin, 'herald_edge_slow_consumer_disconnects_total');
    if (cutAt === null && cutCount >= 1) { cutAt = sendMs; sentAtCut = total; }
    slow._socket.resume();  // read what the kernel still holds, then the abort
    const closed = await Promise.race([slowClosed, sleep(5000).then(() => null)]);
    const inOrder = received.every((r) => r.length === total && r.every((seq, k) => seq === k));
    const logLine = herald.logs.some((l) => l.includes('outbound queue full, closing session'));
    const rssEnd = sampleProcess(herald.pid);
    const isHealthy = await healthy(herald.admin);
    const figures = {
      members, queueBytes, msgBytes, rate, messages: total, sendMs,
      cutAfterMs: cutAt, cutAfterBytes: sentAtCut * msgBytes, slowCloseCode: closed?.code ?? null,
      membersGotAll: allIn && inOrder, memberDisconnects: disconnects.length,
      rssKb: { before: rss0.rssKb, max: rssMax, end: rssEnd.rssKb },
    };
    log(`slow-consumer: ${total} broadcasts of ${msgBytes} B to ${members} members + 1 non-reading client in ${sendMs} ms; ` +
        `slow client cut after ${cutAt} ms (~${mib(sentAtCut * msgBytes / 1024)} MiB sent to the room; edge.outbound_queue_bytes ${queueBytes}); ` +
        `its socket closed with ${closed?.code}; members got every message in order: ${figures.membersGotAll}; ` +
        `RSS ${mib(rss0.rssKb)} → max ${mib(rssMax)} → ${mib(rssEnd.rssKb)} MiB`);
    if (cutCount !== 1) problems.push(`herald_edge_slow_consumer_disconnects_total ${cutCount}, not 1`);
    if (!logLine) problems.push('no "outbound queue full, closing session" log line');
    if (!closed) problems.push('the slow client\'s connection was not closed');
    if (!figures.membersGotAll) problems.push(`members missed messages: ${received.map((r) => r.length).join(',')} of ${total}`);
    if (disconnects.length) problems.push(`${disconnects.length} members disconnected (${disconnects[0]})`);
    if (!isHealthy) problems.push('/healthz not 200');
    return { ok: problems.length === 0, problems, figures };
  } finally {
    slow?.terminate();
    closeAll(sockets);
    api.close();
    await herald.stop();
  }
}

// ---- command line ------------------------------------------------------------------------------
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [which = 'all', ...rest] = process.argv.slice(2);
  const o = parseArgs(rest, {
    limit: 1000, extra: 3000, clients: 10000, members: 20, queueBytes: 4 << 20, msgBytes: 8192, rate: 400, seconds: 8,
  });
  const runs = {
    flood: () => flood({ limit: o.limit, extra: o.extra }),
    reconnect: () => reconnect({ clients: o.clients }),
    'slow-consumer': () => slowConsumer({ members: o.members, queueBytes: o.queueBytes, msgBytes: o.msgBytes, rate: o.rate, seconds: o.seconds }),
  };
  const chosen = which === 'all' ? Object.keys(runs) : [which];
  let failed = 0;
  for (const name of chosen) {
    if (!runs[name]) { console.error(`unknown storm "${name}" (flood, reconnect, slow-consumer, all)`); process.exit(2); }
    const r = await runs[name]();
    console.log(`${name}: ${r.ok ? 'PASSED' : 'FAILED'} ${JSON.stringify(r.figures)}`);
    for (const p of r.problems) console.log(`  problem: ${p}`);
    if (!r.ok) ++failed;
  }
  process.exit(failed ? 1 : 0);
}
