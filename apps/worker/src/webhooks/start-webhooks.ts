/** Wires a worker's webhooks: the subscription cache, the emitter the send path calls, and the delivery loop. */
import type { Logger } from 'pino';
import type { Config } from '@ttpush/config';
import { DeliveryQueue, WebhookStore, consumerRedis, redisTarget, type BatchStore } from '@ttpush/store';
import { UrlPolicy } from '@ttpush/config';
import type { WorkerStats } from '../stats.ts';
import { SubscriptionCache } from './subscription-cache.ts';
import { WebhookEmitter } from './emitter.ts';
import { WebhookDeliverer } from './deliverer.ts';

export interface RunningWebhooks {
  emitter: WebhookEmitter;
  /** Stops delivering, writes held events, closes the connections. Run after the send path stopped. */
  close(): Promise<void>;
}

export function startWebhooks(
  config: Config,
  batches: BatchStore,
  stats: WorkerStats,
  logger: Logger,
): RunningWebhooks {
  const log = logger.child({ component: 'webhooks' });
  // Its own connections: a hung receiver never queues commands behind the send path's.
  const target = redisTarget(config)!;
  const conn = consumerRedis(target);
  const subscriber = consumerRedis(target);
  for (const r of [conn, subscriber]) r.on('error', (err: Error) => log.debug({ err }, 'redis error'));
  const store = new WebhookStore(conn, config.redisPrefix);
  const queue = new DeliveryQueue(conn, config.redisPrefix);
  const subs = new SubscriptionCache(store, subscriber, log);
  const emitter = new WebhookEmitter(queue, subs, batches, log);
  const deliverer = new WebhookDeliverer(
    queue,
    store,
    new UrlPolicy(config.webhooks.allowedNetworks),
    emitter,
    stats,
    log,
    config.webhooks,
  );
  subs.start();
  deliverer.start();
  return {
    emitter,
    async close() {
      await deliverer.stop();
      await emitter.close();
      subs.stop();
      conn.disconnect();
      subscriber.disconnect();
    },
  };
}
