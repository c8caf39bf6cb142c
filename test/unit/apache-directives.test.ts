// Directive by directive: what each becomes in the raw config, and every diagnostic the Apache
// front end gives (one test each), with file:line and the accepted form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { ConfigFs } from '../../src/config/apache/include.js';
import { ConfigError, formatDiagnostic, formatPath } from '../../src/config/diagnostics.js';
import { validateConfig } from '../../src/config/validate.js';

const noFs: ConfigFs = { readFile: () => '', readdir: () => [], isDirectory: () => false, exists: () => false };

/** Converts Apache text; diagnostics (notes about Listen left out) also come formatted. */
function conf(text: string, env: Record<string, string> = {}) {
  const r = parseApacheConfig(text, 'a.conf', noFs, env);
  const raw = r.raw as any;
  const diagnostics = r.diagnostics.filter((d) => !d.code?.startsWith('listen-'));
  return { raw, messages: diagnostics.map(formatDiagnostic), sourceMap: r.sourceMap, diagnostics };
}

/** Converts and validates; returns the schema errors as formatted lines. */
function schemaErrors(text: string): string[] {
  const r = parseApacheConfig(text, 'a.conf', noFs, {});
  try {
    validateConfig(r.raw, { source: 'a.conf', sourceMap: r.sourceMap });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.diagnostics.map(formatDiagnostic);
  }
}

test('Listen: ports, addresses and IPv6; https makes a TLS listener; a bad one is an error', () => {
  const c = conf('Listen 80\nListen 127.0.0.1:8080\nListen [::1]:8081\nListen 8443 https\nListen nope\nListen 8444 ftp');
  assert.deepEqual(c.raw.listen, [80, '127.0.0.1:8080', '[::1]:8081', { port: 8443, tls: true, protocols: ['http/1.1'] }, 8444]);
  assert.deepEqual(c.messages, [
    'a.conf:5: error: Listen nope: "nope" is not PORT or ADDRESS:PORT (expected Listen [ADDRESS:]PORT)',
    'a.conf:6: error: Listen 8444 ftp: protocol ftp is not supported (accepted: http, https) (expected Listen [ADDRESS:]PORT)',
  ]);
});

test('no Listen: the ports of the virtual hosts, or the default, with a note', () => {
  const a = parseApacheConfig('<VirtualHost *:80>\n</VirtualHost>\n<VirtualHost 127.0.0.1:81>\n</VirtualHost>', 'a.conf', noFs, {});
  assert.deepEqual((a.raw as any).listen, [80, '127.0.0.1:81']);
  assert.deepEqual(a.diagnostics.map(formatDiagnostic), [
    'a.conf:1: info: no Listen directive: listening on port 80, taken from <VirtualHost *:80> (Apache keeps Listen in ports.conf)',
    'a.conf:3: info: no Listen directive: listening on 127.0.0.1:81, taken from <VirtualHost 127.0.0.1:81> (Apache keeps Listen in ports.conf)',
  ]);
  const b = parseApacheConfig('ServerName x', 'a.conf', noFs, {});
  assert.deepEqual(b.diagnostics.map(formatDiagnostic), ['a.conf: info: no Listen directive: stickylb listens on port 8080, its default']);
});

test('ServerName drops scheme and port; ServerAlias lists names', () => {
  const c = conf('ServerName https://www.example.org:443\nServerAlias a.example.org b.example.org');
  assert.equal(c.raw.serverName, 'www.example.org');
  assert.deepEqual(c.raw.serverAliases, ['a.example.org', 'b.example.org']);
});

test('On/Off directives become booleans, in any case; anything else is an error', () => {
  const c = conf('ProxyRequests off\nProxyPreserveHost ON\nProxyStatus Full\nBalancerPersist On');
  assert.deepEqual([c.raw.proxyRequests, c.raw.preserveHost, c.raw.proxyStatus, c.raw.persist], [false, true, true, true]);
  assert.deepEqual(conf('ProxyPreserveHost yes').messages, ['a.conf:1: error: ProxyPreserveHost yes: "yes" is not On or Off (expected ProxyPreserveHost On|Off)']);
  assert.deepEqual(conf('ProxyStatus maybe').messages, ['a.conf:1: error: ProxyStatus maybe: "maybe" is not On, Off or Full (expected ProxyStatus On|Off|Full)']);
  assert.deepEqual(conf('ProxyRequests').messages, ['a.conf:1: error: ProxyRequests: needs 1 argument (expected ProxyRequests On|Off)']);
});

test('Timeout, ProxyTimeout, KeepAliveTimeout: seconds stay numbers, units become strings', () => {
  const c = conf('Timeout 300\nProxyTimeout 1.5\nKeepAliveTimeout 500ms');
  assert.deepEqual([c.raw.timeout, c.raw.proxyTimeout, c.raw.keepAliveTimeout], [300, 1.5, '500ms']);
  assert.deepEqual(conf('Timeout soon').messages, ['a.conf:1: error: Timeout soon: "soon" is not a number of seconds (expected Timeout SECONDS)']);
});

