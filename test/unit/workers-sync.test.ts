// The pure parts of worker processes: a worker's copy of the runtime state follows the owner's
// through the BalancerState API, counts add up in the owner, worker flags are what the owner's
// were, and `workers` resolves from YAML and Apache syntax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeState } from '../../src/balancer/runtime.js';
import type { StateChange } from '../../src/balancer/balancer-state.js';
import { validateConfig } from '../../src/config/validate.js';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { ConfigFs } from '../../src/config/apache/include.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { applyChange, applySyncState, syncState, wireChange, type WireChange } from '../../src/workers/state-sync.js';
import { absorbCounts, CountTally, forgetWorker, instrument } from '../../src/workers/counts.js';
import { workerExecArgv } from '../../src/workers/entry.js';
import { pickMember } from '../../src/balancer/pick.js';

const config = () =>
  validateConfig({
    balancers: {
      c: {
        stickysession: '_s',
        slowstart: 10,
        growth: 2,
        members: [
          { url: 'http://127.0.0.1:9001', route: 'a' },
          { url: 'http://127.0.0.1:9002', route: 'b' },
        ],
      },
    },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });

/** An owner and a worker runtime; every owner change is applied in the worker as it happens. */
function pair() {
  const owner = new RuntimeState(config());
  const worker = new RuntimeState(config());
  const sent: WireChange[] = [];
  owner.events.on('change', (c: StateChange) => {
    const w = wireChange(owner, c, owner.clock());
    sent.push(w);
    applyChange(worker, w);
  });
  return { owner, worker, sent };
}

function view(rt: RuntimeState) {
  const b = rt.balancer('c')!;
  return {
    lbmethod: b.lbmethod,
    timeoutMs: b.timeoutMs,
    sticky: b.sticky,
    members: b.members.map((m) => ({ id: m.id, lbfactor: m.lbfactor, lbset: m.lbset, route: m.route, flags: m.flagString(), rampStart: m.rampStart })),
  };
}

test('every kind of change reaches the worker through the same API, and the two states end equal', () => {
  const { owner, worker } = pair();
  const b = owner.balancer('c')!;
  const [a, bm] = b.members;
  b.setMember(a, { lbfactor: 5, lbset: 1, route: 'x', redirect: 'b', status: { N: true } }, 'manager');
  b.setBalancer({ lbmethod: 'bybusyness', timeoutMs: 3000, maxattempts: 0, nofailover: true, sticky: { cookie: 'S', url: 's' } }, 'manager');
  b.markFailure(bm, 'connection refused');
  b.recordHealth(bm, { ok: true, detail: 'status 200' }, owner.clock());
  b.setFlag(a, 'D', true, 'manager');
  b.setFlag(a, 'D', false, 'manager');
  b.startRamp(a, 'launcher', 'node restarted');
  b.addMember({ ...a.model, id: 'http://127.0.0.1:9003', url: 'http://127.0.0.1:9003', port: 9003, route: 'c' }, 'manager');
  b.resetLoad('manager');
  assert.deepEqual(view(worker), view(owner));
  // Removed again (as members found by DNS leave): gone in the worker too.
  b.removeMember(b.members[2], 'dns', 'left DNS');
  assert.deepEqual(view(worker), view(owner));
  assert.equal(worker.balancer('c')!.members.length, 2);
});

test("a worker that starts late gets the owner's whole state", () => {
  const owner = new RuntimeState(config());
  const b = owner.balancer('c')!;
  b.setMember(b.members[1], { lbfactor: 7, status: { D: true, H: true } }, 'manager');
  b.addMember({ ...b.members[0].model, id: 'http://127.0.0.1:9003', url: 'http://127.0.0.1:9003', port: 9003, route: 'c' }, 'manager');
  b.setMember(b.members[2], { status: { D: false } }, 'manager');
  b.markFailure(b.members[0], 'connection refused');
  const worker = new RuntimeState(config());
  applySyncState(worker, structuredClone(syncState(owner)));
  assert.deepEqual(view(worker), view(owner));
  // What the manager set is known as such (a reload of the worker keeps it, as the owner's does).
  assert.deepEqual(
    worker.balancer('c')!.members.map((m) => [...m.changedAtRuntime].sort()),
    b.members.map((m) => [...m.changedAtRuntime].sort()),
  );
});

