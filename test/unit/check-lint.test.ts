// The lints of `stickylb check`, one test each, on small Apache and YAML configs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { ConfigFs } from '../../src/config/apache/include.js';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { validateConfig } from '../../src/config/validate.js';
import { lintConfig } from '../../src/config/lint.js';
import { parseConfigText } from '../../src/config/load.js';

const noFs: ConfigFs = { readFile: () => '', readdir: () => [], isDirectory: () => false, exists: () => false };

function lint(text: string, codes?: string[]): string[] {
  const r = parseApacheConfig(text, 'a.conf', noFs);
  const model = validateConfig(r.raw, { source: 'a.conf', sourceMap: r.sourceMap });
  return lintConfig(model, { raw: r.raw, sourceMap: r.sourceMap, file: 'a.conf' })
    .filter((d) => !codes || codes.includes(d.code!))
    .map(formatDiagnostic);
}

const cluster = '<Proxy balancer://c>\n  BalancerMember http://127.0.0.1:8080 route=first\n  BalancerMember http://127.0.0.1:9090 route=second\n</Proxy>\n';

test('lint: an exclusion after the rule that swallows it says where to move it', () => {
  // Philippe's mail in reading order: the manager exclusion comes after ProxyPass /.
  const text = `${cluster}ProxyPass / balancer://c/ stickysession=_s|_s nofailover=On\nProxyPassReverse / balancer://c/\nProxyPass /balancer-manager !\n<Location /balancer-manager>\n  SetHandler balancer-manager\n  Require local\n</Location>`;
  assert.deepEqual(lint(text, ['exclusion-after-rule']), [
    'a.conf:7: warning: ProxyPass /balancer-manager ! comes after ProxyPass / balancer://c/ (line 5), which already takes /balancer-manager: the exclusion never applies; move it above line 5',
  ]);
});

test('lint: a longer path after a shorter one that takes it is never used', () => {
  assert.deepEqual(lint(`${cluster}ProxyPass /app balancer://c/\nProxyPass /app/admin http://127.0.0.1:7000/\n`, ['rule-shadowed']), [
    'a.conf:6: warning: ProxyPass /app/admin http://127.0.0.1:7000/ is never used: ProxyPass /app balancer://c/ (line 5) comes first and already takes /app/admin; rules are tried in order, so put the longer path first',
  ]);
  // Segment boundaries: /app does not take /application.
  assert.deepEqual(lint(`${cluster}ProxyPass /app balancer://c/\nProxyPass /application !\n`, ['rule-shadowed', 'exclusion-after-rule']), []);
});

test('lint: ProxyPass without ProxyPassReverse names the line that is needed', () => {
  assert.deepEqual(lint(`${cluster}ProxyPass / balancer://c/\n`, ['reverse-missing']), [
    'a.conf:5: warning: ProxyPass / balancer://c/ has no ProxyPassReverse: a redirect from a member (Location: http://127.0.0.1:8080/…) reaches the browser unchanged; add "ProxyPassReverse / balancer://c/" (one line covers every member)',
  ]);
  assert.deepEqual(lint('ProxyPass /api http://127.0.0.1:7000/v1\n', ['reverse-missing']), [
    'a.conf:1: warning: ProxyPass /api http://127.0.0.1:7000/v1 has no ProxyPassReverse: a redirect from a member (Location: http://127.0.0.1:7000/v1…) reaches the browser unchanged; add "ProxyPassReverse /api http://127.0.0.1:7000/v1"',
  ]);
});

test('lint: per-member ProxyPassReverse lines that miss a member name the missing line', () => {
  assert.deepEqual(lint(`${cluster}ProxyPass / balancer://c/\nProxyPassReverse / http://127.0.0.1:8080/\n`, ['reverse-partial']), [
    'a.conf:5: warning: the ProxyPassReverse lines for / (line 6) miss http://127.0.0.1:9090/: add "ProxyPassReverse / http://127.0.0.1:9090/", or use the single line "ProxyPassReverse / balancer://c/"',
  ]);
});

