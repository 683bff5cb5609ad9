/**
 * Redis key layout of webhooks, apart from the message keys. Every key carries the hash tag `{<prefix>:wh}`,
 * so the scripts that touch several of them stay in one cluster slot.
 *
 *   T:ep:<id>        hash   one endpoint (fields in endpoint-record.ts)
 *   T:eps:<app>      zset   an app's endpoint ids by creation time (ms)
 *   T:subs           hash   app → JSON [{id, events}] of its enabled endpoints: what workers cache
 *   T:cbs:<app>      hash   an app's callback secret (secret, old, old_until, created, rotated)
 *   T:d:<id>         hash   one delivery (fields in delivery-record.ts)
 *   T:att:<id>       list   its attempts, JSON, oldest first (at most ATTEMPTS_KEPT)
 *   T:ready          zset   concurrency groups (an endpoint id, or cb.<app> for an app's callback URLs) by the time
 *                          their earliest delivery is due (ms): what claims look at, one entry per group, so a
 *                          group at its cap never holds up the others
 *   T:due:<group>    zset   the group's delivery ids by the time of their next attempt (ms); a claimed one by its
 *                          lease end
 *   T:sem:<group>    zset   the group's delivery ids in flight by lease end: the concurrency cap
 *   T:dapp:<app>     zset   an app's delivery ids by creation time (ms)
 *   T:dep:<ep>       zset   an endpoint's delivery ids by creation time (ms)
 *   T:changed        channel  an app whose endpoints changed (workers refresh their cache)
 * where T is `<prefix>:{<prefix>:wh}`.
 */
export class WebhookKeys {
  readonly base: string;
  constructor(readonly prefix: string) {
    this.base = `${prefix}:{${prefix}:wh}`;
  }
  endpoint(id: string): string {
    return `${this.base}:ep:${id}`;
  }
  appEndpoints(app: string): string {
    return `${this.base}:eps:${app}`;
  }
  get subscriptions(): string {
    return `${this.base}:subs`;
  }
  callbackSecret(app: string): string {
    return `${this.base}:cbs:${app}`;
  }
  delivery(id: string): string {
    return `${this.base}:d:${id}`;
  }
  attempts(id: string): string {
    return `${this.base}:att:${id}`;
  }
  get ready(): string {
    return `${this.base}:ready`;
  }
  due(group: string): string {
    return `${this.base}:due:${group}`;
  }
  semaphore(group: string): string {
    return `${this.base}:sem:${group}`;
  }
  appDeliveries(app: string): string {
    return `${this.base}:dapp:${app}`;
  }
  endpointDeliveries(endpoint: string): string {
    return `${this.base}:dep:${endpoint}`;
  }
  get changedChannel(): string {
    return `${this.base}:changed`;
  }
}

/** Attempts kept per delivery (the schedule has 11 by default; redeliveries add more). */
export const ATTEMPTS_KEPT = 50;
/** How long a finished (delivered or dead) delivery stays listed. */
export const DELIVERY_TTL_MS = 30 * 86_400_000;
/** Endpoints an app may have. */
export const MAX_ENDPOINTS_PER_APP = 20;
