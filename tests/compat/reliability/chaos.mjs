// Chaos: nats-server, 2 brokers, 2 edges and haproxy (round robin) on free loopback ports, socket.io
// clients (websocket and polling, socket.io-client's own reconnection) under traffic; each round
// kill -9s one of {broker, edge, nats-server}, restarts it on the same ports after a random delay,
// waits (bounded) for recovery and checks the invariants:
//   1. no process other than the killed one died;
//   2. every client is connected again, and presence equals reality: on every broker the members
//      of room "room:all" (ListRoomMembers) are exactly the connected clients' socket ids and
//      Stats counts exactly that many sockets;
//   3. a Broadcast from each broker (to room:all, and to the whole namespace) reaches every
//      connected client.
// While the victim is down it also measures when the survivors alone satisfy 2 and 3 (reported,
// not required: a restart may come before the dead edge's presence expires).
//
//   node tests/compat/reliability/chaos.mjs [--rounds 20] [--seed S] [--clients 40] [--polling 8]
//        [--max-delay-ms 3000] [--recovery-s 30]
//
// Run through scripts/chaos. Stops at the first violated invariant (exit 1, with the processes'
// recent log lines); exit 0 when every round held.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startNats, startBroker, startEdge, startHaproxy, freePort, realtimeClient, readyz,
} from '../lib/cluster.mjs';
import {
  parseArgs, errorRecords, client, ack, rng, sleep, percentile,
} from './common.mjs';

const opts = parseArgs(process.argv.slice(2), {
  rounds: 20, seed: Math.floor(Math.random() * 1e6), clients: 40, polling: 8, maxDelayMs: 3000, recoveryS: 30,
  verbose: false, sidRouting: true, kinds: 'broker,edge,nats',
});
const kinds = opts.kinds.split(',').filter((k) => ['broker', 'edge', 'nats'].includes(k));
if (!kinds.length) throw new Error('--kinds: a comma-separated subset of broker,edge,nats');
// Round decisions and traffic draw from separate generators, so a seed repeats the same rounds.
const rand = rng(opts.seed);
const trafficRand = rng(opts.seed + 1);
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
let interrupted = false;
process.on('SIGINT', () => { interrupted = true; });
process.on('SIGTERM', () => { interrupted = true; });

// ---- cluster -----------------------------------------------------------------------------------
const cluster = { dir: mkdtempSync(join(tmpdir(), 'herald-chaos-')), brokers: [], edges: [], extra: [] };
async function stopAll() {
  const all = [...cluster.extra, ...cluster.edges, ...cluster.brokers];
  await Promise.all(all.map((p) => p.stop().catch(() => {})));
  for (const b of cluster.brokers) b.api?.close();
  if (cluster.nats) await cluster.nats.stop().catch(() => {});
  rmSync(cluster.dir, { recursive: true, force: true });
}

let proxy;
try {
  cluster.nats = await startNats();
  for (const i of [1, 2]) cluster.brokers.push(await startBroker(cluster, `broker-${i}`));
  for (const i of [1, 2]) {
    // A fixed port, so a restarted edge is found again by haproxy.
    const port = await freePort();
    cluster.edges.push(await startEdge(cluster, `edge-${i}`, { waitBrokers: 2, extra: { edge: { listen: `127.0.0.1:${port}` } } }));
  }
  proxy = await startHaproxy(cluster, cluster.edges, { sidRouting: opts.sidRouting });
  if (!proxy) throw new Error('haproxy is not installed (scripts/setup installs it)');
  cluster.extra.push(proxy);
} catch (e) {
  await stopAll();
  throw e;
}
cluster.nats.id = 'nats';
const processes = () => [cluster.nats, ...cluster.brokers, ...cluster.edges, proxy];
log(`seed ${opts.seed}; cluster up: ${processes().map((p) => `${p.id ?? p.name} pid ${p.pid}`).join(', ')}; clients through haproxy ${proxy.url}`);

