// The NDJSON line splitter: fed whole, byte by byte and split at every offset, it yields the same lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NdjsonLineSplitter, lineText, type NdjsonLine } from '../src/ndjson-lines.ts';

function run(pieces: Buffer[], max = 1024): NdjsonLine[] {
  const s = new NdjsonLineSplitter(max);
  const out: NdjsonLine[] = [];
  for (const p of pieces) out.push(...s.push(p));
  out.push(...s.end());
  return out;
}

const SAMPLE = Buffer.from('\ufeff{"from":1}\r\n{"user":2}\n\n  \n{"group":7,"content":"你好 🎉"}\n{"user":3}', 'utf8');
const EXPECTED: NdjsonLine[] = [
  { number: 1, text: '{"from":1}' },
  { number: 2, text: null, recipient: { user: 2 } },
  { number: 3, text: '' },
  { number: 4, text: '  ' },
  { number: 5, text: '{"group":7,"content":"你好 🎉"}' },
  { number: 6, text: null, recipient: { user: 3 } },
];

test('lines are numbered from 1; CRLF, a BOM and a last line without a newline are handled', () => {
  assert.deepEqual(run([SAMPLE]), EXPECTED);
});

test('the same lines come out fed byte by byte', () => {
  assert.deepEqual(run([...SAMPLE].map((b) => Buffer.from([b]))), EXPECTED);
});

test('the same lines come out split at every offset', () => {
  for (let at = 1; at < SAMPLE.length; at++) {
    assert.deepEqual(run([SAMPLE.subarray(0, at), SAMPLE.subarray(at)]), EXPECTED, `split at ${at}`);
  }
});

test('a line over the limit is reported (not buffered) and the next lines are intact', () => {
  const long = Buffer.from(`{"user":1,"content":"${'x'.repeat(5000)}"}\n{"user":2}\n`);
  const pieces: Buffer[] = [];
  for (let i = 0; i < long.length; i += 100) pieces.push(long.subarray(i, i + 100));
  assert.deepEqual(run(pieces, 1000), [
    { number: 1, text: null, problem: 'too_long' },
    { number: 2, text: null, recipient: { user: 2 } },
  ]);
  assert.deepEqual(run([Buffer.from('x'.repeat(2000))], 1000), [{ number: 1, text: null, problem: 'too_long' }]);
});

test('a line that is not UTF-8 is reported, not decoded with replacement characters', () => {
  const bytes = Buffer.concat([Buffer.from('{"user":2}\n{"user":'), Buffer.from([0xff, 0xfe]), Buffer.from('}\n')]);
  assert.deepEqual(run([bytes]), [
    { number: 1, text: null, recipient: { user: 2 } },
    { number: 2, text: null, problem: 'invalid_utf8' },
  ]);
});

test('an empty body has no lines', () => {
  assert.deepEqual(run([]), []);
  assert.deepEqual(run([Buffer.alloc(0)]), []);
});

test('a line that is exactly {"user":N} or {"group":N} comes out as its recipient, its text the same bytes', () => {
  const exact = ['{"user":1}', '{"group":7}', '{"user":4294967295}', '{"group":1000000000}', '{"user":90}'];
  const lines = run([Buffer.from(exact.map((l) => `${l}\r\n`).join(''))]);
  assert.deepEqual(
    lines.map((l) => ('recipient' in l ? l.recipient : null)),
    [{ user: 1 }, { group: 7 }, { user: 4294967295 }, { group: 1000000000 }, { user: 90 }],
  );
  assert.deepEqual(lines.map(lineText), exact);
});

test('anything else on a recipient line is left as text, to be parsed and checked in full', () => {
  const others = [
    '{"user": 1}',
    '{ "user":1}',
    '{"user":1 }',
    '{"user":01}',
    '{"user":0}',
    '{"user":4294967296}',
    '{"user":12345678901}',
    '{"user":-1}',
    '{"user":1.5}',
    '{"user":1e3}',
    '{"user":"1"}',
    '{"user":}',
    '{"user":1,"content":"x"}',
    '{"users":1}',
    '{"User":1}',
    '{"user":1}}',
    ' {"user":1}',
    '{"user":1} ',
    '[{"user":1}]',
  ];
  const lines = run([Buffer.from(others.map((l) => `${l}\n`).join(''))]);
  assert.deepEqual(
    lines.map((l) => l.text),
    others,
  );
  assert.deepEqual(lines.map(lineText), others);
});
