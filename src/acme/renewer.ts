// Keeps a certificate in service for every managed domain: the stored one when there is one (a
// restart does not contact the CA), a temporary self-signed one until the CA's first arrives, a
// renewed one before the old one leaves its renew window. Orders run one at a time, in the
// background; a failed order is tried again after a wait that doubles with each failure in a row.
// New certificates are handed to the TLS listeners at once, without a reload.
import { EventEmitter } from 'node:events';
import type { AcmeDomainModel, AcmeModel } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import { Challenges } from './challenges.js';
import { createAccountKey, orderCertificate, type OrderOptions, type OrderResult } from './order.js';
import { retryDelay, renewAt, whatIsDue } from './schedule.js';
import { CertificateStore, certificateFacts, type StoredCertificate } from './store.js';
import { temporaryCertificate } from './temporary.js';
import { readFileSync } from 'node:fs';
import { trustForCa } from './trust.js';

/** Where certificates go to be served: the TLS listeners' certificate store. */
export interface CertificateTarget {
  /** Serves `cert` for `names` from now on, in place of what was served for them before. */
  install(names: readonly string[], cert: { keyPem: string; certPem: string }, info: { temporary: boolean }): void;
  /** Stops serving the certificate of a domain that is no longer managed. */
  remove?(names: readonly string[]): void;
}

export type CertificateState = 'valid' | 'pending' | 'renewing' | 'error';

/** What the status pages, the manager and the metrics show of a managed domain. */
export interface ManagedCertificate {
  /** The domain's first name (its folder in the store). */
  name: string;
  names: string[];
  /**
   * valid: a certificate from the CA is in service; pending: the first one is being ordered;
   * renewing: a new one is being ordered while the old one serves; error: the last order failed.
   */
  state: CertificateState;
  /** A temporary self-signed certificate is served (no certificate from the CA yet). */
  temporary: boolean;
  /** The certificate in service (temporary or not). */
  notBefore?: number;
  notAfter?: number;
  issuer?: string;
  /** When the certificate from the CA is due for renewal. */
  renewAt?: number;
  /** Failed orders in a row. */
  failures: number;
  lastError?: string;
  /** When the next order is tried (after a failure, or for a renewal). */
  nextAttemptAt?: number;
  /** When stickylb last got a certificate for it from the CA. */
  issuedAt?: number;
}

interface Domain {
  key: string;
  model: AcmeDomainModel;
  /** The certificate from the CA in service, if any. */
  cert?: StoredCertificate;
  /** The certificate in service when it is a temporary one. */
  temporary?: { notBefore: number; notAfter: number; issuer: string };
  state: CertificateState;
  failures: number;
  lastError?: string;
  retryAfterMs: number;
  nextAttemptAt?: number;
  issuedAt?: number;
  /** Issuer of the certificate from the CA in service. */
  issuer?: string;
  timer?: NodeJS.Timeout;
  /** An order for it waits in the queue. */
  queued: boolean;
  /** An order for it is under way. */
  busy: boolean;
  removed: boolean;
}

export interface RenewerOptions {
  acme: AcmeModel;
  target: CertificateTarget;
  logger: Logger;
  /** The answers to the CA's challenges (the router reads them). */
  challenges?: Challenges;
  now?: () => number;
  /** One order (tests of the scheduling may pass their own; the default talks to the CA). */
  order?: (o: OrderOptions) => Promise<OrderResult>;
}

/** setTimeout takes at most 2^31-1 ms; far-off renewals are looked at again after a day. */
const MAX_TIMER_MS = 86_400_000;

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a.map((n) => n.toLowerCase()));
  return x.size === new Set(b.map((n) => n.toLowerCase())).size && b.every((n) => x.has(n.toLowerCase()));
}

function message(e: unknown): string {
  const m = (e as Error)?.message ?? String(e);
  return m.replace(/\s+/g, ' ').trim();
}

export class Renewer extends EventEmitter {
  readonly challenges: Challenges;
  private acme: AcmeModel;
  private store: CertificateStore;
  private readonly domains = new Map<string, Domain>();
  private readonly target: CertificateTarget;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly order: (o: OrderOptions) => Promise<OrderResult>;
  /** Orders run one after the other, never side by side: one account, one CA, no bursts. */
  private queue: Promise<void> = Promise.resolve();
  private running = false;
  private closed = false;

  constructor(opts: RenewerOptions) {
    super();
    this.acme = opts.acme;
    this.store = new CertificateStore(opts.acme.storeDir);
    this.target = opts.target;
    this.logger = opts.logger;
    this.challenges = opts.challenges ?? new Challenges();
    this.now = opts.now ?? Date.now;
    this.order = opts.order ?? orderCertificate;
    this.applyTrust();
  }

