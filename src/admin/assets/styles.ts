/** The dashboard's stylesheet, served as `/assets/admin.css` (kept in a module: no build step). */
export const STYLES = `
:root {
  color-scheme: light;
  --text: #1b1f24;
  --muted: #4d5661;
  --line: #d5dae0;
  --bg: #ffffff;
  --bg-soft: #f4f6f8;
  --accent: #0a58ca;
  --accent-dark: #073f91;
  --ok: #146c2e;
  --ok-bg: #e3f4e8;
  --bad: #b3261e;
  --bad-bg: #fbe9e7;
  --warn: #7a4b00;
  --warn-bg: #fff3d6;
  --focus: #f5b700;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px;
  line-height: 1.5;
  color: var(--text);
  background: var(--bg);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
a { color: var(--accent); }
a:hover { color: var(--accent-dark); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip-link { position: absolute; left: -9999px; top: 0; background: var(--bg); padding: 0.5rem 1rem; z-index: 10; }
.skip-link:focus { left: 0.5rem; top: 0.5rem; }
.masthead { background: #14212e; color: #fff; }
.masthead-inner { max-width: 1200px; margin: 0 auto; padding: 0 1.25rem; display: flex; align-items: center; gap: 1.5rem; flex-wrap: wrap; min-height: 3.25rem; }
.brand { color: #fff; font-weight: 700; text-decoration: none; letter-spacing: 0.01em; }
.brand span { color: #9fc3ff; font-weight: 400; }
.masthead nav ul { list-style: none; display: flex; gap: 0.25rem; margin: 0; padding: 0; }
.masthead nav a { color: #dce6f2; text-decoration: none; padding: 0.9rem 0.75rem; display: block; border-bottom: 3px solid transparent; }
.masthead nav a:hover { color: #fff; }
.masthead nav a[aria-current="page"] { color: #fff; border-bottom-color: #9fc3ff; }
.masthead form { margin-left: auto; }
.masthead .link-button { color: #dce6f2; }
main { max-width: 1200px; margin: 0 auto; padding: 1.25rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; line-height: 1.25; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.75rem; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 0.5rem; }
p { margin: 0.5rem 0; }
.muted { color: var(--muted); }
.notice { border-left: 4px solid var(--ok); background: var(--ok-bg); padding: 0.75rem 1rem; margin: 0 0 1rem; }
.error-summary { border: 2px solid var(--bad); background: var(--bad-bg); padding: 0.75rem 1rem; margin: 0 0 1rem; }
.error-summary h2 { margin: 0 0 0.25rem; font-size: 1.05rem; color: var(--bad); }
.error-summary ul { margin: 0.25rem 0 0; padding-left: 1.25rem; }
.secret-box { border: 2px solid var(--warn); background: var(--warn-bg); padding: 1rem; margin: 1rem 0; }
.secret-box code { font-size: 1.05rem; word-break: break-all; background: #fff; padding: 0.25rem 0.4rem; border: 1px solid var(--line); display: inline-block; margin: 0.25rem 0.5rem 0.25rem 0; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.9em; }
pre { background: var(--bg-soft); border: 1px solid var(--line); padding: 0.75rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; word-break: break-word; margin: 0.25rem 0 0.75rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap, .wrap { overflow-wrap: break-word; word-break: normal; }
time { white-space: nowrap; }
td.error-text { color: var(--bad); max-width: 24rem; word-break: break-word; }
.table-scroll { overflow-x: auto; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1.25rem; margin: 0.5rem 0 1rem; }
dl.fields dt { font-weight: 600; color: var(--muted); }
dl.fields dd { margin: 0; word-break: break-word; }
.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.85em; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.badge-ok { color: var(--ok); background: var(--ok-bg); }
.badge-bad { color: var(--bad); background: var(--bad-bg); }
.badge-warn { color: var(--warn); background: var(--warn-bg); }
.badge-neutral { color: var(--muted); background: var(--bg-soft); }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 0.75rem; margin: 0.5rem 0 1.25rem; padding: 0; list-style: none; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; }
.tile .value { font-size: 1.6rem; font-weight: 700; font-variant-numeric: tabular-nums; display: block; }
.tile .label { color: var(--muted); }
.tile-bad .value { color: var(--bad); }
.tile-ok .value { color: var(--ok); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: 1.25rem; }
.chart-card { border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; min-width: 0; }
.chart-card h2 { margin: 0 0 0.5rem; font-size: 1.05rem; }
.chart { min-height: 240px; }
.chart-empty { color: var(--muted); padding: 2rem 0; text-align: center; }
details { margin: 0.5rem 0; }
summary { cursor: pointer; color: var(--accent); }
form.filters { display: flex; flex-wrap: wrap; gap: 0.75rem 1rem; align-items: flex-end; background: var(--bg-soft); border: 1px solid var(--line); padding: 0.75rem 1rem; border-radius: 6px; margin: 0 0 1rem; }
form.filters .field { margin: 0; }
form.filters input[type="text"], form.filters input[type="search"] { width: 14rem; }
.field { margin: 0 0 1rem; }
.field label, .field .label { display: block; font-weight: 600; margin-bottom: 0.2rem; }
.field label.inline { display: inline; }
.field .hint { color: var(--muted); font-size: 0.9em; margin: 0 0 0.3rem; }
.field .field-error { color: var(--bad); font-weight: 600; margin: 0 0 0.3rem; }
input[type="text"], input[type="url"], input[type="password"], input[type="datetime-local"], input[type="search"], select, textarea {
  font: inherit; color: var(--text); background: #fff; border: 1px solid #8a939d; border-radius: 4px; padding: 0.4rem 0.5rem; max-width: 100%;
}
input[type="text"], input[type="url"], input[type="password"] { width: 32rem; }
textarea { width: 100%; min-height: 6rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
[aria-invalid="true"] { border-color: var(--bad); border-width: 2px; }
.form-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.5rem; }
@media (max-width: 900px) { .form-grid, .charts { grid-template-columns: 1fr; } input[type="text"], input[type="url"], input[type="password"] { width: 100%; } }
.preview { position: sticky; top: 1rem; align-self: start; border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; background: var(--bg-soft); }
.preview h2 { margin-top: 0; }
.preview pre { background: #fff; max-height: 22rem; }
.preview .preview-problem { color: var(--bad); font-weight: 600; }
.inline-fields { display: flex; flex-wrap: wrap; gap: 0 1.5rem; }
button, .button { font: inherit; font-weight: 600; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; padding: 0.45rem 0.9rem; cursor: pointer; text-decoration: none; display: inline-block; line-height: 1.4; }
button:hover, .button:hover { background: var(--accent-dark); border-color: var(--accent-dark); color: #fff; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.secondary:hover, .button.secondary:hover { background: var(--bg-soft); color: var(--accent-dark); }
button.danger { background: var(--bad); border-color: var(--bad); }
button.danger:hover { background: #8c1d18; border-color: #8c1d18; }
.link-button { background: none; border: none; color: var(--accent); padding: 0; font-weight: 400; text-decoration: underline; cursor: pointer; }
.link-button:hover { background: none; color: var(--accent-dark); }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin: 0.75rem 0 1rem; }
.actions form { margin: 0; }
.pager { display: flex; gap: 1rem; margin: 0.5rem 0 1rem; }
.attempt { border: 1px solid var(--line); border-radius: 6px; padding: 0.25rem 1rem; margin: 0 0 0.75rem; }
.attempt > summary { color: var(--text); list-style-position: outside; margin-left: 1rem; }
.attempt > summary::marker { color: var(--accent); }
.attempt h3 { display: inline-flex; gap: 0.75rem; flex-wrap: wrap; align-items: center; margin: 0.6rem 0; }
.attempt[open] > summary { border-bottom: 1px solid var(--line); margin-bottom: 0.5rem; }
.attempt-columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.25rem; }
@media (max-width: 900px) { .attempt-columns { grid-template-columns: 1fr; } }
.sign-in { max-width: 28rem; margin: 3rem auto; border: 1px solid var(--line); border-radius: 8px; padding: 1.5rem 2rem; }
.sign-in input[type="password"] { width: 100%; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.u-legend { font-size: 0.85rem; }
`
