/**
 * The doctor's checks of the configuration alone (no network): the AES key, the webhook allow-list and
 * the admin key. No secret is ever printed: only whether it is set.
 */
import type { Config } from '@ttpush/config';
import { ok, warn, type Check } from './check.ts';

/** Ranges that open webhooks to every address, or to all of a private space at once. */
function broad(cidr: string): boolean {
  const [, bits] = cidr.split('/');
  return Number(bits) === 0;
}

export function configChecks(config: Config): Check[] {
  const checks: Check[] = [];
  checks.push(
    config.aesKeyIsStockDefault
      ? warn(
          'aes key',
          "TTPUSH_AES_KEY is the public stock key of TeamTalk's sample configurations: anyone can read the messages",
          'give the TeamTalk servers and ttpush a private 32-character aesKey',
        )
      : ok('aes key', 'TTPUSH_AES_KEY is set (not the stock key)'),
  );
  const allowed = config.webhooks.allowedNetworks;
  if (allowed.length === 0) {
    checks.push(
      ok(
        'webhook allow-list',
        'empty: webhook receivers must be on public addresses (loopback, private and link-local ones are refused)',
      ),
    );
  } else if (allowed.some(broad)) {
    checks.push(
      warn(
        'webhook allow-list',
        `TTPUSH_WEBHOOK_ALLOWED_NETWORKS allows every address (${allowed.filter(broad).join(', ')}): a caller's webhook URL may reach any internal service`,
        "list only the receivers' own ranges, e.g. 10.0.3.17/32",
      ),
    );
  } else {
    checks.push(
      ok('webhook allow-list', `webhooks may also reach ${allowed.join(', ')} (TTPUSH_WEBHOOK_ALLOWED_NETWORKS)`),
    );
  }
  checks.push(
    config.adminKey === undefined
      ? warn(
          'admin key',
          'TTPUSH_ADMIN_KEY is unset: the console, /admin/queues and /v1/admin answer 403 admin_disabled',
          'set TTPUSH_ADMIN_KEY (16+ characters) on the api to watch and manage campaigns',
        )
      : ok('admin key', 'TTPUSH_ADMIN_KEY is set'),
  );
  return checks;
}