  /**
   * Puts a certificate in service for every domain: the stored one, else a temporary one. Orders
   * wait for `run()` (the listeners must be up to answer the CA's challenges).
   */
  async load(): Promise<void> {
    for (const model of this.acme.domains) await this.addDomain(model);
  }

  /** Starts ordering what is due, now and from then on. */
  run(): void {
    this.running = true;
    for (const d of this.domains.values()) this.schedule(d);
  }

  /** Takes a new config: new domains get certificates, removed ones are dropped, the rest go on. */
  async reload(acme: AcmeModel | undefined): Promise<void> {
    const next = acme?.domains ?? [];
    const keys = new Set(next.map((m) => m.names[0].toLowerCase()));
    for (const d of [...this.domains.values()]) {
      if (keys.has(d.key)) continue;
      this.dropDomain(d);
    }
    if (!acme) return;
    const settingsChanged = acme.directory !== this.acme.directory || acme.storeDir !== this.acme.storeDir;
    this.acme = acme;
    this.store = new CertificateStore(acme.storeDir);
    this.applyTrust();
    for (const model of next) {
      const d = this.domains.get(model.names[0].toLowerCase());
      if (d && sameNames(d.model.names, model.names) && !settingsChanged) {
        d.model = model;
        if (this.running) this.schedule(d);
        continue;
      }
      if (d) this.dropDomain(d, false);
      await this.addDomain(model);
      if (this.running) this.schedule(this.domains.get(model.names[0].toLowerCase())!);
    }
  }

  /** Stops timers; an order under way finishes, but its result is not put in service. */
  close(): void {
    this.closed = true;
    for (const d of this.domains.values()) clearTimeout(d.timer);
  }

  /** Every managed domain, for status pages and metrics. */
  list(): ManagedCertificate[] {
    return [...this.domains.values()].map((d) => this.view(d));
  }

