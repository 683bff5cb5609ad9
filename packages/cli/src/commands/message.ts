/**
 * `ttpush message get|cancel ID`: one message of the caller's app, by the id `ttpush send` printed
 * (GET and DELETE /v1/messages/:id). Exit codes: see ../remote/exit-codes.ts.
 */
import type { MessageView } from '@ttpush/client';
import { didYouMean, parseLine, UsageError, usageErrorText } from '../args.ts';
import { connect, DEFAULT_URL } from '../remote/connection.ts';
import { EXIT, reportClientError } from '../remote/exit-codes.ts';
import { describe } from './send.ts';

export const messageUsage = `usage: ttpush message get ID [options]
       ttpush message cancel ID [options]

A message of the app whose key is in TTPUSH_API_KEY, by the id 'ttpush send' printed (msg_...).
  get ID      prints its status (queued, scheduled, sending, sent, failed, cancelled), msg_id or error
  cancel ID   cancels it while it is queued or scheduled (a message already sending or sent cannot be)

options:
  --url URL         ttpush's address (default ${DEFAULT_URL})
  --json            print the message as one JSON object on stdout
  -h, --help        this text

exit codes: 0 read (get, whatever the message's status) or cancelled, 2 usage or configuration error,
3 ttpush refused the request (an unknown id, or a message that can no longer be cancelled),
4 ttpush unreachable or failing (5xx)`;

const ACTIONS = ['get', 'cancel'] as const;

const OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface MessageOptions {
  action: (typeof ACTIONS)[number];
  id: string;
  url: string | undefined;
  json: boolean;
}

export function parseMessageArgs(argv: string[]): MessageOptions | 'help' {
  const { values, positionals } = parseLine(argv, OPTIONS);
  if (values.help) return 'help';
  const [action, id, ...rest] = positionals;
  if (action === undefined) throw new UsageError('name what to do: get or cancel');
  if (!ACTIONS.some((a) => a === action)) {
    throw new UsageError(`unknown subcommand '${action}'${didYouMean(action, ACTIONS)}`);
  }
  if (id === undefined || id === '' || rest.length > 0) {
    throw new UsageError(`'message ${action}' takes one message ID (msg_...), as 'ttpush send' printed it`);
  }
  return { action: action as MessageOptions['action'], id, url: values.url, json: values.json ?? false };
}

export async function run(argv: string[]): Promise<number> {
  let options: MessageOptions | 'help';
  let client;
  try {
    options = parseMessageArgs(argv);
    if (options === 'help') {
      process.stdout.write(`${messageUsage}\n`);
      return EXIT.ok;
    }
    client = connect(options.url);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('message', err, messageUsage));
    return EXIT.usage;
  }
  let view: MessageView;
  try {
    view = options.action === 'get' ? await client.getMessage(options.id) : await client.cancelMessage(options.id);
  } catch (err) {
    return reportClientError(`message ${options.action}`, err);
  }
  process.stdout.write(options.json ? `${JSON.stringify(view)}\n` : `${describe(view)}\n`);
  return EXIT.ok;
}
