// Finding the route of a request: the session id from the URL (query or ;path parameter) before
// the cookie, then the text after the first separator. Pure functions.
import type { StickyNames } from '../../config/model.js';
import { urlParam } from '../../cluster/session-param.js';

export interface StickyLookup {
  /** The session id value found, if any. */
  sessionId?: string;
  /** The route part of it, if any. */
  route?: string;
  /** The name actually used (Apache's BALANCER_SESSION_STICKY). */
  name?: string;
  /** Where it came from. */
  source?: 'url' | 'cookie';
}

// The session id in the URL is read by the one parser the application side uses too
// (stickylb/cluster), so app and balancer never read different routes from a request target.
export { urlParam };

/** Finds cookie `name` (exact, case-sensitive; first match wins). Quotes are removed. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || !name) return undefined;
  let from = 0;
  for (;;) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    from = at + 1;
    if (at > 0) {
      const b = header.charCodeAt(at - 1);
      // Must start a cookie: after ';', ',' or whitespace.
      if (b !== 59 && b !== 44 && b !== 32 && b !== 9) continue;
    }
    let i = at + name.length;
    while (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9) i++;
    if (header.charCodeAt(i) !== 61) continue;
    i++;
    let end = i;
    while (end < header.length) {
      const c = header.charCodeAt(end);
      if (c === 59 || c === 44) break;
      end++;
    }
    let v = header.slice(i, end).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (v) return v;
  }
}

/** The route of a session id: what follows the first separator; the whole value when sep is null. */
export function routeOf(sessionId: string, separator: string | null): string | undefined {
  if (separator === null) return sessionId;
  const at = sessionId.indexOf(separator);
  if (at < 0) return undefined;
  const route = sessionId.slice(at + separator.length);
  return route || undefined;
}

/** A route with control characters, spaces or other oddities is no route. */
export function isSafeRoute(route: string): boolean {
  for (let i = 0; i < route.length; i++) {
    const c = route.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return route.length > 0 && route.length < 256;
}

/** URL first, then cookie (the URL value wins, as in Apache). */
export function findRoute(
  target: string,
  cookieHeader: string | undefined,
  names: StickyNames,
  separator: string | null,
  scolonpathdelim: boolean,
): StickyLookup {
  let sessionId: string | undefined;
  let name: string | undefined;
  let source: StickyLookup['source'];
  if (names.url) {
    sessionId = urlParam(target, names.url, scolonpathdelim);
    if (sessionId !== undefined) {
      name = names.url;
      source = 'url';
    }
  }
  if (sessionId === undefined && names.cookie) {
    sessionId = cookieValue(cookieHeader, names.cookie);
    if (sessionId !== undefined) {
      name = names.cookie;
      source = 'cookie';
    }
  }
  if (sessionId === undefined) return {};
  const route = routeOf(sessionId, separator);
  if (route === undefined || !isSafeRoute(route)) return { sessionId, name, source };
  return { sessionId, route, name, source };
}
