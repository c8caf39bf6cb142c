// A built-in handler whose module is imported when the config serves it (at setup and on reload)
// or, at the latest, with its first request; once. A balancer without a manager or server-status
// location does not carry their pages.
import type { HandlerFn } from '../proxy/server.js';

export interface LazyHandler {
  /** What the server calls: the handler, once its module is loaded. */
  readonly fn: HandlerFn;
  /** Loads the module now (a failed load is tried again on the next call). */
  load(): Promise<HandlerFn>;
}

export function lazyHandler(make: () => Promise<HandlerFn>): LazyHandler {
  let made: HandlerFn | undefined;
  let making: Promise<HandlerFn> | undefined;
  const load = (): Promise<HandlerFn> =>
    (making ??= make().then(
      (fn) => (made = fn),
      (e: unknown) => {
        making = undefined;
        throw e;
      },
    ));
  return { load, fn: (req, res, ctx) => (made ? made(req, res, ctx) : load().then((fn) => fn(req, res, ctx))) };
}
