import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../src/args.ts';
import { parseBatchArgs } from '../src/commands/batch.ts';
import { parseSendArgs } from '../src/commands/send.ts';
import { textOf } from '../src/remote/image-flags.ts';

const SEND = ['--to-user', '2', '--from', '1'];

test('send --image (repeatable, after the text) makes parts: the text, then each picture in order', () => {
  const o = parseSendArgs([...SEND, 'Look', '--image', 'https://e.x/1.png', '--image', 'http://e.x/2.png']);
  assert.ok(o !== 'help');
  assert.deepEqual(textOf(o), {
    parts: [{ text: 'Look' }, { image: 'https://e.x/1.png' }, { image: 'http://e.x/2.png' }],
  });
});

test('send without --image keeps content; with only pictures the text may be left out', () => {
  const plain = parseSendArgs([...SEND, 'hello']);
  assert.ok(plain !== 'help');
  assert.deepEqual(textOf(plain), { content: 'hello' });
  const only = parseSendArgs([...SEND, '--image', 'https://e.x/1.png']);
  assert.ok(only !== 'help');
  assert.deepEqual(textOf(only), { parts: [{ image: 'https://e.x/1.png' }] });
  assert.throws(() => parseSendArgs(SEND), UsageError);
  assert.throws(() => parseSendArgs([...SEND, 'x', '--image', 'ftp://e.x/1.png']), /--image must be an http\(s\) URL/);
  assert.throws(() => parseSendArgs([...SEND, 'x', '--image', 'e.x/1.png']), UsageError);
});

test('batch --image: the batch text then the pictures; --text may be left out with pictures', () => {
  const o = parseBatchArgs(['--from', '1', '--text', 'Hi', '--image', 'https://e.x/a.png', '--recipients', '-']);
  assert.ok(o !== 'help');
  assert.deepEqual(textOf(o), { parts: [{ text: 'Hi' }, { image: 'https://e.x/a.png' }] });
  const only = parseBatchArgs(['--from', '1', '--image', 'https://e.x/a.png', '--recipients', '-']);
  assert.ok(only !== 'help');
  assert.deepEqual(textOf(only), { parts: [{ image: 'https://e.x/a.png' }] });
  assert.throws(() => parseBatchArgs(['--from', '1', '--recipients', '-']), /--text is required/);
});