test('BalancerGrowth applies to the balancers of its server that do not set growth', () => {
  const c = conf('BalancerGrowth 3\nBalancerMember balancer://a http://h:1\n<Proxy balancer://b>\nBalancerMember http://h:2\nProxySet growth=1\n</Proxy>');
  assert.deepEqual([c.raw.balancers.a.growth, c.raw.balancers.b.growth], [3, 1]);
  assert.deepEqual(conf('BalancerGrowth many').messages, ['a.conf:1: error: BalancerGrowth many: "many" is not a number (expected BalancerGrowth NUMBER)']);
});

test('<VirtualHost>: addresses become listen entries; "*" and _default_ without port answer everywhere', () => {
  const c = conf('Listen 80\n<VirtualHost *:80 _default_:81>\n</VirtualHost>\n<VirtualHost *>\n</VirtualHost>\n<VirtualHost 10.0.0.1>\n</VirtualHost>');
  assert.deepEqual(c.raw.virtualHosts, [{ listen: ['*:80', '*:81'] }, {}, {}]);
  assert.deepEqual(c.messages, ['a.conf:6: warning: <VirtualHost 10.0.0.1>: no port; stickylb answers for this host on every listener']);
});

test('ProxyPass to a balancer: parameters on the line, names in any case, values keep case', () => {
  const c = conf('ProxyPass /app balancer://MyCluster/app STICKYSESSION=JSESSIONID|jsessionid NoFailover=On lbmethod=bytraffic maxattempts=2 timeout=10 failonstatus=500,503');
  assert.deepEqual(c.raw.proxyPass, [
    {
      path: '/app',
      to: 'balancer://MyCluster/app',
      params: { stickysession: 'JSESSIONID|jsessionid', nofailover: true, lbmethod: 'bytraffic', maxattempts: 2, timeout: 10, failonstatus: [500, 503] },
    },
  ]);
  assert.deepEqual(c.messages, []);
});

test('ProxyPass path !: an exclusion; words after it are warned about', () => {
  const c = conf('ProxyPass /static !\nProxyPass /x ! retry=1');
  assert.deepEqual(c.raw.proxyPass, [
    { path: '/static', to: '!' },
    { path: '/x', to: '!' },
  ]);
  assert.deepEqual(c.messages, ['a.conf:2: warning: ProxyPass /x !: the words after "!" are ignored (retry=1)']);
});

test('ProxyPass to a single URL: worker parameters go to member, durations with units', () => {
  const c = conf('ProxyPass /api http://127.0.0.1:9000/api retry=5 connectiontimeout=500ms keepalive=On hcmethod=GET');
  assert.deepEqual(c.raw.proxyPass, [
    { path: '/api', to: 'http://127.0.0.1:9000/api', member: { retry: 5, connectiontimeout: '500ms', health: { method: 'GET' } } },
  ]);
  // Apache's keepalive is TCP keep-alive probes, not connection reuse [keepalive-parameter].
  assert.deepEqual(c.messages, ['a.conf:1: info: ProxyPass: keepalive= is ignored (TCP keep-alive probes are left to the system; connections to members are reused unless disablereuse=On)']);
});

test('ProxyPass flags: nocanon, noquery, interpolate are ignored with a note; other bare words are warned about', () => {
  const c = conf('ProxyPass / balancer://c/ nocanon frob');
  assert.deepEqual(c.messages, [
    'a.conf:1: info: ProxyPass: nocanon is ignored (the path is passed on as received)',
    'a.conf:1: warning: ProxyPass: unknown word "frob" (ignored; parameters are written key=value)',
  ]);
});

test('ProxyPass parameters: unknown is a warning, a member one on a balancer line is a warning, a bad value is an error', () => {
  assert.deepEqual(conf('ProxyPass / balancer://c/ stikysession=_s').messages, [
    'a.conf:1: warning: ProxyPass: unknown parameter "stikysession=_s" (ignored; balancer parameters: lbmethod, stickysession, stickysessionsep, scolonpathdelim, nofailover, maxattempts, timeout, failonstatus, failontimeout, forcerecovery, growth, routecookie, balancerheaders, routecheck, slowstart, retrybackoff)',
  ]);
  assert.deepEqual(conf('ProxyPass / balancer://c/ route=a').messages, [
    'a.conf:1: warning: ProxyPass: route is a member parameter, not a balancer parameter (ignored; set it on each BalancerMember)',
  ]);
  assert.deepEqual(conf('ProxyPass / balancer://c/ nofailover=yes').messages, ['a.conf:1: error: ProxyPass: nofailover=yes is not On or Off (expected nofailover=On|Off)']);
  assert.deepEqual(conf('ProxyPass / balancer://c/ maxattempts=').messages, ['a.conf:1: error: ProxyPass: maxattempts= has no value (expected maxattempts=NUMBER)']);
  assert.deepEqual(conf('ProxyPass / balancer://c/ failonstatus=500,x').messages, [
    'a.conf:1: error: ProxyPass: failonstatus=500,x is not a list of status codes (expected failonstatus=CODE,CODE,… (e.g. 500,503))',
  ]);
  assert.deepEqual(conf('ProxyPass / http://h:1/ lbmethod=bytraffic').messages, [
    'a.conf:1: warning: ProxyPass: lbmethod is a balancer parameter, not a member parameter (ignored; set it on ProxyPass or ProxySet balancer://NAME)',
  ]);
  assert.deepEqual(conf('ProxyPass / balancer://c/ nonce=None').messages, ['a.conf:1: info: ProxyPass: nonce= is ignored (stickylb makes its own manager nonce)']);
});

