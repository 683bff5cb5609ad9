/**
 * `ttpush listen`: logs a user into a msg_server and prints each message it receives as one JSON
 * line on stdout. Diagnostics go to stderr only, so stdout stays machine-readable.
 */
import { TeamTalkCipher } from '@ttpush/pdu';
import { UsageError, usageErrorText } from '../args.ts';
import { listenUsage, parseListenArgs, type ListenOptions } from '../listen/options.ts';
import { formatMessageLine } from '../listen/message-line.ts';
import { MsgServerSession } from '../listen/msg-server-session.ts';
import { ListenError } from '../listen/listen-error.ts';

export async function run(argv: string[]): Promise<number> {
  let options: ListenOptions | 'help';
  try {
    options = parseListenArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('listen', err, listenUsage));
    return 2;
  }
  if (options === 'help') {
    await writeAll(process.stdout, `${listenUsage}\n`);
    return 0;
  }
  return listen(options);
}

function note(text: string): void {
  process.stderr.write(`ttpush listen: ${text}\n`);
}

function writeAll(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

async function listen(options: ListenOptions): Promise<number> {
  const cipher = new TeamTalkCipher(options.aesKey);
  const address = `${options.host}:${options.port}`;
  const { count, timeoutMs } = options;
  let received = 0;
  let lastWrite: Promise<void> = Promise.resolve();
  /** Exit code once --timeout runs out or a signal or a closed stdout ends the run. */
  const stopCode = () => (count !== undefined && received < count ? 1 : 0);

  let exitCode: number | undefined;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  const finish = (code: number, message?: string) => {
    if (exitCode !== undefined) return;
    exitCode = code;
    if (message) note(message);
    resolveExit(code);
  };

  // Before the login completes, a timeout or signal aborts the attempt; after it, ends the run.
  const beforeLogin = new AbortController();
  let stopReason: 'timeout' | 'signal' | undefined;
  let session: MsgServerSession | undefined;
  const stop = (reason: 'timeout' | 'signal', message: string | undefined) => {
    stopReason ??= reason;
    if (session) finish(stopCode(), message);
    else beforeLogin.abort();
  };
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          const seconds = timeoutMs / 1000;
          stop('timeout', count === undefined ? undefined : `${received} of ${count} messages within ${seconds} s`);
        }, timeoutMs);
  const onSignal = (signal: NodeJS.Signals) => stop('signal', `${signal}: stopping after ${received} messages`);
  // A reader that went away (EPIPE) ends the run like a signal, without a crash.
  const onStdoutError = () => stop('signal', undefined);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onStdoutError);
  const cleanup = () => {
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onStdoutError);
  };

  note(`connecting to ${address} as ${options.userName}`);
  try {
    session = await MsgServerSession.open(
      {
        host: options.host,
        port: options.port,
        userName: options.userName,
        password: options.password,
        signal: beforeLogin.signal,
      },
      {
        onMessage(msg) {
          if (exitCode !== undefined) return;
          const line = formatMessageLine(msg, cipher);
          lastWrite = writeAll(process.stdout, line);
          session?.ack(msg);
          received += 1;
          if (count !== undefined && received >= count) finish(0);
        },
        onLost(err) {
          finish(2, err.message);
        },
        onNotice: note,
      },
    );
  } catch (err) {
    cleanup();
    if (err instanceof ListenError && err.code === 'LISTEN_ABORTED') {
      if (stopReason === 'signal') return stopCode();
      note(`cannot log in: --timeout ran out before ${address} accepted the login`);
      return 2;
    }
    note(`cannot log in: ${(err as Error).message}`);
    return 2;
  }
  note(`logged in to ${address} as ${options.userName} (user id ${session.userId})`);
  if (stopReason) stop(stopReason, undefined);

  const code = await exited;
  cleanup();
  await session.close();
  await lastWrite;
  return code;
}
