// Choosing a precompressed sibling (`file.br`, `file.gz`) from Accept-Encoding. Pure.

export type Precompressed = 'br' | 'gzip';

/** File name suffix of each encoding's sibling. */
export const SUFFIX: Record<Precompressed, string> = { br: '.br', gzip: '.gz' };

/** Parses Accept-Encoding into coding → q (lower-cased codings; `x-gzip` counts as gzip). */
export function parseAcceptEncoding(header: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!header) return out;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().split(';');
    let coding = name.trim().toLowerCase();
    if (!coding) continue;
    if (coding === 'x-gzip') coding = 'gzip';
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Math.min(1, Math.max(0, Number(m[1]) || 0));
    }
    // The first mention of a coding wins, as in most servers.
    if (!out.has(coding)) out.set(coding, q);
  }
  return out;
}

/**
 * The encodings worth trying for this request, best first: those the client accepts with q > 0
 * (explicitly or through `*`), ordered by q, ties broken by `preference` (smaller files first).
 */
export function acceptableEncodings(header: string | undefined, preference: Precompressed[] = ['br', 'gzip']): Precompressed[] {
  const accepted = parseAcceptEncoding(header);
  const star = accepted.get('*');
  const scored: { enc: Precompressed; q: number; rank: number }[] = [];
  preference.forEach((enc, rank) => {
    const q = accepted.get(enc) ?? star ?? 0;
    if (q > 0) scored.push({ enc, q, rank });
  });
  scored.sort((a, b) => b.q - a.q || a.rank - b.rank);
  return scored.map((s) => s.enc);
}
