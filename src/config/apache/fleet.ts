// stickylb's own directives for a fleet of balancers, and members found by DNS, to the raw
// config's `fleet`, `resolver` and a balancer's `dns`:
//   StickylbFleet redis://host:6379 name=NAME [password=… passwordfile=… cafile=… id=… …]
//   StickylbResolver ADDRESS[:PORT] …
//   BalancerMember http://_http._tcp.app.NS.svc.cluster.local discover=srv [member parameters …]
//   BalancerMember http://app.NS.svc.cluster.local:8080 discover=dns [member parameters …]
// Apache has none of these (httpd resolves a member's name once); docs/apache-migration.md lists them.
import type { Diagnostic } from '../diagnostics.js';
import type { Loc, Located } from './access.js';
import type { Param } from './params.js';
import type { Directive } from './syntax.js';
import type { RawBuilder } from './raw-builder.js';
import { duration } from './values.js';
import { REDIS_URL } from '../fleet-schema.js';

const USAGE: Record<string, string> = {
  StickylbFleet: 'StickylbFleet redis://[user:password@]host[:port][/db] name=NAME [password=… passwordfile=FILE cafile=FILE id=ID address=… heartbeat=SECONDS peertimeout=SECONDS lease=SECONDS ackwait=SECONDS health=local|shared prefix=…]',
  StickylbResolver: 'StickylbResolver ADDRESS[:PORT] …',
};

/** Their specs for the directives table: where they belong and their usage. */
export const FLEET_DIRECTIVES: [string, ['main'], string][] = Object.entries(USAGE).map(([name, usage]) => [name, ['main'], usage]);

const NAMES = new Map(Object.keys(USAGE).map((n) => [n.toLowerCase(), n]));

export function isFleetDirective(name: string): boolean {
  return NAMES.has(name.toLowerCase());
}

/** StickylbFleet's key=value words: name in the directive (lower case) → field of `fleet`, kind. */
const FLEET_PARAMS: Record<string, [string, 'string' | 'duration' | 'health']> = {
  name: ['name', 'string'],
  prefix: ['prefix', 'string'],
  password: ['password', 'string'],
  passwordfile: ['passwordFile', 'string'],
  username: ['username', 'string'],
  cafile: ['caFile', 'string'],
  id: ['id', 'string'],
  address: ['address', 'string'],
  heartbeat: ['heartbeat', 'duration'],
  peertimeout: ['peerTimeout', 'duration'],
  lease: ['lease', 'duration'],
  ackwait: ['ackWait', 'duration'],
  health: ['health', 'health'],
};

const DISCOVER: Record<string, string> = { srv: 'SRV', dns: 'A+AAAA', a: 'A', aaaa: 'AAAA' };

const locOf = (d: Directive): Loc => ({ file: d.file, line: d.line, directive: d.name });

export class FleetCollector {
  private fleet?: Located<Record<string, unknown>>;
  private resolver?: Located<string[]>;
  /** Balancer name → DNS sources from BalancerMember … discover=. */
  private readonly dns = new Map<string, Located<Record<string, unknown>>[]>();

  constructor(private readonly diagnostics: Diagnostic[]) {}

  private diag(d: Directive, severity: Diagnostic['severity'], message: string, code: string): void {
    this.diagnostics.push({ severity, file: d.file, line: d.line, directive: d.name, message, code });
  }

  private invalid(d: Directive, what: string): void {
    const name = NAMES.get(d.name.toLowerCase()) ?? d.name;
    this.diag(d, 'error', `${name}${d.args.length ? ` ${d.args.join(' ')}` : ''}: ${what} (expected ${USAGE[name] ?? name})`, 'invalid-value');
  }

