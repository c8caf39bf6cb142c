// Apache's TLS directives (mod_ssl's SSL*, mod_http2's Protocols) and mod_alias redirects in the
// converter: what each line sets, how virtual hosts inherit the main server's settings (as
// mod_ssl merges them), and how they land in the raw config: certificates on the sites, the TLS
// policy and HTTP versions on the listeners of the addresses (`SSLEngine on` makes an address a
// TLS address whatever its Listen line says). Settings stickylb cannot honour are errors, never
// warnings: a port meant for HTTPS must not serve anything weaker.
import { parseSslCipherSuite, parseSslProtocol, type TlsVersion } from '../../tls/policy.js';
import type { Diagnostic } from '../diagnostics.js';
import type { Loc, Located } from './access.js';
import type { Directive } from './syntax.js';
import type { RawBuilder } from './raw-builder.js';
import { onOff } from './values.js';

export interface RedirectAcc {
  path: string;
  to?: string;
  status: number;
}

/** The TLS, Protocols, Redirect and HSTS lines of one server (main or virtual host). */
export interface SslAcc {
  engine?: Located<boolean>;
  certs: Located<string>[];
  keys: Located<string>[];
  chain?: Located<string>;
  versions?: Located<TlsVersion[]>;
  ciphers?: Located<string>;
  cipherSuites?: Located<string>;
  honorOrder?: Located<boolean>;
  tickets?: Located<boolean>;
  protocols?: Located<string[]>;
  hsts?: Located<string>;
  redirects: Located<RedirectAcc>[];
}

export function newSslAcc(): SslAcc {
  return { certs: [], keys: [], redirects: [] };
}

/** What the converter lends the handlers here. */
export interface SslTools {
  diag(d: Directive | Loc, severity: Diagnostic['severity'], message: string, code: string): void;
  invalid(d: Directive, what: string): void;
  wantArgs(d: Directive, min: number, max: number): boolean;
  flag(d: Directive): boolean | undefined;
}

const locOf = (d: Directive): Loc => ({ file: d.file, line: d.line, directive: d.name });

const REDIRECT_STATUS: Record<string, number> = { permanent: 301, temp: 302, seeother: 303, gone: 410 };

/** `Redirect [status] URL-path [URL]` (or, inside <Location>, `Redirect [status] [URL]`). */
function redirect(t: SslTools, d: Directive, acc: SslAcc, fixedStatus: number | undefined, locationPath: string | undefined): void {
  let args = d.args;
  let status = fixedStatus ?? 302;
  if (fixedStatus === undefined && args.length) {
    const w = args[0].toLowerCase();
    if (REDIRECT_STATUS[w] !== undefined) {
      status = REDIRECT_STATUS[w];
      args = args.slice(1);
    } else if (/^\d{3}$/.test(w)) {
      status = Number(w);
      args = args.slice(1);
    }
  }
  const path = locationPath ?? args.shift();
  if (!path) return t.invalid(d, 'no URL-path');
  if (!path.startsWith('/')) return t.invalid(d, `"${path}" is not a URL-path (it starts with /)`);
  const to = args.shift();
  if (args.length) return t.invalid(d, `unexpected "${args.join(' ')}"`);
  const needsUrl = status >= 300 && status <= 399;
  if (needsUrl && !to) return t.invalid(d, `status ${status} needs the URL to redirect to`);
  if (!needsUrl && to) return t.invalid(d, `status ${status} is not a redirect and takes no URL`);
  if (status < 300 || (status > 399 && status !== 410)) return t.invalid(d, `status ${status} is not supported (accepted: permanent, temp, seeother, gone, 300-399, 410)`);
  if (to && !/^https?:\/\/[^/\s]+/i.test(to) && !to.startsWith('/')) return t.invalid(d, `"${to}" is neither an absolute URL (https://host/path) nor a path`);
  acc.redirects.push({ value: { path, to, status }, at: locOf(d) });
}