// ---- clients -----------------------------------------------------------------------------------
const clients = [];
for (let i = 0; i < opts.clients; ++i) {
  const transport = i < opts.clients - opts.polling ? 'websocket' : 'polling';
  // socket.io-client's default reconnection: 1 s base, 5 s max, randomization 0.5.
  const c = { user: `u${i}`, transport, joinedId: null, probes: new Set() };
  c.s = client(proxy.url, c.user, { transport, reconnection: true });
  c.s.on('connect', () => { joinAll(c); });
  c.s.on('probe', (m) => c.probes.add(m?.id));
  if (opts.verbose) {
    c.s.on('disconnect', (reason) => log(`  ${c.user} (${transport}) disconnect: ${reason}`));
    c.s.on('connect_error', (e) => log(`  ${c.user} (${transport}) connect_error: ${e.message}`));
    c.s.io.on('reconnect', (n) => log(`  ${c.user} (${transport}) reconnected after ${n} attempts`));
  }
  clients.push(c);
}
// Joins room:all for the socket's current id (again after a reconnect: a new socket id).
async function joinAll(c) {
  const id = c.s.id;
  if (!id || c.joinedId === id || c.joining === id) return;
  c.joining = id;
  try {
    const r = await ack(c.s, 'join', { room: 'room:all' }, 3000);
    if (r?.ok === true && c.s.id === id) c.joinedId = id;
  } catch { /* retried by the recovery loop */ }
  if (c.joining === id) c.joining = null;
}

const traffic = { relaysOk: 0, relaysFailed: 0, pushesOk: 0, pushesFailed: 0 };
const relayTimer = setInterval(() => {
  const c = trafficRand.pick(clients);
  if (!c.s.connected) return;
  ack(c.s, 'message', { room: 'room:all', text: 'chaos' }, 3000)
    .then((r) => { if (r?.ok) ++traffic.relaysOk; else ++traffic.relaysFailed; })
    .catch(() => { ++traffic.relaysFailed; });
}, 200);
const pushTimer = setInterval(() => {
  const b = trafficRand.pick(cluster.brokers);
  if (!b.running) return;
  b.api.pushToUser({ user_id: trafficRand.pick(clients).user, ns: '/', event: 'push', args_json: '[1]' })
    .then(() => { ++traffic.pushesOk; }, () => { ++traffic.pushesFailed; });
}, 500);

// ---- invariants --------------------------------------------------------------------------------
// Why presence does not (yet) equal reality, or null when it does.
// `live`: only the processes that are running (the check during an outage), and no readiness
// requirement (a broker's /readyz is degraded while NATS is down).
async function presenceProblem({ live = false } = {}) {
  const brokers = cluster.brokers.filter((b) => !live || b.running);
  for (const p of live ? [] : [...cluster.brokers, ...cluster.edges]) {
    const r = await readyz(p.admin);
    if (r.status !== 'ready') return `${p.id} /readyz ${r.status}: ${JSON.stringify(r.checks)}`;
  }
  const notConnected = clients.filter((c) => !c.s.connected).length;
  if (notConnected) return `${notConnected} clients not connected`;
  for (const c of clients) if (c.joinedId !== c.s.id) joinAll(c);
  const notJoined = clients.filter((c) => c.joinedId !== c.s.id).length;
  if (notJoined) return `${notJoined} clients not (re)joined to room:all`;
  const want = new Set(clients.map((c) => c.s.id));
  for (const b of brokers) {
    const res = await b.api.listRoomMembers({ ns: '/', room: 'room:all' });
    const got = new Set(res.sockets.map((s) => s.socket_id));
    const extra = [...got].filter((x) => !want.has(x));
    const missing = [...want].filter((x) => !got.has(x));
    if (extra.length || missing.length) {
      const stale = res.sockets.filter((s) => !want.has(s.socket_id)).slice(0, 3).map((s) => `${s.socket_id}@${s.edge_id}(${s.user_id})`);
      return `${b.id}: room:all has ${extra.length} stale [${stale.join(' ')}] and misses ${missing.length} sockets`;
    }
    const stats = await b.api.stats();
    if (Number(stats.sockets) !== want.size) return `${b.id}: Stats.sockets ${stats.sockets}, connected ${want.size}`;
  }
  return null;
}

