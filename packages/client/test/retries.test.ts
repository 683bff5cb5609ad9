// Retries against a scripted HTTP server on port 0: which failures are retried, that every attempt
// carries the same Idempotency-Key, and that a consumed upload stream is never sent twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TtpushClient, TtpushError, type BatchRecipient } from '@ttpush/client';
import { freePort } from '@ttpush/testkit';

interface Seen {
  method: string;
  url: string;
  key: string | undefined;
  body: string;
}

type Answer = (seen: Seen, res: ServerResponse) => void;

/** Answers the n-th request with answers[n] (the last one repeats); records every request. */
async function scripted(answers: Answer[], run: (url: string, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        key: req.headers['idempotency-key'] as string | undefined,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(s);
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      answer(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return (_seen, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

const unavailable = json(503, { error: { code: 'redis_unavailable', message: 'Redis is down', field: null } });
const view = { id: 'm-1', status: 'queued' };

test('a send answered 503 is sent again with the same generated Idempotency-Key', async () => {
  await scripted([unavailable, unavailable, json(202, view)], async (url, seen) => {
    const client = new TtpushClient({ url, apiKey: 'k', retries: 3 });
    const got = await client.sendMessage({ from: 1, to: { user: 2 }, content: 'x' });
    assert.equal(got.id, 'm-1');
    assert.equal(seen.length, 3);
    assert.match(seen[0]!.key ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(seen.every((s) => s.key === seen[0]!.key));
  });
});

test('a 429 is retried after its Retry-After; the caller’s key is kept', async () => {
  const limited = json(
    429,
    { error: { code: 'rate_limited', message: 'slow down', field: null } },
    { 'retry-after': '0' },
  );
  await scripted([limited, json(202, view)], async (url, seen) => {
    const client = new TtpushClient({ url, apiKey: 'k' });
    await client.sendMessage({ from: 1, to: { user: 2 }, content: 'x' }, { idempotencyKey: 'mine-1' });
    assert.deepEqual(
      seen.map((s) => s.key),
      ['mine-1', 'mine-1'],
    );
  });
});

test('a 4xx is thrown at once, with code, message and field', async () => {
  const refused = json(400, { error: { code: 'invalid_field', message: 'from is bad', field: 'from' } });
  await scripted([refused], async (url, seen) => {
    const client = new TtpushClient({ url, apiKey: 'k', retries: 5 });
    await assert.rejects(client.sendMessage({ from: 0, to: { user: 2 }, content: 'x' }), (err: unknown) => {
      assert.ok(err instanceof TtpushError);
      assert.deepEqual([err.status, err.code, err.message, err.field], [400, 'invalid_field', 'from is bad', 'from']);
      return true;
    });
    assert.equal(seen.length, 1);
  });
});

test('retries give up after the configured count and throw the last answer', async () => {
  await scripted([unavailable], async (url, seen) => {
    const client = new TtpushClient({ url, apiKey: 'k', retries: 2 });
    await assert.rejects(client.getBatch('b-1'), (err: unknown) => {
      assert.ok(err instanceof TtpushError);
      assert.equal(err.status, 503);
      assert.equal(err.code, 'redis_unavailable');
      return true;
    });
    assert.equal(seen.length, 3);
  });
});

test('an unreachable url is a TtpushError with status 0 and code unreachable', async () => {
  const port = await freePort();
  const client = new TtpushClient({ url: `http://127.0.0.1:${port}`, apiKey: 'k', retries: 1 });
  await assert.rejects(client.getMessage('m-1'), (err: unknown) => {
    assert.ok(err instanceof TtpushError);
    assert.equal(err.status, 0);
    assert.equal(err.code, 'unreachable');
    return true;
  });
});

test('a streamed upload from an iterable is sent once; from a function it is replayed whole', async () => {
  async function* three(): AsyncGenerator<BatchRecipient> {
    yield { user: 2 };
    yield { user: 3 };
    yield { group: 7 };
  }
  const expected = ['{"from":1,"content":"hi"}', '{"user":2}', '{"user":3}', '{"group":7}', ''].join('\n');
  await scripted([unavailable, json(202, { id: 'b-1' })], async (url, seen) => {
    const client = new TtpushClient({ url, apiKey: 'k', retries: 3 });
    await assert.rejects(client.createBatch({ from: 1, content: 'hi', stream: three() }), TtpushError);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.body, expected);
  });
  await scripted([unavailable, json(202, { id: 'b-1' })], async (url, seen) => {
    const client = new TtpushClient({ url, apiKey: 'k', retries: 3 });
    const got = await client.createBatch({ from: 1, content: 'hi', stream: three }, { skipInvalid: true });
    assert.equal(got.id, 'b-1');
    assert.equal(seen.length, 2);
    assert.ok(seen.every((s) => s.body === expected && s.key === seen[0]!.key));
    assert.equal(seen[1]!.url, '/v1/batches?skip_invalid=true');
  });
});
