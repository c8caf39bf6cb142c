// Worker processes share one runtime state: real `stickylb run` with 2 workers, real backends,
// load from several keep-alive connections (spread over both workers). Manager changes are
// answered only once every worker applies them; a dead member is put in error for everybody;
// new sessions follow the factors across workers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startBackend, type Backend } from '../helpers/backends.js';
import { request, until } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { startWorkersBalancer, type WorkersBalancer } from '../helpers/workers.js';

/** When each backend saw each request, by the client's send time (same clock: this process). */
interface Seen {
  member: string;
  sentAt: number;
}

const seen: Seen[] = [];
const backends: Backend[] = [];
let lb: WorkersBalancer;

function backend(name: string): Promise<Backend> {
  return startBackend({
    name,
    handler: (req, res) => {
      seen.push({ member: name, sentAt: Number(req.headers['x-sent']) });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(name);
    },
  });
}

before(async () => {
  backends.push(...(await Promise.all(['a', 'b', 'c', 'd'].map(backend))));
  lb = await startWorkersBalancer({
    workers: 2,
    balancers: { c: { stickysession: '_s', members: backends.map((b) => ({ url: b.url, route: b.name })) } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
  });
});

after(async () => {
  await lb?.stop();
  for (const b of backends) await b.close();
});

/** New sessions only (no cookie), each stamped with its send time. */
function newSessions(concurrency = 6) {
  return startLoad({ url: () => `${lb.url}/x`, concurrency, headers: () => ({ 'x-sent': String(performance.now()) }) });
}

async function answeredChange(member: string, body: Record<string, unknown>): Promise<number> {
  const r = await lb.change(`/balancers/c/members/${member}`, body);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return performance.now();
}

test('drain, disable and lbfactor changes reach every worker before the manager answers: no new session to a drained member after that', async () => {
  const load = newSessions();
  try {
    const count = (m: string, after: number) => seen.filter((s) => s.member === m && s.sentAt > after).length;
    await until(() => count('a', 0) >= 20, 'a gets new sessions', 20_000);

    // Drain a: once the change is answered, no request sent after that reaches a.
    const drained = await answeredChange('a', { status: '+N' });
    const total = () => seen.filter((s) => s.sentAt > drained).length;
    await until(() => total() >= 400, 'load after the drain', 20_000);
    assert.equal(count('a', drained), 0, 'a new session reached the drained member');

    // Undrain: a takes new sessions again.
    const undrained = await answeredChange('a', { status: '-N' });
    await until(() => count('a', undrained) >= 20, 'a back in rotation', 20_000);

    // Disable: the same promise.
    const disabled = await answeredChange('a', { status: '+D' });
    const afterDisable = () => seen.filter((s) => s.sentAt > disabled).length;
    await until(() => afterDisable() >= 400, 'load after disabling', 20_000);
    assert.equal(count('a', disabled), 0, 'a new session reached the disabled member');
    await answeredChange('a', { status: '-D' });

    // lbfactor: a to 1, b to 3 … the new sessions sent after the answers follow 1:3:1:1.
    await answeredChange('a', { lbfactor: 1 });
    const weighted = await answeredChange('b', { lbfactor: 3 });
    await until(() => seen.filter((s) => s.sentAt > weighted).length >= 600, 'load after the factor change', 30_000);
    const after = seen.filter((s) => s.sentAt > weighted);
    const share = count('b', weighted) / after.length;
    assert.ok(Math.abs(share - 0.5) < 0.05, `b's share is ${share.toFixed(3)}, its factor gives 0.5`);
  } finally {
    const stats = await load.stop();
    assert.equal(stats.failed + stats.refused, 0, stats.errors.join('\n'));
  }
  await answeredChange('b', { lbfactor: 1 });
});

test('new sessions spread over the members as their factors say, across 2 workers', async () => {
  // Factors 1, 2, 3, 4 (10 in all): 2,000 new sessions, measured after the last change is answered.
  const factors: Record<string, number> = { a: 1, b: 2, c: 3, d: 4 };
  let from = 0;
  for (const [m, f] of Object.entries(factors)) from = await answeredChange(m, { lbfactor: f });
  const load = newSessions(8);
  await until(() => seen.filter((s) => s.sentAt > from).length >= 2000, '2000 new sessions', 60_000);
  const stats = await load.stop();
  assert.equal(stats.failed + stats.refused, 0, stats.errors.join('\n'));
  const after = seen.filter((s) => s.sentAt > from);
  const lines: string[] = [];
  let worst = 0;
  for (const [m, f] of Object.entries(factors)) {
    const got = after.filter((s) => s.member === m).length / after.length;
    const want = f / 10;
    worst = Math.max(worst, Math.abs(got - want));
    lines.push(`${m}: factor ${f}, expected ${(want * 100).toFixed(1)} %, got ${(got * 100).toFixed(2)} %`);
  }
  console.log(`spread of ${after.length} new sessions over 2 workers (worst deviation ${(worst * 100).toFixed(2)} points):\n  ${lines.join('\n  ')}`);
  assert.ok(worst < 0.03, `a member's share is off by ${(worst * 100).toFixed(2)} points:\n${lines.join('\n')}`);
  for (const m of Object.keys(factors)) await answeredChange(m, { lbfactor: 1 });
});

test('a member that dies under load is put in error once, for every worker; failed connects stay within what was in flight', async () => {
  const concurrency = 6;
  const load = newSessions(concurrency);
  try {
    await until(() => seen.filter((s) => s.member === 'd').length >= 50, 'd serves', 20_000);
    await backends[3].kill();
    const killedAt = performance.now();
    await until(() => seen.filter((s) => s.sentAt > killedAt).length >= 300, 'load after d died', 20_000);
  } finally {
    const stats = await load.stop();
    // Every request that met the dead member failed over to another one.
    assert.equal(stats.failed + stats.refused, 0, stats.errors.join('\n'));
  }
  const view = (await request(`${lb.manager}/api/balancers/c/members/d`)).json();
  assert.equal(view.flags.E, true, 'd is in error');
  // Each failed connect counts once; a worker that saw one failure marks d at once, the others
  // hear it from the owner, so only requests already on their way to d can fail.
  console.log(`member killed under load: ${view.errors} failed connect(s) over 2 workers, ${concurrency} clients`);
  assert.ok(view.errors >= 1 && view.errors <= concurrency, `d counted ${view.errors} failed connects; at most ${concurrency} requests were in flight`);
  await until(() => readFileSync(join(lb.dir, 'error.log'), 'utf8').includes(`${backends[3].url}`), 'the error log names d');
  const inError = readFileSync(join(lb.dir, 'error.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes(backends[3].url) && /in error/.test(l));
  assert.equal(inError.length, 1, `d went into error ${inError.length} times:\n${inError.join('\n')}`);
});
