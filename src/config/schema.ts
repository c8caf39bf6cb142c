// The one configuration schema. Every front end (YAML, JSON, Apache syntax) produces an object of
// this shape; `validateConfig` in validate.ts is the only gate through which it becomes a model.
import { z } from 'zod';
import { accessRulesSchema, edgeGlobalFields, edgeSiteFields, proxyProtocolSchema } from './edge-schema.js';
import { acmeNameProblem, KNOWN_CAS } from '../acme/cas.js';
import { dnsSourceObjectSchema, fleetSchema, resolverSchema } from './fleet-schema.js';

/** Seconds as a number, or a string with a unit: `500ms`, `30s`, `5m`, `1h`. Resolved to ms. */
export const durationSchema = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)?$/i)])
  .describe('a duration: seconds as a number, or a string such as "500ms", "30s", "5m"');

/** Apache status flags: `+H`, `-D`, `S-E`, `D`. Sign carries over, case-insensitive. */
export const statusFlagsSchema = z
  .string()
  .regex(/^([+-]?[INDHRSECinhdrsec])*$/)
  .describe('status flags such as "+H", "-D", "D", "+N" (letters I N D H R S E C, optionally signed)');

export const LBMETHODS = ['byrequests', 'bytraffic', 'bybusyness', 'heartbeat'] as const;

export const healthSchema = z
  .object({
    method: z.enum(['TCP', 'OPTIONS', 'HEAD', 'GET', 'tcp', 'options', 'head', 'get']).optional(),
    uri: z.string().startsWith('/').optional(),
    interval: durationSchema.optional(),
    timeout: durationSchema.optional(),
    passes: z.number().int().min(1).max(100).optional(),
    fails: z.number().int().min(1).max(100).optional(),
    /** A named expression from `healthExpressions`, or an inline one (see docs/configuration.md). */
    expect: z.string().min(1).optional(),
    template: z.string().min(1).optional(),
  })
  .strict();

export const memberSchema = z
  .object({
    url: z.string().regex(/^(https?|wss?):\/\/[^/\s]+(\/\S*)?$/i, 'must be an http:// or https:// URL with a host (ws:// and wss:// are read as http:// and https://)'),
    route: z
      .string()
      .max(63)
      .regex(/^[^\s\x00-\x1f\x7f]*$/, 'must not contain spaces or control characters')
      .optional(),
    loadfactor: z.number().min(1).max(100).optional(),
    lbset: z.number().int().min(0).max(99).optional(),
    redirect: z.string().max(63).optional(),
    retry: durationSchema.optional(),
    timeout: durationSchema.optional(),
    connectiontimeout: durationSchema.optional(),
    ping: durationSchema.optional(),
    max: z.number().int().min(1).optional(),
    smax: z.number().int().min(0).optional(),
    ttl: durationSchema.optional(),
    keepalive: z.boolean().optional(),
    disablereuse: z.boolean().optional(),
    status: statusFlagsSchema.optional(),
    slowstart: durationSchema.optional(),
    health: healthSchema.optional(),
  })
  .strict();

/** Members found by DNS: {name, type, port, …, member: settings of every member found}. */
export const dnsObjectSchema = dnsSourceObjectSchema.extend({ member: memberSchema.omit({ url: true, route: true, redirect: true }).optional() }).strict();

/** Members found by DNS: a name, or the full form. */
export const dnsSchema = z.union([dnsSourceObjectSchema.shape.name, dnsObjectSchema]);

export const stickySessionSchema = z
  .union([
    z.string().regex(/^[^|\s;=,]+(\|[^|\s;=,]+)?$/, 'must be NAME or COOKIE|URLPARAM'),
    z.object({ cookie: z.string().min(1).optional(), url: z.string().min(1).optional() }).strict(),
  ])
  .describe('the session id name: "_s" (cookie and URL parameter), "JSESSIONID|jsessionid" or {cookie, url}');

