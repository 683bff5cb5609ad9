/* global document, window, fetch, URLSearchParams */
// The console's recent messages: polls /console/api/messages every 2 s (the 50 newest, filtered by the
// status and app the operator chose) and draws them with DOM calls (textContent only).
'use strict';

(() => {
  const POLL_MS = 2000;
  const LIMIT = 50;
  const byId = (id) => document.getElementById(id);

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function row(m) {
    const tr = document.createElement('tr');
    tr.dataset.message = m.id;
    const to = m.to.user !== undefined ? `user ${m.to.user}` : `group ${m.to.group}`;
    tr.append(
      cell(new Date(m.created_at).toLocaleTimeString()),
      cell(m.id, 'mono'),
      cell(m.app),
      cell(String(m.from), 'num'),
      cell(to),
      cell(m.status, `status ${m.status}`),
      cell(m.msg_id === null ? '' : String(m.msg_id), 'num'),
      cell(m.error ? `${m.error.code}: ${m.error.message}` : '', 'error-text'),
    );
    return tr;
  }

  async function poll() {
    const q = new URLSearchParams({ limit: String(LIMIT) });
    const status = byId('message-status').value;
    const app = byId('message-app').value.trim();
    if (status) q.set('status', status);
    if (app) q.set('app', app);
    try {
      const r = await fetch(`/console/api/messages?${q}`, {
        credentials: 'same-origin',
        headers: { accept: 'application/json' },
      });
      if (r.status === 401) {
        window.location.reload();
        return;
      }
      const body = await r.json();
      const list = byId('messages');
      if (!r.ok) {
        list.replaceChildren();
        byId('no-messages').textContent = body?.error?.message ?? `status ${r.status}`;
        byId('no-messages').hidden = false;
      } else {
        list.replaceChildren(...body.messages.map(row));
        byId('no-messages').textContent = 'No messages.';
        byId('no-messages').hidden = body.messages.length > 0;
      }
    } catch (err) {
      byId('no-messages').textContent = `could not read the messages: ${err.message}`;
      byId('no-messages').hidden = false;
    }
    window.setTimeout(poll, POLL_MS);
  }

  byId('message-filter').addEventListener('submit', (e) => e.preventDefault());
  poll();
})();
