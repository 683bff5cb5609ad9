/* global document, fetch */
// The console's message lookup: shows one message of any app (GET /console/api/messages/:id) with DOM calls
// (textContent only); a message sent with parts lists its text and its pictures, each picture as a link to
// its URL, never loaded by the console.
'use strict';

(() => {
  const byId = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function renderParts(parts) {
    return el(
      'ol',
      { class: 'parts' },
      ...parts.map((p) =>
        'image' in p
          ? el(
              'li',
              {},
              'picture ',
              el('a', { href: p.image, rel: 'noopener noreferrer', target: '_blank', class: 'mono', text: p.image }),
            )
          : el('li', { text: `text “${p.text}”` }),
      ),
    );
  }

  async function lookup(id) {
    const out = byId('message');
    out.hidden = false;
    try {
      const r = await fetch(`/console/api/messages/${encodeURIComponent(id)}`, {
        credentials: 'same-origin',
        headers: { accept: 'application/json' },
      });
      const m = await r.json();
      if (!r.ok) throw new Error(m?.error?.message ?? `status ${r.status}`);
      const to = 'user' in m.to ? `user ${m.to.user}` : `group ${m.to.group}`;
      const stored = m.msg_id ? ` (msg_id ${m.msg_id})` : '';
      const error = m.error ? `: ${m.error.code}: ${m.error.message}` : '';
      out.replaceChildren(
        el('p', { class: 'mono', text: `${m.id}: ${m.status} from ${m.from} to ${to}${stored}${error}` }),
        ...(m.parts ? [renderParts(m.parts)] : []),
      );
    } catch (err) {
      out.replaceChildren(el('p', { class: 'error', text: err.message }));
    }
  }

  byId('lookup').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = byId('message-id').value.trim();
    if (id) lookup(id);
  });
})();
