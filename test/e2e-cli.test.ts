// `ttpush send` and `ttpush batch` as a script sees them (exit codes, stdout, --json) against a running ttpush.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@ttpush/testkit';
import { DEV_KEY, Harness } from './helpers/harness.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/ttpush.mjs', import.meta.url));

let h: Harness;
let dir: string;

before(async () => {
  h = await Harness.start({ sandbox: { groups: { '800': [1, 2, 3] } } });
  dir = mkdtempSync(join(tmpdir(), 'ttpush-cli-'));
});
after(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  await h?.stop();
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ttpush ARGS` with the dev key (unless env overrides it), optional stdin; bounded in time. */
function ttpush(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string } = {}): Promise<Ran> {
  const env: Record<string, string | undefined> = { ...process.env, TTPUSH_API_KEY: DEV_KEY, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(opts.stdin ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ttpush ${args.join(' ')} did not exit in 60 s\n${stdout}\n${stderr}`));
    }, 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('send --wait prints the sent message and exits 0', async () => {
  const r = await ttpush([
    'send',
    '--url',
    h.url,
    '--to-user',
    '2',
    '--from',
    '1',
    '--wait',
    '10',
    'hello from the cli',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^message \S+ to user 2: sent \(msg_id \d+\)\n$/);
  assert.ok(h.sandbox.store.singleMessages(1, 2).length >= 1);
});

test('send --json prints one JSON object, the message view, and nothing else', async () => {
  const r = await ttpush([
    'send',
    '--url',
    h.url,
    '--to-group',
    '800',
    '--from',
    '1',
    '--json',
    '--wait',
    '10',
    'to the group',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const view = JSON.parse(r.stdout) as { id: string; status: string; to: unknown };
  assert.equal(r.stdout.trim().split('\n').length, 1);
  assert.equal(view.status, 'sent');
  assert.deepEqual(view.to, { group: 800 });
});

test('send a request the API refuses: exit 3 with its code and message', async () => {
  const r = await ttpush(['send', '--url', h.url, '--to-user', '5', '--from', '5', 'to myself']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /self_send \[HTTP 400\]: .*\(field to\.user\)/);
});

test('send without TTPUSH_API_KEY, or with bad flags: exit 2 and the usage', async () => {
  const noKey = await ttpush(['send', '--url', h.url, '--to-user', '2', '--from', '1', 'x'], {
    env: { TTPUSH_API_KEY: undefined },
  });
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /TTPUSH_API_KEY is not set/);
  assert.match(noKey.stderr, /usage: ttpush send/);
  const bothTargets = await ttpush(['send', '--to-user', '2', '--to-group', '800', '--from', '1', 'x']);
  assert.equal(bothTargets.code, 2);
  const noText = await ttpush(['send', '--to-user', '2', '--from', '1']);
  assert.equal(noText.code, 2);
  assert.match(noText.stderr, /TEXT is missing/);
});

test('send to an unreachable url: exit 4', async () => {
  const port = await freePort();
  const r = await ttpush(['send', '--url', `http://127.0.0.1:${port}`, '--to-user', '2', '--from', '1', 'x']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /unreachable: cannot reach ttpush/);
});

test('batch from a file of 2,000 user ids: exit 0, progress on stderr, --json counts on stdout', async () => {
  const file = join(dir, 'ids.txt');
  writeFileSync(file, Array.from({ length: 2000 }, (_, i) => String(10_000 + i)).join('\n') + '\n');
  const r = await ttpush([
    'batch',
    '--url',
    h.url,
    '--from',
    '1',
    '--text',
    'file batch',
    '--recipients',
    file,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const view = JSON.parse(r.stdout) as {
    id: string;
    status: string;
    total: number;
    counts: { sent: number; failed: number };
  };
  assert.equal(r.stdout.trim().split('\n').length, 1);
  assert.equal(view.status, 'completed');
  assert.equal(view.total, 2000);
  assert.equal(view.counts.sent, 2000);
  assert.equal(view.counts.failed, 0);
  assert.match(r.stderr, new RegExp(`batch ${view.id} completed: 2000 sent, 0 failed of 2000 \\(100%\\)`));
  assert.match(r.stderr, /batch \S+ completed: 2000 sent, 0 failed of 2000 in /);
  assert.equal(h.sandbox.store.singleMessages(1, 10_000).length, 1);
  assert.equal(h.sandbox.store.singleMessages(1, 11_999).length, 1);
});

test('batch from stdin NDJSON: exit 0, summary on stdout; --json counts', async () => {
  const lines = ['{"user": 20001}', '', '{"group": 800}', '{"user": 20002, "content": "own text"}', '20003'].join('\n');
  const plain = await ttpush(
    ['batch', '--url', h.url, '--from', '1', '--text', 'stdin batch', '--recipients', '-', '--no-progress'],
    { stdin: lines },
  );
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^batch \S+ completed: 4 sent, 0 failed of 4 in \S+\n$/);
  assert.equal(plain.stderr, '');
  const json = await ttpush(
    ['batch', '--url', h.url, '--from', '2', '--text', 'stdin json', '--recipients', '-', '--json'],
    { stdin: '{"user": 20004}\n{"user": 20005}\n' },
  );
  assert.equal(json.code, 0, json.stderr);
  const view = JSON.parse(json.stdout) as { total: number; counts: { sent: number } };
  assert.deepEqual([view.total, view.counts.sent], [2, 2]);
});

test('batch with a recipient the API refuses: exit 3 naming the line; a line that is no recipient: exit 2', async () => {
  const refused = await ttpush(['batch', '--url', h.url, '--from', '1', '--text', 'x', '--recipients', '-'], {
    stdin: '{"user": 3}\n{"user": -4}\n',
  });
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /invalid_recipient \[HTTP 400\]: line 3/);
  const garbage = await ttpush(['batch', '--url', h.url, '--from', '1', '--text', 'x', '--recipients', '-'], {
    stdin: '3\nnot a recipient\n',
  });
  assert.equal(garbage.code, 2);
  assert.match(garbage.stderr, /stdin, line 2: 'not a recipient' is neither a user id nor a recipient object/);
  const noFile = await ttpush(['batch', '--from', '1', '--text', 'x', '--recipients', join(dir, 'missing.txt')]);
  assert.equal(noFile.code, 2);
});
