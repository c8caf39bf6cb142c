// The `acme` block of a raw config to its model: CA names to directory URLs, defaults (mod_md's),
// paths from the config's folder, and the checks the schema cannot make. Pure.
import type { RawAcme } from './schema.js';
import type { AcmeModel, ConfigModel } from './model.js';
import { durationMs, type Diagnostic } from './diagnostics.js';
import { resolveConfigPath } from './base-dir.js';
import { DEFAULT_DIRECTORY, directoryUrl } from '../acme/cas.js';
import { DEFAULT_RENEW_WINDOW, DEFAULT_RETRY_DELAY_MS, parseRenewWindow } from '../acme/schedule.js';

export const ACME_DEFAULTS = {
  storeDir: 'md',
  keyType: 'rsa2048' as AcmeModel['keyType'],
  challenges: ['http-01'] as readonly AcmeModel['challenges'][number][],
};

/** mod_md's first wait after a failed order (MDRetryDelay), for Apache syntax. */
export const APACHE_RETRY_DELAY_MS = 5000;

export function resolveAcme(raw: RawAcme | undefined, source: ConfigModel['source'], diags: Diagnostic[], apacheDefaults = false): AcmeModel | undefined {
  if (!raw) return undefined;
  const owner = new Map<string, number>();
  const domains = raw.domains.map((entry, i) => {
    const names: string[] = [];
    for (const n of typeof entry === 'string' ? [entry] : entry) {
      const name = n.toLowerCase().replace(/\.$/, '');
      if (names.includes(name)) continue;
      const before = owner.get(name);
      if (before !== undefined) {
        diags.push({
          severity: 'error',
          path: `acme.domains[${i}]`,
          message: `acme.domains[${i}]: ${name} is already in acme.domains[${before}]; a name can be in one managed domain only`,
          code: 'acme-duplicate',
        });
      } else owner.set(name, i);
      names.push(name);
    }
    return { names };
  });
  let renewWindow = DEFAULT_RENEW_WINDOW;
  if (raw.renewWindow !== undefined) {
    const w = parseRenewWindow(raw.renewWindow, 's');
    if (typeof w === 'string') diags.push({ severity: 'error', path: 'acme.renewWindow', message: `acme.renewWindow: ${w}`, code: 'invalid-value' });
    else renewWindow = w;
  }
  const files = raw.caCertificates === undefined ? [] : typeof raw.caCertificates === 'string' ? [raw.caCertificates] : raw.caCertificates;
  return {
    directory: raw.directory ? directoryUrl(raw.directory) : DEFAULT_DIRECTORY,
    contact: raw.contact?.replace(/^mailto:/i, ''),
    agreeToTerms: raw.agreeToTerms ?? false,
    storeDir: resolveConfigPath({ source }, raw.storeDir ?? ACME_DEFAULTS.storeDir),
    renewWindow,
    // Apache syntax waits as mod_md does; stickylb's own default is gentler on the CA's limits.
    retryDelayMs: durationMs(raw.retryDelay, apacheDefaults ? APACHE_RETRY_DELAY_MS : DEFAULT_RETRY_DELAY_MS),
    keyType: raw.keyType ?? ACME_DEFAULTS.keyType,
    caCertificates: files.map((f) => resolveConfigPath({ source }, f)),
    challenges: raw.challenges ? [...new Set(raw.challenges)] : [...ACME_DEFAULTS.challenges],
    domains,
  };
}
