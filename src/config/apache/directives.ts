// What the Apache front end knows about each directive and section: where httpd allows it, the
// accepted form, and what stickylb does with it: reads it (the entry's reader says how), ignores
// it (meaningless to a balancer) or cannot honour it. Adding a directive is one entry in `table`.
import type { Diagnostic } from '../diagnostics.js';
import { FLEET_DIRECTIVES } from './fleet.js';
import type { Loc, Located } from './access.js';
import type { Param, ParamTarget } from './params.js';
import { SSL_IGNORED, sslHandlers, type SslAcc } from './ssl.js';
import type { Directive } from './syntax.js';
import { integer, onOff } from './values.js';

/** Where a directive may appear, after httpd's contexts. */
export type Context = 'main' | 'vhost' | 'directory' | 'location' | 'proxy' | 'files';

export type Kind = 'supported' | 'ignored' | 'unsupported';

export interface DirectiveSpec {
  /** Canonical spelling, used in messages. */
  name: string;
  /** Contexts httpd allows it in; undefined means anywhere. */
  contexts?: readonly Context[];
  kind: Kind;
  /** Why it is ignored or unsupported. */
  note?: string;
  /** The accepted form, for error messages. */
  usage?: string;
  /** Reads the directive into the config being converted (to-config.ts calls it). */
  read?: DirectiveRead;
  /**
   * Supported directives read elsewhere: by the parser (Include, Define), with their section
   * (access rules), by md.ts (mod_md), by edge-sections.ts (mod_remoteip, request limits) or by
   * fleet.ts (StickylbFleet, StickylbResolver).
   */
  readBy?: 'parser' | 'section' | 'md' | 'edge' | 'fleet';
}

export type DirectiveRead = (r: Conversion, d: Directive, s: ReadScope) => void;

/** The settings of the main server or of a <VirtualHost> that readers set directly. */
export interface SiteSettings {
  serverName?: Located<string>;
  serverAliases: Located<string>[];
  preserveHost?: Located<boolean>;
  cookiePath: Located<{ from: string; to: string }>[];
  cookieDomain: Located<{ from: string; to: string }>[];
  static?: Located<string>;
  accessLog: Located<{ path: string; format?: string }>[];
  growth?: Located<number>;
  /** TLS, Protocols, Redirect and HSTS lines (ssl.ts). */
  ssl: SslAcc;
}

/** Where a directive stands: its server, and the <Location> or <Proxy> around it. */
export interface ReadScope {
  site: SiteSettings;
  location?: { path: string; at: Loc; handler?: Located<string> };
  proxy?: { url: string; balancer?: string };
}

/** What a reader gets from the conversion (to-config.ts): its diagnostics and the config being built. */
export interface Conversion {
  diag(d: Directive | Loc, severity: Diagnostic['severity'], message: string, code: string): void;
  /** An error naming the directive's accepted form. */
  invalid(d: Directive, what: string): void;
  /** False (and an error) when the directive has fewer than min or more than max arguments. */
  wantArgs(d: Directive, min: number, max: number): boolean;
  /** The one On/Off argument. */
  flag(d: Directive): boolean | undefined;
  /** The one duration argument (seconds unless a unit is given). */
  seconds(d: Directive): number | string | undefined;
  /** key=value parameters of a member, balancer or health check. */
  params(d: Directive, words: string[], target: ParamTarget): Param[];
  /** A top-level setting (timeout, proxyStatus, persist, …); undefined sets nothing. */
  setGlobal(key: string, value: unknown, d: Directive): void;
  setErrorLog(key: 'path' | 'level', value: string, d: Directive, s: ReadScope): void;
  readonly listen: Located<string | number>[];
  /** Listen lines that say `https`. */
  readonly httpsListen: Set<Located<string | number>>;
  readonly logFormats: Map<string, Located<string>>;
  /** The format of a LogFormat without a nickname (TransferLog uses it). */
  defaultLogFormat?: string;
  readonly healthExpressions: Map<string, Located<string>>;
  readonly healthTemplates: Map<string, Located<Param[]>>;
  /** Cookies of the ROUTEID recipe (Header add Set-Cookie "NAME=.%{BALANCER_WORKER_ROUTE}e"). */
  readonly routeCookies: Located<string>[];
  proxyPass(d: Directive, s: ReadScope, isMatch: boolean): void;
  proxyPassReverse(d: Directive, s: ReadScope): void;
  balancerMember(d: Directive, s: ReadScope): void;
  proxySet(d: Directive, s: ReadScope): void;
}

