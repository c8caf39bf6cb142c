// Deadlines for waiting on a real process, counted in the CPU time it got rather than in
// wall-clock time. Starting `stickylb run` from the TypeScript sources takes about 2 s of CPU
// (tsx compiles a few hundred modules, then the launcher's nodes start); on a machine busy with
// other work (a benchmark, the other test files) that can take many times as long on the wall
// clock. A wall-clock deadline then fails a process that was only waiting for a CPU; a deadline in
// the CPU time the process and its children used still fails one that spins or works at the wrong
// thing, and at the same point on a busy machine as on an idle one. A process that waits without
// using any CPU (stuck on something) fails after a wall-clock cap below the test runner's own
// limit, so the error says what was awaited. Linux (/proc); elsewhere the CPU budget is counted on
// the wall clock.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** The test runner stops a test after 5 minutes (scripts/run-tests.mjs); a wait gives up before. */
export const WALL_CAP_MS = 240_000;

/** CPU time (user + system, ms) used so far by a process and its living descendants; undefined without /proc. */
export function treeCpuMs(pid: number): number | undefined {
  const seen = new Set<number>();
  const walk = (p: number): number | undefined => {
    if (seen.has(p)) return 0;
    seen.add(p);
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    // After the command name (which may hold spaces and parentheses): utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ms = ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      // Gone meanwhile.
    }
    for (const t of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        // Gone meanwhile, or a kernel without the children file: the process alone counts.
      }
      for (const c of children.split(' ').filter(Boolean)) ms += walk(Number(c)) ?? 0;
    }
    return ms;
  };
  return walk(pid);
}

export interface ProcessDeadline {
  /** CPU time the process (and its children) may use while it is awaited (default 15 s). */
  cpuMs?: number;
  /** Wall-clock time it may take at most, CPU or not (default WALL_CAP_MS). */
  wallMs?: number;
}

export interface UntilProcessOptions extends ProcessDeadline {
  /** Added to the error when the wait fails (the process's output so far). */
  context?: () => string;
}

/**
 * A deadline for waiting on `child`: `left()` says why the wait is over (the process exited, used
 * its CPU budget, or the wall-clock cap passed), undefined while it may go on.
 */
export function processDeadline(child: ChildProcess, opts: ProcessDeadline = {}): { left(): string | undefined } {
  const cpuMs = opts.cpuMs ?? 15_000;
  const wallMs = opts.wallMs ?? WALL_CAP_MS;
  const t0 = Date.now();
  const cpu0 = child.pid === undefined ? undefined : treeCpuMs(child.pid);
  let checkedAt = 0;
  let over: string | undefined;
  return {
    left() {
      if (over) return over;
      const now = Date.now();
      if (child.exitCode !== null || child.signalCode !== null) return (over = `the process exited (${child.exitCode ?? child.signalCode})`);
      if (now - t0 >= wallMs) return (over = `${Math.round((now - t0) / 1000)} s passed`);
      // /proc is read at most 4 times a second.
      if (now - checkedAt < 250) return undefined;
      checkedAt = now;
      const cpu = cpu0 === undefined || child.pid === undefined ? undefined : treeCpuMs(child.pid);
      const used = cpu === undefined ? now - t0 : cpu - cpu0!;
      if (used >= cpuMs) return (over = `it used ${(used / 1000).toFixed(1)} s of CPU (${Math.round((now - t0) / 1000)} s on the clock)`);
      return undefined;
    },
  };
}

/**
 * Polls `fn` (no fixed sleeps) until it returns true, while `child` works on it: fails at once
 * when the process exits, after `cpuMs` of CPU used by it and its children, or after `wallMs`.
 */
export async function untilProcess(child: ChildProcess, fn: () => boolean | Promise<boolean>, what: string, opts: UntilProcessOptions = {}): Promise<void> {
  const deadline = processDeadline(child, opts);
  for (;;) {
    if (await fn()) return;
    const why = deadline.left();
    if (why) {
      // One last look: the process may have done it just before it exited.
      if (await fn()) return;
      throw new Error(`gave up waiting for ${what}: ${why}${opts.context ? `\n${opts.context()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
