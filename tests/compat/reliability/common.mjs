// Shared helpers of the reliability tools (scripts/storm, scripts/soak, scripts/chaos): process
// sampling from /proc, log scanning, socket.io-client factories, small statistics. The processes
// themselves are started by ../lib/cluster.mjs and ../lib/herald.mjs (free loopback ports, stopped
// by PID).
import { readFileSync, readdirSync } from 'node:fs';
import { io } from 'socket.io-client';
import { makeToken } from '../lib/herald.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Command-line flags: --name value or --name=value; numbers converted.
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; ++i) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) { out._ = [...(out._ ?? []), argv[i]]; continue; }
    const key = m[1].replace(/-(.)/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${m[1]}`);
    let value = m[2];
    if (value === undefined) {
      if (typeof defaults[key] === 'boolean') value = 'true';
      else value = argv[++i];
    }
    if (typeof defaults[key] === 'number') value = Number(value);
    else if (typeof defaults[key] === 'boolean') value = value === 'true';
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`--${m[1]} needs a number`);
    out[key] = value;
  }
  return out;
}

// Resident set size (KiB) and open file descriptors of a live process; null when it is gone.
export function sampleProcess(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return { rssKb: rss, fds };
  } catch {
    return null;
  }
}

// CPU time (ms, user + system) a process has used so far; null when it is gone.
export function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;  // utime, stime in USER_HZ (100)
  } catch {
    return null;
  }
}

// Log records at error level or above (Herald logs one JSON object per line).
export function errorRecords(proc) {
  return (proc.records ?? []).filter((r) => r.level === 'error' || r.level === 'critical' || r.level === 'fatal');
}

// Warning messages grouped by text, most frequent first.
export function warnSummary(proc) {
  const counts = new Map();
  for (const r of proc.records ?? []) {
    if (r.level !== 'warn' && r.level !== 'warning') continue;
    counts.set(r.msg, (counts.get(r.msg) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

// A socket.io-client socket for user `sub` on `url` (namespace "/"), websocket or polling only.
export function client(url, sub, { transport = 'websocket', reconnection = false, ...opts } = {}) {
  return io(url, {
    transports: [transport], reconnection, forceNew: true,
    // A day's validity: the soak outlives makeToken's default hour.
    auth: { token: makeToken({ sub, exp: Math.floor(Date.now() / 1000) + 86400 }) }, ...opts,
  });
}

export function waitConnect(s, timeoutMs = 10000) {
  if (s.connected) return Promise.resolve(s);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new Error('connect timed out')); }, timeoutMs);
    const ok = () => { done(); resolve(s); };
    const bad = (e) => { done(); reject(e); };
    const done = () => { clearTimeout(timer); s.off('connect', ok); s.off('connect_error', bad); };
    s.on('connect', ok);
    s.on('connect_error', bad);
  });
}

export const ack = (s, event, arg, timeoutMs = 5000) => s.timeout(timeoutMs).emitWithAck(event, arg);

// Deterministic PRNG (mulberry32) so a run can be repeated with --seed.
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),  // inclusive
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

export function percentile(values, p) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const mib = (kb) => (kb / 1024).toFixed(1);

// Runs fn() with a deadline; resolves false on timeout instead of throwing.
export async function within(ms, fn, intervalMs = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return true;
    } catch { /* retry */ }
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}
