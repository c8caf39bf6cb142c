// Whom the ACME client trusts. By default Node's own CA store plus NODE_EXTRA_CA_CERTS, as every
// outgoing TLS connection of stickylb. A CA's own option (acme.caCertificates, MDCertificateAuthority
// with a private CA) adds certificates to that store for the CA's host only; it never replaces it.
import https from 'node:https';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import acme from 'acme-client';

/** The certificates of Node's store, NODE_EXTRA_CA_CERTS, then `extra` (PEM texts). */
export function trustedCertificates(extra: readonly string[]): string[] {
  const out = [...tls.rootCertificates];
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (file) {
    try {
      out.push(readFileSync(file, 'utf8'));
    } catch {
      // Node itself warns at start when the file cannot be read.
    }
  }
  return [...out, ...extra];
}

/** Agents by origin (`https://host:port`) for CAs with certificates of their own. */
const agents = new Map<string, { pems: Set<string>; agent: https.Agent }>();
let installed = false;

/**
 * Trusts `pems` (besides the usual store) for requests to the origin of `directory`. The ACME
 * library sends every request through one axios instance: one request hook picks the agent by
 * the request's origin, so other CAs keep the plain store.
 */
export function trustForCa(directory: string, pems: readonly string[]): void {
  if (!pems.length) return;
  const origin = new URL(directory).origin;
  const entry = agents.get(origin);
  const all = new Set([...(entry?.pems ?? []), ...pems]);
  if (entry && all.size === entry.pems.size) return;
  entry?.agent.destroy();
  agents.set(origin, { pems: all, agent: new https.Agent({ keepAlive: true, ca: trustedCertificates([...all]) }) });
  if (installed) return;
  installed = true;
  acme.axios.interceptors.request.use((config) => {
    if (!config.url) return config;
    let origin: string;
    try {
      origin = new URL(config.url).origin;
    } catch {
      return config;
    }
    const a = agents.get(origin);
    if (a) config.httpsAgent = a.agent;
    return config;
  });
}
