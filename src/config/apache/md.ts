// mod_md's directives (automatic certificates from an ACME CA) to the raw config's `acme` object:
// MDomain, <MDomainSet> with MDMember, MDCertificateAuthority, MDContactEmail (else ServerAdmin),
// MDCertificateAgreement, MDStoreDir, MDRenewWindow, MDPrivateKeys, MDCAChallenges, MDRetryDelay,
// MDMembers. Settings apply to every managed domain (stickylb has one ACME account per CA).
import type { Diagnostic } from '../diagnostics.js';
import type { Loc, Located } from './access.js';
import type { Directive } from './syntax.js';
import type { RawBuilder } from './raw-builder.js';
import { acmeNameProblem, KNOWN_CAS } from '../../acme/cas.js';

const USAGE: Record<string, string> = {
  MDomain: 'MDomain NAME [NAME …] [auto|manual]',
  MDMember: 'MDMember NAME [NAME …] (inside <MDomainSet>)',
  MDCertificateAuthority: 'MDCertificateAuthority URL|letsencrypt|letsencrypt-test|buypass|buypass-test',
  MDContactEmail: 'MDContactEmail ADDRESS',
  MDCertificateAgreement: 'MDCertificateAgreement accepted',
  MDStoreDir: 'MDStoreDir DIRECTORY',
  MDRenewWindow: 'MDRenewWindow 33%|21d|12h',
  MDPrivateKeys: 'MDPrivateKeys RSA [2048|3072|4096] | secp256r1 | secp384r1',
  MDCAChallenges: 'MDCAChallenges tls-alpn-01|http-01 [tls-alpn-01|http-01]',
  MDRetryDelay: 'MDRetryDelay 5s|1m|…',
  MDMembers: 'MDMembers auto|manual',
  MDRequireHttps: 'MDRequireHttps off|temporary|permanent',
};

/** Directive names, lower case, to their canonical spelling. */
const NAMES = new Map(Object.keys(USAGE).map((n) => [n.toLowerCase(), n]));

export function isMdDirective(name: string): boolean {
  return NAMES.has(name.toLowerCase());
}

const locOf = (d: Directive): Loc => ({ file: d.file, line: d.line, directive: d.name });

export class MdCollector {
  private readonly domains: Located<{ names: string[]; auto?: boolean }>[] = [];
  private readonly settings = new Map<string, Located<unknown>>();
  private serverAdmin?: Located<string>;
  /** ServerAdmin of each virtual host, with its names (known once the host is read). */
  private readonly vhostAdmins: { names: () => string[]; admin: Located<string> }[] = [];
  private membersAuto = true;
  private requireHttps?: Located<'temporary' | 'permanent'>;
  /** MDCAChallenges: the types stickylb answers, in the order given. */
  private challenges?: Located<('http-01' | 'tls-alpn-01')[]>;

  constructor(private readonly diagnostics: Diagnostic[]) {}

  private diag(d: Directive | Loc, severity: Diagnostic['severity'], message: string, code: string): void {
    const at = 'args' in d ? locOf(d) : d;
    this.diagnostics.push({ severity, file: at.file, line: at.line, directive: at.directive, message, code });
  }

  private invalid(d: Directive, canonical: string, what: string): void {
    this.diag(d, 'error', `${canonical}${d.args.length ? ` ${d.args.join(' ')}` : ''}: ${what} (expected ${USAGE[canonical]})`, 'invalid-value');
  }

  private set(key: string, value: unknown, d: Directive): void {
    this.settings.set(key, { value, at: locOf(d) });
  }

  /** Remembers the ServerAdmin of the main server, or of the virtual host with these names. */
  serverAdminOf(d: Directive, vhostNames?: () => string[]): void {
    if (d.args.length !== 1) return;
    const admin = { value: d.args[0].replace(/^mailto:/i, ''), at: locOf(d) };
    if (vhostNames) this.vhostAdmins.push({ names: vhostNames, admin });
    else this.serverAdmin = admin;
  }

