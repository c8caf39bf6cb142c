// The sticky lookup of the reference document ("Finding the route"), rule by rule: where the
// session id is read, what the route is, and what happens to known, unknown and unusable routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieValue, findRoute, routeOf, urlParam } from '../../src/balancer/sticky/route-id.js';
import { testBalancer } from '../helpers/core-state.js';

const S = { cookie: '_s', url: '_s' };

test('reference: URL value wins over the cookie', () => {
  const r = findRoute('/app?_s=abc.second', '_s=xyz.first', S, '.', false);
  assert.deepEqual(r, { sessionId: 'abc.second', route: 'second', name: '_s', source: 'url' });
  const b = testBalancer(['first', 'second'], { stickysession: '_s|_s' });
  for (let i = 0; i < 5; i++) assert.equal(b.who('/app?_s=abc.second', '_s=xyz.first'), 'second');
});

test('reference: the cookie is used when the URL has no session id', () => {
  assert.deepEqual(findRoute('/app?x=1', 'a=1; _s=xyz.first', S, '.', false), {
    sessionId: 'xyz.first',
    route: 'first',
    name: '_s',
    source: 'cookie',
  });
});

test('reference: route is what follows the first separator (a.b.second → b.second)', () => {
  assert.equal(routeOf('a.b.second', '.'), 'b.second');
  assert.equal(findRoute('/?_s=a.b.second', undefined, S, '.', false).route, 'b.second');
  // A member with route "second" is therefore not the session's member.
  const b = testBalancer(['first', 'second', 'b.second'], { stickysession: '_s' });
  for (let i = 0; i < 4; i++) assert.equal(b.who('/?_s=a.b.second'), 'b.second');
});

test('reference: a session id without separator has no route', () => {
  assert.equal(routeOf('abcdef', '.'), undefined);
  assert.equal(routeOf('abcdef.', '.'), undefined);
  const r = findRoute('/?_s=abcdef', '_s=x.first', S, '.', false);
  // The URL value is used (it wins) even though it names no route: the cookie is not consulted.
  assert.deepEqual(r, { sessionId: 'abcdef', name: '_s', source: 'url' });
});

test('reference: stickysessionsep Off makes the whole value the route', () => {
  assert.equal(routeOf('first', null), 'first');
  assert.equal(findRoute('/', 'ROUTEID=first', { cookie: 'ROUTEID' }, null, false).route, 'first');
  const b = testBalancer(['first', 'second'], { stickysession: 'ROUTEID', stickysessionsep: 'Off' });
  assert.equal(b.state.model.separator, null);
  for (let i = 0; i < 3; i++) assert.equal(b.who('/', 'ROUTEID=second'), 'second');
  // With the default separator the same cookie value names no route.
  const d = testBalancer(['first', 'second'], { stickysession: 'ROUTEID' });
  assert.equal(d.pick('/', 'ROUTEID=second').sticky.route, undefined);
});

test('reference: stickysessionsep sets another one-character separator', () => {
  const b = testBalancer(['first', 'second'], { stickysession: 'JSESSIONID|jsessionid', stickysessionsep: '!' });
  for (let i = 0; i < 3; i++) assert.equal(b.who('/', 'JSESSIONID=ABC!second'), 'second');
  assert.equal(b.pick('/', 'JSESSIONID=ABC.second').sticky.route, undefined);
});

test('reference: whole URL parameter names (x_s does not match _s)', () => {
  assert.equal(urlParam('/app?x_s=a.second', '_s', false), undefined);
  assert.equal(urlParam('/app?x_s=a.second&_s=b.first', '_s', false), 'b.first');
  assert.equal(urlParam('/app?_sx=a.second', '_s', false), undefined);
  assert.equal(urlParam('/app_s=a.second', '_s', false), undefined);
  const b = testBalancer(['first', 'second'], { stickysession: '_s' });
  // x_s is no session id: the cookie decides.
  for (let i = 0; i < 3; i++) assert.equal(b.who('/app?x_s=a.second', '_s=c.first'), 'first');
});

