// The model of a member added at run time (Apache: "Add New Worker"): the URL plus the server's
// defaults, as Apache copies its server-wide settings into a new worker. Health checks follow the
// balancer's when every configured member has the same ones.
import type { BalancerState } from '../../balancer/balancer-state.js';
import { noFlags, type ConfigModel, type MemberModel } from '../../config/model.js';
import { DEFAULTS } from '../../config/defaults.js';
import { memberKey } from '../../config/member-url.js';

const URL_RE = /^(https?|wss?):\/\/[^/\s]+(\/\S*)?$/i;

export function newMemberModel(url: string, b: BalancerState, config: ConfigModel): MemberModel {
  const text = url.trim();
  if (!URL_RE.test(text)) throw new Error(`new member "${url}" must be an http:// or https:// URL with a host`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`new member "${url}" is not a valid URL`);
  }
  const https = u.protocol === 'https:' || u.protocol === 'wss:';
  const configured = b.model.members;
  const healths = configured.map((m) => JSON.stringify(m.health ?? null));
  const shared = configured.length > 0 && healths.every((h) => h === healths[0]) ? configured[0].health : undefined;
  return {
    id: memberKey(text),
    url: text,
    protocol: https ? 'https:' : 'http:',
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || (https ? 443 : 80)),
    basePath: u.pathname.replace(/\/+$/, ''),
    route: '',
    loadfactor: 1,
    lbset: 0,
    redirect: '',
    retryMs: DEFAULTS.retryMs,
    timeoutMs: config.timeoutMs,
    connectTimeoutMs: DEFAULTS.connectTimeoutMs,
    max: 256,
    keepalive: true,
    disablereuse: false,
    status: noFlags(),
    slowstartMs: configured[0]?.slowstartMs ?? 0,
    health: shared ? { ...shared } : undefined,
  };
}
