// `stickylb reload [--upgrade]`: asks a running balancer (through its manager's JSON API, found as
// `stickylb restart --rolling` finds it) to read its config file again, as SIGHUP does, or with
// --upgrade to replace its worker processes with ones on the stickylb installed now. Waits until
// the previous workers have finished their requests and exited, and prints what happened.
import type { Command } from './command.js';
import { parse } from './args.js';
import { ConfigError, durationMs, formatDiagnostic } from '../config/diagnostics.js';
import { call, errorOf, managerUrlFromConfig, type Target } from './manager-client.js';
import type { WorkersView } from '../workers/owner.js';

const USAGE = `usage: stickylb reload [--upgrade] (-c FILE | --url MANAGER_URL) [options]

Reads the running balancer's config file again (as SIGHUP does). With --upgrade, starts new
worker processes on the stickylb installed now; the previous ones finish their requests and
keep-alive connections and exit. No connection is refused.

  -c, --config FILE     the balancer's config (finds the manager's address in it)
  --url URL             the manager's address, e.g. http://127.0.0.1:8080/balancer-manager
  --upgrade             replace the worker processes with ones on the installed code
  --wait DURATION       how long to wait for the previous workers to exit (default 60s; 0: do not wait)
  --user USER:PASSWORD  basic auth for the manager`;

export const reloadCommand: Command = {
  summary: 'reload the config of a running balancer, or upgrade its workers to the installed code',
  async run(args) {
    const { values } = parse(args, {
      upgrade: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      wait: { type: 'string' },
      user: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    let base: URL;
    try {
      if (values.url) base = new URL(values.url as string);
      else if (values.config) base = managerUrlFromConfig(values.config as string);
      else {
        console.error(`stickylb reload: give -c FILE or --url MANAGER_URL\n\n${USAGE}`);
        return 2;
      }
    } catch (e) {
      if (e instanceof ConfigError) for (const d of e.diagnostics) console.error(formatDiagnostic(d));
      else console.error(`stickylb reload: ${(e as Error).message}`);
      return 2;
    }
    const waitMs = durationMs(values.wait as string | undefined, 60_000);
    const t: Target = { base, auth: values.user as string | undefined };
    let nonce = '';
    let balancer: string | undefined;
    try {
      const r = await call(t, 'GET', '/api');
      if (r.status !== 200) {
        console.error(`stickylb reload: ${base.href}/api answered ${r.status}: ${errorOf(r.text)}`);
        return 1;
      }
      const first = (JSON.parse(r.text) as { balancers?: { name: string; nonce?: string }[] }).balancers?.[0];
      balancer = first?.name;
      nonce = first?.nonce ?? '';
    } catch (e) {
      console.error(`stickylb reload: cannot reach the manager at ${base.href}: ${(e as Error).message}`);
      return 1;
    }
    const upgrade = values.upgrade === true;
    const r = await call(t, 'POST', '/api/reload', { nonce, ...(balancer ? { balancer } : {}), ...(upgrade ? { upgrade: true } : {}) }).catch((e: Error) => ({ status: 0, text: JSON.stringify({ error: e.message }) }));
    if (r.status !== 200) {
      console.error(`stickylb reload: ${upgrade ? 'upgrade' : 'reload'} not done: ${errorOf(r.text)}`);
      return 1;
    }
    const answer = JSON.parse(r.text) as { message: string; generation?: number; workers: WorkersView };
    console.log(answer.message);
    if (!upgrade && answer.workers.count === 0) return 0;
    // The previous workers finish what they have, then exit.
    const generation = answer.workers.generation;
    const deadline = Date.now() + waitMs;
    let view = answer.workers;
    while (view.workers.some((w) => w.generation < generation) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      const s = await call(t, 'GET', '/api/workers').catch(() => undefined);
      if (s?.status === 200) view = JSON.parse(s.text) as WorkersView;
    }
    for (const w of view.workers) console.log(`  worker ${w.index}: pid ${w.pid}, generation ${w.generation}, ${w.phase}, stickylb ${w.version}`);
    const left = view.workers.filter((w) => w.generation < generation);
    if (left.length) {
      console.log(`${left.length} previous worker(s) still finishing requests: ${left.map((w) => w.pid).join(', ')}`);
      return waitMs === 0 ? 0 : 1;
    }
    return 0;
  },
};
