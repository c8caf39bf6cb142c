// ProxyPass rule matching: rules in config order, first match wins, `!` excludes. Pure.
import type { RuleModel, SiteModel, HandlerModel } from '../config/model.js';
import { matchesPrefix } from './path.js';
import type { ChallengeAnswers } from '../acme/challenges.js';

/** Where a CA fetches the answer to an HTTP-01 challenge (RFC 8555 §8.3). */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

export type RouteMatch =
  | { kind: 'challenge'; answer: string }
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

/**
 * The route of a request path on a site. `challenges` (present only while certificates are
 * managed) answers the CA's HTTP-01 requests before any rule, so even `ProxyPass /` cannot send
 * them to a member; a token it does not know is routed as any other path.
 */
export function matchRoute(site: SiteModel, path: string, challenges?: ChallengeAnswers): RouteMatch {
  if (challenges !== undefined && path.startsWith(ACME_CHALLENGE_PREFIX)) {
    const answer = challenges.answer(path.slice(ACME_CHALLENGE_PREFIX.length));
    if (answer !== undefined) return { kind: 'challenge', answer };
  }
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
