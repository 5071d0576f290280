// Benchmark runner: runs each scenario against Herald and the reference Node.js Socket.IO server in
// the same run, writes tests/bench/results/<timestamp>.json and .md, and prints the comparison
// table (Herald/Node per metric). scripts/bench builds and calls it; see docs/benchmarks.md.
//
//   node tests/bench/run.mjs [scenario...] [--quick] [--servers herald,node] [--bin-dir DIR]
//                            [--out FILE.json] [--loadgen PATH (default: BIN_DIR/tests/bench/)]
//                            [--connections N (connect scenario size)] [--repeat N]
// --repeat N runs every scenario N times, Herald and Node interleaved; the table then gives each
// server's median per metric, the ratio of the medians and the range of the per-repeat ratios.
// Scenarios: connect fanout echo push cluster (default: all five); on demand: connect-edge (the
// connect scenario against one herald-edge of a cluster, RSS of the edge alone) and connect100k
// (the same with 100 000 connections).
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { join, resolve } from 'node:path';
import {
  repoRoot, pinning, startReference, startHerald, startEchoService, startRedis, runLoadgen,
  heraldBinary, writeJson, startNats, startBroker, startEdge,
} from './lib.mjs';

const argv = process.argv.slice(2);
const opt = { quick: false, servers: ['herald', 'node'], binDir: join(repoRoot, 'build/release'), out: null };
const scenarios = [];
for (let i = 0; i < argv.length; ++i) {
  const a = argv[i];
  if (a === '--quick') opt.quick = true;
  else if (a === '--servers') opt.servers = argv[++i].split(',');
  else if (a === '--bin-dir') opt.binDir = resolve(argv[++i]);
  else if (a === '--out') opt.out = resolve(argv[++i]);
  else if (a === '--loadgen') opt.loadgen = resolve(argv[++i]);
  else if (a === '--connections') opt.connections = Number(argv[++i]);
  else if (a === '--repeat') opt.repeat = Number(argv[++i]);
  else if (a.startsWith('-')) { console.error(`unknown option ${a}`); process.exit(2); }
  else scenarios.push(a);
}
if (!(opt.repeat >= 1)) opt.repeat = 1;
const ALL = ['connect', 'fanout', 'echo', 'push', 'cluster'];
const KNOWN = [...ALL, 'connect-edge', 'connect100k'];
if (scenarios.length === 0) scenarios.push(...ALL);
for (const s of scenarios) {
  if (!KNOWN.includes(s)) { console.error(`unknown scenario ${s} (known: ${KNOWN.join(' ')})`); process.exit(2); }
}

const loadgen = opt.loadgen ?? heraldBinary(opt.binDir, 'tests/bench/herald-loadgen');
if (!loadgen) { console.error(`herald-loadgen not built in ${opt.binDir}`); process.exit(1); }

// Sizes: full and --quick (the whole quick run stays under 3 minutes).
const Q = opt.quick;
const size = {
  connect: { connections: Q ? 2000 : 10000, hold: Q ? 2 : 10 },
  'connect-edge': { connections: Q ? 2000 : 10000, hold: Q ? 2 : 10 },
  connect100k: { connections: 100000, hold: 15, srcIps: 8 },
  fanout: { receivers: Q ? 200 : 1000, duration: Q ? 2 : 10, rate: 100, window: 8 },
  echo: { clients: 50, duration: Q ? 2 : 10 },
  push: { receivers: Q ? 200 : 1000, duration: Q ? 2 : 10, rate: 100, window: 8 },
  cluster: { receivers: Q ? 200 : 1000, duration: Q ? 2 : 10, rate: 100, window: 8 },
};
// --connections N: the connect scenario's size, e.g. the most this machine's open-file limit allows
// when connect100k is not available.
if (opt.connections > 0) size.connect.connections = size['connect-edge'].connections = opt.connections;

const log = (...a) => console.error('[bench]', ...a);

// --- one scenario against one server ------------------------------------------------------------

async function withServers(starters, fn) {
  const started = [];
  try {
    for (const s of starters) started.push(await s(started));
    return await fn(started);
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => {});
  }
}

// The hard RLIMIT_NOFILE this process (and so the servers and loadgen it starts) can reach.
function openFileLimit() {
  const m = /Max open files\s+\S+\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : 0;
}

const pidArgs = (pids) => pids.flatMap((p) => ['--pid', String(p)]);
const fanoutArgs = (z) => ['--receivers', String(z.receivers), '--mode', 'both', '--rate', String(z.rate),
  '--duration-s', String(z.duration), '--window', String(z.window)];

