/**
 * The worker's one entry for jobs of the lanes queues: one processor per job name of the contract (jobs.ts
 * JobPayloads), each handed its name's payload. A name the contract gains without its processor here does not
 * compile. A name this worker does not know (a newer deployment's, during a rolling upgrade) fails the job with
 * UnknownJobError; the job's own attempts still apply, so a worker that knows the name may take it.
 */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { CHUNK_JOB, JOB_NAMES, LANE_JOB, type JobName, type JobPayloads } from '@ttpush/contract';

/** A job as BullMQ hands it over, before its name is checked. */
export type AnyJob = Job<unknown, string, string>;

/** A job named N. Its payload is N's: the contract fixes one payload per name, and names are never reused. */
export type JobOf<N extends JobName> = Job<JobPayloads[N], string, N>;

export type Processors = { [N in JobName]: (job: JobOf<N>, token: string | undefined) => Promise<string> };

type KnownJob = { [N in JobName]: JobOf<N> }[JobName];

/** Who takes a failed job of each name up again: said in its log line. */
const RETRIED_BY: { [N in JobName]: string } = {
  [LANE_JOB]: 'the reconciler retries it',
  [CHUNK_JOB]: 'BullMQ retries it',
};

export class UnknownJobError extends Error {
  readonly code = 'unknown_job';
  constructor(readonly jobName: string) {
    super(`unknown job name "${jobName}": this worker processes ${JOB_NAMES.join(', ')}`);
    this.name = 'UnknownJobError';
  }
}

function isKnown(job: AnyJob): job is KnownJob {
  return (JOB_NAMES as readonly string[]).includes(job.name);
}

/** Generic in N, so the processor looked up by the job's name is the one taking N's payload. */
function run<N extends JobName>(processors: Processors, job: JobOf<N>, token: string | undefined): Promise<string> {
  return processors[job.name](job, token);
}

export class JobDispatch {
  constructor(
    private readonly processors: Processors,
    private readonly log: Logger,
  ) {}

  /** BullMQ's processor of the lanes queues. */
  readonly process = async (job: AnyJob, token?: string): Promise<string> => {
    if (!isKnown(job)) throw new UnknownJobError(job.name);
    return run(this.processors, job, token);
  };

  /** BullMQ's 'failed' listener: one line per failed attempt, with the job's payload. */
  readonly failed = (job: AnyJob | undefined, err: Error): void => {
    if (job === undefined) {
      this.log.warn({ err }, 'a job failed (BullMQ no longer has it)');
    } else if (!isKnown(job)) {
      this.log.error({ jobId: job.id, job: job.name, err }, `job of unknown name "${job.name}" failed`);
    } else {
      this.log.warn({ jobId: job.id, data: job.data, err }, `${job.name} job failed; ${RETRIED_BY[job.name]}`);
    }
  };
}