export interface SectionSpec {
  name: string;
  /** The context the section opens; 'transparent' sections leave the context as it is. */
  opens: Context | 'transparent';
  contexts: readonly Context[];
  /** Sections a missing close tag can be detected for (the parser closes them when it must). */
  closable: boolean;
  usage: string;
}

const SV: readonly Context[] = ['main', 'vhost'];
const DIR: readonly Context[] = ['directory', 'location', 'proxy', 'files'];
const SVD: readonly Context[] = [...SV, ...DIR];

const locOf = (d: Directive): Loc => ({ file: d.file, line: d.line, directive: d.name });

const LOG_LEVELS = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug', 'trace'];

function supported(name: string, contexts: readonly Context[] | undefined, usage: string, read: DirectiveRead | NonNullable<DirectiveSpec['readBy']>): DirectiveSpec {
  return typeof read === 'function' ? { name, contexts, kind: 'supported', usage, read } : { name, contexts, kind: 'supported', usage, readBy: read };
}

function ignored(name: string, contexts?: readonly Context[], note = 'meaningless to a balancer'): DirectiveSpec {
  return { name, contexts, kind: 'ignored', note };
}

function unsupported(name: string, note: string, read?: DirectiveRead): DirectiveSpec {
  return { name, kind: 'unsupported', note, read };
}

/** mod_ssl's, mod_http2's and mod_alias's directives, read by ssl.ts into the server's TLS settings. */
const tls: DirectiveRead = (r, d, s) => sslHandlers[d.name](r, d, s.site.ssl, s.location?.path);

