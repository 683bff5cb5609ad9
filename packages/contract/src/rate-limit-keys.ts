/**
 * Redis layout of the token buckets every api and worker process spends together (store rate-limit.ts):
 *
 *   P:rl:app:<name>  hash  an app's rate_limit bucket: t (tokens left, fractional), ts (when counted, ms Redis time)
 *   P:rl:teamtalk    hash  the same for TTPUSH_TEAMTALK_MAX_RATE, the rate towards db_proxy_server
 */
export class RateLimitKeys {
  constructor(readonly prefix: string) {}
  app(name: string): string {
    return `${this.prefix}:rl:app:${name}`;
  }
  get teamtalk(): string {
    return `${this.prefix}:rl:teamtalk`;
  }
}
