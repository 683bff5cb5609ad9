// Standard Webhooks signatures, checked against the independent `standardwebhooks` implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, sign, signatureHeaders } from '../../src/index.ts';

test('a signature verifies with standardwebhooks and equals what it signs', () => {
  const secret = newWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const body = JSON.stringify({ type: 'message.sent', timestamp: '2026-01-01T00:00:00.000Z', data: { id: 'x' } });
  const now = Math.floor(Date.now() / 1000);
  const headers = signatureHeaders([secret], 'evt_1', now, body);
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  assert.equal(sign(secret, 'evt_1', now, body), new Webhook(secret).sign('evt_1', new Date(now * 1000), body));
});

test('two secrets give two signatures separated by a space; either verifies, a third does not', () => {
  const [a, b, c] = [newWebhookSecret(), newWebhookSecret(), newWebhookSecret()];
  const body = '{"type":"batch.completed"}';
  const headers = signatureHeaders([b, a], 'evt_2', Math.floor(Date.now() / 1000), body);
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  new Webhook(a).verify(body, headers);
  new Webhook(b).verify(body, headers);
  assert.throws(() => new Webhook(c).verify(body, headers));
  assert.throws(() => new Webhook(a).verify(`${body} `, headers));
});