type Handler = (t: SslTools, d: Directive, acc: SslAcc, locationPath?: string) => void;

function onOffValue(t: SslTools, d: Directive): Located<boolean> | undefined {
  const v = t.flag(d);
  return v === undefined ? undefined : { value: v, at: locOf(d) };
}

/** Handlers of the directives this module reads, by canonical name. */
export const sslHandlers: Record<string, Handler> = {
  SSLEngine(t, d, acc) {
    if (!t.wantArgs(d, 1, 1)) return;
    const w = d.args[0].toLowerCase();
    if (w === 'optional') return t.diag(d, 'error', 'SSLEngine optional (TLS upgrade within HTTP, RFC 2817) is not supported: use SSLEngine on for a TLS address', 'tls-unsupported');
    if (w === 'addr') return t.diag(d, 'error', 'SSLEngine addr is not supported: put SSLEngine on in the <VirtualHost> of the TLS address', 'tls-unsupported');
    const v = onOff(d.args[0]);
    if (v === undefined) return t.invalid(d, `"${d.args[0]}" is not On or Off`);
    acc.engine = { value: v, at: locOf(d) };
  },
  SSLCertificateFile(t, d, acc) {
    if (t.wantArgs(d, 1, 1)) acc.certs.push({ value: d.args[0], at: locOf(d) });
  },
  SSLCertificateKeyFile(t, d, acc) {
    if (t.wantArgs(d, 1, 1)) acc.keys.push({ value: d.args[0], at: locOf(d) });
  },
  SSLCertificateChainFile(t, d, acc) {
    if (t.wantArgs(d, 1, 1)) acc.chain = { value: d.args[0], at: locOf(d) };
  },
  SSLProtocol(t, d, acc) {
    if (!t.wantArgs(d, 1, Infinity)) return;
    const r = parseSslProtocol(d.args);
    if ('error' in r) return t.diag(d, 'error', `SSLProtocol ${d.args.join(' ')}: ${r.error}`, 'tls-protocol');
    for (const n of r.notes) t.diag(d, 'warning', `SSLProtocol: ${n}; check whether a + or - is missing`, 'tls-protocol');
    if (!r.versions.length) return t.diag(d, 'error', `SSLProtocol ${d.args.join(' ')}: no protocol is left enabled`, 'tls-protocol');
    acc.versions = { value: r.versions, at: locOf(d) };
  },
  SSLCipherSuite(t, d, acc) {
    if (!t.wantArgs(d, 1, 2)) return;
    const r = parseSslCipherSuite(d.args);
    if ('error' in r) return t.invalid(d, r.error);
    acc[r.field] = { value: r.value, at: locOf(d) };
  },
  SSLHonorCipherOrder(t, d, acc) {
    acc.honorOrder = onOffValue(t, d) ?? acc.honorOrder;
  },
  SSLSessionTickets(t, d, acc) {
    acc.tickets = onOffValue(t, d) ?? acc.tickets;
  },
  Protocols(t, d, acc) {
    if (!t.wantArgs(d, 1, Infinity)) return;
    // acme-tls/1 is mod_md's: it lets the ACME CA validate names with TLS-ALPN-01 (md.ts reads it).
    const known = ['h2', 'h2c', 'http/1.1', 'acme-tls/1'];
    const list = d.args.map((a) => a.toLowerCase());
    const unknown = list.filter((p) => !known.includes(p));
    if (unknown.length) return t.invalid(d, `unknown protocol ${unknown.join(', ')} (accepted: h2, h2c, http/1.1, acme-tls/1)`);
    if (!list.includes('http/1.1')) t.diag(d, 'warning', `Protocols ${d.args.join(' ')}: without http/1.1, clients that speak only HTTP/1.1 still get it (stickylb always serves HTTP/1.1)`, 'protocols-http1');
    acc.protocols = { value: list, at: locOf(d) };
  },
  Redirect(t, d, acc, loc) {
    redirect(t, d, acc, undefined, loc);
  },
  RedirectPermanent(t, d, acc, loc) {
    redirect(t, d, acc, 301, loc);
  },
  RedirectTemp(t, d, acc, loc) {
    redirect(t, d, acc, 302, loc);
  },
  SSLVerifyClient(t, d) {
    if (!t.wantArgs(d, 1, 1)) return;
    if (d.args[0].toLowerCase() !== 'none') t.diag(d, 'error', `SSLVerifyClient ${d.args[0]}: client certificates are not supported; stickylb cannot check who the client is (remove the line, or keep Apache in front for this)`, 'tls-unsupported');
  },
  SSLUseStapling(t, d) {
    if (t.flag(d)) t.diag(d, 'error', 'SSLUseStapling on: OCSP stapling is not supported; remove the line (clients check revocation themselves)', 'tls-unsupported');
  },
  SSLStrictSNIVHostCheck(t, d) {
    if (t.flag(d)) t.diag(d, 'error', 'SSLStrictSNIVHostCheck on: refusing clients without SNI is not supported; remove the line', 'tls-unsupported');
  },
  SSLInsecureRenegotiation(t, d) {
    if (t.flag(d)) t.diag(d, 'error', 'SSLInsecureRenegotiation on: insecure renegotiation is never allowed; remove the line', 'tls-unsupported');
  },
  SSLCompression(t, d) {
    if (t.flag(d)) t.diag(d, 'error', 'SSLCompression on: TLS compression is never used (it leaks secrets, CRIME); remove the line', 'tls-unsupported');
  },
  SSLOpenSSLConfCmd(t, d) {
    t.diag(d, 'error', `SSLOpenSSLConfCmd ${d.args.join(' ')}: raw OpenSSL commands are not supported; use SSLProtocol, SSLCipherSuite and SSLHonorCipherOrder`, 'tls-unsupported');
  },
};

