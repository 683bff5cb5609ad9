import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, VARIABLES, STOCK_AES_KEY } from '../src/config.ts';
import { repoRoot } from '@ttpush/testkit';

test('defaults: embedded Redis and sandbox, port 8400 on 127.0.0.1, stock key flagged', () => {
  const c = loadConfig({});
  assert.equal(c.http.port, 8400);
  assert.equal(c.http.host, '127.0.0.1');
  assert.deepEqual(c.embedded, { redis: true, teamtalk: true });
  assert.equal(c.aesKey, STOCK_AES_KEY);
  assert.equal(c.aesKeyIsStockDefault, true);
  assert.equal(c.maxContentBytes, 3068);
});

test('TeamTalk addresses: both or neither; each host:port', () => {
  assert.throws(() => loadConfig({ TTPUSH_DB_PROXY_ADDRS: '127.0.0.1:10600' }), /TTPUSH_ROUTE_ADDRS is unset/);
  assert.throws(() => loadConfig({ TTPUSH_ROUTE_ADDRS: '127.0.0.1:8200' }), /TTPUSH_DB_PROXY_ADDRS is unset/);
  const c = loadConfig({
    TTPUSH_DB_PROXY_ADDRS: 'a:1, b:2',
    TTPUSH_ROUTE_ADDRS: '[::1]:8200',
    TTPUSH_REDIS_URL: 'redis://r:6379',
  });
  assert.deepEqual(c.dbProxyAddrs, [
    { host: 'a', port: 1 },
    { host: 'b', port: 2 },
  ]);
  assert.deepEqual(c.routeAddrs, [{ host: '::1', port: 8200 }]);
  assert.equal(c.http.host, '0.0.0.0');
  assert.throws(
    () => loadConfig({ TTPUSH_DB_PROXY_ADDRS: 'nohost', TTPUSH_ROUTE_ADDRS: 'a:1' }),
    /TTPUSH_DB_PROXY_ADDRS has 'nohost'/,
  );
});

test('a bad value names the variable and the fix', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ TTPUSH_HTTP_PORT: 'eighty' }, /TTPUSH_HTTP_PORT is 'eighty', not a whole number: set it to an integer/],
    [{ TTPUSH_HTTP_PORT: '70000' }, /TTPUSH_HTTP_PORT is 70000, out of range/],
    [
      { TTPUSH_AES_KEY: 'short' },
      /TTPUSH_AES_KEY is 5 bytes long: set it to the TeamTalk servers' 32-character aesKey/,
    ],
    [{ TTPUSH_REDIS_URL: 'http://x' }, /TTPUSH_REDIS_URL .*redis:\/\//],
    [{ TTPUSH_LOG_LEVEL: 'loud' }, /TTPUSH_LOG_LEVEL is 'loud'/],
    [
      { TTPUSH_APP_KEYS_FILE: '/nonexistent/keys.json' },
      /TTPUSH_APP_KEYS_FILE names '\/nonexistent\/keys.json', which cannot be read/,
    ],
  ];
  for (const [env, re] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && re.test(err.message),
    );
  }
});

test('app keys file: valid keys load; mistakes are named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttpush-config-'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ keys: [{ name: 'crm', key: 'a-long-secret-value-1', senders: [10, 11] }] }));
  assert.deepEqual(loadConfig({ TTPUSH_APP_KEYS_FILE: good }).appKeys, [
    { name: 'crm', key: 'a-long-secret-value-1', senders: [10, 11] },
  ]);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify([{ name: 'crm', key: 'short', senders: [1] }]));
  assert.throws(
    () => loadConfig({ TTPUSH_APP_KEYS_FILE: bad }),
    /invalid at 0\.key: a key must be at least 16 characters/,
  );
  writeFileSync(bad, '{not json');
  assert.throws(() => loadConfig({ TTPUSH_APP_KEYS_FILE: bad }), /is not valid JSON/);
});

