// Static files served by the balancer for paths ProxyPass excludes (the seed's
// `ProxyPass /files/RedditFileLibrary !`) and paths no rule proxies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync, brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import http from 'node:http';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { request } from '../helpers/http.js';

let dir: string;
let root: string;
let lb: RunningBalancer;
let backend: Backend;

const APP_JS = `console.log(${JSON.stringify('x'.repeat(2000))});\n`;
const BIG = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')}\n`).join('');
const MTIME = new Date('2010-08-21T12:57:37Z');

function put(rel: string, content: string | Buffer): void {
  const file = join(root, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
  utimesSync(file, MTIME, MTIME);
}

/** GET with a binary body. */
function getBuffer(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickylb-static-'));
  root = join(dir, 'html');
  put('index.html', '<h1>home</h1>\n');
  put('files/RedditFileLibrary/main.css', 'body { color: #333 }\n');
  put('files/RedditFileLibrary/app.js', APP_JS);
  put('files/RedditFileLibrary/app.js.gz', gzipSync(APP_JS));
  put('files/RedditFileLibrary/app.js.br', brotliCompressSync(APP_JS));
  put('files/RedditFileLibrary/only-gz.js', APP_JS);
  put('files/RedditFileLibrary/only-gz.js.gz', gzipSync(APP_JS));
  put('files/RedditFileLibrary/logo.png', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
  put('files/RedditFileLibrary/data.json', '{"a":1}\n');
  put('files/RedditFileLibrary/blob.unknownext', 'raw');
  put('files/RedditFileLibrary/big.txt', BIG);
  put('files/RedditFileLibrary/hello world.txt', 'spaced\n');
  put('files/RedditFileLibrary/café.txt', 'accented\n');
  put('files/docs/index.html', '<h1>docs</h1>\n');
  mkdirSync(join(root, 'files', 'empty'), { recursive: true });
  put('files/.env', 'SECRET=1\n');
  put('.well-known/acme-challenge/token', 'challenge\n');
  backend = await startBackend({ name: 'n1', route: 'R1' });
  lb = await startBalancer({
    balancers: { 'seaside-cluster': { stickysession: '_s', nofailover: true, members: [{ url: backend.url, route: 'R1' }] } },
    proxyPass: [
      { path: '/files', to: '!' },
      { path: '/.well-known', to: '!' },
      { path: '/app', to: 'balancer://seaside-cluster/' },
    ],
    static: { root, precompressed: true, maxAge: '1h' },
  });
});

after(async () => {
  await lb?.close();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('files under an excluded path come from the root; other paths are still proxied', async () => {
  const css = await request(`${lb.url}/files/RedditFileLibrary/main.css`);
  assert.equal(css.status, 200);
  assert.equal(css.body, 'body { color: #333 }\n');
  const app = await request(`${lb.url}/app/counter`);
  assert.equal(app.status, 200);
  assert.equal(app.json().member, 'n1');
  // A path no rule proxies is static too: the root's index.html.
  const home = await request(`${lb.url}/`);
  assert.equal(home.status, 200);
  assert.equal(home.body, '<h1>home</h1>\n');
});

test('Content-Type by extension, with a charset for text', async () => {
  const cases: [string, string][] = [
    ['/index.html', 'text/html; charset=utf-8'],
    ['/files/RedditFileLibrary/main.css', 'text/css; charset=utf-8'],
    ['/files/RedditFileLibrary/app.js', 'text/javascript; charset=utf-8'],
    ['/files/RedditFileLibrary/data.json', 'application/json; charset=utf-8'],
    ['/files/RedditFileLibrary/logo.png', 'image/png'],
    ['/files/RedditFileLibrary/big.txt', 'text/plain; charset=utf-8'],
    ['/files/RedditFileLibrary/blob.unknownext', 'application/octet-stream'],
  ];
  for (const [path, type] of cases) {
    const r = await request(`${lb.url}${path}`);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['content-type'], type, path);
  }
});

test('ETag, Last-Modified and Cache-Control; 304 by ETag and by date, 200 when changed', async () => {
  const url = `${lb.url}/files/RedditFileLibrary/main.css`;
  const r = await request(url);
  const etag = r.headers.etag!;
  assert.match(etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
  assert.equal(r.headers['last-modified'], MTIME.toUTCString());
  assert.equal(r.headers['cache-control'], 'public, max-age=3600');
  assert.equal(r.headers['accept-ranges'], 'bytes');

  const byTag = await request(url, { headers: { 'If-None-Match': etag } });
  assert.equal(byTag.status, 304);
  assert.equal(byTag.body, '');
  assert.equal(byTag.headers.etag, etag);
  const byList = await request(url, { headers: { 'If-None-Match': `"other", ${etag}` } });
  assert.equal(byList.status, 304);
  const byDate = await request(url, { headers: { 'If-Modified-Since': MTIME.toUTCString() } });
  assert.equal(byDate.status, 304);
  const later = await request(url, { headers: { 'If-Modified-Since': new Date(MTIME.getTime() + 3600_000).toUTCString() } });
  assert.equal(later.status, 304);

  const otherTag = await request(url, { headers: { 'If-None-Match': '"nope"' } });
  assert.equal(otherTag.status, 200);
  const older = await request(url, { headers: { 'If-Modified-Since': new Date(MTIME.getTime() - 3600_000).toUTCString() } });
  assert.equal(older.status, 200);
  assert.equal(older.body, 'body { color: #333 }\n');
  const unmatched = await request(url, { headers: { 'If-Match': '"nope"' } });
  assert.equal(unmatched.status, 412);
});

test('Range: 206 with Content-Range, suffix ranges, If-Range, and 416 when unsatisfiable', async () => {
  const url = `${lb.url}/files/RedditFileLibrary/big.txt`;
  const size = Buffer.byteLength(BIG);
  const first = await request(url, { headers: { Range: 'bytes=0-8' } });
  assert.equal(first.status, 206);
  assert.equal(first.headers['content-range'], `bytes 0-8/${size}`);
  assert.equal(first.headers['content-length'], '9');
  assert.equal(first.body, 'line 000\n');

  const suffix = await request(url, { headers: { Range: 'bytes=-9' } });
  assert.equal(suffix.status, 206);
  assert.equal(suffix.body, 'line 099\n');
  assert.equal(suffix.headers['content-range'], `bytes ${size - 9}-${size - 1}/${size}`);

  const open = await request(url, { headers: { Range: `bytes=${size - 4}-` } });
  assert.equal(open.status, 206);
  assert.equal(open.body, '099\n');

  const beyond = await request(url, { headers: { Range: `bytes=${size + 10}-${size + 20}` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], `bytes */${size}`);

  const etag = (await request(url)).headers.etag!;
  const fresh = await request(url, { headers: { Range: 'bytes=0-3', 'If-Range': etag } });
  assert.equal(fresh.status, 206);
  const stale = await request(url, { headers: { Range: 'bytes=0-3', 'If-Range': '"stale"' } });
  assert.equal(stale.status, 200);
  assert.equal(stale.body, BIG);
});

test('HEAD: the headers of a GET, no body', async () => {
  const r = await request(`${lb.url}/files/RedditFileLibrary/big.txt`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(Buffer.byteLength(BIG)));
  assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  assert.ok(r.headers.etag);
  assert.equal(r.body, '');
});

test('directories: index.html for a trailing slash, a redirect without it, never a listing', async () => {
  const docs = await request(`${lb.url}/files/docs/`);
  assert.equal(docs.status, 200);
  assert.equal(docs.body, '<h1>docs</h1>\n');
  assert.equal(docs.headers['content-type'], 'text/html; charset=utf-8');

  const noSlash = await request(`${lb.url}/files/docs?x=1`);
  assert.equal(noSlash.status, 301);
  assert.equal(noSlash.headers.location, '/files/docs/?x=1');

  const empty = await request(`${lb.url}/files/empty/`);
  assert.equal(empty.status, 404);
  assert.ok(!empty.body.includes('empty'), 'no listing');
  const lib = await request(`${lb.url}/files/RedditFileLibrary/`);
  assert.equal(lib.status, 404, 'a directory without index.html is not listed');
  assert.ok(!lib.body.includes('main.css'));

  // A file asked for as a directory does not exist.
  assert.equal((await request(`${lb.url}/files/RedditFileLibrary/main.css/`)).status, 404);
  assert.equal((await request(`${lb.url}/files/RedditFileLibrary/missing.css`)).status, 404);
});

test('precompressed siblings by Accept-Encoding, with Vary and the original Content-Type', async () => {
  const url = `${lb.url}/files/RedditFileLibrary/app.js`;
  const gz = await getBuffer(url, { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  assert.equal(gunzipSync(gz.body).toString(), APP_JS);

  const br = await getBuffer(url, { 'Accept-Encoding': 'gzip, deflate, br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(brotliDecompressSync(br.body).toString(), APP_JS);

  const prefersGzip = await getBuffer(url, { 'Accept-Encoding': 'br;q=0.5, gzip' });
  assert.equal(prefersGzip.headers['content-encoding'], 'gzip');

  const plain = await getBuffer(url);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.headers.vary, 'Accept-Encoding');
  assert.equal(plain.body.toString(), APP_JS);

  const refused = await getBuffer(url, { 'Accept-Encoding': 'gzip;q=0' });
  assert.equal(refused.headers['content-encoding'], undefined);

  // Only a .gz sibling: br is asked for first, gzip is what exists.
  const onlyGz = await getBuffer(`${lb.url}/files/RedditFileLibrary/only-gz.js`, { 'Accept-Encoding': 'br, gzip' });
  assert.equal(onlyGz.headers['content-encoding'], 'gzip');

  // The encoded file has its own validators: a 304 for it, with Vary kept.
  const again = await getBuffer(url, { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag! });
  assert.equal(again.status, 304);
  assert.notEqual(gz.headers.etag, plain.headers.etag);

  // Ranges apply to the encoded bytes.
  const part = await getBuffer(url, { 'Accept-Encoding': 'gzip', Range: 'bytes=0-1' });
  assert.equal(part.status, 206);
  assert.deepEqual([...part.body], [0x1f, 0x8b]);
});

test('dotfiles are not served; /.well-known is', async () => {
  assert.equal((await request(`${lb.url}/files/.env`)).status, 404);
  assert.equal((await request(`${lb.url}/files/%2eenv`)).status, 404);
  const wk = await request(`${lb.url}/.well-known/acme-challenge/token`);
  assert.equal(wk.status, 200);
  assert.equal(wk.body, 'challenge\n');
});

test('encoded names: spaces and UTF-8', async () => {
  const spaced = await request(`${lb.url}/files/RedditFileLibrary/hello%20world.txt`);
  assert.equal(spaced.status, 200);
  assert.equal(spaced.body, 'spaced\n');
  const accented = await request(`${lb.url}/files/RedditFileLibrary/caf%C3%A9.txt`);
  assert.equal(accented.status, 200);
  assert.equal(accented.body, 'accented\n');
});

test('methods other than GET and HEAD get 405 with Allow', async () => {
  const r = await request(`${lb.url}/files/RedditFileLibrary/main.css`, { method: 'POST', body: 'x' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, HEAD');
  // A file that does not exist stays a 404 whatever the method.
  assert.equal((await request(`${lb.url}/files/nope.css`, { method: 'DELETE' })).status, 404);
});

test('a site without a static root answers 404 for unproxied paths', async () => {
  const bare = await startBalancer({ proxyPass: [{ path: '/app', to: backend.url + '/' }] });
  try {
    assert.equal((await request(`${bare.url}/index.html`)).status, 404);
  } finally {
    await bare.close();
  }
});

test('a relative root is taken from the config file directory', async () => {
  const { validateConfig } = await import('../../src/config/validate.js');
  const { App } = await import('../../src/app.js');
  const { silentLogger } = await import('../../src/log/logger.js');
  const model = validateConfig({ listen: ['127.0.0.1:0'], static: { root: 'html' } }, { source: join(dir, 'stickylb.yaml') });
  const app = await App.start(model, { logger: silentLogger() });
  try {
    const r = await request(`http://127.0.0.1:${app.addresses[0].port}/index.html`);
    assert.equal(r.status, 200);
    assert.equal(r.body, '<h1>home</h1>\n');
  } finally {
    await app.close(1000);
  }
});