test('ProxyPass: missing target, other schemes and non-URLs are errors with the accepted form', () => {
  const usage = 'ProxyPass /path balancer://name/ [key=value …], ProxyPass /path http://host:port/ [key=value …] or ProxyPass /path !';
  assert.deepEqual(conf('ProxyPass /app').messages, [`a.conf:1: error: ProxyPass /app: no target for /app (expected ${usage})`]);
  assert.deepEqual(conf('ProxyPass').messages, [`a.conf:1: error: ProxyPass: no path and no target (expected ${usage})`]);
  assert.deepEqual(conf('ProxyPass / ajp://127.0.0.1:8009/').messages, [
    `a.conf:1: error: ProxyPass / ajp://127.0.0.1:8009/: ajp: URLs are not supported (stickylb speaks HTTP: use balancer://NAME/ or http://host:port/) (expected ${usage})`,
  ]);
  assert.deepEqual(conf('ProxyPass / somewhere').messages, [
    `a.conf:1: error: ProxyPass / somewhere: "somewhere" is not a URL like balancer://NAME/ or http://host:port/ (expected ${usage})`,
  ]);
});

test('ProxyPassMatch becomes a match rule', () => {
  const c = conf('ProxyPassMatch ^/(.*\\.gif)$ http://127.0.0.1:9000/$1\nProxyPassMatch ^/private !');
  assert.deepEqual(c.raw.proxyPass, [
    { match: '^/(.*\\.gif)$', to: 'http://127.0.0.1:9000/$1' },
    { match: '^/private', to: '!' },
  ]);
});

test('ProxyPassReverse: member URL and balancer forms; one argument inside <Location>', () => {
  const c = conf('ProxyPassReverse / http://127.0.0.1:8080/\nProxyPassReverse / balancer://c/\n<Location /app>\nProxyPassReverse balancer://c/app\n</Location>');
  assert.deepEqual(c.raw.proxyPassReverse, [
    { path: '/', to: 'http://127.0.0.1:8080/' },
    { path: '/', to: 'balancer://c/' },
    { path: '/app', to: 'balancer://c/app' },
  ]);
  assert.deepEqual(c.messages, []);
});

test('ProxyPassReverse with only a path (the archived seed) is an error saying what is missing', () => {
  assert.deepEqual(conf('ProxyPassReverse /').messages, [
    'a.conf:1: error: ProxyPassReverse /: no URL (expected ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/; the one-argument form works only inside <Location>)',
  ]);
  assert.equal(conf('ProxyPassReverse /').diagnostics[0].code, 'reverse-without-url');
});

test('ProxyPassReverse: a path inside <Location>, a bad URL, interpolate', () => {
  assert.deepEqual(conf('<Location /a>\nProxyPassReverse /a http://h:1/\n</Location>').messages, [
    'a.conf:2: error: ProxyPassReverse /a http://h:1/: inside <Location /a> give only the URL (ProxyPassReverse http://host:port/) (expected ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/)',
  ]);
  assert.deepEqual(conf('ProxyPassReverse / h:1').messages, [
    'a.conf:1: error: ProxyPassReverse / h:1: h: URLs are not supported (stickylb speaks HTTP: use balancer://NAME/ or http://host:port/) (expected ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/)',
  ]);
  assert.deepEqual(conf('ProxyPassReverse / http://h:1/ interpolate').messages, ['a.conf:1: info: ProxyPassReverse: interpolate is ignored (environment variables are not interpolated)']);
});

test('ProxyPassReverseCookiePath and CookieDomain become rewrite pairs', () => {
  const c = conf('ProxyPassReverseCookiePath /app/ /\nProxyPassReverseCookieDomain backend.local example.org');
  assert.deepEqual(c.raw.cookiePath, [{ from: '/app/', to: '/' }]);
  assert.deepEqual(c.raw.cookieDomain, [{ from: 'backend.local', to: 'example.org' }]);
});

test('<Proxy balancer://>: BalancerMember with member parameters, ProxySet with balancer parameters', () => {
  const c = conf(
    '<Proxy balancer://c>\n  BalancerMember http://127.0.0.1:8080 route=first loadfactor=2.5 lbset=1 retry=0 status=+H redirect=second\n  BalancerMember http://127.0.0.1:9090 Route=second enablereuse=Off\n  ProxySet lbmethod=bybusyness stickysession=_s\n</Proxy>',
  );
  assert.deepEqual(c.raw.balancers, {
    c: {
      lbmethod: 'bybusyness',
      stickysession: '_s',
      members: [
        { url: 'http://127.0.0.1:8080', route: 'first', loadfactor: 2.5, lbset: 1, retry: 0, status: '+H', redirect: 'second' },
        { url: 'http://127.0.0.1:9090', route: 'second', disablereuse: true },
      ],
    },
  });
  assert.deepEqual(c.messages, []);
});

