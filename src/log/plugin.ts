// Logs as an App plugin: access log lines on every finished request (and WebSocket upgrade), the
// error log lines of failed requests with the member bound as context, LogLevel and log paths
// followed on reload, every log file reopened on SIGUSR1 (logrotate), all flushed on shutdown.
import os from 'node:os';
import type { AppContext as App, Plugin } from '../plugin/contract.js';
import type { ConfigModel } from '../config/model.js';
import { resolveConfigPath } from '../config/base-dir.js';
import type { RequestRecord } from '../proxy/core/record.js';
import { AccessLogs } from './access-log.js';
import { accessRecord } from './access-record.js';
import { LogWriter } from './log-writer.js';
import { errorLogStream, setLogLevel, type Logger } from './logger.js';

export class LogsPlugin implements Plugin {
  readonly name = 'logs';
  readonly access: AccessLogs;
  private app?: App;
  private signalHandler?: () => void;
  private unsubscribe?: () => void;

  constructor() {
    this.access = new AccessLogs({ onError: (err, w) => this.app?.logger.error({ file: w.path, code: err.code }, `access log ${w.path}: ${err.message}`) });
  }

  async setup(app: App): Promise<void> {
    this.app = app;
    const errorLog = errorLogStream(app.logger);
    if (errorLog) {
      try {
        await errorLog.writer.ready();
      } catch (e) {
        throw new Error(`error log ${errorLog.writer.path} cannot be opened: ${(e as Error).message}`);
      }
    }
    const { warnings } = await this.access.configure(app.config);
    for (const w of warnings) app.logger.warn(w);
    this.unsubscribe = app.server.records.subscribe((r) => this.requestDone(r));
  }

  async reload(app: App, config: ConfigModel): Promise<void> {
    setLogLevel(app.logger, config.errorLog.level);
    const stream = errorLogStream(app.logger);
    const path = resolveConfigPath(config, config.errorLog.path);
    if (stream && (stream.writer.path !== path || stream.format !== (config.errorLog.format ?? 'json'))) {
      const next = new LogWriter(path);
      try {
        await next.ready();
        const old = stream.replace(next, config.errorLog.format ?? 'json');
        await old.close();
      } catch (e) {
        await next.close();
        app.logger.error({ file: path }, `error log ${path} cannot be opened (${(e as Error).message}); logging stays where it was`);
      }
    }
    try {
      const { warnings } = await this.access.configure(config);
      for (const w of warnings) app.logger.warn(w);
    } catch (e) {
      app.logger.error(`access logs not changed by the reload: ${(e as Error).message}`);
    }
  }

  /** Reopens every log file by name (after logrotate moved them). Safe to call at any time. */
  async reopen(): Promise<void> {
    const stream = this.app && errorLogStream(this.app.logger);
    await Promise.all([this.access.reopen(), stream?.writer.reopen()]);
    this.app?.logger.info('log files reopened');
  }

  /**
   * Reopens the logs on SIGUSR1, as logrotate's `postrotate` expects. Only `stickylb run` calls
   * this: an embedding program or a test owns its signals.
   */
  installSignalHandler(): void {
    if (this.signalHandler) return;
    this.signalHandler = () => void this.reopen();
    process.on('SIGUSR1', this.signalHandler);
  }

  /** Writes out every queued line (the logs stay open). */
  flush(): Promise<void> {
    const stream = this.app && errorLogStream(this.app.logger);
    return Promise.all([this.access.flush(), stream?.writer.flush()]).then(() => undefined);
  }

  async close(): Promise<void> {
    if (this.signalHandler) process.off('SIGUSR1', this.signalHandler);
    this.signalHandler = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.access.close();
    // The error log stays open for whatever is logged after the plugins closed; flush it.
    const stream = this.app && errorLogStream(this.app.logger);
    await stream?.writer.flush();
  }

  private serverName(r: RequestRecord): string {
    return r.site?.serverName ?? this.app?.config.sites[0]?.serverName ?? os.hostname();
  }

  private implicit(r: RequestRecord): boolean {
    return r.balancer !== undefined && !!this.app?.runtime.balancers.get(r.balancer)?.model.implicit;
  }

  private siteOf(r: RequestRecord) {
    // Requests refused before a site was chosen (a bad request line) go to the default site's logs.
    return r.site ?? this.app?.server.config.sites[0];
  }

  private requestDone(r: RequestRecord): void {
    try {
      const site = this.siteOf(r);
      if (this.access.logsOf(site)) this.access.write(site, accessRecord(r, { serverName: this.serverName(r), implicitBalancer: this.implicit(r) }));
      if (r.failures.length || (r.error && r.error.status >= 500) || (r.kind === 'websocket' && r.status !== undefined && r.status >= 500)) this.logFailure(r);
    } catch (e) {
      // A log must never take a request down with it.
      this.app?.logger.error({ err: e }, 'could not write the access log line');
    }
  }

  /** A member's logger: the balancer, the member and its route bound as context. */
  private memberLogger(balancer: string | undefined, memberUrl: string | undefined): Logger {
    const logger = this.app!.logger;
    if (balancer === undefined) return logger;
    const member = memberUrl === undefined ? undefined : this.app!.runtime.balancers.get(balancer)?.members.find((m) => m.url === memberUrl);
    return logger.child({ balancer, member: memberUrl, route: member?.route || undefined });
  }

  /** Error log lines for a request that failed on the way to a member, as Apache's proxy logs them. */
  private logFailure(info: RequestRecord): void {
    const client = info.clientAddress;
    const members = info.balancer === undefined ? [] : (this.app!.runtime.balancers.get(info.balancer)?.members ?? []);
    for (const f of info.failures) {
      // Entries read `<member url>: <cause>` (the cause may repeat the URL).
      const url = members.find((m) => f.startsWith(`${m.url}: `))?.url;
      let cause = f;
      while (url && cause.startsWith(`${url}: `)) cause = cause.slice(url.length + 2);
      this.memberLogger(info.balancer, url).error({ client, cause }, `could not connect to member ${url ?? '?'}: ${cause}`);
    }
    const err = info.error;
    const status = err?.status ?? info.status;
    // Failover may have found another member: then the request itself went well.
    if (status === undefined || status < 500) return;
    const what = err ? `${err.message}` : `status ${status}`;
    const log = this.memberLogger(info.balancer, info.member?.url);
    log.error(
      { client, method: info.method, url: info.target, status, code: err?.code, side: err?.side, outcome: info.outcome, sessionRoute: info.sessionRoute },
      `${info.method} ${info.target} failed with ${status}: ${what}`,
    );
  }
}

export function logsPlugin(): LogsPlugin {
  return new LogsPlugin();
}
