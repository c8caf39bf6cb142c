// The demo's whole stylesheet, inlined in every page: no external assets to proxy or cache.
export const STYLESHEET = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
/* On body, where the per-route --hue is set, so that var() resolves. */
body { --accent: hsl(var(--hue, 210) 55% 42%); --accent-soft: hsl(var(--hue, 210) 60% 95%); margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #f6f8fa; }
header { background: var(--accent); color: #fff; padding: .75rem 1.25rem; display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 1.1rem; margin: 0; }
header nav a { color: #fff; margin-right: .9rem; text-decoration: none; opacity: .9; }
header nav a:hover, header nav a[aria-current] { opacity: 1; text-decoration: underline; }
main { max-width: 40rem; margin: 1.5rem auto; padding: 0 1rem; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 1.25rem 1.5rem; margin-bottom: 1rem; }
.card h2 { margin-top: 0; font-size: 1.25rem; }
.count { font-size: 3rem; font-weight: 600; font-variant-numeric: tabular-nums; color: var(--accent); display: block; margin: .25rem 0 .75rem; }
.actions { display: flex; gap: .5rem; flex-wrap: wrap; }
.button, button { display: inline-block; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; padding: .4rem .9rem; font: inherit; cursor: pointer; text-decoration: none; }
.button.secondary, button.secondary { background: #fff; color: var(--accent); }
label { display: block; margin: .6rem 0 .2rem; font-weight: 500; }
input[type=text] { width: 100%; padding: .45rem .6rem; border: 1px solid #d0d7de; border-radius: 6px; font: inherit; }
input[type=text]:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
.steps { display: flex; gap: .4rem; list-style: none; padding: 0; margin: 0 0 1rem; font-size: .85rem; }
.steps li { padding: .15rem .6rem; border-radius: 999px; background: #eaeef2; }
.steps li[aria-current] { background: var(--accent); color: #fff; }
.notice { background: var(--accent-soft); border-left: 4px solid var(--accent); padding: .5rem .8rem; border-radius: 4px; }
.error { color: #cf222e; margin: .3rem 0 0; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
dl.summary dt { color: #57606a; }
dl.summary dd { margin: 0; }
footer { max-width: 40rem; margin: 0 auto 2rem; padding: 0 1rem; color: #57606a; font-size: .85rem; }
footer dl { display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; margin: 0; }
footer dt { display: inline; font-weight: 600; }
footer dd { display: inline; margin: 0 0 0 .3rem; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
`;
