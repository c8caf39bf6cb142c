// CA names users may write instead of a directory URL, and the names a CA can certify for
// stickylb (HTTP-01 and TLS-ALPN-01 cannot prove a wildcard or an IP address). Pure.

/** The CA names mod_md knows (MDCertificateAuthority), and their ACME directory URLs. */
export const KNOWN_CAS: Readonly<Record<string, string>> = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-test': 'https://acme-staging-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
  buypass: 'https://api.buypass.com/acme/directory',
  'buypass-test': 'https://api.test4.buypass.no/acme/directory',
};

/** mod_md's default CA: Let's Encrypt. */
export const DEFAULT_DIRECTORY = KNOWN_CAS.letsencrypt;

/** A directory URL for a CA name or URL. */
export function directoryUrl(nameOrUrl: string): string {
  return KNOWN_CAS[nameOrUrl.toLowerCase()] ?? nameOrUrl;
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Why a CA cannot certify `name` for stickylb (without the name), or undefined when it can. */
export function acmeNameProblem(name: string): string | undefined {
  if (name.startsWith('*.')) return 'a wildcard certificate needs the dns-01 challenge, which stickylb cannot answer';
  if (/^[\d.]+$/.test(name) || name.includes(':')) return 'certificates are managed for DNS names, not addresses';
  if (!DNS_NAME.test(name)) return 'not a DNS name';
  return undefined;
}
