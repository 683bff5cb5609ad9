/** The batch scripts (src/lua/batch-*.lua) as ioredis commands: only the batch stores call them. */
import type { RawClaim, RawTransition } from './batch-outcomes.ts';

export type Arg = string | number;

export interface BatchCommands {
  ttBatchBegin(batch: string, ttlMs: number, ...fields: Arg[]): Promise<number>;
  ttBatchIdemClaim(idem: string, id: string, expected: string): Promise<[number, string?]>;
  ttBatchIdemRelease(idem: string, id: string): Promise<number>;
  ttBatchFinishUpload(batch: string, rejected: string, ...argv: Arg[]): Promise<number>;
  ttBatchAbort(batch: string, rejected: string, chunks: number): Promise<number>;
  ttBatchClaim(batch: string, sendState: string, results: string, ...argv: Arg[]): Promise<RawClaim>;
  ttBatchPartial(batch: string, sendState: string, ...argv: Arg[]): Promise<number>;
  ttBatchFinishChunk(batch: string, sendState: string, results: string, ...argv: Arg[]): Promise<number>;
  ttBatchCancel(batch: string, now: number, finishedTtlMs: number, chunkSize: number): Promise<RawTransition>;
  ttBatchPause(batch: string, now: number): Promise<RawTransition>;
  ttBatchResume(batch: string, now: number): Promise<RawTransition>;
}

export const BATCH_SCRIPTS = [
  'batch-begin',
  'batch-idem-claim',
  'batch-idem-release',
  'batch-finish-upload',
  'batch-abort',
  'batch-claim',
  'batch-partial',
  'batch-finish-chunk',
  'batch-cancel',
  'batch-pause',
  'batch-resume',
];
