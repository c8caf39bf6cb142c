// The demo node as a real process, driven over real sockets: with cookies off (everything through
// `_s` and `_k` in URLs), with cookies on, and with both disagreeing (the URL wins).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCli, type NodeProcess } from '../helpers/node-process.js';
import { MiniBrowser } from '../helpers/mini-browser.js';
import { request } from '../helpers/http.js';

const LINE = /^demo node route=(\S+) listening on (http:\/\/127\.0\.0\.1:(\d+)) pid=(\d+)$/;

function stepOf(b: MiniBrowser): string | undefined {
  return b.current().body.match(/id="step" data-step="([a-z]+)"/)?.[1];
}

describe('demo node', () => {
  let proc: NodeProcess;
  let base: string;
  let port: number;

  before(async () => {
    proc = startCli(['demo-node'], { PORT: '0', STICKYLB_ROUTE: 'first' });
    const m = await proc.waitFor(LINE);
    assert.equal(m[1], 'first');
    assert.equal(Number(m[4]), proc.child.pid);
    base = m[2];
    port = Number(m[3]);
  });

  after(async () => {
    await proc?.stop();
  });

  test('every page says which node, route, pid and port served it', async () => {
    const b = new MiniBrowser(base, { cookies: false });
    const p = await b.go('/');
    assert.equal(p.status, 200);
    assert.match(String(p.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.equal(b.bodyData('route'), 'first');
    assert.equal(b.bodyData('pid'), String(proc.child.pid));
    assert.equal(b.bodyData('port'), String(port));
    assert.equal(b.text('node'), 'first');
    assert.equal(b.text('pid'), String(proc.child.pid));
    assert.equal(b.text('port'), String(port));
    assert.match(b.text('session')!, /^[A-Za-z0-9_-]{22}\.first$/);
    assert.equal(b.text('session-source'), 'new');
    // No external assets: no src= or stylesheet links, one inline <style>.
    assert.doesNotMatch(p.body, /\ssrc=|rel="stylesheet"|https?:\/\//);
    assert.match(p.body, /<style>[\s\S]+<\/style>/);
  });

  test('with cookies disabled the counter keeps its state through URLs alone', async () => {
    const b = new MiniBrowser(base, { cookies: false });
    await b.go('/');
    const session = b.text('session')!;
    await b.clickText('Counter');
    assert.equal(b.text('count'), '0');
    for (let i = 0; i < 5; i++) await b.click('increment');
    await b.click('decrement');
    assert.equal(b.text('count'), '4');
    assert.equal(b.text('session'), session);
    assert.equal(b.text('session-source'), 'url');
    // Each action ran once and redirected to a page view carrying _s and _k.
    const last = b.current();
    assert.equal(last.chain[0].status, 303);
    assert.equal(last.chain[0].headers['set-cookie'], undefined, 'no cookie needed for a session named in the URL');
    const url = new URL(last.url);
    assert.equal(url.pathname, '/counter');
    assert.equal(url.searchParams.get('_s'), session);
    assert.match(url.searchParams.get('_k') ?? '', /^[A-Za-z0-9]{8,}$/);
    // Reloading the page view does not repeat the action.
    await b.go(last.url);
    assert.equal(b.text('count'), '4');
    await b.click('reset');
    assert.equal(b.text('count'), '0');
  });

  test('with cookies disabled the multi-step form keeps its state, and escapes what it shows', async () => {
    const b = new MiniBrowser(base, { cookies: false });
    await b.go('/form');
    assert.equal(stepOf(b), 'name');
    const action = new URL(b.current().body.match(/<form[^>]*action="([^"]*)"/)![1].replace(/&amp;/g, '&'), b.current().url);
    assert.match(action.searchParams.get('_s')!, /\.first$/, 'the form action carries _s for the balancer');
    assert.ok(action.searchParams.get('_k'));

    await b.submit({ name: '' });
    assert.equal(stepOf(b), 'name');
    assert.match(b.current().body, /Please enter your name/);

    const evil = '<script>alert("x")</script> & Co';
    await b.submit({ name: evil, op: 'next' });
    assert.equal(stepOf(b), 'address');
    await b.submit({ street: 'Main St 1', city: 'Bern', op: 'back' });
    assert.equal(stepOf(b), 'name');
    assert.ok(b.current().body.includes('value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co"'));
    await b.submit({ name: evil, op: 'next' });
    assert.equal(stepOf(b), 'address');
    assert.ok(b.current().body.includes('value="Main St 1"'), 'the address survived going back');
    await b.submit({ street: 'Main St 1', city: 'Bern', op: 'next' });
    assert.equal(stepOf(b), 'confirm');
    assert.equal(b.text('summary-name'), evil);
    assert.equal(b.text('summary-city'), 'Bern');
    assert.ok(!b.current().body.includes('<script>'));
    await b.submit({ op: 'confirm' });
    assert.equal(stepOf(b), 'done');
    assert.match(b.current().body, /Confirmed by node <strong>first<\/strong>/);
    assert.equal(b.text('session-source'), 'url');
  });

  test('with cookies on, a bare URL finds the session through the _s cookie', async () => {
    const b = new MiniBrowser(base, { cookies: true });
    await b.go('/');
    const session = b.text('session')!;
    assert.equal(b.jar.get('_s'), session);
    assert.match(String(b.current().chain[0].headers['set-cookie']), /^_s=[^;]+\.first; Path=\/; HttpOnly; SameSite=Lax$/);
    await b.go('/counter');
    assert.equal(b.text('session'), session);
    assert.equal(b.text('session-source'), 'cookie');
    await b.click('increment');
    await b.click('increment');
    await b.go('/counter');
    assert.equal(b.text('count'), '2');
    await b.go('/form');
    await b.submit({ name: 'Ann' });
    await b.go('/form');
    assert.equal(stepOf(b), 'address');
  });

  test('_s in the query overrides the cookie', async () => {
    const a = new MiniBrowser(base, { cookies: true });
    await a.go('/counter');
    for (let i = 0; i < 3; i++) await a.click('increment');
    const b = new MiniBrowser(base, { cookies: false });
    await b.go('/counter');
    for (let i = 0; i < 7; i++) await b.click('increment');
    const sessionB = b.text('session')!;

    // Browser a (cookie names its own session, count 3) follows a link to session B.
    await a.go(`/counter?_s=${sessionB}`);
    assert.equal(a.text('count'), '7');
    assert.equal(a.text('session'), sessionB);
    assert.equal(a.text('session-source'), 'url');
    // Path parameter form too.
    await a.go(`/counter;_s=${sessionB}`);
    assert.equal(a.text('count'), '7');
  });

  test('an unknown session starts a new one and says so', async () => {
    const b = new MiniBrowser(base, { cookies: false });
    await b.go('/counter?_s=AAAAAAAAAAAAAAAAAAAAAA.first&_k=whatever');
    assert.equal(b.current().status, 200);
    assert.notEqual(b.text('session'), 'AAAAAAAAAAAAAAAAAAAAAA.first');
    assert.match(b.current().body, /Your session has expired; a new one was started/);
    await b.go('/counter?_s=AAAAAAAAAAAAAAAAAAAAAA.second');
    assert.match(b.current().body, /not known on this node/);
  });

  test('ending the session forgets it', async () => {
    const b = new MiniBrowser(base, { cookies: true });
    await b.go('/counter');
    await b.click('increment');
    const old = b.text('session')!;
    await b.clickText('Home');
    await b.clickText('End session');
    assert.notEqual(b.text('session'), old);
    await b.go(`/counter?_s=${old}`);
    assert.equal(b.text('count'), '0');
  });

  test('the live-sessions endpoint counts sessions; stray requests create none', async () => {
    const count = async () => {
      const r = await request(`${base}/.well-known/stickylb/sessions`);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      const body = r.json<{ route: string; sessions: number }>();
      assert.equal(body.route, 'first');
      return body.sessions;
    };
    const n = await count();
    const miss = await request(`${base}/favicon.ico`);
    assert.equal(miss.status, 404);
    assert.equal(miss.headers['set-cookie'], undefined);
    assert.equal(await count(), n);
    await new MiniBrowser(base, { cookies: false }).go('/');
    assert.equal(await count(), n + 1);
    const post = await request(`${base}/.well-known/stickylb/sessions`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  test('odd requests get plain answers', async () => {
    assert.equal((await request(`${base}/counter`, { method: 'DELETE' })).status, 405);
    const big = await request(`${base}/form`, { method: 'POST', body: 'name=' + 'x'.repeat(20000), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(big.status, 413);
    const stale = await request(`${base}/form?_k=nope`, { method: 'POST', body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(stale.status, 303);
    const head = await request(`${base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });
});

describe('demo node start and stop', () => {
  test('SIGTERM and SIGINT close the server and exit 0', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const proc = startCli(['demo-node'], { PORT: '0', STICKYLB_ROUTE: 'r1' });
      const m = await proc.waitFor(LINE);
      // A keep-alive connection must not hold the process open.
      const agent = new (await import('node:http')).Agent({ keepAlive: true });
      assert.equal((await request(`${m[2]}/`, { agent })).status, 200);
      assert.equal(await proc.stop(signal), 0, `${signal}: ${proc.stderr}`);
      agent.destroy();
      await assert.rejects(request(`${m[2]}/`));
    }
  });

  test('--port and --route override PORT and STICKYLB_ROUTE', async () => {
    const proc = startCli(['demo-node', '--route', 'flagged', '--port', '0'], { PORT: '1', STICKYLB_ROUTE: 'env', HOST: '127.0.0.1' });
    const m = await proc.waitFor(LINE);
    assert.equal(m[1], 'flagged');
    const b = new MiniBrowser(m[2], { cookies: false });
    await b.go('/');
    assert.match(b.text('session')!, /\.flagged$/);
    assert.equal(await proc.stop(), 0);
  });

  test('a bad or missing route is refused at start-up with a clear message', async () => {
    const cases: [Record<string, string | undefined>, string[], RegExp][] = [
      [{ STICKYLB_ROUTE: undefined }, [], /STICKYLB_ROUTE is not set/],
      [{ STICKYLB_ROUTE: '' }, [], /STICKYLB_ROUTE is empty/],
      [{ STICKYLB_ROUTE: 'eu.first' }, [], /contains the session id separator "\."/],
      [{ STICKYLB_ROUTE: 'first' }, ['--route', 'no way'], /route "no way" contains " "/],
      [{ STICKYLB_ROUTE: 'first' }, ['--port', 'http'], /--port must be a port number/],
      [{ STICKYLB_ROUTE: 'first' }, ['--bogus'], /Unknown option/],
    ];
    for (const [env, args, message] of cases) {
      const proc = startCli(['demo-node', ...args], { PORT: '0', ...env });
      assert.equal(await proc.exited, 2, `${JSON.stringify(env)} ${args.join(' ')}: ${proc.stdout}${proc.stderr}`);
      assert.match(proc.stderr, message);
      assert.equal(proc.stdout, '');
    }
  });
});
