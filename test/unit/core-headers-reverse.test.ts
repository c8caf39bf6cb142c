// Header handling of the forwarder (hop-by-hop removal, X-Forwarded-* as Apache) and
// ProxyPassReverse / ProxyPassReverseCookiePath / CookieDomain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downstreamResponseHeaders, upstreamRequestHeaders, type UpstreamHeaderOptions } from '../../src/proxy/headers.js';
import { memberHostHeader } from '../../src/config/member-url.js';
import { reverseCookie, reverseUrl, rewriteResponseHeaders } from '../../src/proxy/reverse-rewrite.js';
import { validateConfig } from '../../src/config/validate.js';
import type { RawConfig } from '../../src/config/schema.js';

const opts: UpstreamHeaderOptions = {
  clientIp: '192.0.2.7',
  host: 'www.example.org',
  upstreamHost: '10.0.0.1:8080',
  serverName: 'lb.example.org',
  proto: 'http',
};

/** Flat [name, value, …] array to a list of "Name: value" lines, for readable comparisons. */
const lines = (flat: string[]) => Array.from({ length: flat.length / 2 }, (_, i) => `${flat[2 * i]}: ${flat[2 * i + 1]}`);

test('headers: hop-by-hop headers are removed, with the headers named in Connection', () => {
  const raw = [
    'Host', 'www.example.org',
    'Connection', 'keep-alive, X-Secret , x-other',
    'Keep-Alive', 'timeout=5',
    'Proxy-Authorization', 'Basic eA==',
    'Proxy-Connection', 'keep-alive',
    'Transfer-Encoding', 'chunked',
    'Upgrade', 'h2c',
    'Trailer', 'X-Sum',
    'HTTP2-Settings', 'AAA',
    'X-Secret', 'drop me',
    'X-Other', 'drop me too',
    'Cookie', '_s=abc.first',
    'Accept', '*/*',
    'Authorization', 'Basic dTpw',
  ];
  assert.deepEqual(lines(upstreamRequestHeaders(raw, opts)), [
    'Cookie: _s=abc.first',
    'Accept: */*',
    'Authorization: Basic dTpw',
    'Host: 10.0.0.1:8080',
    'X-Forwarded-For: 192.0.2.7',
    'X-Forwarded-Host: www.example.org',
    'X-Forwarded-Server: lb.example.org',
    'X-Forwarded-Proto: http',
  ]);
});

test('headers: TE is dropped except for "trailers"', () => {
  const withTrailers = lines(upstreamRequestHeaders(['TE', 'gzip, trailers'], opts));
  assert.ok(withTrailers.includes('TE: trailers'));
  assert.ok(!lines(upstreamRequestHeaders(['TE', 'gzip'], opts)).some((l) => l.startsWith('TE')));
});

test('headers: a client\'s own X-Forwarded-* and Forwarded are replaced by ours; X-Forwarded-Proto is our own [forwarded-proto] [forwarded-trust]', () => {
  const raw = ['X-Forwarded-For', '203.0.113.1', 'x-forwarded-for', '198.51.100.2', 'X-Forwarded-Host', 'a.example', 'X-Forwarded-Server', 'edge', 'X-Forwarded-Proto', 'https', 'Forwarded', 'for=203.0.113.1'];
  const out = lines(upstreamRequestHeaders(raw, opts));
  assert.deepEqual(out.filter((l) => l.startsWith('X-Forwarded') || l.startsWith('Forwarded')), [
    'X-Forwarded-For: 192.0.2.7',
    'X-Forwarded-Host: www.example.org',
    'X-Forwarded-Server: lb.example.org',
    'X-Forwarded-Proto: http',
  ]);
});

test('headers: from a declared proxy X-Forwarded-For, -Host and -Server are kept and extended as Apache merges them, its X-Forwarded-Proto kept [forwarded-trust]', () => {
  const raw = ['X-Forwarded-For', '203.0.113.1', 'x-forwarded-for', '198.51.100.2', 'X-Forwarded-Host', 'a.example', 'X-Forwarded-Server', 'edge', 'X-Forwarded-Proto', 'https', 'Forwarded', 'for=203.0.113.1;proto=https'];
  const out = lines(upstreamRequestHeaders(raw, { ...opts, viaProxy: true, forwarded: true }));
  assert.deepEqual(out.filter((l) => l.startsWith('X-Forwarded') || l.startsWith('Forwarded')), [
    'X-Forwarded-For: 203.0.113.1, 198.51.100.2, 192.0.2.7',
    'X-Forwarded-Host: a.example, www.example.org',
    'X-Forwarded-Server: edge, lb.example.org',
    'X-Forwarded-Proto: https',
    'Forwarded: for=203.0.113.1;proto=https, for=192.0.2.7;host=www.example.org;proto=http',
  ]);
  // Kept as it came without the Forwarded option; an IPv6 client is quoted and bracketed.
  assert.ok(lines(upstreamRequestHeaders(raw, { ...opts, viaProxy: true })).includes('Forwarded: for=203.0.113.1;proto=https'));
  assert.ok(lines(upstreamRequestHeaders([], { ...opts, clientIp: '2001:db8::1', forwarded: true })).includes('Forwarded: for="[2001:db8::1]";host=www.example.org;proto=http'));
});

