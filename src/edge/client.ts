// The real client of a request on a site with declared proxies (remoteIp): the record's client
// address from the client-address header (mod_remoteip's walk), and whether the connection's
// other end is a declared proxy, whose X-Forwarded-* headers are then kept. Both engines call
// this only for sites that declare proxies.
import type { SiteModel } from '../config/model.js';
import type { RequestRecord } from '../proxy/core/record.js';
import { compileRemoteIp, isDeclaredProxy, resolveClient } from './remote-ip.js';

/**
 * `header(name)` gives the request's header of that lower-case name (repeated fields joined
 * with ", "). On a connection that came with a PROXY header the PROXY address stands and the
 * header is not read, as mod_remoteip does.
 */
export function applyRemoteIp(record: RequestRecord, site: SiteModel, header: (name: string) => string | undefined, proxied: boolean): void {
  const settings = site.remoteIp!;
  const c = compileRemoteIp(settings);
  const peer = record.peerAddress ?? '';
  if (proxied || c.header === undefined) {
    record.viaProxy = isDeclaredProxy(c, peer);
    return;
  }
  const r = resolveClient(c, peer, header(c.header));
  record.clientAddress = r.client;
  record.viaProxy = r.viaProxy;
}

/** A node:http header value as one string. */
export function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