test('lint: "which ProxyPassReverse is correct?": both forms cover the members; the per-member one gets a note', () => {
  const perMember = `${cluster}ProxyPass / balancer://c/\nProxyPassReverse / http://127.0.0.1:8080/\nProxyPassReverse / http://127.0.0.1:9090\n`;
  assert.deepEqual(lint(perMember), [
    'a.conf:6: info: ProxyPassReverse lines 6, 7 cover every member of c, which is correct; "ProxyPassReverse / balancer://c/" says the same in one line and keeps up when members change',
  ]);
  assert.deepEqual(lint(`${cluster}ProxyPass / balancer://c/\nProxyPassReverse / balancer://c/\n`), []);
});

test('lint: a ProxyPassReverse for a path nothing proxies, or for an unknown balancer', () => {
  assert.deepEqual(lint(`${cluster}ProxyPass / balancer://c/\nProxyPassReverse / balancer://c/\nProxyPassReverse /old http://127.0.0.1:8080/\n`, ['reverse-unused']), [
    'a.conf:7: warning: ProxyPassReverse /old http://127.0.0.1:8080/: no ProxyPass sends /old anywhere, so redirects rewritten to /old lead nowhere',
  ]);
  assert.deepEqual(lint(`${cluster}ProxyPass / balancer://c/\nProxyPassReverse / balancer://c/\nProxyPassReverse / balancer://other/\n`, ['reverse-unknown-balancer']), [
    'a.conf:7: warning: ProxyPassReverse / balancer://other/: no balancer named "other", so nothing is rewritten',
  ]);
});

test('lint: a route used twice in a balancer', () => {
  assert.deepEqual(lint('BalancerMember balancer://c http://127.0.0.1:1 route=a\nBalancerMember balancer://c http://127.0.0.1:2 route=a\n', ['duplicate-route']), [
    'a.conf:2: warning: balancer c: route "a" of http://127.0.0.1:2 is also the route of http://127.0.0.1:1 (line 1); sessions with this route always go to the first one',
  ]);
});

test('lint: a member without a route in a sticky balancer', () => {
  assert.deepEqual(lint('BalancerMember balancer://c http://127.0.0.1:1 route=a\nBalancerMember balancer://c http://127.0.0.1:2\nProxySet balancer://c stickysession=JSESSIONID|jsessionid\n', ['member-without-route']), [
    'a.conf:2: warning: balancer c is sticky (stickysession=JSESSIONID|jsessionid) but member http://127.0.0.1:2 has no route, so no session can stick to it; add route=NAME, the suffix the application puts on its session ids',
  ]);
  // Not sticky: no route needed.
  assert.deepEqual(lint('BalancerMember balancer://c http://127.0.0.1:2\n', ['member-without-route']), []);
});

test('lint: a route containing the session separator', () => {
  assert.deepEqual(lint('BalancerMember balancer://c http://127.0.0.1:1 route=node.1\nProxySet balancer://c stickysession=_s\n', ['route-has-separator']), [
    'a.conf:1: warning: balancer c: route "node.1" contains the session separator "."; the route is read after the first "." of the session id, so it is found only when the rest of the id has no "."',
  ]);
  assert.deepEqual(lint('BalancerMember balancer://c http://127.0.0.1:1 route=node.1\nProxySet balancer://c stickysession=_s stickysessionsep=-\n', ['route-has-separator']), []);
});

test('lint: a member URL that is a string prefix of another one (Apache drops the second route)', () => {
  assert.deepEqual(lint('BalancerMember balancer://c http://10.0.0.1 route=a\nBalancerMember balancer://c http://10.0.0.12 route=b\n', ['member-url-prefix']), [
    'a.conf:2: warning: member URL http://10.0.0.12 starts with member URL http://10.0.0.1 (line 1): Apache would take them for one worker and silently drop route=b of the second; stickylb keeps them apart (it compares whole host:port), but the config does not work the same under Apache',
  ]);
  assert.deepEqual(lint('BalancerMember balancer://c http://10.0.0.1:80/ route=a\nBalancerMember balancer://c http://10.0.0.2 route=b\n', ['member-url-prefix']), []);
});

