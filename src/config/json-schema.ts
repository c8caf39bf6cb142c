// The JSON Schema of the YAML/JSON config format, generated from the one zod schema, with short
// descriptions (defaults and units) that editors show on hover. Pure.
import { z } from 'zod';
import {
  durationSchema,
  accessLogSchema,
  acmeSchema,
  balancerSchema,
  configSchema,
  healthSchema,
  certificateFilesSchema,
  hstsSchema,
  listenerObjectSchema,
  listenerTlsSchema,
  redirectSchema,
  siteTlsSchema,
  memberSchema,
  nodesSchema,
  proxyPassReverseSchema,
  proxyPassSchema,
  rollingSchema,
  staticSchema,
  virtualHostSchema,
  dnsObjectSchema,
} from './schema.js';
import { fleetSchema, resolverSchema } from './fleet-schema.js';

const DURATION = 'seconds, or a string with a unit: "500ms", "30s", "5m", "1h"';
const GENERIC_DURATION = durationSchema.description;

const site: Record<string, string> = {
  serverName: 'Host name this site answers for (Apache ServerName); without one the site takes every host.',
  serverAliases: 'More host names for the site (Apache ServerAlias).',
  preserveHost: "Pass the client's Host header to members (Apache ProxyPreserveHost). Default false: members see their own host:port.",
  proxyPass: 'Routing rules, tried in order; the first match wins (Apache ProxyPass / ProxyPassMatch). Put exclusions ("!") before the rules that would take them.',
  proxyPassReverse: 'Rewrite Location, Content-Location, URI and Destination headers of member responses back to this site (Apache ProxyPassReverse).',
  cookiePath: 'Rewrite path= of Set-Cookie from `from` to `to` (Apache ProxyPassReverseCookiePath).',
  cookieDomain: 'Rewrite domain= of Set-Cookie from `from` to `to` (Apache ProxyPassReverseCookieDomain).',
  handlers: 'Built-in pages: balancer-manager, server-status, metrics (Apache <Location> with SetHandler).',
  static: 'Serve files for paths no rule proxies (Apache DocumentRoot).',
  accessLog: 'Access logs (Apache CustomLog).',
  tls: 'Certificate of the site on TLS listeners (Apache SSLCertificateFile, SSLCertificateKeyFile, SSLCertificateChainFile), chosen by SNI among the sites of a listener. See docs/tls.md.',
  redirects: 'Redirects answered by stickylb (Apache Redirect): a request for path or below gets `to` with the rest of its path appended. Tried after the proxyPass rules.',
  redirectToHttps: 'Answer requests that came over plain HTTP with a redirect to the same URL on https:// (true: 301 to port 443; or {port, status}).',
  hsts: 'Strict-Transport-Security header on answers over HTTPS: true (max-age one year), a header value, or {maxAge, includeSubDomains, preload}.',
};