  /** Reads one mod_md directive (isMdDirective said yes). */
  read(d: Directive, inVhost: boolean): void {
    const name = NAMES.get(d.name.toLowerCase())!;
    // The parser said where it belongs (the main server, as in mod_md).
    if (inVhost) return;
    const one = (): string | undefined => {
      if (d.args.length === 1) return d.args[0];
      this.invalid(d, name, d.args.length ? 'takes one argument' : 'needs one argument');
      return undefined;
    };
    switch (name) {
      case 'MDomain':
        return this.domain(d, d.args);
      case 'MDMember':
        this.diag(d, 'error', 'MDMember is used inside <MDomainSet NAME> only', 'wrong-context');
        return;
      case 'MDCertificateAuthority': {
        if (d.args.length > 1) {
          this.invalid(d, name, 'stickylb uses one CA; give one URL or name (mod_md tries several in turn)');
          return;
        }
        const v = one();
        if (v === undefined) return;
        // A known CA keeps its name (resolve.ts knows its URL).
        if (KNOWN_CAS[v.toLowerCase()]) return this.set('directory', v.toLowerCase(), d);
        if (!/^https?:\/\/[^/\s]+/i.test(v)) return this.invalid(d, name, `"${v}" is no URL and no CA name stickylb knows (${Object.keys(KNOWN_CAS).join(', ')})`);
        return this.set('directory', v, d);
      }
      case 'MDContactEmail': {
        const v = one();
        if (v !== undefined) this.set('contact', v.replace(/^mailto:/i, ''), d);
        return;
      }
      case 'MDCertificateAgreement': {
        const v = one();
        if (v === undefined) return;
        // mod_md 1.x took the terms' URL here; both mean "accepted".
        if (v.toLowerCase() === 'accepted' || /^https?:\/\//i.test(v)) this.set('agreeToTerms', true, d);
        else this.invalid(d, name, `"${v}" is not "accepted"`);
        return;
      }
      case 'MDStoreDir': {
        const v = one();
        if (v !== undefined) this.set('storeDir', v, d);
        return;
      }
      case 'MDRenewWindow': {
        const v = one();
        if (v === undefined) return;
        // mod_md reads a bare number as days.
        const text = /^\d+(\.\d+)?$/.test(v) ? `${v}d` : v;
        if (!/^\d+(\.\d+)?\s*(%|ms|s|mi|m|h|d)$/i.test(text)) return this.invalid(d, name, `"${v}" is not a share of the lifetime (33%) or a time (21d, 12h)`);
        return this.set('renewWindow', text, d);
      }
      case 'MDRetryDelay': {
        const v = one();
        if (v === undefined) return;
        const m = /^(\d+(?:\.\d+)?)\s*(ms|s|mi|m|h|d)?$/i.exec(v);
        if (!m) return this.invalid(d, name, `"${v}" is not a time`);
        const unit = (m[2] ?? 's').toLowerCase();
        const seconds = Number(m[1]) * ({ ms: 0.001, s: 1, mi: 60, m: 60, h: 3600, d: 86400 } as Record<string, number>)[unit];
        return this.set('retryDelay', seconds, d);
      }
      case 'MDPrivateKeys': {
        const words = d.args.map((a) => a.toLowerCase());
        const key =
          words[0] === 'rsa' && words.length <= 2
            ? ({ undefined: 'rsa2048', '2048': 'rsa2048', '3072': 'rsa3072', '4096': 'rsa4096' } as Record<string, string>)[String(words[1])]
            : words.length === 1
              ? ({ secp256r1: 'p256', 'p-256': 'p256', secp384r1: 'p384', 'p-384': 'p384' } as Record<string, string>)[words[0]]
              : undefined;
        if (!key) return this.invalid(d, name, 'one key type: RSA 2048, 3072 or 4096, secp256r1 or secp384r1 (several key types per domain are not supported)');
        return this.set('keyType', key, d);
      }
      case 'MDCAChallenges': {
        if (!d.args.length) return this.invalid(d, name, 'needs a challenge type');
        // stickylb answers http-01 (on every listener) and tls-alpn-01 (on the TLS listeners).
        const types = d.args.map((a) => a.toLowerCase());
        const answered = [...new Set(types.filter((t): t is 'http-01' | 'tls-alpn-01' => t === 'http-01' || t === 'tls-alpn-01'))];
        const others = types.filter((t) => t !== 'http-01' && t !== 'tls-alpn-01');
        if (!answered.length) return this.invalid(d, name, `stickylb answers the http-01 and tls-alpn-01 challenges (not ${others.join(', ')})`);
        if (others.length) this.diag(d, 'warning', `MDCAChallenges: stickylb answers http-01 and tls-alpn-01 (${others.join(', ')} is not used)`, 'unsupported-value');
        this.challenges = { value: answered, at: locOf(d) };
        return;
      }
      case 'MDRequireHttps': {
        const v = one()?.toLowerCase();
        if (v === 'temporary' || v === 'permanent') this.requireHttps = { value: v, at: locOf(d) };
        else if (v === 'off') this.requireHttps = undefined;
        else if (v !== undefined) this.invalid(d, name, `"${d.args[0]}" is not off, temporary or permanent`);
        return;
      }
      case 'MDMembers': {
        const v = one()?.toLowerCase();
        if (v === 'auto') this.membersAuto = true;
        else if (v === 'manual') this.membersAuto = false;
        else if (v !== undefined) this.invalid(d, name, `"${d.args[0]}" is not auto or manual`);
        return;
      }
    }
  }

  /** <MDomainSet NAME …> with MDMember lines inside. */
  section(d: Directive): void {
    const names = [...d.args];
    for (const c of d.children ?? []) {
      if (c.children) {
        this.diag(c, 'error', `<${c.name}> cannot be used inside <MDomainSet>`, 'wrong-context');
        continue;
      }
      const n = c.name.toLowerCase();
      if (n === 'mdmember') {
        if (!c.args.length) this.invalid(c, 'MDMember', 'needs a name');
        names.push(...c.args);
      } else if (isMdDirective(n)) {
        this.diag(c, 'error', `${NAMES.get(n)} inside <MDomainSet>: stickylb takes mod_md settings for every domain at once; put it in the main server`, 'unsupported-value');
      } else {
        this.diag(c, 'error', `${c.name} cannot be used inside <MDomainSet> (MDMember only)`, 'wrong-context');
      }
    }
    this.domain(d, names, 'MDomainSet');
  }

  private domain(d: Directive, args: string[], what = 'MDomain'): void {
    const words = [...args];
    const mode = words.length > 1 ? words[words.length - 1].toLowerCase() : undefined;
    // The last word may say whether the names of the virtual hosts that use the domain join it.
    let auto: boolean | undefined;
    if (mode === 'auto' || mode === 'manual') {
      words.pop();
      auto = mode === 'auto';
    }
    if (!words.length) return this.invalid(d, what === 'MDomain' ? 'MDomain' : 'MDMember', 'needs a name');
    const names: string[] = [];
    for (const w of words) {
      const n = w.toLowerCase().replace(/\.$/, '');
      const problem = acmeNameProblem(n);
      if (problem) return this.invalid(d, 'MDomain', `${w}: ${problem}`);
      if (!names.includes(n)) names.push(n);
    }
    this.domains.push({ value: { names, auto }, at: locOf(d) });
  }

  /**
   * Writes `acme` into the raw config when a domain is managed. `sites` are the main server and
   * the virtual hosts, with their names (ServerName first), for MDMembers auto (a host that
   * answers to one of a domain's names brings its other names into the domain) and for
   * MDRequireHttps (the hosts of managed names redirect plain HTTP to HTTPS).
   */
  /**
   * Writes the raw config's `acme` object. `acmeTls`: where a Protocols line lists acme-tls/1, as
   * mod_md requires for TLS-ALPN-01.
   */
  emit(out: RawBuilder, sites: { base: (string | number)[]; names: string[] }[], acmeTls?: Loc): void {
    const vhosts = sites.map((s) => s.names);
    if (!this.domains.length) {
      for (const [key, v] of this.settings) {
        this.diag(v.at, 'warning', `${v.at.directive}: no MDomain, so no certificate is managed (${key} is unused)`, 'md-unused');
      }
      if (this.challenges) this.diag(this.challenges.at, 'warning', 'MDCAChallenges: no MDomain, so no certificate is managed (challenges is unused)', 'md-unused');
      if (this.requireHttps) this.diag(this.requireHttps.at, 'warning', 'MDRequireHttps: no MDomain, so nothing is redirected', 'md-unused');
      return;
    }
    const taken = new Map<string, Loc>();
    const domains = this.domains.map((dom) => {
      const names = [...dom.value.names];
      if (dom.value.auto ?? this.membersAuto) {
        for (const host of vhosts) {
          if (!host.some((n) => names.includes(n.toLowerCase()))) continue;
          for (const n of host) {
            const l = n.toLowerCase();
            // Wildcard aliases cannot be in a certificate from HTTP-01; they keep no certificate.
            if (!l.includes('*') && !l.includes('?') && !names.includes(l)) names.push(l);
          }
        }
      }
      for (const n of names) {
        const before = taken.get(n);
        if (before) this.diag(dom.at, 'error', `MDomain: ${n} is already managed by the MDomain at ${before.file}:${before.line}; a name can be in one managed domain only`, 'md-duplicate');
        else taken.set(n, dom.at);
      }
      return { names, at: dom.at };
    });
    const first = domains[0].at;
    out.set(['acme'], {}, first);
    domains.forEach((dom, i) => out.set(['acme', 'domains', i], dom.names, dom.at));
    for (const [key, v] of this.settings) out.set(['acme', key], v.value, v.at);
    this.emitChallenges(out, acmeTls);
    if (this.requireHttps) {
      // mod_md: temporary is a 302; permanent a 301 with HSTS for half a year. The CA's challenge
      // requests are still answered over plain HTTP. The main server's settings reach every virtual
      // host, so with virtual hosts only theirs get it.
      const r = this.requireHttps;
      const targets = sites.length > 1 ? sites.slice(1) : sites;
      for (const site of targets) {
        if (!site.names.some((n) => taken.has(n.toLowerCase()))) continue;
        out.set([...site.base, 'redirectToHttps'], { status: r.value === 'permanent' ? 301 : 302 }, r.at);
        if (r.value === 'permanent') out.set([...site.base, 'hsts'], 'max-age=15768000', r.at);
      }
    }
    if (!this.settings.has('contact')) {
      const admin = this.serverAdmin ?? this.vhostAdmins.find((v) => v.names().some((n) => taken.has(n.toLowerCase())))?.admin;
      if (admin) {
        out.set(['acme', 'contact'], admin.value, admin.at);
        // Not ignored after all: it is the ACME contact.
        const i = this.diagnostics.findIndex((x) => x.code === 'ignored-directive' && x.file === admin.at.file && x.line === admin.at.line);
        if (i >= 0) this.diagnostics.splice(i, 1);
        this.diag(admin.at, 'info', `ServerAdmin ${admin.value} is the contact of the ACME account (no MDContactEmail)`, 'md-contact');
      }
    }
  }

  /**
   * The challenge types, as mod_md chooses them: those MDCAChallenges lists (default: tls-alpn-01,
   * then http-01), tls-alpn-01 only where a Protocols line offers acme-tls/1.
   */
  private emitChallenges(out: RawBuilder, acmeTls: Loc | undefined): void {
    const c = this.challenges;
    if (c === undefined) {
      // mod_md's default list starts with tls-alpn-01, which it uses once Protocols allows it.
      if (acmeTls) {
        out.set(['acme', 'challenges'], ['tls-alpn-01', 'http-01'], acmeTls);
        this.diag(acmeTls, 'info', 'Protocols … acme-tls/1: the CA may validate the managed names with tls-alpn-01 on the TLS listeners (port 443 for the CA), else http-01, as mod_md does', 'md-challenges');
      }
      return;
    }
    let types = c.value;
    if (types.includes('tls-alpn-01') && !acmeTls) {
      types = types.filter((t) => t !== 'tls-alpn-01');
      if (!types.length) {
        this.diag(c.at, 'error', `MDCAChallenges ${c.value.join(' ')}: tls-alpn-01 needs acme-tls/1 in a Protocols line (Protocols h2 http/1.1 acme-tls/1), as in mod_md; add it, or answer http-01`, 'invalid-value');
        return;
      }
      this.diag(c.at, 'warning', `MDCAChallenges: tls-alpn-01 needs acme-tls/1 in a Protocols line, as in mod_md; only ${types.join(', ')} is answered`, 'md-challenges');
    }
    out.set(['acme', 'challenges'], types, c.at);
  }
}
