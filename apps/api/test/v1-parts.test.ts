/**
 * `parts` (text with pictures) instead of `content`: on POST /v1/messages over real HTTP against the
 * in-memory service, and in a batch's header and recipients (the batch checks themselves). The expected
 * texts are written out by hand from the protocol notes §11, not made by the function under test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../src/errors.ts';
import { parseBatchHeader, parseBatchRecipient } from '../src/batch-validation.ts';
import { KEYS, bearer, startTestApp, type TestApp } from './helpers/test-app.ts';

const HEADERS = { ...bearer(KEYS.crm), 'content-type': 'application/json' };
const S = '&$#@~^@[{:';
const E = ':}]&$~@#@';
const BASE = { from: 1001, to: { user: 2001 } };

async function post(t: TestApp, body: unknown) {
  const res = await fetch(`${t.url}/v1/messages`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { res, json: (await res.json()) as Record<string, any> };
}

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

describe('POST /v1/messages with parts', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('joins text and pictures with the markers, nothing between, and shows the parts', async () => {
    const parts = [
      { text: 'Sale starts ' },
      { image: 'https://cdn.example.com/banner.png' },
      { image: 'http://cdn.example.com/chart.jpg?w=200' },
      { text: ' today 中' },
    ];
    const { res, json } = await post(t, { ...BASE, parts });
    assert.equal(res.status, 202, JSON.stringify(json));
    const req = t.service.submitted.at(-1)!;
    assert.equal(
      req.text,
      'Sale starts &$#@~^@[{:https://cdn.example.com/banner.png:}]&$~@#@&$#@~^@[{:http://cdn.example.com/chart.jpg?w=200:}]&$~@#@ today 中',
    );
    assert.equal(req.withParts, true);
    assert.deepEqual(json.parts, parts);
    const got = await fetch(`${t.url}/v1/messages/${json.id as string}`, { headers: HEADERS });
    assert.equal(got.status, 200);
    assert.deepEqual(((await got.json()) as Record<string, unknown>).parts, parts);
  });

  it('keeps content exactly as before: no parts in the view, the text as given', async () => {
    const text = `not a picture to us: ${S}https://x/y${E}`;
    const { res, json } = await post(t, { ...BASE, content: text });
    assert.equal(res.status, 202);
    assert.equal(t.service.submitted.at(-1)!.text, text);
    assert.equal(t.service.submitted.at(-1)!.withParts, undefined);
    assert.equal('parts' in json, false);
    const obj = await post(t, { ...BASE, content: { type: 'alert', text: 'disk' } });
    assert.equal(obj.res.status, 202);
    assert.equal(t.service.submitted.at(-1)!.text, '{"type":"alert","text":"disk"}');
  });

  it('counts the limit on the joined text, markers included', async () => {
    // One picture adds 19 bytes of markers: URL + 19 + text must be at most 3068.
    const url = `https://e.example/${'a'.repeat(100)}`; // 118 bytes
    const fits = 'x'.repeat(3068 - 19 - url.length);
    const ok = await post(t, { ...BASE, parts: [{ text: fits }, { image: url }] });
    assert.equal(ok.res.status, 202, JSON.stringify(ok.json));
    assert.equal(Buffer.byteLength(t.service.submitted.at(-1)!.text), 3068);
    const over = await post(t, { ...BASE, parts: [{ text: `${fits}x` }, { image: url }] });
    assert.equal(over.res.status, 400);
    assert.equal(over.json.error.code, 'content_too_long');
    assert.equal(over.json.error.field, 'parts');
    assert.match(over.json.error.message, /3069 bytes/);
  });

  it('takes an image URL of 1,000 bytes and refuses one of 1,001', async () => {
    const url = (n: number) => `https://e.example/${'b'.repeat(n - 18)}`;
    assert.equal(url(1000).length, 1000);
    const ok = await post(t, { ...BASE, parts: [{ image: url(1000) }] });
    assert.equal(ok.res.status, 202, JSON.stringify(ok.json));
    const over = await post(t, { ...BASE, parts: [{ text: 'a' }, { image: url(1001) }] });
    assert.equal(over.res.status, 400);
    assert.deepEqual([over.json.error.code, over.json.error.field], ['invalid_field', 'parts[1].image']);
    assert.match(over.json.error.message, /1001 bytes.*1000/);
  });

  const refusals: [string, unknown, string, string][] = [
    ['an image that is not http(s)', [{ image: 'ftp://e.example/a.png' }], 'invalid_field', 'parts[0].image'],
    [
      'an image that is a javascript: URL',
      [{ text: 'x' }, { image: 'javascript:alert(1)' }],
      'invalid_field',
      'parts[1].image',
    ],
    ['an image with a space', [{ image: 'https://e.example/a b.png' }], 'invalid_field', 'parts[0].image'],
    ['an image without a host', [{ image: 'https:///a.png' }], 'invalid_field', 'parts[0].image'],
    ['an image holding the end marker', [{ image: `https://e.example/a${E}b` }], 'invalid_field', 'parts[0].image'],
    ['an image holding the start marker', [{ image: `https://e.example/${S}` }], 'invalid_field', 'parts[0].image'],
    [
      'a text holding the start marker',
      [{ text: 'ok' }, { image: 'https://e.example/a' }, { text: `x${S}https://evil/y` }],
      'invalid_field',
      'parts[2].text',
    ],
    ['a text holding the end marker', [{ text: `a${E}` }], 'invalid_field', 'parts[0].text'],
    [
      'two texts that make a marker once joined',
      [{ text: 'a&$#@~' }, { text: '^@[{:b' }],
      'invalid_field',
      'parts[0].text',
    ],
    ['an empty text', [{ text: '' }], 'invalid_field', 'parts[0].text'],
    ['a number as text', [{ text: 5 }], 'invalid_field', 'parts[0].text'],
    ['a part with both', [{ text: 'a', image: 'https://e.example/a' }], 'invalid_field', 'parts[0]'],
    ['a part with neither', [{}], 'missing_field', 'parts[0]'],
    ['a part with an unknown field', [{ text: 'a', alt: 'b' }], 'unknown_field', 'parts[0].alt'],
    ['a part that is a string', ['hello'], 'invalid_field', 'parts[0]'],
    ['an empty parts array', [], 'invalid_field', 'parts'],
    ['parts as a string', 'hello', 'invalid_field', 'parts'],
    ['parts as null', null, 'invalid_field', 'parts'],
  ];
  for (const [name, parts, code, field] of refusals) {
    it(`refuses ${name} (${code} ${field})`, async () => {
      const before = t.service.submitted.length;
      const { res, json } = await post(t, { ...BASE, parts });
      assert.equal(res.status, 400, JSON.stringify(json));
      assert.deepEqual([json.error.code, json.error.field], [code, field], json.error.message);
      assert.match(json.error.message, new RegExp(field.replace(/[[\].]/g, '\\$&')));
      assert.equal(t.service.submitted.length, before, 'nothing queued');
    });
  }

  it('refuses content and parts together, naming both', async () => {
    const { res, json } = await post(t, { ...BASE, content: 'a', parts: [{ text: 'b' }] });
    assert.equal(res.status, 400);
    assert.equal(json.error.code, 'invalid_field');
    assert.match(json.error.message, /content and parts are both given/);
  });

  it('answers neither content nor parts with the missing-field error of content', async () => {
    const { res, json } = await post(t, BASE);
    assert.equal(res.status, 400);
    assert.deepEqual([json.error.code, json.error.field], ['missing_field', 'content']);
  });
});

describe('batches with parts', () => {
  const max = 3068;
  it('joins the header parts as the batch text', () => {
    const h = parseBatchHeader(
      { from: 1, parts: [{ image: 'https://e.example/a.png' }, { text: ' hi' }] },
      'ndjson',
      max,
    );
    assert.equal(h.text, '&$#@~^@[{:https://e.example/a.png:}]&$~@#@ hi');
  });

  it("joins a recipient's own parts, overriding the batch's text", () => {
    const h = parseBatchHeader({ from: 1, content: 'all', recipients: [{ user: 2 }] }, 'json', max);
    const r = parseBatchRecipient(
      { user: 3, parts: [{ text: 'own ' }, { image: 'https://e.example/3.png' }] },
      h,
      max,
      '',
    );
    assert.deepEqual(r, { to: { user: 3 }, text: 'own &$#@~^@[{:https://e.example/3.png:}]&$~@#@' });
    assert.deepEqual(parseBatchRecipient({ group: 7 }, h, max, ''), { to: { group: 7 }, text: undefined });
  });

  it('names the part of a refused recipient, with its path in a JSON body', () => {
    const h = parseBatchHeader({ from: 1, content: 'all', recipients: [{ user: 2 }] }, 'json', max);
    const err = refusal(() =>
      parseBatchRecipient({ user: 3, parts: [{ text: 'a' }, { image: 'ftp://x/y' }] }, h, max, 'recipients[4]'),
    );
    assert.deepEqual([err.code, err.field], ['invalid_field', 'recipients[4].parts[1].image']);
    const both = refusal(() => parseBatchRecipient({ user: 3, content: 'a', parts: [{ text: 'b' }] }, h, max, ''));
    assert.deepEqual([both.code, both.field], ['invalid_field', 'parts']);
  });

  it('refuses a header with content and parts, and a header text with a marker', () => {
    const both = refusal(() => parseBatchHeader({ from: 1, content: 'a', parts: [{ text: 'b' }] }, 'ndjson', max));
    assert.equal(both.code, 'invalid_field');
    assert.match(both.message, /content and parts are both given/);
    const marker = refusal(() => parseBatchHeader({ from: 1, parts: [{ text: `x${E}` }] }, 'ndjson', max));
    assert.deepEqual([marker.code, marker.field], ['invalid_field', 'parts[0].text']);
  });
});
