// The resolved configuration model: defaults applied, durations in milliseconds, one shape for
// every front end. Frozen after validation; everything that changes at run time lives in
// BalancerState (src/balancer/state.ts), not here.
import type { TlsPolicy } from '../tls/policy.js';

import type { AccessSectionModel, EdgeModel, SiteEdgeModel } from './edge-model.js';
import type { DnsSourceModel, FleetModel, MemberSource, ResolverModel } from './fleet-model.js';

/** Member status flags, Apache's letters. */
export const STATUS_LETTERS = ['I', 'N', 'D', 'H', 'R', 'S', 'E', 'C'] as const;
export type StatusLetter = (typeof STATUS_LETTERS)[number];
export type StatusFlags = Record<StatusLetter, boolean>;

export const STATUS_WORDS: Record<StatusLetter, string> = {
  I: 'Ignore errors',
  N: 'Drain',
  D: 'Disabled',
  H: 'Standby',
  R: 'Spare',
  S: 'Stopped',
  E: 'Error',
  C: 'Health check failed',
};

export type Lbmethod = 'byrequests' | 'bytraffic' | 'bybusyness' | 'heartbeat';

export interface HealthModel {
  method: 'TCP' | 'OPTIONS' | 'HEAD' | 'GET';
  uri: string;
  intervalMs: number;
  timeoutMs: number;
  passes: number;
  fails: number;
  /** Expression text (already looked up when it named a healthExpressions entry). */
  expect?: string;
}

export interface MemberModel {
  /** Stable key of the member inside its balancer: the normalised URL. */
  id: string;
  url: string;
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
  /** Path of the member URL without a trailing slash ('' for none). */
  basePath: string;
  route: string;
  loadfactor: number;
  lbset: number;
  redirect: string;
  retryMs: number;
  /** Response timeout; falls back to the balancer's, then ProxyTimeout, then Timeout. */
  timeoutMs: number;
  connectTimeoutMs: number;
  max: number;
  keepalive: boolean;
  disablereuse: boolean;
  status: StatusFlags;
  slowstartMs: number;
  health?: HealthModel;
  /** Where a member added at run time came from (members found by DNS); absent for the others. */
  source?: MemberSource;
}

export interface StickyNames {
  cookie?: string;
  url?: string;
}

export interface BalancerModel {
  name: string;
  /** True for the implicit one-member balancer of a `ProxyPass /x http://host/` rule. */
  implicit: boolean;
  lbmethod: Lbmethod;
  sticky?: StickyNames;
  /** Route separator, or null for `stickysessionsep=Off` (the whole value is the route). */
  separator: string | null;
  scolonpathdelim: boolean;
  nofailover: boolean;
  /** Extra attempts after the first; undefined means members - 1, as Apache. */
  maxattempts?: number;
  /** How long to wait for a usable member before answering 503 (0: do not wait). */
  timeoutMs: number;
  failonstatus: number[];
  failontimeout: boolean;
  forcerecovery: boolean;
  growth: number;
  routeCookie?: string;
  balancerHeaders: boolean;
  /**
   * Route verification: the session ids members issue (sticky cookie in Set-Cookie, sticky URL
   * parameter in Location) are checked against the member's route. On by default, also under
   * Apache syntax.
   */
  routeCheck: boolean;
  /**
   * Cap of the retry interval of a member that keeps failing (it doubles on each failure after a
   * recovery). Undefined: 5 x the member's retry, at most 10 minutes. 0: no back-off (the default
   * under Apache syntax).
   */
  retryBackoffMaxMs?: number;
  members: MemberModel[];
  /** DNS names whose records are members too (found and followed at run time). */
  dns?: DnsSourceModel[];
}

export type RuleModel =
  | { kind: 'exclude'; path?: string; match?: string }
  | {
      kind: 'proxy';
      path?: string;
      match?: string;
      balancer: string;
      /** Path part of the target (`balancer://c/app/` gives `/app/`). May hold $1 for match rules. */
      targetPath: string;
    };