export const balancerSchema = z
  .object({
    lbmethod: z.enum(LBMETHODS).optional(),
    stickysession: stickySessionSchema.optional(),
    stickysessionsep: z
      .string()
      .refine((s) => s.length === 1 || s.toLowerCase() === 'off', 'must be one character or "Off"')
      .optional(),
    scolonpathdelim: z.boolean().optional(),
    nofailover: z.boolean().optional(),
    maxattempts: z.number().int().min(0).max(100).optional(),
    timeout: durationSchema.optional(),
    failonstatus: z.array(z.number().int().min(100).max(599)).optional(),
    failontimeout: z.boolean().optional(),
    forcerecovery: z.boolean().optional(),
    growth: z.number().int().min(0).max(100).optional(),
    /** Set this cookie to `.<route>` when the route changed (Apache users do this with mod_headers). */
    routecookie: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/).optional(),
    /** Pass the balancing outcome to the app as X-Stickylb-* request headers. */
    balancerheaders: z.boolean().optional(),
    /** Watch the session ids members issue and report ids whose route is not the member's (default true). */
    routecheck: z.boolean().optional(),
    slowstart: durationSchema.optional(),
    /** Cap of the growing retry interval of a member that keeps failing; false or 0 turns back-off off. */
    retrybackoff: z
      .union([durationSchema, z.boolean()])
      .describe('a duration such as "10m" (the cap of the retry interval), or false for no back-off')
      .optional(),
    /** Health check defaults for every member of the balancer. */
    health: healthSchema.optional(),
    members: z.array(memberSchema).default([]),
    /** Members found by DNS (A/AAAA or SRV records), re-resolved as their TTL says. */
    dns: z.union([dnsSchema, z.array(dnsSchema).min(1)]).optional(),
  })
  .strict();

const pathSchema = z.string().startsWith('/', 'must start with /');

/** One ProxyPass rule: to a balancer, to a single URL, or an exclusion (`!`). */
export const proxyPassSchema = z
  .object({
    path: pathSchema.optional(),
    /** A regular expression (ProxyPassMatch); `$1` … in `to` refer to its groups. */
    match: z.string().min(1).optional(),
    to: z
      .string()
      .regex(/^((balancer|https?|wss?):\/\/\S+|!)$/i, 'must be balancer://NAME/path, http://host:port/path or "!"'),
    /** Balancer parameters given on the ProxyPass line override the balancer's. */
    params: balancerSchema.omit({ members: true, dns: true }).partial().optional(),
    /** Worker parameters for a single-URL rule. */
    member: memberSchema.omit({ url: true }).partial().optional(),
  })
  .strict()
  .refine((r) => (r.path === undefined) !== (r.match === undefined), 'needs exactly one of path or match');

export const proxyPassReverseSchema = z
  .object({
    path: pathSchema,
    to: z.string().regex(/^(balancer|https?):\/\/\S+$/i, 'must be balancer://NAME/path or http://host:port/path'),
    /** Also map relative redirects (`Location: /landing`) from the balancer path to the local path. */
    relative: z.boolean().optional(),
  })
  .strict();

export const rewritePairSchema = z.object({ from: z.string().min(1), to: z.string() }).strict();

/** Access rules: "all", "none", "local", an IP, a CIDR, or "host example.org". */
export const accessSchema = z
  .object({
    allow: z.array(z.string().min(1)).optional(),
    deny: z.array(z.string().min(1)).optional(),
    /** Basic auth from an htpasswd file (bcrypt entries). */
    htpasswd: z.string().min(1).optional(),
    realm: z.string().optional(),
    /** Rules as Apache writes them (Require, Order/Allow/Deny, AuthType …); they replace allow, deny and htpasswd. */
    access: accessRulesSchema.optional(),
  })
  .strict();

export const handlerSchema = z
  .object({
    path: pathSchema,
    handler: z.enum(['balancer-manager', 'server-status', 'metrics']),
  })
  .merge(accessSchema)
  .strict();