const descriptions = new Map<z.ZodType, Record<string, string>>([
  [
    configSchema,
    {
      $schema: 'Where editors find this schema; ignored by stickylb.',
      defaults: 'Defaults of the settings left out: "stickylb" (the default) or "apache" (Apache 2.4\'s: no retry back-off, relative redirects left alone, …; what Apache syntax files get). See docs/apache-migration.md.',
      listen: 'Ports to listen on: 8080, "127.0.0.1:8080", "[::1]:8080" or {host, port} (Apache Listen). Default [8080].',
      balancers: 'Balancers by name (Apache <Proxy balancer://NAME>). Rules reach them as balancer://NAME/.',
      ...site,
      virtualHosts: 'Name-based virtual hosts (Apache <VirtualHost>); each inherits the top-level site settings. The first host of a listener is its default.',
      proxyRequests: 'Apache ProxyRequests: stickylb is never a forward proxy; kept for converted configs. Default false.',
      proxyStatus: 'Show balancers and members on server-status (Apache ProxyStatus). Default false.',
      timeout: `How long to wait for a member's answer when neither member nor balancer says (Apache Timeout): ${DURATION}. Default 60.`,
      proxyTimeout: `Like timeout, for proxied requests only (Apache ProxyTimeout): ${DURATION}.`,
      keepAliveTimeout: `How long an idle client connection stays open (Apache KeepAliveTimeout): ${DURATION}. Default 5.`,
      maxHeaderSize: 'Largest request header block in bytes. Default 16384.',
      replayBuffer: 'Request body bytes kept to send the request again to another member after a connection failure. Default 65536.',
      engine: 'HTTP/1.1 engine: "node" (node:http) or "lean" (stickylb\'s own strict parser and member connection pools, less CPU per request). Default "lean".',
      healthExpressions: 'Named health check expressions (Apache ProxyHCExpr), used by health.expect. See docs/health-checks.md.',
      healthTemplates: 'Named health check settings (Apache ProxyHCTemplate), used by health.template.',
      logFormats: 'Access log formats by nickname (Apache LogFormat); common, combined, vhost_combined, referer and agent are built in.',
      errorLog: 'Error log: path (a file, relative to the config file, or "-": standard output, the default), level (default warn) and format (json, the default, or text; Apache configs: text) (Apache ErrorLog, LogLevel).',
      persist: 'Keep manager changes across restarts (Apache BalancerPersist): true (next to the config file) or {file}. Config edits win over saved state.',
      nodes: 'Identical app nodes stickylb starts and supervises; each becomes a member with its own route.',
      rolling: 'Settings of `stickylb restart --rolling`.',
      admin: 'Path of the admin API.',
      acme: 'Automatic certificates from an ACME CA such as Let\'s Encrypt (Apache mod_md): the domains to manage and the CA. See docs/tls.md.',
      fleet: 'Several balancers as one fleet (Apache: StickylbFleet): manager changes, rolling restarts and the saved state are shared through Redis; each balancer serves on when Redis is away. See docs/fleet.md.',
      resolver: 'DNS servers asked for members found by DNS (Apache: StickylbResolver). Default: the system\'s (/etc/resolv.conf).',
      manager: 'Shorthand for a balancer-manager handler of the default site (path default /balancer-manager).',
      serverStatus: 'Shorthand for a server-status handler of the default site (path default /server-status).',
      metrics: 'Shorthand for a Prometheus metrics handler of the default site (path default /metrics).',
    },
  ],
  [
    listenerObjectSchema,
    {
      host: 'Address to listen on; every address when absent.',
      port: 'Port to listen on (0: any free port).',
      tls: 'Terminate TLS on this listener: true (secure defaults: TLS 1.2 and 1.3, Mozilla intermediate ciphers, session tickets) or the settings to change. The certificates come from the sites it serves.',
      protocols: 'HTTP versions offered: over TLS the ALPN list (default ["h2", "http/1.1"]); without TLS "h2c" takes HTTP/2 with prior knowledge (default ["http/1.1"]) (Apache Protocols).',
    },
  ],
  [
    listenerTlsSchema,
    {
      versions: 'TLS versions, one contiguous range (Apache SSLProtocol). Default ["TLSv1.2", "TLSv1.3"]; TLSv1 and TLSv1.1 get a warning.',
      ciphers: 'OpenSSL cipher string for TLS 1.2 and below (Apache SSLCipherSuite). Default: Mozilla intermediate.',
      cipherSuites: 'TLS 1.3 suites, colon-separated (Apache SSLCipherSuite TLSv1.3 …). Default: TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256.',
      honorCipherOrder: "The server's cipher order wins over the client's (Apache SSLHonorCipherOrder). Default false.",
      sessionTickets: 'Resume TLS sessions with tickets (Apache SSLSessionTickets). Default true.',
    },
  ],
  [
    siteTlsSchema,
    {
      cert: 'Certificate file (PEM), optionally followed by its chain; relative to the config file.',
      key: 'Private key file (PEM, unencrypted); may be left out when the certificate file holds the key.',
      chain: 'Intermediate certificates (PEM), the issuer of the certificate first.',
      certificates: 'Several certificates of the site, one per key type (an RSA and an ECDSA one), each {cert, key, chain}.',
    },
  ],
  [
    certificateFilesSchema,
    {
      cert: 'Certificate file (PEM), optionally followed by its chain.',
      key: 'Private key file (PEM, unencrypted).',
      chain: 'Intermediate certificates (PEM), the issuer first.',
    },
  ],
  [
    redirectSchema,
    {
      path: 'Path prefix, matched on segment boundaries; the rest of the path (and the query) is appended to `to`.',
      to: 'Where to: an absolute URL (https://example.org/) or a path. Not with status 410.',
      status: 'Status of the answer: 301 (permanent), 302 (default), 303, 307, 308, or 410 (gone, no `to`).',
    },
  ],
  [hstsSchema, {}],
  [virtualHostSchema, { listen: 'Listeners this host answers on ("*:80", "127.0.0.1:8080"); every listener when absent.', ...site }],
  [
    balancerSchema,
    {
      lbmethod: 'Scheduler for requests without a usable route: byrequests (weighted round robin), bytraffic, bybusyness, heartbeat. Default byrequests.',
      stickysession: 'Session id name: "_s" (cookie and URL parameter), "JSESSIONID|jsessionid" (cookie|URL parameter) or {cookie, url}. Not sticky when absent.',
      stickysessionsep: 'Separator before the route in a session id: one character, or "Off" (the whole value is the route). Default ".".',
      scolonpathdelim: 'Also end a URL session value at ";" (for ;jsessionid= path parameters). Default false.',
      nofailover: "Answer 503 instead of moving a session to another member when its member is down. Default false.",
      maxattempts: 'Extra attempts on other members after a failed connection. Default: members - 1.',
      timeout: `How long to wait for a usable member before answering 503: ${DURATION}. Default 0 (do not wait).`,
      failonstatus: 'Response statuses that put the member in error (the response is still passed on), e.g. [500, 503].',
      failontimeout: 'A member that does not answer in time is put in error. Default false.',
      forcerecovery: 'When every member is in error, try them all again at once. Default true.',
      growth: 'Free slots for members added at run time through the manager. Default 0.',
      routecookie: 'Set this cookie to ".<route>" when the route changed (the classic ROUTEID recipe).',
      balancerheaders: 'Pass the balancing outcome to the app as X-Stickylb-* request headers. Default false.',
      routecheck: 'Route verification: report members that issue session ids (Set-Cookie, Location) whose route is not their own, or none. Default true, also under Apache syntax.',
      slowstart: `A member coming back gets its full share of new sessions over this time: ${DURATION}. Default 0.`,
      retrybackoff: 'Cap of the growing retry interval of a member that keeps failing; false or 0: no back-off. Default 5 x retry, at most 10m.',
      health: 'Health check defaults for every member.',
      members: 'The members (Apache BalancerMember), in order.',
      dns: 'Members found by DNS (Apache: BalancerMember with discover=): an SRV name ("_http._tcp.app.NS.svc.cluster.local"), an A/AAAA name with a port, or a list; looked up again as the records\' TTL says; members may then be left out. See docs/fleet.md.',
    },
  ],
  [
    dnsObjectSchema,
    {
      name: 'The DNS name: an SRV name ("_http._tcp.app.NS.svc.cluster.local": each target and port a member) or a host name (each A/AAAA address a member).',
      type: 'Records to ask for: SRV, A, AAAA or "A+AAAA". Default SRV for names starting with "_", else A+AAAA.',
      port: 'Port of the members of an A/AAAA name (SRV records give their own).',
      scheme: 'http or https. Default http.',
      path: 'Path of the member URLs. Default none.',
      route: 'Route of each member: "name" (the first label of its name: app-0.app.ns.svc.cluster.local gives app-0; the default for SRV) or "address" (10.0.0.5 gives 10-0-0-5; the default for A/AAAA).',
      minTtl: `Shortest time between lookups, whatever the TTL: ${DURATION}. Default 1.`,
      maxTtl: `Longest time between lookups, whatever the TTL: ${DURATION}. Default 300.`,
      drainIdle: `A member whose name left DNS is drained, and removed once no request of its sessions came for this long: ${DURATION}. Default: rolling.idle (10).`,
      drainMax: `…or once drained this long: ${DURATION}. Default: rolling.maxWait (300).`,
      max: 'At most this many members from this name. Default 64.',
      member: 'Settings of every member found (retry, timeout, loadfactor, slowstart, health, …). New members join with slow start: the balancer\'s slowstart, else 30s.',
    },
  ],
  [
    fleetSchema,
    {
      redis: 'The Redis that holds the fleet\'s shared state: redis://[user:password@]host[:port][/db], or rediss://… for TLS (Node\'s CA store plus NODE_EXTRA_CA_CERTS and caFile).',
      name: 'The fleet\'s name: balancers with the same name (and Redis) share one state; several fleets can share one Redis.',
      prefix: 'Prefix of the fleet\'s keys in Redis. Default "stickylb:NAME:".',
      password: 'Redis password (AUTH), when not in the URL.',
      passwordFile: 'File with the Redis password (a mounted secret), relative to the config file.',
      username: 'Redis user (ACL), when not in the URL.',
      caFile: 'PEM file of a CA trusted for rediss:// besides Node\'s CA store and NODE_EXTRA_CA_CERTS.',
      id: 'This balancer\'s name in the fleet (letters, digits, _ . -). Default HOSTNAME:PORT (the pod name in Kubernetes).',
      address: 'Where people reach this balancer, shown in the manager. Default: its first listener.',
      heartbeat: `How often each balancer says it is alive and how it sees the members: ${DURATION}. Default 1.`,
      peerTimeout: `A balancer not heard from for this long has left the fleet: ${DURATION}. Default 5.`,
      lease: `Lease of the rolling-restart lock; a balancer that dies holding it frees it after this long: ${DURATION}. Default 15.`,
      ackWait: `How long a manager answer waits for the other balancers to apply a change (it then says who has): ${DURATION}. Default 1; 0 answers once stored.`,
      health: 'Health check verdicts: "local" (each balancer its own, the default: each sees its own network) or "shared" (a member is out on every balancer while one balancer\'s check fails).',
    },
  ],
  [
    resolverSchema,
    {
      servers: 'DNS servers, asked in order: "127.0.0.1", "10.96.0.10:53", "[::1]:5353". Default: the system\'s.',
      timeout: `How long to wait for an answer; each server is asked twice: ${DURATION}. Default 2.`,
    },
  ],
  [
    memberSchema,
    {
      url: 'The member: http://host:port with an optional base path.',
      route: 'The id the application appends to its session ids (Seaside makeAllClusteredWith:, Tomcat jvmRoute). Unique in the balancer.',
      loadfactor: 'Share of new sessions, 1..100 (decimals allowed). Default 1.',
      lbset: 'Members of the lowest set are used first; higher sets only when none is usable. 0..99, default 0.',
      redirect: 'When this member is unusable, send its sessions to the member with this route.',
      retry: `How long a member in error waits before it is tried again: ${DURATION}. Default 60; 0: at once.`,
      timeout: `How long to wait for this member's answer: ${DURATION}. Default: the balancer's, then proxyTimeout, then timeout.`,
      connectiontimeout: `How long to wait for a connection: ${DURATION}. Default 5.`,
      ping: `Apache ping: ${DURATION}.`,
      max: 'Most connections to the member. Default 256.',
      smax: 'Apache smax (soft maximum of pooled connections).',
      ttl: `How long an idle pooled connection is kept: ${DURATION}.`,
      keepalive: 'Reuse connections to the member. Default true.',
      disablereuse: 'Open a new connection for every request. Default false.',
      status: 'Initial status flags: "+H" hot standby, "+R" hot spare, "+D" disabled, "+S" stopped, "+N" drain, "+I" ignore errors.',
      slowstart: `Slow start for this member: ${DURATION}.`,
      health: 'Active health check of this member (wins over the balancer health).',
    },
  ],
  [
    healthSchema,
    {
      method: 'TCP (connect only), OPTIONS, HEAD or GET. No checks when absent.',
      uri: 'Path appended to the member URL. Default /.',
      interval: `Time between checks: ${DURATION}; at least 100ms. Default 30.`,
      timeout: `A check that takes longer fails: ${DURATION}. Default: the interval, at most 10s.`,
      passes: 'Passed checks in a row that bring the member back. Default 1.',
      fails: 'Failed checks in a row that take the member out. Default 1.',
      expect: 'What passes: an expression (status 200-399, body contains "ok") or a healthExpressions name. Default status 200-399.',
      template: 'Take the settings of this healthTemplates entry.',
    },
  ],
  [
    proxyPassSchema,
    {
      path: 'Path prefix, matched on segment boundaries (/app takes /app and /app/x, not /application).',
      match: 'Regular expression instead of a path (Apache ProxyPassMatch); $1 … in `to` refer to its groups.',
      to: 'balancer://NAME/path, a single http://host:port/path, or "!" to leave the path unproxied.',
      params: 'Balancer parameters for this rule (as on an Apache ProxyPass line), e.g. {stickysession: "_s", nofailover: true}.',
      member: 'Member parameters for a single-URL rule, e.g. {retry: 5, connectiontimeout: "500ms"}.',
    },
  ],
  [
    proxyPassReverseSchema,
    {
      path: 'The local path redirects are rewritten to.',
      to: 'balancer://NAME/path (covers every member) or a member URL http://host:port/path.',
      relative: 'Also map relative redirects (Location: /landing) from the balancer path to `path`; one already under `path` is left alone. Default true; with defaults: apache, false (as Apache).',
    },
  ],
  [
    staticSchema,
    {
      root: 'Directory the files are served from.',
      index: 'Files tried for a directory. Default ["index.html"].',
      dotfiles: 'Names starting with a dot: ignore (404, the default), allow, or deny (403).',
      precompressed: 'Serve file.br / file.gz siblings when the client accepts them. Default false.',
      maxAge: `Cache-Control max-age: ${DURATION}. Default 0.`,
    },
  ],
  [
    accessLogSchema,
    {
      path: 'File, or "-" for standard output.',
      format: 'A logFormats nickname (default combined) or an Apache LogFormat string.',
      json: 'Write JSON lines instead. Default false.',
    },
  ],
  [
    nodesSchema,
    {
      command: 'The command that starts one node; it gets PORT and STICKYLB_ROUTE in its environment.',
      count: 'How many nodes. Default 2.',
      basePort: 'Port of the first node; the others follow. Default 8081.',
      routePrefix: 'Routes are this prefix + 1, 2, …. Default "node".',
      list: 'Explicit {route, port} of each node instead of count/basePort/routePrefix.',
      env: 'More environment variables for every node.',
      cwd: 'Working directory of the nodes.',
      balancer: 'Balancer the nodes become members of. Default: the only balancer, or "cluster".',
      host: 'Address the nodes listen on. Default 127.0.0.1.',
      stopTimeout: `How long a node may take to stop before it is killed: ${DURATION}. Default 10.`,
      health: 'Health check of the nodes.',
    },
  ],
  [
    rollingSchema,
    {
      maxDraining: 'Nodes drained at the same time. Default 1.',
      idle: `A drained node is idle after no session request for this long: ${DURATION}. Default 10.`,
      maxWait: `Restart a drained node after this long even if not idle: ${DURATION}. Default 300.`,
      hook: 'Command run to restart a member stickylb did not start.',
      sessionsPath: 'Path on each node that reports its live sessions (see the cluster library).',
    },
  ],
  [
    acmeSchema,
    {
      domains: 'Managed domains (Apache MDomain): each a DNS name or a list of names that share one certificate. No wildcards (they need DNS-01).',
      directory: 'The CA\'s ACME directory URL, or letsencrypt, letsencrypt-staging, buypass, buypass-test (Apache MDCertificateAuthority). Default letsencrypt.',
      contact: 'E-mail address of the ACME account (Apache MDContactEmail, else ServerAdmin).',
      agreeToTerms: 'You accept the CA\'s terms of service (Apache MDCertificateAgreement accepted); most CAs require it. Default false.',
      storeDir: 'Folder of the account key, certificate keys (mode 0600) and certificates, relative to the config file (Apache MDStoreDir). Default "md".',
      renewWindow: 'Renew when this much of the lifetime is left ("33%") or this long before expiry ("21d", "12h"; a number is seconds) (Apache MDRenewWindow). Default "33%".',
      retryDelay: `Wait after a failed order, doubled for each failure in a row, at most a day (Apache MDRetryDelay): ${DURATION}. Default 60; 5 with defaults: apache (mod_md's).`,
      keyType: 'Key of the certificates: rsa2048, rsa3072, rsa4096, p256 or p384 (Apache MDPrivateKeys). Default rsa2048.',
      caCertificates: 'PEM file(s) of a private CA\'s root, trusted for the ACME server besides Node\'s CA store and NODE_EXTRA_CA_CERTS (never instead of them).',
      challenges: 'Challenge types to answer, in order of preference: http-01 (on the plain-HTTP listeners, port 80 for the CA) and tls-alpn-01 (on the TLS listeners, port 443 for the CA) (Apache MDCAChallenges). Default [http-01].',
    },
  ],
]);