test('reference: the URL value ends at ? and & and is found after ? & or ;', () => {
  assert.equal(urlParam('/p?a=1&_s=abc.first&_k=xyz', '_s', false), 'abc.first');
  assert.equal(urlParam('/p?_s=abc.first?x', '_s', false), 'abc.first');
  assert.equal(urlParam('/p;_s=abc.first?_k=1', '_s', false), 'abc.first');
  assert.equal(urlParam('/p;jsessionid=ABC.node1', 'jsessionid', false), 'ABC.node1');
  // An empty value is no value: the next occurrence, or the cookie, is used.
  assert.equal(urlParam('/p?_s=&_s=abc.first', '_s', false), 'abc.first');
  assert.deepEqual(findRoute('/p?_s=', '_s=abc.second', S, '.', false).route, 'second');
});

test('reference: scolonpathdelim makes ; end the value (path parameters)', () => {
  const target = '/app;jsessionid=ABC.node1;foo=bar?x=1';
  assert.equal(urlParam(target, 'jsessionid', false), 'ABC.node1;foo=bar');
  assert.equal(urlParam(target, 'jsessionid', true), 'ABC.node1');
  const names = { cookie: 'JSESSIONID', url: 'jsessionid' };
  assert.equal(findRoute(target, undefined, names, '.', false).route, 'node1;foo=bar');
  assert.equal(findRoute(target, undefined, names, '.', true).route, 'node1');
  const on = testBalancer(['node1', 'node2'], { stickysession: 'JSESSIONID|jsessionid', scolonpathdelim: true, nofailover: true });
  for (let i = 0; i < 3; i++) assert.equal(on.who(target), 'node1');
});

test('reference: COOKIE|URLPARAM names are used each in its place', () => {
  const names = { cookie: 'JSESSIONID', url: 'jsessionid' };
  assert.equal(findRoute('/', 'JSESSIONID=ABC.node2', names, '.', false).route, 'node2');
  assert.equal(findRoute('/', 'jsessionid=ABC.node2', names, '.', false).route, undefined);
  assert.equal(findRoute('/?JSESSIONID=ABC.node2', undefined, names, '.', false).route, undefined);
  assert.deepEqual(findRoute('/x;jsessionid=ABC.node2', undefined, names, '.', false), {
    sessionId: 'ABC.node2',
    route: 'node2',
    name: 'jsessionid',
    source: 'url',
  });
});

test('reference: cookie names are case-sensitive', () => {
  assert.equal(cookieValue('_S=abc.first', '_s'), undefined);
  assert.equal(cookieValue('JSESSIONID=abc.first', 'jsessionid'), undefined);
  assert.equal(cookieValue('_S=abc.first; _s=abc.second', '_s'), 'abc.second');
});

test('reference: cookie first match wins', () => {
  assert.equal(cookieValue('_s=abc.first; _s=abc.second', '_s'), 'abc.first');
  assert.equal(cookieValue('a=b, _s=abc.second; _s=abc.first', '_s'), 'abc.second');
  const b = testBalancer(['first', 'second'], { stickysession: '_s' });
  for (let i = 0; i < 3; i++) assert.equal(b.who('/', '_s=abc.second; _s=abc.first'), 'second');
});

test('reference: a cookie name must start a cookie; quotes and spaces around = are removed', () => {
  assert.equal(cookieValue('x_s=abc.first', '_s'), undefined);
  assert.equal(cookieValue('x_s=abc.first;_s=abc.second', '_s'), 'abc.second');
  assert.equal(cookieValue('_s = "abc.first"', '_s'), 'abc.first');
  assert.equal(cookieValue('other=1;\t_s=abc.first', '_s'), 'abc.first');
  assert.equal(cookieValue('_sx=1', '_s'), undefined);
  assert.equal(cookieValue(undefined, '_s'), undefined);
});

