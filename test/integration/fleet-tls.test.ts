// The fleet over TLS with a password: a redis-server with TLS only and requirepass, its
// certificate from a private CA. Balancers reach it with rediss://, the password from a file or in
// the URL and the CA added with caFile; a wrong password or an untrusted certificate keeps a
// balancer serving alone, saying why.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { deadPort, startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { until } from '../helpers/http.js';
import { apiGet, apiSend } from '../helpers/manager.js';
import { certDir, makeCa, makeCert, writeCert } from '../helpers/certs.js';
import type { RawConfig } from '../../src/config/schema.js';

const running: RunningBalancer[] = [];
let redis: RedisServer | undefined;
let member: Backend | undefined;
after(async () => {
  for (const r of running) await r.close();
  await member?.close();
  await redis?.stop();
});

test('rediss:// with a password (from a file or in the URL) and a private CA; a wrong password or an unknown CA is said, and the balancer serves on', async () => {
  const dir = certDir();
  const ca = await makeCa('fleet test CA');
  const server = await makeCert(ca, ['localhost']);
  const files = writeCert(dir, 'redis', server);
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  const passwordFile = join(dir, 'redis-password');
  writeFileSync(passwordFile, 's3cret\n');
  const port = await deadPort();
  redis = await startRedis(
    ['--port', '0', '--tls-port', String(port), '--tls-cert-file', files.cert, '--tls-key-file', files.key, '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no', '--requirepass', 's3cret'],
    port,
  );
  member = await startBackend({ name: 'one' });
  const config = (id: string, fleet: Partial<NonNullable<RawConfig['fleet']>>): RawConfig => ({
    fleet: { redis: `rediss://localhost:${port}`, name: 'tls', id, heartbeat: 0.2, peerTimeout: 2, ...fleet },
    persist: false,
    balancers: { app: { members: [{ url: member!.url, route: 'one' }] } },
    proxyPass: [{ path: '/', to: 'balancer://app/' }],
    manager: { path: '/balancer-manager' },
  });
  const start = async (id: string, fleet: Partial<NonNullable<RawConfig['fleet']>>) => {
    const lb = await startBalancer(config(id, fleet));
    running.push(lb);
    return lb;
  };
  const lb1 = await start('lb1', { passwordFile, caFile });
  const lb2 = await start('lb2', { redis: `rediss://:s3cret@localhost:${port}`, caFile });
  for (const lb of [lb1, lb2]) await until(async () => (await apiGet(lb.url, '/fleet')).redis.state === 'connected', `${lb.url} connected over TLS`, 10_000);
  const view = await apiGet(lb2.url, '/fleet');
  assert.equal(view.redis.url, `rediss://:***@localhost:${port}`, 'the password is not shown');
  const nonce = (await apiGet(lb1.url)).balancers[0].nonce;
  const r = await apiSend(lb1.url, 'POST', '/balancers/app/members/one/drain', {}, { 'X-Stickylb-Nonce': nonce });
  assert.equal(r.json().fleet.stored, true);
  await until(async () => (await apiGet(lb2.url, '/balancers/app/members/one')).flags.N === true, 'shared over TLS');

  const wrong = await start('lb-wrong', { password: 'nope', caFile });
  const untrusted = await start('lb-untrusted', { passwordFile });
  await until(async () => /WRONGPASS|invalid username-password/i.test((await apiGet(wrong.url, '/fleet')).redis.lastError ?? ''), 'the wrong password is said', 10_000);
  await until(async () => /certificate/i.test((await apiGet(untrusted.url, '/fleet')).redis.lastError ?? ''), 'the unknown CA is said', 10_000);
  for (const lb of [wrong, untrusted]) assert.equal((await apiGet(lb.url, '/fleet')).redis.state, 'not reached yet');
});
