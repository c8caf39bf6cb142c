import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHealthExpect, compileHealthExpr, HealthExprError, parseHealthExpr } from '../../src/health/expr.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import type { RawConfig } from '../../src/config/schema.js';

const cases: [expr: string, status: number | undefined, body: string, expected: boolean][] = [
  ['status 200-399', 200, '', true],
  ['status 200-399', 399, '', true],
  ['status 200-399', 404, '', false],
  ['status 200', 200, '', true],
  ['status 200', 204, '', false],
  ['status 2xx', 204, '', true],
  ['status in 200,204', 204, '', true],
  ['status in 200, 204', 201, '', false],
  ['status in 2xx, 301-302', 302, '', true],
  ['status < 400', 399, '', true],
  ['status >= 500', 503, '', true],
  ['status != 503', 503, '', false],
  ['STATUS == 200', 200, '', true],
  ['status 200-399', undefined, '', false],
  ['body contains "ok"', 200, 'all ok', true],
  ['body contains "ok"', 200, 'fine', false],
  ["body contains 'say \\'hi\\''", 200, "they say 'hi'", true],
  ['body !contains "maintenance"', 200, 'up', true],
  ['body matches /^UP$/m', 200, 'x\nUP\ny', true],
  ['body matches "up|ready"', 200, 'ready', true],
  ['status 200 and body contains "ok"', 200, 'ok', true],
  ['status 200 and body contains "ok"', 500, 'ok', false],
  ['status 503 or body contains "ok"', 200, 'ok', true],
  ['!status 503', 200, '', true],
  ['not (status 5xx or status 404)', 404, '', false],
  ['(status 200 or status 204) and !body contains "down"', 204, 'up', true],
  ['status 200 or status 204 and false', 200, '', true],
  ['true', undefined, '', true],
  ['false', 200, '', false],
  // The forms Apache configs use (ProxyHCExpr).
  ['%{REQUEST_STATUS} =~ /^[234]/', 302, '', true],
  ['%{REQUEST_STATUS} =~ /^[234]/', 503, '', false],
  ["{hc('body') !~ /Under maintenance/i}", 200, 'UNDER MAINTENANCE', false],
  ["%{REQUEST_STATUS} -in {'200','204'}", 204, '', true],
  ['%{REQUEST_STATUS} -lt 400 && hc("body") =~ /ok/', 200, 'ok', true],
  ['status 200 || status 500', 500, '', true],
];

for (const [expr, status, body, expected] of cases) {
  test(`health expr: ${expr} with ${status ?? 'no status'}${body ? ` and body ${JSON.stringify(body)}` : ''} is ${expected}`, () => {
    assert.equal(compileHealthExpr(expr).test({ status, body }), expected);
  });
}

test('health expr: the default passes 2xx and 3xx only', () => {
  const e = compileHealthExpr();
  assert.equal(e.source, 'status 200-399');
  assert.deepEqual([199, 200, 302, 399, 400, 503].map((s) => e.test({ status: s, body: '' })), [false, true, true, true, false, false]);
  assert.equal(compileHealthExpr('  ').source, 'status 200-399');
});

test('health expr: usesBody tells probes when to read the body', () => {
  assert.equal(compileHealthExpr('status 200').usesBody, false);
  assert.equal(compileHealthExpr('status 200 and !(body contains "x")').usesBody, true);
  assert.equal(compileHealthExpr("hc('body') =~ /x/").usesBody, true);
});