test('reference: control characters in a route → no route', () => {
  for (const bad of ['fir\tst', 'fir\x01st', 'fir\x7fst', 'fir st', '\x00']) {
    const r = findRoute('/', `_s=abc.${bad}`, S, '.', false);
    assert.equal(r.route, undefined, JSON.stringify(bad));
    assert.equal(r.sessionId, `abc.${bad}`.trim() || undefined);
  }
  const b = testBalancer(['first', 'second'], { stickysession: '_s', nofailover: true });
  b.m.first.flags.D = true;
  // Not a route: ordinary scheduling, never the nofailover 503 of the route "first".
  const out = b.pick('/', '_s=abc.first\x01');
  assert.equal(out.kind, 'member');
  assert.equal(out.kind === 'member' && out.member.route, 'second');
  assert.equal(out.sticky.route, undefined);
});

test('reference: the route is used only when stickysession is set', () => {
  const b = testBalancer(['first', 'second']);
  assert.deepEqual(b.sequence(4), ['first', 'second', 'first', 'second']);
  const out = b.pick('/?_s=abc.second', '_s=abc.second');
  assert.equal(out.kind === 'member' && out.stickyHit, false);
  assert.deepEqual(out.sticky, {});
  // Without stickysession there is no route to change (Apache sets no BALANCER_ROUTE_CHANGED).
  assert.equal(out.kind === 'member' && out.routeChanged, false);
});

test('reference: a usable route member is used, elected goes up, the route is unchanged', () => {
  const b = testBalancer(['first', 'second'], { stickysession: '_s', nofailover: true });
  for (let i = 0; i < 10; i++) {
    const out = b.pick('/', '_s=abc.second');
    assert.equal(out.kind, 'member');
    if (out.kind !== 'member') return;
    assert.equal(out.member, b.m.second);
    assert.equal(out.stickyHit, true);
    assert.equal(out.routeChanged, false);
  }
  assert.equal(b.m.second.elected, 10);
  assert.equal(b.m.first.elected, 0);
});

test('reference: route matching is exact and case-sensitive', () => {
  const b = testBalancer(['first', 'second'], { stickysession: '_s', nofailover: true });
  const out = b.pick('/', '_s=abc.Second');
  assert.equal(out.kind === 'member' && out.stickyHit, false);
  assert.equal(out.sticky.route, 'Second');
  assert.equal(b.pick('/', '_s=abc.secon').sticky.route, 'secon');
});

test('reference: unknown route → ordinary scheduling with nofailover On', () => {
  const b = testBalancer(['first', 'second'], { stickysession: '_s', nofailover: true });
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const out = b.pick('/', '_s=abc.third');
    assert.equal(out.kind, 'member');
    if (out.kind !== 'member') return;
    assert.equal(out.stickyHit, false);
    assert.equal(out.routeChanged, true);
    seen.add(out.member.route);
  }
  assert.deepEqual([...seen].sort(), ['first', 'second']);
});

test('reference: unknown route → ordinary scheduling with nofailover Off', () => {
  const b = testBalancer(['first', 'second'], { stickysession: '_s' });
  assert.deepEqual(
    Array.from({ length: 4 }, () => b.who('/', '_s=abc.third')),
    ['first', 'second', 'first', 'second'],
  );
});

test('reference: nofailover On → 503 when the route member is known but not usable', () => {
  for (const flag of ['D', 'S', 'E', 'C'] as const) {
    const b = testBalancer(['first', 'second'], { stickysession: '_s', nofailover: true });
    b.m.first.flags[flag] = true;
    if (flag === 'E') b.m.first.errorTime = b.clock.now;
    const out = b.pick('/', '_s=abc.first');
    assert.equal(out.kind, 'refused-nofailover', flag);
    assert.equal(out.sticky.route, 'first');
    assert.equal(b.state.refused, 1);
    // Sessions of the other member and new sessions are not affected.
    assert.equal(b.who('/', '_s=abc.second'), 'second');
    assert.equal(b.who('/'), 'second');
  }
});