test('headers: ProxyPreserveHost sends the client Host; clients cannot forge X-Stickylb-* headers', () => {
  const out = lines(
    upstreamRequestHeaders(['host', 'www.example.org', 'X-Stickylb-Route', 'forged', 'x-stickylb-member', 'forged'], {
      ...opts,
      upstreamHost: 'www.example.org',
      extra: [['X-Stickylb-Route', 'first']],
    }),
  );
  assert.ok(out.includes('Host: www.example.org'));
  assert.deepEqual(out.filter((l) => /^x-stickylb/i.test(l)), ['X-Stickylb-Route: first']);
});

test('headers: the Host for a member brackets IPv6 addresses and leaves out the default port', () => {
  assert.equal(memberHostHeader({ hostname: '10.0.0.1', port: 8080, protocol: 'http:' }), '10.0.0.1:8080');
  assert.equal(memberHostHeader({ hostname: 'app.internal', port: 80, protocol: 'http:' }), 'app.internal');
  assert.equal(memberHostHeader({ hostname: 'app.internal', port: 443, protocol: 'https:' }), 'app.internal');
  assert.equal(memberHostHeader({ hostname: 'app.internal', port: 80, protocol: 'https:' }), 'app.internal:80');
  assert.equal(memberHostHeader({ hostname: '::1', port: 8080, protocol: 'http:' }), '[::1]:8080');
});