test('BalancerMember outside <Proxy> names its balancer first (as Sven wrote it); names are case-insensitive', () => {
  const c = conf('BalancerMember balancer://seaside-cluster http://127.0.0.1:8081 route=R1\nBalancerMember balancer://Seaside-Cluster http://127.0.0.1:8082 route=R2');
  assert.deepEqual(c.raw.balancers, {
    'seaside-cluster': { members: [{ url: 'http://127.0.0.1:8081', route: 'R1' }, { url: 'http://127.0.0.1:8082', route: 'R2' }] },
  });
});

test('BalancerMember without a URL (the archived seeds) is an error saying what is missing', () => {
  const expected = 'error: BalancerMember: no member URL (expected BalancerMember [balancer://name] http://host:port [key=value …])';
  assert.deepEqual(conf('<Proxy balancer://mycluster>\n   BalancerMember  route=first\n</Proxy>').messages, [`a.conf:2: ${expected}`]);
  assert.deepEqual(conf('BalancerMember balancer://seaside-cluster route=R1').messages, [`a.conf:1: ${expected}`]);
  assert.equal(conf('BalancerMember balancer://seaside-cluster route=R1').diagnostics[0].code, 'member-without-url');
  // The balancer still exists, so the ProxyPass naming it gives no second error.
  assert.deepEqual(conf('BalancerMember balancer://c route=R1').raw.balancers, { c: { members: [] } });
});

test('BalancerMember: outside <Proxy> without a balancer; inside <Proxy http://>; a bad URL; another balancer named inside', () => {
  assert.deepEqual(conf('BalancerMember http://h:1').messages, [
    'a.conf:1: error: BalancerMember: outside <Proxy balancer://name> the balancer comes first (expected BalancerMember balancer://name http://host:port [key=value …])',
  ]);
  assert.deepEqual(conf('<Proxy http://h:1>\nBalancerMember http://h:2\n</Proxy>').messages, [
    'a.conf:2: error: BalancerMember: <Proxy http://h:1> is no balancer (expected <Proxy balancer://name> around it)',
  ]);
  assert.deepEqual(conf('BalancerMember balancer://c fcgi://h:9000').messages, [
    'a.conf:1: error: BalancerMember balancer://c fcgi://h:9000: fcgi: URLs are not supported (stickylb speaks HTTP: use http://host:port) (expected BalancerMember [balancer://name] http://host:port [key=value …])',
  ]);
  const c = conf('<Proxy balancer://a>\nBalancerMember balancer://b http://h:1\n</Proxy>');
  assert.deepEqual(c.messages, ['a.conf:2: warning: BalancerMember: names balancer://b inside <Proxy balancer://a>; the member goes to b']);
  assert.deepEqual(c.raw.balancers.b.members, [{ url: 'http://h:1' }]);
});

test('BalancerMember parameters: unknown is a warning, ignored Apache ones a note, balancer ones a warning', () => {
  assert.deepEqual(conf('BalancerMember balancer://c http://h:1 routee=x flushpackets=on stickysession=_s').messages, [
    'a.conf:1: warning: BalancerMember: unknown parameter "routee=x" (ignored; member parameters: loadfactor, lbset, route, redirect, retry, timeout, connectiontimeout, ping, max, smax, ttl, disablereuse, enablereuse, status, slowstart, discover, hcmethod, hcuri, hcinterval, hcpasses, hcfails, hcexpr, hctemplate)',
    'a.conf:1: info: BalancerMember: flushpackets= is ignored (responses are streamed as they arrive)',
    'a.conf:1: warning: BalancerMember: stickysession is a balancer parameter, not a member parameter (ignored; set it on ProxyPass or ProxySet balancer://NAME)',
  ]);
  assert.deepEqual(conf('BalancerMember balancer://c http://h:1 loadfactor=heavy').messages, [
    'a.conf:1: error: BalancerMember: loadfactor=heavy is not a number (expected loadfactor=1..100)',
  ]);
});

test('ProxySet: for a balancer by URL, for a member by URL; errors without a target', () => {
  const c = conf('BalancerMember balancer://c http://h:1\nProxySet balancer://c nofailover=On\nProxySet http://h:1/ loadfactor=7\nProxySet http://other:1 loadfactor=2');
  assert.deepEqual(c.raw.balancers.c, { nofailover: true, members: [{ url: 'http://h:1', loadfactor: 7 }] });
  assert.deepEqual(c.messages, ['a.conf:4: warning: ProxySet http://other:1: no BalancerMember has this URL (ignored)']);
  assert.deepEqual(conf('ProxySet lbmethod=bytraffic').messages, [
    'a.conf:1: error: ProxySet lbmethod=bytraffic: no balancer or member URL: give one first, or put ProxySet inside <Proxy balancer://name> (expected ProxySet [balancer://name|http://host:port] key=value …)',
  ]);
  assert.deepEqual(conf('ProxySet balancer://c').messages, ['a.conf:1: error: ProxySet balancer://c: no key=value parameters (expected ProxySet [balancer://name|http://host:port] key=value …)']);
});

