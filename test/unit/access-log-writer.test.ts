import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogWriter } from '../../src/log/log-writer.js';
import { AccessLogs } from '../../src/log/access-log.js';
import { validateConfig } from '../../src/config/validate.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${file} ends in the middle of a line`);
  return text.split('\n').filter(Boolean);
}

test('writes asynchronously, flush() waits for the lines, close() writes the rest', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'sub', 'access.log');
  const w = new LogWriter(file);
  await w.ready();
  for (let i = 0; i < 1000; i++) w.write(`line ${i}\n`);
  await w.flush();
  assert.equal(w.pending, 0);
  assert.equal(lines(file).length, 1000);
  for (let i = 1000; i < 2000; i++) w.write(`line ${i}\n`);
  await w.close();
  await w.close();
  const all = lines(file);
  assert.equal(all.length, 2000);
  assert.equal(all[1999], 'line 1999');
  // Writes after close are dropped, not thrown.
  w.write('late\n');
});

test('reopen() after a rename: old lines stay in the renamed file, new ones go to a new file, none lost or split', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'access.log');
  const w = new LogWriter(file);
  await w.ready();
  let n = 0;
  const batch = (count: number) => {
    for (let i = 0; i < count; i++) w.write(`${'x'.repeat(n % 300)} #${n++}\n`);
  };
  batch(500);
  renameSync(file, `${file}.1`);
  // Lines queued between the rename and the reopen may land in either file, each exactly once.
  batch(500);
  const reopened = w.reopen();
  batch(500);
  await reopened;
  renameSync(file, `${file}.2`);
  await Promise.all([w.reopen(), w.reopen()]);
  batch(500);
  await w.close();
  const seen = [...lines(`${file}.1`), ...lines(`${file}.2`), ...lines(file)].map((l) => {
    const m = /^x* #(\d+)$/.exec(l);
    assert.ok(m, `damaged line: ${JSON.stringify(l.slice(0, 80))}`);
    return Number(m[1]);
  });
  assert.equal(seen.length, 2000);
  assert.equal(new Set(seen).size, 2000);
  assert.ok(lines(file).length > 0, 'the reopened file got the last lines');
});

test('a file that cannot be opened fails ready() with the reason; writes are dropped', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'plain-file'), '');
  const w = new LogWriter(join(dir, 'plain-file', 'access.log'));
  await assert.rejects(w.ready(), /ENOTDIR|EEXIST/);
  w.write('lost\n');
  assert.equal(w.dropped, 1);
  await w.reopen();
  await w.close();
  const bad = new LogWriter(join(dir, 'nul\0name'));
  await assert.rejects(bad.ready());
  await bad.close();
});

test('reopen() on stdout does nothing', async () => {
  const w = new LogWriter('-');
  assert.equal(w.isStdout, true);
  w.reopen();
  await w.ready();
});

test('AccessLogs: writers shared by path, kept across reconfigure, closed when dropped', async (t) => {
  const dir = tempDir(t);
  const cfg = (paths: string[]) =>
    validateConfig({
      listen: ['127.0.0.1:0'],
      accessLog: paths.map((p) => ({ path: p, format: 'common' })),
      virtualHosts: [{ serverName: 'a.example', accessLog: paths.map((p) => ({ path: p, format: '%h' })) }, { serverName: 'b.example' }],
    });
  const logs = new AccessLogs();
  await logs.configure(cfg([join(dir, 'one.log'), join(dir, 'two.log')]));
  const writers = logs.allWriters();
  assert.equal(writers.length, 2, 'two sites, four entries, two files');
  const [one] = writers;
  await logs.configure(cfg([join(dir, 'one.log')]));
  assert.equal(logs.allWriters().length, 1);
  assert.equal(logs.allWriters()[0], one, 'the writer of a kept path stays open');
  await logs.close();
  assert.deepEqual(logs.allWriters(), []);
});

test('AccessLogs: a relative path is taken from the config file directory', async (t) => {
  const dir = tempDir(t);
  const model = validateConfig({ listen: ['127.0.0.1:0'], accessLog: [{ path: 'logs/access.log' }] }, { source: join(dir, 'stickylb.yaml') });
  const logs = new AccessLogs();
  await logs.configure(model);
  assert.equal(logs.allWriters()[0].path, join(dir, 'logs', 'access.log'));
  await logs.close();
});