test("app keys file: a key's optional default priority loads; another value is named", () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttpush-config-'));
  const f = join(dir, 'keys.json');
  writeFileSync(
    f,
    JSON.stringify([
      { name: 'alerts', key: 'a-long-secret-value-1', senders: '*', priority: 'high' },
      { name: 'crm', key: 'a-long-secret-value-2', senders: [1] },
    ]),
  );
  const keys = loadConfig({ TTPUSH_APP_KEYS_FILE: f }).appKeys;
  assert.equal(keys[0]!.priority, 'high');
  assert.equal(keys[1]!.priority, undefined);
  writeFileSync(f, JSON.stringify([{ name: 'crm', key: 'a-long-secret-value-2', senders: [1], priority: 'urgent' }]));
  assert.throws(
    () => loadConfig({ TTPUSH_APP_KEYS_FILE: f }),
    /invalid at 0\.priority: priority must be "high", "normal" or "low"/,
  );
});

test('a config file supplies values; the environment wins; unknown settings are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttpush-config-'));
  const f = join(dir, 'c.json');
  writeFileSync(f, JSON.stringify({ TTPUSH_HTTP_PORT: 9000, TTPUSH_MAX_CONTENT_BYTES: '100' }));
  const c = loadConfig({ TTPUSH_CONFIG_FILE: f, TTPUSH_HTTP_PORT: '9001' });
  assert.equal(c.http.port, 9001);
  assert.equal(c.maxContentBytes, 100);
  writeFileSync(f, JSON.stringify({ TTPUSH_NOPE: 1 }));
  assert.throws(() => loadConfig({ TTPUSH_CONFIG_FILE: f }), /unknown setting 'TTPUSH_NOPE'/);
});

test('the README documents every variable', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  for (const name of Object.keys(VARIABLES)) assert.match(readme, new RegExp('\\| `' + name + '` \\|'), name);
});

test('throttles: an app key may carry rate_limit (a whole number ≥ 1); the dev key and the TeamTalk caps are variables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttpush-cfg-rl-'));
  const f = join(dir, 'keys.json');
  writeFileSync(
    f,
    JSON.stringify([
      { name: 'crm', key: 'k'.repeat(16), senders: '*', rate_limit: 5 },
      { name: 'ops', key: 'o'.repeat(16), senders: [1] },
    ]),
  );
  const c = loadConfig({ TTPUSH_APP_KEYS_FILE: f });
  assert.equal(c.appKeys[0]!.rateLimit, 5);
  assert.equal(c.appKeys[1]!.rateLimit, undefined);
  assert.equal('rate_limit' in c.appKeys[0]!, false);
  assert.equal(c.devRateLimit, undefined);
  assert.equal(c.teamtalk.maxRate, 0);
  assert.equal(c.teamtalk.maxInFlightTotal, 0);
  for (const bad of [0, 2.5, '5']) {
    writeFileSync(f, JSON.stringify([{ name: 'crm', key: 'k'.repeat(16), senders: '*', rate_limit: bad }]));
    assert.throws(() => loadConfig({ TTPUSH_APP_KEYS_FILE: f }), /TTPUSH_APP_KEYS_FILE .* invalid at 0\.rate_limit/);
  }
  const t = loadConfig({
    TTPUSH_DEV_RATE_LIMIT: '50',
    TTPUSH_TEAMTALK_MAX_RATE: '500',
    TTPUSH_TEAMTALK_MAX_IN_FLIGHT_TOTAL: '8',
  });
  assert.equal(t.devRateLimit, 50);
  assert.deepEqual([t.teamtalk.maxRate, t.teamtalk.maxInFlightTotal], [500, 8]);
  assert.throws(() => loadConfig({ TTPUSH_DEV_RATE_LIMIT: '0' }), /TTPUSH_DEV_RATE_LIMIT is 0, out of range/);
  assert.throws(() => loadConfig({ TTPUSH_TEAMTALK_MAX_RATE: 'fast' }), /TTPUSH_TEAMTALK_MAX_RATE is 'fast'/);
});

