// The trace viewer's script (dsys-core/src/trace/html.rs documents the page).
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('trace-data').textContent);
  const E = data.events;
  const M = data.messages;
  const N = data.nodes;
  const DRAWN_MAX = data.drawn_max;
  const LANE_H = 56, TOP = 40, LEFT = 56, RIGHT = 18, BINS = 120;
  const $ = (id) => document.getElementById(id);
  const svg = $('diagram');
  const body = document.body;

  // What the reader chose.
  let axis = 'time';
  let step = E.length; // the events [0, step) have happened
  let selected = -1;
  let labels = 'none';
  let causal = true;
  const shownNode = new Array(N).fill(true);
  const shownKind = new Map(data.kinds.map((k) => [k, true]));
  let w0 = 0, w1 = 1; // the visible range, in axis units

  // What a handler input caused (its sends and emits), by input index.
  const effects = new Map();
  E.forEach((e, i) => {
    if (e.h !== undefined && e.h !== i) {
      if (!effects.has(e.h)) effects.set(e.h, []);
      effects.get(e.h).push(i);
    }
  });
  const violation = data.violation;
  const named = new Set(violation ? violation.named : []);

  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  const ms = (ns) => (ns / 1e6).toFixed(3).replace(/\.?0+$/, '');
  // Positions never decrease along the trace, on either axis.
  const pos = (i) => (axis === 'time' ? E[i].t / 1e6 : i);
  function firstAtOrAfter(p) {
    let lo = 0, hi = E.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (pos(mid) < p) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function firstAfter(p) {
    let lo = 0, hi = E.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (pos(mid) <= p) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function fullRange() {
    if (E.length === 0) return [0, 1];
    const a = pos(0), b = pos(E.length - 1);
    const pad = Math.max((b - a) * 0.015, axis === 'time' ? 0.05 : 0.5);
    return [a - (axis === 'time' ? 0 : pad), b + pad];
  }
  function openingRange() {
    const [a, b] = fullRange();
    if (E.length <= DRAWN_MAX) return [a, b];
    const end = pos(Math.floor(DRAWN_MAX / 2));
    return [a, Math.max(end, a + 1e-3)];
  }
  // a ≤ b entry by entry: a's event happened before (or is) b's.
  function le(a, b) {
    for (let k = 0; k < a.length; k++) if (a[k] > b[k]) return false;
    return true;
  }
  function relation(i) {
    if (!causal || selected < 0 || !E[selected].c || !E[i].c) return '';
    if (i === selected) return '';
    if (le(E[i].c, E[selected].c)) return 'past';
    if (le(E[selected].c, E[i].c)) return 'future';
    return 'concurrent';
  }

  // Lanes of the shown nodes, top to bottom.
  let laneOf = [];
  function layoutLanes() {
    laneOf = new Array(N).fill(-1);
    let rank = 0;
    for (let n = 0; n < N; n++) if (shownNode[n]) laneOf[n] = rank++;
    return rank;
  }
  const laneY = (n) => TOP + 24 + laneOf[n] * LANE_H;

  function niceStep(span) {
    const raw = span / 8;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const f of [1, 2, 5, 10]) if (f * mag >= raw) return f * mag;
    return 10 * mag;
  }

  function shape(i, e, x, y, cls) {
    const at = `id="ev-${i}" data-index="${i}"`;
    switch (e.y) {
      case 'send': return `<circle class="${cls}" ${at} cx="${x}" cy="${y}" r="3.5"/>`;
      case 'deliver': return `<circle class="${cls}" ${at} cx="${x}" cy="${y}" r="4.5"/>`;
      case 'timer': return `<path class="${cls}" ${at} d="M${x} ${y - 6}L${x + 6} ${y}L${x} ${y + 6}L${x - 6} ${y}Z"/>`;
      case 'request': return `<path class="${cls}" ${at} d="M${x} ${y - 7}L${x + 6} ${y + 5}L${x - 6} ${y + 5}Z"/>`;
      case 'emit': {
        let d = '';
        for (let k = 0; k < 10; k++) {
          const r = k % 2 ? 3 : 7, a = Math.PI / 5 * k - Math.PI / 2;
          d += (k ? 'L' : 'M') + (x + r * Math.cos(a)).toFixed(1) + ' ' + (y + r * Math.sin(a)).toFixed(1);
        }
        return `<path class="${cls}" ${at} d="${d}Z"/>`;
      }
      case 'start': case 'restart': return `<rect class="${cls}" ${at} x="${x - 5}" y="${y - 5}" width="10" height="10"/>`;
      case 'crash': return `<path class="${cls}" ${at} d="M${x - 6} ${y - 6}L${x + 6} ${y + 6}M${x + 6} ${y - 6}L${x - 6} ${y + 6}"/>`;
      case 'pause': case 'resume': return `<rect class="${cls}" ${at} x="${x - 3}" y="${y - 7}" width="6" height="14"/>`;
      default: return `<circle class="${cls}" ${at} cx="${x}" cy="${y}" r="3"/>`;
    }
  }

  function render() {
    const lanes = layoutLanes();
    const W = Math.max(svg.clientWidth || 0, 400);
    const H = TOP + 24 + Math.max(lanes, 1) * LANE_H;
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('height', H);
    const span = w1 - w0;
    const X = (p) => +(LEFT + (p - w0) / span * (W - LEFT - RIGHT)).toFixed(1);
    const clampX = (x) => Math.min(Math.max(x, LEFT - 20), W + 20);
    const lo = firstAtOrAfter(w0), hi = firstAfter(w1);
    const last = E.length - 1;
    const out = [];
    out.push('<defs><marker id="head" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L8 4L0 8Z" fill="#1e63c4"/></marker>' +
      '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#6d4c41"/></pattern></defs>');
    // The axis.
    const tick = niceStep(span);
    out.push('<g class="axis">');
    for (let t = Math.ceil(w0 / tick) * tick; t <= w1; t += tick) {
      const x = X(t);
      out.push(`<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${H}"/><text x="${x + 2}" y="${TOP - 10}">${+t.toFixed(6)}${axis === 'time' ? ' ms' : ''}</text>`);
    }
    out.push('</g>');
    // Partitions and cut links: bands across the diagram.
    data.cuts.forEach((c, k) => {
      const a = pos(c.start), b = c.end === null ? pos(last) : pos(c.end);
      if (b < w0 || a > w1) return;
      const x = clampX(X(a)), x2 = clampX(X(b));
      out.push(`<rect class="partition" x="${x}" y="${TOP - 4}" width="${Math.max(x2 - x, 2)}" height="${H - TOP + 4}"/><text class="band" x="${x + 3}" y="${TOP + 6 + (k % 3) * 10}">${esc(c.label)}</text>`);
    });
    // Lanes, with crashed and paused stretches shaded.
    for (let n = 0; n < N; n++) {
      if (laneOf[n] < 0) continue;
      const y = laneY(n);
      out.push(`<g class="lane" id="lane-${n}" data-node="${n}"><line x1="${LEFT - 8}" y1="${y}" x2="${W - 4}" y2="${y}"/><text x="6" y="${y + 4}">n${n}</text></g>`);
    }
    for (const [list, cls] of [[data.down, 'down'], [data.paused, 'paused']]) {
      for (const iv of list) {
        if (laneOf[iv.node] < 0) continue;
        const a = pos(iv.start), b = iv.end === null ? pos(last) + span : pos(iv.end);
        if (b < w0 || a > w1) continue;
        const x = clampX(X(a)), x2 = clampX(X(b));
        out.push(`<rect class="${cls}" x="${x}" y="${laneY(iv.node) - 14}" width="${Math.max(x2 - x, 2)}" height="28"/>`);
      }
    }
    let drawn = 0;
    const note = [];
    if (hi - lo > DRAWN_MAX) {
      // Too many to draw one by one: how many fall in each stretch.
      const counts = new Array(N).fill(null).map(() => new Array(BINS).fill(0));
      let most = 1;
      for (let i = lo; i < hi; i++) {
        const n = E[i].n;
        if (n === null || laneOf[n] < 0) continue;
        const b = Math.min(BINS - 1, Math.floor((pos(i) - w0) / span * BINS));
        most = Math.max(most, ++counts[n][b]);
      }
      const bw = (W - LEFT - RIGHT) / BINS;
      for (let n = 0; n < N; n++) {
        if (laneOf[n] < 0) continue;
        counts[n].forEach((c, b) => {
          if (!c) return;
          const h = Math.max(2, c / most * (LANE_H - 18));
          out.push(`<rect class="bin" x="${(LEFT + b * bw).toFixed(1)}" y="${(laneY(n) - h / 2).toFixed(1)}" width="${Math.max(bw - 1, 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${c} events</title></rect>`);
        });
      }
      note.push(`${hi - lo} events in this range, more than ${DRAWN_MAX}: each lane shows how many fall in each stretch. Zoom in to see them one by one.`);
    } else {
      // Messages: an arrow per delivery, a crossed line per loss.
      for (const m of M) {
        if (m.send >= hi || laneOf[m.from] < 0 || laneOf[m.to] < 0 || !shownKind.get(m.kind)) continue;
        const xs = X(pos(m.send)), ys = laneY(m.from), yt = laneY(m.to);
        const sendRel = relation(m.send);
        m.recv.forEach((r, copy) => {
          if (r < lo) return;
          const rel = relation(r);
          let cls = copy ? 'arrow dup' : 'arrow';
          if (rel === 'past' || r === selected) cls += ' past';
          else if (sendRel === 'future' || m.send === selected) cls += ' future';
          else if (rel === 'concurrent' && sendRel === 'concurrent') cls += ' concurrent';
          if (r >= step) cls += ' later';
          const xr = X(pos(r));
          out.push(`<line class="${cls}" data-msg="${m.id}" x1="${xs}" y1="${ys}" x2="${xr}" y2="${yt}"/>`);
          if (copy) out.push(`<text class="dup" x="${((xs + xr) / 2).toFixed(1)}" y="${((ys + yt) / 2 - 3).toFixed(1)}">×${copy + 1}</text>`);
        });
        for (const d of m.drop) {
          if (d < lo) continue;
          const xe = Math.max(X(pos(d)), xs + 24), ye = ys + (yt - ys) * 0.6;
          const later = d >= step ? ' later' : '';
          out.push(`<line class="lost${later}" data-msg="${m.id}" x1="${xs}" y1="${ys}" x2="${xe}" y2="${ye.toFixed(1)}"/>` +
            `<path class="cross${later}" data-msg="${m.id}" d="M${xe - 5} ${(ye - 5).toFixed(1)}L${xe + 5} ${(ye + 5).toFixed(1)}M${xe + 5} ${(ye - 5).toFixed(1)}L${xe - 5} ${(ye + 5).toFixed(1)}"/>`);
        }
      }
      // The events.
      for (let i = lo; i < hi; i++) {
        const e = E[i];
        if (e.n === null || laneOf[e.n] < 0) continue;
        if (e.k !== undefined && !shownKind.get(e.k)) continue;
        const x = X(pos(i)), y = laneY(e.n);
        let cls = `ev ev-${e.y}`;
        const rel = relation(i);
        if (rel) cls += ' ' + rel;
        if (i === selected) cls += ' selected';
        if (i === step - 1 && step < E.length) cls += ' current';
        if (i >= step) cls += ' later';
        if (violation && violation.event === i) cls += ' violating';
        if (named.has(i)) cls += ' named';
        out.push(shape(i, e, x, y, cls));
        drawn++;
        if (labels !== 'none' && e.c && hi - lo <= 600) {
          const text = labels === 'lamport' ? e.l : '[' + e.c.join(',') + ']';
          out.push(`<text class="label" x="${x - 4}" y="${y - 9}">${text}</text>`);
        }
      }
    }
    if (violation && pos(violation.at) >= w0 && pos(violation.at) <= w1) {
      const x = X(pos(violation.at));
      out.push(`<line class="violation-line" x1="${x}" y1="${TOP - 4}" x2="${x}" y2="${H}"><title>${esc(violation.property)} violated</title></line>`);
    }
    if (step > 0 && step < E.length) {
      const x = X(pos(step - 1));
      out.push(`<line class="now" x1="${x}" y1="${TOP - 4}" x2="${x}" y2="${H}"/>`);
    }
    svg.innerHTML = out.join('');
    const [fa, fb] = fullRange();
    if (w0 > fa + 1e-9 || w1 < fb - 1e-9) {
      const u = axis === 'time' ? ' ms' : '';
      note.push(`Showing ${+w0.toFixed(3)}${u} to ${+w1.toFixed(3)}${u} of ${+Math.max(fa, 0).toFixed(3)}${u} to ${+fb.toFixed(3)}${u}: zoom out or pan to see the rest.`);
    }
    $('note').textContent = note.join(' ');
    $('from').value = +w0.toFixed(3);
    $('to').value = +w1.toFixed(3);
    $('unit').textContent = axis === 'time' ? 'ms' : 'events';
    body.dataset.drawn = drawn;
    body.dataset.step = step;
    body.dataset.selected = selected;
  }

  function field(name, value) {
    return `<dt>${name}</dt><dd>${value}</dd>`;
  }
  const link = (i) => `<a href="#select=${i}" data-select="${i}">#${i}</a>`;

  function showDetails() {
    const panel = $('details');
    if (selected < 0) {
      panel.innerHTML = '<h2>Event</h2><p class="hint">Click an event, or step with → and ←.</p>';
      return;
    }
    const e = E[selected];
    let html = `<h2>Event #${selected}: ${esc(e.y)}</h2><dl class="fields">`;
    html += field('time', ms(e.t) + ' ms');
    html += field('node', e.n === null ? 'the network' : 'n' + e.n);
    html += field('what', esc(e.d));
    if (e.p !== undefined) html += field('payload', `<pre>${esc(e.p)}</pre>`);
    if (e.c) html += field('vector', '[' + e.c.join(', ') + ']');
    if (e.l !== null) html += field('Lamport', e.l);
    if (e.h !== undefined && e.h !== selected) html += field('handler', `${link(e.h)} ${esc(E[e.h].d)}`);
    const own = effects.get(e.h !== undefined ? e.h : selected) || [];
    const others = own.filter((j) => j !== selected);
    if (others.length) {
      html += field('same handler', '<ul>' + others.map((j) => `<li>${link(j)} ${esc(E[j].d)}</li>`).join('') + '</ul>');
    }
    const input = e.h !== undefined ? E[e.h] : e;
    if (input.s !== undefined) html += field('state after', `<pre>${esc(input.s)}</pre>`);
    if (e.c && causal) {
      let past = 0, future = 0, concurrent = 0;
      E.forEach((f, i) => {
        const r = relation(i);
        if (r === 'past') past++; else if (r === 'future') future++; else if (r === 'concurrent') concurrent++;
      });
      html += field('causality', `${past} events happened before it, ${future} after it, ${concurrent} are concurrent with it`);
    }
    html += '</dl>';
    panel.innerHTML = html;
  }

  function reveal(i) {
    if (i < 0) return;
    const p = pos(i);
    if (p < w0 || p > w1) {
      const half = (w1 - w0) / 2;
      w0 = p - half; w1 = p + half;
    }
  }

  function setStep(k) {
    step = Math.max(0, Math.min(E.length, k));
    selected = step > 0 ? step - 1 : -1;
    reveal(selected);
    const slider = $('step');
    slider.value = step;
    const at = step > 0 ? `, ${ms(E[step - 1].t)} ms` : '';
    $('step-label').textContent = `step ${step} of ${E.length}${at}`;
    render();
    showDetails();
  }

  function select(i) {
    if (!(i >= 0 && i < E.length)) return;
    selected = i;
    reveal(i);
    render();
    showDetails();
  }

  function setWindow(a, b) {
    if (!(b > a)) return;
    w0 = a; w1 = b;
    render();
  }
  function zoom(factor, center) {
    const c = center === undefined ? (w0 + w1) / 2 : center;
    setWindow(c - (c - w0) * factor, c + (w1 - c) * factor);
  }
  function pan(fraction) {
    const d = (w1 - w0) * fraction;
    setWindow(w0 + d, w1 + d);
  }

  // Controls.
  const slider = $('step');
  slider.max = E.length;
  slider.addEventListener('input', () => setStep(+slider.value));
  $('first').onclick = () => setStep(0);
  $('prev').onclick = () => setStep(step - 1);
  $('next').onclick = () => setStep(step + 1);
  $('last').onclick = () => setStep(E.length);
  $('zoom-in').onclick = () => zoom(0.5);
  $('zoom-out').onclick = () => zoom(2);
  $('pan-left').onclick = () => pan(-0.5);
  $('pan-right').onclick = () => pan(0.5);
  $('zoom-all').onclick = () => { [w0, w1] = fullRange(); render(); };
  const applyRange = () => setWindow(parseFloat($('from').value), parseFloat($('to').value));
  $('from').addEventListener('change', applyRange);
  $('to').addEventListener('change', applyRange);
  $('labels').addEventListener('change', (ev) => { labels = ev.target.value; render(); });
  $('causal').addEventListener('change', (ev) => { causal = ev.target.checked; render(); showDetails(); });
  $('axis').addEventListener('change', (ev) => {
    const lo = firstAtOrAfter(w0), hi = Math.max(lo + 1, firstAfter(w1));
    axis = ev.target.value;
    if (E.length) {
      const a = pos(Math.min(lo, E.length - 1)), b = pos(Math.min(hi, E.length) - 1);
      const pad = Math.max((b - a) * 0.02, axis === 'time' ? 0.05 : 0.5);
      [w0, w1] = [a - pad, b + pad];
    }
    render();
  });
  const nodeFilter = $('node-filter');
  for (let n = 0; n < N; n++) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="checkbox" checked data-node="${n}"> n${n}`;
    label.firstChild.addEventListener('change', (ev) => { shownNode[n] = ev.target.checked; render(); });
    nodeFilter.appendChild(label);
  }
  const kindFilter = $('kind-filter');
  for (const k of data.kinds) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="checkbox" checked data-kind="${esc(k)}"> ${esc(k)}`;
    label.firstChild.addEventListener('change', (ev) => { shownKind.set(k, ev.target.checked); render(); });
    kindFilter.appendChild(label);
  }
  svg.addEventListener('click', (ev) => {
    const mark = ev.target.closest('.ev');
    if (mark) select(+mark.dataset.index);
  });
  svg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const box = svg.getBoundingClientRect();
    const W = Math.max(box.width, 400);
    const p = w0 + (ev.clientX - box.left - LEFT) / (W - LEFT - RIGHT) * (w1 - w0);
    if (ev.shiftKey) pan(ev.deltaY > 0 ? 0.2 : -0.2);
    else zoom(ev.deltaY > 0 ? 1.25 : 0.8, p);
  }, { passive: false });
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('[data-select]');
    if (a) { ev.preventDefault(); select(+a.dataset.select); }
  });
  function onKey(ev) {
    const tag = ev.target && ev.target.tagName;
    if (tag === 'INPUT' && ev.target.type !== 'checkbox' || tag === 'SELECT') return;
    switch (ev.key) {
      case 'ArrowRight': setStep(step + 1); break;
      case 'ArrowLeft': setStep(step - 1); break;
      case 'Home': setStep(0); break;
      case 'End': setStep(E.length); break;
      default: return;
    }
    ev.preventDefault();
  }
  document.addEventListener('keydown', onKey);

  // First drawing, then what the address asks for.
  [w0, w1] = openingRange();
  $('step-label').textContent = `step ${step} of ${E.length}`;
  slider.value = step;
  render();
  body.dataset.firstRenderMs = performance.now().toFixed(1);
  const args = new URLSearchParams(location.hash.slice(1));
  if (args.has('hide')) {
    // Nodes (n1) and message kinds (Ping) to hide, comma-separated.
    for (const name of args.get('hide').split(',')) {
      const node = /^n(\d+)$/.exec(name);
      const box = node
        ? nodeFilter.querySelector(`input[data-node="${node[1]}"]`)
        : [...kindFilter.querySelectorAll('input')].find((b) => b.dataset.kind === name);
      if (box) box.click();
    }
  }
  if (args.has('labels')) {
    labels = args.get('labels');
    $('labels').value = labels;
  }
  if (args.has('range')) {
    const range = args.get('range');
    if (range === 'all') [w0, w1] = fullRange();
    else {
      const [a, b] = range.split('..').map(parseFloat);
      if (b > a) [w0, w1] = [a, b];
    }
    render();
  }
  render();
  if (args.has('step')) setStep(+args.get('step'));
  if (args.has('select')) select(+args.get('select'));
  if (args.has('keys')) {
    for (const key of args.get('keys').split(',')) {
      document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
    }
  }
  window.addEventListener('hashchange', () => {
    const a = new URLSearchParams(location.hash.slice(1));
    if (a.has('select')) select(+a.get('select'));
    if (a.has('step')) setStep(+a.get('step'));
  });
  body.dataset.viewer = 'ready';
})();
