// A minimal browser for server-rendered apps: follows redirects, keeps cookies only when told to,
// and finds links and forms in the HTML. Enough to click through the demo app over real sockets.
import http from 'node:http';

export interface Page {
  status: number;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Every response of this navigation, redirects included. */
  chain: { status: number; url: string; headers: http.IncomingHttpHeaders }[];
}

export function unescapeHtml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export class MiniBrowser {
  readonly jar = new Map<string, string>();
  page?: Page;

  constructor(
    readonly base: string,
    readonly options: { cookies: boolean; agent?: http.Agent },
  ) {}

  cookieHeader(): string | undefined {
    if (!this.options.cookies || this.jar.size === 0) return undefined;
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private store(headers: http.IncomingHttpHeaders): void {
    if (!this.options.cookies) return;
    for (const line of headers['set-cookie'] ?? []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!value || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  private once(method: string, url: string, body?: string, extra: Record<string, string> = {}) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const headers: Record<string, string> = { ...extra };
      const cookie = this.cookieHeader();
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      const req = http.request(url, { method, headers, agent: this.options.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Navigates to `href` (relative to the current page), following up to 5 redirects. */
  async go(href: string, post?: Record<string, string>, extra: Record<string, string> = {}): Promise<Page> {
    let url = new URL(href, this.page?.url ?? this.base).href;
    let method = post ? 'POST' : 'GET';
    let body = post ? new URLSearchParams(post).toString() : undefined;
    const chain: Page['chain'] = [];
    for (let hops = 0; ; hops++) {
      const r = await this.once(method, url, body, extra);
      this.store(r.headers);
      chain.push({ status: r.status, url, headers: r.headers });
      if (r.status >= 300 && r.status < 400 && r.headers.location && hops < 5) {
        url = new URL(r.headers.location, url).href;
        method = 'GET';
        body = undefined;
        continue;
      }
      this.page = { status: r.status, url, headers: r.headers, body: r.body, chain };
      return this.page;
    }
  }

  /** Follows the link with this id on the current page. */
  click(id: string): Promise<Page> {
    const m = this.current().body.match(new RegExp(`<a[^>]*id="${id}"[^>]*href="([^"]*)"`)) ?? this.current().body.match(new RegExp(`<a[^>]*href="([^"]*)"[^>]*id="${id}"`));
    if (!m) throw new Error(`no link #${id} on ${this.current().url}`);
    return this.go(unescapeHtml(m[1]));
  }

  /** Follows the first link whose text is `text`. */
  clickText(text: string): Promise<Page> {
    const re = /<a[^>]*href="([^"]*)"[^>]*>([^<]*)<\/a>/g;
    for (const m of this.current().body.matchAll(re)) if (unescapeHtml(m[2]) === text) return this.go(unescapeHtml(m[1]));
    throw new Error(`no link "${text}" on ${this.current().url}`);
  }

  /** Submits the (first) form on the current page with these fields. */
  submit(fields: Record<string, string>): Promise<Page> {
    const m = this.current().body.match(/<form[^>]*action="([^"]*)"/);
    if (!m) throw new Error(`no form on ${this.current().url}`);
    return this.go(unescapeHtml(m[1]), fields);
  }

  current(): Page {
    if (!this.page) throw new Error('no page loaded yet');
    return this.page;
  }

  /** `data-<name>` of the <body>, `#count` and other ids are read with these. */
  bodyData(name: string): string | undefined {
    const m = this.current().body.match(new RegExp(`<body[^>]*\\sdata-${name}="([^"]*)"`));
    return m ? unescapeHtml(m[1]) : undefined;
  }

  text(id: string): string | undefined {
    const m = this.current().body.match(new RegExp(`id="${id}"[^>]*>([^<]*)<`));
    return m ? unescapeHtml(m[1]) : undefined;
  }
}
