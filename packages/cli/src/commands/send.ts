/**
 * `ttpush send`: sends one message through a running ttpush (POST /v1/messages) with the app key from
 * TTPUSH_API_KEY. Exit codes: see ../remote/exit-codes.ts.
 */
import type { MessageView, Priority, Recipient, SendMessageRequest } from '@ttpush/client';
import { parseInteger, parseLine, required, UsageError, usageErrorText } from '../args.ts';
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
  --send-at TIME    send no earlier than TIME: RFC 3339 (2026-01-31T09:30:00Z) or a delay from now
                    (30s, 10m, 2h, 1d); the message is 'scheduled' until then
  --deadline TIME   what is not sent by TIME fails as 'expired' (RFC 3339, or a delay from now)
  --idempotency-key K
                    the request's Idempotency-Key: sending again with the same K (within 24 h)
                    answers the first message instead of sending a second one
  --metadata JSON   a JSON object kept with the message and shown when it is read
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
  'send-at': { type: 'string' },
  deadline: { type: 'string' },
  'idempotency-key': { type: 'string' },
  metadata: { type: 'string' },
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
  sendAt: string | undefined;
  deadline: string | undefined;
  idempotencyKey: string | undefined;
  metadata: Record<string, unknown> | undefined;
  json: boolean;
}

/** The units of TTPUSH_* durations (@ttpush/config), here with fractions too: 1.5h. */
const DELAY_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// The forms the api's schema takes (upper-case T and Z): a lower-case or spaced form is a usage error here, not a 400.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time (with seconds and a Z or ±hh:mm offset), or a delay from now (30s, 10m, 2h, 1d) turned into one. */
export function parseTime(text: string, flag: string, now = Date.now()): string {
  const t = text.trim();
  const delay = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(t);
  if (delay) return new Date(now + Math.round(Number(delay[1]) * DELAY_UNITS[delay[2]!]!)).toISOString();
  if (!RFC3339.test(t) || Number.isNaN(Date.parse(t))) {
    throw new UsageError(
      `${flag} must be an RFC 3339 time such as 2026-01-31T09:30:00Z, or a delay from now such as 10m, got '${text}'`,
    );
  }
  return t;
}

function parseMetadata(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`--metadata is not valid JSON: give an object such as '{"order": 42}'`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`--metadata must be a JSON object such as '{"order": 42}', got ${text}`);
  }
  return value as Record<string, unknown>;
}

export function parseSendArgs(argv: string[]): SendOptions | 'help' {
  const { values, positionals } = parseLine(argv, OPTIONS);
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
  const key = values['idempotency-key'];
  if (key !== undefined && (key.trim() === '' || !/^[\x20-\x7e]{1,200}$/.test(key))) {
    throw new UsageError('--idempotency-key must be 1 to 200 printable ASCII characters (e.g. a UUID)');
  }
  return {
    url: values.url,
    from,
    to,
    text: positionals[0]!,
    images,
    priority: priority as Priority | undefined,
    wait,
    sendAt: values['send-at'] === undefined ? undefined : parseTime(values['send-at'], '--send-at'),
    deadline: values.deadline === undefined ? undefined : parseTime(values.deadline, '--deadline'),
    idempotencyKey: key,
    metadata: values.metadata === undefined ? undefined : parseMetadata(values.metadata),
    json: values.json ?? false,
  };
}

/** One line for a message view: its id, recipient, status, msg_id or error, and when it is scheduled. */
export function describe(view: MessageView): string {
  const to = 'user' in view.to ? `user ${view.to.user}` : `group ${view.to.group}`;
  const stored = view.msg_id === null ? '' : ` (msg_id ${view.msg_id})`;
  const error = view.error === null ? '' : `: ${view.error.code}: ${view.error.message}`;
  const when = view.status === 'scheduled' && view.send_at !== null ? ` (send at ${view.send_at})` : '';
  return `message ${view.id} to ${to}: ${view.status}${when}${stored}${error}`;
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
    const req: SendMessageRequest = {
      from: options.from,
      to: options.to,
      ...textOf(options),
      ...(options.priority !== undefined && { priority: options.priority }),
      ...(options.sendAt !== undefined && { send_at: options.sendAt }),
      ...(options.deadline !== undefined && { deadline: options.deadline }),
      ...(options.metadata !== undefined && { metadata: options.metadata }),
    };
    view = await client.sendMessage(req, {
      ...(options.wait !== undefined && { wait: options.wait }),
      ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
    });
  } catch (err) {
    return reportClientError('send', err);
  }
  process.stdout.write(options.json ? `${JSON.stringify(view)}\n` : `${describe(view)}\n`);
  return view.status === 'failed' || view.status === 'cancelled' ? EXIT.failed : EXIT.ok;
}