  /** Resolves once no order is queued or under way (tests, shutdown). */
  async idle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }

  private view(d: Domain): ManagedCertificate {
    const inService = d.cert ?? d.temporary;
    return {
      name: d.key,
      names: [...d.model.names],
      state: d.state,
      temporary: !d.cert,
      notBefore: inService?.notBefore,
      notAfter: inService?.notAfter,
      issuer: d.cert ? d.issuer : d.temporary?.issuer,
      renewAt: d.cert ? renewAt(d.cert.notBefore, d.cert.notAfter, this.acme.renewWindow) : undefined,
      failures: d.failures,
      lastError: d.lastError,
      nextAttemptAt: d.nextAttemptAt,
      issuedAt: d.issuedAt,
    };
  }

  private applyTrust(): void {
    if (!this.acme.caCertificates.length) return;
    trustForCa(
      this.acme.directory,
      this.acme.caCertificates.map((f) => readFileSync(f, 'utf8')),
    );
  }

  private log(d: Domain) {
    return this.logger.child({ acme: d.key });
  }

  private async addDomain(model: AcmeDomainModel): Promise<void> {
    const key = model.names[0].toLowerCase();
    const d: Domain = { key, model, state: 'pending', failures: 0, retryAfterMs: 0, queued: false, busy: false, removed: false };
    this.domains.set(key, d);
    let stored: StoredCertificate | undefined;
    try {
      stored = await this.store.readCertificate(key);
    } catch (e) {
      this.log(d).warn({ err: e }, `the stored certificate of ${key} cannot be used (a new one is ordered): ${message(e)}`);
    }
    const now = this.now();
    if (stored && stored.notAfter > now) {
      d.cert = stored;
      d.issuer = certificateFacts(stored.certPem).issuer;
      d.state = 'valid';
      this.target.install(model.names, stored, { temporary: false });
      this.log(d).info(`serving the stored certificate of ${key}, valid until ${new Date(stored.notAfter).toISOString()}`);
      // Names or CA changed since it was issued: it serves until its successor arrives.
      if (!sameNames(stored.names, model.names) || (stored.directory && stored.directory !== this.acme.directory)) d.state = 'renewing';
    } else {
      const t = await temporaryCertificate(model.names, now);
      const f = certificateFacts(t.certPem);
      d.temporary = { notBefore: f.notBefore, notAfter: f.notAfter, issuer: f.issuer };
      this.target.install(model.names, t, { temporary: true });
      this.log(d).info(`no certificate for ${model.names.join(', ')} yet: serving a temporary self-signed one until the CA's arrives`);
    }
    this.emit('change', this.view(d));
  }

  private dropDomain(d: Domain, untarget = true): void {
    clearTimeout(d.timer);
    d.removed = true;
    this.domains.delete(d.key);
    if (untarget) this.target.remove?.(d.model.names);
  }

  /** Arms the domain's timer for its next order (or queues it now when it is due). */
  private schedule(d: Domain): void {
    clearTimeout(d.timer);
    d.timer = undefined;
    // One order per domain at a time: the one queued or under way reschedules when it ends.
    if (this.closed || d.removed || d.queued || d.busy) return;
    // A certificate whose names or CA no longer match the config is renewed at once.
    const mismatch = d.cert && (!sameNames(d.cert.names, d.model.names) || (d.cert.directory !== undefined && d.cert.directory !== this.acme.directory));
    const due =
      mismatch && d.retryAfterMs <= this.now()
        ? { action: 'renew' as const }
        : whatIsDue({
            now: this.now(),
            cert: d.cert,
            window: this.acme.renewWindow,
            retryAfterMs: d.retryAfterMs,
            issued: d.issuedAt === undefined ? undefined : { at: d.issuedAt, minAgeMs: this.acme.retryDelayMs },
          });
    if (due.action === 'wait') {
      d.nextAttemptAt = due.untilMs;
      d.timer = setTimeout(() => this.schedule(d), Math.min(Math.max(0, due.untilMs - this.now()), MAX_TIMER_MS));
      d.timer.unref();
      return;
    }
    d.nextAttemptAt = this.now();
    d.queued = true;
    this.queue = this.queue.then(() => this.attempt(d));
  }

  private async attempt(d: Domain): Promise<void> {
    d.queued = false;
    if (this.closed || d.removed) return;
    d.busy = true;
    try {
      await this.orderFor(d);
    } finally {
      d.busy = false;
    }
    this.emit('change', this.view(d));
    this.schedule(d);
  }

  /** One order for the domain: stored and put in service, or the failure counted. */
  private async orderFor(d: Domain): Promise<void> {
    const log = this.log(d);
    d.state = d.cert ? 'renewing' : 'pending';
    this.emit('change', this.view(d));
    const acme = this.acme;
    const store = this.store;
    log.info(`ordering a certificate for ${d.model.names.join(', ')} from ${acme.directory}`);
    try {
      const account = await store.readAccount(acme.directory);
      const accountKeyPem = account?.keyPem ?? (await createAccountKey());
      // The new key is on disk before the CA sees it, so the account is never lost.
      if (!account) await store.writeAccount(acme.directory, { keyPem: accountKeyPem, contact: acme.contact });
      const result = await this.order({
        directory: acme.directory,
        accountKeyPem,
        contact: acme.contact,
        agreeToTerms: acme.agreeToTerms,
        names: d.model.names,
        keyType: acme.keyType,
        challenges: this.challenges,
        challengeTypes: acme.challenges,
        log: (m) => log.debug(m),
      });
      if (account?.url !== result.accountUrl) await store.writeAccount(acme.directory, { keyPem: accountKeyPem, url: result.accountUrl, contact: acme.contact });
      if (this.closed || d.removed) return;
      const stored = await store.writeCertificate(d.key, { keyPem: result.keyPem, certPem: result.certPem, directory: acme.directory });
      d.cert = stored;
      d.issuer = certificateFacts(stored.certPem).issuer;
      d.temporary = undefined;
      d.failures = 0;
      d.lastError = undefined;
      d.retryAfterMs = 0;
      d.issuedAt = this.now();
      d.state = 'valid';
      this.target.install(d.model.names, stored, { temporary: false });
      log.info(`certificate for ${d.model.names.join(', ')} issued and in service, valid until ${new Date(stored.notAfter).toISOString()}`);
      if (renewAt(stored.notBefore, stored.notAfter, acme.renewWindow) <= d.issuedAt) {
        log.warn(`the renew window is longer than the certificate's lifetime (${Math.round((stored.notAfter - stored.notBefore) / 1000)}s): it is renewed again after ${Math.round(acme.retryDelayMs / 1000)}s, and so on`);
      }
    } catch (e) {
      if (this.closed || d.removed) return;
      d.failures++;
      d.lastError = message(e);
      const wait = retryDelay(d.failures, acme.retryDelayMs);
      d.retryAfterMs = this.now() + wait;
      d.state = 'error';
      const serving = d.cert ? `the current certificate serves until ${new Date(d.cert.notAfter).toISOString()}` : 'the temporary certificate serves meanwhile';
      log.error({ err: e }, `ordering a certificate for ${d.model.names.join(', ')} failed (${d.failures} in a row; next try in ${Math.round(wait / 1000)}s; ${serving}): ${d.lastError}`);
    }
  }
}