export const staticSchema = z
  .object({
    root: z.string().min(1),
    index: z.array(z.string()).optional(),
    dotfiles: z.enum(['ignore', 'allow', 'deny']).optional(),
    precompressed: z.boolean().optional(),
    maxAge: durationSchema.optional(),
  })
  .strict();

export const listenSchema = z.union([
  z.number().int().min(0).max(65535),
  z.string().regex(/^(\[[0-9a-fA-F:.]+\]:|[^\s:]+:)?\d{1,5}$/, 'must be PORT or ADDRESS:PORT'),
  z.object({ host: z.string().optional(), port: z.number().int().min(0).max(65535) }).strict(),
]);

export const TLS_VERSION_NAMES = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export const HTTP_PROTOCOLS = ['h2', 'h2c', 'http/1.1'] as const;

/** The TLS settings of a listener (Apache SSLProtocol, SSLCipherSuite, SSLHonorCipherOrder, SSLSessionTickets). */
export const listenerTlsSchema = z
  .object({
    versions: z.array(z.enum(TLS_VERSION_NAMES)).min(1).optional(),
    ciphers: z.string().min(1).optional(),
    cipherSuites: z.string().regex(/^TLS_[A-Z0-9_]+(:TLS_[A-Z0-9_]+)*$/, 'must be TLS 1.3 suites such as TLS_AES_128_GCM_SHA256, colon-separated').optional(),
    honorCipherOrder: z.boolean().optional(),
    sessionTickets: z.boolean().optional(),
  })
  .strict();

export const listenerObjectSchema = z
  .object({
    host: z.string().optional(),
    port: z.number().int().min(0).max(65535),
    tls: z.union([z.boolean(), listenerTlsSchema]).optional(),
    protocols: z.array(z.enum(HTTP_PROTOCOLS)).min(1).optional(),
  })
  .strict();

/** A listener: an address, optionally TLS, with the HTTP versions it speaks. */
export const listenerSchema = z.union([
  z.number().int().min(0).max(65535),
  z.string().regex(/^(\[[0-9a-fA-F:.]+\]:|[^\s:]+:)?\d{1,5}$/, 'must be PORT or ADDRESS:PORT'),
  listenerObjectSchema,
]);

/** Certificate, key and chain files (PEM; relative paths from the config file's folder). */
export const certificateFilesSchema = z
  .object({
    cert: z.string().min(1),
    key: z.string().min(1).optional(),
    chain: z.string().min(1).optional(),
  })
  .strict();

/** A site's certificate(s): one (cert, key, chain) or several (one RSA, one ECDSA) in `certificates`. */
export const siteTlsSchema = certificateFilesSchema
  .partial()
  .extend({ certificates: z.array(certificateFilesSchema).min(1).optional() })
  .strict()
  .refine((t) => t.cert !== undefined || (t.key === undefined && t.chain === undefined), 'key and chain need cert');

/** A redirect answered by stickylb (Apache mod_alias Redirect). */
export const redirectSchema = z
  .object({
    path: z.string().startsWith('/', 'must start with /'),
    to: z.string().regex(/^https?:\/\/[^/\s]+(\/\S*)?$|^\/\S*$/i, 'must be an absolute URL (https://host/path) or a path').optional(),
    status: z.number().int().refine((n) => (n >= 300 && n <= 399) || n === 410, 'must be 300-399 or 410').optional(),
  })
  .strict()
  .refine((r) => (r.to === undefined) === (r.status === 410), 'needs `to`, except with status 410 (gone)');

/** The Strict-Transport-Security header of a site's HTTPS answers. */
export const hstsSchema = z.union([
  z.boolean(),
  z.string().regex(/^\s*max-age=\d+/i, 'must start with max-age=SECONDS'),
  z
    .object({
      maxAge: durationSchema,
      includeSubDomains: z.boolean().optional(),
      preload: z.boolean().optional(),
    })
    .strict(),
]);

export const accessLogSchema = z
  .object({
    path: z.string().min(1).describe('a file, or "-" for stdout'),
    format: z.string().min(1).optional(),
    json: z.boolean().optional(),
  })
  .strict();