/** Directives about the server's TLS that are read and not needed (stickylb's defaults cover them). */
export const SSL_IGNORED: [string, string][] = [
  ['SSLSessionCache', 'sessions are resumed with tickets; no cache is needed'],
  ['SSLSessionCacheTimeout', 'tickets are valid for 5 minutes'],
  ['SSLRandomSeed', 'OpenSSL seeds itself'],
  ['SSLPassPhraseDialog', 'keys must be unencrypted; stickylb asks for no passphrase'],
  ['SSLOptions', 'they concern CGI environment variables'],
  ['SSLStaplingCache', 'no OCSP stapling'],
  ['SSLCryptoDevice', 'OpenSSL picks its engine'],
  ['SSLCACertificateFile', 'only used to check client certificates'],
  ['SSLCACertificatePath', 'only used to check client certificates'],
  ['SSLCADNRequestFile', 'only used to check client certificates'],
  ['SSLCADNRequestPath', 'only used to check client certificates'],
  ['SSLCARevocationFile', 'only used to check client certificates'],
  ['SSLCARevocationPath', 'only used to check client certificates'],
  ['SSLCARevocationCheck', 'only used to check client certificates'],
  ['SSLVerifyDepth', 'only used to check client certificates'],
  ['ProtocolsHonorOrder', 'the client chooses among the protocols offered'],
];

/** Effective settings of a virtual host: its own, else the main server's (mod_ssl's merge). */
export function effectiveSsl(main: SslAcc, vh: SslAcc): SslAcc {
  return {
    engine: vh.engine ?? main.engine,
    certs: vh.certs.length ? vh.certs : main.certs,
    keys: vh.certs.length ? vh.keys : main.keys,
    chain: vh.certs.length ? vh.chain : (vh.chain ?? main.chain),
    versions: vh.versions ?? main.versions,
    ciphers: vh.ciphers ?? main.ciphers,
    cipherSuites: vh.cipherSuites ?? main.cipherSuites,
    honorOrder: vh.honorOrder ?? main.honorOrder,
    tickets: vh.tickets ?? main.tickets,
    protocols: vh.protocols ?? main.protocols,
    hsts: vh.hsts ?? main.hsts,
    redirects: vh.redirects,
  };
}

