// One certificate order at a CA (RFC 8555) through acme-client: account, order, challenges,
// finalize, download. The protocol is the library's (it retries badNonce at once and honours
// Retry-After on 429 and 5xx); this module publishes the HTTP-01 answers while the CA looks and
// says clearly why an order failed.
import acme from 'acme-client';
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
    challengePriority: ['http-01'],
    termsOfServiceAgreed: o.agreeToTerms,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      const name = authz.identifier.value;
      if (challenge.type !== 'http-01') {
        throw new Error(`${name}: the CA offers no http-01 challenge, the one stickylb answers (offered: ${authz.challenges.map((c) => c.type).join(', ')})`);
      }
      o.challenges.add(challenge.token, keyAuthorization);
      log(`${name}: answering http-01 at /.well-known/acme-challenge/${challenge.token}`);
    },
    challengeRemoveFn: async (authz, challenge) => {
      if (challenge.type === 'http-01') o.challenges.remove(challenge.token);
    },
  });
  return { keyPem, certPem, accountUrl };
}
