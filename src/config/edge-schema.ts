// The config schema of the edge settings (schema.ts spreads these in): trusted proxies and the
// client-address header, access rules on paths (Apache's <Location>, <LocationMatch>, <Proxy>
// with Require, Order/Allow/Deny and Basic auth), request limits, connection limits and rate
// limits.
import { z } from 'zod';
import type { RequireSpec } from '../edge/require-spec.js';

const durationSchema = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)?$/i)])
  .describe('a duration: seconds as a number, or a string such as "500ms", "30s", "5m"');

/** One Require line (without "Require"), a list (any of them), or {all|any|none: […]}. */
export const requireSpecSchema: z.ZodType<RequireSpec> = z.lazy(() =>
  z.union([
    z.string().min(1),
    z.array(requireSpecSchema),
    z.object({ all: z.array(requireSpecSchema) }).strict(),
    z.object({ any: z.array(requireSpecSchema) }).strict(),
    z.object({ none: z.array(requireSpecSchema) }).strict(),
  ]),
);

/** Who may use a path: Apache 2.4 (require), Apache 2.2 (order/allowFrom/denyFrom/satisfy), Basic auth. */
export const accessRulesFields = {
  require: requireSpecSchema.optional(),
  /** How a section's Require rules combine with those of the sections before it (Apache AuthMerging). */
  authMerging: z.enum(['off', 'and', 'or']).optional(),
  order: z.enum(['deny,allow', 'allow,deny', 'mutual-failure']).optional(),
  allowFrom: z.array(z.string().min(1)).optional(),
  denyFrom: z.array(z.string().min(1)).optional(),
  satisfy: z.enum(['all', 'any']).optional(),
  authType: z.enum(['basic', 'none']).optional(),
  authName: z.string().optional(),
  authUserFile: z.string().min(1).optional(),
  authGroupFile: z.string().min(1).optional(),
};

export const accessRulesSchema = z.object(accessRulesFields).strict();

/** One access section: which requests it covers, and its rules. */
export const accessSectionSchema = z
  .object({
    /** A path prefix (Apache <Location>). */
    path: z.string().startsWith('/', 'must start with /').optional(),
    /** A regular expression on the path (Apache <LocationMatch>). */
    match: z.string().min(1).optional(),
    /** The proxied URL's prefix: balancer://NAME, http://host:port/path, or * (Apache <Proxy>). */
    proxy: z.string().min(1).optional(),
    /** A regular expression on the proxied URL (Apache <ProxyMatch>). */
    proxyMatch: z.string().min(1).optional(),
    ...accessRulesFields,
    /** Shorthands, as for the built-in handlers: allowed when an allow entry matches and no deny entry does. */
    allow: z.array(z.string().min(1)).optional(),
    deny: z.array(z.string().min(1)).optional(),
    /** Shorthand for authType basic + authUserFile + Require valid-user. */
    htpasswd: z.string().min(1).optional(),
    realm: z.string().optional(),
    /** Largest request body for requests under this section, in bytes (Apache LimitRequestBody; 0: no limit). */
    limitRequestBody: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((s) => [s.path, s.match, s.proxy, s.proxyMatch].filter((v) => v !== undefined).length === 1, 'needs exactly one of path, match, proxy or proxyMatch');

export const remoteIpSchema = z
  .object({
    /** The header with the client address list (Apache RemoteIPHeader), e.g. X-Forwarded-For. */
    header: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a header name').optional(),
    /** Proxies trusted to present the header; they may not present private addresses (RemoteIPTrustedProxy). */
    trustedProxies: z.array(z.string().min(1)).optional(),
    /** Proxies inside your network; they may present private addresses (RemoteIPInternalProxy). */
    internalProxies: z.array(z.string().min(1)).optional(),
    /** Files with more trusted proxies, one or more a line, # comments (RemoteIPTrustedProxyList). */
    trustedProxyList: z.array(z.string().min(1)).optional(),
    /** Files with more internal proxies (RemoteIPInternalProxyList). */
    internalProxyList: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const rateLimitSchema = z
  .object({
    /** Path prefix the limit counts (default: the whole site). */
    path: z.string().startsWith('/', 'must start with /').optional(),
    /** Requests a client address may make within `window`. */
    requests: z.number().int().min(1),
    window: durationSchema,
  })
  .strict();

/** Site settings (top level for the default site; each virtual host may set its own). */
export const edgeSiteFields = {
  remoteIp: remoteIpSchema.optional(),
  /** Add an RFC 7239 Forwarded header for members (a declared proxy's one is extended). */
  forwarded: z.boolean().optional(),
  access: z.array(accessSectionSchema).optional(),
  /** Largest request body in bytes (Apache LimitRequestBody; 0: no limit). Default 1073741824 (1 GiB). */
  limitRequestBody: z.number().int().min(0).optional(),
  rateLimits: z.array(rateLimitSchema).optional(),
};

export const requestReadTimeoutSchema = z.union([
  z.string().min(1).describe('Apache RequestReadTimeout syntax: "header=20-40,MinRate=500 body=20,MinRate=500"'),
  z
    .object({
      header: z.union([durationSchema, z.string().regex(/^\d+-\d+$/)]).optional(),
      headerMinRate: z.number().int().min(0).optional(),
      body: z.union([durationSchema, z.string().regex(/^\d+-\d+$/)]).optional(),
      bodyMinRate: z.number().int().min(0).optional(),
    })
    .strict(),
]);

/** Server-wide settings. */
export const edgeGlobalFields = {
  /** Most header fields in a request (Apache LimitRequestFields). Default 100. */
  limitRequestFields: z.number().int().min(0).optional(),
  /** Longest header field line in bytes (Apache LimitRequestFieldSize). Default 8190. */
  limitRequestFieldSize: z.number().int().min(1).optional(),
  /** Longest request line in bytes (Apache LimitRequestLine). Default 8190. */
  limitRequestLine: z.number().int().min(1).optional(),
  /** Requests on one client connection before it closes (Apache MaxKeepAliveRequests; 0: no limit). Default 100. */
  maxKeepAliveRequests: z.number().int().min(0).optional(),
  /** Slow-client timeouts (Apache RequestReadTimeout, mod_reqtimeout). */
  requestReadTimeout: requestReadTimeoutSchema.optional(),
  /** Client connections open at once (0: no limit). */
  maxConnections: z.number().int().min(0).optional(),
  /** Client connections open at once from one client address (0: no limit). */
  maxConnectionsPerClient: z.number().int().min(0).optional(),
  /** How long a connection may take to send its PROXY header. Default 5 s. */
  proxyProtocolTimeout: durationSchema.optional(),
  /** Peers that connect without a PROXY header on a PROXY listener (Apache RemoteIPProxyProtocolExceptions). */
  proxyProtocolExceptions: z.array(z.string().min(1)).optional(),
};

/** true (every listener), or the listeners that speak it: ports or ADDRESS:PORT. */
export const proxyProtocolSchema = z.union([
  z.boolean(),
  z.array(z.union([z.number().int().min(0).max(65535), z.string().regex(/^(\[[0-9a-fA-F:.]+\]:|[^\s:]+:)?\d{1,5}$/, 'must be PORT or ADDRESS:PORT')])),
]);
