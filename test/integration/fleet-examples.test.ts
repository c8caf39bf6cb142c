// The Kubernetes example (examples/kubernetes): its stickylb config passes `stickylb check
// --strict`, and the manifests have what docs/fleet.md says they have: a stickylb Deployment with
// 2 replicas, a StatefulSet of app pods with STICKYLB_ROUTE from the pod name, a headless Service
// whose port name makes the SRV records stickylb looks up, and Redis with a password.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { stickylb } from '../helpers/stickylb-cli.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'stickylb-k8s-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Doc = { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string>; stringData?: Record<string, string> };

function docs(file: string): Doc[] {
  return parseAllDocuments(readFileSync(join(ROOT, 'examples/kubernetes', file), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], file);
    return d.toJS() as Doc;
  });
}

const find = (all: Doc[], kind: string, name: string) => {
  const d = all.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(d, `${kind} ${name}`);
  return d;
};

test('kubernetes example: the stickylb config passes stickylb check --strict', async () => {
  const config = find(docs('stickylb.yaml'), 'ConfigMap', 'stickylb-config').data!['stickylb.yaml'];
  const file = join(dir, 'stickylb.yaml');
  writeFileSync(file, config);
  const r = await stickylb(['check', '--strict', file]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /usable \(0 errors, 0 warnings/);
  assert.match(r.stdout, /Members found by DNS: _http\._tcp\.app\.shop\.svc\.cluster\.local \(SRV; routes from the names/);
  assert.match(r.stdout, /^Fleet: shop: manager changes, rolling restarts and the saved state are shared/m);
});

test('kubernetes example: 2 stickylb replicas, app pods named by route behind a headless Service, Redis with a password', () => {
  const lb = docs('stickylb.yaml');
  const deploy = find(lb, 'Deployment', 'stickylb');
  assert.equal(deploy.spec.replicas, 2);
  const c = deploy.spec.template.spec.containers[0];
  assert.deepEqual(c.args, ['run', '-c', '/etc/stickylb/stickylb.yaml']);
  const mounts = c.volumeMounts.map((m: { mountPath: string }) => m.mountPath).sort();
  assert.deepEqual(mounts, ['/etc/stickylb', '/run/secrets/manager', '/run/secrets/redis', '/var/lib/stickylb']);
  const config = find(lb, 'ConfigMap', 'stickylb-config').data!['stickylb.yaml'];
  assert.match(config, /passwordFile: \/run\/secrets\/redis\/password/);
  assert.match(find(lb, 'Secret', 'stickylb-manager').stringData!.htpasswd, /^admin:\$2y\$/);

  const app = docs('app.yaml');
  const svc = find(app, 'Service', 'app');
  assert.equal(svc.spec.clusterIP, 'None', 'headless');
  // The port's name makes the SRV name stickylb asks for: _http._tcp.app.shop.svc.cluster.local.
  assert.equal(svc.spec.ports[0].name, 'http');
  const sts = find(app, 'StatefulSet', 'app');
  assert.equal(sts.spec.serviceName, 'app');
  const env = sts.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'STICKYLB_ROUTE');
  assert.deepEqual(env.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });

  const redis = docs('redis.yaml');
  assert.ok(find(redis, 'Secret', 'redis-auth').stringData!.password);
  assert.equal(find(redis, 'Service', 'redis').spec.ports[0].port, 6379);
  assert.deepEqual(find(redis, 'Deployment', 'redis').spec.template.spec.containers[0].args.slice(0, 2), ['--requirepass', '$(REDIS_PASSWORD)']);
});
