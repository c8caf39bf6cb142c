// Real child processes for tests: start one, wait (with a deadline in the CPU time it gets) for a
// line on stdout, stop it with a signal and read its exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { processDeadline } from './process-clock.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  readonly stdout: string;
  readonly stderr: string;
  /**
   * Resolves with the first stdout line matching `re`; rejects when the process exits first, or
   * once it (with its children) has used `timeoutMs` of CPU time meanwhile (default 15 s), or
   * after WALL_CAP_MS on the clock (see process-clock.ts).
   */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Sends `signal` and waits for the exit; kills it after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

export function startNodeProcess(args: string[], env: Record<string, string | undefined> = {}): NodeProcess {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
      for (const w of waiters) w();
    });
  });
  let exitedNow = false;
  void exited.then(() => (exitedNow = true));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitFor(re, timeoutMs = 15000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (const line of stdout.split('\n')) {
            const m = line.match(re);
            if (m) {
              done();
              resolve(m);
              return;
            }
          }
          if (exitedNow || child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`process exited before printing ${re}\nstdout: ${stdout}\nstderr: ${stderr}`));
          }
        };
        // The deadline is in the CPU time the process gets (process-clock.ts): a busy machine
        // slows its start down without failing it.
        const deadline = processDeadline(child, { cpuMs: timeoutMs });
        const timer = setInterval(() => {
          const why = deadline.left();
          if (!why || exitedNow || child.exitCode !== null || child.signalCode !== null) return;
          done();
          reject(new Error(`gave up waiting for ${re}: ${why}\nstdout: ${stdout}\nstderr: ${stderr}`));
        }, 50);
        const done = () => {
          clearInterval(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs `stickylb <args>` from the TypeScript sources (no build needed). */
export function startCli(args: string[], env: Record<string, string | undefined> = {}): NodeProcess {
  const main = new URL('../../src/cli/main.ts', import.meta.url).href;
  const code = `import { main } from ${JSON.stringify(main)}; main(process.argv.slice(1)).then((c) => { process.exitCode = c; }, (e) => { console.error(e); process.exitCode = 1; });`;
  return startNodeProcess(['--import', 'tsx', '--input-type=module', '-e', code, ...args], env);
}
