// Helpers for the manager tests: Apache-style form posts, the JSON API, nonce scraping, and
// parsers for the XML view, server-status ?auto and the Prometheus text format.
import { request, type Reply } from './http.js';

export const MANAGER = '/balancer-manager';

/** As Apache-era scripts do: the nonce from the page's member links. */
export function scrapeNonce(html: string): string {
  const m = /[?&;]nonce=([0-9A-Za-z-]+)/.exec(html);
  if (!m) throw new Error('no nonce in the page');
  return m[1];
}

/** Headers given as '' are left out (an Apache-era script sends a Referer and no Origin). */
function headersOf(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== ''));
}

export function postForm(base: string, params: Record<string, string>, headers: Record<string, string> = {}, path = MANAGER): Promise<Reply> {
  return request(`${base}${path}`, {
    method: 'POST',
    headers: headersOf({ 'Content-Type': 'application/x-www-form-urlencoded', Origin: base, ...headers }),
    body: new URLSearchParams(params).toString(),
  });
}

export async function apiGet<T = any>(base: string, sub = '', headers: Record<string, string> = {}): Promise<T> {
  const r = await request(`${base}${MANAGER}/api${sub}`, { headers });
  if (r.status !== 200) throw new Error(`GET api${sub}: ${r.status} ${r.body}`);
  return r.json<T>();
}

export function apiSend(base: string, method: string, sub: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return request(`${base}${MANAGER}/api${sub}`, {
    method,
    headers: headersOf({ 'Content-Type': 'application/json', Origin: base, ...headers }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** `<httpd:worker>` blocks of the XML view as flat objects (name → text, entities decoded). */
export function parseXmlWorkers(xml: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const w of xml.matchAll(/<httpd:worker>([\s\S]*?)<\/httpd:worker>/g)) {
    const o: Record<string, string> = {};
    for (const f of w[1].matchAll(/<httpd:(\w+)>([^<]*)<\/httpd:\1>/g)) o[f[1]] = decode(f[2]);
    out.push(o);
  }
  return out;
}

export function parseXmlBalancers(xml: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const b of xml.matchAll(/<httpd:balancer>([\s\S]*?)<httpd:workers>/g)) {
    const o: Record<string, string> = {};
    for (const f of b[1].matchAll(/<httpd:(\w+)>([^<]*)<\/httpd:\1>/g)) o[f[1]] = decode(f[2]);
    out.push(o);
  }
  return out;
}

function decode(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** server-status ?auto as a map (the first line, the server name, is left out). */
export function parseAuto(text: string): Map<string, string> {
  const lines = text.trimEnd().split('\n').slice(1);
  return new Map(lines.map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format: samples with their labels (comments skipped). */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      for (const l of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** Sum of the samples of a metric whose labels include `match`. */
export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}
