// A CA that rejects many good nonces (pebble told to reject 20% as badNonce): the ACME library
// retries those at once, so the order goes through on the first attempt; nothing is counted as a
// failure and nothing waits out a back-off. Without the retries about nine orders in ten would fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app.js';
import { validateConfig } from '../../src/config/validate.js';
import { silentLogger } from '../../src/log/logger.js';
import { ACME } from '../../src/acme/plugin.js';
import { until } from '../helpers/http.js';
import { freeTcpPort, startPebble, type Pebble } from '../helpers/pebble.js';

let pebble: Pebble;
let port: number;
let dir: string;
let app: App | undefined;

before(async () => {
  port = await freeTcpPort();
  pebble = await startPebble({ httpPort: port, env: { PEBBLE_WFE_NONCEREJECT: '20' } });
  dir = mkdtempSync(join(tmpdir(), 'stickylb-md-'));
});

after(async () => {
  await app?.close(500);
  await pebble?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('badNonce answers are retried at once: the first order succeeds, no failure is counted', async () => {
  assert.match(pebble.log, /Configured to reject 20% of good nonces/);
  app = await App.start(
    validateConfig({
      listen: [`127.0.0.1:${port}`],
      acme: { domains: [['nonce.test', 'www.nonce.test', 'api.nonce.test']], directory: pebble.directory, caCertificates: pebble.apiCaFile, agreeToTerms: true, storeDir: dir },
    }),
    { logger: silentLogger() },
  );
  const renewer = app.get(ACME)!;
  await until(() => renewer.list()[0].state !== 'pending', 'the end of the first order', 60_000);
  const c = renewer.list()[0];
  assert.equal(c.state, 'valid', `${c.lastError}`);
  assert.equal(c.failures, 0);
  assert.equal(c.temporary, false);
});