/** A site's own certificate lines into the raw site (`tls`), paired in order as mod_ssl pairs them. */
export function emitSiteSsl(t: SslTools, out: RawBuilder, base: (string | number)[], acc: SslAcc): void {
  if (acc.certs.length) {
    if (acc.keys.length > acc.certs.length) t.diag(acc.keys[acc.certs.length].at, 'error', `SSLCertificateKeyFile ${acc.keys[acc.certs.length].value}: more key files than SSLCertificateFile lines`, 'tls-key-without-cert');
    const one = (i: number) => {
      const c: Record<string, string> = { cert: acc.certs[i].value };
      if (acc.keys[i]) c.key = acc.keys[i].value;
      if (acc.chain) c.chain = acc.chain.value;
      return c;
    };
    if (acc.certs.length === 1) {
      out.set([...base, 'tls'], one(0), acc.certs[0].at);
      if (acc.keys[0]) out.note([...base, 'tls', 'key'], acc.keys[0].at);
      if (acc.chain) out.note([...base, 'tls', 'chain'], acc.chain.at);
    } else {
      out.set([...base, 'tls'], {}, acc.certs[0].at);
      acc.certs.forEach((c, i) => {
        out.push([...base, 'tls', 'certificates'], one(i), c.at);
        if (acc.keys[i]) out.note([...base, 'tls', 'certificates', i, 'key'], acc.keys[i].at);
      });
    }
  } else if (acc.keys.length) {
    t.diag(acc.keys[0].at, 'error', `SSLCertificateKeyFile ${acc.keys[0].value}: no SSLCertificateFile for this key`, 'tls-key-without-cert');
  } else if (acc.chain) {
    t.diag(acc.chain.at, 'warning', `SSLCertificateChainFile ${acc.chain.value}: no SSLCertificateFile in this server (ignored)`, 'tls-chain-without-cert');
  }
  if (acc.hsts) out.set([...base, 'hsts'], acc.hsts.value, acc.hsts.at);
  for (const r of acc.redirects) {
    const v: Record<string, unknown> = { path: r.value.path, status: r.value.status };
    if (r.value.to !== undefined) v.to = r.value.to;
    out.push([...base, 'redirects'], v, r.at);
  }
}

/** A server (main or virtual host) and the addresses it answers on. */
export interface SslServer {
  acc: SslAcc;
  /** `host:port` of its <VirtualHost> line; empty: every address (main server, `<VirtualHost *>`). */
  addresses: Located<string>[];
  at?: Loc;
}

function addressMatches(addr: string, listen: string | number): boolean {
  const [, ah, ap] = /^(.*):(\d+)$/.exec(addr) ?? [];
  const lm = typeof listen === 'number' ? ['', '', String(listen)] : (/^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(listen) ?? []);
  if (ap !== lm[2]) return false;
  const lh = lm[1] ?? '';
  const wild = (h: string) => !h || h === '*' || h === '0.0.0.0' || h === '_default_';
  return wild(ah) || wild(lh) || ah.replace(/^\[|\]$/g, '') === lh;
}

/**
 * Emits the listeners: plain values as they were written, objects for the addresses that are TLS
 * (a server on it has SSLEngine on, or the Listen line says https) or speak more than HTTP/1.1,
 * with the TLS policy of the servers on it (which must agree: versions and ciphers are chosen
 * before SNI tells the servers of one address apart).
 */
