/** Single sends with no webhook endpoint and with one that never answers (a stack of its own). */
import type { BenchContext } from '../context.ts';
import { webhookHang } from '../webhook-hang.ts';
import { ratio, round } from '../report.ts';

export async function webhookRows(ctx: BenchContext): Promise<void> {
  const hang = await webhookHang(20_000, ctx.connections);
  ctx.report.add({
    what: 'sends with a hung webhook endpoint',
    value: `${round(hang.withHungEndpoint)} msg/s`,
    ratio: `${ratio(hang.withHungEndpoint, hang.withoutEndpoint)} of without`,
    target: '≈ 1',
    note: `without an endpoint ${round(hang.withoutEndpoint)} msg/s (mean of a run before and after); ${hang.count} sends each, accept to drained`,
  });
}
