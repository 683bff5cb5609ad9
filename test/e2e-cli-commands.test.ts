// The ttpush commands a caller reaches for after `send` and `batch`, as a script or a terminal sees them, against a
// running ttpush whose development key is paced at 50 messages/s (so a batch of 1,000 recipients runs for about 20 s,
// inside one chunk): --version and help, unknown flags, send's scheduling flags, message get|cancel, batch
// status|results|cancel|pause|resume and --follow, Ctrl-C and a lost ttpush while following, plain progress lines
// off a terminal, and counts that move while a paced chunk sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@ttpush/testkit';
import { DEV_KEY, Harness, sleep } from './helpers/harness.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/ttpush.mjs', import.meta.url));
const RATE = 50;
const ADMIN_KEY = 'admin-key-for-the-cli-e2e-000001';

let h: Harness;
let dir: string;

before(async () => {
  h = await Harness.start({ env: { TTPUSH_DEV_RATE_LIMIT: String(RATE), TTPUSH_ADMIN_KEY: ADMIN_KEY } });
  dir = mkdtempSync(join(tmpdir(), 'ttpush-cli-cmds-'));
});
after(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  await h?.stop();
});

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `ttpush ARGS` with the dev key and pipes (so stderr is no terminal); killed if it outlives 90 s. */
function start(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string } = {}): Running {
  const env: Record<string, string | undefined> = { ...process.env, TTPUSH_API_KEY: DEV_KEY, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end(opts.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) =>
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

const ttpush = (args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string } = {}) =>
  start(args, opts).done;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function recipientsFile(name: string, first: number, n: number): string {
  const file = join(dir, name);
  writeFileSync(file, Array.from({ length: n }, (_, i) => String(first + i)).join('\n') + '\n');
  return file;
}

/** Starts `ttpush batch` over N users and waits for its first progress line; returns the run and the batch id. */
async function startBatch(name: string, first: number, n: number): Promise<{ run: Running; id: string }> {
  const file = recipientsFile(name, first, n);
  const run = start(['batch', '--url', h.url, '--from', '1', '--text', name, '--recipients', file]);
  const id = await until(`the first progress line of ${name}`, () => /batch (bat_\w+) /.exec(run.stderr())?.[1]);
  return { run, id };
}

/** No carriage return and no escape sequence: text a log or a pipe shows as it is. */
const plain = (text: string) => !text.includes('\r') && !text.includes('\u001b');

async function batchView(id: string): Promise<any> {
  const r = await h.get(`/v1/batches/${id}`);
  assert.equal(r.status, 200);
  return r.body;
}

test('--version, -v and help <command>', async () => {
  for (const flag of ['--version', '-v']) {
    const r = await ttpush([flag]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ttpush \d+\.\d+\.\d+ \(node v\d+/);
  }
  const help = await ttpush(['help', 'batch']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /ttpush batch status ID \[--follow\]/);
  assert.match(help.stdout, /130 interrupted by Ctrl-C/);
  const msgHelp = await ttpush(['help', 'message']);
  assert.equal(msgHelp.code, 0);
  assert.match(msgHelp.stdout, /ttpush message cancel ID/);
  const unknown = await ttpush(['help', 'bach']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'bach': did you mean batch\?/);
});

test('an unknown flag is named with the closest valid ones, not parseArgs text: exit 2', async () => {
  const to = await ttpush(['send', '--url', h.url, '--to', '2', '--from', '1', 'x']);
  assert.equal(to.code, 2);
  assert.match(to.stderr, /^ttpush send: unknown option --to: did you mean --to-user or --to-group\?\n/);
  assert.doesNotMatch(to.stderr, /Unknown option|positional argument/);
  const recipient = await ttpush(['batch', '--from', '1', '--text', 'x', '--recipient', 'f']);
  assert.equal(recipient.code, 2);
  assert.match(recipient.stderr, /unknown option --recipient: did you mean --recipients\?/);
  const follow = await ttpush(['batch', 'status', 'bat_0000000000', '--folow']);
  assert.equal(follow.code, 2);
  assert.match(follow.stderr, /unknown option --folow: did you mean --follow\?/);
  const sub = await ttpush(['batch', 'stauts', 'bat_0000000000']);
  assert.equal(sub.code, 2);
  assert.match(sub.stderr, /unknown subcommand 'stauts': did you mean status\?/);
});

test('send --send-at --deadline --idempotency-key --metadata; message get and cancel; their exit codes', async () => {
  const args = ['send', '--url', h.url, '--to-user', '2', '--from', '1', '--json'];
  const flags = ['--send-at', '1h', '--deadline', '2h', '--idempotency-key', 'order-42', '--metadata', '{"order":42}'];
  const r = await ttpush([...args, ...flags, 'later']);
  assert.equal(r.code, 0, r.stderr);
  const view = JSON.parse(r.stdout) as {
    id: string;
    status: string;
    send_at: string;
    deadline: string;
    metadata: unknown;
  };
  assert.equal(view.status, 'scheduled');
  assert.deepEqual(view.metadata, { order: 42 });
  const inAnHour = Date.parse(view.send_at) - Date.now();
  assert.ok(inAnHour > 3_500_000 && inAnHour <= 3_600_000, view.send_at);
  assert.ok(Date.parse(view.deadline) > Date.parse(view.send_at));
  // The same Idempotency-Key with the same request answers the first message. A relative --send-at is a new time at
  // each run, so the repeat names the first one's absolute times; another request under the key is refused (exit 3).
  const same = ['--send-at', view.send_at, '--deadline', view.deadline, '--idempotency-key', 'order-42'];
  const again = await ttpush([...args, ...same, '--metadata', '{"order":42}', 'later']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).id, view.id);
  const reused = await ttpush([...args, ...flags, 'later']);
  assert.equal(reused.code, 3, reused.stderr);
  assert.match(reused.stderr, /idempotency_key_reused/);
  const at = await ttpush([...args, '--send-at', '2030-01-31T09:30:00Z', 'at a time']);
  assert.equal(JSON.parse(at.stdout).send_at, '2030-01-31T09:30:00.000Z');

  const got = await ttpush(['message', 'get', view.id, '--url', h.url]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, new RegExp(`^message ${view.id} to user 2: scheduled \\(send at \\S+\\)\\n$`));
  const cancelled = await ttpush(['message', 'cancel', view.id, '--url', h.url]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.match(cancelled.stdout, /: cancelled\n$/);
  const json = await ttpush(['message', 'get', view.id, '--url', h.url, '--json']);
  assert.equal(JSON.parse(json.stdout).status, 'cancelled');

  // A sent message can no longer be cancelled: refused, exit 3.
  const sent = await ttpush(['send', '--url', h.url, '--to-user', '3', '--from', '1', '--wait', '10', '--json', 'now']);
  assert.equal(sent.code, 0, sent.stderr);
  const late = await ttpush(['message', 'cancel', JSON.parse(sent.stdout).id, '--url', h.url]);
  assert.equal(late.code, 3);
  assert.match(late.stderr, /^ttpush message cancel: \w+ \[HTTP 409\]/);
  const missing = await ttpush(['message', 'get', 'msg_doesnotexist', '--url', h.url]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /\[HTTP 404\]/);
  const port = await freePort();
  const away = await ttpush(['message', 'get', view.id, '--url', `http://127.0.0.1:${port}`]);
  assert.equal(away.code, 4);
  const usage = [
    await ttpush(['message', 'get']),
    await ttpush(['message', 'drop', view.id]),
    await ttpush([...args, '--metadata', '[1]', 'x']),
    await ttpush([...args, '--send-at', 'tomorrow', 'x']),
  ];
  assert.deepEqual(
    usage.map((u) => u.code),
    [2, 2, 2, 2],
  );
  assert.match(usage[1]!.stderr, /unknown subcommand 'drop'/);
  assert.match(usage[2]!.stderr, /--metadata must be a JSON object/);
  assert.match(usage[3]!.stderr, /--send-at must be an RFC 3339 time/);
});

test('a paced batch: counts move inside its one chunk, plain progress lines, Ctrl-C exits 130 with the hint', async () => {
  const n = 1000;
  const { run, id } = await startBatch('paced', 100_000, n);
  // The batch view's sent count strictly between 0 and the total while the batch still runs.
  const mid = await until('counts inside the chunk', async () => {
    const v = await batchView(id);
    return v.status === 'running' && v.counts.sent > 0 && v.counts.sent < n ? v : undefined;
  });
  assert.ok(mid.rate > 0 && mid.eta_seconds > 0, JSON.stringify(mid));
  assert.equal(mid.counts.sent + mid.counts.failed + mid.counts.sending + mid.counts.queued, n);
  // The console: the batch's row is part way, and the "batch recipients to go" tile is what the row leaves.
  await until('the console row and tile to agree part way', async () => {
    const r = await fetch(`${h.url}/console/api/overview`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const o = (await r.json()) as any;
    const row = o.batches.find((b: any) => b.id === id);
    const done = row.counts.sent + row.counts.failed + row.counts.cancelled;
    return row.progress_percent > 0 && row.progress_percent < 100 && o.queue.batch_pending === n - done
      ? true
      : undefined;
  });
  const status = await ttpush(['batch', 'status', id, '--url', h.url]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^batch ${id} running: \\d+ sent, 0 failed of ${n} \\(\\d+%\\)`));

  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130);
  assert.match(r.stderr, new RegExp(`stopped following; batch ${id} goes on server-side`));
  assert.ok(r.stderr.includes(`ttpush batch status ${id} --follow --url ${h.url}`), r.stderr);
  assert.ok(r.stderr.includes(`ttpush batch cancel ${id} --url ${h.url}`), r.stderr);
  // Not a terminal: no carriage returns or escape sequences, each progress line whole.
  assert.ok(plain(r.stderr), JSON.stringify(r.stderr));
  assert.match(r.stderr, new RegExp(`^batch ${id} (queued|running): \\d+ sent, 0 failed of ${n} .*\\n`, 'm'));

  // The batch went on: pause, resume, follow it to its end.
  const paused = await ttpush(['batch', 'pause', id, '--url', h.url]);
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(paused.stdout, new RegExp(`^batch ${id} paused: `));
  const resumed = await ttpush(['batch', 'resume', id, '--url', h.url, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).status, 'running');
  const followed = await ttpush(['batch', 'status', id, '--follow', '--url', h.url]);
  assert.equal(followed.code, 0, followed.stderr);
  assert.match(followed.stdout, new RegExp(`^batch ${id} completed: ${n} sent, 0 failed of ${n} in \\S+\\n$`));
  assert.match(followed.stderr, new RegExp(`batch ${id} completed: ${n} sent, 0 failed of ${n} \\(100%\\)`));
  assert.ok(plain(followed.stderr), JSON.stringify(followed.stderr));

  const rows = await ttpush(['batch', 'results', id, '--url', h.url, '--limit', '3']);
  assert.equal(rows.code, 0, rows.stderr);
  assert.match(
    rows.stdout,
    /^user 100000 sent msg_id \d+\nuser 100001 sent msg_id \d+\nuser 100002 sent msg_id \d+\n$/,
  );
  const all = await ttpush(['batch', 'results', id, '--url', h.url, '--json']);
  assert.equal(all.stdout.trim().split('\n').length, n);
  assert.equal(JSON.parse(all.stdout.split('\n')[0]!).state, 'sent');
  const none = await ttpush(['batch', 'results', id, '--url', h.url, '--state', 'failed']);
  assert.deepEqual([none.code, none.stdout], [0, '']);
  const over = await ttpush(['batch', 'cancel', id, '--url', h.url]);
  assert.equal(over.code, 3);
  assert.match(over.stderr, /\[HTTP 409\]/);
  const unknown = await ttpush(['batch', 'status', 'bat_0000000000', '--url', h.url]);
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /\[HTTP 404\]/);
  assert.equal((await ttpush(['batch', 'status', id, '--state', 'sent'])).code, 2);
});

test('ttpush unreachable while following a batch: the same hint, exit 4; cancel works once it is back', async () => {
  const { run, id } = await startBatch('lost', 200_000, 1000);
  await until('sending', async () => ((await batchView(id)).counts.sent > 0 ? true : undefined));
  h.api!.child.kill('SIGKILL');
  await h.api!.exited;
  const r = await run.done;
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /ttpush batch: unreachable/);
  assert.match(r.stderr, new RegExp(`lost touch with ttpush; batch ${id} goes on server-side if ttpush is running`));
  assert.ok(r.stderr.includes(`ttpush batch status ${id} --follow --url ${h.url}`), r.stderr);
  await h.startApi();
  await h.waitReady();
  // Ctrl-C while following with `batch status --follow`: the same hint, exit 130.
  const follow = start(['batch', 'status', id, '--follow', '--url', h.url]);
  await until('status --follow to print', () => (follow.stderr().includes(id) ? true : undefined));
  follow.child.kill('SIGINT');
  const f = await follow.done;
  assert.equal(f.code, 130);
  assert.match(f.stderr, new RegExp(`ttpush batch status: stopped following; batch ${id} goes on server-side`));
  // Cancelled while followed: the follower ends once the chunks are settled, its summary counts the cancelled, exit 1.
  const follower = start(['batch', 'status', id, '--follow', '--url', h.url]);
  await until('the follower to print', () => (follower.stderr().includes(id) ? true : undefined));
  const cancelled = await ttpush(['batch', 'cancel', id, '--url', h.url]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.match(cancelled.stdout, new RegExp(`^batch ${id} cancelled: `));
  const ended = await follower.done;
  assert.equal(ended.code, 1, ended.stderr);
  const m = new RegExp(`^batch ${id} cancelled: (\\d+) sent, 0 failed, (\\d+) cancelled of 1000 in \\S+\\n$`).exec(
    ended.stdout,
  );
  assert.ok(m, ended.stdout);
  assert.equal(Number(m[1]) + Number(m[2]), 1000);
});
