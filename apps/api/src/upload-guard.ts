/**
 * The limits of one batch upload, so that no small request costs large memory or CPU: bytes after
 * decompression (TTPUSH_UPLOAD_MAX_BYTES, 413 body_too_large), lines, blank ones included
 * (TTPUSH_UPLOAD_MAX_LINES, 413 too_many_lines), time (TTPUSH_UPLOAD_TIMEOUT, 408 upload_timeout); and the
 * client's disconnect, which stops the upload at once. `stopped` rejects when the time runs out or the client
 * goes, so a loop waiting for the next chunk of a slow body wakes up too.
 */
import type { Response } from 'express';
import type { Config } from '@ttpush/config';
import { ApiError } from './errors.ts';

export type StopReason = 'client_gone' | 'timeout' | 'too_large' | 'too_many_lines';

/** Thrown when the client disconnected: there is nobody to answer; the upload is dropped. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  readonly code = 'client_gone';
}

function describeDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

export class UploadGuard {
  private bytes = 0;
  private stop: Error | undefined;
  private readonly timer: NodeJS.Timeout;
  private rejectStopped!: (err: Error) => void;
  /** Rejects with the ApiError (timeout) or ClientGoneError that stops the upload; never resolves. */
  readonly stopped: Promise<never>;

  constructor(
    private readonly limits: Config['upload'],
    private readonly res: Response,
  ) {
    this.stopped = new Promise<never>((_resolve, reject) => {
      this.rejectStopped = reject;
    });
    // Nobody may be waiting on it yet.
    this.stopped.catch(() => undefined);
    this.timer = setTimeout(
      () =>
        this.halt(
          new ApiError(
            'upload_timeout',
            `the upload took longer than ${describeDuration(limits.timeoutMs)} (TTPUSH_UPLOAD_TIMEOUT): nothing was queued; send it faster, or split the recipients over several batches`,
          ),
        ),
      limits.timeoutMs,
    );
    this.timer.unref();
    res.once('close', this.onClose);
  }

  private readonly onClose = (): void => {
    // Closed before the answer was written: the client went away.
    if (!this.res.writableFinished) this.halt(new ClientGoneError('the client disconnected during the upload'));
  };

  private halt(err: Error): void {
    if (this.stop) return;
    this.stop = err;
    this.rejectStopped(err);
  }

  /** Why the upload stopped, for logs and metrics. */
  reasonOf(err: unknown): StopReason | undefined {
    if (err instanceof ClientGoneError) return 'client_gone';
    if (err instanceof ApiError) {
      if (err.code === 'upload_timeout') return 'timeout';
      if (err.code === 'too_many_lines') return 'too_many_lines';
      if (err.code === 'body_too_large') return 'too_large';
    }
    return undefined;
  }

  get clientGone(): boolean {
    return this.stop instanceof ClientGoneError;
  }

  /** Throws when the time ran out or the client left. */
  check(): void {
    if (this.stop) throw this.stop;
  }

  /** Counts bytes of the (decompressed) body. */
  addBytes(n: number): void {
    this.check();
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) {
      throw new ApiError(
        'body_too_large',
        `the upload is over ${this.limits.maxBytes} bytes once decompressed (TTPUSH_UPLOAD_MAX_BYTES): nothing was queued; split the recipients over several batches`,
      );
    }
  }

  /** Checks the lines counted so far (blank lines included). */
  checkLines(lines: number): void {
    this.check();
    if (lines > this.limits.maxLines) {
      throw new ApiError(
        'too_many_lines',
        `the upload has more than ${this.limits.maxLines} lines, blank lines included (TTPUSH_UPLOAD_MAX_LINES): nothing was queued; split the recipients over several batches`,
      );
    }
  }

  get bytesRead(): number {
    return this.bytes;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.res.off('close', this.onClose);
  }
}
