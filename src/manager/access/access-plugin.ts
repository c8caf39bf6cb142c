// Protection of the built-in handlers (manager, server-status, metrics), installed as the server's
// accessCheck so every handler gets it: the address rules first, then basic auth when the handler
// names an htpasswd file. Safe by default: without rules, only loopback clients get in.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from '../../plugin/contract.js';
import type { HandlerModel } from '../../config/model.js';
import { decideAccess, parseRule, type AccessRule, type ReverseLookup } from './access-rules.js';
import { HtpasswdFile } from '../../edge/htpasswd.js';
import { sendText } from '../respond.js';
import { sectionAccess } from '../../edge/gate.js';
import { DnsCache, doubleReverse } from '../../edge/dns-cache.js';
import type { RequestRecord } from '../../proxy/core/record.js';

interface Compiled {
  allow: AccessRule[];
  deny: AccessRule[];
}

export interface AccessPluginOptions {
  /** Replaces DNS for `host` rules (tests). */
  reverseLookup?: ReverseLookup;
}

export function accessPlugin(opts: AccessPluginOptions = {}): Plugin {
  return {
    name: 'access',
    setup(app) {
      const compiled = new WeakMap<HandlerModel, Compiled>();
      const files = new Map<string, HtpasswdFile>();
      // Host rules: the edge's double-reverse lookup (Apache's), cached for a minute.
      const names = new DnsCache(doubleReverse);
      const reverse = opts.reverseLookup ?? ((addr: string) => names.fetch(addr));
      const log = app.logger;

      const rulesOf = (h: HandlerModel): Compiled => {
        let c = compiled.get(h);
        if (!c) {
          c = { allow: h.allow.map(parseRule), deny: h.deny.map(parseRule) };
          for (const r of [...c.allow, ...c.deny]) {
            if (r.kind === 'invalid') log.error({ handler: h.handler, path: h.path, rule: r.text }, `${h.path}: access rule "${r.text}" is invalid: ${r.reason}`);
          }
          compiled.set(h, c);
        }
        return c;
      };

      app.server.accessCheck = async (req: IncomingMessage, res: ServerResponse, h: HandlerModel, record?: RequestRecord) => {
        // The real client: behind declared proxies, the address they vouch for.
        const remote = record?.clientAddress ?? req.socket.remoteAddress ?? '';
        if (h.access) {
          const v = await app.server.edge.decide(sectionAccess(h.access), {
            method: req.method ?? 'GET',
            authorization: req.headers.authorization,
            client: remote,
            local: req.socket.localAddress,
          });
          if (v.ok) {
            if (v.user !== undefined && record) record.user = v.user;
            return true;
          }
          log.warn({ handler: h.handler, path: h.path, client: remote }, `${h.path}: access refused: ${v.reason}`);
          sendText(res, v.status, v.status === 403 ? `Forbidden: ${remote} may not use ${h.path}.` : v.text, Object.fromEntries(v.headers ?? []));
          return false;
        }
        const { allow, deny } = rulesOf(h);
        const decision = await decideAccess(allow, deny, { remote, local: req.socket.localAddress }, reverse);
        if (!decision.allowed) {
          log.warn({ handler: h.handler, path: h.path, client: remote }, `${h.path}: access refused: ${decision.reason}`);
          sendText(res, 403, `Forbidden: ${remote} may not use ${h.path}.`);
          return false;
        }
        if (!h.htpasswd) return true;
        let file = files.get(h.htpasswd);
        if (!file) {
          file = new HtpasswdFile(h.htpasswd, { warn: (m) => log.error({ handler: h.handler, htpasswd: h.htpasswd }, m) });
          files.set(h.htpasswd, file);
        }
        const auth = await file.check(req.headers.authorization);
        if (!auth.ok) {
          if (req.headers.authorization) log.warn({ handler: h.handler, path: h.path, client: remote }, `${h.path}: authentication refused: ${auth.reason}`);
          const realm = h.realm.replace(/["\\]/g, '');
          sendText(res, 401, req.headers.authorization ? 'Unauthorized: wrong user name or password.' : 'Unauthorized: log in to use this page.', {
            'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"`,
          });
          return false;
        }
        return true;
      };
    },
  };
}
