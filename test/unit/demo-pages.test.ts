import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html, raw } from '../../src/util/html.js';
import { MAX_ACTIONS, newState, register, runForm, runLink, targetOf } from '../../src/demo/state.js';
import { counterPage, formPage, routeHue, type RenderContext } from '../../src/demo/pages.js';

test('html escapes every interpolation unless it is already Html', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  const name = '<script>alert(1)</script>';
  assert.equal(String(html`<p title="${name}">${name}</p>`), '<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  assert.equal(String(html`<ul>${['a', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`), '<ul><li>a</li><li>b</li></ul>');
  assert.equal(String(html`${raw('<b>')}${undefined}${null}${false}${0}`), '<b>0');
});

test('the form moves through its steps and validates each one', () => {
  const s = newState();
  runForm(s, 'name', new URLSearchParams({ name: '  ' }));
  assert.equal(s.form.step, 'name');
  assert.match(s.form.error!, /name/);
  runForm(s, 'name', new URLSearchParams({ name: ' Ann ' }));
  assert.deepEqual([s.form.step, s.form.name, s.form.error], ['address', 'Ann', undefined]);
  runForm(s, 'address', new URLSearchParams({ street: 'Main 1', city: '' }));
  assert.equal(s.form.step, 'address');
  runForm(s, 'address', new URLSearchParams({ street: 'Main 1', city: 'Bern', op: 'back' }));
  assert.equal(s.form.step, 'name');
  runForm(s, 'name', new URLSearchParams({ name: 'Ann' }));
  runForm(s, 'address', new URLSearchParams({ street: 'Main 1', city: 'Bern' }));
  assert.equal(s.form.step, 'confirm');
  runForm(s, 'confirm', new URLSearchParams({ op: 'back' }));
  assert.equal(s.form.step, 'address');
  runForm(s, 'address', new URLSearchParams({ street: 'Main 1', city: 'Bern' }));
  runForm(s, 'confirm', new URLSearchParams({ op: 'confirm' }));
  assert.equal(s.form.step, 'done');
  runLink(s, { kind: 'restart' });
  assert.equal(s.form.step, 'name');
  // An old confirm page submitted after a restart does not confirm an empty form.
  runForm(s, 'confirm', new URLSearchParams({ op: 'confirm' }));
  assert.equal(s.form.step, 'name');
  runForm(s, 'name', new URLSearchParams({ name: 'x'.repeat(1000) }));
  assert.equal(s.form.name.length, 200);
});

test('links change the counter; action keys are bounded', () => {
  const s = newState();
  runLink(s, { kind: 'count', delta: 1 });
  runLink(s, { kind: 'count', delta: 1 });
  runLink(s, { kind: 'count', delta: -1 });
  assert.equal(s.counter, 1);
  runLink(s, { kind: 'reset' });
  assert.equal(s.counter, 0);
  const first = register(s, { kind: 'view', page: 'home' });
  for (let i = 0; i < MAX_ACTIONS; i++) register(s, { kind: 'count', delta: 1 });
  assert.equal(s.actions.size, MAX_ACTIONS);
  assert.equal(s.actions.get(first), undefined);
  assert.equal(targetOf({ kind: 'count', delta: 1 }), 'counter');
  assert.equal(targetOf({ kind: 'form', step: 'name' }), 'form');
  assert.equal(targetOf({ kind: 'end' }), 'home');
});

test('pages carry _s and _k in every link and form action, and escape user input', () => {
  const state = newState();
  const ctx: RenderContext = {
    node: { route: 'first', pid: 42, port: 8081, hostname: 'h<1>' },
    sessionId: 'abc.first',
    sessionSource: 'url',
    state,
  };
  const counter = String(counterPage(ctx));
  const hrefs = [...counter.matchAll(/href="([^"]*)"/g)].map((m) => m[1]).filter((h) => !h.startsWith('data:'));
  assert.ok(hrefs.length >= 6);
  for (const h of hrefs) assert.match(h, /^\.\/[a-z]*\?_s=abc\.first&amp;_k=[A-Za-z0-9]+$/);
  assert.match(counter, /<dd id="pid">42<\/dd>/);
  assert.match(counter, /<dd>h&lt;1&gt;<\/dd>/);
  state.form = { step: 'confirm', name: '"><img src=x>', street: 's', city: 'c' };
  const form = String(formPage(ctx));
  assert.match(form, /<form method="post" action="\.\/form\?_s=abc\.first&amp;_k=[A-Za-z0-9]+">/);
  assert.ok(form.includes('&quot;&gt;&lt;img src=x&gt;'));
  assert.ok(!form.includes('<img'));
  assert.equal(routeHue('first'), routeHue('first'));
  assert.notEqual(routeHue('first'), routeHue('second'));
});
