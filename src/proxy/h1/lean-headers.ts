// The header rules of headers.ts (hop-by-hop removal, X-Forwarded-* merging) written straight
// into a head string, for the lean engine's hot path: names are classified by length and a
// case-insensitive compare in place, so no lower-case copy is made of every header name.
// test/unit/h1-headers.test.ts checks that both give the same headers for the same input.
import { eqLower } from './chars.js';

const PLAIN = 0;
const HOST = 1;
const XFF = 2;
const XFH = 3;
const XFS = 4;
const XFP = 5;
const STICKYLB = 6;
const TE = 7;
/** connection, keep-alive, proxy-*, trailer, transfer-encoding, upgrade, http2-settings. */
const HOP = 8;
const TRAILER = 9;

/** What a header name is to the forwarding rules. */
export function headerKind(n: string): number {
  const len = n.length;
  switch (len) {
    case 2:
      return eqLower(n, 0, 2, 'te') ? TE : PLAIN;
    case 4:
      return eqLower(n, 0, 4, 'host') ? HOST : PLAIN;
    case 7:
      if (eqLower(n, 0, 7, 'upgrade')) return HOP;
      return eqLower(n, 0, 7, 'trailer') ? TRAILER : PLAIN;
    case 10:
      return eqLower(n, 0, 10, 'connection') || eqLower(n, 0, 10, 'keep-alive') ? HOP : PLAIN;
    case 14:
      return eqLower(n, 0, 14, 'http2-settings') ? HOP : PLAIN;
    case 15:
      if (eqLower(n, 0, 15, 'x-forwarded-for')) return XFF;
      break;
    case 16:
      if (eqLower(n, 0, 16, 'x-forwarded-host')) return XFH;
      if (eqLower(n, 0, 16, 'proxy-connection')) return HOP;
      break;
    case 17:
      if (eqLower(n, 0, 17, 'x-forwarded-proto')) return XFP;
      if (eqLower(n, 0, 17, 'transfer-encoding')) return HOP;
      break;
    case 18:
      if (eqLower(n, 0, 18, 'x-forwarded-server')) return XFS;
      if (eqLower(n, 0, 18, 'proxy-authenticate')) return HOP;
      break;
    case 19:
      if (eqLower(n, 0, 19, 'proxy-authorization')) return HOP;
      break;
  }
  // Header names are tokens, so a case-insensitive prefix compare is exact.
  if (len >= 11 && eqLower(n, 0, 11, 'x-stickylb-')) return STICKYLB;
  return PLAIN;
}

/** Lower-case names listed in Connection headers, or undefined (the usual case). */
function connectionTokens(raw: string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i];
    if (n.length === 10 && eqLower(n, 0, 10, 'connection')) {
      for (const t of raw[i + 1].split(',')) {
        const name = t.trim().toLowerCase();
        if (name) (out ??= new Set()).add(name);
      }
    }
  }
  return out;
}

const TE_TRAILERS = /(^|,)\s*trailers\s*(;|,|$)/i;

export interface UpstreamLinesOptions {
  clientIp: string;
  host: string | undefined;
  upstreamHost: string;
  serverName: string;
  proto: 'http' | 'https';
  extra?: [string, string][];
}

/**
 * The header lines (each ending in CRLF) headers.ts's upstreamRequestHeaders would produce for
 * `raw`, in the same order.
 */
export function upstreamHeaderLines(raw: string[], o: UpstreamLinesOptions): string {
  const drop = connectionTokens(raw);
  let s = '';
  let xff: string | undefined;
  let xfh: string | undefined;
  let xfs: string | undefined;
  let teTrailers = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    switch (headerKind(name)) {
      case PLAIN:
        if (drop !== undefined && drop.has(name.toLowerCase())) continue;
        s += `${name}: ${value}\r\n`;
        continue;
      case XFF:
        xff = xff ? `${xff}, ${value}` : value;
        continue;
      case XFH:
        xfh = xfh ? `${xfh}, ${value}` : value;
        continue;
      case XFS:
        xfs = xfs ? `${xfs}, ${value}` : value;
        continue;
      case TE:
        if (TE_TRAILERS.test(value)) teTrailers = true;
        continue;
      default:
        // Host, X-Forwarded-Proto and X-Stickylb-* are set by us; hop-by-hop ones stay here.
        continue;
    }
  }
  s += `Host: ${o.upstreamHost}\r\n`;
  if (teTrailers) s += 'TE: trailers\r\n';
  s += `X-Forwarded-For: ${xff ? `${xff}, ${o.clientIp}` : o.clientIp}\r\n`;
  if (o.host !== undefined) s += `X-Forwarded-Host: ${xfh ? `${xfh}, ${o.host}` : o.host}\r\n`;
  s += `X-Forwarded-Server: ${xfs ? `${xfs}, ${o.serverName}` : o.serverName}\r\n`;
  s += `X-Forwarded-Proto: ${o.proto}\r\n`;
  if (o.extra) for (const [k, v] of o.extra) s += `${k}: ${v}\r\n`;
  return s;
}

/**
 * The answer headers headers.ts's downstreamResponseHeaders would pass on for `raw` (hop-by-hop
 * dropped, Trailer kept), as a new flat array, or `raw` itself when nothing is dropped.
 */
export function downstreamHeaders(raw: string[]): string[] {
  let out: string[] | undefined;
  let drop: Set<string> | undefined;
  let dropKnown = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const k = headerKind(name);
    let keep = k !== HOP && k !== TE;
    if (keep && k !== TRAILER) {
      if (!dropKnown) {
        drop = connectionTokens(raw);
        dropKnown = true;
      }
      if (drop !== undefined && drop.has(name.toLowerCase())) keep = false;
    }
    if (!keep) {
      out ??= raw.slice(0, i);
    } else if (out !== undefined) out.push(name, raw[i + 1]);
  }
  return out ?? raw;
}
