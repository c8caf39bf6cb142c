// Lints of the automatic certificates: settings that load but will most likely keep a CA from
// issuing (terms not accepted, nothing on port 80 for the HTTP-01 challenge). Pure.
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
  if (!model.listeners.some((l) => l.port === 80)) {
    const ports = model.listeners.map((l) => l.port).join(', ');
    warn(
      'warning',
      'acme',
      'acme-port-80',
      `automatic certificates: the CA fetches its HTTP-01 challenge from port 80 of each name, and stickylb listens on ${ports}: forward port 80 to a plain-HTTP listener of stickylb, or listen on 80`,
    );
  }
}