test('headers: a WebSocket handshake keeps Upgrade and Connection', () => {
  const out = lines(upstreamRequestHeaders(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'], { ...opts, upgrade: true }));
  assert.deepEqual(out.slice(0, 3), ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Key: k']);
});

test('headers: response hop-by-hop headers are removed, Trailer is kept for trailers', () => {
  const raw = ['Connection', 'close, X-Internal', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Trailer', 'X-Sum', 'X-Internal', '1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Type', 'text/plain'];
  assert.deepEqual(lines(downstreamResponseHeaders(raw)), ['Trailer: X-Sum', 'Set-Cookie: a=1', 'Set-Cookie: b=2', 'Content-Type: text/plain']);
});

// ---- ProxyPassReverse ----

function site(raw: Partial<RawConfig>, memberUrls = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080']) {
  return validateConfig({
    balancers: { c: { members: memberUrls.map((url) => ({ url })) } },
    proxyPass: [{ path: '/', to: 'balancer://c/' }],
    ...raw,
  }).sites[0];
}

test('reverse: member URL + balancer path → local path, made absolute with Host', () => {
  const s = site({ proxyPassReverse: [{ path: '/', to: 'balancer://c/' }] });
  assert.equal(reverseUrl(s, 'http://10.0.0.1:8080/landing?x=1', 'www.example.org'), 'http://www.example.org/landing?x=1');
  assert.equal(reverseUrl(s, 'http://10.0.0.2:8080/', 'www.example.org:8443'), 'http://www.example.org:8443/');
  // Member URLs match case-insensitively.
  assert.equal(reverseUrl(s, 'HTTP://10.0.0.1:8080/A', 'h'), 'http://h/A');
  assert.equal(reverseUrl(s, 'http://elsewhere.example/x', 'h'), undefined);
  assert.equal(reverseUrl(s, 'http://10.0.0.1:8080/x', undefined), '/x');
});

test('reverse: a balancer path is replaced by the local path', () => {
  const s = site({ proxyPass: [{ path: '/shop', to: 'balancer://c/app' }], proxyPassReverse: [{ path: '/shop', to: 'balancer://c/app' }] });
  assert.equal(reverseUrl(s, 'http://10.0.0.2:8080/app/cart', 'h'), 'http://h/shop/cart');
  assert.equal(reverseUrl(s, 'http://10.0.0.2:8080/app', 'h'), 'http://h/shop');
  assert.equal(reverseUrl(s, 'http://10.0.0.2:8080/app?x=1', 'h'), 'http://h/shop?x=1');
  // Not on a segment boundary: /application is no part of /app.
  assert.equal(reverseUrl(s, 'http://10.0.0.2:8080/application', 'h'), undefined);
});

test('reverse: a relative Location under the balancer path maps to the local path, on segment boundaries', () => {
  const s = site({ proxyPass: [{ path: '/shop', to: 'balancer://c/app' }], proxyPassReverse: [{ path: '/shop', to: 'balancer://c/app' }] });
  assert.equal(reverseUrl(s, '/app/cart?x=1', 'h'), '/shop/cart?x=1');
  assert.equal(reverseUrl(s, '/app', 'h'), '/shop');
  assert.equal(reverseUrl(s, '/app?x=1', 'h'), '/shop?x=1');
  assert.equal(reverseUrl(s, '/application', 'h'), undefined);
  assert.equal(reverseUrl(s, '/other', 'h'), undefined);
  const root = site({ proxyPass: [{ path: '/app/', to: 'balancer://c/' }], proxyPassReverse: [{ path: '/app/', to: 'balancer://c/' }] });
  assert.equal(reverseUrl(root, '/landing', 'h'), '/app/landing');
});

test('reverse: the trailing-slash case gives /app/landing (not Apache\'s /app//landing)', () => {
  const s = site({ proxyPass: [{ path: '/app/', to: 'balancer://c/' }], proxyPassReverse: [{ path: '/app/', to: 'balancer://c/' }] });
  assert.equal(reverseUrl(s, 'http://10.0.0.1:8080/landing', 'www.example.org'), 'http://www.example.org/app/landing');
  assert.equal(reverseUrl(s, 'http://10.0.0.1:8080/', 'www.example.org'), 'http://www.example.org/app/');
  assert.equal(reverseUrl(s, 'http://10.0.0.1:8080', 'www.example.org'), 'http://www.example.org/app/');
});

test('reverse: member URLs match on whole host:port (10.0.0.1 does not capture 10.0.0.12)', () => {
  const s = site({ proxyPassReverse: [{ path: '/', to: 'balancer://c/' }] }, ['http://10.0.0.1']);
  assert.equal(reverseUrl(s, 'http://10.0.0.12/x', 'h'), undefined);
  assert.equal(reverseUrl(s, 'http://10.0.0.1:8080/x', 'h'), undefined);
  assert.equal(reverseUrl(s, 'http://10.0.0.1/x', 'h'), 'http://h/x');
  assert.equal(reverseUrl(s, 'http://10.0.0.1', 'h'), 'http://h/');
  const withPath = site({ proxyPass: [{ path: '/a', to: 'balancer://c/b' }], proxyPassReverse: [{ path: '/a', to: 'balancer://c/b' }] }, ['http://10.0.0.1']);
  assert.equal(reverseUrl(withPath, 'http://10.0.0.12/b/x', 'h'), undefined);
  assert.equal(reverseUrl(withPath, 'http://10.0.0.1/b/x', 'h'), 'http://h/a/x');
});

test('reverse: rules apply in config order when member URLs overlap', () => {
  const s = validateConfig({
    balancers: {
      one: { members: [{ url: 'http://10.0.0.1:8080/deep' }] },
      two: { members: [{ url: 'http://10.0.0.1:8080' }] },
    },
    proxyPassReverse: [
      { path: '/d', to: 'balancer://one/' },
      { path: '/', to: 'balancer://two/' },
    ],
  }).sites[0];
  assert.equal(reverseUrl(s, 'http://10.0.0.1:8080/deep/x', 'h'), 'http://h/d/x');
  assert.equal(reverseUrl(s, 'http://10.0.0.1:8080/other', 'h'), 'http://h/other');
});

test('reverse: Location, Content-Location, URI and Destination are rewritten; other headers are not', () => {
  const s = site({ proxyPassReverse: [{ path: '/', to: 'balancer://c/' }] });
  const h = [
    'Location', 'http://10.0.0.1:8080/a',
    'Content-Location', 'http://10.0.0.2:8080/b',
    'URI', 'http://10.0.0.1:8080/c',
    'Destination', 'http://10.0.0.1:8080/d',
    'Link', '<http://10.0.0.1:8080/e>',
    'Refresh', '0; url=http://10.0.0.1:8080/f',
  ];
  rewriteResponseHeaders(s, h, 'h:81');
  assert.deepEqual(lines(h), [
    'Location: http://h:81/a',
    'Content-Location: http://h:81/b',
    'URI: http://h:81/c',
    'Destination: http://h:81/d',
    'Link: <http://10.0.0.1:8080/e>',
    'Refresh: 0; url=http://10.0.0.1:8080/f',
  ]);
});

test('reverse: cookie path and domain rewriting (ProxyPassReverseCookiePath / CookieDomain)', () => {
  const s = site({
    cookiePath: [{ from: '/app', to: '/shop' }],
    cookieDomain: [{ from: 'backend.internal', to: 'www.example.org' }],
  });
  assert.equal(reverseCookie(s, '_s=abc.first; Path=/app; Domain=backend.internal; HttpOnly'), '_s=abc.first; Path=/shop; Domain=www.example.org; HttpOnly');
  assert.equal(reverseCookie(s, 'a=1; path=/app/x; domain=.Backend.Internal'), 'a=1; path=/shop/x; domain=www.example.org');
  assert.equal(reverseCookie(s, 'a=1; Path=/other; Domain=other.example'), 'a=1; Path=/other; Domain=other.example');
  // The cookie's own value is never touched, even when it looks like an attribute.
  assert.equal(reverseCookie(s, 'path=/app; Path=/app'), 'path=/app; Path=/shop');
  const h = ['Set-Cookie', 'a=1; Path=/app', 'Set-Cookie', 'b=2; Path=/'];
  rewriteResponseHeaders(s, h, 'h');
  assert.deepEqual(lines(h), ['Set-Cookie: a=1; Path=/shop', 'Set-Cookie: b=2; Path=/']);
});
