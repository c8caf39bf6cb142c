// Health results, passive failures and back-off, as the runtime state API applies them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeState } from '../../src/balancer/runtime.js';
import type { StateChange } from '../../src/balancer/balancer-state.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';
import { attachStateLogging, describeStateChange } from '../../src/health/log-lines.js';
import { FakeTimers } from '../helpers/fake-timers.js';

function setup(balancer: Record<string, unknown> = {}, member: Record<string, unknown> = {}) {
  const raw: RawConfig = {
    balancers: {
      c: {
        ...balancer,
        members: [
          { url: 'http://127.0.0.1:8081', route: 'first', ...member },
          { url: 'http://127.0.0.1:8082', route: 'second' },
        ],
      },
    },
  };
  const t = new FakeTimers();
  const runtime = new RuntimeState(validateConfig(raw), t.clock);
  const b = runtime.balancer('c')!;
  const changes: StateChange[] = [];
  runtime.events.on('change', (c: StateChange) => changes.push(c));
  return { t, runtime, b, m: b.members[0], changes, raw };
}

const fail = (detail = 'connection refused') => ({ ok: false, detail });
const pass = (detail = 'status 200') => ({ ok: true, detail, status: 200 });

test('health state: fails in a row up to hcfails set C, with the count and the detail as cause', () => {
  const { b, m, changes } = setup({}, { health: { method: 'GET', fails: 3, passes: 2 } });
  b.recordHealth(m, fail());
  b.recordHealth(m, fail());
  assert.equal(m.flags.C, false);
  assert.equal(m.health.consecutiveFails, 2);
  b.recordHealth(m, fail());
  assert.equal(m.flags.C, true);
  assert.equal(m.isUsable(), false);
  assert.deepEqual(
    changes.map((c) => [c.field, c.to, c.by, c.cause]),
    [['status.C', true, 'health', '3/3: connection refused']],
  );
  assert.deepEqual({ ...m.health, lastCheckAt: undefined }, {
    last: 'fail',
    lastCheckAt: undefined,
    lastDetail: 'connection refused',
    lastStatus: undefined,
    lastDurationMs: undefined,
    consecutivePasses: 0,
    consecutiveFails: 3,
    checks: 3,
  });
  // Further failures while C is set change nothing and log nothing.
  b.recordHealth(m, fail());
  assert.equal(changes.length, 1);
});

test('health state: a pass in between restarts the fail count (counts are consecutive)', () => {
  const { b, m } = setup({}, { health: { method: 'GET', fails: 2 } });
  b.recordHealth(m, fail());
  b.recordHealth(m, pass());
  b.recordHealth(m, fail());
  assert.equal(m.flags.C, false);
  b.recordHealth(m, fail());
  assert.equal(m.flags.C, true);
});

test('health state: passes in a row up to hcpasses clear C and E together', () => {
  const { b, m, changes } = setup({}, { health: { method: 'GET', fails: 1, passes: 2 } });
  b.markFailure(m, 'connection refused');
  b.recordHealth(m, fail('status 503'));
  assert.deepEqual([m.flags.E, m.flags.C], [true, true]);
  b.recordHealth(m, pass());
  assert.deepEqual([m.flags.E, m.flags.C], [true, true]);
  b.recordHealth(m, fail('status 503'));
  b.recordHealth(m, pass());
  assert.deepEqual([m.flags.E, m.flags.C], [true, true], 'the fail in between restarted the pass count');
  b.recordHealth(m, pass());
  assert.deepEqual([m.flags.E, m.flags.C], [false, false]);
  assert.equal(m.isUsable(), true);
  assert.deepEqual(
    changes.map((c) => [c.field, c.to, c.by, c.cause]),
    [
      ['status.E', true, 'proxy', 'connection refused'],
      ['status.C', true, 'health', '1/1: status 503'],
      ['status.C', false, 'health', '2/2: status 200'],
      ['status.E', false, 'health', '2/2: status 200'],
    ],
  );
});

test('health state: a passive error alone is cleared by a passing check before its retry time', () => {
  const { b, m } = setup({}, { retry: 600, health: { method: 'TCP' } });
  b.markFailure(m, 'connection refused');
  b.recordHealth(m, pass('connected'));
  assert.equal(m.flags.E, false);
});

test('health state: C set by a check is not cleared by the retry interval, only by passes', () => {
  const { t, b, m } = setup({}, { retry: 1, health: { method: 'GET' } });
  b.recordHealth(m, fail());
  t.now += 10_000;
  b.retryCheck(m, t.now);
  b.forceRecovery(t.now);
  assert.equal(m.flags.C, true);
});

test('back-off: the retry interval doubles on each failure after recovery, up to 5 x retry by default', () => {
  const { t, b, m } = setup({}, { retry: 10 });
  assert.equal(b.backoffCapMs(m), 50_000);
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) {
    b.markFailure(m, 'connection refused');
    seen.push(m.retryMs);
    t.now += m.retryMs + 1;
    b.retryCheck(m, t.now);
    assert.equal(m.flags.E, false);
  }
  assert.deepEqual(seen, [10_000, 20_000, 40_000, 50_000, 50_000, 50_000]);
  assert.equal(m.consecutiveFailures, 6);
  // One good answer ends the streak and the back-off.
  b.markSuccess(m);
  assert.equal(m.retryMs, 10_000);
  assert.equal(m.consecutiveFailures, 0);
  b.markFailure(m, 'connection refused');
  assert.equal(m.retryMs, 10_000);
});

