// Apache's RequestReadTimeout (mod_reqtimeout): how long a client may take to send a request
// head and a request body. Each stage has an initial timeout, raised by one second for every
// `MinRate` bytes received, up to a cap: a slow client is cut, a large upload that keeps moving
// is not. Pure.
import type { ReadTimeoutModel } from '../config/edge-model.js';

/** mod_reqtimeout's defaults: header=20-40,MinRate=500 body=20,MinRate=500. */
export const READ_TIMEOUT_DEFAULTS: ReadTimeoutModel = { headerMs: 20_000, headerMaxMs: 40_000, headerMinRate: 500, bodyMs: 20_000, bodyMaxMs: 0, bodyMinRate: 500 };

type Stage = { ms: number; maxMs: number; minRate: number };

function stage(spec: string, name: string): Stage | string {
  const [time, ...opts] = spec.split(',');
  const m = /^(\d+)(?:-(\d+))?$/.exec(time.trim());
  if (!m) return `${name}=${spec}: expected SECONDS or SECONDS-MAXSECONDS, then ,MinRate=BYTES`;
  let minRate = 0;
  for (const o of opts) {
    const r = /^minrate=(\d+)$/i.exec(o.trim());
    if (!r) return `${name}=${spec}: unknown option "${o}" (expected MinRate=BYTES)`;
    minRate = Number(r[1]);
  }
  const ms = Number(m[1]) * 1000;
  const maxMs = m[2] === undefined ? 0 : Number(m[2]) * 1000;
  if (m[2] !== undefined && maxMs < ms) return `${name}=${spec}: the maximum is below the initial timeout`;
  if (m[2] !== undefined && minRate === 0) return `${name}=${spec}: a timeout range needs MinRate`;
  return { ms, maxMs, minRate };
}

/** Reads `header=20-40,MinRate=500 body=20,MinRate=500` (or the YAML object form). */
export function parseReadTimeout(v: string | { header?: number | string; headerMinRate?: number; body?: number | string; bodyMinRate?: number }): ReadTimeoutModel | string {
  const out = { ...READ_TIMEOUT_DEFAULTS };
  const set = (name: 'header' | 'body', s: Stage) => {
    out[`${name}Ms`] = s.ms;
    out[`${name}MaxMs`] = s.maxMs;
    out[`${name}MinRate`] = s.minRate;
  };
  if (typeof v === 'string') {
    for (const word of v.trim().split(/\s+/)) {
      const m = /^(handshake|header|body)=(.+)$/i.exec(word);
      if (!m) return `"${word}": expected handshake=…, header=… or body=… (RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500)`;
      const name = m[1].toLowerCase();
      const s = stage(m[2], name);
      if (typeof s === 'string') return s;
      // The TLS handshake stage belongs to TLS listeners; stickylb's own handshake timeout applies.
      if (name !== 'handshake') set(name as 'header' | 'body', s);
    }
    return out;
  }
  for (const name of ['header', 'body'] as const) {
    const t = v[name];
    const rate = v[`${name}MinRate`];
    if (t === undefined && rate === undefined) continue;
    const spec = `${t ?? (name === 'header' ? '20-40' : '20')}${rate !== undefined ? `,MinRate=${rate}` : name === 'header' && t === undefined ? ',MinRate=500' : ''}`;
    const s = stage(spec, name);
    if (typeof s === 'string') return s;
    set(name, s);
  }
  return out;
}

/** When a stage that began at `startMs` and has received `bytes` must be over (0: never). */
export function readDeadline(startMs: number, bytes: number, ms: number, maxMs: number, minRate: number): number {
  if (ms === 0) return 0;
  let d = ms;
  if (minRate > 0) d += Math.floor(bytes / minRate) * 1000;
  if (maxMs > 0 && d > maxMs) d = maxMs;
  return startMs + d;
}
