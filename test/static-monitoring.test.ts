// The monitoring files: the Grafana dashboard's shape, the docker-compose `monitoring` profile (checked
// statically: no Docker engine runs here), the provisioning that wires them, and every metric the
// dashboard names present in the /metrics of a running api + worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Harness, sleep } from './helpers/harness.ts';

const DASHBOARD = 'deploy/grafana/dashboards/ttpush.json';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets: { refId: string; expr: string }[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
};

// PromQL words the dashboard uses that are not metric names: functions, aggregations, keywords.
const PROMQL_WORDS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'rate', 'irate', 'increase', 'histogram_quantile', 'by', 'without',
  'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'clamp_min', 'abs', 'topk',
]); // prettier-ignore

/** The metric names in a PromQL expression: identifiers outside label matchers, ranges, by (...) and strings. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ');
  const words = bare.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [];
  return [...new Set(words.filter((w) => !PROMQL_WORDS.has(w)))];
}

const allNames = [...new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))))].sort();

test('the Grafana dashboard has a uid, a title, a schemaVersion and well-formed panels with PromQL targets', () => {
  assert.equal(typeof dashboard.uid, 'string');
  assert.ok(dashboard.uid.length > 0 && dashboard.uid.length <= 40);
  assert.equal(typeof dashboard.title, 'string');
  assert.ok(Number.isInteger(dashboard.schemaVersion) && dashboard.schemaVersion >= 30);
  assert.ok(dashboard.panels.length >= 8);
  const ids = new Set<number>();
  for (const p of dashboard.panels) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} repeated`);
    ids.add(p.id);
    assert.ok(['timeseries', 'stat', 'gauge', 'bargauge', 'table'].includes(p.type), `${p.title}: type ${p.type}`);
    assert.ok(p.title.length > 0);
    for (const k of ['x', 'y', 'w', 'h'] as const)
      assert.ok(Number.isInteger(p.gridPos[k]), `${p.title}: gridPos.${k}`);
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: wider than the 24-column grid`);
    assert.ok(p.targets.length > 0, `${p.title}: no target`);
    for (const t of p.targets) {
      assert.equal(typeof t.expr, 'string');
      assert.ok(metricNames(t.expr).length > 0, `${p.title}: ${t.expr} names no metric`);
    }
  }
  // The panels the issue asks for.
  for (const name of [
    'ttpush_messages_accepted_total',
    'ttpush_messages_sent_total',
    'ttpush_messages_failed_total',
    'ttpush_accept_to_stored_seconds_bucket',
    'ttpush_queue_depth',
    'ttpush_teamtalk_connection_up',
    'ttpush_workers_alive',
    'ttpush_http_requests_total',
    'ttpush_http_request_duration_seconds_bucket',
  ]) {
    assert.ok(allNames.includes(name), `no panel uses ${name}`);
  }
});

test('metricNames reads names, not functions, labels or ranges', () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.9, sum by (le, route) (rate(a_bucket{route="x", le!="y"}[5m]))) / b_total'),
    ['a_bucket', 'b_total'],
  );
});

test('grafana provisioning points at the dashboard folder and the data source the panels use', () => {
  const ds = readFileSync('deploy/grafana/provisioning/datasources/prometheus.yml', 'utf8');
  const uid = /^\s+uid:\s*(\S+)/m.exec(ds)?.[1];
  assert.ok(uid);
  for (const p of dashboard.panels) assert.equal(p.datasource?.uid, uid, p.title);
  assert.match(ds, /url:\s*http:\/\/prometheus:9090/);
  const provider = readFileSync('deploy/grafana/provisioning/dashboards/ttpush.yml', 'utf8');
  const path = /path:\s*(\S+)/.exec(provider)?.[1];
  const compose = readFileSync('docker-compose.yml', 'utf8');
  assert.ok(
    compose.includes(`./deploy/grafana/dashboards:${path}:ro`),
    'the provider path is where the dashboards are mounted',
  );
  const prom = readFileSync('deploy/prometheus/prometheus.yml', 'utf8');
  assert.match(prom, /metrics_path:\s*\/metrics/);
  // /metrics on the api's own metrics port, which docker-compose.yml sets and does not publish.
  const metricsPort = /TTPUSH_METRICS_PORT:\s*'?(\d+)'?/.exec(compose)?.[1];
  assert.ok(metricsPort, 'docker-compose.yml sets TTPUSH_METRICS_PORT');
  assert.match(prom, new RegExp(`targets:\\s*\\['api:${metricsPort}'\\]`));
  const published = [...compose.matchAll(/^\s*-\s*'?(?:[\d.]+:)?(\d+):(\d+)'?\s*$/gm)].map((m) => m[2]);
  assert.ok(published.includes('8400') && !published.includes(metricsPort), `published ports ${published.join(', ')}`);
});

test('docker-compose --profile monitoring config passes, with pinned prometheus and grafana images', (t) => {
  const which = spawnSync('sh', ['-c', 'command -v docker-compose']);
  if (which.status !== 0) {
    t.skip('docker-compose is not installed (.ci/run installs it from Debian)');
    return;
  }
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'monitoring', 'config'], {
    encoding: 'utf8',
    // TeamTalk's addresses have no default in the compose file: any will do for the monitoring profile.
    env: { ...process.env, TTPUSH_DB_PROXY_ADDRS: 'teamtalk:10600', TTPUSH_ROUTE_ADDRS: 'teamtalk:8200' },
  });
  assert.equal(r.status, 0, r.stderr);
  for (const svc of ['prometheus', 'grafana']) assert.match(r.stdout, new RegExp(`\\n  ${svc}:`));
  const images = [...r.stdout.matchAll(/image: (\S+)/g)].map((m) => m[1]!);
  for (const name of ['prom/prometheus', 'grafana/grafana']) {
    const image = images.find((i) => i.startsWith(`${name}:`));
    assert.ok(image, `${name} has no image line`);
    assert.match(image, /:v?\d+\.\d+\.\d+$/, `${image} is not pinned to a version`);
  }
  for (const mounted of [
    'deploy/prometheus/prometheus.yml',
    'deploy/grafana/provisioning',
    'deploy/grafana/dashboards',
  ]) {
    assert.ok(existsSync(mounted), mounted);
  }
  // Only with the profile: each of the two services is in the `monitoring` profile.
  for (const svc of ['prometheus', 'grafana']) {
    const block = new RegExp(`\\n  ${svc}:\\n((?:    .*\\n|\\n)*)`).exec(r.stdout)?.[1] ?? '';
    assert.match(block, /profiles:\s*\n\s*- monitoring/, svc);
  }
});

test('every metric the dashboard names is in /metrics of a running api + worker', async () => {
  const h = await Harness.start({
    sandbox: { groups: { '700': [1, 2] } },
    env: { TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS: '600' },
  });
  try {
    // A sent message and a failed one, so that the counters have samples (not only their HELP lines).
    const sent = await h.post('/v1/messages?wait=10', { from: 1, to: { user: 2 }, content: 'metrics' });
    assert.equal(sent.body.status, 'sent', JSON.stringify(sent.body));
    const failed = await h.post('/v1/messages?wait=15', { from: 1, to: { group: 999_999 }, content: 'no group' });
    assert.equal(failed.body.status, 'failed', JSON.stringify(failed.body));
    let missing: string[] = allNames;
    let text = '';
    // Workers flush their counters to Redis once a second.
    for (const deadline = Date.now() + 15_000; missing.length > 0 && Date.now() < deadline;) {
      const r = await fetch(`${h.url}/metrics`);
      assert.equal(r.status, 200);
      text = await r.text();
      missing = allNames.filter((n) => !new RegExp(`^${n}[{ ]`, 'm').test(text));
      if (missing.length > 0) await sleep(300);
    }
    assert.deepEqual(missing, [], `not in /metrics:\n${text}`);
  } finally {
    await h.stop();
  }
});
