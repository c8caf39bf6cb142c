// The temporary certificate of a managed domain that has no certificate from its CA yet (mod_md's
// fallback certificate): self-signed, short-lived, for the domain's names, so HTTPS clients get a
// certificate error that names the site instead of a failed handshake.
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TemporaryCertificate {
  keyPem: string;
  certPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** A self-signed ECDSA P-256 certificate for `names`, valid from now for `days`. */
export async function temporaryCertificate(names: readonly string[], now = Date.now(), days = 7): Promise<TemporaryCertificate> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
      name: [{ CN: ['stickylb temporary certificate'] }, { O: ['no certificate from the CA yet'] }],
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + days * 86_400_000),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: 'dns' as const, value: n }))),
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: pem('PRIVATE KEY', pkcs8), certPem: cert.toString('pem') + '\n' };
}
