// What `check` says about the TLS parts of a config that loaded: weak versions and ciphers, and
// the certificate files read as a TLS listener would read them: one that cannot be served (no
// key, a key of another certificate, an unreadable file) is an error, one that is expired or
// soon expiring, has its chain in the wrong order or does not cover the site's names, a warning.
// Reads the certificate files; changes nothing.
import type { ConfigModel, SiteModel } from '../config/model.js';
import type { Diagnostic, SourceMap } from '../config/diagnostics.js';
import { resolveConfigPath } from '../config/base-dir.js';
import { sitesFor } from '../proxy/site.js';
import { loadCertificate, readCertificateFiles, type LoadedCertificate } from './certificates.js';
import { cipherWarnings, versionWarnings } from './policy.js';

export interface TlsLintOptions {
  raw?: unknown;
  sourceMap?: SourceMap;
  file?: string;
  /** The time to judge expiry by (tests). */
  now?: number;
}

function locate(map: SourceMap | undefined, path: string): { file?: string; line?: number } | undefined {
  let p = path;
  while (p && map) {
    const hit = map.get(p);
    if (hit) return hit;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) break;
    p = p.slice(0, cut);
  }
  return undefined;
}

/** Does a certificate name (`*.example.org` allowed, one label) cover a host name? */
export function covers(certName: string, host: string): boolean {
  const c = certName.toLowerCase();
  const h = host.toLowerCase();
  if (c === h) return true;
  if (!c.startsWith('*.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === c.slice(2);
}

export function lintTls(model: ConfigModel, opts: TlsLintOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const raw = (opts.raw ?? {}) as { virtualHosts?: unknown[] };
  const at = (severity: Diagnostic['severity'], path: string, code: string, message: string) => {
    const loc = locate(opts.sourceMap, path);
    out.push({ severity, file: loc?.file ?? opts.file, line: loc?.line, path, code, message });
  };
  const sitePath = (i: number) => (raw.virtualHosts?.length ? `virtualHosts[${i}]` : '');
  const tlsPath = (i: number) => (sitePath(i) ? `${sitePath(i)}.tls` : 'tls');

  model.listeners.forEach((l, i) => {
    const where = `${l.host ?? '*'}:${l.port}`;
    if (l.tls) {
      for (const w of versionWarnings(l.tls)) at('warning', `listen[${i}].tls.versions`, 'tls-weak', `security: TLS on ${where}: ${w}`);
      for (const w of cipherWarnings(l.tls)) at('warning', `listen[${i}].tls.ciphers`, 'tls-weak', `security: TLS on ${where}: ${w}`);
    } else if (l.port === 443) {
      at('warning', `listen[${i}]`, 'tls-port-plain', `${where} speaks plain HTTP on the HTTPS port: browsers that come with https:// fail; add SSLEngine on and a certificate to its virtual host (YAML: tls on the listener)`);
    }
  });

  // Sites served on a TLS listener: their names must be covered by their certificate.
  const onTls = new Set<SiteModel>();
  for (const l of model.listeners) if (l.tls) for (const s of sitesFor(model.sites, l)) onTls.add(s);

  const seen = new Set<string>();
  model.sites.forEach((site, i) => {
    const files = site.tls?.certificates ?? [];
    if (!files.length) return;
    const key = JSON.stringify(files);
    const loaded: LoadedCertificate[] = [];
    for (const f of files) {
      try {
        const material = readCertificateFiles({
          cert: resolveConfigPath(model, f.cert),
          key: f.key === undefined ? undefined : resolveConfigPath(model, f.key),
          chain: f.chain === undefined ? undefined : resolveConfigPath(model, f.chain),
        });
        const c = loadCertificate(material, { now: opts.now });
        loaded.push(c);
        if (!seen.has(key)) for (const w of c.warnings) at('warning', tlsPath(i), 'tls-certificate', `security: ${w}`);
      } catch (e) {
        if (!seen.has(key)) at('error', tlsPath(i), 'tls-certificate', `${(e as Error).message} (a TLS listener cannot serve it)`);
      }
    }
    seen.add(key);
    if (!onTls.has(site) || !loaded.length) return;
    for (const name of [site.serverName, ...site.serverAliases].filter((n): n is string => !!n && !/[*?]/.test(n))) {
      if (loaded.some((c) => c.names.some((n) => covers(n, name)))) continue;
      at('warning', tlsPath(i), 'tls-name', `the certificate ${loaded[0].source} is for ${loaded[0].names.join(', ') || 'no DNS name'}, not for ${name}: browsers refuse it for ${name}`);
    }
  });
  return out;
}