test('back-off: the default cap is at most 10 minutes', () => {
  const { b, m } = setup({}, { retry: 300 });
  assert.equal(b.backoffCapMs(m), 600_000);
  const { b: b2, m: m2 } = setup({}, {});
  assert.equal(b2.backoffCapMs(m2), 300_000, '60 s retry: 5 minutes');
});

test('back-off: retrybackoff sets the cap; false turns it off; retry 0 stays 0', () => {
  const capped = setup({ retrybackoff: '25s' }, { retry: 10 });
  const off = setup({ retrybackoff: false }, { retry: 10 });
  const zero = setup({}, { retry: 0 });
  for (const s of [capped, off, zero]) {
    for (let i = 0; i < 4; i++) {
      s.b.markFailure(s.m, 'timeout');
      s.t.now += s.m.retryMs + 1;
      s.b.retryCheck(s.m, s.t.now);
    }
  }
  assert.equal(capped.m.retryMs, 25_000);
  assert.equal(off.m.retryMs, 10_000);
  assert.equal(zero.m.retryMs, 0);
});

test('back-off: failures while already in error (requests in flight) do not double it again', () => {
  const { b, m } = setup({}, { retry: 10 });
  b.markFailure(m, 'connection refused');
  b.markFailure(m, 'connection reset');
  b.markFailure(m, 'timeout');
  assert.equal(m.retryMs, 10_000);
});

test('passive: timeouts and failonstatus answers count like connect failures; I ignores them all', () => {
  const { b, m, changes } = setup();
  b.markFailure(m, 'timeout after 30s');
  assert.equal(m.flags.E, true);
  assert.equal(m.errorCause, 'timeout after 30s');
  const other = b.members[1];
  b.setFlag(other, 'I', true, 'manager');
  b.markFailure(other, 'status 503');
  assert.equal(other.flags.E, false);
  assert.equal(other.errors, 1);
  assert.deepEqual(changes.map((c) => c.cause).filter(Boolean), ['timeout after 30s']);
});

test('back-off: a grown retry interval and the configured cap survive / follow a reload', () => {
  const { t, runtime, b, m, raw } = setup({}, { retry: 10 });
  b.markFailure(m, 'x');
  t.now += 10_001;
  b.retryCheck(m, t.now);
  b.markFailure(m, 'x');
  assert.equal(m.retryMs, 20_000);
  raw.balancers!.c.retrybackoff = '15s';
  runtime.reload(validateConfig(raw));
  const b2 = runtime.balancer('c')!;
  assert.equal(b2.members[0].retryMs, 20_000);
  assert.equal(b2.retryBackoffMaxMs, 15_000, 'config edits win over the previous value');
});

test('log lines: each transition reads as one line with the member, route and cause', () => {
  const { t, runtime, b, m } = setup({}, { retry: 60, slowstart: '30s', health: { method: 'GET', fails: 3, passes: 2 } });
  const lines: [string, string][] = [];
  const logger = {
    warn: (_f: Record<string, unknown>, msg: string) => lines.push(['warn', msg]),
    info: (_f: Record<string, unknown>, msg: string) => lines.push(['info', msg]),
  };
  const detach = attachStateLogging(runtime, logger);
  for (let i = 0; i < 3; i++) b.recordHealth(m, fail());
  b.recordHealth(m, pass());
  b.recordHealth(m, pass());
  b.markFailure(m, 'connection refused');
  t.now += 60_001;
  b.retryCheck(m, t.now);
  b.markFailure(m, 'connection refused');
  b.setFlag(m, 'E', false, 'manager');
  b.setFlag(b.members[1], 'D', true, 'manager');
  b.startRamp(m, 'launcher', 'process restarted');
  b.setMember(m, { lbfactor: 2 }, 'manager');
  detach();
  b.setFlag(b.members[1], 'D', false, 'manager');
  assert.deepEqual(lines, [
    ['warn', 'member http://127.0.0.1:8081 route=first: health check failed (3/3: connection refused)'],
    ['info', 'member http://127.0.0.1:8081 route=first: health check passed (2/2: status 200), back in service with slow start over 30s'],
    ['warn', 'member http://127.0.0.1:8081 route=first: in error (connection refused), retry in 60s'],
    ['info', 'member http://127.0.0.1:8081 route=first: error cleared: retry interval passed, back in service with slow start over 30s'],
    ['warn', 'member http://127.0.0.1:8081 route=first: in error (connection refused), retry in 2m (back-off: 2 failures in a row)'],
    ['info', 'member http://127.0.0.1:8081 route=first: error cleared by manager, back in service with slow start over 30s'],
    ['info', 'member http://127.0.0.1:8082 route=second: disabled by manager'],
    ['info', 'member http://127.0.0.1:8081 route=first: slow start over 30s (process restarted)'],
  ]);
});

test('log lines: a recovery that leaves the member out of service says why', () => {
  const { b, m } = setup({}, { health: { method: 'GET' } });
  b.setFlag(m, 'D', true, 'manager');
  b.recordHealth(m, fail());
  let line: string | undefined;
  b.events.on('change', (c: StateChange) => (line = describeStateChange(c, m, b.clock())?.msg));
  b.recordHealth(m, pass());
  assert.equal(line, 'member http://127.0.0.1:8081 route=first: health check passed (1/1: status 200); still out of service (disabled)');
  b.events.emit('change', { balancer: 'c', field: 'lbmethod', from: 'byrequests', to: 'bytraffic', by: 'manager' });
  assert.equal(line, undefined, 'balancer settings are not member transitions');
});
