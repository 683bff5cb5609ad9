/** Turning Redis failures into ServiceUnavailableError, the one error a store method rejects with when Redis fails. */
import type { ChainableCommander } from 'ioredis';
import { ServiceUnavailableError } from './errors.ts';

export function unavailable(err: unknown): ServiceUnavailableError {
  if (err instanceof ServiceUnavailableError) return err;
  return new ServiceUnavailableError(`Redis is unavailable: ${(err as Error).message}`, { cause: err });
}

/** Awaits a Redis call; whatever it rejects with becomes ServiceUnavailableError. */
export async function guard<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw unavailable(err);
  }
}

/** Runs a pipeline; rejects with the first command error (ioredis reports them per command). */
export async function execPipeline(pipe: ChainableCommander): Promise<unknown[]> {
  const rows = (await pipe.exec()) ?? [];
  const out: unknown[] = [];
  for (const [err, value] of rows) {
    if (err) throw err;
    out.push(value);
  }
  return out;
}
