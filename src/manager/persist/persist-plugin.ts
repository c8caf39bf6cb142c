// Persistence of manager changes (`persist`, Apache's BalancerPersist On): restored on start,
// saved on every manager change to a JSON state file written atomically (temp file + rename).
// Also settles reloads: a value the config file changed since the manager set it goes back to
// the config's, and the conflict is logged.
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AppContext, Plugin } from '../../plugin/contract.js';
import { pluginKey } from '../../plugin/key.js';
import { isSetting, type StateChange } from '../../balancer/balancer-state.js';
import type { ConfigModel } from '../../config/model.js';
import { parseState, reconcileReload, restore, snapshot, type SavedState } from './persist.js';

/** Writes a file so readers see the old or the new content, never a part. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

export interface PersistPlugin extends Plugin {
  /** Resolves when every change so far is on disk (tests, shutdown). */
  flush(): Promise<void>;
  /** The state file as read at start (undefined: none, or not usable). */
  loaded?: SavedState;
  /**
   * Keeps another plugin's data in the state file under `name` (the fleet keeps its shared
   * settings there, as its cache for Redis outages); `value` is read at every save.
   */
  addSection(name: string, value: () => unknown): void;
  /** Saves soon: a section's data changed. */
  save(): void;
}

/** Persistence of manager changes (`flush()` waits until they are on disk). */
export const PERSIST = pluginKey<PersistPlugin>('persist');

export function persistPlugin(): PersistPlugin {
  let app: AppContext | undefined;
  let config: ConfigModel | undefined;
  let dirty = false;
  let saving: Promise<void> | undefined;
  /** The manager's changes as of the last change, to bring added members back after a reload. */
  let latest: SavedState | undefined;
  const sections = new Map<string, () => unknown>();

  const save = async (): Promise<void> => {
    const a = app!;
    const file = a.config.persist?.file;
    if (!file) return;
    const state = snapshot(a.runtime, a.runtime.clock());
    if (sections.size) state.sections = Object.fromEntries([...sections].map(([name, value]) => [name, value()]));
    try {
      await writeAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
    } catch (e) {
      a.logger.error({ file }, `manager changes could not be saved to ${file}: ${(e as Error).message}`);
    }
  };

  const schedule = () => {
    dirty = true;
    if (saving) return;
    saving = (async () => {
      // Let a burst of changes from one request settle into one write.
      await new Promise((r) => setImmediate(r));
      while (dirty) {
        dirty = false;
        await save();
      }
    })().finally(() => {
      saving = undefined;
    });
  };

  const onChange = (c: StateChange) => {
    if (!isSetting(c.by) && c.by !== 'config') return;
    latest = snapshot(app!.runtime, app!.runtime.clock());
    schedule();
  };

  const plugin: PersistPlugin = {
    name: PERSIST.name,
    loaded: undefined,
    addSection(name, value) {
      sections.set(name, value);
    },
    save() {
      if (app?.config.persist) schedule();
    },
    async setup(a) {
      app = a;
      config = a.config;
      const file = a.config.persist?.file;
      if (file) {
        let text: string | undefined;
        try {
          text = await readFile(file, 'utf8');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') a.logger.error({ file }, `state file ${file} cannot be read (${(e as Error).message}); starting from the config alone`);
        }
        if (text !== undefined) {
          try {
            const state = parseState(text);
            plugin.loaded = state;
            const report = restore(a.runtime, state, a.config);
            for (const line of report.applied) a.logger.info({ file }, `restored from ${file}: ${line}`);
            for (const line of report.conflicts) a.logger.warn({ file }, `state file ${file}: ${line}`);
            for (const line of report.dropped) a.logger.warn({ file }, `state file ${file}: ${line}`);
            // Forget what no longer applies, so the file says what is in force.
            if (report.conflicts.length || report.dropped.length) schedule();
          } catch (e) {
            a.logger.error({ file }, `state file ${file} is not usable (${(e as Error).message}); starting from the config alone`);
          }
        }
      }
      latest = snapshot(a.runtime, a.runtime.clock());
      a.runtime.events.on('change', onChange);
    },
    reload(a, next) {
      const previous = config ?? a.config;
      // Taken before settling the reload, whose own changes update `latest`.
      const before = latest;
      config = next;
      for (const line of reconcileReload(a.runtime, previous)) a.logger.warn(`reload: ${line}`);
      // A reload rebuilds balancers from the config: members added in the manager come back here.
      const added: SavedState = { version: before?.version ?? 1, savedAt: '', balancers: {} };
      for (const [name, sb] of Object.entries(before?.balancers ?? {})) if (sb.added.length) added.balancers[name] = { settings: {}, members: {}, added: sb.added };
      const report = restore(a.runtime, added, next);
      for (const line of [...report.conflicts, ...report.dropped]) a.logger.warn(`reload: ${line}`);
      latest = snapshot(a.runtime, a.runtime.clock());
      if (next.persist) schedule();
    },
    async close(a) {
      a.runtime.events.off('change', onChange);
      await saving;
    },
    async flush() {
      while (saving) await saving;
    },
  };
  return plugin;
}
