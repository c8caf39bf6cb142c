// The renewer's bookkeeping with the CA replaced by a function the test controls: one order per
// domain at a time (a reload during an order does not start a second one), a failure counted and
// the next try pushed back. The real CA is in acme-pebble.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AcmeModel } from '../../src/config/model.js';
import { Renewer, type CertificateTarget } from '../../src/acme/renewer.js';
import type { OrderOptions, OrderResult } from '../../src/acme/order.js';
import { temporaryCertificate } from '../../src/acme/temporary.js';
import { silentLogger } from '../../src/log/logger.js';
import { until } from '../helpers/http.js';

function model(storeDir: string): AcmeModel {
  return {
    directory: 'https://ca.invalid/dir',
    agreeToTerms: true,
    storeDir,
    renewWindow: { percent: 33 },
    retryDelayMs: 60_000,
    keyType: 'p256',
    caCertificates: [],
    challenges: ['http-01'],
    domains: [{ names: ['a.example'] }],
  };
}

function target(): CertificateTarget & { installs: { names: readonly string[]; temporary: boolean }[] } {
  const installs: { names: readonly string[]; temporary: boolean }[] = [];
  return { installs, install: (names, _cert, info) => installs.push({ names, temporary: info.temporary }) };
}

test('one order at a time per domain, even when a reload comes while it runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-renewer-'));
  try {
    let calls = 0;
    let finish!: (r: OrderResult) => void;
    const order = (_o: OrderOptions) => {
      calls++;
      return new Promise<OrderResult>((r) => (finish = r));
    };
    const t = target();
    const renewer = new Renewer({ acme: model(dir), target: t, logger: silentLogger(), order });
    await renewer.load();
    assert.deepEqual(t.installs, [{ names: ['a.example'], temporary: true }]);
    renewer.run();
    await until(() => calls === 1, 'the first order');
    assert.equal(renewer.list()[0].state, 'pending');
    await renewer.reload(model(dir));
    renewer.run();
    assert.equal(calls, 1, 'no second order while the first runs');
    const cert = await temporaryCertificate(['a.example']);
    finish({ keyPem: cert.keyPem, certPem: cert.certPem, accountUrl: 'https://ca.invalid/acct/1' });
    await renewer.idle();
    assert.equal(calls, 1);
    const c = renewer.list()[0];
    assert.equal(c.state, 'valid');
    assert.equal(c.temporary, false);
    assert.deepEqual(t.installs.at(-1), { names: ['a.example'], temporary: false });
    renewer.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed order is counted, the error kept, and the next try waits retryDelay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-renewer-'));
  try {
    const now = Date.UTC(2026, 0, 1);
    const renewer = new Renewer({
      acme: model(dir),
      target: target(),
      logger: silentLogger(),
      now: () => now,
      order: async () => {
        throw new Error('Invalid response from http://a.example/.well-known/acme-challenge/x: 404');
      },
    });
    await renewer.load();
    renewer.run();
    await renewer.idle();
    const c = renewer.list()[0];
    assert.equal(c.state, 'error');
    assert.equal(c.failures, 1);
    assert.equal(c.nextAttemptAt, now + 60_000);
    assert.match(c.lastError!, /404/);
    renewer.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
