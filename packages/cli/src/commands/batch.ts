/**
 * `ttpush batch`: streams recipients from a file or stdin to a running ttpush as one batch (an NDJSON
 * upload), then follows it (GET /v1/batches/:id) with a progress line on stderr until it ends.
 * `ttpush batch status|results|cancel|pause|resume ID` act on a batch by its id (./batch-actions.ts).
 * Exit codes: see ../remote/exit-codes.ts.
 */
import { existsSync, statSync } from 'node:fs';
import type { BatchRecipient, BatchView, Priority } from '@ttpush/client';
import { didYouMean, parseFlags, parseInteger, required, UsageError, usageErrorText } from '../args.ts';
import { allSent, summaryLine } from '../remote/batch-progress.ts';
import { connect, DEFAULT_URL } from '../remote/connection.ts';
import { EXIT } from '../remote/exit-codes.ts';
import { EXIT_INTERRUPTED, followBatch, reportFollowError } from '../remote/follow.ts';
import { fileRecipients, RecipientLineError, recipientLines } from '../remote/recipient-lines.ts';
import { BATCH_ACTIONS, runBatchAction } from './batch-actions.ts';
import { imageFlags, textOf } from '../remote/image-flags.ts';

export const batchUsage = `usage: ttpush batch --from ID --text TEXT --recipients FILE|- [options]
       ttpush batch status ID [--follow] [--json] [--no-progress]
       ttpush batch results ID [--state sent|failed|cancelled|rejected] [--limit N] [--json]
       ttpush batch cancel|pause|resume ID [--json]

Sends TEXT to every recipient in FILE (or stdin, with -) through a running ttpush, as the app whose
key is in TTPUSH_API_KEY, and follows the batch until it ends. FILE holds one recipient a line: a
user id, or an NDJSON object such as {"user": 2}, {"group": 7} or {"user": 3, "content": "own text"}.

options:
  --from ID            the sending user (one your app key may send as)
  --text TEXT          the content every recipient without its own gets
  --image URL          a picture (http(s) URL) after the text; repeat it for several (--text may
                       then be left out); a line may carry its own {"user": 3, "parts": [...]}
  --recipients FILE|-  the recipients file, or - for stdin
  --url URL            ttpush's address (default ${DEFAULT_URL})
  --priority P         high, normal or low (default: the app key's)
  --json               print the final batch (with its counts) as one JSON object on stdout
  --no-progress        no progress line on stderr
  -h, --help           this text

The progress line (stderr) is rewritten in place on a terminal; elsewhere it is a plain line every few
seconds. Ctrl-C stops following, not the batch: it prints how to follow or cancel it, and exits 130.

On a batch by its id (--url as above):
  status ID            its progress line (--json: the batch as JSON); --follow: follow it to its end
                       like 'ttpush batch' does, with the same progress line, summary and exit code
  results ID           its recipients' outcomes, one a line (--json: NDJSON rows), every page;
                       --state keeps one outcome, --limit N stops after N rows
  cancel ID            cancels what is not sent yet; pause ID / resume ID stop and restart sending

exit codes: 0 every recipient sent (status, results, cancel, pause, resume: done), 1 some or all
failed (or the batch was cancelled), 2 usage or configuration error, 3 ttpush refused the request
(e.g. cancelling a finished batch, an unknown id), 4 ttpush unreachable or failing (5xx),
130 interrupted by Ctrl-C (the batch goes on)`;

const OPTIONS = {
  from: { type: 'string' },
  text: { type: 'string' },
  image: { type: 'string', multiple: true },
  recipients: { type: 'string' },
  url: { type: 'string' },
  priority: { type: 'string' },
  json: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface BatchOptions {
  url: string | undefined;
  from: number;
  text: string;
  /** --image URLs, in order: the batch's text is sent as parts, the text first. */
  images: string[];
  recipients: string;
  priority: Priority | undefined;
  json: boolean;
  progress: boolean;
}

export function parseBatchArgs(argv: string[]): BatchOptions | 'help' {
  const values = parseFlags(argv, OPTIONS);
  if (values.help) return 'help';
  const from = parseInteger(required(values.from, '--from'), '--from', { min: 1, max: 4294967295 });
  const images = imageFlags(values.image);
  const text = images.length > 0 && values.text === undefined ? '' : required(values.text, '--text');
  const recipients = required(values.recipients, '--recipients');
  if (recipients !== '-' && !(existsSync(recipients) && statSync(recipients).isFile())) {
    throw new UsageError(`--recipients ${recipients} is not a readable file (use - to read stdin)`);
  }
  const priority = values.priority;
  if (priority !== undefined && priority !== 'high' && priority !== 'normal' && priority !== 'low') {
    throw new UsageError(`--priority must be high, normal or low, got '${priority}'`);
  }
  return {
    url: values.url,
    from,
    text,
    images,
    recipients,
    priority,
    json: values.json ?? false,
    progress: !values['no-progress'],
  };
}

/** Ctrl-C while the recipients are uploading: no batch id yet, and ttpush drops an unfinished upload. */
function interruptUpload(): void {
  process.stderr.write(
    '\nttpush batch: interrupted during the upload; ttpush discards an unfinished upload, so nothing of it is sent.\n',
  );
  process.exit(EXIT_INTERRUPTED);
}

export async function run(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-')) {
    if ((BATCH_ACTIONS as readonly string[]).includes(first)) return runBatchAction(first, argv.slice(1));
    process.stderr.write(
      usageErrorText(
        'batch',
        new UsageError(`unknown subcommand '${first}'${didYouMean(first, BATCH_ACTIONS)}`),
        batchUsage,
      ),
    );
    return EXIT.usage;
  }
  let options: BatchOptions | 'help';
  let client;
  try {
    options = parseBatchArgs(argv);
    if (options === 'help') {
      process.stdout.write(`${batchUsage}\n`);
      return EXIT.ok;
    }
    client = connect(options.url);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('batch', err, batchUsage));
    return EXIT.usage;
  }
  const started = Date.now();
  // A bad line stops the upload from inside fetch's body stream: keep it to report it as what it is.
  let badLine: RecipientLineError | undefined;
  const guard = async function* (source: AsyncIterable<BatchRecipient>): AsyncGenerator<BatchRecipient> {
    try {
      yield* source;
    } catch (err) {
      if (err instanceof RecipientLineError) badLine = err;
      throw err;
    }
  };
  const path = options.recipients;
  const stream = path === '-' ? guard(recipientLines(process.stdin)) : () => guard(fileRecipients(path)());
  let view: BatchView;
  try {
    process.on('SIGINT', interruptUpload);
    try {
      view = await client.createBatch({
        from: options.from,
        ...textOf(options),
        ...(options.priority !== undefined && { priority: options.priority }),
        stream,
      });
    } finally {
      process.off('SIGINT', interruptUpload);
    }
    view = await followBatch(client, view, { command: 'batch', url: options.url, progress: options.progress });
  } catch (err) {
    if (badLine !== undefined) {
      process.stderr.write(`ttpush batch: ${path === '-' ? 'stdin' : path}, ${badLine.message}\n`);
      return EXIT.usage;
    }
    return reportFollowError('batch', options.url, err);
  }
  const summary = summaryLine(view, Date.now() - started);
  if (options.json) {
    process.stderr.write(`${summary}\n`);
    process.stdout.write(`${JSON.stringify(view)}\n`);
  } else {
    process.stdout.write(`${summary}\n`);
  }
  return allSent(view) ? EXIT.ok : EXIT.failed;
}