// The balancer and member parameters of a ProxyPass rule are copies of those schemas: same texts.
for (const [copy, of] of [
  [proxyPassSchema.shape.params.unwrap(), balancerSchema],
  [proxyPassSchema.shape.member.unwrap(), memberSchema],
] as const) {
  const texts = descriptions.get(of);
  if (texts) descriptions.set(copy, texts);
}

/** The JSON Schema (draft 2020-12) of the config format. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    unrepresentable: 'any',
    override(ctx) {
      const texts = descriptions.get(ctx.zodSchema as unknown as z.ZodType);
      const props = (ctx.jsonSchema as { properties?: Record<string, Record<string, unknown>> }).properties;
      if (texts && props) {
        // The generic text of a duration gives way to what this duration is for.
        for (const [key, text] of Object.entries(texts)) if (props[key] && (!props[key].description || props[key].description === GENERIC_DURATION)) props[key].description = text;
      }
      // zod names startsWith checks with a format of its own; the pattern says the same.
      if ((ctx.jsonSchema as { format?: string }).format === 'starts_with') delete (ctx.jsonSchema as { format?: string }).format;
    },
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    title: 'stickylb configuration',
    description: 'The YAML/JSON config of stickylb, a sticky-session load balancer with Apache mod_proxy_balancer semantics. See docs/configuration.md.',
    ...schema,
  };
}

/** The schema as the text of schema/stickylb.schema.json. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
