/** /healthz, /readyz (both outcomes), /metrics, OPTIONS, and requests Node's HTTP parser refuses. */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createApiMetrics } from '../src/metrics.ts';
import { createMetricsApp } from '../src/metrics-server.ts';
import { KEYS, bearer, startTestApp, testConfig, type TestApp } from './helpers/test-app.ts';
import { READY_HEALTH } from './helpers/memory-service.ts';
import { rawExchange } from './helpers/raw-http.ts';

describe('health, readiness and metrics', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.service.redisDown = false;
    t.service.healthReport = READY_HEALTH;
  });

  it('/healthz answers 200 {"status":"ok"}, even with Redis down', async () => {
    t.service.redisDown = true;
    const res = await fetch(`${t.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('/readyz answers 200 when Redis is reachable and a worker is connected to TeamTalk', async () => {
    const res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', redis: true, workers: 1 });
  });

  it('/readyz answers 200 "degraded" naming a db_proxy_server a worker sees leaving requests unanswered', async () => {
    const reason = '5 requests unanswered in the last 60 s while it answered others: restart that db_proxy_server';
    t.service.healthReport = {
      redis: true,
      workers: [
        {
          id: 'w1',
          dbProxyReady: true,
          routeReady: true,
          seenMsAgo: 10,
          connections: [],
          dbProxy: [
            { address: '10.0.0.5:10600', unanswered: 9, status: 'degraded', reason },
            { address: '10.0.0.6:10600', unanswered: 0, status: 'ok' },
          ],
        },
      ],
    };
    const res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      status: 'degraded',
      redis: true,
      workers: 1,
      db_proxy: [{ address: '10.0.0.5:10600', status: 'degraded', reason }],
    });
  });

  for (const [name, setup, reason] of [
    [
      'Redis down',
      (s: TestApp['service']) => {
        s.redisDown = true;
      },
      /redis is not reachable/,
    ],
    [
      'no worker alive',
      (s: TestApp['service']) => {
        s.healthReport = { redis: true, workers: [] };
      },
      /no worker is alive/,
    ],
    [
      'the only worker not connected to route_server',
      (s: TestApp['service']) => {
        s.healthReport = {
          redis: true,
          workers: [{ id: 'w9', dbProxyReady: true, routeReady: false, seenMsAgo: 10, connections: {} }],
        };
      },
      /worker w9 is not connected to route_server/,
    ],
  ] as const) {
    it(`/readyz answers 503 with the reason when ${name}`, async () => {
      setup(t.service);
      const res = await fetch(`${t.url}/readyz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { status: string; reasons: string[] };
      assert.equal(body.status, 'not_ready');
      assert.match(body.reasons.join('; '), reason);
    });
  }

  it('/metrics answers Prometheus text with the API metrics and the queue depth read at scrape time', async () => {
    await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { ...bearer(KEYS.ops), 'content-type': 'application/json' },
      body: JSON.stringify({ from: 1, to: { user: 2 }, content: 'x', priority: 'low' }),
    });
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^ttpush_messages_accepted_total\{app="ops",priority="low"\} 1$/m);
    assert.match(text, /^ttpush_http_requests_total\{route="\/v1\/messages",status="202"\} 1$/m);
    assert.match(text, /^ttpush_queue_depth 1$/m);
  });

  it('/metrics still answers while Redis is down', async () => {
    t.service.redisDown = true;
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /ttpush_queue_depth/);
  });

  it('OPTIONS answers 204 with Allow', async () => {
    const res = await fetch(`${t.url}/v1/messages/abc`, { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('allow'), 'GET, DELETE, HEAD');
  });

  it('a request that is not HTTP gets a JSON 400 and the server keeps serving', async () => {
    const bytes = await rawExchange(t.port, Buffer.from('GARBAGE\r\n\r\n', 'latin1'));
    const text = bytes.toString('utf8');
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    assert.equal(body.error.code, 'invalid_field');
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });
  it('the probes (/healthz, /readyz) log their request line at debug, other requests at info', async () => {
    const requestId = (name: string) => ({ 'x-request-id': `probe-log-${name}` });
    await fetch(`${t.url}/healthz`, { headers: requestId('healthz') });
    await fetch(`${t.url}/readyz`, { headers: requestId('readyz') });
    await fetch(`${t.url}/metrics`, { headers: requestId('metrics') });
    const line = async (name: string) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = t.logs.find((l) => l.msg === 'request' && l.reqId === `probe-log-${name}`);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no request line for ${name}: ${t.logText()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    assert.equal((await line('healthz')).level, 20);
    assert.equal((await line('readyz')).level, 20);
    assert.equal((await line('metrics')).level, 30);
  });
});

describe('/metrics behind TTPUSH_METRICS_TOKEN and TTPUSH_METRICS_PORT', () => {
  const TOKEN = 'metrics-token-for-tests-0123456789';

  it('with a token: 401 without it or with another key, 200 with it', async () => {
    const t = await startTestApp({ metrics: { token: TOKEN, port: undefined } });
    try {
      for (const headers of [
        {},
        bearer('metrics-token-for-tests-WRONG12345'),
        bearer(KEYS.dev),
        { authorization: TOKEN },
      ]) {
        const r = await fetch(`${t.url}/metrics`, { headers });
        assert.equal(r.status, 401, JSON.stringify(headers));
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
        const body = (await r.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'unauthorized');
        assert.match(body.error.message, /TTPUSH_METRICS_TOKEN/);
      }
      const ok = await fetch(`${t.url}/metrics`, { headers: bearer(TOKEN) });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /ttpush_http_requests_total/);
      // The token is no secret to log.
      assert.ok(!t.logText().includes(TOKEN));
      // Health checks stay open.
      assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    } finally {
      await t.close();
    }
  });

  it('with a port of its own: the API port answers 404, the metrics listener serves /metrics only', async () => {
    const t = await startTestApp({ metrics: { token: undefined, port: 0 } });
    const metrics = createApiMetrics(new Registry());
    metrics.accepted.inc({ app: 'crm', priority: 'normal' });
    const config = testConfig({ metrics: { token: TOKEN, port: 0 } });
    const side = createServer(createMetricsApp(config, metrics, pino({ level: 'silent' })));
    await new Promise<void>((resolve) => side.listen(0, '127.0.0.1', resolve));
    const sideUrl = `http://127.0.0.1:${(side.address() as AddressInfo).port}`;
    try {
      const main = await fetch(`${t.url}/metrics`);
      assert.equal(main.status, 404);
      assert.equal(((await main.json()) as { error: { code: string } }).error.code, 'not_found');
      assert.equal((await fetch(`${sideUrl}/metrics`)).status, 401);
      const ok = await fetch(`${sideUrl}/metrics`, { headers: bearer(TOKEN) });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^ttpush_messages_accepted_total\{app="crm",priority="normal"\} 1$/m);
      for (const path of ['/v1/messages', '/healthz', '/console']) {
        assert.equal((await fetch(`${sideUrl}${path}`, { headers: bearer(TOKEN) })).status, 404, path);
      }
    } finally {
      side.closeAllConnections();
      await new Promise<void>((resolve) => side.close(() => resolve()));
      await t.close();
    }
  });
});
