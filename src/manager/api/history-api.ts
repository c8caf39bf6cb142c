// The manager's live figures: a timer that samples the runtime state into a History (and asks
// each member's live-sessions endpoint, when the config names one), `<manager>/api/history` that
// serves it to the page's charts, and `<manager>/api/sections` with the current HTML of the cards
// other plugins add (the rolling restart's), so the page refreshes them with everything else.
import type { AppContext } from '../../plugin/contract.js';
import type { MemberState } from '../../balancer/member-state.js';
import { liveSessions } from '../../rolling/rolling-restart.js';
import type { Html } from '../../util/html.js';
import type { ManagerApiHandler } from '../deps.js';
import { History } from './history.js';
import { sendJson } from '../respond.js';

/** Samples `app`'s members every `history.intervalMs` until stopped. */
export class HistorySampler {
  private timer: NodeJS.Timeout | undefined;
  /** The live sessions each member reported last: `balancer\0member` → count. */
  private readonly sessions = new Map<string, number>();
  private asking = false;

  constructor(
    readonly history: History,
    private readonly app: AppContext,
  ) {}

  start(): this {
    this.timer ??= setInterval(() => this.tick(), this.history.intervalMs);
    // Figures are for people looking: they never keep the process alive.
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  tick(): void {
    const app = this.app;
    this.history.sample(app.runtime, app.runtime.clock(), (b, m) => this.sessions.get(`${b}\u0000${m.id}`));
    const path = app.config.rolling.sessionsPath;
    if (!path || this.asking) return;
    // Asked off the sample: the answers count from the next one on.
    this.asking = true;
    const members: [string, MemberState][] = app.runtime.named().flatMap((b) => b.members.map((m) => [b.name, m] as [string, MemberState]));
    void Promise.all(
      members.map(async ([b, m]) => {
        const n = await liveSessions(m, path, Math.min(1000, this.history.intervalMs));
        if (n === undefined) this.sessions.delete(`${b}\u0000${m.id}`);
        else this.sessions.set(`${b}\u0000${m.id}`, n);
      }),
    ).finally(() => (this.asking = false));
  }
}

/** `GET <manager>/api/history`: the last 15 minutes of every member. */
export function historyHandler(app: AppContext, history: History): ManagerApiHandler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'GET only', status: 405 }, { Allow: 'GET, HEAD' });
    sendJson(res, 200, history.view(app.runtime, app.runtime.clock()), { 'Cache-Control': 'no-store' });
  };
}

/** `GET <manager>/api/sections`: the cards other plugins add to the page, as they are now. */
export function sectionsHandler(sections: (path: string) => Html[]): ManagerApiHandler {
  return (req, res, ctx) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'GET only', status: 405 }, { Allow: 'GET, HEAD' });
    sendJson(res, 200, { sections: sections(ctx.handler.path.replace(/\/+$/, '') || '/').map((h) => h.value) }, { 'Cache-Control': 'no-store' });
  };
}