export interface ReverseModel {
  path: string;
  /** Upstream prefixes to replace: each member URL + balancer path, or the single URL. */
  prefixes: string[];
  /** The balancer path of the rule (`balancer://c/app/` gives `/app/`), for relative Locations. */
  upstreamPath: string;
  /**
   * Map relative redirects (`Location: /landing`) from upstreamPath to the local path. Off under
   * Apache syntax (Apache leaves them alone), on by default in YAML.
   */
  relative: boolean;
}

export interface HandlerModel {
  path: string;
  handler: 'balancer-manager' | 'server-status' | 'metrics';
  allow: string[];
  deny: string[];
  htpasswd?: string;
  realm: string;
  /** Rules as Apache writes them; when set they decide instead of allow, deny and htpasswd. */
  access?: AccessSectionModel;
}

export interface StaticModel {
  root: string;
  index: string[];
  dotfiles: 'ignore' | 'allow' | 'deny';
  precompressed: boolean;
  maxAgeMs: number;
}

export interface AccessLogModel {
  path: string;
  format: string;
  json: boolean;
}

/** HTTP versions a listener speaks: h2 over TLS (ALPN), h2c (HTTP/2 without TLS, prior knowledge). */
export type HttpProtocol = 'h2' | 'h2c' | 'http/1.1';

export interface ListenerModel {
  host?: string;
  port: number;
  /** The listener terminates TLS with this policy (versions, ciphers); plain HTTP when absent. */
  tls?: TlsPolicy;
  /** HTTP versions offered: ALPN order over TLS; `h2c` on a plain listener takes HTTP/2 prior knowledge. */
  protocols?: HttpProtocol[];
}

/** PEM files of one certificate (paths as written; relative ones from the config file's folder). */
export interface CertificateFilesModel {
  cert: string;
  /** The key file; the key may also sit in the certificate file. */
  key?: string;
  /** Intermediate certificates, the leaf's issuer first. */
  chain?: string;
}

export interface SiteTlsModel {
  /** One per key type (RSA and ECDSA side by side); empty when the certificate comes from ACME. */
  certificates: CertificateFilesModel[];
}

/** A redirect stickylb answers itself (Apache mod_alias Redirect): the path suffix is appended to `to`. */
export interface RedirectModel {
  path: string;
  /** Absolute URL or path; absent for 410 Gone. */
  to?: string;
  status: number;
}

export interface SiteModel extends SiteEdgeModel {
  serverName?: string;
  serverAliases: string[];
  /** Listeners this site answers on; undefined means every listener. */
  listen?: ListenerModel[];
  preserveHost: boolean;
  rules: RuleModel[];
  reverse: ReverseModel[];
  cookiePath: { from: string; to: string }[];
  cookieDomain: { from: string; to: string }[];
  handlers: HandlerModel[];
  static?: StaticModel;
  accessLog: AccessLogModel[];
  /** Certificates served for this site's names on TLS listeners. */
  tls?: SiteTlsModel;
  /** Redirects (Apache Redirect), tried after the ProxyPass rules, in order. */
  redirects?: RedirectModel[];
  /** Requests that came over plain HTTP are redirected to https:// (port: when not 443). */
  redirectToHttps?: { status: number; port?: number };
  /** Strict-Transport-Security value added to the site's answers over HTTPS. */
  hsts?: string;
}

export interface NodeSpec {
  route: string;
  port: number;
}

export interface NodesModel {
  command: string[];
  nodes: NodeSpec[];
  env: Record<string, string>;
  cwd?: string;
  balancer: string;
  host: string;
  stopTimeoutMs: number;
}

export interface RollingModel {
  maxDraining: number;
  idleMs: number;
  maxWaitMs: number;
  hook?: string;
  sessionsPath?: string;
}

/** How long before expiry a certificate is renewed: a share of its lifetime, or a fixed time. */
export type RenewWindowModel = { percent: number } | { ms: number };

