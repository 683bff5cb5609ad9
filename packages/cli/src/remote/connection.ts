/**
 * Where a command finds ttpush: --url (default http://127.0.0.1:8400) and the caller's app key from
 * TTPUSH_API_KEY. A missing key or a malformed URL is a usage error (exit 2).
 */
import { TtpushClient } from '@ttpush/client';
import { UsageError } from '../args.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8400';

/** The --url value, checked (http or https) and without a trailing slash. */
export function baseUrl(url: string | undefined): string {
  const base = url ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new UsageError(`--url must be an http(s) URL such as ${DEFAULT_URL}, got '${base}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL such as ${DEFAULT_URL}, got '${base}'`);
  }
  return base.replace(/\/+$/, '');
}

export function connect(url: string | undefined, env: NodeJS.ProcessEnv = process.env): TtpushClient {
  const apiKey = env.TTPUSH_API_KEY ?? '';
  if (apiKey.trim() === '') {
    throw new UsageError('TTPUSH_API_KEY is not set: export the app key ttpush gave you, e.g. TTPUSH_API_KEY=...');
  }
  return new TtpushClient({ url: baseUrl(url), apiKey: apiKey.trim() });
}
