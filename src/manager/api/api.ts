// The manager's JSON API under `<manager path>/api`, for automation (and the page's refresh):
//   GET   /api                                  everything (the page's figures, nonces included)
//   GET   /api/balancers/NAME                   one balancer
//   PATCH /api/balancers/NAME                   {lbmethod, timeout, maxattempts, nofailover, stickysession}
//   GET   /api/balancers/NAME/members/M         one member (M: route, URL or id), busy and elected included
//   PATCH /api/balancers/NAME/members/M         {lbfactor, lbset, route, redirect, status}
//   POST  /api/balancers/NAME/members           {url, …member settings}: add a member (disabled)
//   POST  /api/balancers/NAME/members/M/ACTION  drain, undrain, enable, disable
// POST works wherever PATCH does. Changes need the balancer's nonce and a same-origin Origin.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MemberChanges } from '../../balancer/balancer-state.js';
import { BodyError, readBody } from '../body.js';
import { applyChanges, ChangeError, findMember, type ChangeRequest } from './changes.js';
import { changeReports, logApplied, viewOf, type ManagerDeps } from '../deps.js';
import { checkSameOrigin, schemeOf } from '../access/origin.js';
import { sendJson } from '../respond.js';
import { loadBodies } from './load-bodies.js';
import { balancerView, memberView } from '../page/view.js';
import { balancerName } from '../page/apache-params.js';

const ACTIONS: Record<string, MemberChanges> = {
  drain: { status: { N: true } },
  undrain: { status: { N: false } },
  disable: { status: { D: true } },
  enable: { status: { D: false } },
};

function fail(res: ServerResponse, status: number, error: string): void {
  sendJson(res, status, { error, status });
}

async function jsonBody(req: IncomingMessage, allowEmpty: boolean): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === '') {
    if (allowEmpty) return {};
    throw new BodyError('the request needs a JSON body', 400);
  }
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/json')) throw new BodyError('send changes as Content-Type: application/json', 415);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BodyError(`the body is not valid JSON (${(e as Error).message})`, 400);
  }
}

/** Handles `sub` (the path below `/api`, percent-encoded). */
export async function handleApi(deps: ManagerDeps, req: IncomingMessage, res: ServerResponse, sub: string, query: URLSearchParams): Promise<void> {
  const method = req.method ?? 'GET';
  let parts: string[];
  try {
    parts = sub.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return fail(res, 400, 'bad percent-encoding in the path');
  }
  const read = method === 'GET' || method === 'HEAD';
  if (parts.length === 0) {
    if (!read) return fail(res, 405, 'GET only here; change balancers at /api/balancers/NAME');
    return sendJson(res, 200, viewOf(deps, req));
  }
  if (parts[0] !== 'balancers') return fail(res, 404, `no API resource ${sub}`);
  const config = deps.config();
  if (parts.length === 1) {
    if (!read) return fail(res, 405, 'GET only here');
    return sendJson(res, 200, viewOf(deps, req).balancers);
  }
  const b = deps.runtime.balancer(balancerName(parts[1]));
  if (!b || b.model.implicit) return fail(res, 404, `no balancer named ${parts[1]}`);
  const opts = { config, nonceOf: (n: string) => deps.nonces.of(n) };
  const m = parts.length >= 4 ? findMember(b, parts[3]) : undefined;
  if (parts.length >= 4 && !m) return fail(res, 404, `balancer ${b.name} has no member ${parts[3]}`);
  if (parts.length > 5 || (parts.length >= 3 && parts[2] !== 'members')) return fail(res, 404, `no API resource ${sub}`);

  if (read) {
    if (parts.length === 2) return sendJson(res, 200, balancerView(b, opts));
    if (parts.length === 3) return sendJson(res, 200, b.members.map(memberView));
    if (parts.length === 4) return sendJson(res, 200, memberView(m!));
    return fail(res, 405, `${parts[4]} needs POST`);
  }
  if (method !== 'POST' && method !== 'PATCH') return fail(res, 405, 'use GET to read, PATCH or POST to change');

  // Every change: same origin, then the balancer's nonce.
  const origin = checkSameOrigin(req.headers, schemeOf(req));
  if (!origin.ok) {
    deps.logger.warn({ balancer: b.name, client: req.socket.remoteAddress }, `manager API: change refused: ${origin.reason}`);
    return fail(res, 403, origin.reason);
  }
  let body: Record<string, unknown>;
  try {
    body = (await jsonBody(req, parts.length === 5)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof BodyError) return fail(res, e.status, e.message);
    throw e;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(res, 400, 'the body must be a JSON object');
  const headerNonce = req.headers['x-stickylb-nonce'];
  const nonce = (typeof headerNonce === 'string' ? headerNonce : undefined) ?? (typeof body.nonce === 'string' ? body.nonce : undefined) ?? query.get('nonce') ?? undefined;
  if (!deps.nonces.matches(b.name, nonce)) {
    const reason = nonce ? `the nonce does not match balancer ${b.name}'s` : `changes need balancer ${b.name}'s nonce (X-Stickylb-Nonce header or "nonce" field)`;
    deps.logger.warn({ balancer: b.name, client: req.socket.remoteAddress }, `manager API: change refused: ${reason}`);
    return fail(res, 403, reason);
  }

  // The body schemas (and zod) are loaded with the first change: an idle balancer does not carry them.
  const { addMemberSchema, balancerChangesOf, balancerPatchSchema, memberChangesOf, memberPatchSchema, zodMessage } = await loadBodies();
  let request: ChangeRequest;
  if (parts.length === 2) {
    const p = balancerPatchSchema.safeParse(body);
    if (!p.success) return fail(res, 400, zodMessage(p.error));
    request = { balancer: balancerChangesOf(p.data) };
  } else if (parts.length === 3) {
    if (method !== 'POST') return fail(res, 405, 'add a member with POST');
    const p = addMemberSchema.safeParse(body);
    if (!p.success) return fail(res, 400, zodMessage(p.error));
    request = { add: { url: p.data.url, changes: memberChangesOf(p.data) } };
  } else if (parts.length === 4) {
    const p = memberPatchSchema.safeParse(body);
    if (!p.success) return fail(res, 400, zodMessage(p.error));
    request = { member: { ref: m!.id, changes: memberChangesOf(p.data) } };
  } else {
    const action = ACTIONS[parts[4]];
    if (!action) return fail(res, 404, `no action ${parts[4]} (actions: ${Object.keys(ACTIONS).join(', ')})`);
    if (method !== 'POST') return fail(res, 405, `${parts[4]} needs POST`);
    request = { member: { ref: m!.id, changes: action } };
  }
  try {
    const applied = applyChanges(b, request, config);
    logApplied(deps, req, b.name, applied);
    const reports = await changeReports(deps, b.name, applied.summary);
    const target = applied.added ?? applied.member;
    sendJson(res, applied.added ? 201 : 200, {
      changed: applied.summary,
      ...(target ? { member: memberView(target) } : { balancer: balancerView(b, opts) }),
      ...Object.fromEntries(reports.map((r) => [r.key, r.value])),
    });
  } catch (e) {
    if (e instanceof ChangeError) return fail(res, e.status, e.message);
    throw e;
  }
}