export const siteFields = {
  serverName: z.string().optional(),
  serverAliases: z.array(z.string()).optional(),
  preserveHost: z.boolean().optional(),
  proxyPass: z.array(proxyPassSchema).optional(),
  proxyPassReverse: z.array(proxyPassReverseSchema).optional(),
  cookiePath: z.array(rewritePairSchema).optional(),
  cookieDomain: z.array(rewritePairSchema).optional(),
  handlers: z.array(handlerSchema).optional(),
  static: staticSchema.optional(),
  accessLog: z.array(accessLogSchema).optional(),
  ...edgeSiteFields,
  tls: siteTlsSchema.optional(),
  redirects: z.array(redirectSchema).optional(),
  redirectToHttps: z
    .union([
      z.boolean(),
      z
        .object({
          port: z.number().int().min(1).max(65535).optional(),
          status: z.union([z.literal(301), z.literal(302), z.literal(307), z.literal(308)]).optional(),
        })
        .strict(),
    ])
    .optional(),
  hsts: hstsSchema.optional(),
};

export const virtualHostSchema = z
  .object({
    /** The listener(s) this host answers on (`*:80`, `127.0.0.1:8080`); all when absent. */
    listen: z.array(listenSchema).optional(),
    ...siteFields,
  })
  .strict();

export const nodeSpecSchema = z.object({ route: z.string().min(1), port: z.number().int().min(0).max(65535) }).strict();

export const nodesSchema = z
  .object({
    command: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    count: z.number().int().min(1).max(64).optional(),
    basePort: z.number().int().min(1).max(65535).optional(),
    routePrefix: z.string().optional(),
    list: z.array(nodeSpecSchema).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
    balancer: z.string().optional(),
    host: z.string().optional(),
    stopTimeout: durationSchema.optional(),
    health: healthSchema.optional(),
  })
  .strict();

export const rollingSchema = z
  .object({
    maxDraining: z.number().int().min(1).optional(),
    idle: durationSchema.optional(),
    maxWait: durationSchema.optional(),
    hook: z.string().optional(),
    sessionsPath: pathSchema.optional(),
  })
  .strict();

/** A DNS name a CA can certify over HTTP-01 or TLS-ALPN-01. */
const acmeNameSchema = z.string().superRefine((name, ctx) => {
  const problem = acmeNameProblem(name.toLowerCase());
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

/** Automatic certificates from an ACME CA (Apache mod_md). */
export const acmeSchema = z
  .object({
    /** Managed domains: one certificate each, for one name or a list of names. */
    domains: z.array(z.union([acmeNameSchema, z.array(acmeNameSchema).min(1)])).min(1),
    directory: z
      .string()
      .refine((v) => /^https?:\/\/[^/\s]+\S*$/i.test(v) || Object.hasOwn(KNOWN_CAS, v.toLowerCase()), `must be an http(s):// directory URL or one of ${Object.keys(KNOWN_CAS).join(', ')}`)
      .optional(),
    contact: z.string().regex(/^(mailto:)?[^@\s]+@[^@\s]+$/i, 'must be an e-mail address').optional(),
    agreeToTerms: z.boolean().optional(),
    storeDir: z.string().min(1).optional(),
    renewWindow: z
      .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(%|ms|s|m|h|d)$/i, 'must be a share of the lifetime ("33%") or a time ("21d", "12h")')])
      .optional(),
    retryDelay: durationSchema.optional(),
    keyType: z.enum(['rsa2048', 'rsa3072', 'rsa4096', 'p256', 'p384']).optional(),
    caCertificates: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    /** Challenge types to answer, in order of preference (the CA picks among those it offers). */
    challenges: z.array(z.enum(['http-01', 'tls-alpn-01'])).min(1).optional(),
  })
  .strict();

