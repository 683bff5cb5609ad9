/* global document, window, fetch */
// The console page: polls /console/api/overview every 2 s and draws it with DOM calls (textContent only,
// never HTML built from data). No framework, no build step. Rows are kept per batch id, so a button is
// not replaced under the pointer between two polls.
'use strict';

const POLL_MS = 2000;
const OVERVIEW = '/console/api/overview';
const SVG = 'http://www.w3.org/2000/svg';
const rows = new Map();

function byId(id) {
  return document.getElementById(id);
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function fmt(n) {
  return Number(n).toLocaleString('en-US');
}

function eta(seconds) {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function setNotice(text) {
  const n = byId('notice');
  n.textContent = text;
  n.hidden = text === '';
}

function renderQueue(o) {
  byId('depth').textContent = fmt(o.queue.depth);
  byId('batch-pending').textContent = fmt(o.queue.batch_pending);
  byId('sent-rate').textContent = `${o.rate.sent_per_s}/s`;
  byId('failed-rate').textContent = `${o.rate.failed_per_s}/s`;
  const j = o.queue.jobs;
  byId('jobs').textContent =
    `jobs: ${fmt(j.waiting + j.prioritized)} waiting, ${fmt(j.active)} active, ${fmt(j.delayed)} delayed`;
}

function polyline(points, color) {
  const p = document.createElementNS(SVG, 'polyline');
  p.setAttribute('points', points.join(' '));
  p.setAttribute('fill', 'none');
  p.setAttribute('stroke', color);
  p.setAttribute('stroke-width', '1.5');
  p.setAttribute('vector-effect', 'non-scaling-stroke');
  return p;
}

/** Waiting (messages and batch recipients) and send rate over the last 10 minutes, each scaled to its own maximum. */
function renderChart(series) {
  const svg = byId('chart');
  svg.replaceChildren();
  const W = 600;
  const H = 160;
  const span = 10 * 60_000;
  const end = series.length ? series[series.length - 1].t : Date.now();
  const x = (t) => (((t - (end - span)) / span) * W).toFixed(1);
  const waiting = (p) => p.depth + p.batch_pending;
  const maxDepth = Math.max(1, ...series.map(waiting));
  const maxRate = Math.max(1, ...series.map((p) => p.sent_per_s));
  const y = (v, max) => (H - (v / max) * (H - 4) - 2).toFixed(1);
  svg.append(
    polyline(
      series.map((p) => `${x(p.t)},${y(waiting(p), maxDepth)}`),
      '#b36b00',
    ),
  );
  svg.append(
    polyline(
      series.map((p) => `${x(p.t)},${y(p.sent_per_s, maxRate)}`),
      '#1f6feb',
    ),
  );
  byId('chart-legend').textContent =
    `waiting (orange, max ${fmt(maxDepth)}) · sent/s (blue, max ${fmt(maxRate)}) · last 10 minutes`;
}

async function act(id, action, button) {
  if (action === 'cancel' && !window.confirm(`Cancel batch ${id}? What was not sent yet is never sent.`)) return;
  button.disabled = true;
  try {
    const r = await fetch(`/console/api/batches/${encodeURIComponent(id)}/${action}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
    });
    const body = await r.json().catch(() => null);
    if (!r.ok) setNotice(`${action} ${id}: ${body?.error?.message ?? r.status}`);
    else {
      setNotice('');
      updateRow(body);
    }
  } catch (err) {
    setNotice(`${action} ${id}: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

function batchRow(id) {
  let r = rows.get(id);
  if (r) return r;
  const cells = {
    id: el('td', { class: 'mono', text: id }),
    status: el('td', { class: 'status' }),
    bar: el('progress', { max: '100', value: '0' }),
    percent: el('span', { class: 'percent' }),
    counts: el('td', { class: 'counts' }),
    rate: el('td', { class: 'num' }),
    eta: el('td', { class: 'num' }),
    actions: el('td', { class: 'actions' }),
  };
  const buttons = {};
  for (const action of ['pause', 'resume', 'cancel']) {
    buttons[action] = el('button', { type: 'button', 'data-action': action, text: action });
    buttons[action].addEventListener('click', () => act(id, action, buttons[action]));
    cells.actions.append(buttons[action]);
  }
  const tr = el(
    'tr',
    { 'data-batch': id },
    cells.id,
    cells.status,
    el('td', {}, cells.bar, ' ', cells.percent),
    cells.counts,
    cells.rate,
    cells.eta,
    cells.actions,
  );
  r = { tr, cells, buttons };
  rows.set(id, r);
  return r;
}

function updateRow(b) {
  if (!b || !b.id) return;
  const { cells, buttons } = batchRow(b.id);
  const valid = b.total - b.rejected;
  const pct =
    b.progress_percent ?? (valid > 0 ? ((b.counts.sent + b.counts.failed + b.counts.cancelled) / valid) * 100 : 0);
  cells.status.textContent = b.status;
  cells.status.className = `status ${b.status}`;
  cells.bar.value = pct;
  cells.percent.textContent = `${Math.round(pct * 10) / 10}%`;
  cells.counts.textContent = `${fmt(b.counts.sent)} sent, ${fmt(b.counts.failed)} failed, ${fmt(b.counts.cancelled)} cancelled of ${fmt(valid)}`;
  cells.rate.textContent = `${b.rate}/s`;
  cells.eta.textContent = eta(b.eta_seconds);
  const live = ['queued', 'running', 'paused'].includes(b.status);
  buttons.cancel.hidden = !live;
  buttons.pause.hidden = !(b.status === 'queued' || b.status === 'running');
  buttons.resume.hidden = b.status !== 'paused';
}

function renderBatches(batches) {
  const body = byId('batches');
  for (const b of batches) updateRow(b);
  body.replaceChildren(...batches.map((b) => rows.get(b.id).tr));
  byId('no-batches').hidden = batches.length > 0;
}

function renderFailures(groups) {
  const list = byId('failures');
  list.replaceChildren(
    ...groups.map((g) =>
      el(
        'li',
        { 'data-code': g.code },
        el('strong', { class: 'mono', text: g.code }),
        ` ${fmt(g.count)}`,
        el(
          'ul',
          {},
          ...g.examples.map((e) =>
            el(
              'li',
              {},
              el('span', { class: 'mono', text: e.id }),
              ` ${new Date(e.at).toLocaleTimeString()} ${e.message}`,
            ),
          ),
        ),
      ),
    ),
  );
  byId('no-failures').hidden = groups.length > 0;
}

function renderTeamTalk(workers) {
  const body = byId('teamtalk');
  body.replaceChildren(
    ...workers.flatMap((w) =>
      w.connections.map((c) =>
        el(
          'tr',
          {},
          el('td', { class: 'mono', text: w.worker }),
          el('td', { text: c.role }),
          el('td', { class: 'mono', text: c.address }),
          el('td', { class: `state ${c.status}`, text: c.status }),
          el('td', { class: 'num', text: `${(w.seen_ms_ago / 1000).toFixed(1)} s ago` }),
        ),
      ),
    ),
  );
  byId('no-workers').hidden = workers.length > 0;
}

async function poll() {
  try {
    const r = await fetch(OVERVIEW, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    if (r.status === 401) {
      // The session ended (expired, or the admin key changed): the page shows the login form again.
      window.location.reload();
      return;
    }
    const o = await r.json();
    if (!r.ok) throw new Error(o?.error?.message ?? `status ${r.status}`);
    renderQueue(o);
    renderChart(o.series);
    renderBatches(o.batches);
    renderFailures(o.failures);
    renderTeamTalk(o.teamtalk);
    byId('updated').textContent = `updated ${new Date(o.generated_at).toLocaleTimeString()}`;
    if (byId('notice').dataset.poll === '1') setNotice('');
    byId('notice').dataset.poll = '';
  } catch (err) {
    setNotice(`could not read the overview: ${err.message}`);
    byId('notice').dataset.poll = '1';
  }
  setTimeout(poll, POLL_MS);
}

poll();
