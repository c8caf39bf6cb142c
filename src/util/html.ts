// HTML and XML with escaping by default: every interpolated value is escaped unless it is already
// Html. Member routes, URLs, sticky names and form input come from configs and users, so nothing may
// reach a page unescaped (Apache's manager had an XSS there, CVE-2012-4558).

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML and XML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

/** Tagged template: `html\`<td>${route}</td>\`` escapes `route`; nested Html and arrays of Html pass through. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Trusted markup, for constants only (stylesheets, scripts written in this code base). */
export function raw(markup: string): Html {
  return new Html(markup);
}

/** A query string for links, each value URI-encoded (escape the whole link with html`` after). */
export function query(params: Record<string, string | undefined>): string {
  const parts: string[] = [];
  // ':' and '/' stay readable, as in Apache's links (`w=http://10.0.0.1:8080`).
  const enc = (s: string) => encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%2F/gi, '/');
  for (const [k, v] of Object.entries(params)) if (v !== undefined) parts.push(`${enc(k)}=${enc(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