test('health checks: member hc* parameters, ProxyHCExpr, ProxyHCTemplate', () => {
  const c = conf(
    'ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}\nProxyHCTemplate t1 hcmethod=GET hcuri=/health hcinterval=500ms hcpasses=2 hcfails=3\nBalancerMember balancer://c http://h:1 hcmethod=HEAD hcuri=/ping hcinterval=10 hcexpr=ok234 hctemplate=t1',
  );
  assert.deepEqual(c.raw.healthExpressions, { ok234: '%{REQUEST_STATUS} =~ /^[234]/' });
  assert.deepEqual(c.raw.healthTemplates, { t1: { method: 'GET', uri: '/health', interval: '500ms', passes: 2, fails: 3 } });
  assert.deepEqual(c.raw.balancers.c.members[0].health, { method: 'HEAD', uri: '/ping', interval: 10, expect: 'ok234', template: 't1' });
  assert.deepEqual(conf('ProxyHCExpr bad %{REQUEST_STATUS}').messages, [
    'a.conf:1: error: ProxyHCExpr bad %{REQUEST_STATUS}: the expression must be in braces (expected ProxyHCExpr NAME {EXPRESSION})',
  ]);
  assert.deepEqual(conf('ProxyHCTemplate t route=a').messages, [
    'a.conf:1: warning: ProxyHCTemplate: unknown parameter "route=a" (ignored; health check parameters: hcmethod, hcuri, hcinterval, hcpasses, hcfails, hcexpr, hctemplate)',
  ]);
});

test('<Location> with SetHandler: a handler with the evaluated access lists, htpasswd and realm', () => {
  const c = conf(
    '<Location /balancer-manager>\n  SetHandler balancer-manager\n  AuthType Basic\n  AuthName "LB admin"\n  AuthUserFile /etc/lb.htpasswd\n  Require valid-user\n</Location>\n<Location /server-status>\n  SetHandler server-status\n  Require ip 10.1\n</Location>',
  );
  assert.deepEqual(c.raw.handlers, [
    {
      path: '/balancer-manager',
      handler: 'balancer-manager',
      allow: ['all'],
      htpasswd: '/etc/lb.htpasswd',
      realm: 'LB admin',
      access: { authType: 'basic', authName: 'LB admin', authUserFile: '/etc/lb.htpasswd', require: ['valid-user'] },
    },
    { path: '/server-status', handler: 'server-status', allow: ['10.1.0.0/16'], access: { require: ['ip 10.1'] } },
  ]);
  assert.deepEqual(c.messages, []);
});

test('<Location> handler without access rules: stickylb keeps it local, and says Apache would not', () => {
  const c = conf('<Location /balancer-manager>\nSetHandler balancer-manager\n</Location>');
  assert.deepEqual(c.raw.handlers, [{ path: '/balancer-manager', handler: 'balancer-manager' }]);
  assert.deepEqual(c.messages, [
    'a.conf:1: warning: <Location /balancer-manager>: no access rules, so Apache lets everyone use the balancer-manager; stickylb lets in only this machine (add "Require ip …" or "Require all granted" to say who may)',
  ]);
});

test('<Location> without a handler: its access rules become an access entry, enforced; SetHandler others are not supported', () => {
  const p = conf('<Location /private>\nRequire ip 10.1\nLimitRequestBody 1000\n</Location>');
  assert.deepEqual(p.messages, []);
  assert.deepEqual(p.raw.access, [{ path: '/private', require: ['ip 10.1'], limitRequestBody: 1000 }]);
  assert.deepEqual(p.sourceMap.get('access[0].require[0]'), { file: 'a.conf', line: 2, directive: 'Require' });
  assert.deepEqual(conf('<Location /private>\nRequire all granted\n</Location>').messages, []);
  assert.deepEqual(conf('<Location /cgi>\nSetHandler cgi-script\n</Location>').messages, [
    'a.conf:2: warning: SetHandler cgi-script: not supported (ignored; supported: balancer-manager, server-status)',
  ]);
  assert.deepEqual(conf('<Directory /x>\n</Directory>\nSetHandler server-status').messages.slice(1), [
    'a.conf:3: error: SetHandler cannot be used inside the main server (allowed in <Directory>, <Location>, <Proxy>, <Files>)',
  ]);
});

