// ProxyPass rule matching: rules in config order, first match wins, `!` excludes. Pure.
import type { RuleModel, SiteModel, HandlerModel } from '../config/model.js';
import { matchesPrefix } from './path.js';

export type RouteMatch =
  | { kind: 'handler'; handler: HandlerModel }
  | { kind: 'exclude'; rule: RuleModel }
  | { kind: 'proxy'; balancer: string; upstreamPath: string; rule: RuleModel }
  | { kind: 'none' };

const regexCache = new Map<string, RegExp>();
function regex(src: string): RegExp {
  let r = regexCache.get(src);
  if (!r) {
    r = new RegExp(src);
    regexCache.set(src, r);
  }
  return r;
}

/** Joins the target path of a rule with the rest of the request path, without doubling slashes. */
export function joinPath(target: string, rest: string): string {
  if (!target) return rest || '/';
  if (!rest) return target;
  if (target.endsWith('/') && rest.startsWith('/')) return target + rest.slice(1);
  if (!target.endsWith('/') && !rest.startsWith('/') && !rest.startsWith(';')) return `${target}/${rest}`;
  return target + rest;
}

export function matchRoute(site: SiteModel, path: string): RouteMatch {
  // Handlers (balancer-manager, server-status, metrics) win over ProxyPass, as Apache's
  // `ProxyPass /balancer-manager !` + `<Location>` pair intends; without the `!` Apache would
  // proxy them, which nobody wants.
  for (const h of site.handlers) {
    if (matchesPrefix(path, h.path)) return { kind: 'handler', handler: h };
  }
  for (const rule of site.rules) {
    if (rule.match !== undefined) {
      const m = regex(rule.match).exec(path);
      if (!m) continue;
      if (rule.kind === 'exclude') return { kind: 'exclude', rule };
      const target = rule.targetPath;
      const upstreamPath = target.includes('$')
        ? target.replace(/\$(\d)/g, (_, d: string) => m[Number(d)] ?? '')
        : joinPath(target, path);
      return { kind: 'proxy', balancer: rule.balancer, upstreamPath: upstreamPath.startsWith('/') ? upstreamPath : `/${upstreamPath}`, rule };
    }
    const prefix = rule.path!;
    if (!matchesPrefix(path, prefix)) continue;
    if (rule.kind === 'exclude') return { kind: 'exclude', rule };
    return { kind: 'proxy', balancer: rule.balancer, upstreamPath: joinPath(rule.targetPath, path.slice(prefix.length)), rule };
  }
  return { kind: 'none' };
}