/** Every directive the front end knows, supported ones first. */
const table: DirectiveSpec[] = [
  supported('Listen', ['main'], 'Listen [ADDRESS:]PORT', (r, d) => {
    if (!r.wantArgs(d, 1, 2)) return;
    const a = d.args[0];
    if (/^\d{1,5}$/.test(a)) r.listen.push({ value: Number(a), at: locOf(d) });
    else if (/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(a)) r.listen.push({ value: a, at: locOf(d) });
    else return r.invalid(d, `"${a}" is not PORT or ADDRESS:PORT`);
    const proto = d.args[1]?.toLowerCase();
    if (proto === 'https') r.httpsListen.add(r.listen[r.listen.length - 1]);
    else if (proto && proto !== 'http') r.invalid(d, `protocol ${d.args[1]} is not supported (accepted: http, https)`);
  }),
  supported('ServerName', SV, 'ServerName HOSTNAME', (r, d, s) => {
    if (!r.wantArgs(d, 1, 1)) return;
    const name = d.args[0].replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/:\d+$/, '');
    s.site.serverName = { value: name, at: locOf(d) };
  }),
  supported('ServerAlias', SV, 'ServerAlias HOSTNAME …', (r, d, s) => {
    if (!r.wantArgs(d, 1, Infinity)) return;
    for (const a of d.args) s.site.serverAliases.push({ value: a, at: locOf(d) });
  }),
  supported('ProxyRequests', SV, 'ProxyRequests On|Off', (r, d) => r.setGlobal('proxyRequests', r.flag(d), d)),
  supported('ProxyPreserveHost', SV, 'ProxyPreserveHost On|Off', (r, d, s) => {
    const v = r.flag(d);
    if (v !== undefined) s.site.preserveHost = { value: v, at: locOf(d) };
  }),
  supported('ProxyStatus', SV, 'ProxyStatus On|Off|Full', (r, d) => {
    if (!r.wantArgs(d, 1, 1)) return;
    const v = d.args[0].toLowerCase() === 'full' ? true : onOff(d.args[0]);
    if (v === undefined) return r.invalid(d, `"${d.args[0]}" is not On, Off or Full`);
    r.setGlobal('proxyStatus', v, d);
  }),
  supported('ProxyPass', [...SV, 'location'], 'ProxyPass /path balancer://name/ [key=value …], ProxyPass /path http://host:port/ [key=value …] or ProxyPass /path !', (r, d, s) => r.proxyPass(d, s, false)),
  supported('ProxyPassMatch', SV, 'ProxyPassMatch REGEX balancer://name/$1 [key=value …] or ProxyPassMatch REGEX !', (r, d, s) => r.proxyPass(d, s, true)),
  supported('ProxyPassReverse', [...SV, 'location', 'directory'], 'ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/', (r, d, s) => r.proxyPassReverse(d, s)),
  supported('ProxyPassReverseCookiePath', SVD, 'ProxyPassReverseCookiePath INTERNAL-PATH PUBLIC-PATH', (r, d, s) => {
    if (r.wantArgs(d, 2, 3)) s.site.cookiePath.push({ value: { from: d.args[0], to: d.args[1] }, at: locOf(d) });
  }),
  supported('ProxyPassReverseCookieDomain', SVD, 'ProxyPassReverseCookieDomain INTERNAL-DOMAIN PUBLIC-DOMAIN', (r, d, s) => {
    if (r.wantArgs(d, 2, 3)) s.site.cookieDomain.push({ value: { from: d.args[0], to: d.args[1] }, at: locOf(d) });
  }),
  supported('BalancerMember', [...SV, 'proxy'], 'BalancerMember [balancer://name] http://host:port [key=value …]', (r, d, s) => r.balancerMember(d, s)),
  supported('ProxySet', [...SV, 'proxy'], 'ProxySet [balancer://name|http://host:port] key=value …', (r, d, s) => r.proxySet(d, s)),
  supported('SetHandler', DIR, 'SetHandler balancer-manager|server-status', (r, d, s) => {
    if (!r.wantArgs(d, 1, 1)) return;
    const v = d.args[0].toLowerCase();
    if (!s.location) {
      // Outside any section the parser has already said where SetHandler belongs.
      if (s.proxy) r.diag(d, 'warning', `SetHandler ${d.args[0]}: handlers are supported inside <Location /path> only (ignored)`, 'unsupported-value');
    } else if (v === 'balancer-manager' || v === 'server-status' || v === 'metrics') {
      s.location.handler = { value: v, at: locOf(d) };
    } else if (v !== 'none') {
      r.diag(d, 'warning', `SetHandler ${d.args[0]}: not supported (ignored; supported: balancer-manager, server-status)`, 'unsupported-value');
    }
  }),
  supported('Order', DIR, 'Order Deny,Allow|Allow,Deny|Mutual-failure', 'section'),
  supported('Allow', DIR, 'Allow from all|HOST|IP|IP/CIDR …', 'section'),
  supported('Deny', DIR, 'Deny from all|HOST|IP|IP/CIDR …', 'section'),
  supported('Require', DIR, 'Require [not] all granted|all denied|local|ip IP …|host HOST …|forward-dns NAME …|valid-user|user NAME …|group NAME …|method METHOD …', 'section'),
  supported('AuthGroupFile', DIR, 'AuthGroupFile FILE', 'edge'),
  supported('AuthMerging', DIR, 'AuthMerging Off|And|Or', 'edge'),
  supported('Satisfy', DIR, 'Satisfy All|Any', 'section'),
  supported('AuthType', DIR, 'AuthType Basic', 'section'),
  supported('AuthName', DIR, 'AuthName "REALM"', 'section'),
  supported('AuthUserFile', DIR, 'AuthUserFile FILE', 'section'),
  supported('DocumentRoot', SV, 'DocumentRoot DIRECTORY', (r, d, s) => {
    if (r.wantArgs(d, 1, 1)) s.site.static = { value: d.args[0], at: locOf(d) };
  }),
  supported('ErrorLog', SV, 'ErrorLog FILE', (r, d, s) => {
    if (!r.wantArgs(d, 1, 1)) return;
    const p = d.args[0];
    if (p.startsWith('|') || /^syslog(:|$)/i.test(p)) {
      r.diag(d, 'warning', `ErrorLog ${p}: piped and syslog error logs are not supported (ignored; give a file, or "-" for standard output)`, 'unsupported-value');
      return;
    }
    r.setErrorLog('path', p, d, s);
  }),
  supported('LogLevel', SVD, 'LogLevel emerg|alert|crit|error|warn|notice|info|debug|trace1…trace8', (r, d, s) => {
    if (!r.wantArgs(d, 1, Infinity)) return;
    const plain = d.args.filter((a) => !a.includes(':'));
    const perModule = d.args.filter((a) => a.includes(':'));
    if (perModule.length) r.diag(d, 'info', `LogLevel ${perModule.join(' ')}: per-module levels are ignored`, 'ignored-value');
    if (!plain.length) return;
    const level = plain[plain.length - 1].toLowerCase().replace(/^trace[1-8]$/, 'trace');
    if (!LOG_LEVELS.includes(level)) return r.invalid(d, `"${plain[plain.length - 1]}" is not a log level`);
    if (s.location) r.diag(d, 'info', `LogLevel inside <Location ${s.location.path}>: stickylb has one log level, set for the whole server`, 'scope-widened');
    r.setErrorLog('level', level, d, s);
  }),
  supported('LogFormat', SV, 'LogFormat "FORMAT" NICKNAME', (r, d) => {
    if (!r.wantArgs(d, 1, 2)) return;
    if (d.args.length === 1) {
      r.defaultLogFormat = d.args[0];
      r.diag(d, 'info', 'LogFormat without a nickname: used by TransferLog only', 'ignored-value');
      return;
    }
    r.logFormats.set(d.args[1], { value: d.args[0], at: locOf(d) });
  }),
  supported('CustomLog', SV, 'CustomLog FILE FORMAT|NICKNAME', (r, d, s) => {
    if (!r.wantArgs(d, 2, 3)) return;
    const [path, format, cond] = d.args;
    if (path.startsWith('|')) {
      r.diag(d, 'warning', `CustomLog ${path}: piped logs are not supported (ignored; give a file, or "-" for standard output)`, 'unsupported-value');
      return;
    }
    if (cond) r.diag(d, 'warning', `CustomLog: the condition "${cond}" is not supported; every request is logged`, 'unsupported-value');
    s.site.accessLog.push({ value: { path, format }, at: locOf(d) });
  }),
  supported('TransferLog', SV, 'TransferLog FILE', (r, d, s) => {
    if (!r.wantArgs(d, 1, 1)) return;
    s.site.accessLog.push({ value: { path: d.args[0], format: r.defaultLogFormat ?? 'common' }, at: locOf(d) });
  }),
  supported('Timeout', SV, 'Timeout SECONDS', (r, d) => r.setGlobal('timeout', r.seconds(d), d)),
  supported('ProxyTimeout', SV, 'ProxyTimeout SECONDS', (r, d) => r.setGlobal('proxyTimeout', r.seconds(d), d)),
  supported('KeepAliveTimeout', SV, 'KeepAliveTimeout SECONDS', (r, d) => r.setGlobal('keepAliveTimeout', r.seconds(d), d)),
  supported('BalancerPersist', SV, 'BalancerPersist On|Off', (r, d) => r.setGlobal('persist', r.flag(d), d)),
  supported('BalancerGrowth', SV, 'BalancerGrowth NUMBER', (r, d, s) => {
    if (!r.wantArgs(d, 1, 1)) return;
    const n = integer(d.args[0]);
    if (n === undefined) return r.invalid(d, `"${d.args[0]}" is not a number`);
    s.site.growth = { value: n, at: locOf(d) };
  }),
  supported('ProxyHCExpr', SV, 'ProxyHCExpr NAME {EXPRESSION}', (r, d) => {
    const m = /^(\S+)\s+\{(.*)\}\s*$/s.exec(d.rest);
    if (!m) return r.invalid(d, 'the expression must be in braces');
    r.healthExpressions.set(m[1], { value: m[2].trim(), at: locOf(d) });
  }),
  supported('ProxyHCTemplate', SV, 'ProxyHCTemplate NAME hcmethod=GET hcuri=/path …', (r, d) => {
    if (!r.wantArgs(d, 2, Infinity)) return;
    const p = r.params(d, d.args.slice(1), 'health');
    r.healthTemplates.set(d.args[0], { value: p, at: locOf(d) });
  }),
  supported('SSLEngine', SV, 'SSLEngine On|Off', tls),
  supported('SSLCertificateFile', SV, 'SSLCertificateFile FILE', tls),
  supported('SSLCertificateKeyFile', SV, 'SSLCertificateKeyFile FILE', tls),
  supported('SSLCertificateChainFile', SV, 'SSLCertificateChainFile FILE', tls),
  supported('SSLProtocol', SV, 'SSLProtocol [+|-]all|TLSv1|TLSv1.1|TLSv1.2|TLSv1.3 …', tls),
  supported('SSLCipherSuite', SV, 'SSLCipherSuite [SSL|TLSv1.3] CIPHER-SPEC', tls),
  supported('SSLHonorCipherOrder', SV, 'SSLHonorCipherOrder On|Off', tls),
  supported('SSLSessionTickets', SV, 'SSLSessionTickets On|Off', tls),
  supported('SSLVerifyClient', SVD, 'SSLVerifyClient none', tls),
  supported('SSLUseStapling', SV, 'SSLUseStapling Off', tls),
  supported('SSLStrictSNIVHostCheck', SV, 'SSLStrictSNIVHostCheck Off', tls),
  supported('SSLInsecureRenegotiation', SV, 'SSLInsecureRenegotiation Off', tls),
  supported('SSLCompression', SV, 'SSLCompression Off', tls),
  supported('SSLOpenSSLConfCmd', SV, 'SSLOpenSSLConfCmd COMMAND VALUE', tls),
  supported('Protocols', SV, 'Protocols h2|h2c|http/1.1 …', tls),
  supported('Redirect', SVD, 'Redirect [permanent|temp|seeother|gone|STATUS] URL-PATH [URL]', tls),
  supported('RedirectPermanent', SVD, 'RedirectPermanent URL-PATH URL', tls),
  supported('RedirectTemp', SVD, 'RedirectTemp URL-PATH URL', tls),
  supported('Include', undefined, 'Include FILE|DIRECTORY|WILDCARD', 'parser'),
  supported('IncludeOptional', undefined, 'IncludeOptional FILE|DIRECTORY|WILDCARD', 'parser'),
  supported('Define', undefined, 'Define NAME [VALUE]', 'parser'),
  supported('UnDefine', undefined, 'UnDefine NAME', 'parser'),
  // mod_remoteip and the request limits (read by edge-sections.ts).
  supported('RemoteIPHeader', SV, 'RemoteIPHeader HEADER', 'edge'),
  supported('RemoteIPTrustedProxy', SV, 'RemoteIPTrustedProxy ADDRESS|NETWORK …', 'edge'),
  supported('RemoteIPInternalProxy', SV, 'RemoteIPInternalProxy ADDRESS|NETWORK …', 'edge'),
  supported('RemoteIPTrustedProxyList', SV, 'RemoteIPTrustedProxyList FILE', 'edge'),
  supported('RemoteIPInternalProxyList', SV, 'RemoteIPInternalProxyList FILE', 'edge'),
  supported('RemoteIPProxyProtocol', SV, 'RemoteIPProxyProtocol On|Off', 'edge'),
  supported('RemoteIPProxyProtocolExceptions', SV, 'RemoteIPProxyProtocolExceptions ADDRESS|NETWORK …', 'edge'),
  supported('LimitRequestBody', SVD, 'LimitRequestBody BYTES', 'edge'),
  supported('LimitRequestFields', SV, 'LimitRequestFields NUMBER', 'edge'),
  supported('LimitRequestFieldSize', SV, 'LimitRequestFieldSize BYTES', 'edge'),
  supported('LimitRequestLine', SV, 'LimitRequestLine BYTES', 'edge'),
  supported('MaxKeepAliveRequests', SV, 'MaxKeepAliveRequests NUMBER', 'edge'),
  supported('RequestReadTimeout', SV, 'RequestReadTimeout [header=SECONDS[-MAX][,MinRate=BYTES]] [body=SECONDS[-MAX][,MinRate=BYTES]]', 'edge'),
  // mod_md: automatic certificates (read by md.ts).
  supported('MDomain', ['main'], 'MDomain NAME [NAME …] [auto|manual]', 'md'),
  supported('MDMember', undefined, 'MDMember NAME [NAME …] (inside <MDomainSet>)', 'md'),
  supported('MDCertificateAuthority', ['main'], 'MDCertificateAuthority URL|letsencrypt|letsencrypt-test|buypass|buypass-test', 'md'),
  supported('MDContactEmail', ['main'], 'MDContactEmail ADDRESS', 'md'),
  supported('MDCertificateAgreement', ['main'], 'MDCertificateAgreement accepted', 'md'),
  supported('MDStoreDir', ['main'], 'MDStoreDir DIRECTORY', 'md'),
  supported('MDRenewWindow', ['main'], 'MDRenewWindow 33%|21d|12h', 'md'),
  supported('MDPrivateKeys', ['main'], 'MDPrivateKeys RSA [2048|3072|4096] | secp256r1 | secp384r1', 'md'),
  supported('MDCAChallenges', ['main'], 'MDCAChallenges http-01', 'md'),
  supported('MDRetryDelay', ['main'], 'MDRetryDelay 5s|1m|…', 'md'),
  supported('MDMembers', ['main'], 'MDMembers auto|manual', 'md'),
  supported('MDRequireHttps', ['main'], 'MDRequireHttps off|temporary|permanent', 'md'),
  // stickylb's own: several balancers as one fleet, the DNS servers for members found by DNS.
  ...FLEET_DIRECTIVES.map(([name, contexts, usage]) => supported(name, contexts, usage, 'fleet')),
  // stickylb's own: worker processes for the data path (YAML `workers`).
  supported('StickylbWorkers', ['main'], 'StickylbWorkers NUMBER|auto', (r, d) => {
    if (!r.wantArgs(d, 1, 1)) return;
    const a = d.args[0];
    const n = integer(a);
    if (a.toLowerCase() === 'auto') r.setGlobal('workers', 'auto', d);
    else if (n !== undefined && n >= 1 && n <= 256) r.setGlobal('workers', n, d);
    else r.invalid(d, `"${a}" is not a number of worker processes (1-256) or auto`);
  }),
  ignored('LoadModule', ['main']),
  ignored('LoadFile', ['main']),
  ignored('ServerRoot', ['main'], 'relative Include paths are taken from the including file\'s directory'),
  ignored('User', ['main']),
  ignored('Group', ['main']),
  ignored('PidFile', ['main']),
  ignored('Mutex', ['main']),
  ignored('ServerAdmin', SV),
  ignored('ServerSignature'),
  ignored('ServerTokens', ['main']),
  ignored('TraceEnable', SV),
  ignored('HostnameLookups'),
  ignored('UseCanonicalName'),
  ignored('Options'),
  ignored('AllowOverride'),
  ignored('AllowOverrideList'),
  ignored('AccessFileName', SV),
  ignored('AddType'),
  ignored('AddHandler'),
  ignored('AddEncoding'),
  ignored('AddCharset'),
  ignored('AddLanguage'),
  ignored('AddDefaultCharset'),
  ignored('AddOutputFilter'),
  ignored('AddOutputFilterByType'),
  ignored('DefaultType'),
  ignored('TypesConfig', ['main']),
  ignored('DirectoryIndex'),
  ignored('DirectorySlash'),
  ignored('IndexOptions'),
  ignored('LanguagePriority'),
  ignored('ForceLanguagePriority'),
  ignored('EnableSendfile'),
  ignored('EnableMMAP'),
  ignored('KeepAlive', SV),
  ignored('StartServers', ['main']),
  ignored('MinSpareServers', ['main']),
  ignored('MaxSpareServers', ['main']),
  ignored('MinSpareThreads', ['main']),
  ignored('MaxSpareThreads', ['main']),
  ignored('ThreadsPerChild', ['main']),
  ignored('ThreadLimit', ['main']),
  ignored('ServerLimit', ['main']),
  ignored('MaxClients', ['main']),
  ignored('MaxRequestWorkers', ['main']),
  ignored('MaxRequestsPerChild', ['main']),
  ignored('MaxConnectionsPerChild', ['main']),
  ignored('ListenBacklog', ['main']),
  ignored('GracefulShutdownTimeout', ['main']),
  ignored('LockFile', ['main']),
  ignored('ScoreBoardFile', ['main']),
  ignored('ExtendedStatus', ['main']),
  ignored('AuthBasicProvider'),
  ignored('BrowserMatch'),
  ignored('SetEnvIf'),
  ignored('ProxyVia', SV),
  ignored('ProxyErrorOverride'),
  ignored('ProxyBadHeader'),
  ignored('ProxyIOBufferSize', SV),
  ignored('ProxyReceiveBufferSize', SV),
  ignored('ProxyMaxForwards', SV),
  ignored('ProxyAddHeaders'),
  ignored('BalancerInherit', SV, 'stickylb has one set of balancers shared by every virtual host'),
  ignored('ProxyPassInherit', SV, 'virtual hosts always inherit the main server\'s ProxyPass rules in stickylb'),
  ignored('ProxyHCTPsize', ['main']),
  ...SSL_IGNORED.map(([name, note]) => ignored(name, undefined, note)),
  unsupported('RewriteEngine', 'stickylb has no mod_rewrite; requests are routed by ProxyPass rules only'),
  unsupported('RewriteRule', 'stickylb has no mod_rewrite; requests are routed by ProxyPass rules only'),
  unsupported('RewriteCond', 'stickylb has no mod_rewrite; requests are routed by ProxyPass rules only'),
  unsupported('RewriteMap', 'stickylb has no mod_rewrite'),
  unsupported('RewriteBase', 'stickylb has no mod_rewrite'),
  unsupported('RewriteOptions', 'stickylb has no mod_rewrite'),
  unsupported('RedirectMatch', 'regular-expression redirects are not supported; use Redirect with a path'),
  unsupported('Alias', 'stickylb serves static files from DocumentRoot only'),
  unsupported('AliasMatch', 'stickylb serves static files from DocumentRoot only'),
  unsupported('ScriptAlias', 'stickylb runs no CGI scripts'),
  unsupported('Header', 'stickylb does not edit response headers (see routecookie for the ROUTEID recipe)', (r, d, s) => {
    // Apache's recipe for applications that cannot put the route in their session ids:
    // Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
    const m = /^(?:always\s+)?(?:add|set|append)\s+Set-Cookie\s+"?([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=\.%\{BALANCER_WORKER_ROUTE\}e[^"]*"?\s+env=BALANCER_ROUTE_CHANGED\s*$/i.exec(d.rest);
    if (m) {
      r.routeCookies.push({ value: m[1], at: locOf(d) });
      return;
    }
    // The HSTS header: Header [always] set Strict-Transport-Security "max-age=…".
    const hsts = /^(?:always\s+)?(?:set|add|append|merge)\s+Strict-Transport-Security\s+(?:"([^"]*)"|(\S+))(?:\s+(?:env=HTTPS|"?expr=%\{HTTPS\}\s*==\s*'on'"?))?\s*$/i.exec(d.rest);
    if (hsts) {
      const value = (hsts[1] ?? hsts[2]).trim();
      if (!/^max-age=\d+/i.test(value)) return r.invalid(d, `"${value}" is not a Strict-Transport-Security value (max-age=SECONDS[; includeSubDomains][; preload])`);
      s.site.ssl.hsts = { value, at: locOf(d) };
      return;
    }
    const spec = directiveSpec('Header')!;
    r.diag(d, 'warning', `${spec.name} is not supported: ${spec.note} (ignored)`, 'unsupported-directive');
  }),
  unsupported('RequestHeader', 'stickylb does not edit request headers'),
  unsupported('SSLProxyEngine', 'https:// members are reached with Node\'s default TLS settings'),
  unsupported('ProxyRemote', 'stickylb does not chain to other proxies'),
  unsupported('ProxyRemoteMatch', 'stickylb does not chain to other proxies'),
  unsupported('NoProxy', 'stickylb is no forward proxy'),
  unsupported('ProxyBlock', 'stickylb is no forward proxy'),
  unsupported('ProxyDomain', 'stickylb is no forward proxy'),
  unsupported('ProxyHTMLEnable', 'stickylb does not rewrite response bodies'),
  unsupported('ProxyHTMLURLMap', 'stickylb does not rewrite response bodies'),
  unsupported('ProxyPassReverseCookiePathMatch', 'use ProxyPassReverseCookiePath'),
  unsupported('ProxySourceAddress', 'members are reached from the default source address'),
];

