// The resolved edge settings (model.ts refers to these): who the client is behind declared
// proxies, who may use which path, and the limits a request and a client live within.
import type { CompatRules, RequireNode } from '../edge/authz.js';
import type { RemoteIpSettings } from '../edge/remote-ip.js';

export type RemoteIpModel = RemoteIpSettings;

/** One access section (Apache <Location>, <LocationMatch>, <Proxy>, <ProxyMatch>; YAML `access`). */
export interface AccessSectionModel {
  /** For messages and logs: `<Location /admin>` with file:line, or `access[2] (/admin)`. */
  name: string;
  /** Location sections look at the request path; proxy sections at the proxied URL. */
  scope: 'location' | 'proxy';
  /** A path or URL prefix (`*` for every proxied URL). */
  prefix?: string;
  /** A regular expression (JavaScript syntax, checked to mean what the PCRE one means). */
  match?: string;
  require?: RequireNode;
  authMerging: 'off' | 'and' | 'or';
  compat?: CompatRules;
  authType?: 'basic' | 'none';
  authName?: string;
  /** Absolute paths. */
  authUserFile?: string;
  authGroupFile?: string;
  limitRequestBody?: number;
}

export interface RateLimitModel {
  /** Stable id of the rule (`/api 100/60s`), for counters. */
  id: string;
  path: string;
  requests: number;
  windowMs: number;
}

/** mod_reqtimeout: an initial timeout, raised by one second per `minRate` bytes, up to `maxMs`. */
export interface ReadTimeoutModel {
  /** 0: no header timeout of its own (the keep-alive and Timeout settings still apply). */
  headerMs: number;
  /** 0: no cap. */
  headerMaxMs: number;
  headerMinRate: number;
  bodyMs: number;
  bodyMaxMs: number;
  bodyMinRate: number;
}

export interface EdgeModel {
  limitRequestFields: number;
  limitRequestFieldSize: number;
  limitRequestLine: number;
  maxKeepAliveRequests: number;
  readTimeout: ReadTimeoutModel;
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** Listeners that read a PROXY header first: every one, or those on these ports/addresses. */
  proxyProtocol: { all: boolean; listeners: { host?: string; port: number }[] };
  proxyProtocolTimeoutMs: number;
  proxyProtocolExceptions: string[];
  /** Addresses of every declared proxy of every site (exempt from the per-client connection limit). */
  declaredProxies: string[];
}

/** The edge settings of a site. */
export interface SiteEdgeModel {
  remoteIp?: RemoteIpModel;
  forwarded: boolean;
  access?: AccessSectionModel[];
  /** 0: no limit. */
  limitRequestBody: number;
  rateLimits?: RateLimitModel[];
  /**
   * The site has declared proxies, access sections or rate limits: the lean engine's edge step
   * has work to do for its requests (one check for the sites without).
   */
  edgeSteps: boolean;
}
