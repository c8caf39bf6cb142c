// The certificate files a config names, into the certificate store: read at start (a file that
// cannot be served stops the start, with the reason) and again on every reload (a file that
// cannot be served then keeps the certificate in service, and the reason is logged).
import type { ConfigModel } from '../config/model.js';
import { resolveConfigPath } from '../config/base-dir.js';
import { siteNames } from '../config/resolve-tls.js';
import { readCertificateFiles, type CertificateMaterial } from './certificates.js';
import type { CertificateStore, StoredCertificate } from './certificate-store.js';

export interface ConfigCertificates {
  /** Names whose certificate came from the config's files (to remove when a reload drops them). */
  names: Set<string>;
  loaded: StoredCertificate[];
  /** Why a site's certificate could not be served, one line each. */
  errors: string[];
}

/**
 * Reads every site's certificate files and puts them in `store` under the site's names. Sites
 * that share names and files (a host on ports 80 and 443) are read once. Names put by an earlier
 * call and no longer in the config are removed.
 */
export function loadConfigCertificates(config: ConfigModel, store: CertificateStore, previous: ReadonlySet<string> = new Set()): ConfigCertificates {
  const out: ConfigCertificates = { names: new Set(), loaded: [], errors: [] };
  const done = new Set<string>();
  for (const site of config.sites) {
    const files = site.tls?.certificates ?? [];
    if (!files.length) continue;
    const names = siteNames(site);
    const key = JSON.stringify([names, files]);
    if (done.has(key)) continue;
    done.add(key);
    const who = site.serverName ? `certificate of ${site.serverName}` : 'certificate of the default site';
    let materials: CertificateMaterial[];
    try {
      materials = files.map((f) =>
        readCertificateFiles({
          cert: resolveConfigPath(config, f.cert),
          key: f.key === undefined ? undefined : resolveConfigPath(config, f.key),
          chain: f.chain === undefined ? undefined : resolveConfigPath(config, f.chain),
        }),
      );
      out.loaded.push(store.put(names, materials));
      for (const n of names) out.names.add(n);
    } catch (e) {
      out.errors.push(`${who}: ${(e as Error).message}`);
      // What it had stays in service: its names are still the config's.
      for (const n of names) if (previous.has(n)) out.names.add(n);
    }
  }
  const gone = [...previous].filter((n) => !out.names.has(n));
  if (gone.length) store.remove(gone);
  return out;
}
