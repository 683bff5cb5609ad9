/** Starts the API on a real TCP port (port 0) over a MemoryService, with its log lines captured. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadConfig, type Config } from '@ttpush/config';
import { createApp } from '../../src/app.ts';
import { onClientError } from '../../src/client-error.ts';
import { createApiMetrics } from '../../src/metrics.ts';
import { MemoryService } from './memory-service.ts';

/** Keys of the test configuration: 'crm' may send as 1001 and 1002 only; 'ops' and the dev key as anyone. */
export const KEYS = {
  crm: 'crm-secret-key-0000000001',
  ops: 'ops-secret-key-0000000002',
  dev: 'dev-secret-key-0000000003',
} as const;
export const CRM_SENDERS = [1001, 1002];
export const BODY_LIMIT = 16384;

export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({});
  return {
    ...base,
    http: { ...base.http, bodyLimitBytes: BODY_LIMIT },
    appKeys: [
      { name: 'crm', key: KEYS.crm, senders: CRM_SENDERS },
      { name: 'ops', key: KEYS.ops, senders: '*' },
    ],
    devAppKey: KEYS.dev,
    legacyWaitMs: 2000,
    ...overrides,
  };
}

export interface TestApp {
  url: string;
  port: number;
  service: MemoryService;
  /** Every log line written so far, as parsed JSON. */
  logs: Record<string, unknown>[];
  /** The raw log text, to check what never appears in it. */
  logText(): string;
  close(): Promise<void>;
}

export async function startTestApp(overrides: Partial<Config> = {}): Promise<TestApp> {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const service = new MemoryService();
  const app = createApp({
    config: testConfig(overrides),
    service,
    logger,
    metrics: createApiMetrics(new Registry()),
  });
  const server: Server = createServer(app);
  server.on('clientError', onClientError);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    service,
    get logs() {
      return chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => chunks.join(''),
    async close() {
      service.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

export const JSON_HEADERS = { 'content-type': 'application/json' };
