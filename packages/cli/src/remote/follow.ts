/**
 * Following a batch until it ends (`ttpush batch`, `ttpush batch status --follow`): a progress line on
 * stderr, GET /v1/batches/:id every POLL_MS. Ctrl-C stops following, not the batch: it prints how to follow
 * or cancel it and exits 130. Losing ttpush mid-run says the same (the batch goes on if ttpush is alive).
 */
import { TtpushError, type BatchView, type TtpushClient } from '@ttpush/client';
import { DEFAULT_URL } from './connection.ts';
import { finished, ProgressPrinter } from './batch-progress.ts';
import { EXIT, reportClientError } from './exit-codes.ts';

/** How often a running batch is read. */
export const POLL_MS = 500;
/** How long a cancelled batch is still read while its workers settle the chunks they were sending. */
const SETTLE_MS = 10_000;
/** The exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The commands that follow or cancel a batch, with --url when it is not the default. */
export function resumeHint(id: string, url: string | undefined): string {
  const at = url === undefined || url.replace(/\/+$/, '') === DEFAULT_URL ? '' : ` --url ${url}`;
  return `  follow it:  ttpush batch status ${id} --follow${at}\n  cancel it:  ttpush batch cancel ${id}${at}\n`;
}

/** ttpush could not be read while following: the batch may still be running. */
export class FollowLost extends Error {
  override readonly name = 'FollowLost';
  constructor(
    readonly lost: TtpushError,
    readonly batch: string,
  ) {
    super(lost.message);
  }
}

export interface FollowOptions {
  command: string;
  url: string | undefined;
  progress: boolean;
}

/**
 * Reads the batch until it is completed or cancelled. While it runs, Ctrl-C prints the hint and exits 130;
 * an unreachable or failing ttpush throws {@link FollowLost}.
 */
export async function followBatch(client: TtpushClient, first: BatchView, opts: FollowOptions): Promise<BatchView> {
  const printer = new ProgressPrinter(process.stderr);
  const onInterrupt = () => {
    printer.end();
    process.stderr.write(
      `\nttpush ${opts.command}: stopped following; batch ${first.id} goes on server-side.\n${resumeHint(first.id, opts.url)}`,
    );
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onInterrupt);
  let view = first;
  let cancelledAt: number | undefined;
  try {
    for (;;) {
      if (opts.progress) printer.show(view);
      if (view.status === 'cancelled') cancelledAt ??= Date.now();
      // A cancelled batch ends when every chunk is settled (finished_at): its counts then say what was cancelled.
      const settled = view.status !== 'cancelled' || view.finished_at !== null || Date.now() - cancelledAt! > SETTLE_MS;
      if (finished(view) && settled) return view;
      await sleep(POLL_MS);
      try {
        view = await client.getBatch(view.id);
      } catch (err) {
        if (err instanceof TtpushError && err.unavailable) throw new FollowLost(err, view.id);
        throw err;
      }
    }
  } finally {
    printer.end();
    process.off('SIGINT', onInterrupt);
  }
}

/** Reports a lost ttpush with the hint (exit 4), or any other client error as usual. */
export function reportFollowError(command: string, url: string | undefined, err: unknown): number {
  if (!(err instanceof FollowLost)) return reportClientError(command, err);
  reportClientError(command, err.lost);
  process.stderr.write(
    `ttpush ${command}: lost touch with ttpush; batch ${err.batch} goes on server-side if ttpush is running.\n${resumeHint(err.batch, url)}`,
  );
  return EXIT.unavailable;
}