let probeN = 0;
// Broadcasts from each broker (room:all, then the namespace); null when every client got both.
async function broadcastProblem({ live = false, waitMs = 5000 } = {}) {
  const ids = [];
  for (const b of cluster.brokers.filter((x) => !live || x.running)) {
    for (const rooms of [['room:all'], []]) {
      const id = `probe-${probeN++}`;
      ids.push(id);
      await b.api.broadcast({ ns: '/', rooms, event: 'probe', args_json: JSON.stringify([{ id }]) });
    }
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const missing = clients.filter((c) => ids.some((id) => !c.probes.has(id)));
    if (!missing.length) return null;
    if (Date.now() > deadline) {
      return `${missing.length} clients missed a broadcast (e.g. ${missing[0].user} ${missing[0].s.id} on ${missing[0].transport}: ` +
             `missing ${ids.filter((id) => !missing[0].probes.has(id)).join(',')})`;
    }
    await sleep(50);
  }
}

async function explainDown(name, problem, tKill) {
  const states = [];
  for (const p of [...cluster.brokers, ...cluster.edges].filter((x) => x.running)) {
    const r = await readyz(p.admin).catch(() => null);
    states.push(`${p.id} ${r?.checks?.bus?.status}`);
  }
  log(`  +${Date.now() - tKill} ms while ${name} was down: ${problem} (bus: ${states.join(', ')})`);
}

const deadOthers = (victim) => processes().filter((p) => p !== victim && !p.running).map((p) => p.id ?? p.name);

async function restart(victim) {
  if (victim === cluster.nats) {
    await victim.restart();
    return;
  }
  const ready = await victim.start();
  if (victim.api) {  // a fresh channel: grpc-js would otherwise wait out its own reconnect backoff
    victim.api.close();
    victim.api = realtimeClient(ready.grpc_address);
  }
  if (ready.admin_url) victim.admin = ready.admin_url;
}

// ---- rounds ------------------------------------------------------------------------------------
const initial = Date.now();
while (await presenceProblem().catch((e) => e.message)) {
  if (Date.now() - initial > 30000) throw new Error(`initial state not reached: ${await presenceProblem().catch((e) => e.message)}`);
  await sleep(100);
}
log(`${clients.length} clients connected (${opts.clients - opts.polling} websocket, ${opts.polling} polling), presence ok`);

const results = [];
let violation = null;
for (let round = 1; round <= opts.rounds && !interrupted; ++round) {
  await sleep(rand.int(500, 2000));  // traffic before the kill
  const kind = rand.pick(kinds);
  const victim = kind === 'nats' ? cluster.nats : rand.pick(kind === 'broker' ? cluster.brokers : cluster.edges);
  const delayMs = rand.int(200, opts.maxDelayMs);
  const name = victim.id;
  const tKill = Date.now();
  await victim.kill9();
  // While the victim is down: are the survivors serving every client (presence and Broadcast)?
  let servedMs = NaN;
  let downProblem = null;
  const downUntil = tKill + delayMs;
  while (Date.now() < downUntil - 100) {
    downProblem = await presenceProblem({ live: true }).catch((e) => `API: ${e.message}`);
    if (!downProblem) {
      // Short waits, so a Broadcast lost in the instant before a broker noticed NATS died (the
      // documented window) is followed by another attempt.
      downProblem = await broadcastProblem({ live: true, waitMs: Math.min(1000, downUntil - Date.now()) })
        .catch((e) => `Broadcast: ${e.message}`);
    }
    if (!downProblem) {
      servedMs = Date.now() - tKill;
      break;
    }
    if (opts.verbose) await explainDown(name, downProblem, tKill);
    await sleep(100);
  }
  await sleep(Math.max(0, downUntil - Date.now()));
  let problem = deadOthers(victim).length ? `died: ${deadOthers(victim).join(', ')}` : null;
  if (!problem) {
    try {
      await restart(victim);
    } catch (e) { problem = `restart of ${name} failed: ${e.message}`; }
  }
  const tUp = Date.now();
  let presenceMs = NaN;
  if (!problem) {
    let last = 'not checked';
    for (;;) {
      const now = await presenceProblem().catch((e) => `API: ${e.message}`);
      if (opts.verbose && now !== last) log(`  +${Date.now() - tKill} ms: ${now ?? 'presence ok'}`);
      last = now;
      if (!last) { presenceMs = Date.now() - tKill; break; }
      if (Date.now() - tUp > opts.recoveryS * 1000) { problem = `not recovered within ${opts.recoveryS} s: ${last}`; break; }
      await sleep(100);
    }
  }
  if (!problem) problem = await broadcastProblem().catch((e) => `Broadcast: ${e.message}`);
  const dead = deadOthers(null);
  if (!problem && dead.length) problem = `died: ${dead.join(', ')}`;
  const r = { round, kind, name, delayMs, servedMs, recoveredMs: presenceMs, afterRestartMs: presenceMs - (tUp - tKill), problem };
  results.push(r);
  log(`round ${round}: kill -9 ${name}, restarted after ${delayMs} ms; ` +
      (Number.isNaN(servedMs) ? 'survivors not yet consistent before the restart; ' : `survivors served every client ${servedMs} ms after the kill; `) +
      (problem ? `VIOLATION: ${problem}` : `recovered ${presenceMs} ms after the kill (${r.afterRestartMs} ms after the restart); broadcasts reached all ${clients.length} clients`));
  if (problem) { violation = r; break; }
}

