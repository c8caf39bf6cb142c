// What the Apache front end knows about each directive and section: where httpd allows it, and
// whether stickylb uses it, ignores it (meaningless to a balancer) or cannot honour it.
import { SSL_IGNORED } from './ssl.js';
import { FLEET_DIRECTIVES } from './fleet.js';

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

const supported: [string, readonly Context[] | undefined, string][] = [
  ['Listen', ['main'], 'Listen [ADDRESS:]PORT'],
  ['ServerName', SV, 'ServerName HOSTNAME'],
  ['ServerAlias', SV, 'ServerAlias HOSTNAME …'],
  ['ProxyRequests', SV, 'ProxyRequests On|Off'],
  ['ProxyPreserveHost', SV, 'ProxyPreserveHost On|Off'],
  ['ProxyStatus', SV, 'ProxyStatus On|Off|Full'],
  ['ProxyPass', [...SV, 'location'], 'ProxyPass /path balancer://name/ [key=value …], ProxyPass /path http://host:port/ [key=value …] or ProxyPass /path !'],
  ['ProxyPassMatch', SV, 'ProxyPassMatch REGEX balancer://name/$1 [key=value …] or ProxyPassMatch REGEX !'],
  ['ProxyPassReverse', [...SV, 'location', 'directory'], 'ProxyPassReverse /path balancer://name/ or ProxyPassReverse /path http://host:port/'],
  ['ProxyPassReverseCookiePath', SVD, 'ProxyPassReverseCookiePath INTERNAL-PATH PUBLIC-PATH'],
  ['ProxyPassReverseCookieDomain', SVD, 'ProxyPassReverseCookieDomain INTERNAL-DOMAIN PUBLIC-DOMAIN'],
  ['BalancerMember', [...SV, 'proxy'], 'BalancerMember [balancer://name] http://host:port [key=value …]'],
  ['ProxySet', [...SV, 'proxy'], 'ProxySet [balancer://name|http://host:port] key=value …'],
  ['SetHandler', DIR, 'SetHandler balancer-manager|server-status'],
  ['Order', DIR, 'Order Deny,Allow|Allow,Deny|Mutual-failure'],
  ['Allow', DIR, 'Allow from all|HOST|IP|IP/CIDR …'],
  ['Deny', DIR, 'Deny from all|HOST|IP|IP/CIDR …'],
  ['Require', DIR, 'Require [not] all granted|all denied|local|ip IP …|host HOST …|forward-dns NAME …|valid-user|user NAME …|group NAME …|method METHOD …'],
  ['AuthGroupFile', DIR, 'AuthGroupFile FILE'],
  ['AuthMerging', DIR, 'AuthMerging Off|And|Or'],
  ['Satisfy', DIR, 'Satisfy All|Any'],
  ['AuthType', DIR, 'AuthType Basic'],
  ['AuthName', DIR, 'AuthName "REALM"'],
  ['AuthUserFile', DIR, 'AuthUserFile FILE'],
  ['DocumentRoot', SV, 'DocumentRoot DIRECTORY'],
  ['ErrorLog', SV, 'ErrorLog FILE'],
  ['LogLevel', SVD, 'LogLevel emerg|alert|crit|error|warn|notice|info|debug|trace1…trace8'],
  ['LogFormat', SV, 'LogFormat "FORMAT" NICKNAME'],
  ['CustomLog', SV, 'CustomLog FILE FORMAT|NICKNAME'],
  ['TransferLog', SV, 'TransferLog FILE'],
  ['Timeout', SV, 'Timeout SECONDS'],
  ['ProxyTimeout', SV, 'ProxyTimeout SECONDS'],
  ['KeepAliveTimeout', SV, 'KeepAliveTimeout SECONDS'],
  ['BalancerPersist', SV, 'BalancerPersist On|Off'],
  ['BalancerGrowth', SV, 'BalancerGrowth NUMBER'],
  ['ProxyHCExpr', SV, 'ProxyHCExpr NAME {EXPRESSION}'],
  ['ProxyHCTemplate', SV, 'ProxyHCTemplate NAME hcmethod=GET hcuri=/path …'],
  ['SSLEngine', SV, 'SSLEngine On|Off'],
  ['SSLCertificateFile', SV, 'SSLCertificateFile FILE'],
  ['SSLCertificateKeyFile', SV, 'SSLCertificateKeyFile FILE'],
  ['SSLCertificateChainFile', SV, 'SSLCertificateChainFile FILE'],
  ['SSLProtocol', SV, 'SSLProtocol [+|-]all|TLSv1|TLSv1.1|TLSv1.2|TLSv1.3 …'],
  ['SSLCipherSuite', SV, 'SSLCipherSuite [SSL|TLSv1.3] CIPHER-SPEC'],
  ['SSLHonorCipherOrder', SV, 'SSLHonorCipherOrder On|Off'],
  ['SSLSessionTickets', SV, 'SSLSessionTickets On|Off'],
  ['SSLVerifyClient', SVD, 'SSLVerifyClient none'],
  ['SSLUseStapling', SV, 'SSLUseStapling Off'],
  ['SSLStrictSNIVHostCheck', SV, 'SSLStrictSNIVHostCheck Off'],
  ['SSLInsecureRenegotiation', SV, 'SSLInsecureRenegotiation Off'],
  ['SSLCompression', SV, 'SSLCompression Off'],
  ['SSLOpenSSLConfCmd', SV, 'SSLOpenSSLConfCmd COMMAND VALUE'],
  ['Protocols', SV, 'Protocols h2|h2c|http/1.1 …'],
  ['Redirect', SVD, 'Redirect [permanent|temp|seeother|gone|STATUS] URL-PATH [URL]'],
  ['RedirectPermanent', SVD, 'RedirectPermanent URL-PATH URL'],
  ['RedirectTemp', SVD, 'RedirectTemp URL-PATH URL'],
  ['Include', undefined, 'Include FILE|DIRECTORY|WILDCARD'],
  ['IncludeOptional', undefined, 'IncludeOptional FILE|DIRECTORY|WILDCARD'],
  ['Define', undefined, 'Define NAME [VALUE]'],
  ['UnDefine', undefined, 'UnDefine NAME'],
  // mod_remoteip and the request limits (read by edge-sections.ts).
  ['RemoteIPHeader', SV, 'RemoteIPHeader HEADER'],
  ['RemoteIPTrustedProxy', SV, 'RemoteIPTrustedProxy ADDRESS|NETWORK …'],
  ['RemoteIPInternalProxy', SV, 'RemoteIPInternalProxy ADDRESS|NETWORK …'],
  ['RemoteIPTrustedProxyList', SV, 'RemoteIPTrustedProxyList FILE'],
  ['RemoteIPInternalProxyList', SV, 'RemoteIPInternalProxyList FILE'],
  ['RemoteIPProxyProtocol', SV, 'RemoteIPProxyProtocol On|Off'],
  ['RemoteIPProxyProtocolExceptions', SV, 'RemoteIPProxyProtocolExceptions ADDRESS|NETWORK …'],
  ['LimitRequestBody', SVD, 'LimitRequestBody BYTES'],
  ['LimitRequestFields', SV, 'LimitRequestFields NUMBER'],
  ['LimitRequestFieldSize', SV, 'LimitRequestFieldSize BYTES'],
  ['LimitRequestLine', SV, 'LimitRequestLine BYTES'],
  ['MaxKeepAliveRequests', SV, 'MaxKeepAliveRequests NUMBER'],
  ['RequestReadTimeout', SV, 'RequestReadTimeout [header=SECONDS[-MAX][,MinRate=BYTES]] [body=SECONDS[-MAX][,MinRate=BYTES]]'],
  // mod_md: automatic certificates (read by md.ts).
  ['MDomain', ['main'], 'MDomain NAME [NAME …] [auto|manual]'],
  ['MDMember', undefined, 'MDMember NAME [NAME …] (inside <MDomainSet>)'],
  ['MDCertificateAuthority', ['main'], 'MDCertificateAuthority URL|letsencrypt|letsencrypt-test|buypass|buypass-test'],
  ['MDContactEmail', ['main'], 'MDContactEmail ADDRESS'],
  ['MDCertificateAgreement', ['main'], 'MDCertificateAgreement accepted'],
  ['MDStoreDir', ['main'], 'MDStoreDir DIRECTORY'],
  ['MDRenewWindow', ['main'], 'MDRenewWindow 33%|21d|12h'],
  ['MDPrivateKeys', ['main'], 'MDPrivateKeys RSA [2048|3072|4096] | secp256r1 | secp384r1'],
  ['MDCAChallenges', ['main'], 'MDCAChallenges http-01'],
  ['MDRetryDelay', ['main'], 'MDRetryDelay 5s|1m|…'],
  ['MDMembers', ['main'], 'MDMembers auto|manual'],
  ['MDRequireHttps', ['main'], 'MDRequireHttps off|temporary|permanent'],
  // stickylb's own: several balancers as one fleet, the DNS servers for members found by DNS.
  ...FLEET_DIRECTIVES,
];