const errors: [expr: string, message: RegExp][] = [
  ['', /^empty expression: expected a status or body test at column 1/],
  ['status', /after "status": expected a code \(200\), a range \(200-399\)/],
  ['status 700', /status code 700 is out of range 100\.\.599 at column 8/],
  ['status 300-200', /status range 300-200 is empty/],
  ['body contains ok', /expected a quoted string \("…" or '…'\), found "ok" at column 15/],
  ['body contains "ok', /unterminated string at column 15/],
  ['(status 200', /expected "\)" to close the "\(" at column 1, found end of expression at column 12/],
  ['status 200 and', /unexpected end: expected a status or body test at column 15/],
  ['status 200 foo', /unexpected "foo": expected "and", "or" or the end at column 12/],
  ['status 200 and or status 204', /unexpected "or": expected "status …", "body …"/],
  ['body =~ /[/', /invalid regular expression \/\[\/: Unterminated character class at column 9/],
  ['body =~ /abc', /unterminated regular expression at column 9/],
  ['body is "x"', /after "body": expected contains "TEXT", matches \/REGEX\//],
  ['status in 200,', /expected a status code, found end of expression/],
  ['headers contains "x"', /unexpected "headers": expected "status …", "body …"/],
];

for (const [expr, message] of errors) {
  test(`health expr: ${JSON.stringify(expr)} is a syntax error saying where and what`, () => {
    assert.throws(
      () => parseHealthExpr(expr),
      (e: unknown) => {
        assert.ok(e instanceof HealthExprError);
        assert.equal(e.code, 'ERR_STICKYLB_HEALTH_EXPR');
        assert.match(e.message, message);
        assert.ok(e.message.includes(JSON.stringify(expr)), 'the message quotes the expression');
        return true;
      },
    );
  });
}

test('health expr: checkHealthExpect accepts expressions and names, and explains unknown names', () => {
  const named = { ok234: '%{REQUEST_STATUS} =~ /^[234]/', broken: 'status 9' };
  assert.equal(checkHealthExpect('status 200'), undefined);
  assert.equal(checkHealthExpect('ok234', named), undefined);
  assert.equal(checkHealthExpect('true'), undefined);
  assert.match(checkHealthExpect('ok2345', named)!, /"ok2345" is neither a health expression nor the name of one in healthExpressions \(defined: ok234, broken\)/);
  assert.match(checkHealthExpect('broken', named)!, /^healthExpressions\.broken: status code 9 is out of range/);
  assert.match(checkHealthExpect('status')!, /after "status"/);
});

function cfg(health: Record<string, unknown>, extra: Partial<RawConfig> = {}): RawConfig {
  return {
    balancers: {
      c: {
        members: [
          { url: 'http://127.0.0.1:8081', route: 'first' },
          { url: 'http://127.0.0.1:8082', route: 'second', health: health as never },
        ],
      },
    },
    ...extra,
  };
}

function configErrors(raw: RawConfig): string[] {
  try {
    validateConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.diagnostics.map((d) => d.message);
  }
  assert.fail('expected a config error');
}

test('health config: an invalid expect is a config error naming the setting', () => {
  const msgs = configErrors(cfg({ method: 'GET', expect: 'status 200 and' }));
  assert.equal(msgs.length, 1);
  assert.match(msgs[0], /^balancers\.c\.members\[1\]\.health\.expect: unexpected end: expected a status or body test at column 15/);
});

test('health config: expect may name a healthExpressions entry, which is resolved to its text', () => {
  const model = validateConfig(cfg({ method: 'GET', expect: 'ok234' }, { healthExpressions: { ok234: '%{REQUEST_STATUS} =~ /^[234]/' } }));
  assert.equal(model.balancers.c.members[1].health?.expect, '%{REQUEST_STATUS} =~ /^[234]/');
});

test('health config: an unknown expression name and a broken named expression are reported once each', () => {
  assert.match(configErrors(cfg({ method: 'GET', expect: 'okay' }))[0], /members\[1\]\.health\.expect: "okay" is neither a health expression nor the name of one/);
  const msgs = configErrors(cfg({ method: 'GET', expect: 'bad' }, { healthExpressions: { bad: 'body contains' } }));
  assert.deepEqual(msgs.length, 1);
  assert.match(msgs[0], /^healthExpressions\.bad: expected a quoted string/);
});

test('health config: defaults follow Apache (30 s interval, 1 pass, 1 fail, 2xx/3xx)', () => {
  const h = validateConfig(cfg({ method: 'head' })).balancers.c.members[1].health!;
  assert.deepEqual(h, { method: 'HEAD', uri: '/', intervalMs: 30_000, timeoutMs: 10_000, passes: 1, fails: 1, expect: undefined });
  assert.equal(validateConfig(cfg({ method: 'GET' })).balancers.c.members[0].health, undefined);
  assert.match(configErrors(cfg({ method: 'TCP', interval: '50ms' }))[0], /interval: must be at least 100ms/);
});

test('health config: balancer retrybackoff is a cap, false turns back-off off, unset means the default', () => {
  const withCap = (v: unknown) => validateConfig({ balancers: { c: { retrybackoff: v as never, members: [{ url: 'http://127.0.0.1:1' }] } } }).balancers.c;
  assert.equal(withCap('10m').retryBackoffMaxMs, 600_000);
  assert.equal(withCap(120).retryBackoffMaxMs, 120_000);
  assert.equal(withCap(false).retryBackoffMaxMs, 0);
  assert.equal(withCap(true).retryBackoffMaxMs, undefined);
  assert.equal(withCap(undefined).retryBackoffMaxMs, undefined);
});
