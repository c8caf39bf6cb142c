// Where stickylb and Apache 2.4 differ, as data: the differences table of
// docs/apache-migration.md is rendered from these rows (scripts/gen-docs.mjs), and
// test/unit/apache-differences.test.ts checks every row with `values` against the models an
// Apache config and a YAML config resolve to, and that a test names every row's key.
// Pure data, no imports.

export type DifferenceKind =
  /** Apache syntax gets Apache 2.4's default; YAML keeps stickylb's own. */
  | 'default'
  /** The same in both front ends, and the same as Apache 2.4. */
  | 'same'
  /** stickylb's behaviour in both front ends, different from Apache 2.4. */
  | 'kept'
  /** Kept on purpose under Apache syntax too, for safety or because Apache cannot do it. */
  | 'deliberate';

export interface Difference {
  /** Stable key; the tests showing the behaviour carry `[key]` in their titles. */
  key: string;
  kind: DifferenceKind;
  /** The behaviour, in a few words (markdown). */
  what: string;
  /** What Apache httpd 2.4 does. */
  apache24: string;
  /** What stickylb does with an Apache config. */
  apacheSyntax: string;
  /** What stickylb does with a YAML or JSON config that does not say. */
  yaml: string;
  /** How to choose the other behaviour. */
  setting: string;
  /**
   * The resolved default under each front end (what the table test reads from the models of
   * test/fixtures/differences/site.conf and site.yaml). Durations are in milliseconds.
   */
  values?: { apache: unknown; yaml: unknown };
}

