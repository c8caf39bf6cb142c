// One DNS source followed over time, with the DNS answers given by the test (no sockets): the
// settings a manager made to a member found under a stable name stay with that name when it moves
// to another address, and a drain set in the manager outlasts the name leaving DNS and coming back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { DnsWatcher } from '../../src/discovery/watcher.js';
import type { DnsAnswer, DnsRecord, QueryType } from '../../src/discovery/dns-client.js';
import { silentLogger } from '../../src/log/logger.js';

const SRV = '_http._tcp.app.test';

/** A DNS zone the test edits: name → address, and the SRV targets. */
function zone() {
  const hosts = new Map<string, string>();
  const targets = new Set<string>();
  const ask = async (name: string, type: QueryType): Promise<DnsAnswer> => {
    let records: DnsRecord[] = [];
    if (type === 'SRV' && name === SRV) records = [...targets].map((target) => ({ type: 'SRV', name, ttl: 1, target, port: 8080, priority: 0, weight: 0 }));
    if (type === 'A' && hosts.has(name)) records = [{ type: 'A', name, ttl: 1, address: hosts.get(name)! }];
    return { rcode: records.length ? 'NOERROR' : 'NXDOMAIN', records, server: 'test' };
  };
  return { hosts, targets, ask };
}

function setup() {
  const config = validateConfig({
    balancers: { app: { stickysession: '_s', members: [], dns: { name: SRV, drainIdle: 3600, drainMax: 7200 } } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
  });
  const rt = new RuntimeState(config);
  const z = zone();
  const w = new DnsWatcher({ runtime: rt, balancer: 'app', source: config.balancers.app.dns![0], resolver: () => ({ servers: [], timeoutMs: 100 }), logger: silentLogger(), ask: z.ask });
  const b = rt.balancer('app')!;
  return { rt, b, z, w, config };
}

test('a member found under a name keeps what the manager set when the name moves to another address', async (t) => {
  const { b, z, w } = setup();
  t.after(() => w.stop());
  z.targets.add('app-0.app.test');
  z.hosts.set('app-0.app.test', '10.0.0.5');
  await w.lookupNow(false);
  const first = b.member('app-0')!;
  assert.equal(first.identity, 'dns:app-0.app.test:8080');
  b.setMember(first, { status: { N: true }, lbfactor: 7 }, 'manager');
  z.hosts.set('app-0.app.test', '10.0.0.6');
  await w.lookupNow(true);
  const moved = b.member('app-0')!;
  assert.equal(moved.hostname, '10.0.0.6');
  assert.equal(b.members.length, 1, 'the old address is gone');
  assert.equal(moved.flags.N, true);
  assert.equal(moved.lbfactor, 7);
  assert.deepEqual([...moved.changedAtRuntime].sort(), ['lbfactor', 'status.N']);
});

test('a drain set in the manager outlasts the name leaving DNS and coming back; a drain DNS made is lifted', async (t) => {
  const { b, z, w } = setup();
  t.after(() => w.stop());
  for (const n of ['app-0', 'app-1']) {
    z.targets.add(`${n}.app.test`);
    z.hosts.set(`${n}.app.test`, n === 'app-0' ? '10.0.0.5' : '10.0.0.6');
  }
  await w.lookupNow(false);
  b.setMember(b.member('app-0')!, { status: { N: true } }, 'manager');
  z.targets.clear();
  await w.lookupNow(true);
  assert.deepEqual(w.view().draining.map((d) => d.id).sort(), ['http://10.0.0.5:8080', 'http://10.0.0.6:8080'], 'both left DNS: draining');
  z.targets.add('app-0.app.test');
  z.targets.add('app-1.app.test');
  await w.lookupNow(true);
  assert.deepEqual(w.view().draining, []);
  assert.equal(b.member('app-0')!.flags.N, true, 'the manager\'s drain stays');
  assert.equal(b.member('app-1')!.flags.N, false, 'the drain DNS made is lifted');
});