test('<Location ~ regex> and <LocationMatch>: their access rules are read, the rest is not (warning, contents ignored)', () => {
  assert.deepEqual(conf('<Location ~ "^/x">\nSetHandler server-status\n</Location>').messages, [
    'a.conf:1: warning: <Location ~ ^/x>: regular-expression locations are read for access rules only (contents ignored)',
  ]);
  assert.deepEqual(conf('<LocationMatch ^/x>\n</LocationMatch>').messages, [
    'a.conf:1: warning: <LocationMatch ^/x>: regular-expression locations are read for access rules only (contents ignored; use <Location /path>)',
  ]);
  const m = conf('<LocationMatch "^/(admin|ops)">\nRequire all denied\n</LocationMatch>');
  assert.deepEqual(m.raw.access, [{ match: '^/(admin|ops)', require: ['all denied'] }]);
  assert.deepEqual(m.messages, ['a.conf:1: info: <LocationMatch ^/(admin|ops)>: only its access rules and LimitRequestBody are read (use <Location /path> for the rest)']);
});

test('ProxyPass inside <Location>: the location is the path; such rules come first, the last <Location> first', () => {
  const c = conf('ProxyPass /x !\n<Location />\nProxyPass balancer://c/\n</Location>\n<Location /static>\nProxyPass !\n</Location>');
  assert.deepEqual(c.raw.proxyPass, [
    { path: '/static', to: '!' },
    { path: '/', to: 'balancer://c/' },
    { path: '/x', to: '!' },
  ]);
  assert.deepEqual(conf('<Location /a>\nProxyPass /a balancer://c/\n</Location>').messages, [
    'a.conf:2: error: ProxyPass /a balancer://c/: inside <Location /a> the path is the location\'s; write ProxyPass balancer://NAME/ or ProxyPass ! (expected ProxyPass /path balancer://name/ [key=value …], ProxyPass /path http://host:port/ [key=value …] or ProxyPass /path !)',
  ]);
});

test('DocumentRoot gives static.root; <Directory> is accepted with a note, its errors still reported', () => {
  const c = conf('DocumentRoot "/srv/www"\n<Directory /srv/www>\n  Options Indexes\n  Allow from\n</Directory>');
  assert.deepEqual(c.raw.static, { root: '/srv/www' });
  assert.deepEqual(c.messages, [
    'a.conf:2: info: <Directory /srv/www>: per-directory settings are ignored (stickylb serves files under DocumentRoot to every client)',
    'a.conf:4: error: Allow from: nothing after "from" (expected Allow from all|HOST|IP|IP/CIDR …)',
  ]);
});

test('ErrorLog and LogLevel: file and level; trace levels, per-module levels, pipes and syslog', () => {
  const c = conf('ErrorLog /var/log/lb-error.log\nLogLevel warn proxy:trace5');
  assert.deepEqual(c.raw.errorLog, { path: '/var/log/lb-error.log', level: 'warn' });
  assert.deepEqual(c.messages, ['a.conf:2: info: LogLevel proxy:trace5: per-module levels are ignored']);
  assert.equal(conf('LogLevel trace3').raw.errorLog.level, 'trace');
  assert.deepEqual(conf('LogLevel loud').messages, [
    'a.conf:1: error: LogLevel loud: "loud" is not a log level (expected LogLevel emerg|alert|crit|error|warn|notice|info|debug|trace1…trace8)',
  ]);
  assert.deepEqual(conf('ErrorLog "|/usr/bin/rotatelogs x"').messages, [
    'a.conf:1: warning: ErrorLog |/usr/bin/rotatelogs x: piped and syslog error logs are not supported (ignored; give a file, or "-" for standard output)',
  ]);
  assert.deepEqual(conf('ErrorLog syslog:local1').messages.length, 1);
});

test('ErrorLog in a virtual host after the main server one: one error log, a warning', () => {
  const c = conf('ErrorLog /a.log\n<VirtualHost *:80>\nErrorLog /b.log\n</VirtualHost>');
  assert.equal(c.raw.errorLog.path, '/a.log');
  assert.deepEqual(c.messages, ['a.conf:3: warning: ErrorLog in <VirtualHost>: stickylb has one error log for all hosts; keeping /a.log from line 1']);
});

test('LogFormat, CustomLog and TransferLog', () => {
  const c = conf('LogFormat "%h %>s" short\nLogFormat "%h %u"\nCustomLog /var/log/a.log short\nCustomLog /var/log/b.log "%h %t"\nTransferLog /var/log/c.log');
  assert.deepEqual(c.raw.logFormats, { short: '%h %>s' });
  assert.deepEqual(c.raw.accessLog, [
    { path: '/var/log/a.log', format: 'short' },
    { path: '/var/log/b.log', format: '%h %t' },
    { path: '/var/log/c.log', format: '%h %u' },
  ]);
  assert.deepEqual(c.messages, ['a.conf:2: info: LogFormat without a nickname: used by TransferLog only']);
});

