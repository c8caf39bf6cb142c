import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseApache, type Directive } from '../../src/config/apache/parser.js';
import { resolveInclude, segmentPattern, type ConfigFs } from '../../src/config/apache/include.js';
import { nodeConfigFs } from '../../src/config/apache/index.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';

/** An in-memory file system: paths to file texts; directories are implied. */
function memFs(files: Record<string, string>): ConfigFs {
  const isDir = (p: string) => Object.keys(files).some((f) => f.startsWith(`${p.replace(/\/$/, '')}/`));
  return {
    readFile: (p) => {
      if (!(p in files)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return files[p];
    },
    readdir: (p) => [...new Set(Object.keys(files).filter((f) => f.startsWith(`${p}/`)).map((f) => f.slice(p.length + 1).split('/')[0]))],
    isDirectory: isDir,
    exists: (p) => p in files || isDir(p),
  };
}

const parse = (text: string, files: Record<string, string> = {}) => parseApache(text, 'site.conf', { fs: memFs(files) });
const messages = (r: { diagnostics: Parameters<typeof formatDiagnostic>[0][] }) => r.diagnostics.map(formatDiagnostic);
const shape = (ds: Directive[]): unknown[] => ds.map((d) => (d.children ? [d.name, d.args, shape(d.children)] : [d.name, d.args, d.line]));

test('apache parser: sections nest, names become canonical, lines are kept', () => {
  const r = parse('<virtualhost *:80>\n  proxypass / balancer://c/\n  <PROXY balancer://c>\n    balancermember http://a:1\n  </proxy>\n</VirtualHost>\n');
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(shape(r.directives), [
    ['VirtualHost', ['*:80'], [['ProxyPass', ['/', 'balancer://c/'], 2], ['Proxy', ['balancer://c'], [['BalancerMember', ['http://a:1'], 4]]]]],
  ]);
  assert.equal(r.directives[0].endLine, 6);
  assert.equal(r.directives[0].children![1].endLine, 5);
});

test('apache parser: unknown directives keep their spelling', () => {
  const r = parse('FrobnicateAll On');
  assert.deepEqual(shape(r.directives), [['FrobnicateAll', ['On'], 1]]);
});

test('apache parser: a section left open at the end of the file is reported at its line, with where to close it', () => {
  const r = parse('<VirtualHost *:80>\n  ServerName a\n\n');
  assert.deepEqual(messages(r), ['site.conf:1: error: <VirtualHost *:80> is not closed: add </VirtualHost> after line 2, at the end of the file']);
  assert.equal(r.diagnostics[0].code, 'unclosed-section');
  assert.equal(r.directives[0].unclosed, true);
});

test('apache parser: a directive that cannot be inside <Directory> shows where </Directory> is missing', () => {
  const r = parse('<VirtualHost *:80>\n<Directory /x>\n  Options None\n\nProxyPass / !\n</VirtualHost>');
  assert.deepEqual(messages(r), [
    'site.conf:2: error: <Directory /x> is not closed: add </Directory> after line 3 (line 5: ProxyPass cannot be used inside <Directory>)',
  ]);
  // ProxyPass went to the virtual host, not into the directory.
  assert.deepEqual(shape(r.directives)[0], ['VirtualHost', ['*:80'], [['Directory', ['/x'], [['Options', ['None'], 3]]], ['ProxyPass', ['/', '!'], 5]]]);
});

test('apache parser: <Location> inside <Location> means the first was not closed', () => {
  const r = parse('<Location /a>\n  SetHandler server-status\n<Location /b>\n  SetHandler balancer-manager\n</Location>\n');
  assert.deepEqual(messages(r), ['site.conf:1: error: <Location /a> is not closed: add </Location> after line 2 (line 3: <Location> cannot be used inside <Location>)']);
  assert.equal(r.directives.length, 2);
});

test('apache parser: when the closing tag turns up later, the real problem is the misplaced line', () => {
  const r = parse('<Directory /x>\n  Options None\n  ProxyRequests Off\n</Directory>\n');
  assert.deepEqual(messages(r), [
    'site.conf:3: error: ProxyRequests cannot be used inside <Directory> (<Directory /x> runs from line 1 to line 4); move it out of the section',
  ]);
  assert.equal(r.diagnostics[0].code, 'wrong-context');
});

test('apache parser: a close tag for an outer section closes the inner ones, reporting each', () => {
  const r = parse('<VirtualHost *:80>\n<Location /a>\n  SetHandler server-status\n</VirtualHost>\n');
  assert.deepEqual(messages(r), ['site.conf:2: error: <Location /a> is not closed: add </Location> after line 3 (line 4: </VirtualHost> comes first)']);
});

test('apache parser: a close tag without an open one is an error at its line', () => {
  const r = parse('Listen 80\n</Location>\n');
  assert.deepEqual(messages(r), ['site.conf:2: error: </Location> has no matching <Location>']);
});

test('apache parser: close tags are case-insensitive', () => {
  assert.deepEqual(parse('<Location /a>\n</location>').diagnostics, []);
});

test('apache parser: a section tag without ">" is an error naming the accepted form', () => {
  const r = parse('<Location /a\n</Location>');
  assert.deepEqual(messages(r), ['site.conf:1: error: <Location /a: missing ">" at the end of the line (expected <Location /path> … </Location>)']);
});

test('apache parser: a directive allowed in no open section is an error naming where it belongs', () => {
  const r = parse('<VirtualHost *:80>\n  Listen 80\n</VirtualHost>');
  assert.deepEqual(messages(r), ['site.conf:2: error: Listen cannot be used inside <VirtualHost> (allowed in the main server)']);
});

test('apache parser: <VirtualHost> inside <VirtualHost> closes the first one', () => {
  const r = parse('<VirtualHost *:80>\n  ServerName a\n<VirtualHost *:81>\n  ServerName b\n</VirtualHost>');
  assert.deepEqual(messages(r), ['site.conf:1: error: <VirtualHost *:80> is not closed: add </VirtualHost> after line 2 (line 3: <VirtualHost> cannot be used inside <VirtualHost>)']);
});

test('apache parser: <IfModule> is transparent: what fits around it fits inside it', () => {
  const r = parse('<VirtualHost *:80>\n<IfModule mod_proxy.c>\n  ProxyPass / !\n</IfModule>\n</VirtualHost>');
  assert.deepEqual(r.diagnostics, []);
});

test('apache parser: an unclosed quote is an error with the directive', () => {
  const r = parse('ServerName "abc');
  assert.deepEqual(messages(r), ['site.conf:1: error: ServerName: a " quote is not closed (expected ServerName HOSTNAME)']);
});

test('apache include: relative to the including file, wildcards sorted, contents in place', () => {
  const r = parseApache('Listen 80\nInclude conf.d/*.conf\nListen 90\n', '/etc/site.conf', {
    fs: memFs({
      '/etc/conf.d/b.conf': 'Listen 82',
      '/etc/conf.d/a.conf': 'Listen 81\nInclude ../more/x.conf',
      '/etc/conf.d/skip.txt': 'Listen 99',
      '/etc/conf.d/.hidden.conf': 'Listen 98',
      '/etc/more/x.conf': 'Listen 83',
    }),
  });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(
    r.directives.map((d) => [d.args[0], d.file, d.line]),
    [
      ['80', '/etc/site.conf', 1],
      ['81', '/etc/conf.d/a.conf', 1],
      ['83', '/etc/more/x.conf', 1],
      ['82', '/etc/conf.d/b.conf', 1],
      ['90', '/etc/site.conf', 3],
    ],
  );
  assert.deepEqual(r.files, ['/etc/site.conf', '/etc/conf.d/a.conf', '/etc/more/x.conf', '/etc/conf.d/b.conf']);
});

test('apache include: a directory includes every file under it, in name order', () => {
  const r = parseApache('Include conf.d', '/etc/site.conf', { fs: memFs({ '/etc/conf.d/z': 'Listen 2', '/etc/conf.d/a/x': 'Listen 1' }) });
  assert.deepEqual(r.directives.map((d) => d.args[0]), ['1', '2']);
});

test('apache include: inside a section, included directives belong to the section', () => {
  const r = parseApache('<VirtualHost *:80>\nInclude vh.conf\n</VirtualHost>', '/s.conf', { fs: memFs({ '/vh.conf': 'ProxyPass / !' }) });
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.directives[0].children![0].name, 'ProxyPass');
  assert.equal(r.directives[0].children![0].file, '/vh.conf');
});