/** One managed domain (Apache MDomain): one certificate for all its names. */
export interface AcmeDomainModel {
  /** DNS names; the first names the certificate (and its folder in the store). */
  names: string[];
}

/** Automatic certificates from an ACME CA (Apache mod_md). */
export interface AcmeModel {
  /** The CA's directory URL. */
  directory: string;
  /** Contact e-mail of the account (MDContactEmail, else ServerAdmin). */
  contact?: string;
  /** The CA's terms of service are accepted (MDCertificateAgreement accepted). */
  agreeToTerms: boolean;
  /** Absolute folder of accounts, keys and certificates (MDStoreDir). */
  storeDir: string;
  renewWindow: RenewWindowModel;
  /** First wait after a failed order; doubles with each failure in a row (MDRetryDelay). */
  retryDelayMs: number;
  /** Key type of the certificates (MDPrivateKeys). */
  keyType: 'rsa2048' | 'rsa3072' | 'rsa4096' | 'p256' | 'p384';
  /** Absolute PEM files trusted for the CA's host besides Node's CA store (never instead of it). */
  caCertificates: string[];
  /** Challenge types answered, in order of preference (MDCAChallenges). */
  challenges: AcmeChallengeType[];
  domains: AcmeDomainModel[];
}

/** http-01: on the plain-HTTP listeners; tls-alpn-01 (RFC 8737): on the TLS listeners. */
export type AcmeChallengeType = 'http-01' | 'tls-alpn-01';

export interface ConfigModel {
  /** File the config came from, when it came from one. */
  source?: string;
  /** Whose defaults the settings left out got: stickylb's (YAML, JSON) or Apache 2.4's. */
  defaults: 'stickylb' | 'apache';
  listeners: ListenerModel[];
  balancers: Record<string, BalancerModel>;
  /** Sites in order; the first one that matches a listener is its default. */
  sites: SiteModel[];
  proxyRequests: boolean;
  proxyStatus: boolean;
  timeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderSize: number;
  replayBuffer: number;
  /** HTTP/1.1 engine of the listeners: node:http, or stickylb's own lean one (src/proxy/h1). */
  engine: 'node' | 'lean';
  healthExpressions: Record<string, string>;
  logFormats: Record<string, string>;
  errorLog: { path: string; level: string; format?: 'json' | 'text' };
  persist?: { file: string };
  nodes?: NodesModel;
  rolling: RollingModel;
  adminPath: string;
  /** Request, connection and rate limits, slow-client timeouts, the PROXY protocol. */
  edge: EdgeModel;
  /** Automatic certificates (ACME); undefined when no domain is managed. */
  acme?: AcmeModel;
  /** Several balancers as one fleet, sharing their state on Redis; undefined: this balancer alone. */
  fleet?: FleetModel;
  /** DNS servers for members found by DNS; undefined: the system's. */
  resolver?: ResolverModel;
  /** Worker processes that serve the listeners (src/workers); undefined: one process, the default. */
  workers?: WorkersModel;
  /** How long in-flight requests may take to finish when stickylb stops or a worker drains. */
  gracefulShutdownTimeoutMs: number;
}

/** `workers: N | auto`: the owner process forks `count` workers. */
export interface WorkersModel {
  count: number;
  /** Node flags for the workers (heap sizes), applied by the owner when it forks them. */
  nodeArgs: string[];
}

export function noFlags(): StatusFlags {
  return { I: false, N: false, D: false, H: false, R: false, S: false, E: false, C: false };
}

/**
 * Applies Apache's status syntax to flags: `+H`, `-D`, `S-E` (the sign carries over to the
 * following letters; a leading unsigned letter sets).
 */
export function applyStatus(flags: StatusFlags, spec: string): StatusFlags {
  const out = { ...flags };
  let on = true;
  for (const ch of spec) {
    if (ch === '+') on = true;
    else if (ch === '-') on = false;
    else {
      const letter = ch.toUpperCase() as StatusLetter;
      if (letter in out) out[letter] = on;
    }
  }
  return out;
}