  read(d: Directive, inVhost: boolean): void {
    const name = NAMES.get(d.name.toLowerCase())!;
    // One fleet and one resolver per balancer: the main server's.
    if (inVhost) return this.invalid(d, 'belongs to the main server, not a <VirtualHost>');
    if (name === 'StickylbResolver') {
      if (!d.args.length) return this.invalid(d, 'needs at least one server address');
      this.resolver = { value: d.args, at: locOf(d) };
      return;
    }
    const [url, ...words] = d.args;
    if (!url || !REDIS_URL.test(url)) return this.invalid(d, url ? `"${url}" is not a redis:// or rediss:// URL` : 'needs the Redis URL');
    const out: Record<string, unknown> = { redis: url };
    for (const w of words) {
      const eq = w.indexOf('=');
      const key = eq > 0 ? w.slice(0, eq).toLowerCase() : '';
      const spec = Object.hasOwn(FLEET_PARAMS, key) ? FLEET_PARAMS[key] : undefined;
      if (!spec) {
        this.diag(d, 'error', `StickylbFleet: unknown parameter "${w}" (parameters: ${Object.keys(FLEET_PARAMS).join(', ')})`, 'unknown-parameter');
        continue;
      }
      const raw = w.slice(eq + 1);
      if (spec[1] === 'duration') {
        const v = duration(raw);
        if (v === undefined) this.diag(d, 'error', `StickylbFleet: ${key}=${raw} is not a duration (seconds, or 500ms, 5m)`, 'invalid-value');
        else out[spec[0]] = v;
      } else if (spec[1] === 'health') {
        if (!/^(local|shared)$/i.test(raw)) this.diag(d, 'error', `StickylbFleet: health=${raw} must be local or shared`, 'invalid-value');
        else out.health = raw.toLowerCase();
      } else out[spec[0]] = raw;
    }
    if (out.name === undefined) return this.invalid(d, 'needs name=NAME (balancers with the same name share one state)');
    this.fleet = { value: out, at: locOf(d) };
  }

  /**
   * Takes a BalancerMember line with discover=: its URL names a DNS name, its other parameters
   * are the settings of every member found. Returns false for ordinary members.
   */
  member(d: Directive, balancer: string, url: string, params: Param[]): boolean {
    const discover = params.find((p) => p.key === 'discover');
    if (!discover) return false;
    const kind = DISCOVER[String(discover.value).toLowerCase()];
    if (!kind) {
      this.diag(d, 'error', `BalancerMember: discover=${String(discover.value)} is not one of srv, dns, a, aaaa`, 'invalid-value');
      return true;
    }
    const m = /^(https?):\/\/([^/:\s]+)(?::(\d+))?(\/\S*)?$/i.exec(url);
    if (!m) {
      this.diag(d, 'error', `BalancerMember ${url} discover=${String(discover.value)}: the URL must be http(s)://DNS-NAME[:PORT][/path]`, 'invalid-value');
      return true;
    }
    const [, scheme, name, port, path] = m;
    const source: Record<string, unknown> = { name, type: kind, scheme: scheme.toLowerCase() };
    if (port) source.port = Number(port);
    if (path && path !== '/') source.path = path;
    const member: Record<string, unknown> = {};
    for (const p of params) {
      if (p.key === 'discover') continue;
      if (p.key === 'route' || p.key === 'redirect') {
        this.diag(d, 'error', `BalancerMember … discover=: ${p.key}= cannot be set here: each member found gets its route from its DNS name (or address)`, 'invalid-value');
        continue;
      }
      let at = member;
      const keys = p.key.split('.');
      for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
      at[keys[keys.length - 1]] = p.value;
    }
    if (Object.keys(member).length) source.member = member;
    const list = this.dns.get(balancer) ?? [];
    list.push({ value: source, at: locOf(d) });
    this.dns.set(balancer, list);
    return true;
  }

  emit(out: RawBuilder): void {
    if (this.fleet) out.set(['fleet'], this.fleet.value, this.fleet.at);
    if (this.resolver) out.set(['resolver'], { servers: this.resolver.value }, this.resolver.at);
    for (const [balancer, list] of this.dns) {
      list.forEach((s, i) => out.set(['balancers', balancer, 'dns', i], s.value, s.at));
    }
  }
}
