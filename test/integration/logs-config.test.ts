// Log settings at start and on reload: files that cannot be opened stop the start, bad formats are
// configuration errors, a reload moves the logs and changes the level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import type { RawConfig } from '../../src/config/schema.js';
import { createLogger, errorLogStream, silentLogger } from '../../src/log/logger.js';
import { logsPlugin } from '../../src/log/plugin.js';
import { staticPlugin } from '../../src/static/plugin.js';
import { request, until } from '../helpers/http.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-logcfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const text = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

test('an access log that cannot be opened stops the start with the reason', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'plain-file'), '');
  const model = validateConfig({ listen: ['127.0.0.1:0'], accessLog: [{ path: join(dir, 'plain-file', 'access.log') }] });
  await assert.rejects(App.start(model, { logger: silentLogger(), plugins: [logsPlugin()] }), /plain-file.*(ENOTDIR|EEXIST)|(ENOTDIR|EEXIST).*plain-file/);
});

test('an error log that cannot be opened stops the start with the reason', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'plain-file'), '');
  const model = validateConfig({ listen: ['127.0.0.1:0'], errorLog: { path: join(dir, 'plain-file', 'error.log') } });
  await assert.rejects(App.start(model, { plugins: [logsPlugin()] }), /error log .*plain-file.* cannot be opened/);
});

test('an unknown LogFormat directive is a configuration error naming the entry', () => {
  assert.throws(
    () => validateConfig({ accessLog: [{ path: '-', format: '%h %Z' }] }),
    (e: unknown) => e instanceof ConfigError && e.diagnostics.some((d) => d.path === 'accessLog[0].format' && /unknown directive %Z/.test(d.message)),
  );
  assert.throws(
    () => validateConfig({ logFormats: { mine: '%{Referer' }, virtualHosts: [{ serverName: 'a', accessLog: [{ path: '-', format: 'mine' }] }] }),
    (e: unknown) => e instanceof ConfigError && e.diagnostics.some((d) => d.path === 'virtualHosts[0].accessLog[0].format' && /unterminated/.test(d.message)),
  );
});

test('reload: access logs move to the new path, LogLevel and ErrorLog follow', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'index.html'), 'home\n');
  const first = join(dir, 'first.log');
  const second = join(dir, 'second.log');
  const err1 = join(dir, 'error1.log');
  const err2 = join(dir, 'error2.log');
  const raw = (accessPath: string, errorPath: string, level: 'warn' | 'info'): RawConfig => ({
    listen: ['127.0.0.1:0'],
    static: { root: dir },
    accessLog: [{ path: accessPath, format: '%U %>s' }],
    errorLog: { path: errorPath, level, format: 'text' },
  });
  const model = validateConfig(raw(first, err1, 'warn'));
  const logger = createLogger({ path: err1, level: 'warn', format: 'text' });
  const app = await App.start(model, { logger, plugins: [logsPlugin(), staticPlugin()] });
  t.after(async () => {
    await app.close(1000);
    await errorLogStream(logger)?.writer.close();
  });
  const url = `http://127.0.0.1:${app.addresses[0].port}`;

  await request(`${url}/index.html?before`);
  await until(() => text(first) === '/index.html 200\n', 'the line in the first log');
  app.logger.info('not shown at warn');

  await app.reload(validateConfig(raw(second, err2, 'info')));
  await request(`${url}/missing.html`);
  await until(() => text(second) === '/missing.html 404\n', 'the line in the second log');
  // Static 404s are logged at info: shown now, in the new error log.
  await until(() => text(err2).includes('file does not exist'), 'the info line in the new error log');
  assert.equal(text(first), '/index.html 200\n', 'nothing more in the old access log');
  assert.ok(!text(err1).includes('not shown at warn'));
  assert.ok(!text(err1).includes('file does not exist'));
});
