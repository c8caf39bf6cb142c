// The one validation gate: schema check with readable messages, then resolution to the model.
import { z } from 'zod';
import { configSchema, type RawConfig } from './schema.js';
import type { ConfigModel } from './model.js';
import { resolveConfig } from './resolve.js';
import { ConfigError, formatPath, type Diagnostic, type SourceMap } from './diagnostics.js';

export type { SourceMap };

/** Finds the sub-schema at a config path, to say what it accepts. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let cur: any = schema;
  for (const key of path) {
    cur = unwrap(cur);
    if (!cur) return undefined;
    const t = cur.def?.type;
    if (t === 'object') cur = cur.def.shape[key as string];
    else if (t === 'array') cur = cur.def.element;
    else if (t === 'record') cur = cur.def.valueType;
    else if (t === 'union') {
      cur = cur.def.options.map((o: any) => unwrap(o)).find((o: any) => o?.def?.type === 'object' && key in o.def.shape)
        ?.def.shape[key as string];
    } else return undefined;
  }
  return unwrap(cur);
}

function unwrap(s: any): any {
  while (s && ['optional', 'default', 'nullable', 'pipe', 'readonly'].includes(s.def?.type)) {
    s = s.def.type === 'pipe' ? s.def.in : s.def.innerType;
  }
  return s;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'a list' : 'a mapping';
  return String(v);
}

function numberBounds(s: any): string {
  const lo = s?.minValue;
  const hi = s?.maxValue;
  const fin = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (fin(lo) && fin(hi)) return `${lo}..${hi}`;
  if (fin(lo)) return `>= ${lo}`;
  if (fin(hi)) return `<= ${hi}`;
  return 'a number';
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

function describeIssue(issue: any): string {
  const leaf: any = schemaAt(configSchema, issue.path);
  const input = issue.input;
  switch (issue.code) {
    case 'too_big':
    case 'too_small':
      if (issue.origin === 'number') return `${show(input)} is out of range ${numberBounds(leaf)}`;
      if (issue.origin === 'string') {
        return issue.code === 'too_big'
          ? `${show(input)} is too long (at most ${issue.maximum} characters)`
          : `${show(input)} is too short (at least ${issue.minimum} character${issue.minimum === 1 ? '' : 's'})`;
      }
      return `has too ${issue.code === 'too_big' ? 'many' : 'few'} entries`;
    case 'invalid_value':
      return `${show(input)} is not accepted (accepted: ${issue.values.map((v: unknown) => String(v)).join(', ')})`;
    case 'invalid_type': {
      const want = issue.expected === 'number' && leaf?.isInt ? 'an integer' : issue.expected;
      if (issue.expected === 'number' && typeof input === 'number') return `${show(input)} must be an integer`;
      const desc = leaf?.description ? ` (${leaf.description})` : '';
      return input === undefined ? `is required${desc}` : `${show(input)} is not ${article(want)}${desc}`;
    }
    case 'unrecognized_keys': {
      const shape = leaf?.def?.type === 'object' ? Object.keys(leaf.def.shape) : [];
      return issue.keys
        .map((k: string) => {
          const near = closest(k, shape);
          return `unknown setting "${k}"${near ? ` (did you mean "${near}"?)` : ''}; accepted: ${shape.join(', ')}`;
        })
        .join('; ');
    }
    case 'invalid_format':
    case 'invalid_string':
      return `${show(input)} ${issue.message.startsWith('must') ? issue.message : `is not valid${leaf?.description ? `: ${leaf.description}` : ''}`}`;
    case 'invalid_union': {
      const desc = leaf?.description;
      return `${show(input)} is not accepted${desc ? ` (accepted: ${desc})` : ''}`;
    }
    case 'custom':
      return `${show(input)} ${issue.message}`;
    default:
      return `${show(input)}: ${issue.message}`;
  }
}

function article(w: string): string {
  return /^[aeiou]/.test(w) ? `an ${w}` : `a ${w}`;
}

/**
 * Validates a raw config object and resolves it to the model. Throws ConfigError listing every
 * problem (each with its config path, and file:line when the front end recorded it).
 */
export function validateConfig(raw: unknown, opts: { source?: string; sourceMap?: SourceMap } = {}): ConfigModel {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const diags: Diagnostic[] = parsed.error.issues.map((issue) => {
      const path = formatPath(issue.path);
      const loc = lookupSource(opts.sourceMap, issue.path);
      return {
        severity: 'error',
        file: loc?.file ?? opts.source,
        line: loc?.line,
        directive: loc?.directive,
        path,
        message: `${path}: ${describeIssue(issue)}`,
      };
    });
    throw new ConfigError(diags);
  }
  return resolveConfig(parsed.data as RawConfig, opts);
}

function lookupSource(map: SourceMap | undefined, path: readonly PropertyKey[]) {
  if (!map) return undefined;
  for (let n = path.length; n >= 0; n--) {
    const hit = map.get(formatPath(path.slice(0, n)));
    if (hit) return hit;
  }
  return undefined;
}
