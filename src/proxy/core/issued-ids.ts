// The session ids a member's answer issues: the sticky cookie in Set-Cookie and the sticky URL
// parameter in Location. Read by the failover core to verify that each member issues ids with
// its own route, and by `stickylb check --probe`. Pure; it reads the answer's fields where the
// transport keeps them (name/value pairs, or the lean engine's positions in the head text)
// without building header objects, and only compares names of the two lengths it looks for.
import type { StickyNames } from '../../config/model.js';
import { urlParam } from '../../cluster/session-param.js';
import { eqLower } from '../h1/chars.js';
import { STRIDE } from '../h1/head-fields.js';

/** An answer's header fields: flat name/value pairs, or positions in the head text (HeadFields). */
export type AnswerFields = readonly string[] | { readonly text: string; readonly at: readonly number[]; readonly count: number };

export interface IssuedId {
  /** Where the id was: the sticky cookie, or the sticky URL parameter of a redirect. */
  where: 'cookie' | 'url';
  /** The cookie or parameter name. */
  name: string;
  value: string;
}

/** The value a Set-Cookie field gives cookie `name`, unless it deletes the cookie or names another. */
export function setCookieValue(field: string, name: string): string | undefined {
  const eq = field.indexOf('=');
  if (eq < 0 || field.slice(0, eq).trim() !== name) return undefined;
  const semi = field.indexOf(';', eq);
  let v = (semi < 0 ? field.slice(eq + 1) : field.slice(eq + 1, semi)).trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  if (!v) return undefined;
  // A cookie sent to be removed is no id the member issues.
  if (semi >= 0 && /;\s*max-age\s*=\s*(0|-\d+)\s*(;|$)/i.test(field)) return undefined;
  return v;
}

function take(out: IssuedId[] | undefined, where: IssuedId['where'], name: string, value: string | undefined): IssuedId[] | undefined {
  if (value === undefined) return out;
  (out ??= []).push({ where, name, value });
  return out;
}

/**
 * The session ids in an answer's Set-Cookie (cookie `names.cookie`) and Location (URL parameter
 * `names.url`) fields, in field order; undefined when there is none.
 */
export function issuedIds(fields: AnswerFields, names: StickyNames, scolonpathdelim: boolean): IssuedId[] | undefined {
  const cookie = names.cookie;
  const url = names.url;
  let out: IssuedId[] | undefined;
  if (Array.isArray(fields)) {
    const pairs = fields as readonly string[];
    for (let i = 0; i < pairs.length; i += 2) {
      const n = pairs[i];
      if (n.length === 10 && cookie && n.toLowerCase() === 'set-cookie') out = take(out, 'cookie', cookie, setCookieValue(pairs[i + 1], cookie));
      else if (n.length === 8 && url && n.toLowerCase() === 'location') out = take(out, 'url', url, urlParam(pairs[i + 1], url, scolonpathdelim));
    }
    return out;
  }
  const f = fields as Exclude<AnswerFields, readonly string[]>;
  const { text, at } = f;
  for (let i = 0; i < f.count; i++) {
    const start = at[i * STRIDE];
    const len = at[i * STRIDE + 1] - start;
    if (len !== 10 && len !== 8) continue;
    const value = () => text.slice(at[i * STRIDE + 2], at[i * STRIDE + 3]);
    if (len === 10 && cookie && eqLower(text, start, start + 10, 'set-cookie')) out = take(out, 'cookie', cookie, setCookieValue(value(), cookie));
    else if (len === 8 && url && eqLower(text, start, start + 8, 'location')) out = take(out, 'url', url, urlParam(value(), url, scolonpathdelim));
  }
  return out;
}