async function runOne(scenario, server) {
  const startMain = server === 'herald' ? () => startHerald(opt.binDir) : () => startReference();
  switch (scenario) {
    case 'connect':
    case 'connect-edge':
    case 'connect100k': {
      const z = size[scenario];
      const limit = openFileLimit();
      if (limit < z.connections + 1024) {
        return { unavailable: `open-file limit ${limit} < ${z.connections + 1024} (raise the hard limit: ` +
          'ulimit -Hn needs CAP_SYS_RESOURCE, or LimitNOFILE / docker --ulimit nofile=1048576)' };
      }
      const connect = (url, memPid, cpuPids) => runLoadgen(loadgen, ['--scenario', 'connect', '--url', url,
        '--connections', String(z.connections), '--hold-s', String(z.hold), '--src-ips', String(z.srcIps ?? 2),
        '--mem-pid', String(memPid), ...pidArgs(cpuPids), '--timeout-s', '300']);
      if (server === 'herald' && scenario !== 'connect') {
        // "On one edge": a cluster edge (nats-server + herald-broker + herald-edge), RSS sampled on
        // the edge process alone, CPU summed over all three. The standalone process would also
        // hold the broker's session and presence records of every connection.
        return withServers([
          () => startNats(),
          ([n]) => startBroker(opt.binDir, 'bench-broker-1', n.url),
          ([n, b]) => startEdge(opt.binDir, 'bench-edge-1', n.url, [b.edgelink]),
        ], ([n, b, e]) => connect(e.url, e.pid, [...e.pids, ...b.pids, ...n.pids]));
      }
      return withServers([startMain], ([s]) => connect(s.url, s.pid, s.pids));
    }
    case 'fanout':
      return withServers([startMain], ([s]) => runLoadgen(loadgen, ['--scenario', 'fanout', '--url', s.url,
        ...fanoutArgs(size.fanout), ...pidArgs(s.pids)]));
    case 'push':
      return withServers([startMain], ([s]) => runLoadgen(loadgen, ['--scenario', 'push', '--url', s.url,
        '--grpc', s.grpc, ...fanoutArgs(size.push), ...pidArgs(s.pids)]));
    case 'echo': {
      const starters = [startMain];
      if (server === 'herald') starters.push(([h]) => startEchoService(opt.binDir, h.grpc));
      return withServers(starters, (ss) => runLoadgen(loadgen, ['--scenario', 'echo', '--url', ss[0].url,
        '--clients', String(size.echo.clients), '--duration-s', String(size.echo.duration),
        ...pidArgs(ss.flatMap((s) => s.pids ?? [s.pid]))]));
    }
    case 'cluster': {
      if (server === 'herald') {
        // nats-server, one herald-broker, two herald-edges (herald-bench.yaml on the NATS bus);
        // receivers alternate between the edges, the sender is on the first; CPU = every process.
        for (const rel of ['broker/herald-broker', 'edge/herald-edge']) {
          if (!heraldBinary(opt.binDir, rel)) return { unavailable: `${opt.binDir}/${rel} is not built` };
        }
        return withServers([
          () => startNats(),
          ([n]) => startBroker(opt.binDir, 'bench-broker-1', n.url),
          ([n, b]) => startEdge(opt.binDir, 'bench-edge-1', n.url, [b.edgelink]),
          ([n, b]) => startEdge(opt.binDir, 'bench-edge-2', n.url, [b.edgelink]),
        ], ([n, b, e1, e2]) => runLoadgen(loadgen, ['--scenario', 'fanout', '--url', e1.url, '--url', e2.url,
          ...fanoutArgs(size.cluster), ...pidArgs([...e1.pids, ...e2.pids, ...b.pids, ...n.pids])]));
      }
      return withServers([
        () => startRedis(),
        ([r]) => startReference({ redisUrl: r.url, grpc: false }),
        ([r]) => startReference({ redisUrl: r.url, grpc: false }),
      ], ([r, a, b]) => runLoadgen(loadgen, ['--scenario', 'fanout', '--url', a.url, '--url', b.url,
        ...fanoutArgs(size.cluster), ...pidArgs([...a.pids, ...b.pids, ...r.pids])]));
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

// --- the comparison table -----------------------------------------------------------------------

const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
const KiB = (b) => (b == null ? undefined : b / 1024);

// [scenario, label, path into loadgen "results", unit, better, target, transform]
const METRICS = [
  ['connect', 'connect rate', 'connect_rate_per_s', '/s', 'higher', 'ratio ≥ 4×'],
  ['connect', 'connections per server CPU-s', 'connections_per_server_cpu_s', '/CPU-s', 'higher', ''],
  ['connect', 'handshake p50 (EIO open → CONNECT ack)', 'handshake_latency.p50_us', 'µs', 'lower', ''],
  ['connect', 'handshake p99', 'handshake_latency.p99_us', 'µs', 'lower', ''],
  ['connect', 'idle memory per connection (RSS slope)', 'memory.per_connection_slope_bytes', 'KiB', 'lower', '≤ 2 KiB (Node ≈ 14)', KiB],
  ['connect', 'idle memory per connection (ΔRSS / C)', 'memory.per_connection_delta_bytes', 'KiB', 'lower', '≤ 2 KiB', KiB],
  ['connect-edge', 'connect rate (Herald: one cluster edge)', 'connect_rate_per_s', '/s', 'higher', ''],
  ['connect-edge', 'idle memory per connection (Herald: edge process alone)', 'memory.per_connection_slope_bytes', 'KiB', 'lower', '', KiB],
  ['connect-edge', 'RSS after the hold (Herald: edge process alone)', 'memory.rss_after_mib', 'MiB', 'lower', ''],
  ['connect100k', 'connect rate (100k)', 'connect_rate_per_s', '/s', 'higher', ''],
  ['connect100k', 'RSS with 100k idle connections (Herald: one cluster edge)', 'memory.rss_after_mib', 'MiB', 'lower', 'Herald ≤ 400 MiB'],
  ['connect100k', 'idle memory per connection (Herald: edge process alone)', 'memory.per_connection_slope_bytes', 'KiB', 'lower', '', KiB],
  ['fanout', 'saturated deliveries/s', 'phases.saturated.deliveries_per_s', '/s', 'higher', ''],
  ['fanout', 'saturated deliveries per server CPU-s', 'phases.saturated.deliveries_per_server_cpu_s', '/CPU-s', 'higher', 'ratio ≥ 10×'],
  ['fanout', 'saturated latency p99', 'phases.saturated.latency.p99_us', 'µs', 'lower', ''],
  ['fanout', '100 msg/s latency p50', 'phases.rate.latency.p50_us', 'µs', 'lower', ''],
  ['fanout', '100 msg/s latency p99', 'phases.rate.latency.p99_us', 'µs', 'lower', 'Herald ≤ 1000 µs'],
  ['fanout', '100 msg/s latency p99.9', 'phases.rate.latency.p999_us', 'µs', 'lower', ''],
  ['fanout', 'lost deliveries (both phases)', null, '', 'lower', '0'],
  ['echo', 'RTTs/s', 'measured.rtts_per_s', '/s', 'higher', ''],
  ['echo', 'RTTs per server CPU-s', 'measured.rtts_per_server_cpu_s', '/CPU-s', 'higher', 'ratio ≥ 3×'],
  ['echo', 'RTT p50', 'measured.rtt.p50_us', 'µs', 'lower', ''],
  ['echo', 'RTT p99', 'measured.rtt.p99_us', 'µs', 'lower', 'Herald ≤ Node'],
  ['push', 'Broadcast deliveries/s (saturated)', 'phases.saturated.deliveries_per_s', '/s', 'higher', ''],
  ['push', 'Broadcast deliveries per server CPU-s', 'phases.saturated.deliveries_per_server_cpu_s', '/CPU-s', 'higher', ''],
  ['push', 'Broadcast 100/s latency p99', 'phases.rate.latency.p99_us', 'µs', 'lower', ''],
  ['cluster', 'saturated deliveries/s (2 nodes)', 'phases.saturated.deliveries_per_s', '/s', 'higher', ''],
  ['cluster', 'saturated deliveries per CPU-s (all processes)', 'phases.saturated.deliveries_per_server_cpu_s', '/CPU-s', 'higher', 'ratio ≥ 8×'],
  ['cluster', '100 msg/s latency p99', 'phases.rate.latency.p99_us', 'µs', 'lower', ''],
];

function metricValue(run, path, transform) {
  if (!run || run.unavailable || run.error) return undefined;
  const r = run.results;
  if (path === null) {  // lost deliveries over both phases
    const ph = r?.phases;
    if (!ph) return undefined;
    return Object.values(ph).reduce((n, p) => n + (p.lost ?? 0), 0);
  }
  const v = get(r, path);
  if (typeof v !== 'number') return undefined;
  return transform ? transform(v) : v;
}

const fmt = (v) => {
  if (v === undefined) return 'n/a';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
};

const median = (xs) => {
  const v = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// `repeats[scenario]` = one { herald, node } per repeat. Values are medians over the repeats; the
// ratio is of the medians; ratio_min/ratio_max span the ratios of each repeat's own pair.
function buildTable(repeats) {
  const rows = [];
  for (const [scenario, label, path, unit, better, target, transform] of METRICS) {
    if (!repeats[scenario]) continue;
    const hs = repeats[scenario].map((r) => metricValue(r.herald, path, transform));
    const ns = repeats[scenario].map((r) => metricValue(r.node, path, transform));
    const h = median(hs);
    const n = median(ns);
    const ratio = h !== undefined && n !== undefined && n !== 0 ? h / n : undefined;
    const pairs = hs.map((x, i) => (x !== undefined && ns[i] ? x / ns[i] : undefined))
      .filter((x) => x !== undefined);
    const row = { scenario, metric: label, unit, better, herald: h, node: n, ratio, target };
    if (repeats[scenario].length > 1) {
      row.herald_all = hs;
      row.node_all = ns;
      if (pairs.length) Object.assign(row, { ratio_min: Math.min(...pairs), ratio_max: Math.max(...pairs) });
    }
    rows.push(row);
  }
  return rows;
}

function markdown(rows, repeats) {
  const ranged = opt.repeat > 1;
  const lines = ranged
    ? [`| scenario | metric | unit | Herald (median of ${opt.repeat}) | Node (median of ${opt.repeat}) | ` +
        'Herald/Node | range over repeats | target |', '|---|---|---|---:|---:|---:|---:|---|']
    : ['| scenario | metric | unit | Herald | Node | Herald/Node | target |',
      '|---|---|---|---:|---:|---:|---|'];
  const x = (v) => (v === undefined ? 'n/a' : v.toFixed(2) + '×');
  for (const r of rows) {
    const range = r.ratio_min === undefined ? 'n/a' : `${x(r.ratio_min)} – ${x(r.ratio_max)}`;
    lines.push(`| ${r.scenario} | ${r.metric} | ${r.unit} | ${fmt(r.herald)} | ${fmt(r.node)} | ` +
      `${x(r.ratio)} |${ranged ? ` ${range} |` : ''} ${r.target} |`);
  }
  const notes = new Set();
  for (const [scenario, reps] of Object.entries(repeats)) {
    for (const bySrv of reps) {
      for (const [srv, run] of Object.entries(bySrv)) {
        if (run?.unavailable) notes.add(`- ${scenario} / ${srv}: not available — ${run.unavailable}`);
        else if (run?.error) notes.add(`- ${scenario} / ${srv}: failed — ${String(run.error).split('\n')[0]}`);
        else if (run?.results?.error) notes.add(`- ${scenario} / ${srv}: ${run.results.error}`);
      }
    }
  }
  return lines.join('\n') + (notes.size ? `\n\n${[...notes].join('\n')}` : '') + '\n';
}

// --- main -----------------------------------------------------------------------------------------

const started = new Date();
const runs = {};     // the first repeat, as without --repeat
const repeats = {};  // scenario → [{ herald, node }] per repeat
for (const scenario of scenarios) {
  repeats[scenario] = [];
  for (let rep = 0; rep < opt.repeat; ++rep) {
    const byServer = {};
    for (const server of opt.servers) {
      const tag = opt.repeat > 1 ? ` (${rep + 1}/${opt.repeat})` : '';
      if (server === 'herald' && !heraldBinary(opt.binDir, 'standalone/herald')) {
        byServer[server] = { unavailable: `${opt.binDir}/standalone/herald is not built` };
        log(`${scenario} / ${server}: not available (no binary)`);
        continue;
      }
      log(`${scenario} / ${server}${tag} ...`);
      const t0 = Date.now();
      try {
        byServer[server] = await runOne(scenario, server);
      } catch (e) {
        byServer[server] = { error: String(e.message ?? e) };
      }
      const r = byServer[server];
      log(`${scenario} / ${server}${tag}: ${r.unavailable ? 'not available' : r.error ? 'FAILED ' + r.error.split('\n')[0] : 'done'} ` +
        `in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    repeats[scenario].push(byServer);
  }
  runs[scenario] = repeats[scenario][0];
}

const rows = buildTable(repeats);
const md = markdown(rows, repeats);
const stamp = started.toISOString().replace(/[:.]/g, '-');
const outJson = opt.out ?? join(repoRoot, 'tests/bench/results', `${stamp}.json`);
mkdirSync(resolve(outJson, '..'), { recursive: true });
writeJson(outJson, {
  started: started.toISOString(),
  finished: new Date().toISOString(),
  quick: opt.quick,
  scenarios,
  sizes: Object.fromEntries(scenarios.map((s) => [s, size[s]])),
  host: { cores: availableParallelism(), kernel: release(), node: process.version },
  pinning,
  repeat: opt.repeat,
  runs,
  ...(opt.repeat > 1 ? { repeats } : {}),
  table: rows,
});
writeFileSync(outJson.replace(/\.json$/, '.md'), md);
console.log(md);
log(`results: ${outJson}`);
const failed = Object.values(repeats).some((reps) =>
  reps.some((by) => Object.values(by).some((r) => r?.error)));
process.exit(failed ? 1 : 0);
