/** Refuses a webhook or callback URL that the URL policy refuses, as the API's webhook_url_refused. */
import { UrlRefusedError, type UrlPolicy } from '@ttpush/core';
import { ApiError } from '../errors.ts';

export async function checkWebhookUrl(policy: UrlPolicy, url: string, field: string): Promise<void> {
  try {
    await policy.resolve(url);
  } catch (err) {
    if (!(err instanceof UrlRefusedError)) throw err;
    throw new ApiError('webhook_url_refused', `${field} ${err.message}`, field, {}, { reason: err.code });
  }
}
