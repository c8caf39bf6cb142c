import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, errorLogStream, memoryLogger, pinoLevel, setLogLevel, silentLogger, textLine } from '../../src/log/logger.js';
import { until } from '../helpers/http.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-errorlog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

test('Apache LogLevel names map to pino levels; trace1…trace8 collapse to trace', () => {
  assert.equal(pinoLevel('emerg'), 'fatal');
  assert.equal(pinoLevel('alert'), 'fatal');
  assert.equal(pinoLevel('crit'), 'fatal');
  assert.equal(pinoLevel('error'), 'error');
  assert.equal(pinoLevel('WARN'), 'warn');
  assert.equal(pinoLevel('notice'), 'info');
  assert.equal(pinoLevel('info'), 'info');
  assert.equal(pinoLevel('debug'), 'debug');
  assert.equal(pinoLevel('trace'), 'trace');
  assert.equal(pinoLevel('trace6'), 'trace');
  assert.equal(pinoLevel('bogus'), 'warn');
});

test('text lines: Apache-style time, level, pid, client and member context, then the fields', () => {
  const t = new Date(2010, 7, 21, 12, 57, 37, 123).getTime();
  const line = textLine(
    JSON.stringify({ level: 50, time: new Date(t).toISOString(), pid: 42, balancer: 'seaside-cluster', member: 'http://127.0.0.1:8081', route: 'R1', client: '192.0.2.7', msg: 'could not connect', cause: 'ECONNREFUSED', detail: 'two words' }),
  );
  assert.equal(
    line,
    '[Sat Aug 21 12:57:37.123 2010] [error] [pid 42] [client 192.0.2.7] [balancer seaside-cluster member http://127.0.0.1:8081 route R1] could not connect cause=ECONNREFUSED detail="two words"\n',
  );
  assert.equal(textLine(JSON.stringify({ level: 40, time: t, pid: 1, msg: 'plain' })), '[Sat Aug 21 12:57:37.123 2010] [warn] [pid 1] plain\n');
  assert.equal(textLine('not json'), 'not json\n');
});

test('a file error log: JSON lines, the level filters, children carry balancer, member and route', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'logs', 'error.log');
  const logger = createLogger({ path: file, level: 'warn' });
  logger.info('not shown at warn');
  logger.child({ balancer: 'c', member: 'http://127.0.0.1:8081', route: 'R1' }).error({ cause: 'ECONNREFUSED' }, 'could not connect');
  setLogLevel(logger, 'debug');
  logger.debug('shown after the level changed');
  await new Promise<void>((r) => logger.flush(() => r()));
  const lines = read(file).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.equal(lines[0].level, 'error', 'the level by name');
  assert.equal(lines[0].msg, 'could not connect');
  assert.deepEqual([lines[0].balancer, lines[0].member, lines[0].route, lines[0].cause], ['c', 'http://127.0.0.1:8081', 'R1', 'ECONNREFUSED']);
  assert.equal(typeof lines[0].pid, 'number');
  assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT/);
  assert.equal(lines[1].msg, 'shown after the level changed');
  await errorLogStream(logger)!.writer.close();
});

test('a text error log, reopened after a rename', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'error.log');
  const logger = createLogger({ path: file, level: 'info', format: 'text' });
  logger.warn('before rotation');
  await until(() => read(file).includes('before rotation'), 'the first line');
  renameSync(file, `${file}.1`);
  const stream = errorLogStream(logger)!;
  await stream.writer.reopen();
  logger.child({ balancer: 'c' }).info('after rotation');
  await until(() => read(file).includes('after rotation'), 'the line in the new file');
  assert.match(read(`${file}.1`), /^\[.*\] \[warn\] \[pid \d+\] before rotation\n$/);
  assert.match(read(file), /^\[.*\] \[info\] \[pid \d+\] \[balancer c\] after rotation\n$/);
  await stream.writer.close();
});

test('silent and memory loggers are not reopenable file logs', () => {
  assert.equal(errorLogStream(silentLogger()), undefined);
  const { logger, lines } = memoryLogger();
  logger.child({ member: 'm' }).warn('x');
  assert.deepEqual([lines[0].member, lines[0].msg], ['m', 'x']);
  assert.equal(errorLogStream(logger), undefined);
});
