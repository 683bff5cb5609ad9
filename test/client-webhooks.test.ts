// The client's webhook methods against a running ttpush (api and worker processes) and a local receiver.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { TtpushClient, TtpushError } from '@ttpush/client';
import { DEV_KEY, Harness, sleep } from './helpers/harness.ts';
import { untilEndpointKnown } from './helpers/webhooks.ts';

let h: Harness;
let client: TtpushClient;
let receiver: Server;
const got: { headers: Record<string, string>; body: string }[] = [];

before(async () => {
  h = await Harness.start({ env: { TTPUSH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' } });
  client = new TtpushClient({ url: h.url, apiKey: DEV_KEY });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
});
after(async () => {
  receiver?.closeAllConnections();
  await new Promise((ok) => receiver?.close(ok));
  await h?.stop();
});

const url = () => `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/in`;

test('endpoints: create (secret once), list, read, change, rotate, delete', async () => {
  const ep = await client.createEndpoint({ url: url(), events: ['message.sent'], description: 'crm' });
  assert.match(ep.secret, /^whsec_/);
  assert.deepEqual(
    (await client.listEndpoints()).map((e) => e.id),
    [ep.id],
  );
  assert.equal((await client.getEndpoint(ep.id)).description, 'crm');
  const off = await client.updateEndpoint(ep.id, { enabled: false });
  assert.equal(off.enabled, false);
  assert.equal(off.disabled_reason, 'disabled by the app');
  assert.equal(
    (await client.updateEndpoint(ep.id, { enabled: true, events: ['message.failed'] })).events[0],
    'message.failed',
  );
  const rotated = await client.rotateEndpointSecret(ep.id, 60);
  assert.notEqual(rotated.secret, ep.secret);
  assert.ok(rotated.previous_secret_expires_at);
  await client.deleteEndpoint(ep.id);
  await assert.rejects(client.getEndpoint(ep.id), (e: TtpushError) => e.status === 404 && e.code === 'not_found');
  await assert.rejects(
    client.createEndpoint({ url: 'http://10.0.0.1/', events: ['message.sent'] }),
    (e: TtpushError) => e.status === 400 && e.code === 'webhook_url_refused',
  );
});

test('deliveries: list, read with attempts, redeliver with the same event id', async () => {
  const ep = await client.createEndpoint({ url: url(), events: ['message.sent'] });
  // The worker learns of the endpoint shortly (a notice): send until a message has a delivery to it. Messages sent
  // before that have none, so the endpoint's deliveries are that message's.
  const msgId = await untilEndpointKnown({
    send: async () => (await client.sendMessage({ from: 1, to: { user: 2 }, content: 'hook me' }, { wait: 10 })).id,
    delivered: async (id) =>
      (await client.listDeliveries({ endpoint: ep.id })).deliveries.some((d) => d.event_id.includes(`_${id}_`)),
  });
  let deliveries: string[] = [];
  for (const deadline = Date.now() + 20_000; deliveries.length === 0; await sleep(50)) {
    assert.ok(Date.now() < deadline, 'the delivery was not delivered');
    const page = await client.listDeliveries({ endpoint: ep.id, status: 'delivered' });
    deliveries = page.deliveries.map((d) => d.id);
  }
  assert.equal(deliveries.length, 1);
  const all = [];
  for await (const d of client.eachDelivery({ endpoint: ep.id })) all.push(d.id);
  assert.deepEqual(all, deliveries);
  const detail = await client.getDelivery(deliveries[0]!);
  assert.equal((detail.payload.data as { id: string }).id, msgId);
  assert.equal(detail.attempt_log[0]!.status, 204);
  const before = got.length;
  const again = await client.redeliver(detail.id);
  assert.equal(again.status, 'pending');
  for (const deadline = Date.now() + 20_000; got.length === before; await sleep(50)) {
    assert.ok(Date.now() < deadline, 'the redelivery did not arrive');
  }
  const last = got.at(-1)!;
  assert.equal(last.headers['webhook-id'], detail.event_id);
  new Webhook(ep.secret).verify(last.body, last.headers);
  assert.equal(await client.redeliverFailed(ep.id), 0);
  await client.deleteEndpoint(ep.id);
});

test('the callback secret is shown when created, then only when rotated', async () => {
  const first = await client.callbackSecret();
  assert.match(first.secret!, /^whsec_/);
  assert.equal((await client.callbackSecret()).secret, undefined);
  const rotated = await client.rotateCallbackSecret(0);
  assert.match(rotated.secret!, /^whsec_/);
  assert.notEqual(rotated.secret, first.secret);
});
