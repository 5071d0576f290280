// bench_smoke (ctest): ~5 s of herald-loadgen against the reference Node.js server with 50
// connections — echo (acked round trips) and fanout (saturated + fixed rate) — checking that the
// harness reports sane numbers. Tests the harness, not Herald's performance.
//
//   node tests/bench/smoke.mjs path/to/herald-loadgen
import assert from 'node:assert/strict';
import { startReference, runLoadgen } from './lib.mjs';

const loadgen = process.argv[2];
if (!loadgen) {
  console.error('usage: smoke.mjs HERALD_LOADGEN');
  process.exit(2);
}

const server = await startReference({ grpc: false });
try {
  const pid = ['--pid', String(server.pid)];
  const echo = await runLoadgen(loadgen, ['--scenario', 'echo', '--url', server.url, '--clients', '50',
    '--duration-s', '2', ...pid], { timeoutMs: 60000 });
  const m = echo.results.measured;
  assert.equal(echo.results.error, undefined, echo.results.error);
  assert.equal(echo.results.setup.connected, 50);
  assert.ok(m.acks > 100, `acks ${m.acks}`);
  assert.equal(m.ack_mismatches, 0, m.first_mismatch);
  assert.equal(m.unexpected_acks, 0);
  assert.ok(m.rtt.p50_us > 0 && m.rtt.p50_us <= m.rtt.p99_us && m.rtt.p99_us <= m.rtt.max_us);
  assert.ok(m.rtts_per_server_cpu_s > 0, 'server CPU measured');
  console.log(`echo: ${Math.round(m.rtts_per_s)} RTT/s, p50 ${m.rtt.p50_us} µs, p99 ${m.rtt.p99_us} µs`);

  const fan = await runLoadgen(loadgen, ['--scenario', 'fanout', '--url', server.url, '--receivers', '49',
    '--mode', 'both', '--duration-s', '1', '--rate', '100', ...pid], { timeoutMs: 60000 });
  assert.equal(fan.results.error, undefined, fan.results.error);
  for (const [name, p] of Object.entries(fan.results.phases)) {
    assert.ok(p.sent > 0, `${name}: sent ${p.sent}`);
    assert.equal(p.delivered, p.expected, `${name}: delivered ${p.delivered} of ${p.expected}`);
    assert.equal(p.lost, 0);
    assert.equal(p.out_of_order, 0);
    assert.ok(p.drained);
    assert.equal(p.latency.count, p.delivered);
    assert.ok(p.latency.p50_us > 0 && p.latency.p50_us <= p.latency.p999_us);
    assert.ok(p.deliveries_per_server_cpu_s > 0);
    console.log(`fanout ${name}: ${p.sent} msgs, ${Math.round(p.deliveries_per_s)} deliveries/s, ` +
      `p99 ${p.latency.p99_us} µs`);
  }
  // Rate mode keeps to its schedule (±20% over one second, on a loaded CI machine).
  assert.ok(Math.abs(fan.results.phases.rate.sent - 100) <= 20, `rate sent ${fan.results.phases.rate.sent}`);
  console.log('bench_smoke: ok');
} finally {
  await server.stop();
}
