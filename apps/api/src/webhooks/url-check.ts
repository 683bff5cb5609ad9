/** Refuses a webhook or callback URL that the URL policy refuses, as the API's webhook_url_refused. */
import { UrlRefusedError, type UrlPolicy } from '@ttpush/config';
import { ApiError } from '../errors.ts';

export async function checkWebhookUrl(policy: UrlPolicy, url: string, field: string): Promise<void> {
  try {
    await policy.resolve(url);
  } catch (err) {
    throw refusal(err, field);
  }
}

/**
 * A request's callback_url, on the send path: its form and an IP literal host, without DNS (a lookup per send would
 * cost the hot path, and a resolver's hiccup would refuse a good message). The worker resolves and checks the host
 * when it delivers, and a refused address ends that delivery (address_refused).
 */
export function checkCallbackUrlForm(policy: UrlPolicy, url: string, field: string): void {
  try {
    policy.checkWithoutDns(url);
  } catch (err) {
    throw refusal(err, field);
  }
}

function refusal(err: unknown, field: string): unknown {
  if (!(err instanceof UrlRefusedError)) return err;
  return new ApiError('webhook_url_refused', `${field} ${err.message}`, field, {}, { reason: err.code });
}
