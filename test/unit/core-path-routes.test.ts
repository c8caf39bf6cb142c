// Request path normalisation before ProxyPass matching, and the rule matching itself: config
// order, `!` exclusions, segment boundaries, and the upstream path a rule produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadPathError, decodeUnreserved, matchesPrefix, normaliseTarget, removeDotSegments } from '../../src/proxy/path.js';
import { matchRoute, joinPath } from '../../src/proxy/routes.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';

function site(raw: Omit<RawConfig, 'balancers'> = {}) {
  return validateConfig({
    balancers: { c: { members: [{ url: 'http://127.0.0.1:8081', route: 'first' }] } },
    proxyPass: [
      { path: '/static', to: '!' },
      { path: '/', to: 'balancer://c/' },
    ],
    ...raw,
  }).sites[0];
}

/** What a request target ends up as: the rule kind and, for proxied ones, the upstream path. */
function route(s: ReturnType<typeof site>, target: string): string {
  const { path, query } = normaliseTarget(target);
  const m = matchRoute(s, path);
  if (m.kind === 'proxy') return `proxy ${m.upstreamPath}${query === undefined ? '' : `?${query}`}`;
  if (m.kind === 'handler') return `handler ${m.handler.handler}`;
  return m.kind;
}

test('path: /x/../static, //static and /%73tatic all hit a /static ! exclusion', () => {
  const s = site();
  for (const t of ['/static', '/static/app.css', '/x/../static', '/x/../static/app.css', '//static', '//static//app.css', '/%73tatic/app.css', '/%73%74atic', '/./static', '/static/./x', '/a/b/../../static/x', '/x/%2e%2e/static/y', '/static;jsessionid=1']) {
    assert.equal(route(s, t), 'exclude', t);
  }
  assert.equal(route(s, '/staticfiles/x'), 'proxy /staticfiles/x');
  assert.equal(route(s, '/app/../x?_s=1.first'), 'proxy /x?_s=1.first');
});

test('path: above-root and bad escapes are errors', () => {
  for (const t of ['/..', '/../static', '/x/../../static', '/%2e%2e/static', '/%zz', '/%2', '/abc%', '/%00x']) {
    assert.throws(() => normaliseTarget(t), BadPathError, t);
  }
  assert.throws(() => normaliseTarget('static'), BadPathError);
});

test('path: reserved escapes stay encoded (upper-cased), unreserved ones are decoded', () => {
  assert.equal(decodeUnreserved('/a%2fb%41%7e%2D'), '/a%2Fb' + 'A~-');
  assert.equal(normaliseTarget('/a%2fb').path, '/a%2Fb');
  // %2F is no path separator: /static%2Fx is not under /static.
  assert.equal(route(site(), '/static%2Fx'), 'proxy /static%2Fx');
  assert.equal(normaliseTarget('/x?a=%2e%2e/..').query, 'a=%2e%2e/..');
});

test('path: dot segments and repeated slashes as RFC 3986, the trailing slash kept', () => {
  assert.equal(removeDotSegments('/a/b/../c/./d'), '/a/c/d');
  assert.equal(removeDotSegments('/a/b/..'), '/a/');
  assert.equal(removeDotSegments('/a/.'), '/a/');
  assert.equal(removeDotSegments('//a///b/'), '/a/b/');
  assert.equal(removeDotSegments('/.well-known/x'), '/.well-known/x');
  assert.equal(normaliseTarget('/').path, '/');
});

test('routes: ProxyPass matches on segment boundaries (/app not /application)', () => {
  assert.equal(matchesPrefix('/app', '/app'), true);
  assert.equal(matchesPrefix('/app/x', '/app'), true);
  assert.equal(matchesPrefix('/app;jsessionid=1', '/app'), true);
  assert.equal(matchesPrefix('/application', '/app'), false);
  assert.equal(matchesPrefix('/ap', '/app'), false);
  assert.equal(matchesPrefix('/app/x', '/app/'), true);
  assert.equal(matchesPrefix('/app', '/app/'), false);
  const s = site({
    proxyPass: [
      { path: '/app', to: 'balancer://c/seaside' },
      { path: '/', to: '!' },
    ],
  });
  assert.equal(route(s, '/app'), 'proxy /seaside');
  assert.equal(route(s, '/app/x?y=1'), 'proxy /seaside/x?y=1');
  assert.equal(route(s, '/app;_s=a.first'), 'proxy /seaside;_s=a.first');
  assert.equal(route(s, '/application'), 'exclude');
  // Matching is case-sensitive.
  assert.equal(route(s, '/APP/x'), 'exclude');
});

test('routes: rules are tried in config order, first match wins (exclusions must come first)', () => {
  const late = site({
    proxyPass: [
      { path: '/', to: 'balancer://c/' },
      { path: '/static', to: '!' },
    ],
  });
  assert.equal(route(late, '/static/x'), 'proxy /static/x');
  assert.equal(route(site(), '/static/x'), 'exclude');
});

test('routes: the upstream path joins the target path and the rest without doubling slashes', () => {
  assert.equal(joinPath('/', '/x'), '/x');
  assert.equal(joinPath('/', ''), '/');
  assert.equal(joinPath('', '/x'), '/x');
  assert.equal(joinPath('', ''), '/');
  assert.equal(joinPath('/base', '/x'), '/base/x');
  assert.equal(joinPath('/base/', '/x'), '/base/x');
  assert.equal(joinPath('/base', 'x'), '/base/x');
  assert.equal(joinPath('/base', ';a=1'), '/base;a=1');
  const s = site({ proxyPass: [{ path: '/app/', to: 'balancer://c/' }] });
  assert.equal(route(s, '/app/landing'), 'proxy /landing');
  assert.equal(route(s, '/app/'), 'proxy /');
  assert.equal(route(s, '/app'), 'none');
});

test('routes: ProxyPassMatch with $1 and a match exclusion', () => {
  const s = site({
    proxyPass: [
      { match: '\\.(png|css)$', to: '!' },
      { match: '^/u/([^/]+)/(.*)$', to: 'balancer://c/users/$1?p=$2' },
      { path: '/', to: 'balancer://c/' },
    ],
  });
  assert.equal(route(s, '/img/a.png'), 'exclude');
  assert.equal(route(s, '/u/bob/x'), 'proxy /users/bob?p=x');
  assert.equal(route(s, '/other'), 'proxy /other');
});

test('routes: built-in handlers win over ProxyPass /', () => {
  const s = site({ manager: { path: '/balancer-manager' }, proxyPass: [{ path: '/', to: 'balancer://c/' }] });
  assert.equal(route(s, '/balancer-manager'), 'handler balancer-manager');
  assert.equal(route(s, '/x/../balancer-manager?b=c'), 'handler balancer-manager');
  assert.equal(route(s, '/balancer-managerx'), 'proxy /balancer-managerx');
});