const ignoredNote = 'meaningless to a balancer';

const ignored: [string, readonly Context[] | undefined, string?][] = [
  ['LoadModule', ['main']],
  ['LoadFile', ['main']],
  ['ServerRoot', ['main'], 'relative Include paths are taken from the including file\'s directory'],
  ['User', ['main']],
  ['Group', ['main']],
  ['PidFile', ['main']],
  ['Mutex', ['main']],
  ['ServerAdmin', SV],
  ['ServerSignature', undefined],
  ['ServerTokens', ['main']],
  ['TraceEnable', SV],
  ['HostnameLookups', undefined],
  ['UseCanonicalName', undefined],
  ['Options', undefined],
  ['AllowOverride', undefined],
  ['AllowOverrideList', undefined],
  ['AccessFileName', SV],
  ['AddType', undefined],
  ['AddHandler', undefined],
  ['AddEncoding', undefined],
  ['AddCharset', undefined],
  ['AddLanguage', undefined],
  ['AddDefaultCharset', undefined],
  ['AddOutputFilter', undefined],
  ['AddOutputFilterByType', undefined],
  ['DefaultType', undefined],
  ['TypesConfig', ['main']],
  ['DirectoryIndex', undefined],
  ['DirectorySlash', undefined],
  ['IndexOptions', undefined],
  ['LanguagePriority', undefined],
  ['ForceLanguagePriority', undefined],
  ['EnableSendfile', undefined],
  ['EnableMMAP', undefined],
  ['KeepAlive', SV],
  ['StartServers', ['main']],
  ['MinSpareServers', ['main']],
  ['MaxSpareServers', ['main']],
  ['MinSpareThreads', ['main']],
  ['MaxSpareThreads', ['main']],
  ['ThreadsPerChild', ['main']],
  ['ThreadLimit', ['main']],
  ['ServerLimit', ['main']],
  ['MaxClients', ['main']],
  ['MaxRequestWorkers', ['main']],
  ['MaxRequestsPerChild', ['main']],
  ['MaxConnectionsPerChild', ['main']],
  ['ListenBacklog', ['main']],
  ['GracefulShutdownTimeout', ['main']],
  ['LockFile', ['main']],
  ['ScoreBoardFile', ['main']],
  ['ExtendedStatus', ['main']],
  ['AuthBasicProvider', undefined],
  ['BrowserMatch', undefined],
  ['SetEnvIf', undefined],
  ['ProxyVia', SV],
  ['ProxyErrorOverride', undefined],
  ['ProxyBadHeader', undefined],
  ['ProxyIOBufferSize', SV],
  ['ProxyReceiveBufferSize', SV],
  ['ProxyMaxForwards', SV],
  ['ProxyAddHeaders', undefined],
  ['BalancerInherit', SV, 'stickylb has one set of balancers shared by every virtual host'],
  ['ProxyPassInherit', SV, 'virtual hosts always inherit the main server\'s ProxyPass rules in stickylb'],
  ['ProxyHCTPsize', ['main']],
  ...SSL_IGNORED.map(([name, note]): [string, readonly Context[] | undefined, string] => [name, undefined, note]),
];

