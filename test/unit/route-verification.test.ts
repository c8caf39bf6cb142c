// Route verification without sockets: the session ids an answer issues (read from name/value
// pairs and from the lean engine's field positions alike), and what the failover core makes of
// them (counted mismatches, reports at most once per member per interval, the badge's state).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issuedIds, setCookieValue } from '../../src/proxy/core/issued-ids.js';
import { parseResponseHead } from '../../src/proxy/h1/response-head.js';
import { ParseError } from '../../src/proxy/h1/parse-error.js';
import { BalancerState, ROUTE_MISMATCH_REPORT_MS, type RouteMismatchReport } from '../../src/balancer/balancer-state.js';
import { Failover } from '../../src/proxy/core/failover.js';
import { RequestRecord } from '../../src/proxy/core/record.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawBalancer } from '../../src/config/schema.js';
import { describeRouteMismatch } from '../../src/health/log-lines.js';
import { parseApacheConfig } from '../../src/config/apache/index.js';

const names = { cookie: '_s', url: '_s' };

function leanFields(head: string) {
  const r = parseResponseHead(head);
  if (r instanceof ParseError) throw new Error(r.reason);
  return r.fields;
}

test('issued ids: the sticky cookie of Set-Cookie and the sticky parameter of Location, from pairs and from head positions', () => {
  const pairs = ['Content-Type', 'text/html', 'set-cookie', 'other=1; Path=/', 'Set-Cookie', '_s=abc.first; Path=/; HttpOnly', 'LOCATION', 'http://h/app?x=1&_s=def.second'];
  const want = [
    { where: 'cookie', name: '_s', value: 'abc.first' },
    { where: 'url', name: '_s', value: 'def.second' },
  ];
  assert.deepEqual(issuedIds(pairs, names, false), want);
  const head = 'HTTP/1.1 302 Found\r\nContent-Type: text/html\r\nset-cookie: other=1; Path=/\r\nSet-Cookie: _s=abc.first; Path=/; HttpOnly\r\nLOCATION: http://h/app?x=1&_s=def.second\r\nContent-Length: 0\r\n\r\n';
  assert.deepEqual(issuedIds(leanFields(head), names, false), want);
  // Nothing to see: undefined, without building anything.
  assert.equal(issuedIds(['Content-Type', 'text/plain', 'X-Location', '?_s=a.b'], names, false), undefined);
  assert.equal(issuedIds(leanFields('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), names, false), undefined);
  // Only the names the balancer is sticky on.
  assert.deepEqual(issuedIds(['Set-Cookie', '_s=abc.first', 'Location', '/x;jsessionid=j.r'], { cookie: 'JSESSIONID', url: 'jsessionid' }, false), [{ where: 'url', name: 'jsessionid', value: 'j.r' }]);
});

test('issued ids: cookies sent to be removed, empty values and quotes', () => {
  assert.equal(setCookieValue('_s=; Max-Age=0; Path=/', '_s'), undefined);
  assert.equal(setCookieValue('_s=abc.first; Max-Age=0', '_s'), undefined);
  assert.equal(setCookieValue('_s=abc.first; max-age=3600', '_s'), 'abc.first');
  assert.equal(setCookieValue('_s="abc.first"; Path=/', '_s'), 'abc.first');
  assert.equal(setCookieValue('x_s=abc.first', '_s'), undefined);
  assert.equal(setCookieValue(' _s =abc.first', '_s'), 'abc.first');
});

function balancer(settings: Partial<RawBalancer> = {}) {
  const model = validateConfig({
    balancers: {
      c: {
        stickysession: '_s',
        ...settings,
        members: [
          { url: 'http://127.0.0.1:1', route: 'first' },
          { url: 'http://127.0.0.1:2', route: 'second' },
        ],
      },
    },
  }).balancers.c;
  const clock = { now: 1_700_000_000_000 };
  const state = new BalancerState(model, () => clock.now);
  const reports: RouteMismatchReport[] = [];
  state.events.on('route-mismatch', (r: RouteMismatchReport) => reports.push(r));
  /** One request (with `cookie`) answered by the member with `answer` pairs; returns its member. */
  const exchange = (answer: string[], cookie?: string) => {
    const fo = new Failover(state, new RequestRecord('h1-node'), { target: '/', cookie }, clock.now);
    const step = fo.pick();
    assert.equal(step.kind, 'attempt');
    fo.answered(200, answer);
    fo.done(0, 0);
    return step.kind === 'attempt' ? step.member : undefined;
  };
  return { state, clock, reports, exchange, first: state.members[0], second: state.members[1] };
}

test('route verification: ids with another route or none are counted; reported at most once per member per interval', () => {
  const { clock, reports, exchange, first, second } = balancer();
  // New sessions go round robin: first, then second.
  assert.equal(exchange(['Set-Cookie', '_s=a1.second; Path=/']), first);
  assert.equal(first.routeMismatches, 1);
  assert.deepEqual(first.lastRouteMismatch, { issued: 'second', expected: 'first', where: 'cookie', name: '_s', at: clock.now });
  assert.equal(first.hasRouteMismatch(), true);
  assert.equal(reports.length, 1);
  assert.equal(reports[0].count, 1);
  assert.equal(exchange(['Location', '/app?_s=b1']), second, 'the round robin goes on');
  assert.equal(second.routeMismatches, 1);
  assert.equal(second.lastRouteMismatch?.issued, '', 'no route at all');
  assert.equal(reports.length, 2, 'one report per member');

  clock.now += 1000;
  exchange(['Set-Cookie', '_s=a2.second']);
  assert.equal(first.routeMismatches, 2);
  assert.equal(reports.length, 2, 'not reported again within the interval');
  clock.now += ROUTE_MISMATCH_REPORT_MS;
  exchange(['Set-Cookie', '_s=b2']);
  exchange(['Set-Cookie', '_s=a3.second']);
  assert.equal(reports.length, 4);
  assert.deepEqual(
    reports.slice(2).map((r) => [r.memberUrl, r.count, r.total]),
    [
      ['http://127.0.0.1:2', 1, 2],
      ['http://127.0.0.1:1', 2, 3],
    ],
  );
});

test('route verification: an id with the member\'s own route clears the badge; the count stays', () => {
  const { exchange, first } = balancer();
  exchange(['Set-Cookie', '_s=a1.second']);
  assert.equal(first.hasRouteMismatch(), true);
  exchange(['Set-Cookie', '_s=b1.second']);
  exchange(['Set-Cookie', '_s=a2.first']);
  assert.equal(first.hasRouteMismatch(), false);
  assert.equal(first.routeMismatches, 1);
});

test('route verification: the request\'s own session passed on after failover is no mismatch', () => {
  const { state, exchange, first, second } = balancer();
  state.setFlag(first, 'D', true, 'test');
  // A session of route first; first is disabled, so second answers and passes the session on.
  assert.equal(exchange(['Set-Cookie', '_s=s1.first'], '_s=s1.first'), second);
  assert.equal(second.routeMismatches, 0);
  // A third route is still a mismatch.
  exchange(['Set-Cookie', '_s=s1.third'], '_s=s1.first');
  assert.equal(second.routeMismatches, 1);
});

test('route verification: off with routecheck: false, and nothing to verify without stickysession or a member route', () => {
  const off = balancer({ routecheck: false });
  off.exchange(['Set-Cookie', '_s=a1.second']);
  assert.equal(off.first.routeMismatches, 0);
  assert.equal(off.reports.length, 0);
  const notSticky = balancer({ stickysession: undefined });
  notSticky.exchange(['Set-Cookie', '_s=a1.second']);
  assert.equal(notSticky.first.routeMismatches, 0);
  const sep = balancer({ stickysessionsep: 'Off' });
  sep.exchange(['Set-Cookie', '_s=first']);
  assert.equal(sep.first.routeMismatches, 0, 'stickysessionsep=Off: the whole value is the route');
});

test('route verification: on by default under Apache syntax too; routecheck=Off on the ProxyPass line turns it off [route-verification]', () => {
  const conf = (params: string) =>
    validateConfig(parseApacheConfig(`<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 route=first\n</Proxy>\nProxyPass / balancer://c/ stickysession=_s ${params}\n`, 'a.conf').raw);
  assert.equal(conf('').balancers.c.routeCheck, true);
  assert.equal(conf('routecheck=Off').balancers.c.routeCheck, false);
  assert.equal(validateConfig({ balancers: { c: { members: [] } } }).balancers.c.routeCheck, true);
});

test('route verification: the warning names both routes, where the id was, and the likely fix', () => {
  const { reports, exchange, state } = balancer();
  exchange(['Set-Cookie', '_s=a1.second']);
  const line = describeRouteMismatch(reports[0], state.members[1]);
  assert.equal(line.level, 'warn');
  assert.equal(
    line.msg,
    'member http://127.0.0.1:1 route=first: issues session ids with route "second" (cookie _s in Set-Cookie), not its own "first": the requests of those sessions go to http://127.0.0.1:2, the member with route second; give the node its route: Seaside WAAdmin makeAllClusteredWith: \'first\', Tomcat jvmRoute="first", stickylb/cluster STICKYLB_ROUTE=first; or correct route= in the config (once so far, reported at most every 5m; routecheck: false turns the check off)',
  );
  assert.deepEqual(line.fields, { balancer: 'c', member: 'http://127.0.0.1:1', route: 'first', issuedRoute: 'second', where: 'cookie', name: '_s', count: 1, total: 1 });
  exchange(['Location', '/x?_s=b1']);
  assert.match(describeRouteMismatch(reports[1]).msg, /^member http:\/\/127\.0\.0\.1:2 route=second: issues session ids without a route \(URL parameter _s in Location\) although its route is "second": the requests of those sessions do not stick to it;/);
});
