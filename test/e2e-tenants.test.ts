// Tenants end to end: apps and keys made with `ttpush admin` (a real child process) against real api processes,
// sends through the sandbox TeamTalk, scope refusals, revocation across api processes, rotation, quotas, audit,
// configuration-file keys, and no secret in any process's output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Harness, sleep } from './helpers/harness.ts';
import { rawPost } from './helpers/raw-post.ts';
import { finished, waitBatch } from './helpers/batches.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/ttpush.mjs', import.meta.url));
const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef';
const FILE_KEY = 'file-key-for-e2e-0123456789';

let h: Harness;
let apiB: string;
let dir: string;
/** Every secret handed out, to look for in the processes' output at the end. */
const secrets: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ttpush-tenants-'));
  const keysFile = join(dir, 'keys.json');
  writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'fileapp', key: FILE_KEY, senders: [1] }] }));
  h = await Harness.start({
    sandbox: { groups: { '700': [1, 2, 3], '800': [1, 2] } },
    env: { TTPUSH_ADMIN_KEY: ADMIN_KEY, TTPUSH_APP_KEYS_FILE: keysFile, TTPUSH_LOG_LEVEL: 'info' },
  });
  apiB = await h.startExtraApi();
});

after(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ttpush admin ARGS` with the admin key (unless env overrides it); bounded in time. */
function admin(args: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  const all: Record<string, string | undefined> = { ...process.env, TTPUSH_ADMIN_KEY: ADMIN_KEY, ...env };
  for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
  const child = spawn(process.execPath, [BIN, 'admin', ...args, '--url', h.url], {
    env: all,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ttpush admin ${args.join(' ')} did not exit in 60 s`));
    }, 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function adminJson(args: string[]): Promise<any> {
  const r = await admin([...args, '--json']);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function newKey(app: string, flags: string[]): Promise<{ id: string; secret: string }> {
  const r = await adminJson(['keys', 'create', '--app', app, ...flags]);
  secrets.push(r.secret);
  return { id: r.key.id, secret: r.secret };
}

async function send(
  base: string,
  key: string,
  body: unknown,
  path = '/v1/messages',
): Promise<{ status: number; body: any }> {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** Sends until the answer is `status`, at most `ms`; returns how long it took. */
async function until(status: number, ms: number, attempt: () => Promise<{ status: number }>): Promise<number> {
  const started = Date.now();
  for (;;) {
    const r = await attempt();
    if (r.status === status) return Date.now() - started;
    if (Date.now() - started > ms) assert.fail(`still ${r.status} after ${ms} ms, expected ${status}`);
    await sleep(5);
  }
}

test('ttpush admin refuses to run without the admin key (exit 2) and with a wrong one (exit 3)', async () => {
  const none = await admin(['apps', 'list'], { TTPUSH_ADMIN_KEY: undefined });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /TTPUSH_ADMIN_KEY is not set/);
  const wrong = await admin(['apps', 'list'], { TTPUSH_ADMIN_KEY: 'not-the-admin-key-0123456789' });
  assert.equal(wrong.code, 3);
  assert.match(wrong.stderr, /unauthorized/);
  const usage = await admin(['keys', 'create', '--senders', '1']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--app is required/);
});

test('a key made with ttpush admin sends as its senders to its groups, and nothing else', async () => {
  const app = await adminJson(['apps', 'create', 'shop', '--rate-limit', '1000', '--priority', 'high']);
  assert.equal(app.name, 'shop');
  // Without --json the secret is printed once, on a line of its own.
  const human = await admin(['keys', 'create', '--app', 'shop', '--senders', '1', '--groups', '700']);
  assert.equal(human.code, 0, human.stderr);
  const secret = human.stdout.split('\n').find((l) => l.startsWith('ttpk_'))!;
  assert.ok(secret, human.stdout);
  secrets.push(secret);

  const single = await send(
    h.url,
    secret,
    { from: 1, to: { user: 2 }, content: 'tenant single' },
    '/v1/messages?wait=10',
  );
  assert.equal(single.status, 200, JSON.stringify(single.body));
  assert.equal(single.body.status, 'sent');
  assert.equal(single.body.priority, 'high', "the app's default priority");
  const group = await send(
    h.url,
    secret,
    { from: 1, to: { group: 700 }, content: 'tenant group' },
    '/v1/messages?wait=10',
  );
  assert.equal(group.body.status, 'sent');
  assert.equal(h.sandbox.store.singleMessages(1, 2).at(-1)!.msgId, single.body.msg_id);

  const asOther = await send(h.url, secret, { from: 2, to: { user: 3 }, content: 'x' });
  assert.deepEqual([asOther.status, asOther.body.error.code], [403, 'forbidden_sender']);
  const toOther = await send(h.url, secret, { from: 1, to: { group: 800 }, content: 'x' });
  assert.deepEqual([toOther.status, toOther.body.error.code], [403, 'forbidden_group']);
  const batch = await send(h.url, secret, { from: 1, content: 'x', recipients: [{ user: 2 }] }, '/v1/batches');
  assert.deepEqual([batch.status, batch.body.error.code], [403, 'forbidden_scope']);

  // The legacy /query endpoints take tenant keys as app_key, with the same scopes (error 3 outside them).
  const legacy = async (path: string, body: object) =>
    JSON.parse((await rawPost(h.apiPort, path, JSON.stringify({ app_key: secret, ...body }))).split('\r\n\r\n')[1]!);
  const ok = await legacy('/query/SendGroupMessage', { from_user_id: 1, session_id: 700, msg: 'legacy tenant' });
  assert.equal(ok.error_code, 0, JSON.stringify(ok));
  const outside = await legacy('/query/SendGroupMessage', { from_user_id: 1, session_id: 800, msg: 'x' });
  assert.equal(outside.error_code, 3);
  const createGroup = await legacy('/query/CreateGroup', {
    req_user_id: 1,
    group_name: 'g',
    group_type: 2,
    group_avatar: '',
    user_id_list: [1, 2],
  });
  assert.equal(createGroup.error_code, 3, 'no manage_groups scope');

  const withBatches = await newKey('shop', ['--senders', '1', '--groups', '*', '--batches']);
  const okBatch = await send(
    h.url,
    withBatches.secret,
    { from: 1, content: 'b', recipients: [{ user: 2 }, { group: 800 }] },
    '/v1/batches',
  );
  assert.equal(okBatch.status, 202, JSON.stringify(okBatch.body));
});

test('a key revoked through api A is refused at once on api B, which had it cached', async (t) => {
  const k = await newKey('shop', ['--senders', '*']);
  const msg = { from: 1, to: { user: 3 }, content: 'before revoke' };
  assert.equal((await send(apiB, k.secret, msg)).status, 202);
  const r = await admin(['keys', 'revoke', k.id]);
  assert.equal(r.code, 0, r.stderr);
  // B's cache would keep the key for 5 s; the notice makes B refuse within a few ms of pub/sub (4 s allowed for a
  // loaded machine: still under the cache TTL, so only the notice can do it).
  const ms = await until(401, 4000, () => send(apiB, k.secret, msg));
  t.diagnostic(`api B refused the revoked key ${ms} ms after ttpush admin keys revoke exited`);
  assert.equal((await send(h.url, k.secret, msg)).status, 401);
});

test('a rotated key works at once; the old one until its grace ends, then never', async () => {
  const old = await newKey('shop', ['--senders', '*']);
  const rotated = await adminJson(['keys', 'rotate', old.id, '--grace', '2']);
  secrets.push(rotated.secret);
  assert.equal(rotated.key.rotated_from, old.id);
  assert.deepEqual(rotated.key.scopes, {
    senders: '*',
    groups: [],
    batches: false,
    manage_groups: false,
    read_all: false,
    manage_webhooks: false,
  });
  const msg = { from: 1, to: { user: 2 }, content: 'rotation' };
  assert.equal((await send(apiB, rotated.secret, msg)).status, 202);
  assert.equal((await send(apiB, old.secret, msg)).status, 202, 'the old key works during its grace');
  await until(401, 10_000, () => send(apiB, old.secret, msg));
  assert.equal((await send(apiB, rotated.secret, msg)).status, 202);
});

test('a daily quota answers 429 quota_exceeded with Retry-After, on every api process', async () => {
  await adminJson(['apps', 'create', 'tiny', '--daily-quota', '2']);
  const k = await newKey('tiny', ['--senders', '*']);
  const msg = { from: 1, to: { user: 2 }, content: 'quota' };
  assert.equal((await send(h.url, k.secret, msg)).status, 202);
  assert.equal((await send(apiB, k.secret, msg)).status, 202);
  const r = await fetch(`${apiB}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${k.secret}` },
    body: JSON.stringify(msg),
  });
  assert.equal(r.status, 429);
  assert.equal(((await r.json()) as any).error.code, 'quota_exceeded');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  // Raising the quota applies at once.
  await adminJson(['apps', 'set', 'tiny', '--daily-quota', '3']);
  assert.equal((await send(apiB, k.secret, msg)).status, 202);
});

