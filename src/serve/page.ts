// The page and its script (served as /app.js so the CSP forbids inline script). The script
// builds every element with createElement / textContent: lab data is never parsed as HTML.
export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fabric-lab: the class</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f5f5f5;color:#222}
header{background:#263238;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center}
header h1{font-size:18px;margin:0}#status{opacity:.8}
main{padding:12px 16px}
#copies{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:12px}
.card{background:#fff;border-radius:6px;box-shadow:0 1px 3px #0003;padding:10px}
.card h2{font-size:15px;margin:0 0 6px}.bad{color:#c62828}.good{color:#2e7d32}.unk{color:#757575}
.kinds span{display:inline-block;margin:2px 4px 2px 0;padding:1px 6px;border-radius:9px;font-size:12px;color:#fff}
.faults{font-size:12px;color:#ef6c00}svg{width:100%;height:auto;background:#fafafa;border-radius:4px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:4px 8px;text-align:center}
td.pass{background:#c8e6c9}td.fail{background:#ffcdd2}td.started{background:#fff9c4}td.none{color:#999}
button{font-size:11px;margin-left:4px}
</style></head>
<body><header><h1>fabric-lab: the class</h1><span id="status">connecting…</span>
<label style="margin-left:auto">token <input id="token" type="password" size="20" autocomplete="off"></label></header>
<main><section><h2>Labs and instances</h2><div id="copies"></div></section>
<section><h2>Exercises</h2><div id="grid"></div><p id="action" aria-live="polite"></p></section></main>
<script src="/app.js"></script></body></html>
`;

export const APP_JS = `'use strict';
const COLORS = { up: '#2e7d32', down: '#c62828', degraded: '#ef6c00', unknown: '#9e9e9e', planned: '#455a64' };
const NS = 'http://www.w3.org/2000/svg';
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
function svg(tag, attrs) { const e = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v)); return e; }

function topology(g) {
  const rows = [['spine'], ['leaf', 'lan-switch'], ['node']];
  const rowH = 70, pos = new Map();
  const used = rows.map((kinds) => g.devices.filter((d) => kinds.includes(d.kind))).filter((r) => r.length);
  // Wide enough for the longest row of labels: boxes never overlap, the SVG scales down.
  const W = Math.max(420, ...used.map((r) => r.reduce((n, d) => n + Math.max(46, d.label[0].length * 6.2 + 8) + 12, 0)));
  const H = used.length * rowH + 10;
  const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
  used.forEach((devs, r) => devs.forEach((d, i) => pos.set(d.id, { x: (i + 0.5) * W / devs.length, y: 30 + r * rowH })));
  for (const e of g.edges) {
    const a = pos.get(e.a), b = pos.get(e.b);
    if (!a || !b) continue;
    const line = svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: COLORS[e.state] || '#999', 'stroke-width': e.kind === 'fabric' ? 3 : 1.5,
      'data-edge': e.a + '|' + e.b, 'data-state': e.state, 'stroke-dasharray': e.fault ? '5 3' : '' });
    const t = svg('title', {}); t.textContent = e.a + ' ' + e.aLabel + ' <-> ' + e.b + ' ' + e.bLabel + (e.sessions.length ? '\\n' + e.sessions.join('\\n') : '') + (e.fault ? '\\nfault: ' + e.fault : '');
    line.append(t); s.append(line);
  }
  for (const d of g.devices) {
    const p = pos.get(d.id); if (!p) continue;
    const grp = svg('g', { 'data-device': d.id, 'data-state': d.state });
    const w = Math.max(46, d.label[0].length * 6.2 + 8);
    grp.append(svg('rect', { x: p.x - w / 2, y: p.y - 11, width: w, height: 22, rx: 4, fill: '#fff', stroke: COLORS[d.state] || '#999', 'stroke-width': 2 }));
    const t = svg('text', { x: p.x, y: p.y + 4, 'text-anchor': 'middle', 'font-size': 10 }); t.textContent = d.label[0];
    const tip = svg('title', {}); tip.textContent = d.label.join('\\n') + (d.note ? '\\n' + d.note : '');
    grp.append(t, tip); s.append(grp);
  }
  return s;
}

function card(c) {
  const name = c.instance ? c.lab + ' / ' + c.instance : c.lab;
  const box = el('div', { class: 'card', 'data-copy': c.key });
  const head = el('h2', {}, name + ' ');
  if (c.error) { box.append(head, el('div', { class: 'bad' }, 'cannot observe: ' + c.error)); return box; }
  head.append(el('span', { class: c.sessions.up === c.sessions.total ? 'good' : 'bad', 'data-sessions': c.sessions.up + '/' + c.sessions.total }, 'BGP ' + c.sessions.up + '/' + c.sessions.total + ' up'));
  box.append(head);
  const kinds = el('div', { class: 'kinds' });
  if (c.verify) for (const [k, v] of Object.entries(c.verify.byKind)) {
    const col = v.failed ? COLORS.down : v.unknown ? COLORS.unknown : COLORS.up;
    const s = el('span', { style: 'background:' + col, 'data-kind': k }, k + ' ' + v.passed + '/' + (v.passed + v.failed + v.unknown));
    kinds.append(s);
  } else kinds.append(el('span', { style: 'background:#9e9e9e' }, 'verify pending'));
  box.append(kinds);
  if (c.faults.length) box.append(el('div', { class: 'faults' }, 'faults: ' + c.faults.map((f) => f.kind + ' ' + f.target + ' (' + f.detail + ')').join('; ')));
  if (c.graph) box.append(topology(c.graph));
  return box;
}

async function act(what, row, ex) {
  const out = document.getElementById('action');
  const r = await fetch('/api/' + what, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + document.getElementById('token').value },
    body: JSON.stringify({ exercise: ex, lab: row.lab, instance: row.instance }) });
  const j = await r.json();
  out.textContent = (row.student + ' ' + ex + ': ') + (j.output || j.error || '');
}

function grid(s) {
  const box = document.getElementById('grid');
  box.replaceChildren();
  if (!s.grid.length) { box.append(el('p', {}, 'no exercise started (lab exercise start NAME --instance STUDENT)')); return; }
  const t = el('table', { id: 'exercise-grid' });
  t.append(el('tr', {}, el('th', {}, 'student'), ...s.exercises.map((x) => el('th', {}, x))));
  for (const row of s.grid) {
    const tr = el('tr', { 'data-student': row.student }, el('th', {}, row.student));
    for (const x of s.exercises) {
      const v = row.cells[x];
      const td = el('td', { class: v || 'none', 'data-exercise': x }, v || 'not started');
      if (v) {
        const h = el('button', { type: 'button' }, 'hint'); h.onclick = () => act('hint', row, x);
        const r = el('button', { type: 'button' }, 'reset'); r.onclick = () => act('reset', row, x);
        td.append(h, r);
      }
      tr.append(td);
    }
    t.append(tr);
  }
  box.append(t);
}

function render(s) {
  document.getElementById('status').textContent = s.copies.length + ' running · round ' + s.round + ' · ' + new Date(s.at).toLocaleTimeString();
  const copies = document.getElementById('copies');
  copies.replaceChildren(...(s.copies.length ? s.copies.map(card) : [el('p', {}, 'nothing is running (lab up LAB --instances N)')]));
  grid(s);
}
const es = new EventSource('/api/events');
es.addEventListener('state', (m) => render(JSON.parse(m.data)));
es.onerror = () => { document.getElementById('status').textContent = 'reconnecting…'; };
`;
