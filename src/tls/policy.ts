// The TLS policy of a listener: protocol versions, ciphers, cipher order, session tickets, and
// the secure defaults (TLS 1.2 and 1.3, Mozilla's "intermediate" ciphers). Also Apache's
// SSLProtocol and SSLCipherSuite read into it, and what about a policy deserves a warning. Pure.
import { constants } from 'node:crypto';
import tls from 'node:tls';

export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/**
 * Mozilla's "intermediate" configuration (server side TLS guidelines, version 5.7) for TLS 1.2;
 * TLS 1.3 keeps OpenSSL's three suites, which are the same as Mozilla's.
 */
export const INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
].join(':');

export const DEFAULT_CIPHER_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export interface TlsPolicy {
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** OpenSSL cipher string for TLS 1.2 and below. */
  ciphers: string;
  /** TLS 1.3 cipher suites, colon-separated. */
  cipherSuites: string;
  /** The server's cipher order wins over the client's (SSLHonorCipherOrder). */
  honorCipherOrder: boolean;
  /** Stateless session resumption (TLS session tickets). */
  sessionTickets: boolean;
}

export const DEFAULT_POLICY: TlsPolicy = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: INTERMEDIATE_CIPHERS,
  cipherSuites: DEFAULT_CIPHER_SUITES,
  honorCipherOrder: false,
  sessionTickets: true,
};

/** The contiguous range of a set of versions, or an error when it has holes. */
export function versionRange(versions: readonly TlsVersion[]): { min: TlsVersion; max: TlsVersion } | { error: string } {
  const idx = [...new Set(versions)].map((v) => TLS_VERSIONS.indexOf(v)).sort((a, b) => a - b);
  if (!idx.length) return { error: 'no TLS version is left enabled' };
  for (let i = 1; i < idx.length; i++) {
    if (idx[i] !== idx[i - 1] + 1) {
      return { error: `the versions ${idx.map((k) => TLS_VERSIONS[k]).join(', ')} leave out ${TLS_VERSIONS[idx[i - 1] + 1]}; stickylb serves one contiguous range of versions` };
    }
  }
  return { min: TLS_VERSIONS[idx[0]], max: TLS_VERSIONS[idx[idx.length - 1]] };
}

/** The versions of a range, in order. */
export function versionsOf(min: TlsVersion, max: TlsVersion): TlsVersion[] {
  return TLS_VERSIONS.slice(TLS_VERSIONS.indexOf(min), TLS_VERSIONS.indexOf(max) + 1);
}

/**
 * Apache's `SSLProtocol` arguments as a set of versions: a word without a sign sets the list, `+`
 * adds, `-` removes; `all` is TLS 1.0 to 1.3 (OpenSSL 3 has no SSLv3). SSLv2 and SSLv3 cannot
 * be served and are errors, as unknown words are.
 */
export function parseSslProtocol(args: readonly string[]): { versions: TlsVersion[]; notes: string[] } | { error: string } {
  let set = new Set<TlsVersion>();
  const notes: string[] = [];
  for (const raw of args) {
    let w = raw;
    let action = '';
    if (w[0] === '+' || w[0] === '-') {
      action = w[0];
      w = w.slice(1);
    }
    let these: TlsVersion[];
    const lower = w.toLowerCase();
    if (lower === 'all') these = [...TLS_VERSIONS];
    else if (lower === 'sslv2' || lower === 'sslv3') {
      if (action === '-') continue;
      return { error: `${w} cannot be served: OpenSSL 3 in Node.js has no ${w} (and it is broken); remove it` };
    } else {
      const v = TLS_VERSIONS.find((x) => x.toLowerCase() === lower);
      if (!v) return { error: `"${raw}" is not a protocol (accepted: all, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, each with + or -)` };
      these = [v];
    }
    if (action === '-') for (const v of these) set.delete(v);
    else if (action === '+') for (const v of these) set.add(v);
    else {
      if (set.size) notes.push(`"${raw}" without + or - replaces the protocols before it`);
      set = new Set(these);
    }
  }
  return { versions: TLS_VERSIONS.filter((v) => set.has(v)), notes };
}

/** Apache's `SSLCipherSuite [SSL|TLSv1.3] SPEC` into the policy field it sets. */
export function parseSslCipherSuite(args: readonly string[]): { field: 'ciphers' | 'cipherSuites'; value: string } | { error: string } {
  if (args.length === 1) return { field: 'ciphers', value: args[0] };
  if (args.length === 2) {
    const p = args[0].toLowerCase();
    if (p === 'ssl') return { field: 'ciphers', value: args[1] };
    if (p === 'tlsv1.3') return { field: 'cipherSuites', value: args[1] };
    return { error: `"${args[0]}" is not a protocol for SSLCipherSuite (accepted: SSL, TLSv1.3)` };
  }
  return { error: 'expected SSLCipherSuite [SSL|TLSv1.3] CIPHER-SPEC' };
}