test("a tenant app's batch is paced by its rate_limit in the workers", async (t) => {
  await adminJson(['apps', 'create', 'paced', '--rate-limit', '100']);
  const k = await newKey('paced', ['--senders', '*', '--batches']);
  const recipients = Array.from({ length: 400 }, (_, i) => ({ user: 40_000 + i }));
  const r = await send(h.url, k.secret, { from: 1, content: 'paced', recipients }, '/v1/batches');
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const view = await waitBatch(h, r.body.id, finished, 30_000, k.secret);
  assert.equal(view.counts.sent, 400);
  const span = Date.parse(view.finished_at) - Date.parse(view.started_at);
  t.diagnostic(`400 recipients at rate_limit 100/s sent in ${span} ms`);
  // A burst of 100, then 100/s: about 3 s; unpaced, the sandbox takes a fraction of a second.
  assert.ok(span >= 2500, `sent in ${span} ms`);
});

test('configuration-file keys and the development key keep working', async () => {
  const r = await send(h.url, FILE_KEY, { from: 1, to: { user: 2 }, content: 'file key' }, '/v1/messages?wait=10');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'sent');
  assert.equal(
    (await send(h.url, FILE_KEY, { from: 2, to: { user: 3 }, content: 'x' })).body.error.code,
    'forbidden_sender',
  );
  assert.equal((await h.post('/v1/messages', { from: 5, to: { group: 800 }, content: 'dev' })).status, 202);
});

test('the audit log lists every change with its key id and request id', async () => {
  const r = await adminJson(['audit', '--app', 'shop', '--limit', '100']);
  const actions = r.entries.map((e: any) => e.action);
  for (const a of ['app.create', 'key.create', 'key.revoke', 'key.rotate'])
    assert.ok(actions.includes(a), actions.join());
  assert.ok(r.entries.every((e: any) => e.app === 'shop' && e.request_id && e.who === 'admin'));
  const text = await admin(['audit', '--app', 'tiny']);
  assert.match(text.stdout, /app\.update .*daily_quota/);
});

test('no secret and not the admin key appears in any process output', async () => {
  assert.ok(secrets.length >= 6);
  const procs = [h.api!, ...h.extraApis, ...h.workers];
  const output = procs.map((p) => p.output.join('')).join('\n');
  assert.match(output, /"keyId":"key_[0-9a-f]{16}"/, 'request lines name the key id');
  for (const s of secrets) {
    const part = s.split('_').slice(3).join('_');
    assert.ok(!output.includes(part), 'a key secret is in a log line');
  }
  assert.ok(!output.includes(ADMIN_KEY), 'the admin key is in a log line');
  assert.ok(!output.includes(FILE_KEY), 'a file key is in a log line');
});
