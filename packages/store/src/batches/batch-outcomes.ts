/**
 * What the batch scripts answer, typed: each decoder takes a script's raw reply (see the script's header in src/lua)
 * and returns a discriminated union, or throws a ScriptStateError for a reply its caller cannot go on from.
 */
import type { BatchStatus } from '@ttpush/contract';
import { ScriptError, ScriptStateError } from '../errors.ts';

/** batch-claim's reply: {'done'} · {'missing'} · {'paused'} · {'uploading'} · {status, ct, at, clean, partial}. */
export type RawClaim = [string, string?, string?, string?, string?];
/** batch-cancel, batch-pause and batch-resume's reply: {1} · {2} · {WrongState, status} · {Missing}. */
export type RawTransition = [number, string?];

/** Why a worker does not send a chunk it was handed. */
export type ChunkSkip =
  /** Results exist, or nothing is left to do (a completed batch, a cancelled one whose chunk never started). */
  | 'done'
  /** No such batch (expired, or an upload abandoned). */
  | 'missing'
  /** The batch is paused: try again later. */
  | 'paused'
  /** The batch is still uploading: try again later. */
  | 'uploading';

export type ChunkClaim =
  | { claimed: false; reason: ChunkSkip }
  | {
      claimed: true;
      /** 'cancelled': a chunk claimed before the cancel, whose unsent recipients must now be settled. */
      status: 'running' | 'cancelled';
      /** TeamTalk create_time (s), fixed for the chunk across attempts. */
      createTime: number;
      /** This attempt's number: it fences the partial and final writes. */
      attempt: string;
      /** No earlier attempt left a recipient without a result that may have been sent. */
      clean: boolean;
      /** What earlier attempts settled (ChunkResults text), if anything. */
      partial: string | undefined;
    };

/** batch-partial: written, or another attempt owns the chunk (this one wrote nothing). */
export type PartialWrite = 'recorded' | 'lost';

/**
 * batch-finish-chunk: 'finished' the results are written and the batch is now finished, 'done' written,
 * 'duplicate' results existed already, 'lost' another attempt owns the chunk (nothing written).
 */
export type ChunkFinish = 'finished' | 'done' | 'duplicate' | 'lost';

/** batch-finish-upload: the batch is queued, or complete already (nothing to send). */
export type UploadFinish = 'queued' | 'completed';

/** Cancel, pause or resume: applied, nothing to do (already so), refused in the batch's state, or no such batch. */
export type BatchTransition =
  | { outcome: 'changed' }
  | { outcome: 'unchanged' }
  | { outcome: 'conflict'; status: BatchStatus }
  | { outcome: 'missing' };

export function decodeClaim(raw: RawClaim): ChunkClaim {
  const [status, ct, attempt, clean, partial] = raw;
  if (status === 'running' || status === 'cancelled') {
    return {
      claimed: true,
      status,
      createTime: Number(ct),
      attempt: attempt!,
      clean: clean === '1',
      partial: partial || undefined,
    };
  }
  return { claimed: false, reason: status as ChunkSkip };
}

export function decodePartial(raw: number): PartialWrite {
  if (raw === 1) return 'recorded';
  if (raw === ScriptError.NotOwner) return 'lost';
  throw new ScriptStateError(raw, 'batch-partial');
}

export function decodeChunkFinish(raw: number): ChunkFinish {
  if (raw === 2) return 'finished';
  if (raw === 1) return 'done';
  if (raw === 0) return 'duplicate';
  if (raw === ScriptError.NotOwner) return 'lost';
  throw new ScriptStateError(raw, 'batch-finish-chunk');
}

/** Throws ScriptStateError Missing (the upload's keys expired) or WrongState (it is not uploading any more). */
export function decodeUploadFinish(raw: number): UploadFinish {
  if (raw === 1) return 'completed';
  if (raw === 0) return 'queued';
  throw new ScriptStateError(raw, 'batch-finish-upload');
}

export function decodeTransition([code, status]: RawTransition, script: string): BatchTransition {
  if (code === 1) return { outcome: 'changed' };
  if (code === 2) return { outcome: 'unchanged' };
  if (code === ScriptError.Missing) return { outcome: 'missing' };
  if (code === ScriptError.WrongState) return { outcome: 'conflict', status: status as BatchStatus };
  throw new ScriptStateError(code, script);
}