const sectionList: SectionSpec[] = [
  { name: 'VirtualHost', opens: 'vhost', contexts: ['main'], closable: true, usage: '<VirtualHost ADDRESS:PORT …> … </VirtualHost>' },
  { name: 'Directory', opens: 'directory', contexts: SV, closable: true, usage: '<Directory PATH> … </Directory>' },
  { name: 'DirectoryMatch', opens: 'directory', contexts: SV, closable: true, usage: '<DirectoryMatch REGEX> … </DirectoryMatch>' },
  { name: 'Location', opens: 'location', contexts: SV, closable: true, usage: '<Location /path> … </Location>' },
  { name: 'LocationMatch', opens: 'location', contexts: SV, closable: true, usage: '<LocationMatch REGEX> … </LocationMatch>' },
  { name: 'Proxy', opens: 'proxy', contexts: SV, closable: true, usage: '<Proxy balancer://name> BalancerMember … </Proxy>' },
  { name: 'ProxyMatch', opens: 'proxy', contexts: SV, closable: true, usage: '<ProxyMatch REGEX> … </ProxyMatch>' },
  { name: 'Files', opens: 'files', contexts: [...SV, 'directory'], closable: true, usage: '<Files NAME> … </Files>' },
  { name: 'MDomainSet', opens: 'transparent', contexts: ['main'], closable: false, usage: '<MDomainSet NAME …> MDMember NAME … </MDomainSet>' },
  { name: 'FilesMatch', opens: 'files', contexts: [...SV, 'directory'], closable: true, usage: '<FilesMatch REGEX> … </FilesMatch>' },
  { name: 'IfModule', opens: 'transparent', contexts: SVD, closable: false, usage: '<IfModule [!]MODULE> … </IfModule>' },
  { name: 'IfDefine', opens: 'transparent', contexts: SVD, closable: false, usage: '<IfDefine [!]NAME> … </IfDefine>' },
  { name: 'IfVersion', opens: 'transparent', contexts: SVD, closable: false, usage: '<IfVersion [OP] VERSION> … </IfVersion>' },
  { name: 'IfFile', opens: 'transparent', contexts: SVD, closable: false, usage: '<IfFile [!]PATH> … </IfFile>' },
  { name: 'IfDirective', opens: 'transparent', contexts: SVD, closable: false, usage: '<IfDirective [!]NAME> … </IfDirective>' },
  { name: 'IfSection', opens: 'transparent', contexts: SVD, closable: false, usage: '<IfSection [!]NAME> … </IfSection>' },
  { name: 'RequireAll', opens: 'transparent', contexts: DIR, closable: false, usage: '<RequireAll> Require … </RequireAll>' },
  { name: 'RequireAny', opens: 'transparent', contexts: DIR, closable: false, usage: '<RequireAny> Require … </RequireAny>' },
  { name: 'RequireNone', opens: 'transparent', contexts: DIR, closable: false, usage: '<RequireNone> Require … </RequireNone>' },
  { name: 'Limit', opens: 'transparent', contexts: SVD, closable: false, usage: '<Limit METHOD …> … </Limit>' },
  { name: 'LimitExcept', opens: 'transparent', contexts: SVD, closable: false, usage: '<LimitExcept METHOD …> … </LimitExcept>' },
  { name: 'If', opens: 'transparent', contexts: SVD, closable: false, usage: '<If EXPRESSION> … </If>' },
  { name: 'ElseIf', opens: 'transparent', contexts: SVD, closable: false, usage: '<ElseIf EXPRESSION> … </ElseIf>' },
  { name: 'Else', opens: 'transparent', contexts: SVD, closable: false, usage: '<Else> … </Else>' },
];

const byName = new Map<string, DirectiveSpec>(table.map((d) => [d.name.toLowerCase(), d]));

const sections = new Map<string, SectionSpec>(sectionList.map((s) => [s.name.toLowerCase(), s]));

/** Every directive the front end knows (tests, documentation). */
export function directiveTable(): readonly DirectiveSpec[] {
  return table;
}

/** Looks a directive up by name, case-insensitively. */
export function directiveSpec(name: string): DirectiveSpec | undefined {
  return byName.get(name.toLowerCase());
}

/** Looks a section up by name, case-insensitively. */
export function sectionSpec(name: string): SectionSpec | undefined {
  return sections.get(name.toLowerCase());
}

const contextWords: Record<Context, string> = {
  main: 'the main server',
  vhost: '<VirtualHost>',
  directory: '<Directory>',
  location: '<Location>',
  proxy: '<Proxy>',
  files: '<Files>',
};

/** `main, vhost` to "the main server, <VirtualHost>" for messages. */
export function describeContexts(contexts: readonly Context[]): string {
  return contexts.map((c) => contextWords[c]).join(', ');
}
