// One table of request targets, read by every reader of the session URL parameter: the balancer's
// (urlParam, findRoute, the pick) and the application side's (urlParam of stickylb/cluster,
// readSessionId, and the sessions of createSessions). They must all read the same value, so that
// the application and the balancer can never name different sessions, or routes, for a request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRoute, urlParam as balancerUrlParam } from '../../src/balancer/sticky/route-id.js';
import { createCluster, createSessions, readSessionId, routeOf, urlParam as appUrlParam } from '../../src/cluster/index.js';
import { testBalancer } from '../helpers/core-state.js';

interface Case {
  target: string;
  /** Parameter name; default `_s`. */
  name?: string;
  /** The value read with scolonpathdelim off (the default). */
  value: string | undefined;
  /** The value read with scolonpathdelim on, when it differs. */
  semicolon?: string | undefined;
}

const CASES: Case[] = [
  // Query and path parameters.
  { target: '/app?_s=abc.first', value: 'abc.first' },
  { target: '?_s=abc.first', value: 'abc.first' },
  { target: '/app?_k=1&_s=abc.first&x=2', value: 'abc.first' },
  { target: '/app;_s=abc.first', value: 'abc.first' },
  { target: '/app;_s=abc.first?_k=1', value: 'abc.first' },
  { target: '/app;x=1;_s=abc.first', value: 'abc.first' },
  { target: '/app?x=1;_s=abc.first', value: 'abc.first' },
  { target: '/app?a=b?_s=abc.first', value: 'abc.first' },
  { target: '/app?_s=abc.first?x', value: 'abc.first' },
  { target: '/socket.io/?EIO=4&transport=polling&sid=abc.first', name: 'sid', value: 'abc.first' },
  // `/` does not end the value: the route then names no member, on both sides.
  { target: '/app;_s=abc.first/more', value: 'abc.first/more' },
  { target: '/app?_s=abc.first/more', value: 'abc.first/more' },
  { target: '/app;_s=abc.first/more;x=1', value: 'abc.first/more;x=1', semicolon: 'abc.first/more' },
  // `;` ends the value only with scolonpathdelim.
  { target: '/app;_s=abc.first;x=1', value: 'abc.first;x=1', semicolon: 'abc.first' },
  { target: '/app;jsessionid=ABC.first;foo=bar?x=1', name: 'jsessionid', value: 'ABC.first;foo=bar', semicolon: 'ABC.first' },
  { target: '/app?_s=abc.first;_s=two.second', value: 'abc.first;_s=two.second', semicolon: 'abc.first' },
  { target: '/app?_s=;_s=abc.first', value: ';_s=abc.first', semicolon: 'abc.first' },
  // Nothing is decoded: an escaped separator hides the route from both.
  { target: '/app?_s=abc%2Efirst', value: 'abc%2Efirst' },
  { target: '/app?_s=abc.%66irst', value: 'abc.%66irst' },
  { target: '/app?_s=abc.first%3Bx', value: 'abc.first%3Bx' },
  { target: '/app?_s=%E0%A4%A', value: '%E0%A4%A' },
  { target: '/app?_s=a+b.first', value: 'a+b.first' },
  { target: '/app?_s=abc.first+', value: 'abc.first+' },
  { target: '/app?%5Fs=abc.first', value: undefined },
  // Empty values are skipped; the leftmost non-empty value wins.
  { target: '/app?_s=', value: undefined },
  { target: '/app?_s=&x=1', value: undefined },
  { target: '/app?_s', value: undefined },
  { target: '/app?_s&_s=abc.first', value: 'abc.first' },
  { target: '/app?_s=&_s=abc.first', value: 'abc.first' },
  { target: '/app?_s=one.first&_s=two.second', value: 'one.first' },
  { target: '/app;_s=path.first?_s=query.second', value: 'path.first' },
  { target: '/app?_s==abc.first', value: '=abc.first' },
  { target: '/app?_s=abc.first=x', value: 'abc.first=x' },
  // Whole names only.
  { target: '/app?x_s=no.second', value: undefined },
  { target: '/app?x_s=no.second&_s=yes.first', value: 'yes.first' },
  { target: '/app;x_s=no.second;_s=yes.first', value: 'yes.first' },
  { target: '/app?_sx=no.second', value: undefined },
  { target: '/app?_s_=no.second&_s=yes.first', value: 'yes.first' },
  { target: '/app_s=no.second', value: undefined },
  { target: '/_s=no.second', value: undefined },
  { target: '/app?x=_s=no.second', value: undefined },
  { target: '/app?_S=no.second', value: undefined },
  { target: '/app?xsid=no.second&sid=yes.first', name: 'sid', value: 'yes.first' },
  // Fragments (clients do not send them, but a target may carry one): `#` ends the value.
  { target: '/app?_s=abc.first#frag', value: 'abc.first' },
  { target: '/app?_s=abc.first#x;y', value: 'abc.first' },
  { target: '/app?_s=#abc.first', value: undefined },
  // Where the fragment begins is not looked for: a name after `?` counts, as in Apache.
  { target: '/app#?_s=abc.first', value: 'abc.first' },
  // Nothing at all.
  { target: '', value: undefined },
  { target: '/', value: undefined },
  { target: '/app?x=1', value: undefined },
];