export const configSchema = z
  .object({
    /** Where editors find the JSON Schema of this format (ignored by stickylb). */
    $schema: z.string().optional(),
    /** Defaults of settings left out: stickylb's, or Apache 2.4's (what Apache syntax files get). */
    defaults: z.enum(['stickylb', 'apache']).optional(),
    listen: z.array(listenerSchema).optional(),
    balancers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'balancer names use letters, digits, _ . -'), balancerSchema).optional(),
    ...siteFields,
    virtualHosts: z.array(virtualHostSchema).optional(),
    proxyRequests: z.boolean().optional(),
    proxyStatus: z.boolean().optional(),
    timeout: durationSchema.optional(),
    proxyTimeout: durationSchema.optional(),
    keepAliveTimeout: durationSchema.optional(),
    maxHeaderSize: z.number().int().min(1024).max(1048576).optional(),
    replayBuffer: z.number().int().min(0).optional(),
    /** HTTP/1.1 engine of the listeners: node:http, or stickylb's own (src/proxy/h1). */
    engine: z.enum(['node', 'lean']).optional(),
    ...edgeGlobalFields,
    /** Listeners that take HAProxy's PROXY protocol (Apache RemoteIPProxyProtocol On): true for all, or their addresses. */
    proxyProtocol: proxyProtocolSchema.optional(),
    healthExpressions: z.record(z.string(), z.string()).optional(),
    healthTemplates: z.record(z.string(), healthSchema).optional(),
    logFormats: z.record(z.string(), z.string()).optional(),
    errorLog: z
      .object({
        path: z.string().min(1).optional(),
        level: z.enum(['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug', 'trace']).optional(),
        /** `json` (one object a line, the default) or `text` (short Apache-style lines). */
        format: z.enum(['json', 'text']).optional(),
      })
      .strict()
      .optional(),
    persist: z.union([z.boolean(), z.object({ file: z.string().min(1) }).strict()]).optional(),
    nodes: nodesSchema.optional(),
    rolling: rollingSchema.optional(),
    admin: z.object({ path: pathSchema.optional() }).strict().optional(),
    acme: acmeSchema.optional(),
    /** Several balancers as one fleet: manager changes, rolling restarts and saved state shared on Redis. */
    fleet: fleetSchema.optional(),
    /** DNS servers asked for members found by DNS (default: the system's). */
    resolver: resolverSchema.optional(),
    /** Worker processes serving the listeners: a number, `auto` (one per core), or with Node flags. */
    workers: z
      .union([
        z.number().int().min(1).max(256),
        z.literal('auto'),
        z
          .object({
            count: z.union([z.number().int().min(1).max(256), z.literal('auto')]),
            /** Node flags for every worker, e.g. ["--max-old-space-size=512"]. */
            nodeArgs: z.array(z.string().regex(/^--[a-z0-9-]+(=\S*)?$/i, 'must be a Node flag such as --max-old-space-size=512')).optional(),
          })
          .strict(),
      ])
      .describe('worker processes: a number, "auto" (one per CPU core Node can use), or {count, nodeArgs}')
      .optional(),
    /** How long in-flight requests may take to finish on SIGTERM (and when a worker drains). */
    gracefulShutdownTimeout: durationSchema.optional(),
    /** Shorthands for `handlers` entries of the default site. */
    manager: accessSchema.extend({ path: pathSchema.optional() }).strict().optional(),
    serverStatus: accessSchema.extend({ path: pathSchema.optional() }).strict().optional(),
    metrics: accessSchema.extend({ path: pathSchema.optional() }).strict().optional(),
  })
  .strict();

export type RawConfig = z.infer<typeof configSchema>;
export type RawBalancer = z.infer<typeof balancerSchema>;
export type RawMember = z.infer<typeof memberSchema>;
export type RawHealth = z.infer<typeof healthSchema>;
export type RawProxyPass = z.infer<typeof proxyPassSchema>;
export type RawSite = z.infer<typeof virtualHostSchema>;
export type RawNodes = z.infer<typeof nodesSchema>;
export type RawAcme = z.infer<typeof acmeSchema>;
export type RawDns = z.infer<typeof dnsSchema>;