test('apache include: a missing file is an error for Include and silence for IncludeOptional', () => {
  const fs = memFs({ '/x/a.conf': '' });
  const r = parseApache('Include nope.conf\nInclude other/*.conf\nIncludeOptional nope.conf\nIncludeOptional other/*.conf', '/x/s.conf', { fs });
  assert.deepEqual(messages(r), [
    '/x/s.conf:1: error: Include nope.conf: /x/nope.conf does not exist (use IncludeOptional for files that may be missing)',
    '/x/s.conf:2: error: Include other/*.conf: no file matches /x/other/*.conf (use IncludeOptional for files that may be missing)',
  ]);
});

test('apache include: a file including itself is an error, not a loop', () => {
  const r = parseApache('Include s.conf', '/x/s.conf', { fs: memFs({ '/x/s.conf': 'Include s.conf' }) });
  assert.deepEqual(messages(r), ['/x/s.conf:1: error: Include s.conf: /x/s.conf includes itself (through /x/s.conf → /x/s.conf)']);
});

test('apache include: sections must close in the file that opens them', () => {
  const r = parseApache('Include a.conf\n</Location>', '/s.conf', { fs: memFs({ '/a.conf': '<Location /x>\nSetHandler server-status' }) });
  assert.deepEqual(messages(r), [
    '/a.conf:1: error: <Location /x> is not closed: add </Location> after line 2, at the end of the file',
    '/s.conf:2: error: </Location> has no matching <Location>',
  ]);
});

test('apache include: fnmatch patterns per path segment', () => {
  assert.ok(segmentPattern('*.conf').test('a.conf'));
  assert.ok(!segmentPattern('*.conf').test('a.conf.bak'));
  assert.ok(segmentPattern('site-?.conf').test('site-1.conf'));
  assert.ok(segmentPattern('[ab]*.conf').test('b1.conf'));
  assert.ok(!segmentPattern('[!ab]*.conf').test('b1.conf'));
  assert.ok(segmentPattern('a\\*b').test('a*b'));
  const fs = memFs({ '/e/sites/one/site.conf': '', '/e/sites/two/site.conf': '', '/e/sites/two/other.conf': '' });
  assert.deepEqual(resolveInclude(fs, 'sites/*/site.conf', '/e/main.conf'), { files: ['/e/sites/one/site.conf', '/e/sites/two/site.conf'] });
});

test('apache include: works on the real file system with relative paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickylb-include-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', '1.conf'), 'Listen 81\n');
    writeFileSync(join(dir, 'conf.d', '2.conf'), 'Listen 82\n');
    const main = join(dir, 'main.conf');
    writeFileSync(main, 'IncludeOptional conf.d/*.conf\n');
    const r = parseApache('IncludeOptional conf.d/*.conf\n', main, { fs: nodeConfigFs });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.directives.map((d) => d.args[0]), ['81', '82']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
