/**
 * `ttpush batch status|results|cancel|pause|resume ID`: a batch of the caller's app, by its id, through
 * GET /v1/batches/:id, its results pages, DELETE and POST .../pause|resume. `status --follow` follows it to
 * its end as `ttpush batch` does. Exit codes: see ../remote/exit-codes.ts.
 */
import type { BatchResultRow, BatchResultState, BatchView, TtpushClient } from '@ttpush/client';
import { parseInteger, parseLine, UsageError, usageErrorText } from '../args.ts';
import { allSent, progressLine, summaryLine } from '../remote/batch-progress.ts';
import { connect } from '../remote/connection.ts';
import { EXIT } from '../remote/exit-codes.ts';
import { followBatch, reportFollowError } from '../remote/follow.ts';

export const BATCH_ACTIONS = ['status', 'results', 'cancel', 'pause', 'resume'] as const;
type Action = (typeof BATCH_ACTIONS)[number];

const STATES: readonly BatchResultState[] = ['sent', 'failed', 'cancelled', 'rejected'];

/** Every flag any action takes; each action refuses the ones that do not apply to it. */
const OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  follow: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  state: { type: 'string' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const APPLIES: Record<Action, readonly string[]> = {
  status: ['follow', 'no-progress'],
  results: ['state', 'limit'],
  cancel: [],
  pause: [],
  resume: [],
};

export interface BatchActionOptions {
  action: Action;
  id: string;
  url: string | undefined;
  json: boolean;
  follow: boolean;
  progress: boolean;
  state: BatchResultState | undefined;
  limit: number | undefined;
}

export function parseBatchAction(action: Action, argv: string[]): BatchActionOptions | 'help' {
  const { values, positionals } = parseLine(argv, OPTIONS);
  if (values.help) return 'help';
  for (const [flag, v] of Object.entries(values)) {
    if (v !== undefined && !['url', 'json', ...APPLIES[action]].includes(flag)) {
      throw new UsageError(`--${flag} does not apply to 'batch ${action}'`);
    }
  }
  if (positionals.length !== 1 || positionals[0] === '') {
    throw new UsageError(`'batch ${action}' takes one batch ID (bat_...), as 'ttpush batch' printed it`);
  }
  const state = values.state;
  if (state !== undefined && !STATES.some((s) => s === state)) {
    throw new UsageError(`--state must be ${STATES.join(', ')}, got '${state}'`);
  }
  return {
    action,
    id: positionals[0]!,
    url: values.url,
    json: values.json ?? false,
    follow: values.follow ?? false,
    progress: !values['no-progress'],
    state: state as BatchResultState | undefined,
    limit: values.limit === undefined ? undefined : parseInteger(values.limit, '--limit', { min: 1 }),
  };
}

/** One result row as a line: the recipient, its outcome, and the msg_id or the error. */
export function resultLine(row: BatchResultRow): string {
  if (row.recipient === null) {
    const where = row.line !== undefined ? `line ${row.line}` : `index ${row.index ?? '?'}`;
    return `rejected ${where}: ${row.error.code}: ${row.error.message}`;
  }
  const to = 'user' in row.recipient ? `user ${row.recipient.user}` : `group ${row.recipient.group}`;
  if (row.state === 'sent') return `${to} sent msg_id ${row.msg_id}`;
  if (row.state === 'failed') return `${to} failed ${row.error.code}: ${row.error.message}`;
  return `${to} ${row.state}`;
}

async function results(client: TtpushClient, o: BatchActionOptions): Promise<number> {
  let n = 0;
  for await (const row of client.eachBatchResult(o.id, o.state === undefined ? {} : { state: o.state })) {
    process.stdout.write(`${o.json ? JSON.stringify(row) : resultLine(row)}\n`);
    if (o.limit !== undefined && ++n >= o.limit) break;
  }
  return EXIT.ok;
}

function print(view: BatchView, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(view)}\n` : `${progressLine(view)}\n`);
}

async function follow(client: TtpushClient, o: BatchActionOptions): Promise<number> {
  let view = await client.getBatch(o.id);
  view = await followBatch(client, view, { command: 'batch status', url: o.url, progress: o.progress });
  const end = view.finished_at === null ? Date.now() : Date.parse(view.finished_at);
  const summary = summaryLine(view, end - Date.parse(view.created_at));
  if (o.json) {
    process.stderr.write(`${summary}\n`);
    process.stdout.write(`${JSON.stringify(view)}\n`);
  } else {
    process.stdout.write(`${summary}\n`);
  }
  return allSent(view) ? EXIT.ok : EXIT.failed;
}

export async function runBatchAction(action: string, argv: string[]): Promise<number> {
  const a = action as Action;
  let o: BatchActionOptions | 'help';
  let client;
  try {
    o = parseBatchAction(a, argv);
    if (o === 'help') {
      const { batchUsage } = await import('./batch.ts');
      process.stdout.write(`${batchUsage}\n`);
      return EXIT.ok;
    }
    client = connect(o.url);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const { batchUsage } = await import('./batch.ts');
    process.stderr.write(usageErrorText(`batch ${a}`, err, batchUsage));
    return EXIT.usage;
  }
  try {
    switch (o.action) {
      case 'status':
        if (o.follow) return await follow(client, o);
        print(await client.getBatch(o.id), o.json);
        return EXIT.ok;
      case 'results':
        return await results(client, o);
      case 'cancel':
        print(await client.cancelBatch(o.id), o.json);
        return EXIT.ok;
      case 'pause':
        print(await client.pauseBatch(o.id), o.json);
        return EXIT.ok;
      case 'resume':
        print(await client.resumeBatch(o.id), o.json);
        return EXIT.ok;
    }
  } catch (err) {
    return reportFollowError(`batch ${o.action}`, o.url, err);
  }
}