// ---- summary -----------------------------------------------------------------------------------
clearInterval(relayTimer);
clearInterval(pushTimer);
const survived = results.filter((r) => !r.problem).length;
console.log(`\nchaos summary (seed ${opts.seed}): ${survived}/${results.length} rounds held every invariant` +
            `${results.length < opts.rounds ? ` (${opts.rounds} requested)` : ''}`);
console.log('kill        rounds  recovered after kill (ms) min / median / max    after restart (ms) min / median / max    served while down: rounds, ms min / median / max');
for (const kind of ['broker', 'edge', 'nats']) {
  const rs = results.filter((r) => r.kind === kind && !r.problem);
  if (!rs.length) { console.log(`${kind.padEnd(10)}  ${String(0).padStart(6)}`); continue; }
  const a = rs.map((r) => r.recoveredMs);
  const b = rs.map((r) => r.afterRestartMs);
  const c = rs.map((r) => r.servedMs).filter((x) => !Number.isNaN(x));
  console.log(`${kind.padEnd(10)}  ${String(rs.length).padStart(6)}  ${`${Math.min(...a)} / ${percentile(a, 50)} / ${Math.max(...a)}`.padStart(30)}` +
              `    ${`${Math.min(...b)} / ${percentile(b, 50)} / ${Math.max(...b)}`.padStart(30)}` +
              `    ${c.length}/${rs.length}${c.length ? `, ${Math.min(...c)} / ${percentile(c, 50)} / ${Math.max(...c)}` : ''}`);
}
console.log(`traffic: relays ok ${traffic.relaysOk} failed ${traffic.relaysFailed} (failures expected while a process is down); pushes ok ${traffic.pushesOk} failed ${traffic.pushesFailed}`);
const errs = processes().filter((p) => p.records).map((p) => [p.id ?? p.name, errorRecords(p)]);
console.log(`error-level log lines: ${errs.map(([n, e]) => `${n} ${e.length}`).join(', ')}`);
for (const [n, e] of errs) for (const rec of e.slice(0, 3)) console.log(`  ${n}: ${JSON.stringify(rec)}`);
if (violation || opts.verbose) {
  const file = join(tmpdir(), `herald-chaos-${opts.seed}-logs.txt`);
  writeFileSync(file, processes().map((p) => `--- ${p.id ?? p.name}\n${p.logs.join('\n')}`).join('\n'));
  if (violation) console.log(`violation in round ${violation.round} (${violation.name}): ${violation.problem}`);
  console.log(`logs of every process: ${file}`);
}
for (const c of clients) { c.s.io.opts.reconnection = false; c.s.close(); }
await stopAll();
console.log(violation ? 'chaos FAILED' : interrupted ? 'chaos INTERRUPTED' : 'chaos PASSED');
process.exit(violation || interrupted ? 1 : 0);
