// The header rules of headers.ts (hop-by-hop removal, X-Forwarded-* merging) applied to a parsed
// head's fields for the lean engine's hot path: the lines passed on are copied as they came, in
// runs, and only the values the rules read are cut out. test/unit/h1-headers.test.ts checks that
// the result is the same headers headers.ts gives the node engine.
import { forwardedElement } from '../headers.js';
import {
  COOKIE,
  DATE,
  EXPECT,
  FORWARDED,
  HOST,
  HeadFields,
  PLAIN,
  STICKYLB,
  STRIDE,
  TE,
  TRAILER,
  XFF,
  XFH,
  XFP,
  XFS,
  classify,
  isHopKind,
} from './head-fields.js';

const TE_TRAILERS = /(^|,)\s*trailers\s*(;|,|$)/i;

export interface UpstreamLinesOptions {
  clientIp: string;
  /** The other end is a declared proxy (see headers.ts's UpstreamHeaderOptions). */
  viaProxy?: boolean;
  forwarded?: boolean;
  host: string | undefined;
  upstreamHost: string;
  serverName: string;
  proto: 'http' | 'https';
  extra?: [string, string][];
}

/** Joins runs of consecutive kept lines into as few substrings as possible. */
class Runs {
  out = '';
  private start = -1;
  private end = -1;

  constructor(private readonly text: string) {}

  add(lineStart: number, lineEnd: number): void {
    if (lineStart === this.end) {
      this.end = lineEnd;
      return;
    }
    if (this.start >= 0) this.out += this.text.slice(this.start, this.end);
    this.start = lineStart;
    this.end = lineEnd;
  }

  done(): string {
    if (this.start >= 0) this.out += this.text.slice(this.start, this.end);
    this.start = -1;
    return this.out;
  }
}

/**
 * The header lines (each ending in CRLF) headers.ts's upstreamRequestHeaders gives for the
 * request's headers, in the same order: Content-Length and Transfer-Encoding are left to the
 * caller, which writes the framing anew.
 */
export function upstreamLines(f: HeadFields, o: UpstreamLinesOptions): string {
  const at = f.at;
  const kinds = f.kinds;
  const runs = new Runs(f.text);
  // A client's own forwarding headers are dropped; a declared proxy's are kept and extended.
  const trusted = o.viaProxy === true;
  let xff: string | undefined;
  let xfh: string | undefined;
  let xfs: string | undefined;
  let xfp: string | undefined;
  let fwd: string | undefined;
  let teTrailers = false;
  for (let i = 0; i < kinds.length; i++) {
    switch (kinds[i]) {
      case PLAIN:
      case COOKIE:
      case EXPECT:
      case DATE:
        if (!f.dropped(i)) runs.add(at[i * STRIDE], at[i * STRIDE + 4] + 2);
        break;
      case XFF: {
        if (!trusted) break;
        const v = f.value(i);
        xff = xff ? `${xff}, ${v}` : v;
        break;
      }
      case XFH: {
        if (!trusted) break;
        const v = f.value(i);
        xfh = xfh ? `${xfh}, ${v}` : v;
        break;
      }
      case XFS: {
        if (!trusted) break;
        const v = f.value(i);
        xfs = xfs ? `${xfs}, ${v}` : v;
        break;
      }
      case XFP: {
        if (!trusted) break;
        const v = f.value(i);
        xfp = xfp ? `${xfp}, ${v}` : v;
        break;
      }
      case FORWARDED: {
        if (!trusted) break;
        const v = f.value(i);
        fwd = fwd ? `${fwd}, ${v}` : v;
        break;
      }
      case TE:
        if (TE_TRAILERS.test(f.value(i))) teTrailers = true;
        break;
      default:
        // Host, X-Forwarded-Proto and X-Stickylb-* are set by us; hop-by-hop ones stay here.
        break;
    }
  }
  let s = runs.done();
  s += `Host: ${o.upstreamHost}\r\n`;
  if (teTrailers) s += 'TE: trailers\r\n';
  s += `X-Forwarded-For: ${xff ? `${xff}, ${o.clientIp}` : o.clientIp}\r\n`;
  if (o.host !== undefined) s += `X-Forwarded-Host: ${xfh ? `${xfh}, ${o.host}` : o.host}\r\n`;
  s += `X-Forwarded-Server: ${xfs ? `${xfs}, ${o.serverName}` : o.serverName}\r\n`;
  s += `X-Forwarded-Proto: ${xfp ?? o.proto}\r\n`;
  if (o.forwarded) {
    const mine = forwardedElement(o.clientIp, o.host, o.proto);
    s += `Forwarded: ${fwd ? `${fwd}, ${mine}` : mine}\r\n`;
  } else if (fwd !== undefined) s += `Forwarded: ${fwd}\r\n`;
  if (o.extra) for (const [k, v] of o.extra) s += `${k}: ${v}\r\n`;
  return s;
}

/**
 * The answer's header lines headers.ts's downstreamResponseHeaders passes on (hop-by-hop and
 * Connection-named ones dropped, Trailer kept), Content-Length and Transfer-Encoding left out.
 */
export function downstreamLines(f: HeadFields): string {
  const at = f.at;
  const kinds = f.kinds;
  const runs = new Runs(f.text);
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i];
    if (k === TRAILER || (keptDownstream(k) && !f.dropped(i))) runs.add(at[i * STRIDE], at[i * STRIDE + 4] + 2);
  }
  return runs.done();
}

function keptDownstream(k: number): boolean {
  return k === PLAIN || k === COOKIE || k === EXPECT || k === DATE || k === HOST || k === XFF || k === XFH || k === XFS || k === XFP || k === STICKYLB || k === FORWARDED;
}

/**
 * downstreamResponseHeaders of headers.ts on name/value pairs, without lower-case copies: for
 * answers whose headers a ProxyPassReverse rule may rewrite. Returns `raw` itself when nothing
 * is dropped.
 */
export function downstreamHeaders(raw: string[]): string[] {
  let out: string[] | undefined;
  let drop: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i];
    if (n.length === 10 && n.toLowerCase() === 'connection') {
      for (const t of raw[i + 1].split(',')) {
        const name = t.trim().toLowerCase();
        if (name) (drop ??= []).push(name);
      }
    }
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const k = classify(name);
    const keep = k === TRAILER || (!isHopKind(k) && !(drop !== undefined && drop.includes(name.toLowerCase())));
    if (!keep) out ??= raw.slice(0, i);
    else if (out !== undefined) out.push(name, raw[i + 1]);
  }
  return out ?? raw;
}