export const DIFFERENCES: readonly Difference[] = [
  {
    key: 'relative-redirects',
    kind: 'default',
    what: 'A relative redirect (`Location: /landing`) from a member under `ProxyPass /app/ balancer://c/` with `ProxyPassReverse /app/ balancer://c/`',
    apache24: 'Left alone',
    apacheSyntax: 'Left alone',
    yaml: 'Mapped to the local path: `/app/landing`; a redirect already under the local path (`/app/landing`) is left alone',
    setting: '`relative: true|false` on a `proxyPassReverse` entry; `relative=On` at the end of a `ProxyPassReverse` line',
    values: { apache: false, yaml: true },
  },
  {
    key: 'retry-backoff',
    kind: 'default',
    what: 'Retry interval of a member that fails again after it was retried',
    apache24: '`retry` every time (default 60 s)',
    apacheSyntax: '`retry` every time',
    yaml: 'Doubles on each failure in a row, up to 5 × `retry` (at most 10 minutes); an answer resets it',
    setting: '`retrybackoff` (balancer): a cap such as `5m`, `On` for the default cap, `Off` for none',
    values: { apache: 60_000, yaml: 300_000 },
  },
  {
    key: 'connect-timeout',
    kind: 'default',
    what: 'How long to wait for a connection to a member that sets no `connectiontimeout`',
    apache24: 'The member\'s `timeout`, else `ProxyTimeout`, else `Timeout` (60 s)',
    apacheSyntax: 'The member\'s `timeout`, else `ProxyTimeout`, else `Timeout` (60 s)',
    yaml: '5 s',
    setting: '`connectiontimeout` (member)',
    values: { apache: 60_000, yaml: 5_000 },
  },
  {
    key: 'answer-timeout',
    kind: 'default',
    what: 'A balancer\'s `timeout` (the wait for a usable member) and the answer timeout of its members',
    apache24: 'Unrelated: members wait `timeout`, else `ProxyTimeout`, else `Timeout` for an answer',
    apacheSyntax: 'Unrelated, as in Apache',
    yaml: 'A member without its own `timeout` also waits the balancer\'s `timeout` for an answer, before `proxyTimeout` and `timeout`',
    setting: '`timeout` on each member',
    values: { apache: 60_000, yaml: 10_000 },
  },
  {
    key: 'health-timeout',
    kind: 'default',
    what: 'How long an active health check may take',
    apache24: 'The member\'s timeouts (mod_proxy_hcheck has no setting of its own)',
    apacheSyntax: 'The member\'s answer timeout (60 s unless set)',
    yaml: 'The check interval, at most 10 s',
    setting: '`timeout` in `health` (YAML only)',
    values: { apache: 60_000, yaml: 10_000 },
  },
  {
    key: 'error-log-format',
    kind: 'default',
    what: 'Error log lines',
    apache24: 'Text: `[time] [level] [pid …] message`',
    apacheSyntax: 'Text lines in Apache\'s layout',
    yaml: 'JSON, one object a line',
    setting: '`errorLog.format: json|text`',
    values: { apache: 'text', yaml: 'json' },
  },
  {
    key: 'keepalive-parameter',
    kind: 'default',
    what: 'The member parameter `keepalive`',
    apache24: 'TCP keep-alive probes (`SO_KEEPALIVE`) on member connections; connections are reused unless `disablereuse=On`',
    apacheSyntax: 'Accepted and ignored (probes are left to the system); connections are reused unless `disablereuse=On`',
    yaml: '`keepalive: false` stops reusing member connections',
    setting: '`disablereuse` (member), in both',
    values: { apache: true, yaml: false },
  },
  {
    key: 'slow-start',
    kind: 'same',
    what: 'Slow start of a member that comes back',
    apache24: 'None: it gets its full share at once',
    apacheSyntax: 'None',
    yaml: 'None',
    setting: '`slowstart` (balancer or member), stickylb\'s own',
    values: { apache: 0, yaml: 0 },
  },
  {
    key: 'route-verification',
    kind: 'deliberate',
    what: 'Session ids whose route is not the member\'s own, or that have none',
    apache24: 'Not noticed: the sessions silently stop sticking',
    apacheSyntax: 'Noticed in the members\' `Set-Cookie` and `Location` answers: a warning in the error log, a badge in the manager and server-status, a count in the JSON API and metrics',
    yaml: 'The same',
    setting: '`routecheck: false` (balancer); `routecheck=Off` on the `ProxyPass` line or in `ProxySet`',
    values: { apache: true, yaml: true },
  },
  {
    key: 'limit-request-body',
    kind: 'deliberate',
    what: '`LimitRequestBody` on a proxied request',
    apache24: 'The body is forwarded to the member anyway',
    apacheSyntax: 'A larger body is refused with 413',
    yaml: 'The same, with the body limit setting',
    setting: '–',
  },
  {
    key: 'forwarded-trust',
    kind: 'deliberate',
    what: '`X-Forwarded-*` headers a client sends',
    apache24: 'Taken as they are: the client\'s address is appended to its own `X-Forwarded-For`',
    apacheSyntax: 'Believed only from a client that is a declared trusted proxy',
    yaml: 'The same',
    setting: 'The trusted proxies of the config',
  },
  {
    key: 'remote-ip-untrusted',
    kind: 'deliberate',
    what: '`RemoteIPHeader` without `RemoteIPTrustedProxy` or `RemoteIPInternalProxy`',
    apache24: 'The client address is taken from every client\'s header',
    apacheSyntax: 'Refused by `check` and `run`: anyone could claim any address',
    yaml: 'The same (`remoteIp.header` without proxies)',
    setting: 'Name the proxies whose header is trusted',
  },
  {
    key: 'access-rules-enforced',
    kind: 'same',
    what: 'Access rules (`Require`, `Order/Allow/Deny`, Basic authentication) of `<Location>`, `<LocationMatch>`, `<Proxy>` on proxied paths',
    apache24: 'Enforced',
    apacheSyntax: 'Enforced as Apache evaluates them; a rule stickylb cannot enforce (an unknown `Require` provider, a PCRE-only `<LocationMatch>` pattern) is refused by `check` and `run`',
    yaml: '`access` entries, the same rules',
    setting: '–',
  },
  {
    key: 'forwarded-proto',
    kind: 'kept',
    what: '`X-Forwarded-Proto` to members',
    apache24: 'Not sent by mod_proxy (needs `RequestHeader set`)',
    apacheSyntax: 'Sent: the scheme the client used',
    yaml: 'The same',
    setting: '–',
  },
  {
    key: 'member-timeout-granularity',
    kind: 'kept',
    what: 'When a silent member is given up (`timeout`, `ProxyTimeout`)',
    apache24: 'As soon as the timeout has passed since its last byte',
    apacheSyntax: 'Between the timeout and two ticks later (the lean engine\'s sweep ticks every quarter of the shortest timeout in use, 50 ms to 1 s); never before',
    yaml: 'The same',
    setting: '`engine: node` (YAML): a socket timer per member connection',
  },
  {
    key: 'acme-no-reload',
    kind: 'deliberate',
    what: 'A certificate issued or renewed by ACME',
    apache24: 'mod_md uses it after a graceful restart',
    apacheSyntax: 'Served as soon as it is issued, without a reload',
    yaml: 'The same',
    setting: '–',
  },
  {
    key: 'acme-retry-delay',
    kind: 'default',
    what: 'Wait before ordering a certificate again after a failed order (it doubles with each failure in a row, up to a day)',
    apache24: 'mod_md: 5 s (`MDRetryDelay`)',
    apacheSyntax: '5 s',
    yaml: '60 s, gentler on the CA\'s rate limits',
    setting: '`MDRetryDelay`; `acme.retryDelay`',
  },
  {
    key: 'tls-defaults',
    kind: 'deliberate',
    what: 'TLS protocols and ciphers when the config names none',
    apache24: 'Those of the build and distribution (`SSLProtocol all -SSLv3` in 2.4\'s own defaults)',
    apacheSyntax: 'TLS 1.2 and 1.3, Mozilla\'s "intermediate" ciphers, session tickets; what `SSLProtocol` and `SSLCipherSuite` ask for explicitly is honoured (`SSLProtocol all` with a warning from `check`)',
    yaml: 'The same',
    setting: '`SSLProtocol`, `SSLCipherSuite`; `tls.versions`, `tls.ciphers` of the listener',
  },
  {
    key: 'tls-h2-default',
    kind: 'default',
    what: 'HTTP/2 on a TLS listener when the config does not say',
    apache24: 'Not offered (`Protocols http/1.1`)',
    apacheSyntax: 'Not offered; `Protocols h2 http/1.1` offers it',
    yaml: 'Offered over ALPN next to HTTP/1.1',
    setting: '`Protocols`; `protocols` of the listener',
  },
  {
    key: 'tls-unsupported-refused',
    kind: 'deliberate',
    what: 'A TLS setting stickylb cannot honour (`SSLVerifyClient require`, `SSLUseStapling on`, `SSLOpenSSLConfCmd`, `SSLProtocol +SSLv3`, an unknown `SSL…` directive)',
    apache24: 'Honoured',
    apacheSyntax: 'Refused by `check` and `run` with the line, never served with less than asked',
    yaml: '–',
    setting: '–',
  },
  {
    key: 'tls-policy-per-address',
    kind: 'deliberate',
    what: 'Name-based virtual hosts of one TLS address with different `SSLProtocol` or `SSLCipherSuite`',
    apache24: 'Loaded; the versions of the first host apply before SNI is known',
    apacheSyntax: 'Refused by `check` and `run`: one address has one TLS policy',
    yaml: 'Set on the listener, once',
    setting: '–',
  },
  {
    key: 'hsts-over-https',
    kind: 'kept',
    what: '`Header always set Strict-Transport-Security …`',
    apache24: 'Sent on every answer of the host, plain HTTP too',
    apacheSyntax: 'Sent on answers over HTTPS only (browsers ignore it over plain HTTP)',
    yaml: '`hsts` of the site, the same',
    setting: '–',
  },
  {
    key: 'route-cookie-secure',
    kind: 'kept',
    what: 'The route cookie (`routecookie`, the ROUTEID recipe) on answers over HTTPS',
    apache24: 'As the `Header` line writes it',
    apacheSyntax: 'With `Secure`, so browsers never send it over plain HTTP',
    yaml: 'The same',
    setting: '–',
  },
  {
    key: 'manager-nonce',
    kind: 'deliberate',
    what: 'The balancer manager\'s nonce',
    apache24: '`nonce=None` turns the check off (and in fact locks the manager)',
    apacheSyntax: 'Always required; `nonce=` is accepted and ignored',
    yaml: 'Always required',
    setting: '–',
  },
  {
    key: 'manager-post-origin',
    kind: 'deliberate',
    what: 'Changes through the balancer manager',
    apache24: 'By GET or POST, with the nonce',
    apacheSyntax: 'By POST only, with the nonce and a `Referer` or `Origin` of the same site',
    yaml: 'The same',
    setting: '–',
  },
  {
    key: 'handler-access',
    kind: 'deliberate',
    what: 'A manager, server-status or metrics location without access rules',
    apache24: 'Open to everyone',
    apacheSyntax: 'Only this machine (with a warning from `check`)',
    yaml: 'Only this machine',
    setting: '`Require …` in the `<Location>`; `allow` of the handler',
    values: { apache: ['local'], yaml: ['local'] },
  },
  {
    key: 'shared-balancers',
    kind: 'deliberate',
    what: 'Balancers and virtual hosts',
    apache24: 'Each `<VirtualHost>` has balancers of its own',
    apacheSyntax: 'Defined once and usable from every virtual host; two of the same name in different hosts become one (with a warning)',
    yaml: 'Defined once under `balancers`, usable from every virtual host',
    setting: '–',
  },
  {
    key: 'no-listen',
    kind: 'kept',
    what: 'A config without `Listen`',
    apache24: 'Does not start (no listening sockets)',
    apacheSyntax: 'The ports of the `<VirtualHost>` addresses, else 8080',
    yaml: '8080',
    setting: '`Listen`; `listen`',
    values: { apache: [8080], yaml: [8080] },
  },
  {
    key: 'member-max',
    kind: 'kept',
    what: 'Connections to one member',
    apache24: 'As many as the MPM has threads (`ThreadsPerChild` per child process)',
    apacheSyntax: 'At most 256',
    yaml: 'At most 256',
    setting: '`max` (member)',
    values: { apache: 256, yaml: 256 },
  },
  {
    key: 'error-log-path',
    kind: 'kept',
    what: 'Where the error log goes without `ErrorLog`',
    apache24: '`logs/error_log` under `ServerRoot`',
    apacheSyntax: 'Standard output',
    yaml: 'Standard output',
    setting: '`ErrorLog`; `errorLog.path`',
    values: { apache: '-', yaml: '-' },
  },
  {
    key: 'fleet',
    kind: 'same',
    what: 'Several balancers in front of the same members (an HA pair)',
    apache24: 'Each httpd on its own: a drain in one manager, a rolling restart or `BalancerPersist` state stay on that server',
    apacheSyntax: 'The same, unless asked: with `StickylbFleet` they share manager changes, rolling restarts (one at a time, idle on all) and the saved state through Redis',
    yaml: 'The same, unless asked: `fleet`',
    setting: '`StickylbFleet redis://… name=NAME` (stickylb\'s own); `fleet` (see docs/fleet.md)',
  },
  {
    key: 'dns-members',
    kind: 'same',
    what: 'Members that come and go (containers, StatefulSet pods)',
    apache24: 'Listed one by one; a member\'s host name is resolved when connecting, new ones need the manager or a reload',
    apacheSyntax: 'Listed one by one, unless a `BalancerMember` asks for discovery: `discover=srv` (SRV records) or `discover=dns` (A/AAAA) makes the records of its name the members, followed as their TTL says',
    yaml: 'Listed in `members`, or found by DNS: `dns`',
    setting: '`BalancerMember http://NAME discover=srv|dns|a|aaaa`, `StickylbResolver` (stickylb\'s own); `dns`, `resolver` (see docs/fleet.md)',
  },
];

const KIND_WORDS: Record<DifferenceKind, string> = {
  default: 'Apache syntax gets Apache\'s default',
  same: 'Apache\'s default in both',
  kept: 'stickylb\'s in both',
  deliberate: 'On purpose, in both',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The differences table as markdown (what docs/apache-migration.md holds between its markers). */
export function differencesTable(rows: readonly Difference[] = DIFFERENCES): string {
  const head = ['What', 'Apache 2.4', 'stickylb, Apache syntax', 'stickylb, YAML/JSON', 'Setting', 'Kind'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${[r.what, r.apache24, r.apacheSyntax, r.yaml, r.setting, KIND_WORDS[r.kind]].map(cell).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

export const TABLE_BEGIN = '<!-- differences table: generated from src/config/differences.ts by `node scripts/gen-docs.mjs`; do not edit -->';
export const TABLE_END = '<!-- end of differences table -->';

/** The docs text with the table between its markers replaced by the current one. */
export function withDifferencesTable(doc: string): string {
  const a = doc.indexOf(TABLE_BEGIN);
  const b = doc.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error('docs/apache-migration.md has no differences table markers');
  return `${doc.slice(0, a + TABLE_BEGIN.length)}\n\n${differencesTable()}\n${doc.slice(b)}`;
}
