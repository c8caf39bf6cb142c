// One certificate order at a CA (RFC 8555) through acme-client: account, order, challenges,
// finalize, download. The protocol is the library's (it retries badNonce at once and honours
// Retry-After on 429 and 5xx); this module publishes the answers while the CA looks (the HTTP-01
// key authorization, or the TLS-ALPN-01 challenge certificate made by acme-client) and says
// clearly why an order failed.
import acme from 'acme-client';
import type { AcmeChallengeType } from '../config/model.js';
import type { Challenges } from './challenges.js';

export type KeyType = 'rsa2048' | 'rsa3072' | 'rsa4096' | 'p256' | 'p384';

export interface OrderOptions {
  directory: string;
  accountKeyPem: string;
  /** mailto: contact of the account. */
  contact?: string;
  agreeToTerms: boolean;
  /** DNS names; the first becomes the common name. */
  names: string[];
  keyType: KeyType;
  challenges: Challenges;
  /** Challenge types answered, in order of preference; the first the CA offers is used. */
  challengeTypes: readonly AcmeChallengeType[];
  /** Debug lines of the order's progress. */
  log?: (msg: string) => void;
}

export interface OrderResult {
  keyPem: string;
  /** Leaf first, then the chain, as the CA sent it. */
  certPem: string;
  accountUrl: string;
}

/** The CA wants its terms of service accepted and the config does not say so. */
export class TermsNotAcceptedError extends Error {
  readonly code = 'ERR_ACME_TERMS';
  constructor(readonly termsUrl: string) {
    super(`the CA asks to accept its terms of service (${termsUrl}): read them, then add "MDCertificateAgreement accepted" (acme.agreeToTerms: true in YAML)`);
  }
}

export async function createPrivateKey(type: KeyType): Promise<string> {
  switch (type) {
    case 'p256':
      return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    case 'p384':
      return (await acme.crypto.createPrivateEcdsaKey('P-384')).toString();
    case 'rsa3072':
      return (await acme.crypto.createPrivateRsaKey(3072)).toString();
    case 'rsa4096':
      return (await acme.crypto.createPrivateRsaKey(4096)).toString();
    default:
      return (await acme.crypto.createPrivateRsaKey(2048)).toString();
  }
}

/** An account key: ECDSA P-256, as most clients use (any key type works with every CA). */
export async function createAccountKey(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
}

export async function orderCertificate(o: OrderOptions): Promise<OrderResult> {
  const log = o.log ?? (() => undefined);
  const client = new acme.Client({
    directoryUrl: o.directory,
    accountKey: o.accountKeyPem,
    // Polls of pending challenges and orders: soon at first, then further apart.
    backoffAttempts: 12,
    backoffMin: 1000,
    backoffMax: 30_000,
  });
  if (!o.agreeToTerms) {
    const terms = await client.getTermsOfServiceUrl();
    if (terms) throw new TermsNotAcceptedError(terms);
  }
  // The same key always finds the same account (the CA answers 200 for a known key), so an
  // account the CA forgot is registered again instead of failing every order.
  await client.createAccount({
    termsOfServiceAgreed: o.agreeToTerms,
    ...(o.contact ? { contact: [`mailto:${o.contact}`] } : {}),
  });
  const accountUrl = client.getAccountUrl();
  log(`account ${accountUrl}`);

  const keyPem = await createPrivateKey(o.keyType);
  const [, csr] = await acme.crypto.createCsr({ commonName: o.names[0], altNames: o.names }, keyPem);
  const certPem = await client.auto({
    csr,
    // The CA checks for itself; a self-check from here would go through this host's own DNS and
    // ports, which often differ from what the CA sees.
    skipChallengeVerification: true,
    challengePriority: [...o.challengeTypes],
    termsOfServiceAgreed: o.agreeToTerms,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      const name = authz.identifier.value;
      // acme-client's types name http-01 and dns-01 only; it handles tls-alpn-01 all the same.
      const type = challenge.type as string;
      if (type === 'http-01' && o.challengeTypes.includes('http-01')) {
        o.challenges.add(challenge.token, keyAuthorization);
        log(`${name}: answering http-01 at /.well-known/acme-challenge/${challenge.token}`);
        return;
      }
      if (type === 'tls-alpn-01' && o.challengeTypes.includes('tls-alpn-01')) {
        // The challenge certificate (RFC 8737 §3): self-signed for the name, with the digest of
        // the key authorization in its acmeIdentifier extension; an ECDSA key is made at once.
        const key = await acme.crypto.createPrivateEcdsaKey('P-256');
        const [, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, key);
        o.challenges.addAlpn(name, { certPem: cert.toString(), keyPem: key.toString() });
        log(`${name}: answering tls-alpn-01 on the TLS listeners`);
        return;
      }
      throw new Error(`${name}: the CA offers none of the challenges stickylb is set to answer (${o.challengeTypes.join(', ')}; offered: ${authz.challenges.map((c) => c.type).join(', ')})`);
    },
    challengeRemoveFn: async (authz, challenge) => {
      const type = challenge.type as string;
      if (type === 'http-01') o.challenges.remove(challenge.token);
      else if (type === 'tls-alpn-01') o.challenges.removeAlpn(authz.identifier.value);
    },
  });
  return { keyPem, certPem, accountUrl };
}
