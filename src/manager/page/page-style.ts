// The manager's and status page's whole stylesheet, inlined: no external assets, and its hash
// goes into the Content-Security-Policy.
export const PAGE_STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --card: #fff; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #16324f; color: #fff; padding: .7rem 1.5rem; display: flex; flex-wrap: wrap; gap: .4rem 1.5rem; align-items: baseline; }
header h1 { font-size: 1.15rem; margin: 0; font-weight: 600; }
header .meta { color: #c9d6e3; font-size: .85rem; }
header nav { margin-left: auto; font-size: .9rem; }
header nav a { color: #fff; margin-left: 1rem; }
main { padding: 1rem 1.5rem 2rem; max-width: 96rem; }
a { color: var(--accent); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 0 0 1.25rem; }
.card h2 { font-size: 1.05rem; margin: 0 0 .6rem; }
.card h2 a { text-decoration: none; }
.card h2 .edit { font-size: .8rem; font-weight: 400; margin-left: .6rem; }
dl.facts { display: flex; flex-wrap: wrap; gap: .35rem 1.8rem; margin: 0 0 .9rem; }
dl.facts div { display: flex; flex-direction: column; }
dl.facts dt { color: var(--muted); font-size: .75rem; text-transform: uppercase; letter-spacing: .03em; }
dl.facts dd { margin: 0; font-weight: 500; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
th { white-space: normal; color: var(--muted); font-size: .72rem; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; background: #fafbfc; }
td.num, th.num { text-align: right; }
tr:last-child td { border-bottom: 0; }
tr.selected td { background: #fff8e6; }
td.url a { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
.st { display: inline-block; white-space: nowrap; border-radius: 999px; padding: .05rem .55rem; margin: 0 .25rem .15rem 0; font-size: .78rem; font-weight: 600; border: 1px solid transparent; }
.st-ok { background: #dafbe1; color: #116329; border-color: #aceebb; }
.st-drain { background: #fff1c2; color: #7d4e00; border-color: #f5d77a; }
.st-standby, .st-spare { background: #ddf4ff; color: #0a4f8f; border-color: #a8dcff; }
.st-disabled, .st-ignore { background: #eaeef2; color: #424a53; border-color: #d0d7de; }
.st-stopped { background: #424a53; color: #fff; }
.st-error, .st-hc { background: #ffebe9; color: #a40e26; border-color: #ffc1bb; }
.st-route { background: #fff1c2; color: #7d2e00; border-color: #f0b35a; cursor: help; }
.rt { color: #8a5a00; font-size: .7rem; vertical-align: super; margin-left: .15rem; cursor: help; text-decoration: none; border: 0; }
.health { font-size: .8rem; color: var(--muted); }
.sub { color: var(--muted); font-size: .75rem; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
td.hc { white-space: normal; min-width: 9rem; max-width: 14rem; }
.health .pass { color: #116329; font-weight: 600; }
.health .fail { color: #a40e26; font-weight: 600; }
form.quick { display: flex; flex-direction: column; gap: .25rem; margin: 0; }
td.status { white-space: normal; min-width: 6rem; max-width: 11rem; }
button, input[type=submit] { font: inherit; font-size: .8rem; border: 1px solid var(--line); background: #f6f8fa; color: var(--fg); border-radius: 6px; padding: .2rem .6rem; cursor: pointer; }
button:hover, input[type=submit]:hover { background: #eef1f4; }
button.primary, input[type=submit].primary { background: var(--accent); border-color: var(--accent); color: #fff; font-size: .9rem; padding: .35rem 1rem; }
.notice { border-radius: 6px; padding: .6rem .9rem; margin: 0 0 1rem; border: 1px solid; }
.notice.ok { background: #dafbe1; border-color: #aceebb; }
.notice.err { background: #ffebe9; border-color: #ffc1bb; }
.notice ul { margin: .3rem 0 0; padding-left: 1.2rem; }
form.edit { display: grid; grid-template-columns: max-content minmax(14rem, 28rem); gap: .55rem 1rem; align-items: center; }
form.edit label.k { color: var(--muted); }
form.edit input[type=text], form.edit select { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 6px; width: 100%; }
form.edit .flags { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: .4rem; grid-column: 1 / -1; }
form.edit fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 0; padding: .3rem .6rem .45rem; }
form.edit legend { font-size: .8rem; color: var(--muted); padding: 0 .2rem; }
form.edit fieldset label { margin-right: .7rem; }
form.edit .actions { grid-column: 1 / -1; }
form.edit .hint { color: var(--muted); font-size: .8rem; }
p.meta { color: var(--muted); margin: 0 0 1rem; }
footer { color: var(--muted); font-size: .8rem; padding: 0 1.5rem 2rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85em; }
.live { margin-top: 1rem; }
.live h3 { font-size: .9rem; margin: 0 0 .5rem; font-weight: 600; }
.live h3 .meta { font-weight: 400; color: var(--muted); font-size: .8rem; margin-left: .4rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .75rem; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: .35rem .5rem .3rem; min-width: 0; }
figure.chart figcaption { font-size: .75rem; color: var(--muted); display: flex; justify-content: space-between; }
figure.chart svg { display: block; width: 100%; height: 90px; }
figure.chart .axis { display: flex; justify-content: space-between; font-size: .68rem; color: var(--muted); }
figure.chart .grid { stroke: #e6eaef; stroke-width: 1; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .2rem 1rem; padding: 0; margin: .5rem 0 0; font-size: .8rem; }
.swatch { display: inline-block; width: .8rem; height: .25rem; border-radius: 2px; margin-right: .35rem; vertical-align: middle; }
.c0 { background: #0b5cad; } .c1 { background: #d1242f; } .c2 { background: #1a7f37; } .c3 { background: #8250df; }
.c4 { background: #bc4c00; } .c5 { background: #0598bc; } .c6 { background: #bf3989; } .c7 { background: #57606a; }
@media (max-width: 900px) {
  header { padding: .6rem .9rem; }
  header nav a { margin: 0 1rem 0 0; }
  header nav { margin-left: 0; }
  main { padding: .8rem .9rem 1.5rem; }
  .card { padding: .8rem .9rem; }
  footer { padding: 0 .9rem 1.5rem; }
  table.members thead { display: none; }
  table.members, table.members tbody, table.members tr, table.members td { display: block; width: 100%; }
  table.members tr { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .25rem .9rem; padding: .6rem 0; border-bottom: 1px solid var(--line); }
  table.members td { border: 0; padding: 0; white-space: normal; text-align: left; min-width: 0; max-width: none; }
  table.members td[data-label]::before { content: attr(data-label); display: block; color: var(--muted); font-size: .68rem; text-transform: uppercase; letter-spacing: .03em; }
  table.members td.url, table.members td.hc, table.members td.actions { grid-column: 1 / -1; }
  td.url a { word-break: break-all; }
  form.quick { flex-direction: row; flex-wrap: wrap; }
  form.edit { grid-template-columns: minmax(0, 1fr); }
}
`;