test('Redis Cluster: seed nodes replace the URL (no embedded Redis); partitions 1-36, default 8', () => {
  const c = loadConfig({ TTPUSH_REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001' });
  assert.deepEqual(c.redisClusterNodes, [
    { host: '10.0.0.1', port: 7000 },
    { host: '10.0.0.2', port: 7001 },
  ]);
  assert.equal(c.embedded.redis, false);
  assert.equal(c.redisPartitions, 8);
  // One Redis: one partition unless set (partitions spread a cluster's shards; on one Redis they cost polling).
  assert.equal(loadConfig({}).redisPartitions, 1);
  assert.equal(loadConfig({ TTPUSH_REDIS_PARTITIONS: '4' }).redisPartitions, 4);
  assert.equal(loadConfig({ TTPUSH_REDIS_PARTITIONS: '36' }).redisPartitions, 36);
  assert.deepEqual(loadConfig({}).redisClusterNodes, []);
  assert.throws(() => loadConfig({ TTPUSH_REDIS_CLUSTER_NODES: 'nohost' }), /TTPUSH_REDIS_CLUSTER_NODES has/);
  assert.throws(() => loadConfig({ TTPUSH_REDIS_PARTITIONS: '0' }), /TTPUSH_REDIS_PARTITIONS is 0, out of range/);
  assert.throws(() => loadConfig({ TTPUSH_REDIS_PARTITIONS: '37' }), /TTPUSH_REDIS_PARTITIONS is 37, out of range/);
});

test('metrics: a token of 16+ characters and a port of its own, both optional', () => {
  assert.deepEqual(loadConfig({}).metrics, { token: undefined, port: undefined });
  const c = loadConfig({ TTPUSH_METRICS_TOKEN: ' metrics-token-0123456789 ', TTPUSH_METRICS_PORT: '9400' });
  assert.deepEqual(c.metrics, { token: 'metrics-token-0123456789', port: 9400 });
  const cases: [Record<string, string>, RegExp][] = [
    [{ TTPUSH_METRICS_TOKEN: 'short' }, /TTPUSH_METRICS_TOKEN is shorter than 16 characters/],
    [{ TTPUSH_METRICS_TOKEN: 'has a space in the middle' }, /TTPUSH_METRICS_TOKEN .* has a space/],
    [{ TTPUSH_METRICS_PORT: 'x' }, /TTPUSH_METRICS_PORT is 'x', not a whole number/],
    [{ TTPUSH_METRICS_PORT: '8400' }, /TTPUSH_METRICS_PORT is 8400, the API port: give \/metrics a port of its own/],
  ];
  for (const [env, re] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && re.test(err.message),
      JSON.stringify(env),
    );
  }
});

test('TTPUSH_LOG_FORMAT: json or pretty; unset, pretty only when stdout is a terminal', () => {
  assert.equal(loadConfig({}, { stdoutIsTTY: true }).logFormat, 'pretty');
  assert.equal(loadConfig({}, { stdoutIsTTY: false }).logFormat, 'json');
  assert.equal(loadConfig({ TTPUSH_LOG_FORMAT: 'json' }, { stdoutIsTTY: true }).logFormat, 'json');
  assert.equal(loadConfig({ TTPUSH_LOG_FORMAT: 'pretty' }, { stdoutIsTTY: false }).logFormat, 'pretty');
  assert.throws(() => loadConfig({ TTPUSH_LOG_FORMAT: 'text' }), /TTPUSH_LOG_FORMAT is 'text': use json or pretty/);
});

test('TTPUSH_DATA_DIR defaults to .ttpush; TTPUSH_SANDBOX_PORTS takes three ports, 0 for a free one', () => {
  const c = loadConfig({});
  assert.equal(c.dataDir, '.ttpush');
  assert.deepEqual(c.sandboxPorts, { db: 10600, route: 8200, msg: 8000 });
  assert.equal(loadConfig({ TTPUSH_DATA_DIR: '/tmp/second' }).dataDir, '/tmp/second');
  assert.deepEqual(loadConfig({ TTPUSH_SANDBOX_PORTS: '0, 0,0' }).sandboxPorts, { db: 0, route: 0, msg: 0 });
  assert.deepEqual(loadConfig({ TTPUSH_SANDBOX_PORTS: '11600,9200,9000' }).sandboxPorts, {
    db: 11600,
    route: 9200,
    msg: 9000,
  });
  for (const bad of ['10600,8200', '1,2,3,4', 'a,b,c', '70000,1,2', '9000,9000,1']) {
    assert.throws(() => loadConfig({ TTPUSH_SANDBOX_PORTS: bad }), /TTPUSH_SANDBOX_PORTS is '/, bad);
  }
});

test('TTPUSH_SANDBOX_DBPROXY: fast by default; pool takes threads, a store-time range and a ceiling', () => {
  assert.equal(loadConfig({}).sandboxDbPool, undefined);
  assert.equal(loadConfig({ TTPUSH_SANDBOX_DB_THREADS: '8' }).sandboxDbPool, undefined, 'settings alone: still fast');
  assert.deepEqual(loadConfig({ TTPUSH_SANDBOX_DBPROXY: 'pool' }).sandboxDbPool, {
    threads: 4,
    storeMs: { min: 0.3, max: 3 },
    maxPerSecond: 0,
  });
  assert.deepEqual(
    loadConfig({
      TTPUSH_SANDBOX_DBPROXY: 'pool',
      TTPUSH_SANDBOX_DB_THREADS: '2',
      TTPUSH_SANDBOX_DB_STORE_MS: '5',
      TTPUSH_SANDBOX_DB_MAX_RATE: '3000',
    }).sandboxDbPool,
    { threads: 2, storeMs: { min: 5, max: 5 }, maxPerSecond: 3000 },
  );
  const bad: [Record<string, string>, RegExp][] = [
    [{ TTPUSH_SANDBOX_DBPROXY: 'slow' }, /TTPUSH_SANDBOX_DBPROXY is 'slow': use fast/],
    [{ TTPUSH_SANDBOX_DB_THREADS: '0' }, /TTPUSH_SANDBOX_DB_THREADS is 0, out of range/],
    [{ TTPUSH_SANDBOX_DB_STORE_MS: '3-1' }, /TTPUSH_SANDBOX_DB_STORE_MS is '3-1': give MIN-MAX/],
    [{ TTPUSH_SANDBOX_DB_STORE_MS: 'fast' }, /TTPUSH_SANDBOX_DB_STORE_MS is 'fast'/],
    [{ TTPUSH_SANDBOX_DB_MAX_RATE: '-1' }, /TTPUSH_SANDBOX_DB_MAX_RATE is '-1', not a whole number/],
  ];
  for (const [env, message] of bad) assert.throws(() => loadConfig(env), message, JSON.stringify(env));
});

test('input limits and record retention: defaults, durations, and a bad value named with its fix', () => {
  const c = loadConfig({});
  assert.equal(c.recordTtlMs, 7 * 86_400_000);
  assert.deepEqual(c.upload, { maxBytes: 1024 ** 3, maxLines: 11_000_000, timeoutMs: 300_000 });
  const set = loadConfig({
    TTPUSH_RECORD_TTL: '36h',
    TTPUSH_UPLOAD_MAX_BYTES: '1048576',
    TTPUSH_UPLOAD_MAX_LINES: '5000',
    TTPUSH_UPLOAD_TIMEOUT: '90s',
  });
  assert.equal(set.recordTtlMs, 36 * 3_600_000);
  assert.deepEqual(set.upload, { maxBytes: 1_048_576, maxLines: 5000, timeoutMs: 90_000 });
  assert.throws(() => loadConfig({ TTPUSH_RECORD_TTL: '7 days' }), /TTPUSH_RECORD_TTL is '7 days'.*write it like/);
  assert.throws(() => loadConfig({ TTPUSH_RECORD_TTL: '10s' }), /TTPUSH_RECORD_TTL/);
  assert.throws(
    () => loadConfig({ TTPUSH_UPLOAD_MAX_LINES: '1e6' }),
    /TTPUSH_UPLOAD_MAX_LINES is '1e6', not a whole number/,
  );
  assert.throws(() => loadConfig({ TTPUSH_UPLOAD_MAX_BYTES: '10' }), /TTPUSH_UPLOAD_MAX_BYTES is 10, out of range/);
  assert.throws(() => loadConfig({ TTPUSH_UPLOAD_TIMEOUT: '0s' }), /TTPUSH_UPLOAD_TIMEOUT/);
});
