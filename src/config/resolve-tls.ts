// The TLS and HTTPS parts of the raw config resolved into the model: listener TLS policies (secure
// defaults, version ranges, cipher strings OpenSSL accepts), site certificates, redirects, the
// redirect to HTTPS and HSTS; and the cross-checks (every site a TLS listener serves has a
// certificate). Pure apart from asking OpenSSL whether it knows a cipher string.
import { DEFAULT_POLICY, cipherProblem, versionRange, type TlsPolicy } from '../tls/policy.js';
import type { CertificateFilesModel, ConfigModel, HttpProtocol, ListenerModel, RedirectModel, SiteModel, SiteTlsModel } from './model.js';
import type { Diagnostic } from './diagnostics.js';
import { durationMs } from './diagnostics.js';
import type { RawConfig, RawSite } from './schema.js';
import { sitesFor } from '../proxy/site.js';

type RawListener = NonNullable<RawConfig['listen']>[number];

/** A listener's TLS policy: stickylb's secure defaults, changed by what the config says. */
export function resolveListenerTls(tls: Extract<RawListener, object>['tls'], path: string, diags: Diagnostic[]): TlsPolicy | undefined {
  if (tls === undefined || tls === false) return undefined;
  const t = tls === true ? {} : tls;
  const policy: TlsPolicy = { ...DEFAULT_POLICY };
  if (t.versions) {
    const r = versionRange(t.versions);
    if ('error' in r) diags.push({ severity: 'error', path: `${path}.tls.versions`, message: `${path}.tls.versions: ${r.error}`, code: 'tls-versions' });
    else {
      policy.minVersion = r.min;
      policy.maxVersion = r.max;
    }
  }
  if (t.ciphers !== undefined) policy.ciphers = t.ciphers;
  if (t.cipherSuites !== undefined) policy.cipherSuites = t.cipherSuites;
  if (t.honorCipherOrder !== undefined) policy.honorCipherOrder = t.honorCipherOrder;
  if (t.sessionTickets !== undefined) policy.sessionTickets = t.sessionTickets;
  if (t.ciphers !== undefined || t.cipherSuites !== undefined) {
    const problem = cipherProblem(policy);
    if (problem) diags.push({ severity: 'error', path: `${path}.tls.${t.ciphers !== undefined ? 'ciphers' : 'cipherSuites'}`, message: `${path}.tls: ${problem}`, code: 'tls-ciphers' });
  }
  return policy;
}

/**
 * HTTP versions of a listener: as configured, else h2 and HTTP/1.1 over TLS; undefined (HTTP/1.1
 * only) on a plain listener that says nothing.
 */
export function resolveProtocols(l: RawListener, tls: boolean, path: string, diags: Diagnostic[]): HttpProtocol[] | undefined {
  const given = typeof l === 'object' ? l.protocols : undefined;
  if (!given) return tls ? ['h2', 'http/1.1'] : undefined;
  const list = [...new Set(given)];
  if (tls && list.includes('h2c')) diags.push({ severity: 'error', path: `${path}.protocols`, message: `${path}.protocols: h2c is HTTP/2 without TLS; on a TLS listener write h2`, code: 'listener-protocols' });
  if (!tls && list.includes('h2')) diags.push({ severity: 'error', path: `${path}.protocols`, message: `${path}.protocols: h2 needs TLS (add tls to the listener), or write h2c for HTTP/2 without TLS (prior knowledge)`, code: 'listener-protocols' });
  return list;
}

export function resolveSiteTls(t: RawSite['tls']): SiteTlsModel | undefined {
  if (!t) return undefined;
  const certificates: CertificateFilesModel[] = [];
  if (t.cert !== undefined) certificates.push({ cert: t.cert, key: t.key, chain: t.chain });
  for (const c of t.certificates ?? []) certificates.push({ cert: c.cert, key: c.key, chain: c.chain });
  return { certificates };
}

export function resolveRedirects(list: RawSite['redirects']): RedirectModel[] | undefined {
  if (!list?.length) return undefined;
  return list.map((r) => ({ path: r.path, to: r.to, status: r.status ?? 302 }));
}

export function resolveRedirectToHttps(v: RawSite['redirectToHttps']): SiteModel['redirectToHttps'] {
  if (v === undefined || v === false) return undefined;
  if (v === true) return { status: 301 };
  return { status: v.status ?? 301, port: v.port };
}

/** The Strict-Transport-Security value: true is one year; an object is spelt out. */
export function resolveHsts(v: RawSite['hsts']): string | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 'max-age=31536000';
  if (typeof v === 'string') return v.trim();
  let s = `max-age=${Math.floor(durationMs(v.maxAge, 0) / 1000)}`;
  if (v.includeSubDomains) s += '; includeSubDomains';
  if (v.preload) s += '; preload';
  return s;
}

function listenerText(l: ListenerModel): string {
  return l.host ? `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}` : `port ${l.port}`;
}

/** The names a site answers for, as a certificate store keys them (`*` for a site without any). */
export function siteNames(site: SiteModel): string[] {
  const names = [site.serverName, ...site.serverAliases].filter((n): n is string => !!n).map((n) => n.toLowerCase().replace(/:\d+$/, ''));
  return names.length ? names : ['*'];
}

/** Names covered by managed (ACME) domains, when the config has them. */
function managedNames(config: ConfigModel): string[] {
  const acme = (config as { acme?: { domains?: { names: string[] }[] } }).acme;
  return (acme?.domains ?? []).flatMap((d) => d.names.map((n) => n.toLowerCase()));
}

/**
 * Sites a TLS listener serves must have a certificate (files, or a managed domain covering their
 * name): otherwise the port meant for HTTPS could not complete a handshake for them. `paths`
 * gives each site's config path (for file:line).
 */
export function tlsSiteDiagnostics(config: ConfigModel, sitePaths: string[], listenerPaths: string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const managed = new Set(managedNames(config));
  const reported = new Set<SiteModel>();
  config.listeners.forEach((l, li) => {
    if (!l.tls) return;
    for (const site of sitesFor(config.sites, l)) {
      if (reported.has(site)) continue;
      if (site.tls?.certificates.length) continue;
      const names = siteNames(site);
      if (names.some((n) => managed.has(n))) continue;
      reported.add(site);
      const i = config.sites.indexOf(site);
      const who = site.serverName ? `the site ${site.serverName}` : 'the default site';
      const path = sitePaths[i] || listenerPaths[li];
      out.push({
        severity: 'error',
        path,
        message: `${listenerPaths[li]} (${listenerText(l)}) is a TLS listener, but ${who} it serves has no certificate: add tls: {cert: FILE, key: FILE} to it (Apache: SSLCertificateFile and SSLCertificateKeyFile in its <VirtualHost>)`,
        code: 'tls-no-certificate',
      });
    }
  });
  return out;
}
