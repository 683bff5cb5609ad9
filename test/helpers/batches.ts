/** Batch helpers for end-to-end tests: streamed NDJSON uploads, polling a batch, reading its results. */
import { request } from 'node:http';
import { TeamTalkCipher } from '@ttpush/pdu';
import { DEV_KEY, STOCK_KEY, sleep, type Harness } from './harness.ts';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/**
 * POSTs an NDJSON upload written line by line as a real stream (chunked transfer encoding), waiting for
 * the socket to drain like any streaming client, so the API's backpressure is exercised.
 */
export function uploadNdjson(
  h: Harness,
  lines: Iterable<string>,
  opts: { query?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${h.url}/v1/batches${opts.query ?? ''}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          authorization: `Bearer ${DEV_KEY}`,
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const it = lines[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        let piece = '';
        for (let i = 0; i < 500; i++) {
          const n = it.next();
          if (n.done) {
            req.end(piece);
            return;
          }
          piece += `${n.value}\n`;
        }
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** Lines of an upload: the header, then one recipient object per line. */
export function* ndjsonLines(header: object, recipients: Iterable<object>): Generator<string> {
  yield JSON.stringify(header);
  for (const r of recipients) yield JSON.stringify(r);
}

export function* users(first: number, count: number): Generator<{ user: number }> {
  for (let i = 0; i < count; i++) yield { user: first + i };
}

/** Polls GET /v1/batches/:id until `done(view)`; returns that view. */
export async function waitBatch(
  h: Harness,
  id: string,
  done: (view: any) => boolean,
  timeoutMs = 60_000,
  key = DEV_KEY,
): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.get(`/v1/batches/${id}`, key);
    if (r.status === 200 && done(r.body)) return r.body;
    if (Date.now() > end) throw new Error(`batch ${id} did not get there: ${JSON.stringify(r.body)}`);
    await sleep(50);
  }
}

export const finished = (v: any) => v.finished_at !== null;

/** Every result of a batch, through the NDJSON export. */
export async function exportResults(h: Harness, id: string, query = ''): Promise<any[]> {
  const r = await fetch(`${h.url}/v1/batches/${id}/results${query}`, {
    headers: { authorization: `Bearer ${DEV_KEY}`, accept: 'application/x-ndjson' },
  });
  if (r.status !== 200) throw new Error(`export answered ${r.status}: ${await r.text()}`);
  const text = await r.text();
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

export async function deleteBatch(h: Harness, id: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${h.url}/v1/batches/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${DEV_KEY}` },
  });
  return { status: r.status, body: await r.json() };
}

const cipher = new TeamTalkCipher(STOCK_KEY);

export function decrypt(msgData: string): string {
  return cipher.decryptToString(msgData);
}

/** Waits until the sandbox holds at least `n` messages. */
export async function waitStoredCount(h: Harness, n: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (h.sandbox.store.count() < n) {
    if (Date.now() > end) throw new Error(`only ${h.sandbox.store.count()} stored, waited for ${n}`);
    await sleep(5);
  }
}