test('lint: manager and status open to everyone are security warnings at the line that opens them', () => {
  const text = '<Location /balancer-manager>\n  SetHandler balancer-manager\n  Require all granted\n</Location>\n<Location /server-status>\n  SetHandler server-status\n  Order deny,allow\n  Allow from all\n</Location>\n<Location /m>\n  SetHandler balancer-manager\n  Require all granted\n  AuthType Basic\n  AuthUserFile /p\n</Location>';
  assert.deepEqual(lint(text, ['handler-open']), [
    'a.conf:3: warning: security: balancer-manager at /balancer-manager is open to everyone (Require all granted): anyone who can reach this server can disable members and change the balancers; allow only trusted addresses (Require local, Require ip 10.0.0.0/8) or add a login (AuthType Basic with AuthUserFile)',
    'a.conf:8: warning: security: server-status at /server-status is open to everyone (Allow from all): anyone can see the members, their routes and their traffic; allow only trusted addresses (Require local, Require ip 10.0.0.0/8) or add a login (AuthType Basic with AuthUserFile)',
  ]);
});

test('lint: nofailover On with a single member', () => {
  assert.deepEqual(lint('BalancerMember balancer://c http://127.0.0.1:1 route=a\nProxyPass / balancer://c/ stickysession=_s nofailover=On\n', ['nofailover-single-member']), [
    'a.conf:2: warning: balancer c has nofailover On and a single member: there is nothing to fail over to, so it changes nothing (are members missing?)',
  ]);
});

test('lint: a balancer without members', () => {
  assert.deepEqual(lint('<Proxy balancer://c>\n</Proxy>\nProxyPass / balancer://c/\n', ['balancer-empty']), ['a.conf:1: warning: balancer c has no members: every request sent to it gets 503']);
});

test('lint: an exclusion nothing serves; a handler Apache would proxy', () => {
  assert.deepEqual(lint(`${cluster}ProxyPass /files !\nProxyPass / balancer://c/\nProxyPassReverse / balancer://c/\n`, ['exclusion-unserved']), [
    'a.conf:5: warning: ProxyPass /files !: /files is not proxied, and no handler or DocumentRoot serves it, so requests for it get 404',
  ]);
  assert.deepEqual(lint(`${cluster}DocumentRoot /srv\nProxyPass /files !\nProxyPass / balancer://c/\n`, ['exclusion-unserved']), []);
  assert.deepEqual(lint(`${cluster}ProxyPass / balancer://c/\n<Location /server-status>\nSetHandler server-status\nRequire local\n</Location>`, ['handler-behind-proxy']), [
    'a.conf:6: info: server-status at /server-status: stickylb answers it before the ProxyPass rules, but Apache would send /server-status to ProxyPass / balancer://c/ (line 5); add "ProxyPass /server-status !" above it to keep the config working the same under Apache',
  ]);
});

test('lint: works on YAML configs too, with YAML lines', () => {
  const text = 'balancers:\n  c:\n    stickysession: _s\n    members:\n      - url: http://127.0.0.1:1\n        route: a\n      - url: http://127.0.0.1:2\nproxyPass:\n  - { path: /, to: "balancer://c/" }\n  - { path: /x, to: "!" }\nproxyPassReverse:\n  - { path: /, to: "balancer://c/" }\n';
  const r = parseConfigText(text, 'c.yaml', 'yaml');
  const model = validateConfig(r.raw, { sourceMap: r.sourceMap });
  assert.deepEqual(
    lintConfig(model, { raw: r.raw, sourceMap: r.sourceMap, file: 'c.yaml' }).map((d) => [d.line, d.code]),
    [
      [10, 'exclusion-after-rule'],
      [10, 'exclusion-unserved'],
      [7, 'member-without-route'],
    ],
  );
});

test('lint: a virtual host inherits main-server rules; a problem in them is reported once', () => {
  const text = `${cluster}ProxyPass / balancer://c/\n<VirtualHost *:80>\nServerName a\n</VirtualHost>\n<VirtualHost *:80>\nServerName b\n</VirtualHost>\n`;
  assert.deepEqual(lint(text, ['reverse-missing']).length, 1);
});