/** Node's `ciphers` option for a policy: the TLS 1.2 list and the TLS 1.3 suites together. */
export function nodeCiphers(p: Pick<TlsPolicy, 'ciphers' | 'cipherSuites' | 'minVersion'>): string {
  let list = p.ciphers;
  // OpenSSL 3 allows TLS 1.0 and 1.1 only at security level 0 (they sign with SHA-1).
  if ((p.minVersion === 'TLSv1' || p.minVersion === 'TLSv1.1') && !/@SECLEVEL=/i.test(list)) list += ':@SECLEVEL=0';
  return `${p.cipherSuites}:${list}`;
}

/** Options of tls.createSecureContext / tls.createServer for a policy. */
export function secureContextOptions(p: TlsPolicy): tls.SecureContextOptions & { honorCipherOrder: boolean } {
  return {
    minVersion: p.minVersion,
    maxVersion: p.maxVersion,
    ciphers: nodeCiphers(p),
    honorCipherOrder: p.honorCipherOrder,
    dhparam: 'auto' as unknown as string,
    // SSL_OP_NO_TICKET turns tickets off; otherwise the listener's ticket keys encrypt them.
    secureOptions: p.sessionTickets ? 0 : constants.SSL_OP_NO_TICKET,
  };
}

/** Why OpenSSL refuses a cipher string or suite list, or undefined when it takes it. */
export function cipherProblem(p: Pick<TlsPolicy, 'ciphers' | 'cipherSuites' | 'minVersion'>): string | undefined {
  try {
    tls.createSecureContext({ ciphers: p.ciphers });
  } catch (e) {
    return `OpenSSL finds no cipher in "${p.ciphers}" (${(e as Error).message.replace(/^error:[0-9A-F]+:SSL routines::/, '')})`;
  }
  const bad = p.cipherSuites.split(':').filter((s) => s && !/^TLS_[A-Z0-9_]+$/.test(s));
  if (bad.length) return `"${bad.join(':')}" are not TLS 1.3 cipher suites (such as TLS_AES_128_GCM_SHA256)`;
  try {
    tls.createSecureContext({ ciphers: `${p.cipherSuites}:${p.ciphers}` });
  } catch (e) {
    return `OpenSSL refuses the TLS 1.3 suites "${p.cipherSuites}" (${(e as Error).message})`;
  }
  return undefined;
}

const WEAK_TOKENS: [RegExp, string][] = [
  [/^(ALL|COMPLEMENTOFALL|COMPLEMENTOFDEFAULT)$/i, 'every cipher, the broken ones too'],
  [/RC4/i, 'RC4 is broken'],
  [/(^|[-+])(3?DES|DES-CBC3|DES-CBC)([-+]|$)|^DES$/i, 'DES and 3DES are weak (SWEET32)'],
  [/(^|[-+])e?NULL([-+]|$)/i, 'NULL ciphers do not encrypt'],
  [/^a?NULL$|^ADH|^AECDH|^aNULL/i, 'anonymous ciphers do not authenticate the server'],
  [/EXP(ORT)?/i, 'export ciphers are broken'],
  [/(^|[-+])MD5([-+]|$)/i, 'MD5 is broken'],
  [/^LOW$|^MEDIUM$/i, 'low and medium strength ciphers are weak'],
];

/** Warnings about a policy: old protocol versions, weak ciphers. */
export function policyWarnings(p: TlsPolicy): string[] {
  return [...versionWarnings(p), ...cipherWarnings(p)];
}

/** TLS 1.0 and 1.1 enabled. */
export function versionWarnings(p: Pick<TlsPolicy, 'minVersion' | 'maxVersion'>): string[] {
  const old = versionsOf(p.minVersion, p.maxVersion).filter((v) => v === 'TLSv1' || v === 'TLSv1.1');
  return old.length ? [`${old.join(' and ')} ${old.length > 1 ? 'are' : 'is'} enabled: deprecated (RFC 8996) and refused by current browsers; use TLSv1.2 and TLSv1.3 only`] : [];
}

/** Weak ciphers the cipher string enables. */
export function cipherWarnings(p: Pick<TlsPolicy, 'ciphers'>): string[] {
  const out: string[] = [];
  const weak = new Set<string>();
  for (const token of p.ciphers.split(/[:,\s]+/)) {
    if (!token || token[0] === '!' || token[0] === '-' || token[0] === '@') continue;
    const t = token.replace(/^\+/, '');
    for (const [re, why] of WEAK_TOKENS) if (re.test(t)) weak.add(`${t} (${why})`);
  }
  if (weak.size) out.push(`the cipher list enables weak ciphers: ${[...weak].join(', ')}; the default (Mozilla intermediate) is safe`);
  return out;
}
