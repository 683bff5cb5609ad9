// Text with pictures end to end: `ttpush send --image` and `ttpush batch --image` through the api and a
// worker to the sandbox TeamTalk, received by `ttpush listen` as parts; the stored text is the markup of
// the protocol notes §11, byte for byte (written out here by hand, not made by joinParts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TeamTalkCipher } from '@ttpush/pdu';
import { DEV_KEY, Harness, STOCK_KEY } from './helpers/harness.ts';
import { listen, type Listener } from './helpers/listen.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/ttpush.mjs', import.meta.url));
const S = '&$#@~^@[{:';
const E = ':}]&$~@#@';
const cipher = new TeamTalkCipher(STOCK_KEY);

let h: Harness;
let dir: string;
const listeners: Listener[] = [];

before(async () => {
  h = await Harness.start();
  dir = mkdtempSync(join(tmpdir(), 'ttpush-parts-'));
});
after(async () => {
  for (const l of listeners) await l.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await h?.stop();
});

function ttpush(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, TTPUSH_API_KEY: DEV_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
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

test('a message with two pictures, sent with send --image, reaches ttpush listen as parts', async () => {
  const listener = await listen(h.sandbox.msgServer.port, 2);
  listeners.push(listener);
  const r = await ttpush([
    'send', '--url', h.url, '--to-user', '2', '--from', '1', '--wait', '10', '--json',
    'Sale starts 今天 ', '--image', 'https://cdn.example.com/banner.png', '--image', 'https://cdn.example.com/chart.png?w=2',
  ]); // prettier-ignore
  assert.equal(r.code, 0, r.stderr);
  const view = JSON.parse(r.stdout) as { id: string; status: string; parts: unknown };
  assert.equal(view.status, 'sent');
  const parts = [
    { text: 'Sale starts 今天 ' },
    { image: 'https://cdn.example.com/banner.png' },
    { image: 'https://cdn.example.com/chart.png?w=2' },
  ];
  assert.deepEqual(view.parts, parts);
  const raw = `Sale starts 今天 ${S}https://cdn.example.com/banner.png${E}${S}https://cdn.example.com/chart.png?w=2${E}`;
  const [line] = await listener.waitFor(1);
  assert.equal(line.text, raw);
  assert.deepEqual(line.parts, parts);
  // What TeamTalk stored: the markup, encrypted as any text.
  const stored = h.sandbox.store.singleMessages(1, 2).at(-1)!;
  assert.equal(cipher.decryptToString(Buffer.from(stored.msgData)), raw);
  const got = await h.get(`/v1/messages/${view.id}`);
  assert.deepEqual(got.body.parts, parts);
});

test('batch --image sends the text and picture to every recipient; a line with its own parts gets those', async () => {
  const l3 = await listen(h.sandbox.msgServer.port, 3);
  const l4 = await listen(h.sandbox.msgServer.port, 4);
  listeners.push(l3, l4);
  const file = join(dir, 'recipients.txt');
  writeFileSync(file, `3\n{"user": 4, "parts": [{"image": "https://cdn.example.com/own.png"}, {"text": " for 4"}]}\n`);
  const r = await ttpush([
    'batch', '--url', h.url, '--from', '1', '--text', 'Hello ', '--image', 'https://cdn.example.com/all.png',
    '--recipients', file, '--no-progress', '--json',
  ]); // prettier-ignore
  assert.equal(r.code, 0, r.stderr);
  const [to3] = await l3.waitFor(1);
  assert.equal(to3.text, `Hello ${S}https://cdn.example.com/all.png${E}`);
  assert.deepEqual(to3.parts, [{ text: 'Hello ' }, { image: 'https://cdn.example.com/all.png' }]);
  const [to4] = await l4.waitFor(1);
  assert.equal(to4.text, `${S}https://cdn.example.com/own.png${E} for 4`);
  assert.deepEqual(to4.parts, [{ image: 'https://cdn.example.com/own.png' }, { text: ' for 4' }]);
});

test('send --image with a URL that is not http(s) is a usage error; a refused part exits 3 naming it', async () => {
  const usage = await ttpush(['send', '--url', h.url, '--to-user', '2', '--from', '1', 'x', '--image', 'ftp://x/y']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--image must be an http\(s\) URL/);
  const long = `https://cdn.example.com/${'a'.repeat(1000)}`;
  const refused = await ttpush(['send', '--url', h.url, '--to-user', '2', '--from', '1', 'x', '--image', long]);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /parts\[1\]\.image/);
});
