// The bodies of the manager's JSON API changes (PATCH and POST under `<manager>/api/balancers`):
// their schemas and what they change. Loaded by api.ts with the first change, so that zod stays
// out of a balancer nobody changes through the API.
import { z } from 'zod';
import type { BalancerChanges, MemberChanges } from '../../balancer/balancer-state.js';
import { STATUS_LETTERS, type Lbmethod, type StatusLetter } from '../../config/model.js';
import { parseStickyText } from './changes.js';

const statusSchema = z.union([
  z.string().regex(/^([+-]?[INDHRSCinhdrsc])+$/, 'status flags such as "+D", "-N", "+N-D"'),
  z.partialRecord(z.enum(STATUS_LETTERS), z.boolean()),
]);

const memberFields = {
  nonce: z.string().optional(),
  lbfactor: z.number().optional(),
  lbset: z.number().optional(),
  route: z.string().optional(),
  redirect: z.string().optional(),
  status: statusSchema.optional(),
};

export const memberPatchSchema = z.object(memberFields).strict();
export const addMemberSchema = z.object({ ...memberFields, url: z.string().min(1) }).strict();
export const balancerPatchSchema = z
  .object({
    nonce: z.string().optional(),
    lbmethod: z.string().optional(),
    /** Seconds to wait for a usable member. */
    timeout: z.number().optional(),
    /** null: back to the default (members - 1). */
    maxattempts: z.number().nullable().optional(),
    nofailover: z.boolean().optional(),
    stickysession: z.union([z.string(), z.null(), z.object({ cookie: z.string().optional(), url: z.string().optional() }).strict()]).optional(),
  })
  .strict();

/** `+D-N` → {D: true, N: false}; a leading unsigned letter sets, as Apache's status= does. */
export function statusChanges(spec: z.infer<typeof statusSchema>): Partial<Record<StatusLetter, boolean>> {
  if (typeof spec !== 'string') return spec;
  const out: Partial<Record<StatusLetter, boolean>> = {};
  let on = true;
  for (const ch of spec) {
    if (ch === '+') on = true;
    else if (ch === '-') on = false;
    else out[ch.toUpperCase() as StatusLetter] = on;
  }
  return out;
}

export function memberChangesOf(body: z.infer<typeof memberPatchSchema>): MemberChanges {
  const c: MemberChanges = {};
  if (body.lbfactor !== undefined) c.lbfactor = body.lbfactor;
  if (body.lbset !== undefined) c.lbset = body.lbset;
  if (body.route !== undefined) c.route = body.route;
  if (body.redirect !== undefined) c.redirect = body.redirect;
  if (body.status !== undefined) c.status = statusChanges(body.status);
  return c;
}

export function balancerChangesOf(body: z.infer<typeof balancerPatchSchema>): BalancerChanges {
  const c: BalancerChanges = {};
  if (body.lbmethod !== undefined) c.lbmethod = body.lbmethod as Lbmethod;
  if (body.timeout !== undefined) c.timeoutMs = body.timeout * 1000;
  if (body.maxattempts !== undefined) c.maxattempts = body.maxattempts;
  if (body.nofailover !== undefined) c.nofailover = body.nofailover;
  if (body.stickysession !== undefined) {
    const s = body.stickysession;
    c.sticky = s === null ? undefined : typeof s === 'string' ? parseStickyText(s) : { cookie: s.cookie, url: s.url };
  }
  return c;
}

export function zodMessage(e: z.ZodError): string {
  return e.issues
    .map((i) => {
      const where = i.path.length ? i.path.join('.') : 'body';
      if (i.code === 'unrecognized_keys') return `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
      return `${where}: ${i.message}`;
    })
    .join('; ');
}
