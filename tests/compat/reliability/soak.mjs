// Soak: a cluster (nats-server, 2 brokers, 2 edges on free loopback ports) under mixed traffic
// with churn for --minutes (default 60). Samples RSS and fd counts of every process every
// --sample-s seconds into a CSV, counts error-level log lines, and checks that every
// non-volatile delivery to a client that stayed connected arrived exactly once.
//
//   node tests/compat/reliability/soak.mjs [--minutes 60] [--stable 240] [--polling 60]
//        [--churn 4] [--relays 4] [--csv FILE] [--seed 1]
//
// Run through scripts/soak. Exit status: 0 when nothing was lost, no stable client was
// disconnected, no error was logged and no process died; 1 otherwise.
import { writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../lib/cluster.mjs';
import {
  parseArgs, sampleProcess, errorRecords, warnSummary, client, waitConnect, ack, rng, mib, sleep,
} from './common.mjs';

const opts = parseArgs(process.argv.slice(2), {
  minutes: 60, stable: 240, polling: 60, churn: 4, relays: 4, rooms: 6, sampleS: 5, seed: 1,
  csv: join(tmpdir(), `herald-soak-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`),
});
const rand = rng(opts.seed);
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

let stopping = false;
process.on('SIGINT', () => { stopping = true; });
process.on('SIGTERM', () => { stopping = true; });

const cluster = await startCluster({ brokers: 2, edges: 2 });
const procs = [cluster.nats, ...cluster.brokers, ...cluster.edges];
const names = ['nats', ...cluster.brokers.map((b) => b.id), ...cluster.edges.map((e) => e.id)];
log(`cluster up: ${names.map((n, i) => `${n} pid ${procs[i].pid}`).join(', ')}`);

// ---- sampling ----------------------------------------------------------------------------------
const samples = [];  // { t, per: [{rssKb, fds}|null] }
const t0 = Date.now();
writeFileSync(opts.csv, `elapsed_s,clients,${names.map((n) => `${n}_rss_kb,${n}_fds`).join(',')}\n`);
const stable = [];
const churning = new Set();
function sample() {
  const per = procs.map((p) => sampleProcess(p.pid));
  const t = (Date.now() - t0) / 1000;
  samples.push({ t, per });
  const connectedNow = stable.filter((c) => c.s.connected).length + churning.size;
  appendFileSync(opts.csv, `${t.toFixed(0)},${connectedNow},${per.map((x) => (x ? `${x.rssKb},${x.fds}` : ',')).join(',')}\n`);
}
sample();
const sampler = setInterval(sample, opts.sampleS * 1000);

// ---- stable clients ----------------------------------------------------------------------------
const rooms = Array.from({ length: opts.rooms }, (_, i) => `room:r${i}`);
const counters = {
  relaysOk: 0, relaysFailed: 0, broadcastsOk: 0, broadcastsFailed: 0, pushesOk: 0, pushesFailed: 0,
  emitAckOk: 0, emitAckFailed: 0, churnOk: 0, churnFailed: 0, joinLeaveOk: 0, joinLeaveFailed: 0,
  stableDisconnects: 0,
};
const failures = [];
const note = (what, e) => { if (failures.length < 20) failures.push(`${what}: ${e?.message ?? JSON.stringify(e)}`); };
let nextId = 0;

function track(c) {
  const got = (id) => {
    if (c.seen.has(id)) ++c.duplicates;
    else c.seen.add(id);
  };
  c.s.on('message', (m) => got(m?.text));
  c.s.on('bcast', (m) => got(m?.id));
  c.s.on('push', (m) => got(m?.id));
  c.s.on('echo', (x, cb) => cb?.(x));
  c.s.on('disconnect', (reason) => {
    if (c.gone) return;
    c.gone = true;
    c.reason = reason;
    if (!stopping) { ++counters.stableDisconnects; note(`stable ${c.user} disconnected`, { reason }); }
  });
}

const total = opts.stable + opts.polling;
for (let i = 0; i < total; i += 20) {
  const batch = [];
  for (let j = i; j < Math.min(total, i + 20); ++j) {
    const transport = j < opts.stable ? 'websocket' : 'polling';
    const c = { user: `s${j}`, room: rooms[j % rooms.length], transport, expected: 0, seen: new Set(), duplicates: 0, gone: false };
    c.s = client(cluster.edges[j % 2].url, c.user, { transport });
    track(c);
    stable.push(c);
    batch.push(waitConnect(c.s, 15000).then(() => ack(c.s, 'join', { room: c.room })).then((r) => {
      if (r?.ok !== true) throw new Error(`join: ${JSON.stringify(r)}`);
    }));
  }
  await Promise.all(batch);
}
const members = new Map(rooms.map((r) => [r, stable.filter((c) => c.room === r)]));
log(`${stable.length} stable clients connected (${opts.stable} websocket, ${opts.polling} polling) in ${rooms.length} rooms`);

// Counts a delivery as expected by every stable member of `room` still connected at send time,
// once the send itself succeeded.
function expectRoom(room) {
  const targets = members.get(room).filter((c) => !c.gone);
  return () => { for (const c of targets) ++c.expected; };
}

// ---- traffic -----------------------------------------------------------------------------------
async function relay() {
  const c = rand.pick(stable);
  if (c.gone) return;
  const id = `m${nextId++}`;
  const credit = expectRoom(c.room);
  try {
    const r = await ack(c.s, 'message', { room: c.room, text: id });
    if (r?.ok !== true) throw new Error(JSON.stringify(r));
    credit();
    ++counters.relaysOk;
  } catch (e) { ++counters.relaysFailed; note('relay', e); }
}

async function broadcast() {
  const room = rand.pick(rooms);
  const id = `b${nextId++}`;
  const credit = expectRoom(room);
  try {
    await rand.pick(cluster.brokers).api.broadcast({ ns: '/', rooms: [room], event: 'bcast', args_json: JSON.stringify([{ id }]) });
    credit();
    ++counters.broadcastsOk;
  } catch (e) { ++counters.broadcastsFailed; note('broadcast', e); }
}

async function push() {
  const c = rand.pick(stable);
  if (c.gone) return;
  const id = `p${nextId++}`;
  try {
    await rand.pick(cluster.brokers).api.pushToUser({ user_id: c.user, ns: '/', event: 'push', args_json: JSON.stringify([{ id }]) });
    ++c.expected;
    ++counters.pushesOk;
  } catch (e) { ++counters.pushesFailed; note('push', e); }
}

async function emitWithAck() {
  const c = rand.pick(stable);
  if (c.gone) return;
  try {
    const r = await rand.pick(cluster.brokers).api.emitWithAck({
      ns: '/', target: { user_id: c.user }, event: 'echo', args_json: '[42]', timeout_ms: 5000,
    });
    if (r.acks.length !== 1 || r.acks[0].timed_out || r.acks[0].args_json !== '[42]') throw new Error(JSON.stringify(r.acks));
    ++counters.emitAckOk;
  } catch (e) { ++counters.emitAckFailed; note('emitWithAck', e); }
}

// A client that connects, joins a room, relays once, and leaves after a few seconds.
async function churnClient(n) {
  const transport = rand.next() < 0.7 ? 'websocket' : 'polling';
  const room = rand.pick(rooms);
  const s = client(rand.pick(cluster.edges).url, `c${n}`, { transport });
  churning.add(s);
  const lifeMs = rand.int(2000, 6000);
  const leaveFirst = rand.next() < 0.5;
  try {
    await waitConnect(s, 10000);
    const j = await ack(s, 'join', { room });
    if (j?.ok !== true) throw new Error(`join ${JSON.stringify(j)}`);
    const id = `c${nextId++}`;
    const credit = expectRoom(room);
    const r = await ack(s, 'message', { room, text: id });
    if (r?.ok !== true) throw new Error(`relay ${JSON.stringify(r)}`);
    credit();
    await sleep(lifeMs);
    if (leaveFirst) {
      const l = await ack(s, 'leave', { room });
      if (l?.ok !== true) throw new Error(`leave ${JSON.stringify(l)}`);
    }
    ++counters.churnOk;
  } catch (e) { ++counters.churnFailed; note(`churn ${transport}`, e); }
  s.close();
  churning.delete(s);
}

// Stable clients join and leave an extra room (membership churn without reconnects).
async function joinLeave() {
  const c = rand.pick(stable);
  if (c.gone) return;
  const room = `room:x${rand.int(0, 50)}`;
  try {
    const j = await ack(c.s, 'join', { room });
    const l = await ack(c.s, 'leave', { room });
    if (j?.ok !== true || l?.ok !== true) throw new Error(JSON.stringify([j, l]));
    ++counters.joinLeaveOk;
  } catch (e) { ++counters.joinLeaveFailed; note('join/leave', e); }
}

const endAt = t0 + opts.minutes * 60000;
const inflight = new Set();
const fire = (p) => { inflight.add(p); p.finally(() => inflight.delete(p)); };
let churnN = 0;
let tick = 0;
let lastReport = Date.now();
log(`traffic for ${opts.minutes} min: per second ${opts.relays} relays, 1 broadcast, 2 pushes, ${opts.churn} churn clients, 2 join/leave; an EmitWithAck every 5 s; CSV ${opts.csv}`);
while (!stopping && Date.now() < endAt) {
  const tickStart = Date.now();
  for (let i = 0; i < opts.relays; ++i) fire(relay());
  fire(broadcast());
  fire(push());
  fire(push());
  fire(joinLeave());
  fire(joinLeave());
  for (let i = 0; i < opts.churn; ++i) fire(churnClient(churnN++));
  if (tick % 5 === 0) fire(emitWithAck());
  ++tick;
  if (Date.now() - lastReport >= 60000) {
    lastReport = Date.now();
    const last = samples[samples.length - 1];
    log(`minute ${Math.round((Date.now() - t0) / 60000)}: ${names.map((n, i) => `${n} ${last.per[i] ? `${mib(last.per[i].rssKb)} MiB/${last.per[i].fds} fds` : 'GONE'}`).join(', ')}; ` +
        `relays ${counters.relaysOk}, churn ${counters.churnOk}/${counters.churnFailed} failed, stable disconnects ${counters.stableDisconnects}`);
  }
  await sleep(Math.max(0, 1000 - (Date.now() - tickStart)));
}
const wasInterrupted = stopping;
log(wasInterrupted ? 'interrupted: draining' : 'traffic done: draining');

// ---- drain and check ---------------------------------------------------------------------------
await Promise.race([Promise.allSettled([...inflight]), sleep(15000)]);
await sleep(3000);
sample();
clearInterval(sampler);

// Presence equals reality: each room's members (cluster-wide, as the API reports them) are the
// stable clients in it.
const presenceMismatches = [];
for (const room of rooms) {
  try {
    const res = await cluster.brokers[0].api.listRoomMembers({ ns: '/', room });
    const got = new Set(res.sockets.map((s) => s.socket_id));
    const want = new Set(members.get(room).filter((c) => !c.gone).map((c) => c.s.id));
    const extra = [...got].filter((x) => !want.has(x));
    const missing = [...want].filter((x) => !got.has(x));
    if (extra.length || missing.length) presenceMismatches.push(`${room}: ${extra.length} extra, ${missing.length} missing`);
  } catch (e) { presenceMismatches.push(`${room}: ${e.message}`); }
}

stopping = true;
let expected = 0;
let received = 0;
let duplicates = 0;
let lostClients = 0;
for (const c of stable) {
  duplicates += c.duplicates;
  if (c.gone) { ++lostClients; continue; }
  expected += c.expected;
  received += c.seen.size;
}
const died = procs.map((p, i) => (p.running ? null : names[i])).filter(Boolean);
const errors = procs.map((p, i) => [names[i], errorRecords(p)]);

// ---- summary -----------------------------------------------------------------------------------
const warm = samples.find((s) => s.t >= 30) ?? samples[0];
const end = samples[samples.length - 1];
const minutes = ((Date.now() - t0) / 60000).toFixed(1);
console.log(`\nsoak summary: ${minutes} min, nats-server + 2 brokers + 2 edges, ${stable.length} stable clients (${opts.stable} websocket, ${opts.polling} polling), churn ${opts.churn}/s; CSV ${opts.csv}`);
console.log('process      rss first   rss @30s   rss end    rss max    fds first  fds @30s  fds end  fds max');
procs.forEach((p, i) => {
  const col = samples.map((s) => s.per[i]).filter(Boolean);
  const max = (k) => Math.max(...col.map((x) => x[k]));
  const v = (s, k) => (s.per[i] ? (k === 'rssKb' ? `${mib(s.per[i][k])} MiB` : String(s.per[i][k])) : 'gone');
  console.log(`${names[i].padEnd(12)} ${v(samples[0], 'rssKb').padStart(9)}  ${v(warm, 'rssKb').padStart(9)}  ${v(end, 'rssKb').padStart(9)}  ${(mib(max('rssKb')) + ' MiB').padStart(9)}  ${v(samples[0], 'fds').padStart(9)}  ${v(warm, 'fds').padStart(8)}  ${v(end, 'fds').padStart(7)}  ${String(max('fds')).padStart(7)}`);
});
// Growth after the warm-up (least squares over the samples past 5 minutes, or past 30 s in a
// short run), so "flat" is a number rather than an impression.
const from = end.t > 600 ? 300 : 30;
console.log(`\nRSS slope after ${from} s (KiB per minute): ${names.map((n, i) => {
  const pts = samples.filter((x) => x.t >= from && x.per[i]).map((x) => [x.t / 60, x.per[i].rssKb]);
  if (pts.length < 3) return `${n} n/a`;
  const mx = pts.reduce((a, [x]) => a + x, 0) / pts.length;
  const my = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
  const slope = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return `${n} ${slope.toFixed(1)}`;
}).join(', ')}`);
const step = Math.max(1, Math.round(opts.minutes / 12));
console.log(`\nmemory curve (RSS MiB / fds, every ${step} min):`);
console.log(`minute  ${names.map((n) => n.padEnd(14)).join('')}`);
for (let m = 0; m <= Math.ceil((end.t) / 60); m += step) {
  const s = samples.reduce((best, x) => (Math.abs(x.t - m * 60) < Math.abs(best.t - m * 60) ? x : best));
  console.log(`${String(m).padStart(6)}  ${s.per.map((x) => (x ? `${mib(x.rssKb)}/${x.fds}` : 'gone').padEnd(14)).join('')}`);
}
console.log(`\ndeliveries to stable clients: expected ${expected}, received ${received}, missing ${expected - received}, duplicates ${duplicates}`);
console.log(`client relays ok ${counters.relaysOk} failed ${counters.relaysFailed}; broadcasts ok ${counters.broadcastsOk} failed ${counters.broadcastsFailed}; ` +
            `pushes ok ${counters.pushesOk} failed ${counters.pushesFailed}; EmitWithAck ok ${counters.emitAckOk} failed ${counters.emitAckFailed}`);
console.log(`churn clients ok ${counters.churnOk} failed ${counters.churnFailed}; join/leave ok ${counters.joinLeaveOk} failed ${counters.joinLeaveFailed}; ` +
            `stable clients disconnected ${counters.stableDisconnects} (${lostClients} excluded from the delivery count)`);
console.log(`presence vs reality: ${presenceMismatches.length ? presenceMismatches.join('; ') : 'equal in every room'}`);
console.log(`error-level log lines: ${errors.map(([n, e]) => `${n} ${e.length}`).join(', ')}`);
for (const [n, e] of errors) for (const r of e.slice(0, 5)) console.log(`  ${n}: ${JSON.stringify(r)}`);
for (let i = 0; i < procs.length; ++i) {
  const w = warnSummary(procs[i]);
  if (w.length) console.log(`  warnings ${names[i]}: ${w.slice(0, 5).map(([m, c]) => `${c}× ${m}`).join('; ')}`);
}
if (failures.length) console.log(`first failures:\n  ${failures.join('\n  ')}`);
console.log(`processes died: ${died.length ? died.join(', ') : 'none'}`);

const ok = !wasInterrupted && expected === received && duplicates === 0 && counters.stableDisconnects === 0 &&
  errors.every(([, e]) => e.length === 0) && died.length === 0 && presenceMismatches.length === 0 &&
  counters.relaysFailed + counters.broadcastsFailed + counters.pushesFailed + counters.emitAckFailed + counters.churnFailed + counters.joinLeaveFailed === 0;
console.log(`\nsoak ${ok ? 'PASSED' : 'FAILED'}`);
for (const c of stable) c.s.close();
await cluster.stop();
process.exit(ok ? 0 : 1);