test('CustomLog: unknown nickname, pipes and conditions are warned about; one argument is an error', () => {
  assert.deepEqual(conf('CustomLog /a.log fancy').messages, [
    'a.conf:1: warning: CustomLog: no LogFormat is named "fancy" (the text "fancy" would be logged as is; known: common, combined, vhost_combined, referer, agent)',
  ]);
  assert.deepEqual(conf('CustomLog "|/bin/logger" combined').messages, [
    'a.conf:1: warning: CustomLog |/bin/logger: piped logs are not supported (ignored; give a file, or "-" for standard output)',
  ]);
  assert.deepEqual(conf('CustomLog /a.log combined env=!quiet').messages, ['a.conf:1: warning: CustomLog: the condition "env=!quiet" is not supported; every request is logged']);
  assert.deepEqual(conf('CustomLog /a.log').messages, ['a.conf:1: error: CustomLog /a.log: needs 2 to 3 arguments (expected CustomLog FILE FORMAT|NICKNAME)']);
});

test('directives meaningless to a balancer are listed as ignored (info)', () => {
  const c = conf('ServerRoot /etc/apache2\nLoadModule proxy_module m.so\nUser www-data\nGroup www-data\nPidFile /run/a.pid\nServerAdmin a@b\nAddType text/x t\nDirectoryIndex index.html');
  assert.deepEqual(c.messages, [
    "a.conf:1: info: ServerRoot is ignored (relative Include paths are taken from the including file's directory)",
    'a.conf:2: info: LoadModule is ignored (meaningless to a balancer)',
    'a.conf:3: info: User is ignored (meaningless to a balancer)',
    'a.conf:4: info: Group is ignored (meaningless to a balancer)',
    'a.conf:5: info: PidFile is ignored (meaningless to a balancer)',
    'a.conf:6: info: ServerAdmin is ignored (meaningless to a balancer)',
    'a.conf:7: info: AddType is ignored (meaningless to a balancer)',
    'a.conf:8: info: DirectoryIndex is ignored (meaningless to a balancer)',
  ]);
  assert.ok(c.diagnostics.every((d) => d.severity === 'info' && d.code === 'ignored-directive'));
});

test('directives stickylb cannot honour are warnings saying why; unknown ones are warnings', () => {
  assert.deepEqual(conf('RewriteEngine On\nHeader set X y\nFrobnicate On').messages, [
    'a.conf:1: warning: RewriteEngine is not supported: stickylb has no mod_rewrite; requests are routed by ProxyPass rules only (ignored)',
    'a.conf:2: warning: Header is not supported: stickylb does not edit response headers (see routecookie for the ROUTEID recipe) (ignored)',
    'a.conf:3: warning: unknown directive Frobnicate (ignored)',
  ]);
});

test('<IfModule> contents are read; <IfDefine> too, with a note; <If>, <Limit> and unknown sections are skipped', () => {
  const c = conf('<IfModule mod_proxy.c>\nProxyPass /a !\n</IfModule>\n<IfDefine X>\nProxyPass /b !\n</IfDefine>\n<If "true">\nProxyPass /c !\n</If>\n<Weird>\nProxyPass /d !\n</Weird>');
  assert.deepEqual(c.raw.proxyPass, [
    { path: '/a', to: '!' },
    { path: '/b', to: '!' },
  ]);
  assert.deepEqual(c.messages, [
    'a.conf:4: info: <IfDefine X>: the condition is not evaluated; its contents are read as if it held',
    'a.conf:7: warning: <If true>: per-request conditions are not supported (contents ignored)',
    'a.conf:10: warning: unknown section <Weird> (contents ignored)',
  ]);
});

test('<Proxy *> and <Proxy balancer://>: their access rules cover the requests proxied there; other forward-proxy sections are ignored with a note', () => {
  const star = conf('<Proxy *>\nOrder deny,allow\nAllow from all\n</Proxy>');
  assert.deepEqual(star.messages, []);
  assert.deepEqual(star.raw.access, [{ proxy: '*', order: 'deny,allow', allowFrom: ['all'] }]);
  assert.deepEqual(conf('<Proxy *>\n</Proxy>').messages, ['a.conf:1: info: <Proxy *>: forward-proxy settings are ignored (stickylb is no forward proxy)']);
  assert.deepEqual(conf('<Proxy balancer://c>\nBalancerMember http://h:1\nRequire all granted\n</Proxy>').messages, []);
  const b = conf('<Proxy balancer://c>\nBalancerMember http://h:1\nRequire ip 10.1\n</Proxy>');
  assert.deepEqual(b.messages, []);
  assert.deepEqual(b.raw.access, [{ proxy: 'balancer://c', require: ['ip 10.1'] }]);
});

test('balancers of two virtual hosts with one name become one balancer, with a warning [shared-balancers]', () => {
  const c = conf('<VirtualHost *:80>\nBalancerMember balancer://c http://h:1\n</VirtualHost>\n<VirtualHost *:81>\nBalancerMember balancer://c http://h:2\n</VirtualHost>');
  assert.equal(c.raw.balancers.c.members.length, 2);
  assert.deepEqual(c.messages, [
    'a.conf:5: warning: BalancerMember: balancer://c is also defined in another virtual host; stickylb has one set of balancers, so both definitions make one balancer',
  ]);
});

