// `stickylb restart --rolling`: asks a running balancer (through its manager's JSON API) to
// restart its nodes one at a time, and prints each step as it happens. Ctrl-C aborts after the
// current step; the exit code says whether every node came back.
import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import type { Command } from './command.js';
import { parse } from './args.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { call, errorOf, managerUrlFromConfig, type Target } from './manager-client.js';
import type { RollingEvent, RollingSummary } from '../rolling/rolling-restart.js';

const USAGE = `usage: stickylb restart --rolling (-c FILE | --url MANAGER_URL) [options]

  -c, --config FILE     the balancer's config (finds the manager's address in it)
  --url URL             the manager's address, e.g. http://127.0.0.1:8080/balancer-manager
  --balancer NAME       the balancer whose members to restart (default: the launcher's, or the first)
  --routes a,b          only these members
  --idle DURATION       no session request for this long means idle (default from the config, 10s)
  --max-wait DURATION   stop waiting for idleness after this long (default 5m); sessions left are lost
  --hook COMMAND        restarts a member stickylb did not start (STICKYLB_MEMBER_URL, STICKYLB_ROUTE set)
  --force               start even when a member is already unhealthy
  --user USER:PASSWORD  basic auth for the manager`;

const fmtS = (ms?: number) => (ms === undefined ? '' : ` (${(ms / 1000).toFixed(1)}s)`);

export const restartCommand: Command = {
  summary: 'rolling restart of the nodes of a running balancer',
  async run(args) {
    const { values } = parse(args, {
      rolling: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      balancer: { type: 'string' },
      routes: { type: 'string' },
      idle: { type: 'string' },
      'max-wait': { type: 'string' },
      hook: { type: 'string' },
      force: { type: 'boolean' },
      user: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.rolling) {
      console.error(`stickylb restart: only --rolling restarts are supported\n\n${USAGE}`);
      return 2;
    }
    let base: URL;
    try {
      if (values.url) base = new URL(values.url as string);
      else if (values.config) base = managerUrlFromConfig(values.config as string);
      else {
        console.error(`stickylb restart: give -c FILE or --url MANAGER_URL\n\n${USAGE}`);
        return 2;
      }
    } catch (e) {
      if (e instanceof ConfigError) for (const d of e.diagnostics) console.error(formatDiagnostic(d));
      else console.error(`stickylb restart: ${(e as Error).message}`);
      return 2;
    }
    const t: Target = { base, auth: values.user as string | undefined };

    // The nonce of the balancer, as the manager's page and API show it.
    let state: { balancers?: { name: string; nonce?: string }[] };
    try {
      const r = await call(t, 'GET', '/api');
      if (r.status !== 200) {
        console.error(`stickylb restart: ${base.href}/api answered ${r.status}: ${errorOf(r.text)}`);
        return 1;
      }
      state = JSON.parse(r.text);
    } catch (e) {
      console.error(`stickylb restart: cannot reach the manager at ${base.href}: ${(e as Error).message}`);
      return 1;
    }
    const balancers = state.balancers ?? [];
    let name = values.balancer as string | undefined;
    if (!name) {
      const r = await call(t, 'GET', '/api/rolling');
      name = r.status === 200 ? (JSON.parse(r.text) as { balancer?: string }).balancer : undefined;
    }
    const nonceOf = (b: string) => balancers.find((x) => x.name.toLowerCase() === b.toLowerCase())?.nonce;

    const start = await call(t, 'POST', '/api/rolling', {
      ...(name ? { balancer: name } : {}),
      nonce: nonceOf(name ?? '') ?? '',
      ...(values.force ? { force: true } : {}),
      ...(values.routes ? { routes: (values.routes as string).split(',').filter(Boolean) } : {}),
      ...(values.idle ? { idle: values.idle } : {}),
      ...(values['max-wait'] ? { maxWait: values['max-wait'] } : {}),
      ...(values.hook ? { hook: values.hook } : {}),
    });
    if (start.status !== 202) {
      console.error(`stickylb restart: not started: ${errorOf(start.text)}`);
      return 1;
    }
    const started = JSON.parse(start.text) as { balancer?: string };
    const balancer = started.balancer ?? name ?? '';
    const nonce = nonceOf(balancer) ?? '';

    const tty = process.stdout.isTTY === true;
    let abortSent = false;
    const onSigint = () => {
      if (abortSent) return;
      abortSent = true;
      console.log('\naborting after the current step…');
      void call(t, 'POST', '/api/rolling/abort', { balancer, nonce });
    };
    process.on('SIGINT', onSigint);

    let rl: readline.Interface | undefined;
    const summary = await new Promise<RollingSummary | undefined>((resolve, reject) => {
      const url = new URL(base.pathname.replace(/\/+$/, '') + '/api/rolling?follow=1', base);
      const lib = url.protocol === 'https:' ? https : http;
      const req = lib.get(url, { headers: t.auth ? { Authorization: `Basic ${Buffer.from(t.auth).toString('base64')}` } : {} }, (res) => {
        let buf = '';
        let last: RollingSummary | undefined;
        let progressLine = false;
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            const msg = JSON.parse(line) as { event?: RollingEvent; summary?: RollingSummary; waitingForOperator?: boolean };
            if (msg.summary) last = msg.summary;
            const e = msg.event;
            if (!e) continue;
            const text = `${new Date(e.at).toISOString().slice(11, 19)}  ${e.route || e.member}  ${e.step.padEnd(12)} ${e.message}${fmtS(e.waitedMs)}`;
            // On a terminal, repeated "still waiting" lines update one progress line.
            if (tty && e.step === 'wait-idle' && /^waiting/.test(e.message)) {
              process.stdout.write(`\r\x1b[K${text}`);
              progressLine = true;
              continue;
            }
            if (progressLine) process.stdout.write('\n');
            progressLine = false;
            console.log(text);
            if (e.step === 'wait-operator') {
              rl ??= readline.createInterface({ input: process.stdin });
              console.log('  press Enter once the member runs again (Ctrl-C aborts)');
              rl.once('line', () => void call(t, 'POST', '/api/rolling/continue', { balancer, nonce }));
            }
          }
        });
        res.on('end', () => resolve(last));
        res.on('error', reject);
      });
      req.on('error', reject);
    }).catch((e: Error) => {
      console.error(`stickylb restart: lost the connection to the manager: ${e.message}`);
      return undefined;
    });
    rl?.close();
    process.off('SIGINT', onSigint);
    if (!summary) return 1;
    console.log('');
    for (const n of summary.nodes) {
      const lost = n.sessionsLost === undefined ? 'unknown' : String(n.sessionsLost);
      console.log(`  ${n.route || n.member}: ${n.ok ? 'restarted' : 'FAILED'} in ${(n.timeMs / 1000).toFixed(1)}s; sessions lost: ${lost}${n.sessionsAtDrain !== undefined ? ` of ${n.sessionsAtDrain}` : ''}`);
    }
    for (const n of summary.notEnabled) console.log(`  not enabled: ${n.route || n.member} (${n.why})`);
    console.log(`${summary.ok ? 'done' : 'not done'}: ${summary.message} (${(summary.timeMs / 1000).toFixed(1)}s)`);
    return summary.ok ? 0 : 1;
  },
};
