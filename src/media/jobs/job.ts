// What every media job does around its own work: stop if already aborted, start the time
// budget, inspect the source, take its threads from the CPU allotment, spread progress over its
// ffmpeg runs, map any failure to a JobError (an abort passes through), and end at 100 only
// once the outputs are in place.
import { Budget, JobProgress, mapError, threadArgs, throwIfAborted } from "./ffmpeg.js";
import { inspectSource, requireVideo, type SourceInfo } from "./source.js";
import type { JobContext } from "./types.js";

/** What a job's own work receives from runJob. */
export interface Job {
  budget: Budget;
  src: SourceInfo;
  /** Threads this job was allotted when it started: for its decoders, filters and encoders. */
  threads: number;
  /** The decoder and filter thread options for `threads`. */
  threadArgs: { global: string[]; input: string[] };
  progress: JobProgress;
}

export interface JobOptions {
  /** The job needs a video stream (else JobError 40000). */
  video?: boolean;
  /** How many ffmpeg runs the progress is spread over (weights optional); 1 by default. */
  runs?: number | number[];
}

export async function runJob<T>(
  ctx: JobContext,
  input: string,
  o: JobOptions,
  work: (job: Job) => Promise<T>,
): Promise<T> {
  throwIfAborted(ctx.signal);
  const budget = new Budget(ctx.timeoutMs);
  const src = await inspectSource(ctx, budget, input);
  if (o.video) requireVideo(src);
  const lease = ctx.cpus.acquire();
  try {
    const progress = new JobProgress(ctx.onProgress, o.runs ?? 1);
    const result = await work({
      budget,
      src,
      threads: lease.threads,
      threadArgs: threadArgs(lease.threads),
      progress,
    });
    progress.done();
    return result;
  } catch (err) {
    throw mapError(err, src.absolute);
  } finally {
    lease.release();
  }
}