test('counts a worker makes add up in the owner; what a dead worker had in flight is no longer busy', () => {
  const owner = new RuntimeState(config());
  const worker = new RuntimeState(config());
  const tally = new CountTally();
  const failures: string[] = [];
  for (const b of worker.balancers.values()) instrument(b, { tally, failed: (_b, m, cause) => failures.push(`${m.route}: ${cause}`) });
  const wb = worker.balancer('c')!;
  for (let i = 0; i < 4; i++) {
    const pick = pickMember(wb, { target: '/' });
    assert.equal(pick.kind, 'member');
    if (pick.kind !== 'member') continue;
    wb.acquire(pick.member);
    wb.countAnswer(pick.member, 200);
    wb.countTraffic(pick.member, 10, 100);
    if (i < 3) wb.release(pick.member);
  }
  wb.markFailure(wb.members[1], 'connection refused');
  assert.deepEqual(failures, ['b: connection refused']);
  const busyOf = new Map<string, Map<string, number>>();
  absorbCounts(owner, structuredClone(tally.take()), busyOf);
  const ob = owner.balancer('c')!;
  assert.deepEqual(
    ob.members.map((m) => [m.elected, m.busy, m.bytesTo, m.bytesFrom, m.responses['2xx']]),
    wb.members.map((m) => [m.elected, m.busy, m.bytesTo, m.bytesFrom, m.responses['2xx']]),
  );
  assert.equal(ob.members.reduce((n, m) => n + m.busy, 0), 1);
  assert.ok(tally.empty, 'taken');
  forgetWorker(owner, busyOf);
  assert.equal(ob.members.reduce((n, m) => n + m.busy, 0), 0);
  // The error mark is the owner's to clear: the worker does not retry on its own clock.
  wb.members[1].errorTime = 0;
  wb.retryCheck(wb.members[1], Date.now() + 3_600_000);
  assert.equal(wb.members[1].flags.E, true);
});

test("a worker's Node flags: the owner's loader, not its -e code or debugger port, then the configured ones", () => {
  assert.deepEqual(workerExecArgv(['--import', 'tsx', '--input-type=module', '-e', 'code()', '--inspect=9229'], ['--max-old-space-size=512']), ['--import', 'tsx', '--max-old-space-size=512']);
});

test('workers: a number, auto, or with Node flags; StickylbWorkers in Apache syntax; default one process', () => {
  assert.equal(validateConfig({}).workers, undefined);
  assert.equal(validateConfig({}).gracefulShutdownTimeoutMs, 10_000);
  assert.deepEqual(validateConfig({ workers: 3, gracefulShutdownTimeout: '30s' }).workers, { count: 3, nodeArgs: [] });
  assert.equal(validateConfig({ gracefulShutdownTimeout: '30s' }).gracefulShutdownTimeoutMs, 30_000);
  assert.ok(validateConfig({ workers: 'auto' }).workers!.count >= 1);
  assert.deepEqual(validateConfig({ workers: { count: 2, nodeArgs: ['--max-old-space-size=512'] } }).workers, { count: 2, nodeArgs: ['--max-old-space-size=512'] });
  assert.throws(() => validateConfig({ workers: 0 }));
  assert.throws(() => validateConfig({ workers: { count: 2, nodeArgs: ['rm -rf'] } }));
  const noFs: ConfigFs = { readFile: () => '', readdir: () => [], isDirectory: () => false, exists: () => false };
  const apache = (text: string) => parseApacheConfig(text, 'a.conf', noFs, {});
  assert.deepEqual(validateConfig(apache('Listen 8080\nStickylbWorkers 2\n').raw).workers, { count: 2, nodeArgs: [] });
  assert.equal(validateConfig(apache('Listen 8080\nStickylbWorkers auto\n').raw).workers!.count >= 1, true);
  assert.deepEqual(apache('Listen 8080\nStickylbWorkers lots\n').diagnostics.map(formatDiagnostic), [
    'a.conf:2: error: StickylbWorkers lots: "lots" is not a number of worker processes (1-256) or auto (expected StickylbWorkers NUMBER|auto)',
  ]);
});
