// Lints of the automatic certificates: settings that load but will most likely keep a CA from
// issuing (terms not accepted, nothing on port 80 for the HTTP-01 challenge, nothing on port 443
// for TLS-ALPN-01). Pure.
import type { ConfigModel } from './model.js';
import type { Diagnostic } from './diagnostics.js';

export type LintWarn = (severity: Diagnostic['severity'], path: string | undefined, code: string, message: string) => void;

export function lintAcme(model: ConfigModel, warn: LintWarn): void {
  const acme = model.acme;
  if (!acme) return;
  if (!acme.agreeToTerms) {
    warn('warning', 'acme', 'acme-terms', "automatic certificates: the CA's terms of service are not accepted; Let's Encrypt and most CAs issue nothing without it (MDCertificateAgreement accepted; acme.agreeToTerms: true)");
  }
  if (!acme.contact) {
    warn('info', 'acme', 'acme-contact', 'automatic certificates: no contact address, so the CA cannot warn you about expiring certificates or changes of its terms (MDContactEmail or ServerAdmin; acme.contact)');
  }
  const ports = model.listeners.map((l) => l.port).join(', ');
  // The CA reaches each name on one port per challenge type; one of them is enough.
  const http01 = acme.challenges.includes('http-01') && model.listeners.some((l) => l.port === 80 && !l.tls);
  const alpn01 = acme.challenges.includes('tls-alpn-01') && model.listeners.some((l) => l.port === 443 && l.tls);
  if (http01 || alpn01) return;
  const ways: string[] = [];
  if (acme.challenges.includes('tls-alpn-01')) ways.push('connects for its TLS-ALPN-01 challenge to port 443 (a TLS listener)');
  if (acme.challenges.includes('http-01')) ways.push('fetches its HTTP-01 challenge from port 80 (a plain-HTTP listener)');
  const fix = acme.challenges.includes('http-01') ? 'forward port 80 to a plain-HTTP listener of stickylb, or listen on 80' : 'forward port 443 to a TLS listener of stickylb, or listen on 443 with tls';
  warn('warning', 'acme', acme.challenges.includes('http-01') ? 'acme-port-80' : 'acme-port-443', `automatic certificates: the CA ${ways.join(', or ')} of each name, and stickylb listens on ${ports}: ${fix}`);
}
