/**
 * Where a tenant app's record lives (apps/api tenants/store.ts writes it): the api reads its keys and limits,
 * workers read its rate_limit to pace the app's batches.
 *   P:tn:app:<name>  hash  created_at · rate_limit (msg/s) · daily_quota · priority · disabled
 */
export function tenantAppKey(prefix: string, name: string): string {
  return `${prefix}:tn:app:${name}`;
}
