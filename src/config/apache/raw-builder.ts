// Builds the raw config object while recording, for every path in it, the file:line and
// directive it came from, so errors found later by the schema can point at the config line.
import { formatPath, type SourceMap } from '../diagnostics.js';
import type { Loc } from './access.js';

export type Path = (string | number)[];

/** Sets an own property, also for names such as "__proto__" (a balancer may be called that). */
function assign(obj: any, key: string | number, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

export class RawBuilder {
  readonly raw: Record<string, unknown> = {};
  readonly sourceMap: SourceMap = new Map();

  /** Sets a value (creating the objects and arrays on the way) and records where it came from. */
  set(path: Path, value: unknown, at: Loc): void {
    let cur: any = this.raw;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i];
      if (!Object.hasOwn(cur, key)) {
        assign(cur, key, typeof path[i + 1] === 'number' ? [] : {});
        this.note(path.slice(0, i + 1), at, false);
      }
      cur = cur[key];
    }
    assign(cur, path[path.length - 1], value);
    this.recordTree(path, value, at);
  }

  /** Appends to the array at `path` and returns the new element's index. */
  push(path: Path, value: unknown, at: Loc): number {
    const arr = this.get(path);
    const index = Array.isArray(arr) ? arr.length : 0;
    this.set([...path, index], value, at);
    return index;
  }

  get(path: Path): unknown {
    let cur: any = this.raw;
    for (const key of path) {
      if (cur === undefined || cur === null || !Object.hasOwn(cur, key)) return undefined;
      cur = cur[key];
    }
    return cur;
  }

  /** Records a location for a path without touching the value (first record wins unless forced). */
  note(path: Path, at: Loc, overwrite = true): void {
    const key = formatPath(path);
    if (overwrite || !this.sourceMap.has(key)) this.sourceMap.set(key, { file: at.file, line: at.line, directive: at.directive });
  }

  private recordTree(path: Path, value: unknown, at: Loc): void {
    this.note(path, at);
    if (Array.isArray(value)) value.forEach((v, i) => this.recordTree([...path, i], v, at));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) this.recordTree([...path, k], v, at);
  }
}