test('reference: nofailover Off → ordinary scheduling when the route member is not usable', () => {
  const b = testBalancer(['first', 'second', 'third'], { stickysession: '_s' });
  b.m.first.flags.D = true;
  const out = b.pick('/', '_s=abc.first');
  assert.equal(out.kind, 'member');
  if (out.kind !== 'member') return;
  assert.notEqual(out.member, b.m.first);
  assert.equal(out.stickyHit, false);
  assert.equal(out.routeChanged, true);
});

test('reference: known but unusable route with redirect= → redirect member', () => {
  const b = testBalancer([['first', { redirect: 'third' }], 'second', 'third'], { stickysession: '_s', nofailover: true });
  // Usable: its own member.
  assert.equal(b.who('/', '_s=abc.first'), 'first');
  b.m.first.flags.D = true;
  for (let i = 0; i < 5; i++) {
    const out = b.pick('/', '_s=abc.first');
    assert.equal(out.kind === 'member' && out.member.route, 'third');
    assert.equal(out.kind === 'member' && out.stickyHit, true);
    // The member's route differs from the requested one.
    assert.equal(out.kind === 'member' && out.routeChanged, true);
  }
  // The redirect member unusable too: nofailover answers 503.
  b.m.third.flags.S = true;
  assert.equal(b.who('/', '_s=abc.first'), 'refused-nofailover');
});

test('reference: redirect chains are followed and cycles end', () => {
  const b = testBalancer(
    [
      ['a', { redirect: 'b' }],
      ['b', { redirect: 'c' }],
      ['c', { redirect: 'a' }],
      'd',
    ],
    { stickysession: '_s', nofailover: true },
  );
  b.m.a.flags.D = true;
  b.m.b.flags.D = true;
  assert.equal(b.who('/', '_s=x.a'), 'c');
  b.m.c.flags.D = true;
  // a → b → c → a … all unusable: the lookup ends and nofailover refuses.
  assert.equal(b.who('/', '_s=x.a'), 'refused-nofailover');
});

test('reference: the route lookup tries non-standby members first, then hot standbys', () => {
  const b = testBalancer([['shared', { status: '+H' }], 'shared', 'other'], { stickysession: '_s', nofailover: true });
  const [standby, main] = b.state.members;
  for (let i = 0; i < 3; i++) assert.equal((b.pick('/', '_s=x.shared') as { member: unknown }).member, main);
  main.flags.D = true;
  assert.equal((b.pick('/', '_s=x.shared') as { member: unknown }).member, standby);
});

test('reference: a drained member still takes its sticky sessions', () => {
  const b = testBalancer([['first', { status: '+N' }], 'second'], { stickysession: '_s', nofailover: true });
  for (let i = 0; i < 5; i++) assert.equal(b.who('/', '_s=abc.first'), 'first');
  // And is never picked for new sessions.
  assert.deepEqual(b.sequence(6), Array(6).fill('second'));
});

test('reference: a sticky hit takes part in byrequests accounting', () => {
  const b = testBalancer(['a', 'b'], { stickysession: '_s' });
  // Two sticky hits on a: a.lbstatus = 2 - 4 = -2, b.lbstatus = 2.
  b.who('/', '_s=x.a');
  b.who('/', '_s=x.a');
  assert.equal(b.m.a.lbstatus, -2);
  assert.equal(b.m.b.lbstatus, 2);
  // New sessions then go to b until the balance is restored.
  assert.deepEqual(b.sequence(4), ['b', 'b', 'a', 'b']);
});

test('reference: BALANCER_ROUTE_CHANGED is set when no route was used', () => {
  const b = testBalancer(['first', 'second'], { stickysession: '_s' });
  const out = b.pick('/');
  assert.equal(out.kind === 'member' && out.routeChanged, true);
  assert.equal(out.kind === 'member' && out.stickyHit, false);
});
