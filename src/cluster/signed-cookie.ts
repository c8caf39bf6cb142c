// Signed session cookies that the balancer can still route. express-session and @fastify/session
// sign the id as `<id>.<signature>` (express-session adds `s:` in front). The balancer takes
// everything after the first separator as the route, so it reads `first.<signature>`, which names no
// member, and the session lands on a random node. The route-last form moves the signature to the
// front instead: `<signature>~<random>.<route>`. The signature is written in hex, and neither hex
// nor `~` holds any of the allowed separators (`.`, `-`, `_`, `*`), so the first separator is again
// the one before the route. The HMAC itself is unchanged.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ClusterError } from './errors.js';

/** Between the signature and the session id in the route-last form. */
export const SIGNATURE_MARK = '~';

const ROUTE_LAST = /^([0-9a-f]{2,})~([A-Za-z0-9_.*-]+)$/;

/** Splits a route-last value into signature (hex) and id. */
export function parseRouteLast(value: string): { signature: string; id: string } | undefined {
  const m = ROUTE_LAST.exec(value);
  return m ? { signature: m[1], id: m[2] } : undefined;
}

/**
 * express-session's decoded cookie value `s:<id>.<base64 signature>` as `<hex signature>~<id>`;
 * undefined for anything else (left alone).
 */
export function expressToRouteLast(decoded: string): string | undefined {
  if (!decoded.startsWith('s:')) return undefined;
  const dot = decoded.lastIndexOf('.');
  if (dot < 3) return undefined;
  const id = decoded.slice(2, dot);
  const sig = decoded.slice(dot + 1);
  if (!/^[A-Za-z0-9+/]+$/.test(sig) || !/^[A-Za-z0-9_.*-]+$/.test(id)) return undefined;
  return `${Buffer.from(sig, 'base64').toString('hex')}${SIGNATURE_MARK}${id}`;
}

/** The inverse: a route-last value back to express-session's decoded `s:<id>.<signature>`. */
export function routeLastToExpress(value: string): string | undefined {
  const p = parseRouteLast(value);
  if (!p || p.signature.length % 2 !== 0) return undefined;
  // cookie-signature writes base64 without padding.
  return `s:${p.id}.${Buffer.from(p.signature, 'hex').toString('base64').replace(/=+$/, '')}`;
}

export interface CookieSigner {
  sign(value: string): string;
  unsign(signed: string): { valid: boolean; renew: boolean; value: string | null };
}

/**
 * A cookie signer (the `{ sign, unsign }` shape @fastify/cookie and @fastify/session accept as
 * `secret`) that writes the route-last form: `<HMAC-SHA256 hex>~<value>`. Several secrets
 * allow rotation: the first signs, all verify, and a value signed by an older one asks for renewal.
 */
export function routeLastSigner(secret: string | readonly string[]): CookieSigner {
  const secrets = typeof secret === 'string' ? [secret] : [...secret];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length < 32)) {
    throw new ClusterError('ERR_STICKYLB_OPTION', 'cookie signing secrets must be strings of at least 32 characters');
  }
  const mac = (value: string, key: string) => createHmac('sha256', key).update(value).digest('hex');
  return {
    sign(value: string): string {
      if (typeof value !== 'string') throw new TypeError('cookie value must be a string');
      return `${mac(value, secrets[0])}${SIGNATURE_MARK}${value}`;
    },
    unsign(signed: string) {
      const at = typeof signed === 'string' ? signed.indexOf(SIGNATURE_MARK) : -1;
      if (at <= 0) return { valid: false, renew: false, value: null };
      const actual = Buffer.from(signed.slice(0, at));
      const value = signed.slice(at + 1);
      for (let i = 0; i < secrets.length; i++) {
        const expected = Buffer.from(mac(value, secrets[i]));
        if (expected.length === actual.length && timingSafeEqual(expected, actual)) {
          return { valid: true, renew: i > 0, value };
        }
      }
      return { valid: false, renew: false, value: null };
    },
  };
}
