// Reading and writing cookies the way the balancer reads them: exact, case-sensitive names, the first
// match wins, values taken raw. App and balancer must agree on which session a request names.
import type { ServerResponse } from 'node:http';
import { ClusterError } from './errors.js';

/**
 * The value of cookie `name` in a Cookie header (quotes removed), or undefined. Like the balancer,
 * `,` also ends a cookie (old multi-cookie headers).
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || !name) return undefined;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (v) return v;
  }
  return undefined;
}

/** Replaces the value of the first non-empty cookie `name` in a Cookie header; other cookies stay as they are. */
export function replaceCookieValue(header: string, name: string, map: (value: string) => string | undefined): string {
  const parts = header.split(';');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    if (!value) continue;
    const next = map(value);
    if (next === undefined) return header;
    parts[i] = `${part.slice(0, eq + 1)}${next}`;
    return parts.join(';');
  }
  return header;
}

export interface CookieOptions {
  /** Default `/`: the session covers the whole application. */
  path?: string;
  domain?: string;
  /** Default true: scripts have no business reading the session key. */
  httpOnly?: boolean;
  /** Default `Lax`. */
  sameSite?: 'Strict' | 'Lax' | 'None';
  secure?: boolean;
  /** Seconds; absent makes a browser-session cookie. */
  maxAge?: number;
}

// RFC 6265 token and cookie-octet.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const ATTRIBUTE = /^[\x20-\x3a\x3c-\x7e]*$/;

/** A Set-Cookie header value. Refuses names and values that would need encoding. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!TOKEN.test(name)) throw new ClusterError('ERR_STICKYLB_OPTION', `cookie name ${JSON.stringify(name)} is not a valid token`);
  if (!COOKIE_OCTETS.test(value)) throw new ClusterError('ERR_STICKYLB_OPTION', `cookie value ${JSON.stringify(value)} would need encoding`);
  let out = `${name}=${value}; Path=${options.path ?? '/'}`;
  if (options.domain) {
    if (!ATTRIBUTE.test(options.domain)) throw new ClusterError('ERR_STICKYLB_OPTION', `cookie domain ${JSON.stringify(options.domain)} is not valid`);
    out += `; Domain=${options.domain}`;
  }
  if (options.maxAge !== undefined) {
    out += `; Max-Age=${Math.floor(options.maxAge)}`;
    if (options.maxAge <= 0) out += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  }
  if (options.httpOnly ?? true) out += '; HttpOnly';
  if (options.secure) out += '; Secure';
  out += `; SameSite=${options.sameSite ?? 'Lax'}`;
  return out;
}

/** Adds a Set-Cookie header without dropping the ones already set. */
export function appendSetCookie(res: ServerResponse, cookie: string): void {
  const prev = res.getHeader('Set-Cookie');
  if (prev === undefined) res.setHeader('Set-Cookie', [cookie]);
  else if (Array.isArray(prev)) res.setHeader('Set-Cookie', [...prev, cookie]);
  else res.setHeader('Set-Cookie', [String(prev), cookie]);
}
