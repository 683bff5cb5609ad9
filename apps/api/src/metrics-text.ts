/**
 * Prometheus text for the counters workers flush to Redis (P:stats) and their TeamTalk connection states,
 * appended by the API to its own /metrics.
 */
import { LATENCY_BUCKETS_MS, type HealthReport } from '@ttpush/contract';

export function renderWorkerMetrics(stats: Record<string, number>, health: HealthReport): string {
  const out: string[] = [];
  out.push('# HELP ttpush_messages_sent_total Messages stored by TeamTalk and forwarded to route_server.');
  out.push('# TYPE ttpush_messages_sent_total counter');
  out.push(`ttpush_messages_sent_total ${stats.sent ?? 0}`);
  out.push('# HELP ttpush_messages_failed_total Messages that ended failed, by error code.');
  out.push('# TYPE ttpush_messages_failed_total counter');
  for (const [k, v] of Object.entries(stats)) {
    if (k.startsWith('failed:')) out.push(`ttpush_messages_failed_total{code="${k.slice(7)}"} ${v}`);
  }
  out.push(
    '# HELP ttpush_read_back_found_total Messages found stored by reading the conversation back after an uncertain send.',
  );
  out.push('# TYPE ttpush_read_back_found_total counter');
  out.push(`ttpush_read_back_found_total ${stats.read_back_found ?? 0}`);
  out.push('# HELP ttpush_accept_to_stored_seconds Time from acceptance (or send_at) to TeamTalk storing the message.');
  out.push('# TYPE ttpush_accept_to_stored_seconds histogram');
  let cumulative = 0;
  for (const le of LATENCY_BUCKETS_MS) {
    cumulative += stats[`lat_le_${le}`] ?? 0;
    out.push(`ttpush_accept_to_stored_seconds_bucket{le="${le / 1000}"} ${cumulative}`);
  }
  cumulative += stats.lat_le_inf ?? 0;
  out.push(`ttpush_accept_to_stored_seconds_bucket{le="+Inf"} ${cumulative}`);
  out.push(`ttpush_accept_to_stored_seconds_sum ${(stats.lat_sum_ms ?? 0) / 1000}`);
  out.push(`ttpush_accept_to_stored_seconds_count ${stats.lat_count ?? 0}`);
  out.push(
    '# HELP ttpush_webhook_deliveries_total Webhook attempts by outcome: delivered, retried (failed, tried again later), dead.',
  );
  out.push('# TYPE ttpush_webhook_deliveries_total counter');
  for (const outcome of ['delivered', 'retried', 'dead']) {
    out.push(`ttpush_webhook_deliveries_total{outcome="${outcome}"} ${stats[`webhook:${outcome}`] ?? 0}`);
  }
  out.push(
    '# HELP ttpush_webhook_endpoints_disabled_total Webhook endpoints disabled after failing for TTPUSH_WEBHOOK_DISABLE_AFTER.',
  );
  out.push('# TYPE ttpush_webhook_endpoints_disabled_total counter');
  out.push(`ttpush_webhook_endpoints_disabled_total ${stats['webhook:endpoint_disabled'] ?? 0}`);
  out.push('# HELP ttpush_teamtalk_connection_up TeamTalk connections of live workers by state (1 = in this state).');
  out.push('# TYPE ttpush_teamtalk_connection_up gauge');
  for (const w of health.workers) {
    const conns = (w.connections ?? []) as { role: string; address: string; status: string }[];
    for (const c of conns) {
      out.push(
        `ttpush_teamtalk_connection_up{worker="${w.id}",role="${c.role}",address="${c.address}",state="${c.status}"} 1`,
      );
    }
  }
  out.push(
    '# HELP ttpush_db_proxy_unanswered_total Requests a db_proxy_server left without a reply (timed out), by address.',
  );
  out.push('# TYPE ttpush_db_proxy_unanswered_total counter');
  for (const [k, v] of Object.entries(stats)) {
    if (k.startsWith('unanswered:')) out.push(`ttpush_db_proxy_unanswered_total{address="${k.slice(11)}"} ${v}`);
  }
  out.push(
    '# HELP ttpush_messages_resent_total Messages sent again after a store without reply, once db_proxy settled and reading back showed them absent.',
  );
  out.push('# TYPE ttpush_messages_resent_total counter');
  out.push(`ttpush_messages_resent_total ${stats.resent_after_silence ?? 0}`);
  out.push(
    '# HELP ttpush_db_proxy_degraded 1 when a live worker sees this db_proxy_server answer some requests and leave others unanswered (likely a parked thread: restart it).',
  );
  out.push('# TYPE ttpush_db_proxy_degraded gauge');
  for (const w of health.workers) {
    for (const d of w.dbProxy ?? []) {
      out.push(`ttpush_db_proxy_degraded{worker="${w.id}",address="${d.address}"} ${d.status === 'degraded' ? 1 : 0}`);
    }
  }
  out.push('# HELP ttpush_workers_alive Workers that sent a heartbeat in the last 15 s.');
  out.push('# TYPE ttpush_workers_alive gauge');
  out.push(`ttpush_workers_alive ${health.workers.length}`);
  return out.join('\n') + '\n';
}
