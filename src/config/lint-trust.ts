// A lint of the edge: a built-in page (manager, server-status, metrics) allowed to local clients
// or to a private network, on a site that declares no proxy and takes no PROXY header. Behind a
// TLS terminator or an agent on the same host, or a load balancer in the private network, every
// client the proxy forwards arrives from its address, so "local only" lets everyone in. Pure.
import { isIP } from 'node:net';
import type { RequireNode } from '../edge/authz.js';
import { isPrivateAddress } from '../edge/remote-ip.js';
import { needsUser } from '../edge/require-spec.js';
import type { Diagnostic } from './diagnostics.js';
import type { ConfigModel, HandlerModel } from './model.js';

/** The address entries a handler lets in: `local`, or address and network texts. */
function entriesOf(h: HandlerModel): string[] {
  if (!h.access) return h.allow;
  const out: string[] = [];
  const walk = (n: RequireNode | undefined) => {
    if (!n) return;
    if (n.kind === 'container') {
      if (!n.negate) n.children.forEach(walk);
      return;
    }
    if (n.negate) return;
    if (n.provider === 'local') out.push('local');
    else if (n.provider === 'ip') out.push(...n.args);
    else if (n.provider === 'host' && n.args.some((a) => /^localhost$/i.test(a))) out.push('local');
  };
  walk(h.access.require);
  for (const r of h.access.compat?.allow ?? []) out.push(r.kind === 'net' ? r.text : r.kind === 'host' ? (r.name === 'localhost' ? 'local' : r.name) : 'all');
  return out;
}

/** `local`, a loopback or private address or network (a partial one like `10` or `192.168` too). */
function localOrPrivate(entry: string): string | undefined {
  const e = entry.trim().toLowerCase();
  if (e === 'local' || e === 'localhost') return 'local clients';
  let addr = e.split('/')[0];
  if (!isIP(addr) && /^\d{1,3}(\.\d{1,3}){0,2}\.?$/.test(addr)) addr = [...addr.replace(/\.$/, '').split('.'), '0', '0', '0'].slice(0, 4).join('.');
  if (isIP(addr) && isPrivateAddress(addr)) return /^(127\.|::1$)/.test(addr) ? `local clients (${entry})` : `the private network ${entry}`;
  return undefined;
}

export function lintTrust(model: ConfigModel, handlerPath: (site: number, i: number) => string | undefined): Omit<Diagnostic, 'file' | 'line'>[] {
  const out: Omit<Diagnostic, 'file' | 'line'>[] = [];
  if (model.edge.proxyProtocol.all) return out;
  model.sites.forEach((site, s) => {
    if (site.remoteIp) return;
    site.handlers.forEach((h, i) => {
      if (h.htpasswd || (h.access?.require && needsUser(h.access.require))) return;
      const who = entriesOf(h).map(localOrPrivate).find((x) => x !== undefined);
      if (!who) return;
      out.push({
        severity: 'warning',
        path: handlerPath(s, i),
        code: 'local-behind-proxy',
        message:
          `security: ${h.handler} at ${h.path} is allowed to ${who}, and no proxy is declared: if a proxy on this host or in that network forwards to this listener ` +
          '(a TLS terminator, a cloud load balancer, a CDN), every client it forwards gets in with its address; declare it (RemoteIPHeader X-Forwarded-For with ' +
          'RemoteIPInternalProxy ADDRESS, or remoteIp in YAML) or its PROXY protocol (RemoteIPProxyProtocol On, proxyProtocol), or add a login; ' +
          'nothing to do if clients reach this listener directly',
      });
    });
  });
  return out;
}
