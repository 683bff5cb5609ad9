/** A db_proxy_server that answers some requests and not others is degraded, counted, and explained once in a warning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Writable } from 'node:stream';
import { DbProxyPool } from '@ttpush/pdu';
import { DbProxyHealth } from '../src/db-proxy-health.ts';

function capture() {
  const lines: { level: number; msg: string; dbProxy?: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

test('degraded after 3 unexplained silences of a live server in the window; outages and deliberate silences do not count', async () => {
  // Never connected: only its addresses matter here.
  const pool = new DbProxyPool({ addresses: [{ host: '127.0.0.1', port: 1 }], connectionsPerServer: 1 });
  const { log, lines } = capture();
  let now = 1_000_000;
  const health = new DbProxyHealth(pool, log, { windowMs: 60_000, degradedAfter: 3, warnEveryMs: 300_000 }, () => now);
  const a = '127.0.0.1:1';
  assert.deepEqual(health.report(), [{ address: a, unanswered: 0, recent: 0, status: 'ok' }]);

  // An outage: nothing answered meanwhile. Counted, not degraded.
  for (let i = 0; i < 5; i++) health.unanswered(a, false);
  // Two silences of a live server, one of them explained (a non-member's group send).
  health.unanswered(a, true);
  health.unanswered(a, true);
  health.explained(a);
  assert.equal(health.report()[0]!.status, 'ok');
  assert.deepEqual([...health.takeCounts()], [[a, 7]]);
  assert.deepEqual([...health.takeCounts()], []);

  health.unanswered(a, true);
  health.unanswered(a, true);
  const r = health.report()[0]!;
  assert.equal(r.status, 'degraded');
  assert.equal(r.unanswered, 9);
  assert.match(r.reason!, /parked db_proxy_server thread; restart that db_proxy_server/);
  health.report();
  const warnings = lines.filter((l) => l.level === 40);
  assert.equal(warnings.length, 1, 'one warning, rate-limited');
  assert.match(
    warnings[0]!.msg,
    new RegExp(`db_proxy_server ${a} degraded: .*parked.*Fix: restart that db_proxy_server`),
  );
  assert.equal(warnings[0]!.dbProxy, a);

  // A minute later without new silences: ok again.
  now += 60_001;
  assert.equal(health.report()[0]!.status, 'ok');
  await pool.close();
});
