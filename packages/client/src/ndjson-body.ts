/**
 * A streamed NDJSON upload body: the header line, then one recipient a line, pulled from the source
 * only as fast as fetch sends (ReadableStream backpressure), written in pieces of about 64 KiB.
 */
import type { BatchHeader, BatchRecipient } from './types.ts';

const PIECE_CHARS = 64 * 1024;

export function ndjsonBody(header: BatchHeader, source: AsyncIterable<BatchRecipient>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let iterator: AsyncIterator<BatchRecipient> | undefined;
  let headerSent = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let piece = '';
      if (!headerSent) {
        headerSent = true;
        piece = JSON.stringify(header) + '\n';
      }
      iterator ??= source[Symbol.asyncIterator]();
      while (piece.length < PIECE_CHARS) {
        const next = await iterator.next();
        if (next.done) {
          if (piece) controller.enqueue(encoder.encode(piece));
          controller.close();
          return;
        }
        piece += JSON.stringify(next.value) + '\n';
      }
      controller.enqueue(encoder.encode(piece));
    },
    async cancel(reason) {
      await iterator?.return?.(reason);
    },
  });
}
