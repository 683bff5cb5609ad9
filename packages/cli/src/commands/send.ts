/**
 * `ttpush send`: sends one message through a running ttpush (POST /v1/messages) with the app key from
 * TTPUSH_API_KEY. Exit codes: see ../remote/exit-codes.ts.
 */
import { parseArgs } from 'node:util';
import type { MessageView, Priority, Recipient } from '@ttpush/client';
import { parseInteger, required, UsageError, usageErrorText } from '../args.ts';
import { connect, DEFAULT_URL } from '../remote/connection.ts';
import { EXIT, reportClientError } from '../remote/exit-codes.ts';
import { imageFlags, textOf } from '../remote/image-flags.ts';

export const sendUsage = `usage: ttpush send (--to-user ID | --to-group ID) --from ID [options] TEXT [--image URL]...

Sends TEXT through a running ttpush, as the app whose key is in TTPUSH_API_KEY. With --image, the
pictures follow the text in the message (TEXT may then be left out).

options:
  --to-user ID      the user to send to
  --to-group ID     the group to send to
  --from ID         the sending user (one your app key may send as)
  --image URL       a picture (http(s) URL) after the text; repeat it for several
  --url URL         ttpush's address (default ${DEFAULT_URL})
  --priority P      high, normal or low (default: the app key's)
  --wait S          wait up to S seconds (at most 30) for the message to be sent or fail
  --json            print the message status as one JSON object on stdout
  -h, --help        this text

exit codes: 0 accepted (with --wait: sent), 1 the message failed or was cancelled, 2 usage or
configuration error, 3 ttpush refused the request, 4 ttpush unreachable or failing (5xx)`;

const OPTIONS = {
  'to-user': { type: 'string' },
  'to-group': { type: 'string' },
  from: { type: 'string' },
  url: { type: 'string' },
  priority: { type: 'string' },
  wait: { type: 'string' },
  json: { type: 'boolean' },
  image: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];
const ID_RANGE = { min: 1, max: 4294967295 };

interface SendOptions {
  url: string | undefined;
  from: number;
  to: Recipient;
  text: string;
  /** --image URLs, in order: the message is sent as parts, the text first. */
  images: string[];
  priority: Priority | undefined;
  wait: number | undefined;
  json: boolean;
}

export function parseSendArgs(argv: string[]): SendOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const toUser = values['to-user'];
  const toGroup = values['to-group'];
  if ((toUser === undefined) === (toGroup === undefined)) {
    throw new UsageError('give exactly one of --to-user ID and --to-group ID');
  }
  const to: Recipient =
    toUser !== undefined
      ? { user: parseInteger(toUser, '--to-user', ID_RANGE) }
      : { group: parseInteger(toGroup ?? '', '--to-group', ID_RANGE) };
  const from = parseInteger(required(values.from, '--from'), '--from', ID_RANGE);
  const images = imageFlags(values.image);
  if (images.length > 0 && positionals.length === 0) positionals.push('');
  if (positionals.length !== 1 || (positionals[0] === '' && images.length === 0)) {
    throw new UsageError(
      positionals.length === 0 ? 'the message TEXT is missing' : 'give the TEXT as one argument (quote it)',
    );
  }
  const priority = values.priority;
  if (priority !== undefined && !PRIORITIES.some((p) => p === priority)) {
    throw new UsageError(`--priority must be high, normal or low, got '${priority}'`);
  }
  let wait: number | undefined;
  if (values.wait !== undefined) {
    wait = /^\d+(\.\d{1,3})?$/.test(values.wait) ? Number(values.wait) : NaN;
    if (!(wait > 0 && wait <= 30)) {
      throw new UsageError(`--wait must be a number of seconds above 0 and at most 30, got '${values.wait}'`);
    }
  }
  return {
    url: values.url,
    from,
    to,
    text: positionals[0]!,
    images,
    priority: priority as Priority | undefined,
    wait,
    json: values.json ?? false,
  };
}

function describe(view: MessageView): string {
  const to = 'user' in view.to ? `user ${view.to.user}` : `group ${view.to.group}`;
  const stored = view.msg_id === null ? '' : ` (msg_id ${view.msg_id})`;
  const error = view.error === null ? '' : `: ${view.error.code}: ${view.error.message}`;
  return `message ${view.id} to ${to}: ${view.status}${stored}${error}`;
}

export async function run(argv: string[]): Promise<number> {
  let options: SendOptions | 'help';
  let client;
  try {
    options = parseSendArgs(argv);
    if (options === 'help') {
      process.stdout.write(`${sendUsage}\n`);
      return EXIT.ok;
    }
    client = connect(options.url);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('send', err, sendUsage));
    return EXIT.usage;
  }
  let view: MessageView;
  try {
    view = await client.sendMessage(
      {
        from: options.from,
        to: options.to,
        ...textOf(options),
        ...(options.priority !== undefined && { priority: options.priority }),
      },
      options.wait === undefined ? {} : { wait: options.wait },
    );
  } catch (err) {
    return reportClientError('send', err);
  }
  process.stdout.write(options.json ? `${JSON.stringify(view)}\n` : `${describe(view)}\n`);
  return view.status === 'failed' || view.status === 'cancelled' ? EXIT.failed : EXIT.ok;
}