test('schema errors found later name file:line and the directive (values, lbmethod, unknown balancer, duplicates)', () => {
  assert.deepEqual(schemaErrors('<Proxy balancer://c>\n  BalancerMember http://h:1\n  BalancerMember http://h:2 loadfactor=500\n</Proxy>'), [
    'a.conf:3: error: BalancerMember: balancers.c.members[1].loadfactor: 500 is out of range 1..100',
  ]);
  assert.deepEqual(schemaErrors('ProxyPass / balancer://c/ lbmethod=ByRequests\nBalancerMember balancer://c http://h:1'), [
    'a.conf:1: error: ProxyPass: proxyPass[0].params.lbmethod: "ByRequests" is not accepted (accepted: byrequests, bytraffic, bybusyness, heartbeat)',
  ]);
  assert.deepEqual(schemaErrors('Listen 80\nProxyPass / balancer://nope/'), [
    'a.conf:2: error: ProxyPass: proxyPass[0].to: no balancer named "nope" (defined: none)',
  ]);
  assert.deepEqual(schemaErrors('BalancerMember balancer://c http://h:1\nBalancerMember balancer://c http://H:1/'), [
    'a.conf:2: error: BalancerMember: balancers.c.members[1].url: http://H:1/ is already member 0 of balancer c',
  ]);
  assert.deepEqual(schemaErrors('BalancerMember balancer://c http://h:1 route=a redirect=zz'), [
    'a.conf:1: error: BalancerMember: balancers.c.members[0].redirect: no member has route "zz" (routes: a)',
  ]);
});

test('the ROUTEID recipe (Header add Set-Cookie … BALANCER_WORKER_ROUTE …) becomes routecookie', () => {
  const c = conf(
    'Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED\n<Proxy balancer://c>\nBalancerMember http://h:1 route=1\nProxySet stickysession=ROUTEID\n</Proxy>\nProxyPass /x balancer://d/ stickysession=ROUTEID\nBalancerMember balancer://d http://h:2 route=2\nBalancerMember balancer://e http://h:3',
  );
  assert.equal(c.raw.balancers.c.routecookie, 'ROUTEID');
  assert.equal(c.raw.balancers.d.routecookie, 'ROUTEID');
  assert.equal(c.raw.balancers.e.routecookie, undefined);
  assert.deepEqual(c.messages, ['a.conf:1: info: Header: the ROUTEID route cookie recipe becomes routecookie=ROUTEID on balancer://c, balancer://d (stickylb sets the cookie itself)']);
  assert.equal(c.sourceMap.get('balancers.c.routecookie')?.line, 1);
  assert.deepEqual(conf('Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED').messages, [
    'a.conf:1: warning: Header: the ROUTEID route cookie recipe needs a balancer with stickysession=ROUTEID (ignored)',
  ]);
});

test('${NAME} takes Define values and environment variables; an unknown one is a warning', () => {
  const c = conf('Define LOGS /var/log/lb\nErrorLog ${LOGS}/error.log\nCustomLog ${APACHE_LOG_DIR}/access.log combined\nUnDefine LOGS\nDocumentRoot ${LOGS}/www\n<VirtualHost ${ADDR}:80>\n</VirtualHost>', {
    APACHE_LOG_DIR: '/srv/logs',
    ADDR: '10.0.0.1',
  });
  assert.equal(c.raw.errorLog.path, '/var/log/lb/error.log');
  assert.deepEqual(c.raw.accessLog, [{ path: '/srv/logs/access.log', format: 'combined' }]);
  assert.deepEqual(c.raw.static, { root: '${LOGS}/www' });
  assert.deepEqual(c.raw.virtualHosts, [{ listen: ['10.0.0.1:80'] }]);
  assert.deepEqual(c.messages, ['a.conf:5: warning: DocumentRoot: ${LOGS} is not defined (no Define LOGS before it and no such environment variable); left as it is']);
});

test('names such as __proto__ or toString are plain names', () => {
  const c = conf('toString x\nBalancerMember balancer://__proto__ http://h:1 constructor=1\nLogFormat "%h" __proto__');
  assert.deepEqual(Object.keys(c.raw.balancers), ['__proto__']);
  assert.deepEqual(Object.keys(c.raw.logFormats), ['__proto__']);
  assert.deepEqual(
    c.diagnostics.map((d) => d.code),
    ['unknown-directive', 'unknown-parameter'],
  );
});

test('every path of the raw object is in the source map', () => {
  const file = 'test/fixtures/apache/features.conf';
  const r = parseApacheConfig(readFileSync(file, 'utf8'), file);
  const missing: string[] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (path.length && !r.sourceMap.has(formatPath(path))) missing.push(formatPath(path));
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(r.raw, []);
  assert.deepEqual(missing, []);
  assert.deepEqual(r.sourceMap.get('balancers.app.members[1].route'), { file, line: 25, directive: 'BalancerMember' });
  assert.deepEqual(r.sourceMap.get('balancers.api.members[1].loadfactor'), { file, line: 34, directive: 'ProxySet' });
  assert.deepEqual(r.sourceMap.get('logFormats.short'), { file: 'test/fixtures/apache/features.d/10-status.conf', line: 3, directive: 'LogFormat' });
});
