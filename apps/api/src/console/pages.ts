/**
 * The console's server-rendered HTML: the login form and the page skeleton that console.js fills.
 * Nothing from a request is echoed unescaped; the pages load only their own CSS and JS (see the CSP).
 */

/** Sent with every console page: no inline script or style, no framing, forms post only here. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body>
${body}
</body>
</html>
`;
}

/** The login form; `error` is one of our own sentences. */
export function loginPage(error?: string): string {
  return layout(
    'ttpush console: log in',
    `<main class="login">
<h1>ttpush console</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/console/login">
<label for="key">Admin key</label>
<input id="key" type="password" name="key" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
<p class="muted">Paste the api's TTPUSH_ADMIN_KEY (<code>ttpush start</code> prints it).</p>
</main>`,
  );
}

/** Shown when TTPUSH_ADMIN_KEY is not set: there is nothing to log in with. */
export function disabledPage(): string {
  return layout(
    'ttpush console: off',
    `<main class="login">
<h1>ttpush console</h1>
<p class="error">The console is off: set TTPUSH_ADMIN_KEY (16 characters or more) on the api and restart it.</p>
</main>`,
  );
}

export function consolePage(): string {
  return layout(
    'ttpush console',
    `<header>
<h1>ttpush console</h1>
<span id="updated"></span>
<a href="/admin/queues">Queues (bull-board)</a>
<form method="post" action="/console/logout"><button type="submit">Log out</button></form>
</header>
<p id="notice" role="status" hidden></p>
<section>
<h2>Message</h2>
<form id="lookup"><label for="message-id">Message id</label> <input id="message-id" class="mono" size="30" placeholder="msg_…" required> <button type="submit">Show</button></form>
<div id="message" hidden></div>
<script src="/console/assets/console-lookup.js" defer></script>
</section>
<section>
<h2>Queue</h2>
<div class="tiles">
<div class="tile"><b id="depth">-</b><span>messages not yet terminal</span></div>
<div class="tile"><b id="batch-pending">-</b><span>batch recipients to go</span></div>
<div class="tile"><b id="sent-rate">-</b><span>sent</span></div>
<div class="tile"><b id="failed-rate">-</b><span>failed</span></div>
</div>
<p id="jobs" class="muted"></p>
<svg id="chart" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label="queue depth and send rate, last 10 minutes"></svg>
<p id="chart-legend"></p>
</section>
<section>
<h2>Batches</h2>
<table>
<thead><tr><th>Batch</th><th>Status</th><th>Progress</th><th>Recipients</th><th class="num">Rate</th><th class="num">ETA</th><th></th></tr></thead>
<tbody id="batches"></tbody>
</table>
<p id="no-batches" class="muted" hidden>No batches yet.</p>
</section>
<section>
<h2>Recent failures by code</h2>
<ul id="failures"></ul>
<p id="no-failures" class="muted" hidden>No failures.</p>
</section>
<section>
<h2>Recent messages</h2>
<form id="message-filter" class="filters">
<label>Status <select id="message-status" name="status">
<option value="">any</option><option>queued</option><option>scheduled</option><option>sending</option><option>sent</option><option>failed</option><option>cancelled</option>
</select></label>
<label>App <input id="message-app" name="app" placeholder="every app" size="12"></label>
</form>
<table>
<thead><tr><th>Accepted</th><th>Message</th><th>App</th><th>From</th><th>To</th><th>Status</th><th class="num">msg_id</th><th>Error</th></tr></thead>
<tbody id="messages"></tbody>
</table>
<p id="no-messages" class="muted" hidden>No messages.</p>
</section>
<section>
<h2>TeamTalk connections</h2>
<ul id="db-proxy-degraded" class="warn"></ul>
<table>
<thead><tr><th>Worker</th><th>Server</th><th>Address</th><th>State</th><th class="num">Heartbeat</th></tr></thead>
<tbody id="teamtalk"></tbody>
</table>
<p id="no-workers" class="muted" hidden>No live worker.</p>
</section>
<script src="/console/assets/console.js" defer></script>
<script src="/console/assets/console-messages.js" defer></script>`,
  );
}