export function emitListeners(t: SslTools, out: RawBuilder, listen: Located<string | number>[], httpsListen: Set<Located<string | number>>, main: SslAcc, servers: SslServer[]): void {
  const effective = servers.map((s) => ({ s, e: effectiveSsl(main, s.acc) }));
  for (const l of listen) {
    const on = effective.filter(({ s }) => !s.addresses.length || s.addresses.some((a) => addressMatches(a.value, l.value)));
    const tlsServers = on.filter(({ e }) => e.engine?.value);
    const tls = tlsServers.length > 0 || httpsListen.has(l);
    const protocols = new Set<string>();
    for (const { s, e } of on) {
      for (const p of e.protocols?.value ?? []) {
        if (p === 'h2' && !tls) {
          // Said for a host's own line; the main server's applies to plain addresses as well.
          if (s.acc.protocols) t.diag(e.protocols!.at, 'info', `Protocols h2 on ${l.value}: h2 needs TLS, this address speaks HTTP/1.1${(e.protocols!.value.includes('h2c') ? ' and h2c' : '')}`, 'protocols-ignored');
          continue;
        }
        if (p === 'h2c' && tls) continue;
        // Not an HTTP protocol: TLS-ALPN-01 is answered in the handshake (acme.challenges).
        if (p === 'acme-tls/1') continue;
        protocols.add(p);
      }
    }
    if (!tls && (!protocols.size || (protocols.size === 1 && protocols.has('http/1.1')))) {
      out.push(['listen'], l.value, l.at);
      continue;
    }
    const [, host, port] = typeof l.value === 'number' ? [undefined, undefined, String(l.value)] : (/^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(l.value) ?? []);
    const obj: Record<string, unknown> = { port: Number(port) };
    if (host && host !== '*' && host !== '0.0.0.0') obj.host = host;
    const i = out.push(['listen'], obj, l.at);
    if (tls) {
      const policy = agreedPolicy(t, tlsServers.map(({ e }) => e), String(l.value));
      out.set(['listen', i, 'tls'], Object.keys(policy.value).length ? policy.value : true, tlsServers[0]?.s.at ?? l.at);
      for (const [k, at] of policy.at) out.note(['listen', i, 'tls', k], at);
    }
    // Apache offers HTTP/1.1 only unless Protocols says more.
    if (!protocols.size) protocols.add('http/1.1');
    else if (!protocols.has('http/1.1')) protocols.add('http/1.1');
    const ordered = [...protocols];
    out.set(['listen', i, 'protocols'], ordered, on.find(({ e }) => e.protocols)?.e.protocols?.at ?? l.at);
  }
}

function agreedPolicy(t: SslTools, list: SslAcc[], addr: string): { value: Record<string, unknown>; at: Map<string, Loc> } {
  const value: Record<string, unknown> = {};
  const at = new Map<string, Loc>();
  const fields: [keyof SslAcc, string, string][] = [
    ['versions', 'versions', 'SSLProtocol'],
    ['ciphers', 'ciphers', 'SSLCipherSuite'],
    ['cipherSuites', 'cipherSuites', 'SSLCipherSuite TLSv1.3'],
    ['honorOrder', 'honorCipherOrder', 'SSLHonorCipherOrder'],
    ['tickets', 'sessionTickets', 'SSLSessionTickets'],
  ];
  for (const [field, key, directive] of fields) {
    let first: Located<unknown> | undefined;
    let firstSet = false;
    list.forEach((acc, n) => {
      const v = acc[field] as Located<unknown> | undefined;
      if (n === 0) {
        first = v;
        firstSet = true;
        return;
      }
      if (!firstSet) return;
      const same = JSON.stringify(v?.value) === JSON.stringify(first?.value);
      if (!same) {
        const where = (x: Located<unknown> | undefined) => (x ? `line ${x.at.line}` : 'not set');
        t.diag(v?.at ?? first!.at, 'error', `${directive} differs between the virtual hosts of ${addr} (${where(first)} and ${where(v)}): TLS versions and ciphers are chosen before SNI names the virtual host, so one address has one setting; set it once in the main server, or alike in each`, 'tls-policy-conflict');
      }
    });
    if (first) {
      value[key] = first.value;
      at.set(key, first.at);
    }
  }
  return { value, at };
}
