// The access logs of a config (CustomLog): each site's formats compiled once, writers shared by
// path (two sites, or two formats, may log to the same file), kept across reloads when the path
// stays.
import type { ConfigModel, SiteModel } from '../config/model.js';
import { resolveConfigPath } from '../config/base-dir.js';
import { compileLogFormat, LogFormatError, type AccessRecord, type CompiledFormat } from './access-format.js';
import { LogWriter, type LogWriterOptions } from './log-writer.js';

export interface AccessLog {
  format: CompiledFormat;
  json: boolean;
  writer: LogWriter;
}

export class AccessLogs {
  /** Site → its logs. Sites of the previous config point at the logs of the same position, so
   * requests that started before a reload are still logged. */
  private bySite = new Map<SiteModel, AccessLog[]>();
  private sites: SiteModel[] = [];
  private writers = new Map<string, LogWriter>();

  constructor(private readonly writerOptions: LogWriterOptions = {}) {}

  /** True when at least one site logs (so requests need their bytes counted). */
  get active(): boolean {
    return this.bySite.size > 0;
  }

  /**
   * Builds the logs of a config; writers whose path is still used stay open, the others are
   * closed once the new set is in place. Throws (and keeps the old set) on a format error or a
   * file that cannot be opened.
   */
  async configure(config: ConfigModel): Promise<{ warnings: string[] }> {
    const warnings: string[] = [];
    const bySite = new Map<SiteModel, AccessLog[]>();
    const writers = new Map<string, LogWriter>();
    const opened: LogWriter[] = [];
    const compiled = new Map<string, CompiledFormat>();
    try {
      config.sites.forEach((site, i) => {
        const logs: AccessLog[] = [];
        site.accessLog.forEach((l, j) => {
          let format = compiled.get(l.format);
          if (!format) {
            try {
              format = compileLogFormat(l.format);
            } catch (e) {
              if (e instanceof LogFormatError) throw new Error(`access log ${l.path} (site ${site.serverName ?? i}, entry ${j + 1}): ${e.message} in "${l.format}"`);
              throw e;
            }
            compiled.set(l.format, format);
            for (const w of format.warnings) warnings.push(`access log ${l.path}: ${w}`);
          }
          const path = resolveConfigPath(config, l.path);
          let writer = writers.get(path) ?? this.writers.get(path);
          if (!writer) {
            writer = new LogWriter(path, this.writerOptions);
            opened.push(writer);
          }
          writers.set(path, writer);
          logs.push({ format, json: l.json, writer });
        });
        if (logs.length) bySite.set(site, logs);
      });
      await Promise.all(opened.map((w) => w.ready()));
    } catch (e) {
      await Promise.all(opened.map((w) => w.close()));
      throw e;
    }
    const old = this.writers;
    this.sites.forEach((site, i) => {
      const logs = bySite.get(config.sites[i]);
      if (logs && !bySite.has(site)) bySite.set(site, logs);
    });
    this.sites = [...config.sites];
    this.bySite = bySite;
    this.writers = writers;
    await Promise.all([...old].filter(([p]) => !writers.has(p)).map(([, w]) => w.close()));
    return { warnings };
  }

  /** The logs of a site. */
  logsOf(site: SiteModel | undefined): AccessLog[] | undefined {
    return site ? this.bySite.get(site) : undefined;
  }

  /** Writes a record to every log of the site. */
  write(site: SiteModel | undefined, record: AccessRecord): void {
    const logs = this.logsOf(site);
    if (!logs) return;
    for (const l of logs) l.writer.write(`${l.json ? l.format.jsonLine(record) : l.format.line(record)}\n`);
  }

  allWriters(): LogWriter[] {
    return [...this.writers.values()];
  }

  reopen(): Promise<void> {
    return Promise.all([...this.writers.values()].map((w) => w.reopen())).then(() => undefined);
  }

  flush(): Promise<void> {
    return Promise.all(this.allWriters().map((w) => w.flush())).then(() => undefined);
  }

  async close(): Promise<void> {
    const all = this.allWriters();
    this.bySite = new Map();
    this.sites = [];
    this.writers = new Map();
    await Promise.all(all.map((w) => w.close()));
  }
}
