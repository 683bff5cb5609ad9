/**
 * Text with pictures: the markup the TeamTalk clients render (protocol notes §11), byte for byte. The
 * expected bytes are written out by hand from the notes (an independent oracle), never made by joinParts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasImage, holdsMarker, IMAGE_END, IMAGE_START, joinParts, splitParts } from '../src/messages/parts.ts';
import type { Part } from '@ttpush/contract';

// The notes: start marker, the 10 characters &$#@~^@[{: ; end marker, the 9 characters :}]&$~@#@
const START_HEX = '26 24 23 40 7e 5e 40 5b 7b 3a';
const END_HEX = '3a 7d 5d 26 24 7e 40 23 40';
const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

test('the markers are the bytes of the notes', () => {
  assert.deepEqual(Buffer.from(IMAGE_START, 'utf8'), hex(START_HEX));
  assert.deepEqual(Buffer.from(IMAGE_END, 'utf8'), hex(END_HEX));
  assert.equal(IMAGE_START.length, 10);
  assert.equal(IMAGE_END.length, 9);
});

test('a picture alone is start marker + URL + end marker, as the notes spell it', () => {
  const joined = joinParts([{ image: 'https://example.com/a.png' }]);
  assert.equal(joined, '&$#@~^@[{:https://example.com/a.png:}]&$~@#@');
  assert.deepEqual(
    Buffer.from(joined, 'utf8'),
    Buffer.concat([hex(START_HEX), Buffer.from('https://example.com/a.png'), hex(END_HEX)]),
  );
});

test('text and pictures are joined in order with nothing between', () => {
  const joined = joinParts([{ text: 'Sale starts' }, { image: 'https://x/b.jpg' }, { text: ' today' }]);
  assert.equal(joined, 'Sale starts&$#@~^@[{:https://x/b.jpg:}]&$~@#@ today');
  const two = joinParts([{ text: '图 ' }, { image: 'https://a.example/1.png' }, { image: 'https://a.example/2.png' }]);
  assert.deepEqual(
    Buffer.from(two, 'utf8'),
    Buffer.concat([
      Buffer.from('e59bbe20', 'hex'),
      hex(START_HEX),
      Buffer.from('https://a.example/1.png'),
      hex(END_HEX),
      hex(START_HEX),
      Buffer.from('https://a.example/2.png'),
      hex(END_HEX),
    ]),
  );
});

test('split reads the markup back as the clients do', () => {
  assert.deepEqual(splitParts('Sale starts&$#@~^@[{:https://x/b.jpg:}]&$~@#@ today'), [
    { text: 'Sale starts' },
    { image: 'https://x/b.jpg' },
    { text: ' today' },
  ]);
  assert.deepEqual(splitParts('&$#@~^@[{:https://example.com/a.png:}]&$~@#@'), [
    { image: 'https://example.com/a.png' },
  ]);
  assert.deepEqual(splitParts('plain text'), [{ text: 'plain text' }]);
  assert.deepEqual(splitParts(''), []);
  // A start marker without an end marker leaves the rest as text.
  assert.deepEqual(splitParts('a&$#@~^@[{:https://x/y'), [{ text: 'a&$#@~^@[{:https://x/y' }]);
  // An end marker alone is text; the next end marker after a start closes the picture.
  assert.deepEqual(splitParts(':}]&$~@#@x&$#@~^@[{:u:}]&$~@#@:}]&$~@#@'), [
    { text: ':}]&$~@#@x' },
    { image: 'u' },
    { text: ':}]&$~@#@' },
  ]);
  assert.equal(hasImage('x&$#@~^@[{:u:}]&$~@#@'), true);
  assert.equal(hasImage('x'), false);
  assert.equal(holdsMarker('a :}]&$~@#@'), true);
  assert.equal(holdsMarker('a &$#@~^@[{: b'), true);
  assert.equal(holdsMarker('&$#@~^@[{ :}]&$~@#'), false);
});

test('split(join(parts)) gives the parts back for marker-free parts (random mixes)', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  // Pieces of markers and of their neighbours, so that near misses are tried too.
  const alphabet = ['a', ' ', '中', '&', '$', '#', '@', '~', '^', '[', '{', ':', '}', ']', '&$#@~', ':}]&$', '/'];
  const word = () => {
    let s = '';
    const n = 1 + rand(8);
    for (let i = 0; i < n; i++) s += alphabet[rand(alphabet.length)];
    return s;
  };
  for (let round = 0; round < 2000; round++) {
    const parts: Part[] = [];
    const n = 1 + rand(5);
    for (let i = 0; i < n; i++) {
      const last = parts.at(-1);
      if (rand(2) === 0 && !(last && 'text' in last)) parts.push({ text: word() });
      else parts.push({ image: `https://e.x/${word()}` });
    }
    if (parts.some((p) => holdsMarker('text' in p ? p.text : p.image))) continue;
    assert.deepEqual(splitParts(joinParts(parts)), parts, JSON.stringify(parts));
  }
});
