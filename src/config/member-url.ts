// Member URLs: how stickylb reaches one, the key that tells two members apart, and the Host header
// requests to one carry. A module of its own: the manager, DNS discovery and the member state use
// it without loading the resolver.

/**
 * A member URL as stickylb reaches it: `ws://` and `wss://` are `http://` and `https://` (members
 * speak HTTP; WebSocket upgrades pass through to any member).
 */
export function httpUrl(url: string): string {
  return url.replace(/^ws(s?):\/\//i, (_, s: string) => `http${s}://`);
}

export function memberKey(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' || u.protocol === 'wss:' ? '443' : '80');
  const protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  return `${protocol}//${u.hostname.toLowerCase()}:${port}${u.pathname.replace(/\/+$/, '')}`;
}

/** The Host header for a member: IPv6 addresses in brackets, the default port left out. */
export function memberHostHeader(m: { hostname: string; port: number; protocol: string }): string {
  const host = m.hostname.includes(':') ? `[${m.hostname}]` : m.hostname;
  const def = m.protocol === 'https:' ? 443 : 80;
  return m.port === def ? host : `${host}:${m.port}`;
}