function expected(c: Case, scolonpathdelim: boolean): string | undefined {
  return scolonpathdelim && 'semicolon' in c ? c.semicolon : c.value;
}

function label(c: Case, scolonpathdelim: boolean): string {
  return `${JSON.stringify(c.target)} name=${c.name ?? '_s'} scolonpathdelim=${scolonpathdelim}`;
}

/** Every reader of the balancer, for one target: the value it reads, and the route. */
function balancerReads(c: Case, scolonpathdelim: boolean) {
  const name = c.name ?? '_s';
  const found = findRoute(c.target, undefined, { url: name }, '.', scolonpathdelim);
  const b = testBalancer(['first', 'second'], { stickysession: { url: name }, scolonpathdelim });
  const picked = b.pick(c.target).sticky;
  return {
    urlParam: balancerUrlParam(c.target, name, scolonpathdelim),
    findRoute: found.sessionId,
    pick: picked.sessionId,
    route: found.route,
    pickRoute: picked.route,
  };
}

/** Every reader of the application side, for one target. */
function appReads(c: Case, scolonpathdelim: boolean) {
  const name = c.name ?? '_s';
  const req = { url: c.target, headers: {} };
  const sessions = createSessions({ route: 'first', name, cookie: false, scolonpathdelim, create: () => ({}), sweepIntervalMs: 0 });
  const resumed = sessions.resume(req);
  sessions.close();
  const id = readSessionId(req, name, false, scolonpathdelim)?.id;
  return {
    urlParam: appUrlParam(c.target, name, scolonpathdelim),
    readSessionId: id,
    resume: resumed.unknownId,
    route: id === undefined ? undefined : routeOf(id),
  };
}

test('the balancer and the application side use the very same parser', () => {
  assert.equal(balancerUrlParam, appUrlParam);
});

for (const scolonpathdelim of [false, true]) {
  test(`every reader reads the same session id (scolonpathdelim ${scolonpathdelim ? 'on' : 'off'})`, () => {
    for (const c of CASES) {
      const want = expected(c, scolonpathdelim);
      const at = label(c, scolonpathdelim);
      const bal = balancerReads(c, scolonpathdelim);
      const app = appReads(c, scolonpathdelim);
      assert.equal(bal.urlParam, want, `balancer urlParam ${at}`);
      assert.equal(bal.findRoute, want, `balancer findRoute ${at}`);
      assert.equal(bal.pick, want, `balancer pick ${at}`);
      assert.equal(app.urlParam, want, `cluster urlParam ${at}`);
      assert.equal(app.readSessionId, want, `cluster readSessionId ${at}`);
      assert.equal(app.resume, want, `cluster sessions.resume ${at}`);
      // The same route on both sides (no case holds a character that makes a route unsafe).
      assert.equal(app.route, bal.route, `route ${at}`);
      assert.equal(bal.pickRoute, bal.route, `pick route ${at}`);
    }
  });
}

test('the application finds its session exactly when the balancer reads that session id', () => {
  // Node "first" holds the session abc.first; for every target it must find it if and only if the
  // balancer sends the request by that very session id (so a request the balancer scheduled
  // elsewhere, or by another route, never silently finds state here).
  const base = createCluster({ route: 'first' });
  for (const scolonpathdelim of [false, true]) {
    for (const c of CASES) {
      const name = c.name ?? '_s';
      const sessions = createSessions({
        cluster: { ...base, newSessionId: () => 'abc.first' },
        name,
        cookie: false,
        scolonpathdelim,
        create: () => ({}),
        sweepIntervalMs: 0,
      });
      sessions.create();
      const found = sessions.find({ url: c.target, headers: {} }) !== undefined;
      const balancerSession = findRoute(c.target, undefined, { url: name }, '.', scolonpathdelim).sessionId;
      assert.equal(found, balancerSession === 'abc.first', label(c, scolonpathdelim));
      sessions.close();
    }
  }
});

test('the application side keeps the balancer default: ; does not end the value', () => {
  const req = { url: '/app;_s=abc.first;x=1', headers: {} };
  assert.equal(readSessionId(req)?.id, 'abc.first;x=1');
  assert.equal(readSessionId(req, '_s', true, true)?.id, 'abc.first');
});

test('stickylb/cluster imports nothing from the rest of src/, and the shared parser imports nothing', () => {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cluster');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    const specs = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm)].map((m) => m[1]);
    if (file === 'session-param.ts') assert.deepEqual(specs, [], 'session-param.ts imports nothing');
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      const rel = relative(dir, resolve(dir, spec));
      assert.ok(!rel.startsWith('..'), `${file} imports ${spec}, outside src/cluster`);
    }
  }
});