const unsupported: [string, string][] = [
  ['RewriteEngine', 'stickylb has no mod_rewrite; requests are routed by ProxyPass rules only'],
  ['RewriteRule', 'stickylb has no mod_rewrite; requests are routed by ProxyPass rules only'],
  ['RewriteCond', 'stickylb has no mod_rewrite; requests are routed by ProxyPass rules only'],
  ['RewriteMap', 'stickylb has no mod_rewrite'],
  ['RewriteBase', 'stickylb has no mod_rewrite'],
  ['RewriteOptions', 'stickylb has no mod_rewrite'],
  ['RedirectMatch', 'regular-expression redirects are not supported; use Redirect with a path'],
  ['Alias', 'stickylb serves static files from DocumentRoot only'],
  ['AliasMatch', 'stickylb serves static files from DocumentRoot only'],
  ['ScriptAlias', 'stickylb runs no CGI scripts'],
  ['Header', 'stickylb does not edit response headers (see routecookie for the ROUTEID recipe)'],
  ['RequestHeader', 'stickylb does not edit request headers'],
  ['SSLProxyEngine', 'https:// members are reached with Node\'s default TLS settings'],
  ['ProxyRemote', 'stickylb does not chain to other proxies'],
  ['ProxyRemoteMatch', 'stickylb does not chain to other proxies'],
  ['NoProxy', 'stickylb is no forward proxy'],
  ['ProxyBlock', 'stickylb is no forward proxy'],
  ['ProxyDomain', 'stickylb is no forward proxy'],
  ['ProxyHTMLEnable', 'stickylb does not rewrite response bodies'],
  ['ProxyHTMLURLMap', 'stickylb does not rewrite response bodies'],
  ['ProxyPassReverseCookiePathMatch', 'use ProxyPassReverseCookiePath'],
  ['ProxySourceAddress', 'members are reached from the default source address'],
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

const byName = new Map<string, DirectiveSpec>();
for (const [name, contexts, usage] of supported) byName.set(name.toLowerCase(), { name, contexts, kind: 'supported', usage });
for (const [name, contexts, note] of ignored) byName.set(name.toLowerCase(), { name, contexts, kind: 'ignored', note: note ?? ignoredNote });
for (const [name, note] of unsupported) byName.set(name.toLowerCase(), { name, kind: 'unsupported', note });

const sections = new Map<string, SectionSpec>(sectionList.map((s) => [s.name.toLowerCase(), s]));

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
