// Server-rendered pages of the demo. Rendering registers the action keys of the links and forms it
// draws (as Seaside does), otherwise it only turns state into escaped HTML.
import { html, raw, type Html } from '../util/html.js';
import { STYLESHEET } from './style.js';
import { register, type Action, type DemoState, type FormStep, type Page } from './state.js';

export interface NodeInfo {
  route: string;
  pid: number;
  port: number;
  hostname: string;
}

export interface RenderContext {
  node: NodeInfo;
  sessionId: string;
  /** How the request found its session: `url`, `cookie`, or `new`. */
  sessionSource: 'url' | 'cookie' | 'new';
  state: DemoState;
}

/** Relative, so the app also works when the balancer mounts it under a path prefix. */
export const PAGE_PATHS: Record<Page, string> = { home: './', counter: './counter', form: './form' };

/** The URL of an action: the page it leads to, the session key `_s` and the action key `_k`. */
export function actionUrl(ctx: RenderContext, action: Action, page: Page): string {
  const k = register(ctx.state, action);
  return `${PAGE_PATHS[page]}?_s=${encodeURIComponent(ctx.sessionId)}&_k=${k}`;
}

/** A hue per route, so each node's pages look different at a glance. */
export function routeHue(route: string): number {
  let h = 0;
  for (let i = 0; i < route.length; i++) h = (h * 31 + route.charCodeAt(i)) % 360;
  return (h * 7 + 200) % 360;
}

function layout(ctx: RenderContext, page: Page, title: string, body: Html): Html {
  const { node } = ctx;
  const nav = (['home', 'counter', 'form'] as const).map((p) => {
    const label = p === 'home' ? 'Home' : p === 'counter' ? 'Counter' : 'Form';
    return html`<a href="${actionUrl(ctx, { kind: 'view', page: p }, p)}"${p === page ? raw(' aria-current="page"') : ''}>${label}</a>`;
  });
  const notice = ctx.state.notice ? html`<p class="notice" role="status">${ctx.state.notice}</p>` : '';
  ctx.state.notice = undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="stickylb-route" content="${node.route}">
<title>${title} · node ${node.route}</title>
<link rel="icon" href="data:,">
<style>${raw(STYLESHEET)}</style>
</head>
<body style="--hue: ${routeHue(node.route)}" data-route="${node.route}" data-pid="${node.pid}" data-port="${node.port}" data-session="${ctx.sessionId}">
<header><h1>stickylb demo</h1><nav>${nav}</nav></header>
<main>
${notice}
${body}
</main>
<footer>
<dl>
<dt>node</dt><dd id="node">${node.route}</dd>
<dt>route</dt><dd id="route">${node.route}</dd>
<dt>pid</dt><dd id="pid">${node.pid}</dd>
<dt>port</dt><dd id="port">${node.port}</dd>
<dt>host</dt><dd>${node.hostname}</dd>
<dt>session</dt><dd id="session">${ctx.sessionId}</dd>
<dt>found by</dt><dd id="session-source">${ctx.sessionSource}</dd>
</dl>
</footer>
</body>
</html>
`;
}

export function homePage(ctx: RenderContext): Html {
  return layout(
    ctx,
    'home',
    'Home',
    html`<section class="card">
<h2>A stateful application behind a sticky balancer</h2>
<p>Everything this page remembers about you lives only in the memory of node <strong>${ctx.node.route}</strong>.
Its session key ends in <code>.${ctx.node.route}</code>, which is how the balancer sends you back here.</p>
<p>The key travels in every link as <code>_s</code> (and in a cookie of the same name when cookies are on), so the
application keeps working with cookies disabled.</p>
<div class="actions">
<a class="button" href="${actionUrl(ctx, { kind: 'view', page: 'counter' }, 'counter')}">Counter</a>
<a class="button" href="${actionUrl(ctx, { kind: 'view', page: 'form' }, 'form')}">Multi-step form</a>
<a class="button secondary" href="${actionUrl(ctx, { kind: 'end' }, 'home')}">End session</a>
</div>
</section>`,
  );
}

export function counterPage(ctx: RenderContext): Html {
  return layout(
    ctx,
    'counter',
    'Counter',
    html`<section class="card">
<h2>Counter</h2>
<output id="count" class="count" aria-live="polite">${ctx.state.counter}</output>
<div class="actions">
<a class="button" id="increment" href="${actionUrl(ctx, { kind: 'count', delta: 1 }, 'counter')}">++</a>
<a class="button" id="decrement" href="${actionUrl(ctx, { kind: 'count', delta: -1 }, 'counter')}">--</a>
<a class="button secondary" id="reset" href="${actionUrl(ctx, { kind: 'reset' }, 'counter')}">Reset</a>
</div>
</section>`,
  );
}

const STEP_LABELS: Record<FormStep, string> = { name: 'Name', address: 'Address', confirm: 'Confirm', done: 'Done' };

function steps(current: FormStep): Html {
  const items = (Object.keys(STEP_LABELS) as FormStep[]).map(
    (s) => html`<li${s === current ? raw(' aria-current="step"') : ''}>${STEP_LABELS[s]}</li>`,
  );
  return html`<ol class="steps">${items}</ol>`;
}

export function formPage(ctx: RenderContext): Html {
  const f = ctx.state.form;
  const error = f.error ? html`<p class="error" role="alert">${f.error}</p>` : '';
  let body: Html;
  if (f.step === 'name') {
    body = html`<form method="post" action="${actionUrl(ctx, { kind: 'form', step: 'name' }, 'form')}">
<label for="name">Your name</label>
<input type="text" id="name" name="name" value="${f.name}" autocomplete="name" autofocus>
${error}
<p class="actions"><button type="submit" name="op" value="next">Next</button></p>
</form>`;
  } else if (f.step === 'address') {
    body = html`<form method="post" action="${actionUrl(ctx, { kind: 'form', step: 'address' }, 'form')}">
<label for="street">Street</label>
<input type="text" id="street" name="street" value="${f.street}" autocomplete="street-address" autofocus>
<label for="city">City</label>
<input type="text" id="city" name="city" value="${f.city}" autocomplete="address-level2">
${error}
<p class="actions"><button type="submit" class="secondary" name="op" value="back">Back</button>
<button type="submit" name="op" value="next">Next</button></p>
</form>`;
  } else if (f.step === 'confirm') {
    body = html`<form method="post" action="${actionUrl(ctx, { kind: 'form', step: 'confirm' }, 'form')}">
<dl class="summary" id="summary">
<dt>Name</dt><dd id="summary-name">${f.name}</dd>
<dt>Street</dt><dd id="summary-street">${f.street}</dd>
<dt>City</dt><dd id="summary-city">${f.city}</dd>
</dl>
<p class="actions"><button type="submit" class="secondary" name="op" value="back">Back</button>
<button type="submit" name="op" value="confirm">Confirm</button></p>
</form>`;
  } else {
    body = html`<p id="done">Thank you, <strong>${f.name}</strong>. Confirmed by node <strong>${ctx.node.route}</strong>.</p>
<p class="actions"><a class="button" href="${actionUrl(ctx, { kind: 'restart' }, 'form')}">Start again</a></p>`;
  }
  return layout(
    ctx,
    'form',
    'Form',
    html`<section class="card">
<h2>Multi-step form</h2>
${steps(f.step)}
<div id="step" data-step="${f.step}">${body}</div>
</section>`,
  );
}

export function notFoundPage(path: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title><link rel="icon" href="data:,"></head>
<body><h1>Not found</h1><p>There is no page at <code>${path}</code>. Try <a href="./">the home page</a>.</p></body></html>
`;
}
